"""`semver sort VERSION...` and `semver satisfies RANGE VERSION...`."""

from __future__ import annotations

import argparse
import sys

from semverlib.ranges import Range
from semverlib.version import InvalidVersion, Version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="semver")
    sub = parser.add_subparsers(dest="command", required=True)
    sort = sub.add_parser("sort", help="print versions in precedence order")
    sort.add_argument("--reverse", action="store_true")
    sort.add_argument("versions", nargs="+")
    sat = sub.add_parser("satisfies", help="print the versions a range contains")
    sat.add_argument("range")
    sat.add_argument("versions", nargs="+")
    args = parser.parse_args(argv)
    try:
        versions = [Version.parse(v) for v in args.versions]
    except InvalidVersion as e:
        print(f"semver: {e}", file=sys.stderr)
        return 2
    if args.command == "sort":
        for v in sorted(versions, reverse=args.reverse):
            print(v)
        return 0
    matching = [v for v in versions if Range(args.range).contains(v)]
    for v in matching:
        print(v)
    return 0 if matching else 1


if __name__ == "__main__":
    raise SystemExit(main())
