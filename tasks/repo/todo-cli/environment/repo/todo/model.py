"""Items and their ordering."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

PRIORITIES = ("high", "normal", "low")


@dataclass
class Item:
    title: str
    done: bool = False
    due: date | None = None
    priority: str = "normal"
    tags: list[str] = field(default_factory=list)
    created: str = ""

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise ValueError("an item needs a title")
        if self.priority not in PRIORITIES:
            raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["due"] = self.due.isoformat() if self.due else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Item:
        data = dict(data)
        if data.get("due"):
            data["due"] = date.fromisoformat(data["due"])
        return cls(**data)


def sort_key(item: Item) -> tuple:
    """Pending before done; then by due date (undated last); then by priority; then by title."""
    return (
        item.done,
        item.due is None,
        item.due or date.max,
        PRIORITIES.index(item.priority),
        item.title.lower(),
    )


def ordered(items: list[Item]) -> list[Item]:
    return sorted(items, key=sort_key)
