import pytest

from textkit import titlecase, truncate, wrap


def test_truncate_short_text_untouched():
    assert truncate("short", 10) == "short"


def test_truncate_at_word_boundary():
    assert truncate("a long sentence here", 10) == "a long…"


def test_truncate_single_long_word():
    assert truncate("abcdefghijkl", 5) == "abcd…"


def test_wrap():
    assert wrap("the quick brown fox jumps", 10) == ["the quick", "brown fox", "jumps"]


def test_wrap_rejects_zero_width():
    with pytest.raises(ValueError):
        wrap("x", 0)


def test_titlecase():
    assert titlecase("the lord of the rings") == "The Lord of the Rings"
    assert titlecase("a tale of two cities") == "A Tale of Two Cities"
    assert titlecase("my iPhone and me") == "My iPhone and Me"
