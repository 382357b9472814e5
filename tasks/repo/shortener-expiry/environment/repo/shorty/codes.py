"""Short codes and URL checks."""

from __future__ import annotations

import random
import re
import string
from urllib.parse import urlsplit

ALPHABET = string.ascii_lowercase + string.digits
CUSTOM = re.compile(r"^[A-Za-z0-9_-]{3,32}$")
RESERVED = {"links", "admin", "api", "static"}


def random_code(rng: random.Random, length: int = 6) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(length))


def check_custom(code: str) -> str | None:
    if not CUSTOM.match(code):
        return "a code is 3 to 32 characters of letters, digits, '_' and '-'"
    if code.lower() in RESERVED:
        return f"{code!r} is reserved"
    return None


def check_url(url: object) -> str | None:
    if not isinstance(url, str) or len(url) > 2048:
        return "url must be a string of at most 2048 characters"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "url must be an absolute http(s) URL"
    return None
