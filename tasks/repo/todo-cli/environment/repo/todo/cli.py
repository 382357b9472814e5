"""The `todo` command."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime

from todo.format import line
from todo.model import PRIORITIES, Item
from todo.store import Store, path_from_env


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="todo")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add")
    add.add_argument("title")
    add.add_argument("--due", type=_date)
    add.add_argument("--priority", choices=PRIORITIES, default="normal")
    add.add_argument("--tag", action="append", default=[])
    ls = sub.add_parser("list")
    which = ls.add_mutually_exclusive_group()
    which.add_argument("--pending", action="store_true")
    which.add_argument("--done", action="store_true")
    ls.add_argument("--tag")
    for name in ("done", "undo", "rm"):
        p = sub.add_parser(name)
        p.add_argument("number", type=int)
    edit = sub.add_parser("edit")
    edit.add_argument("number", type=int)
    edit.add_argument("--title")
    edit.add_argument("--due", type=_date)
    edit.add_argument("--priority", choices=PRIORITIES)
    return parser


def _pick(items: list[Item], number: int) -> Item:
    """The item `todo list` shows as `number`."""
    if not 1 <= number <= len(items):
        raise LookupError(f"no item {number} (there are {len(items)})")
    return items[number]


def main(argv: list[str] | None = None, today: date | None = None) -> int:
    args = build_parser().parse_args(argv)
    today = today or date.today()
    store = Store(path_from_env())
    try:
        items = store.load()
    except ValueError as e:
        print(f"todo: {e}", file=sys.stderr)
        return 1
    try:
        if args.command == "add":
            items.append(
                Item(args.title, due=args.due, priority=args.priority, tags=args.tag,
                     created=datetime.now().isoformat(timespec="seconds"))
            )
            store.save(items)
        elif args.command == "list":
            for number, item in enumerate(items, start=1):
                if args.pending and not item.done:
                    continue
                if args.done and not item.done:
                    continue
                if args.tag and args.tag not in item.tags:
                    continue
                print(line(number, item, today))
        elif args.command in ("done", "undo"):
            _pick(items, args.number).done = args.command == "done"
            store.save(items)
        elif args.command == "rm":
            items.remove(_pick(items, args.number))
            store.save(items)
        elif args.command == "edit":
            item = _pick(items, args.number)
            if args.title is not None:
                item.title = args.title
            if args.due is not None:
                item.due = args.due
            if args.priority is not None:
                item.priority = args.priority
            store.save(items)
    except (LookupError, ValueError) as e:
        print(f"todo: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
