"""What settings exist, their types, defaults and constraints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """A setting is missing, unknown or of the wrong type; the message names where it came from."""


@dataclass(frozen=True)
class Field:
    key: str  # "section.name"
    type: object  # bool, int, float, str, list or "duration"
    default: Any = None
    required: bool = False
    choices: tuple[Any, ...] = ()
    check: Callable[[Any], bool] | None = None
    help: str = ""

    def validate(self, value: Any, origin: str) -> Any:
        if self.choices and value not in self.choices:
            raise ConfigError(f"{origin}: {self.key} must be one of {list(self.choices)}, got {value!r}")
        if self.check is not None and not self.check(value):
            raise ConfigError(f"{origin}: {self.key} is not valid: {value!r}")
        return value


@dataclass
class Schema:
    fields: list[Field] = field(default_factory=list)

    def __post_init__(self) -> None:
        keys = [f.key for f in self.fields]
        dupes = {k for k in keys if keys.count(k) > 1}
        if dupes:
            raise ValueError(f"duplicate fields: {sorted(dupes)}")
        for f in self.fields:
            if "." not in f.key:
                raise ValueError(f"field keys look like 'section.name': {f.key!r}")

    def get(self, key: str) -> Field | None:
        return next((f for f in self.fields if f.key == key), None)

    def keys(self) -> list[str]:
        return [f.key for f in self.fields]
