"""Files Ripsaw ships beside its code: the quickstart spec and task suites, the sandbox image recipe.

In a source checkout they are read where they live (evals/, tasks/ and sandboxes/ at the top of the tree).
An installed wheel has no checkout: setup.py copies them into the package as ripsaw/_shipped/, in the same
layout, so the relative paths between them (the quickstart's `jsonl:../tasks/starter.jsonl`) hold in both.
"""

from __future__ import annotations

from pathlib import Path

from ripsaw.errors import PrerequisiteError

QUICKSTART = "evals/quickstart.toml"  # what `ripsaw run` and `ripsaw validate` use without a SPEC

_PACKAGE = Path(__file__).resolve().parent
_ROOTS = (_PACKAGE / "_shipped", _PACKAGE.parent)  # an installed wheel; a source checkout


def shipped_file(relative: str) -> Path:
    """The shipped file at `relative` (e.g. "evals/quickstart.toml")."""
    for root in _ROOTS:
        if (root / relative).is_file():
            return root / relative
    looked = " or ".join(str(root / relative) for root in _ROOTS)
    raise PrerequisiteError(f"{relative} is not where Ripsaw ships it ({looked}): reinstall Ripsaw")
