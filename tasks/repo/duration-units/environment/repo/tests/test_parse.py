import pytest

from timeparse import DurationError, parse


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90),
        ("1h30m", 5400),
        ("2d", 172800),
        ("1.5h", 5400),
        ("1w 2d", 777600),
        ("3 hours 5 min", 11100),
        ("2 hrs 10 mins", 7800),
        ("-5s", -5),
        ("PT1H30M", 5400),
        ("P1DT2H", 93600),
        ("01:30:00", 5400),
        ("4:05", 245),
    ],
)
def test_parse(text, seconds):
    assert parse(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "5x", "30m1h", "1h1h", "PT", "1:75"])
def test_rejects(text):
    with pytest.raises(DurationError):
        parse(text)
