"""Merging the layers: schema defaults, then INI files in order, then environment variables."""

from __future__ import annotations

import configparser
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from confload.coerce import coerce
from confload.schema import ConfigError, Schema


@dataclass
class Settings(Mapping[str, Any]):
    values: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)  # key -> "default", "file app.ini", "env APP_X"

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def __iter__(self):
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    def section(self, name: str) -> dict[str, Any]:
        prefix = name + "."
        return {k[len(prefix):]: v for k, v in self.values.items() if k.startswith(prefix)}

    def explain(self, key: str) -> str:
        return f"{key} = {self.values[key]!r} (from {self.origins[key]})"


def _unknown(schema: Schema, key: str, origin: str) -> ConfigError:
    close = difflib.get_close_matches(key, schema.keys(), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ConfigError(f"{origin}: unknown setting {key!r}{hint}")


def _set(settings: Settings, schema: Schema, key: str, text: str, origin: str) -> None:
    spec = schema.get(key)
    if spec is None:
        raise _unknown(schema, key, origin)
    try:
        value = coerce(spec.type, text)
    except ValueError as e:
        raise ConfigError(f"{origin}: {key}: {e}") from None
    settings.values[key] = spec.validate(value, origin)
    settings.origins[key] = origin


def load(
    schema: Schema,
    files: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
    prefix: str = "APP_",
) -> Settings:
    settings = Settings()
    for spec in schema.fields:
        if spec.default is not None:
            settings.values[spec.key] = spec.default
            settings.origins[spec.key] = "default"
    for path in files:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            with open(path, encoding="utf-8") as f:
                parser.read_file(f)
        except FileNotFoundError:
            raise ConfigError(f"file {path}: not found") from None
        except configparser.Error as e:
            raise ConfigError(f"file {path}: {e}") from None
        for section in parser.sections():
            for name, text in parser.items(section):
                _set(settings, schema, f"{section}.{name}", text, f"file {path}")
    for name, text in sorted((environ or {}).items()):
        if not name.startswith(prefix):
            continue
        key = name[len(prefix):].lower().replace("__", ".")
        _set(settings, schema, key, text, f"env {name}")
    missing = [f.key for f in schema.fields if f.required and f.key not in settings.values]
    if missing:
        raise ConfigError(f"missing required settings: {', '.join(missing)}")
    return settings
