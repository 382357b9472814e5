import pytest

from mdtoc import headings, render_toc, update_toc
from mdtoc.toc import MarkerError

DOC = """# Project

<!-- toc -->
old
<!-- tocstop -->

## Install

## Usage

### Options
"""


def test_render_nested():
    toc = render_toc(headings(DOC), min_level=2)
    assert toc == "- [Install](#install)\n- [Usage](#usage)\n  - [Options](#options)\n"


def test_update_replaces_between_markers():
    out = update_toc(DOC, min_level=2)
    assert "old" not in out
    assert "<!-- toc -->\n\n- [Install](#install)\n- [Usage](#usage)\n  - [Options](#options)\n\n<!-- tocstop -->" in out


def test_update_is_idempotent():
    once = update_toc(DOC, min_level=2)
    assert update_toc(once, min_level=2) == once


def test_missing_markers():
    with pytest.raises(MarkerError):
        update_toc("# x\n")
