"""Request and Response objects shared with the server adapter."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        self.headers = {k.lower(): v for k, v in self.headers.items()}

    @classmethod
    def json_body(cls, method: str, path: str, data: Any, headers: dict[str, str] | None = None) -> Request:
        h = {"Content-Type": "application/json", **(headers or {})}
        return cls(method, path, json.dumps(data).encode(), h)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class BodyError(ValueError):
    """The body is not a JSON document (415)."""


def parse_json(request: Request) -> Any:
    if "application/json" not in (request.header("content-type") or ""):
        raise BodyError("the body must be JSON (Content-Type: application/json)")
    try:
        return json.loads(request.body)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BodyError(f"the body is not valid JSON: {e}") from None


@dataclass
class Response:
    status: int
    data: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def body(self) -> bytes:
        return b"" if self.data is None else json.dumps(self.data, sort_keys=True).encode()


def errors(status: int, *items: tuple[str | None, str]) -> Response:
    return Response(status, {"errors": [{"field": f, "message": m} for f, m in items]})
