"""The ledger: expenses and payments between members."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from ledger.money import parse_money
from ledger.settle import Transfer, settle
from ledger.split import split_by_weight, split_evenly


@dataclass(frozen=True)
class Expense:
    title: str
    paid_by: str
    amount: Decimal
    shares: dict[str, Decimal]


@dataclass
class Ledger:
    currency: str = "EUR"
    expenses: list[Expense] = field(default_factory=list)
    payments: list[Transfer] = field(default_factory=list)

    def add_expense(
        self, title: str, paid_by: str, amount: str | Decimal, split_between: list[str] | None = None,
        weights: dict[str, int] | None = None,
    ) -> Expense:
        value = parse_money(amount, self.currency)
        if value <= 0:
            raise ValueError("an expense is a positive amount")
        if (split_between is None) == (weights is None):
            raise ValueError("give either split_between or weights")
        shares = (
            split_evenly(value, split_between, self.currency)
            if split_between is not None
            else split_by_weight(value, weights or {}, self.currency)
        )
        expense = Expense(title, paid_by, value, shares)
        self.expenses.append(expense)
        return expense

    def record_payment(self, payer: str, payee: str, amount: str | Decimal) -> None:
        value = parse_money(amount, self.currency)
        if value <= 0 or payer == payee:
            raise ValueError("a payment is a positive amount between two people")
        self.payments.append(Transfer(payer, payee, value))

    def balances(self) -> dict[str, Decimal]:
        """Positive: owed money; negative: owes money."""
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for e in self.expenses:
            totals[e.paid_by] += e.amount
            for person, share in e.shares.items():
                totals[person] -= share
        for p in self.payments:
            totals[p.payer] += p.amount
            totals[p.payee] -= p.amount
        return dict(sorted(totals.items()))

    def settlements(self) -> list[Transfer]:
        return settle({p: b for p, b in self.balances().items() if b != 0})
