"""What a valid item is."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

WRITABLE = ("name", "sku", "quantity", "price", "tags", "notes")
REQUIRED = ("name", "sku", "quantity", "price")
OPTIONAL = ("tags", "notes")
_SKU = re.compile(r"^[A-Z]{3}-\d{4}$")

Problem = tuple[str, str]  # (field, message)


def _check_field(name: str, value: Any) -> str | None:
    if name == "name":
        if not isinstance(value, str) or not 1 <= len(value.strip()) <= 100:
            return "must be a string of 1 to 100 characters"
    elif name == "sku":
        if not isinstance(value, str) or not _SKU.match(value):
            return "must look like ABC-1234"
    elif name == "quantity":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return "must be an integer of at least 0"
    elif name == "price":
        try:
            price = Decimal(value) if isinstance(value, str) else None
        except InvalidOperation:
            price = None
        if price is None or not price.is_finite() or price < 0 or price != price.quantize(Decimal("0.01")):
            return 'must be a decimal string with 2 decimals, like "9.99"'
        if value != f"{price:.2f}":
            return 'must be written with exactly 2 decimals, like "9.90"'
    elif name == "tags":
        if not isinstance(value, list) or not all(isinstance(t, str) and t for t in value):
            return "must be a list of non-empty strings"
        if len(set(value)) != len(value):
            return "must not repeat a tag"
    elif name == "notes":
        if not isinstance(value, str) or len(value) > 2000:
            return "must be a string of at most 2000 characters"
    return None


def validate_item(data: Any) -> list[Problem]:
    """Problems with a complete item (as created, or after a change); empty when it is valid."""
    if not isinstance(data, dict):
        return [(None, "an item is a JSON object")]  # type: ignore[list-item]
    problems: list[Problem] = []
    for key in data:
        if key not in WRITABLE:
            problems.append((key, "is not a field of an item"))
    for key in REQUIRED:
        if key not in data:
            problems.append((key, "is required"))
    for key in WRITABLE:
        if key in data:
            message = _check_field(key, data[key])
            if message:
                problems.append((key, message))
    return problems
