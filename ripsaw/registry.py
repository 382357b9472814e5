"""Named, pluggable backends: one Registry per kind (providers, sandboxes, task sources, solvers, executors).

A registry is the only place a backend's name is kept: spec validation, CLI choices, `--help` text and error
messages all ask it. Entries are lazy ("module:attribute" strings), so naming a backend imports nothing until
it is used, and `ripsaw --help` stays fast.

Ripsaw's built-ins register exactly as an outside package would. A package adds a backend without editing
Ripsaw by declaring an entry point in the registry's group, e.g. in its pyproject.toml:

    [project.entry-points."ripsaw.providers"]
    my-endpoint = "my_package.provider:from_combo"

Groups: ripsaw.providers, ripsaw.sandboxes, ripsaw.task_sources, ripsaw.solvers, ripsaw.executors. What the
attribute must be is documented beside each registry (the factory's signature). An entry point whose name is
already taken is refused with a warning naming both, never silently swapped in.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import warnings
from collections.abc import Iterable
from typing import Generic, TypeVar

from ripsaw.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """name -> backend factory, filled from built-ins and the entry-point group `group` (read once, on first use)."""

    def __init__(self, kind: str, group: str, builtins: dict[str, str | T]) -> None:
        self.kind = kind  # for messages: "unknown {kind} 'x'"
        self.group = group
        self._entries: dict[str, str | T] = {}
        self._origin: dict[str, str] = {}
        self._plugins_loaded = False
        for name, target in builtins.items():
            self.register(name, target, origin="ripsaw")

    def register(self, name: str, target: str | T, *, origin: str = "code") -> None:
        """Add a backend: `target` is the factory itself or a lazy "module:attribute" reference to it."""
        if name in self._entries and self._origin[name] != origin:
            raise ConfigError(f"{self.kind} {name!r} is already registered (by {self._origin[name]})")
        self._entries[name] = target
        self._origin[name] = origin

    def names(self) -> list[str]:
        """Built-ins in the order Ripsaw lists them, then plugins in the order they were found."""
        self._load_plugins()
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        self._load_plugins()
        return name in self._entries

    def get(self, name: str) -> T:
        """The factory registered as `name`; ConfigError naming the known ones (and the likeliest) otherwise."""
        self._load_plugins()
        try:
            target = self._entries[name]
        except KeyError:
            raise ConfigError(self.unknown(name)) from None
        if isinstance(target, str):
            module, _, attr = target.partition(":")
            try:
                loaded: T = getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError) as e:
                raise ConfigError(f"{self.kind} {name!r} ({self._origin[name]}): cannot load {target}: {e}") from e
            self._entries[name] = target = loaded
        return target

    def unknown(self, name: str, extra: Iterable[str] = ()) -> str:
        """The message for a name nobody registered: the likeliest match, then every known name."""
        known = [*extra, *self.names()]
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown {self.kind} {name!r}{hint} (known: {', '.join(known)})"

    def origin(self, name: str) -> str:
        """Who registered `name`: "ripsaw" for built-ins, else the distribution that declared the entry point."""
        self._load_plugins()
        return self._origin[name]

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for ep in importlib.metadata.entry_points(group=self.group):
            dist = ep.dist.name if ep.dist is not None else "an unknown distribution"
            if dist.lower() == "ripsaw":
                continue  # Ripsaw's own entries are its built-ins, registered above
            if ep.name in self._entries:
                warnings.warn(
                    f"ignoring {self.kind} {ep.name!r} from {dist}: the name is taken by {self._origin[ep.name]}",
                    RuntimeWarning,
                    stacklevel=2,
                )
                continue
            self.register(ep.name, ep.value, origin=dist)
