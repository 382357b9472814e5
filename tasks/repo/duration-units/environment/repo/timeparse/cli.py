"""`timeparse DURATION...`: print each duration in seconds (or --format it back)."""

from __future__ import annotations

import argparse
import sys

from timeparse.format import format_duration
from timeparse.parse import DurationError, parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="timeparse")
    parser.add_argument("--format", action="store_true", help="print the compact form instead of seconds")
    parser.add_argument("durations", nargs="+")
    args = parser.parse_args(argv)
    status = 0
    for text in args.durations:
        try:
            seconds = parse(text)
        except DurationError as e:
            print(f"timeparse: {e}", file=sys.stderr)
            status = 1
            continue
        print(format_duration(seconds) if args.format else f"{seconds:g}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
