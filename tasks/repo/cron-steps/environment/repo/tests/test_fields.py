import pytest

from cronlite.fields import HOUR, MINUTE, MONTH, WEEKDAY, CronError, parse_field


def test_star():
    assert parse_field("*", HOUR) == frozenset(range(24))


def test_list_and_range():
    assert parse_field("1,5-7", MINUTE) == {1, 5, 6, 7}


def test_range_with_step():
    assert parse_field("10-50/20", MINUTE) == {10, 30, 50}


def test_names():
    assert parse_field("jan-mar", MONTH) == {1, 2, 3}
    assert parse_field("mon,FRI", WEEKDAY) == {1, 5}


@pytest.mark.parametrize("text", ["60", "5-1", "*/0", "a", "1,,2", "mon-xyz"])
def test_errors(text):
    with pytest.raises(CronError):
        parse_field(text, MINUTE if text[0].isdigit() or text[0] == "*" else WEEKDAY)
