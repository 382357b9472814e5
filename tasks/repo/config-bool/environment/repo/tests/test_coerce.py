import pytest

from confload.coerce import to_bool, to_duration, to_int, to_list


@pytest.mark.parametrize("text", ["1", "true", "TRUE", "yes", "on", " y "])
def test_truthy(text):
    assert to_bool(text) is True


@pytest.mark.parametrize("text", ["0", "false", "No", "n", ""])
def test_falsy(text):
    assert to_bool(text) is False


def test_not_a_bool():
    with pytest.raises(ValueError, match="not a boolean"):
        to_bool("maybe")


def test_durations():
    assert to_duration("250ms") == 0.25
    assert to_duration("5m") == 300
    assert to_duration("2") == 2


def test_ints():
    assert to_int("1_000") == 1000 and to_int("0x10") == 16


def test_lists():
    assert to_list("a, b,,c ") == ["a", "b", "c"]
