import pytest

from timeparse import DurationError, format_duration, parse
from timeparse.cli import main


def test_milliseconds(capsys):
    assert parse("250ms") == pytest.approx(0.25)
    assert parse("1.5 ms") == pytest.approx(0.0015)
    assert parse("-40ms") == pytest.approx(-0.04)
    assert main(["250ms"]) == 0
    assert capsys.readouterr().out == "0.25\n"


def test_microseconds():
    assert parse("20us") == pytest.approx(0.00002)
    assert parse("20µs") == pytest.approx(0.00002)
    assert parse("3ms 500us") == pytest.approx(0.0035)


def test_seconds_then_milliseconds():
    assert parse("1s 500ms") == pytest.approx(1.5)
    assert parse("1m30s250ms") == pytest.approx(90.25)
    with pytest.raises(DurationError, match="largest to smallest"):
        parse("500ms 1s")


def test_formatted_durations_read_back():
    for seconds in (5400.25, 0.001, 93784.005, 61.5):
        assert parse(format_duration(seconds)) == pytest.approx(seconds)
    assert parse(format_duration(0.000042, smallest="us")) == pytest.approx(0.000042)


def test_other_units_unchanged():
    assert parse("5m") == 300
    assert parse("2 hrs 10 mins 3 secs") == 7803
    assert parse("1w 2d") == 777600
    assert parse("10 minutes") == 600
    assert parse("1.5h") == pytest.approx(5400)
    assert parse("P1DT2H") == 93600
    assert parse("4:05") == 245
    for text in ("", "abc", "5x", "30m1h", "1h1h", "PT", "1:75"):
        with pytest.raises(DurationError):
            parse(text)
