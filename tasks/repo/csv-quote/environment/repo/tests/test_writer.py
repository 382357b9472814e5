import pytest

from csvlite import Dialect, write_rows
from csvlite.cli import parse_fields


def test_minimal_quoting():
    assert write_rows([["a", "b,c", "d\ne"]]) == 'a,"b,c","d\ne"\n'


def test_quote_all():
    assert write_rows([["a", 1]], Dialect(quoting="all")) == '"a","1"\n'


def test_embedded_quote_is_doubled():
    assert write_rows([['say "hi"']]) == '"say ""hi"""\n'


def test_none_is_empty():
    assert write_rows([[None, "x"]]) == ",x\n"


def test_quoting_none_refuses_fields_that_need_quotes():
    with pytest.raises(ValueError):
        write_rows([["a,b"]], Dialect(quoting="none"))


def test_parse_fields():
    assert parse_fields("1,3-4") == [0, 2, 3]
