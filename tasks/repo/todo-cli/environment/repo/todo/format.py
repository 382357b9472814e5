"""How items look in the terminal."""

from __future__ import annotations

from datetime import date

from todo.model import Item

MARKS = {True: "[x]", False: "[ ]"}


def describe_due(due: date | None, today: date) -> str:
    if due is None:
        return ""
    days = (due - today).days
    if days < 0:
        return f"overdue {-days}d"
    if days == 0:
        return "due today"
    if days == 1:
        return "due tomorrow"
    return f"due {due.isoformat()}"


def line(number: int, item: Item, today: date) -> str:
    parts = [f"{number:>3}.", MARKS[item.done], item.title]
    if item.priority != "normal":
        parts.append(f"({item.priority})")
    due = describe_due(item.due, today)
    if due and not item.done:
        parts.append(f"- {due}")
    if item.tags:
        parts.append(" ".join(f"#{t}" for t in item.tags))
    return " ".join(parts)
