"""Dialects: how fields are separated and quoted."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    delimiter: str = ","
    quotechar: str = '"'
    # "minimal": quote only fields that need it; "all": quote every field; "none": never quote.
    quoting: str = "minimal"
    lineterminator: str = "\n"
    skip_blank_lines: bool = True

    def __post_init__(self) -> None:
        if len(self.delimiter) != 1:
            raise ValueError("delimiter must be a single character")
        if len(self.quotechar) != 1:
            raise ValueError("quotechar must be a single character")
        if self.delimiter == self.quotechar:
            raise ValueError("delimiter and quotechar must differ")
        if self.quoting not in ("minimal", "all", "none"):
            raise ValueError(f"unknown quoting mode: {self.quoting}")


EXCEL = Dialect()
TSV = Dialect(delimiter="\t")
PIPE = Dialect(delimiter="|")

BY_NAME = {"csv": EXCEL, "tsv": TSV, "pipe": PIPE}


def sniff(sample: str) -> Dialect:
    """Guess the dialect of a sample from the delimiter that splits its first lines most evenly."""
    lines = [line for line in sample.splitlines()[:10] if line.strip()]
    if not lines:
        return EXCEL
    best, best_score = EXCEL, -1
    for dialect in (EXCEL, TSV, PIPE):
        counts = [line.count(dialect.delimiter) for line in lines]
        if min(counts) == 0:
            continue
        score = min(counts) * 10 - (max(counts) - min(counts))
        if score > best_score:
            best, best_score = dialect, score
    return best
