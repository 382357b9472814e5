"""csvlite: read and write delimited text."""

from csvlite.dialect import EXCEL, TSV, Dialect
from csvlite.reader import ParseError, read_records, read_rows
from csvlite.writer import write_rows

__all__ = ["EXCEL", "TSV", "Dialect", "ParseError", "read_records", "read_rows", "write_rows"]
__version__ = "0.4.1"
