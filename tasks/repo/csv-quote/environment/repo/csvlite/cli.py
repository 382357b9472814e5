"""The csvlite command: cut columns out of a file, or convert between dialects."""

from __future__ import annotations

import argparse
import sys

from csvlite.dialect import BY_NAME, sniff
from csvlite.reader import ParseError, read_rows
from csvlite.writer import write_rows


def parse_fields(spec: str) -> list[int]:
    """'1,3-4' -> [0, 2, 3] (1-based in, 0-based out)."""
    out: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        if "-" in part:
            a, b = part.split("-", 1)
            out.extend(range(int(a) - 1, int(b)))
        else:
            out.append(int(part) - 1)
    if any(i < 0 for i in out):
        raise ValueError("field numbers start at 1")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="csvlite")
    sub = parser.add_subparsers(dest="command", required=True)
    cut = sub.add_parser("cut", help="keep some columns")
    cut.add_argument("--fields", "-f", required=True)
    cut.add_argument("file")
    conv = sub.add_parser("convert", help="rewrite in another dialect")
    conv.add_argument("--to", choices=sorted(BY_NAME), required=True)
    conv.add_argument("file")
    args = parser.parse_args(argv)

    with open(args.file, encoding="utf-8", newline="") as f:
        text = f.read()
    dialect = sniff(text)
    try:
        rows = read_rows(text, dialect)
    except ParseError as e:
        print(f"csvlite: {args.file}: {e}", file=sys.stderr)
        return 1
    if args.command == "cut":
        try:
            keep = parse_fields(args.fields)
        except ValueError as e:
            print(f"csvlite: --fields: {e}", file=sys.stderr)
            return 2
        rows = [[row[i] if i < len(row) else "" for i in keep] for row in rows]
        sys.stdout.write(write_rows(rows, dialect))
    else:
        sys.stdout.write(write_rows(rows, BY_NAME[args.to]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
