"""The Version type: parsing, precedence (semver.org section 11) and bumping."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import total_ordering

_PATTERN = re.compile(
    r"""^v?
    (?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)
    (?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?
    (?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$""",
    re.VERBOSE,
)


class InvalidVersion(ValueError):
    pass


def _identifier_key(part: str) -> tuple[int, int, str]:
    # Numeric identifiers sort numerically and before alphanumeric ones.
    if part.isdigit():
        return (0, int(part), "")
    return (1, 0, part)


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def parse(cls, text: str) -> Version:
        m = _PATTERN.match(text.strip())
        if m is None:
            raise InvalidVersion(f"not a semantic version: {text!r}")
        pre = tuple(m.group("pre").split(".")) if m.group("pre") else ()
        for part in pre:
            if part.isdigit() and len(part) > 1 and part.startswith("0"):
                raise InvalidVersion(f"numeric pre-release identifier with a leading zero: {text!r}")
        build = tuple(m.group("build").split(".")) if m.group("build") else ()
        return cls(int(m.group("major")), int(m.group("minor")), int(m.group("patch")), pre, build)

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text

    def __repr__(self) -> str:
        return f"Version({str(self)!r})"

    @property
    def is_prerelease(self) -> bool:
        return bool(self.prerelease)

    def release(self) -> Version:
        return Version(self.major, self.minor, self.patch)

    def _key(self) -> tuple:
        # A version without a pre-release has higher precedence than the same version with one.
        pre_rank = 0 if not self.prerelease else 1
        pre = tuple(_identifier_key(p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, pre_rank, pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def bump(self, part: str) -> Version:
        if part == "major":
            return Version(self.major + 1, 0, 0)
        if part == "minor":
            return Version(self.major, self.minor + 1, 0)
        if part == "patch":
            # Bumping the patch of a pre-release releases it.
            if self.prerelease:
                return self.release()
            return Version(self.major, self.minor, self.patch + 1)
        if part == "prerelease":
            if not self.prerelease:
                return Version(self.major, self.minor, self.patch + 1, ("0",))
            *head, last = self.prerelease
            if last.isdigit():
                return Version(self.major, self.minor, self.patch, (*head, str(int(last) + 1)))
            return Version(self.major, self.minor, self.patch, (*self.prerelease, "0"))
        raise ValueError(f"unknown part {part!r} (major, minor, patch, prerelease)")
