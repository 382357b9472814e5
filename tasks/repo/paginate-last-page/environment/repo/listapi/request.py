"""Minimal request and response objects (what the real server hands to handlers)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def get(cls, url: str, headers: dict[str, str] | None = None) -> Request:
        parts = urlsplit(url)
        return cls("GET", parts.path, parse_qs(parts.query, keep_blank_values=True), dict(headers or {}))

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        return list(self.query.get(name, []))

    def url_with(self, **changes: Any) -> str:
        query = {k: v[-1] for k, v in self.query.items()}
        query.update({k: str(v) for k, v in changes.items()})
        return f"{self.path}?{urlencode(sorted(query.items()))}"


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json_body(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        return cls(status, json.dumps(data, sort_keys=True).encode(), h)

    @classmethod
    def error(cls, status: int, message: str) -> Response:
        return cls.json_body({"error": message}, status)

    def json(self) -> Any:
        return json.loads(self.body)
