"""Writing rows of fields as delimited text."""

from __future__ import annotations

from collections.abc import Iterable

from csvlite.dialect import EXCEL, Dialect


def needs_quotes(field: str, dialect: Dialect) -> bool:
    return (
        dialect.delimiter in field
        or dialect.quotechar in field
        or "\n" in field
        or "\r" in field
        or field != field.strip()
    )


def format_field(field: object, dialect: Dialect = EXCEL) -> str:
    text = "" if field is None else str(field)
    q = dialect.quotechar
    if dialect.quoting == "none":
        if needs_quotes(text, dialect) and text.strip() == text:
            raise ValueError(f"field {text!r} needs quoting but quoting is 'none'")
        return text
    if dialect.quoting == "all" or needs_quotes(text, dialect):
        return q + text.replace(q, q + q) + q
    return text


def write_rows(rows: Iterable[Iterable[object]], dialect: Dialect = EXCEL) -> str:
    lines = []
    for row in rows:
        lines.append(dialect.delimiter.join(format_field(f, dialect) for f in row))
    return "".join(line + dialect.lineterminator for line in lines)
