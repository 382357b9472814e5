from mdtoc import headings, render_toc, update_toc

GUIDE = """# Guide

<!-- toc -->
<!-- tocstop -->

## Install

```bash
# install the package
pip install mdtoc
```

### Example

~~~
## Not a heading either
~~~

## Usage

### Example

### Example
"""


def test_fenced_code_is_not_headings():
    assert [h.text for h in headings(GUIDE)] == ["Guide", "Install", "Example", "Usage", "Example", "Example"]


def test_fence_closes_only_with_its_own_marker():
    doc = "````\n```\n# inside\n~~~\n# still inside\n````\n# after\n```\n# unclosed runs to the end\n"
    assert [(h.text, h.line) for h in headings(doc)] == [("after", 7)]


def test_repeated_headings_get_numbered_anchors():
    hs = headings(GUIDE)
    assert [h.anchor for h in hs] == ["guide", "install", "example", "usage", "example-1", "example-2"]


def test_update_toc_links_every_heading_once():
    out = update_toc(GUIDE, min_level=2)
    toc = out.split("<!-- toc -->\n\n", 1)[1].split("\n<!-- tocstop -->", 1)[0]
    assert toc == (
        "- [Install](#install)\n"
        "  - [Example](#example)\n"
        "- [Usage](#usage)\n"
        "  - [Example](#example-1)\n"
        "  - [Example](#example-2)\n"
    )


def test_setext_heading_right_after_a_code_block():
    hs = headings("```\ncode\n```\nTitle\n-----\n")
    assert [(h.level, h.text, h.anchor) for h in hs] == [(2, "Title", "title")]


def test_distinct_headings_keep_plain_anchors():
    toc = render_toc(headings("# A\n## B\n## C\n"))
    assert toc == "- [A](#a)\n  - [B](#b)\n  - [C](#c)\n"
