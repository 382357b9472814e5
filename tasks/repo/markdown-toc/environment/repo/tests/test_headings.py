from mdtoc import headings
from mdtoc.anchors import anchor


def test_atx_levels_and_closing_hashes():
    hs = headings("# One\n\n## Two ##\n### Three\n")
    assert [(h.level, h.text, h.line) for h in hs] == [(1, "One", 1), (2, "Two", 3), (3, "Three", 4)]


def test_setext():
    hs = headings("Title\n=====\n\nPart\n----\n")
    assert [(h.level, h.text) for h in hs] == [(1, "Title"), (2, "Part")]


def test_not_a_heading():
    assert headings("#hashtag\n    # indented code\n") == []


def test_anchor_rules():
    assert anchor("Hello, World!") == "hello-world"
    assert anchor("Use `mdtoc --write`") == "use-mdtoc---write"
    assert anchor("[Links](http://x) and *stars*") == "links-and-stars"
    assert anchor("Ünïcode stays") == "ünïcode-stays"
