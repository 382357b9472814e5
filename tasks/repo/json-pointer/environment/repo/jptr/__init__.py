from jptr.patch import PatchError, apply_patch
from jptr.pointer import PointerError, escape, parse, resolve, to_pointer

__all__ = ["PatchError", "PointerError", "apply_patch", "escape", "parse", "resolve", "to_pointer"]
