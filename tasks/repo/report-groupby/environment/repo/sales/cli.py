"""The `salesreport` command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sales.load import load_rows
from sales.output import FORMATS
from sales.query import Condition, QueryError, check_columns, sort_rows, where


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="salesreport", description="Reports over a sales CSV export.")
    p.add_argument("file", type=Path)
    p.add_argument("--where", action="append", default=[], metavar="COL=VALUE")
    p.add_argument("--sort", metavar="[-]COL")
    p.add_argument("--limit", type=int)
    p.add_argument("--format", choices=sorted(FORMATS), default="table")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        header, rows = load_rows(args.file)
    except (OSError, ValueError) as e:
        print(f"salesreport: {e}", file=sys.stderr)
        return 1
    try:
        conditions = [Condition.parse(w) for w in args.where]
        check_columns(header, [c.column for c in conditions], "--where")
        rows = where(rows, conditions)
        if args.sort:
            check_columns(header, [args.sort.lstrip("-")], "--sort")
            rows = sort_rows(rows, args.sort)
    except QueryError as e:
        print(f"salesreport: {e}", file=sys.stderr)
        return 2
    if args.limit is not None:
        rows = rows[: args.limit]
    sys.stdout.write(FORMATS[args.format](header, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
