"""`logpipe summary FILE...` and `logpipe filter [--level L] [--logger PREFIX] FILE...`."""

from __future__ import annotations

import argparse
import json
import sys

from logpipe.parse import LEVELS, ParseResult, parse_lines
from logpipe.summary import summarise


def _read(paths: list[str]) -> ParseResult:
    merged = ParseResult()
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            part = parse_lines(f)
        merged.records.extend(part.records)
        merged.malformed.extend(part.malformed)
    merged.records.sort(key=lambda r: r.timestamp)
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="logpipe")
    sub = parser.add_subparsers(dest="command", required=True)
    summary = sub.add_parser("summary")
    summary.add_argument("files", nargs="+")
    filt = sub.add_parser("filter")
    filt.add_argument("--level", choices=LEVELS, help="this level and above")
    filt.add_argument("--logger", help="logger name prefix")
    filt.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    parsed = _read(args.files)
    if args.command == "summary":
        json.dump(summarise(parsed).to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    floor = LEVELS.index(args.level) if args.level else 0
    for r in parsed.records:
        if LEVELS.index(r.level) < floor:
            continue
        if args.logger and not (r.logger == args.logger or r.logger.startswith(args.logger + ".")):
            continue
        sys.stdout.write(json.dumps(r.to_json()) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
