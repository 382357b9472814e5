"""semverlib: semantic versions and ranges."""

from semverlib.ranges import Range
from semverlib.version import InvalidVersion, Version

__all__ = ["InvalidVersion", "Range", "Version"]
