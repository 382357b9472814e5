"""npm-style ranges: comparators (>=1.2.0 <2.0.0), caret (^1.2.3), tilde (~1.2), x-ranges (1.x), unions (||)."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable

from semverlib.version import InvalidVersion, Version

_OPS: dict[str, Callable[[Version, Version], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "=": operator.eq,
}
_PARTIAL = re.compile(r"^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?$")

Comparator = tuple[Callable[[Version, Version], bool], Version]


def _partial(text: str) -> tuple[int | None, int | None, int | None, tuple[str, ...]]:
    m = _PARTIAL.match(text)
    if m is None:
        raise InvalidVersion(f"not a version or partial version: {text!r}")
    nums = [None if g is None or g in "xX*" else int(g) for g in m.groups()[:3]]
    pre = tuple(m.group(4).split(".")) if m.group(4) else ()
    return nums[0], nums[1], nums[2], pre


def _expand(token: str) -> list[Comparator]:
    if token in ("*", "", "x", "X"):
        return [(operator.ge, Version(0, 0, 0))]
    for op in (">=", "<=", ">", "<", "="):
        if token.startswith(op):
            return [(_OPS[op], Version.parse(_fill(token[len(op):])))]
    if token.startswith("^"):
        major, minor, patch, pre = _partial(token[1:])
        low = Version(major or 0, minor or 0, patch or 0, pre)
        if major:
            high = Version(major + 1, 0, 0)
        elif minor:
            high = Version(0, minor + 1, 0)
        elif patch is not None and minor is not None:
            high = Version(0, 0, patch + 1)
        else:
            high = Version((major or 0) + 1, 0, 0) if minor is None else Version(0, (minor or 0) + 1, 0)
        return [(operator.ge, low), (operator.lt, high)]
    if token.startswith("~"):
        major, minor, patch, pre = _partial(token[1:])
        low = Version(major or 0, minor or 0, patch or 0, pre)
        high = Version((major or 0) + 1, 0, 0) if minor is None else Version(major or 0, minor + 1, 0)
        return [(operator.ge, low), (operator.lt, high)]
    major, minor, patch, pre = _partial(token)
    if major is None:
        return [(operator.ge, Version(0, 0, 0))]
    if minor is None:
        return [(operator.ge, Version(major, 0, 0)), (operator.lt, Version(major + 1, 0, 0))]
    if patch is None:
        return [(operator.ge, Version(major, minor, 0)), (operator.lt, Version(major, minor + 1, 0))]
    return [(operator.eq, Version(major, minor, patch, pre))]


def _fill(text: str) -> str:
    text = text.strip().lstrip("v")
    core, dash, pre = text.partition("-")
    parts = core.split(".")
    while len(parts) < 3:
        parts.append("0")
    return ".".join(parts) + (dash + pre if dash else "")


class Range:
    """A set of versions; `contains` follows npm: pre-releases match only comparators on the same x.y.z."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.alternatives: list[list[Comparator]] = []
        for alternative in text.split("||"):
            comparators: list[Comparator] = []
            tokens = alternative.split()
            # "1.2.3 - 2.3.4" hyphen ranges
            if len(tokens) == 3 and tokens[1] == "-":
                comparators = [
                    (operator.ge, Version.parse(_fill(tokens[0]))),
                    (operator.le, Version.parse(_fill(tokens[2]))),
                ]
            else:
                for token in tokens or ["*"]:
                    comparators.extend(_expand(token))
            self.alternatives.append(comparators)

    def contains(self, version: Version) -> bool:
        for comparators in self.alternatives:
            if all(op(version, bound) for op, bound in comparators):
                if not version.is_prerelease:
                    return True
                if any(bound.is_prerelease and bound.release() == version.release() for _, bound in comparators):
                    return True
        return False

    def max_satisfying(self, versions: list[Version]) -> Version | None:
        matching = [v for v in versions if self.contains(v)]
        return max(matching) if matching else None

    def __repr__(self) -> str:
        return f"Range({self.text!r})"
