"""Links in memory."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Link:
    code: str
    url: str
    created_at: float
    visits: int = 0


class Taken(ValueError):
    pass


class LinkStore:
    def __init__(self) -> None:
        self._links: dict[str, Link] = {}

    def add(self, link: Link) -> None:
        if link.code in self._links:
            raise Taken(link.code)
        self._links[link.code] = link

    def get(self, code: str) -> Link | None:
        return self._links.get(code)

    def delete(self, code: str) -> bool:
        return self._links.pop(code, None) is not None

    def __contains__(self, code: str) -> bool:
        return code in self._links
