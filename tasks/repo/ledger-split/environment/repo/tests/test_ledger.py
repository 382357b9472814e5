from decimal import Decimal

import pytest

from ledger import Ledger, Transfer, split_by_weight, split_evenly


def test_even_split_that_divides():
    assert split_evenly(Decimal("90.00"), ["a", "b", "c"]) == {"a": Decimal("30.00"), "b": Decimal("30.00"), "c": Decimal("30.00")}


def test_split_validation():
    with pytest.raises(ValueError):
        split_evenly(Decimal("1.00"), [])
    with pytest.raises(ValueError):
        split_evenly(Decimal("1.00"), ["a", "a"])


def test_weighted_split_adds_up():
    shares = split_by_weight(Decimal("100.00"), {"a": 1, "b": 1, "c": 1})
    assert sum(shares.values()) == Decimal("100.00")
    assert shares == {"a": Decimal("33.34"), "b": Decimal("33.33"), "c": Decimal("33.33")}


def test_simple_ledger():
    book = Ledger()
    book.add_expense("taxi", paid_by="ana", amount="30.00", split_between=["ana", "bo"])
    book.record_payment("bo", "ana", "5.00")
    assert book.balances() == {"ana": Decimal("10.00"), "bo": Decimal("-10.00")}
    assert book.settlements() == [Transfer("bo", "ana", Decimal("10.00"))]


def test_bad_expenses():
    book = Ledger()
    with pytest.raises(ValueError):
        book.add_expense("x", "ana", "-1.00", split_between=["ana"])
    with pytest.raises(ValueError):
        book.add_expense("x", "ana", "1.00")
