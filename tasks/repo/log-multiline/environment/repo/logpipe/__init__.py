from logpipe.parse import ParseResult, Record, parse_lines
from logpipe.summary import Summary, summarise

__all__ = ["ParseResult", "Record", "Summary", "parse_lines", "summarise"]
