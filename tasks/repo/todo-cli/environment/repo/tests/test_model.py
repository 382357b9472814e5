from datetime import date

import pytest

from todo.format import describe_due, line
from todo.model import Item, ordered


def test_order_pending_then_due_then_priority():
    items = [
        Item("c", done=True),
        Item("b", due=date(2024, 5, 2)),
        Item("a", due=date(2024, 5, 1)),
        Item("z", priority="high"),
        Item("y"),
    ]
    assert [i.title for i in ordered(items)] == ["a", "b", "z", "y", "c"]


def test_round_trip():
    item = Item("x", due=date(2024, 1, 2), tags=["work"])
    assert Item.from_json(item.to_json()) == item


def test_validation():
    with pytest.raises(ValueError):
        Item("   ")
    with pytest.raises(ValueError):
        Item("x", priority="urgent")


def test_due_descriptions():
    today = date(2024, 5, 10)
    assert describe_due(date(2024, 5, 8), today) == "overdue 2d"
    assert describe_due(today, today) == "due today"
    assert describe_due(date(2024, 5, 11), today) == "due tomorrow"


def test_line():
    assert line(3, Item("pay rent", priority="high", tags=["home"]), date(2024, 1, 1)) == "  3. [ ] pay rent (high) #home"
