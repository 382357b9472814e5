"""Page arithmetic for list endpoints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100


class PageError(ValueError):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Page(Generic[T]):
    items: list[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return page_count(self.total, self.per_page)

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    def meta(self) -> dict[str, int]:
        return {"page": self.page, "per_page": self.per_page, "total": self.total, "pages": self.pages}


def page_count(total: int, per_page: int) -> int:
    """How many pages `total` items fill at `per_page` a page (an empty list still has one, empty, page)."""
    return max(1, total // per_page)


def parse_paging(page: str | None, per_page: str | None) -> tuple[int, int]:
    try:
        p = int(page) if page is not None else 1
        n = int(per_page) if per_page is not None else DEFAULT_PER_PAGE
    except ValueError:
        raise PageError("page and per_page must be integers") from None
    if p < 1:
        raise PageError("page starts at 1")
    if n < 1:
        raise PageError("per_page must be positive")
    return p, min(n, MAX_PER_PAGE)


def paginate(items: Sequence[T], page: int, per_page: int) -> Page[T]:
    total = len(items)
    if page > page_count(total, per_page):
        raise PageError(f"page {page} is past the last page", status=404)
    start = (page - 1) * per_page
    return Page(list(items[start : start + per_page]), page, per_page, total)
