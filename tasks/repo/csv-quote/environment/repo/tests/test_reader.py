import pytest

from csvlite import TSV, Dialect, ParseError, read_records, read_rows


def test_plain_rows():
    assert read_rows("a,b,c\n1,2,3\n") == [["a", "b", "c"], ["1", "2", "3"]]


def test_empty_fields():
    assert read_rows("a,,c\n,,\n") == [["a", "", "c"], ["", "", ""]]


def test_quoted_delimiter_and_newline():
    assert read_rows('x,"1,2","line\nbreak"\n') == [["x", "1,2", "line\nbreak"]]


def test_crlf_line_endings():
    assert read_rows("a,b\r\n1,2\r\n") == [["a", "b"], ["1", "2"]]


def test_no_trailing_newline():
    assert read_rows("a,b\n1,2") == [["a", "b"], ["1", "2"]]


def test_blank_lines_are_skipped():
    assert read_rows("a\n\nb\n") == [["a"], ["b"]]


def test_tsv_dialect():
    assert read_rows("a\tb\n1\t2\n", TSV) == [["a", "b"], ["1", "2"]]


def test_unterminated_quote_is_an_error():
    with pytest.raises(ParseError, match="line 1: unterminated"):
        read_rows('a,"open\n')


def test_stray_quote_in_unquoted_field():
    with pytest.raises(ParseError):
        read_rows('ab"c,d\n')


def test_records_pad_short_rows():
    assert read_records("k,v\n1\n") == [{"k": "1", "v": ""}]


def test_records_reject_long_rows():
    with pytest.raises(ParseError, match="line 2"):
        read_records("k,v\n1,2,3\n")


def test_custom_quotechar():
    assert read_rows("'a,b',c\n", Dialect(quotechar="'")) == [["a,b", "c"]]
