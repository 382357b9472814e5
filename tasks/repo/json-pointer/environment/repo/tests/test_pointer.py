import pytest

from jptr import PointerError, parse, resolve, to_pointer

DOC = {"foo": ["bar", "baz"], "": 0, "a/b": 1, "c%d": 2, "e^f": 3, "i\\j": 5, "k\"l": 6, " ": 7, "m~n": 8}


@pytest.mark.parametrize(
    ("pointer", "expected"),
    [
        ("", DOC),
        ("/foo", ["bar", "baz"]),
        ("/foo/0", "bar"),
        ("/", 0),
        ("/a~1b", 1),
        ("/c%d", 2),
        ("/ ", 7),
        ("/m~0n", 8),
    ],
)
def test_rfc_examples(pointer, expected):
    assert resolve(DOC, pointer) == expected


@pytest.mark.parametrize("pointer", ["foo", "/foo/2", "/foo/01", "/nope", "/foo/-", "/a~2b"])
def test_errors(pointer):
    with pytest.raises(PointerError):
        resolve(DOC, pointer)


def test_to_pointer_round_trip():
    tokens = ["a/b", "m~n", "0"]
    assert parse(to_pointer(tokens)) == tokens
