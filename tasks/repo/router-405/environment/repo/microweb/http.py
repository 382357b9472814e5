"""Request and Response: what handlers take and give."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

REASONS = {
    200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 404: "Not Found",
    405: "Method Not Allowed", 415: "Unsupported Media Type", 500: "Internal Server Error",
}


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    query_string: str = ""

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        if "?" in self.path:
            self.path, self.query_string = self.path.split("?", 1)
        self.headers = {k.lower(): v for k, v in self.headers.items()}

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.query_string, keep_blank_values=True)

    def json(self) -> Any:
        if "application/json" not in self.headers.get("content-type", ""):
            raise ValueError("the request body is not JSON")
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200) -> Response:
        return cls(status, json.dumps(data).encode(), {"Content-Type": "application/json"})

    @classmethod
    def text(cls, text: str, status: int = 200) -> Response:
        return cls(status, text.encode(), {"Content-Type": "text/plain; charset=utf-8"})

    @classmethod
    def error(cls, status: int, message: str | None = None) -> Response:
        return cls.json({"error": message or REASONS.get(status, "Error")}, status)

    @property
    def reason(self) -> str:
        return REASONS.get(self.status, "")

    def data(self) -> Any:
        return json.loads(self.body)
