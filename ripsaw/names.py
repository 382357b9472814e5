"""The names Ripsaw makes for files, directories and moments: one spelling of each, everywhere."""

from __future__ import annotations

import datetime as dt
import re


def slug(text: str, fallback: str = "run") -> str:
    """`text` as a file name: runs of anything but letters, digits, '.', '_' and '-' become one '-'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or fallback


def utc_now() -> str:
    """This moment as records store it: UTC, ISO 8601, whole seconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def local_stamp() -> str:
    """This moment in a directory name (local time, sortable): 20261204-051500."""
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S")
