from decimal import Decimal

from ledger import Ledger, Transfer, split_evenly


def test_leftover_cent_goes_to_the_first_person():
    assert split_evenly(Decimal("100.00"), ["ana", "bo", "cy"]) == {
        "ana": Decimal("33.34"), "bo": Decimal("33.33"), "cy": Decimal("33.33"),
    }
    assert split_evenly(Decimal("100.00"), ["cy", "ana", "bo"]) == {
        "cy": Decimal("33.34"), "ana": Decimal("33.33"), "bo": Decimal("33.33"),
    }


def test_shares_add_up_to_the_amount():
    shares = split_evenly(Decimal("0.05"), ["a", "b", "c"])
    assert shares == {"a": Decimal("0.02"), "b": Decimal("0.02"), "c": Decimal("0.01")}
    for amount, n in [("10.00", 3), ("0.01", 4), ("999.99", 7), ("1.00", 6)]:
        people = [f"p{i}" for i in range(n)]
        shares = split_evenly(Decimal(amount), people)
        assert sum(shares.values()) == Decimal(amount)
        assert max(shares.values()) - min(shares.values()) <= Decimal("0.01")


def test_currency_without_decimals():
    book = Ledger("JPY")
    expense = book.add_expense("hotel", paid_by="ana", amount="1000", split_between=["ana", "bo", "cy"])
    assert expense.shares == {"ana": Decimal("334"), "bo": Decimal("333"), "cy": Decimal("333")}


def test_group_dinner_settles_up():
    book = Ledger("EUR")
    book.add_expense("dinner", paid_by="ana", amount="100.00", split_between=["ana", "bo", "cy"])
    assert book.balances() == {"ana": Decimal("66.66"), "bo": Decimal("-33.33"), "cy": Decimal("-33.33")}
    assert sum(book.balances().values()) == 0
    assert sorted(book.settlements(), key=lambda t: t.payer) == [
        Transfer("bo", "ana", Decimal("33.33")), Transfer("cy", "ana", Decimal("33.33")),
    ]


def test_weighted_expense_still_settles():
    book = Ledger("EUR")
    book.add_expense("cabin", paid_by="bo", amount="250.00", weights={"ana": 2, "bo": 3, "cy": 1})
    assert sum(book.balances().values()) == 0
    transfers = book.settlements()
    assert {t.payee for t in transfers} == {"bo"}
    assert sum(t.amount for t in transfers) == Decimal("250.00") - Decimal("125.00")
