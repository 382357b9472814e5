"""Items in memory, with a version per item (the production store has the same interface)."""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any


class NotFound(KeyError):
    pass


class Conflict(ValueError):
    """A unique field is taken."""

    def __init__(self, field_name: str, value: Any) -> None:
        super().__init__(f"{field_name} {value!r} is already used")
        self.field = field_name


@dataclass
class Store:
    items: dict[int, dict[str, Any]] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def _check_sku(self, sku: str, exclude: int | None = None) -> None:
        for item_id, item in self.items.items():
            if item["sku"] == sku and item_id != exclude:
                raise Conflict("sku", sku)

    def create(self, data: dict[str, Any]) -> dict[str, Any]:
        self._check_sku(data["sku"])
        item_id = next(self._ids)
        item = {"id": item_id, "version": 1, **copy.deepcopy(data)}
        self.items[item_id] = item
        return copy.deepcopy(item)

    def get(self, item_id: int) -> dict[str, Any]:
        try:
            return copy.deepcopy(self.items[item_id])
        except KeyError:
            raise NotFound(item_id) from None

    def list(self, tag: str | None = None) -> list[dict[str, Any]]:
        found = [i for i in self.items.values() if tag is None or tag in i.get("tags", [])]
        return [copy.deepcopy(i) for i in sorted(found, key=lambda i: i["id"])]

    def delete(self, item_id: int) -> None:
        if self.items.pop(item_id, None) is None:
            raise NotFound(item_id)
