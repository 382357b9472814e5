from timeparse.format import format_duration
from timeparse.parse import DurationError, parse

__all__ = ["DurationError", "format_duration", "parse"]
