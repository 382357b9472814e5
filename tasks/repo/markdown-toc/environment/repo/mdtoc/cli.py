"""`mdtoc [--write] [--min N] [--max N] FILE...`"""

from __future__ import annotations

import argparse
import sys

from mdtoc.headings import headings
from mdtoc.toc import MarkerError, render_toc, update_toc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mdtoc")
    parser.add_argument("--write", action="store_true", help="update the TOC between the markers in place")
    parser.add_argument("--min", type=int, default=1)
    parser.add_argument("--max", type=int, default=6)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    status = 0
    for path in args.files:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if not args.write:
            sys.stdout.write(render_toc(headings(text), args.min, args.max))
            continue
        try:
            updated = update_toc(text, args.min, args.max)
        except MarkerError as e:
            print(f"mdtoc: {path}: {e}", file=sys.stderr)
            status = 1
            continue
        if updated != text:
            with open(path, "w", encoding="utf-8") as f:
                f.write(updated)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
