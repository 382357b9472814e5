from decimal import Decimal

import pytest

from ledger import format_money, parse_money


def test_parse():
    assert parse_money("1,234.50") == Decimal("1234.50")
    assert parse_money("500", "JPY") == Decimal("500")


@pytest.mark.parametrize("text", ["1.234", "abc", "NaN", "1.5"])
def test_parse_rejects(text):
    with pytest.raises(ValueError):
        parse_money(text, "JPY" if text == "1.5" else "EUR")


def test_format():
    assert format_money(Decimal("-1234.5")) == "-€1,234.50"
    assert format_money(Decimal("12.345"), "KWD") == "12.345 KWD"
