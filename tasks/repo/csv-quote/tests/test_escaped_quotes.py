import pytest

from csvlite import Dialect, ParseError, read_rows, write_rows


def test_readme_example():
    assert read_rows('name,quote\nada,"said ""hi"""\n') == [["name", "quote"], ["ada", 'said "hi"']]


def test_delimiter_after_doubled_quote():
    assert read_rows('"5"" pipe, long",12\n"x""\ny",z\n') == [['5" pipe, long', "12"], ['x"\ny', "z"]]


def test_written_rows_read_back():
    rows = [
        ["id", "text"],
        ["1", 'a "quoted" word'],
        ["2", '"'],
        ["3", '""'],
        ["4", 'ends with a quote"'],
        ["5", 'quote", then comma'],
    ]
    assert read_rows(write_rows(rows)) == rows
    semi = Dialect(delimiter=";", quotechar="'")
    assert read_rows(write_rows([["it's", "x;y'z"]], semi), semi) == [["it's", "x;y'z"]]


def test_text_after_closing_quote_is_an_error():
    with pytest.raises(ParseError, match="after a closing quote"):
        read_rows('"abc"def,1\n')
