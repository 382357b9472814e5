"""Parsing delimited text into rows of fields (RFC 4180 quoting)."""

from __future__ import annotations

from collections.abc import Iterator

from csvlite.dialect import EXCEL, Dialect

# Parser states
START_FIELD = 0
IN_FIELD = 1
IN_QUOTED = 2
QUOTE_IN_QUOTED = 3


class ParseError(ValueError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def iter_rows(text: str, dialect: Dialect = EXCEL) -> Iterator[list[str]]:
    """Yield each row of `text` as a list of fields."""
    d, q = dialect.delimiter, dialect.quotechar
    row: list[str] = []
    field: list[str] = []
    state = START_FIELD
    line = 1
    quote_line = 1  # where the current quoted field opened, for the error when it never closes
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if state == START_FIELD:
            if c == q:
                state = IN_QUOTED
                quote_line = line
            elif c == d:
                row.append("")
            elif c in "\r\n":
                if c == "\r" and i + 1 < n and text[i + 1] == "\n":
                    i += 1
                row.append("")
                if not (dialect.skip_blank_lines and row == [""]):
                    yield row
                row = []
                line += 1
            else:
                field.append(c)
                state = IN_FIELD
        elif state == IN_FIELD:
            if c == d:
                row.append("".join(field))
                field = []
                state = START_FIELD
            elif c in "\r\n":
                if c == "\r" and i + 1 < n and text[i + 1] == "\n":
                    i += 1
                row.append("".join(field))
                field = []
                yield row
                row = []
                state = START_FIELD
                line += 1
            elif c == q:
                raise ParseError("quote inside an unquoted field", line)
            else:
                field.append(c)
        elif state == IN_QUOTED:
            if c == q:
                state = QUOTE_IN_QUOTED
            else:
                if c == "\n":
                    line += 1
                field.append(c)
        elif state == QUOTE_IN_QUOTED:
            if c == q:
                # A doubled quote inside a quoted field stands for one quote character.
                field.append(q)
                state = IN_FIELD
            elif c == d:
                row.append("".join(field))
                field = []
                state = START_FIELD
            elif c in "\r\n":
                if c == "\r" and i + 1 < n and text[i + 1] == "\n":
                    i += 1
                row.append("".join(field))
                field = []
                yield row
                row = []
                state = START_FIELD
                line += 1
            else:
                raise ParseError(f"unexpected {c!r} after a closing quote", line)
        i += 1
    if state == IN_QUOTED:
        raise ParseError("unterminated quoted field", quote_line)
    if state in (IN_FIELD, QUOTE_IN_QUOTED) or field or row:
        row.append("".join(field))
        yield row


def read_rows(text: str, dialect: Dialect = EXCEL) -> list[list[str]]:
    return list(iter_rows(text, dialect))


def read_records(text: str, dialect: Dialect = EXCEL) -> list[dict[str, str]]:
    """Rows as dicts keyed by the header row; short rows are padded with empty strings."""
    rows = read_rows(text, dialect)
    if not rows:
        return []
    header, *body = rows
    if len(set(header)) != len(header):
        raise ValueError("duplicate column names in the header")
    records = []
    for number, row in enumerate(body, start=2):
        if len(row) > len(header):
            raise ParseError(f"{len(row)} fields, header has {len(header)}", number)
        records.append(dict(zip(header, row + [""] * (len(header) - len(row)))))
    return records
