"""Settling up: the transfers that bring every balance to zero, largest debts first."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Transfer:
    payer: str
    payee: str
    amount: Decimal


def settle(balances: dict[str, Decimal]) -> list[Transfer]:
    """Greedy: the biggest debtor pays the biggest creditor, until all are even (at most n-1 transfers)."""
    if sum(balances.values()) != 0:
        raise ValueError(f"balances do not sum to zero: {sum(balances.values())}")
    debtors = sorted(((-b, p) for p, b in balances.items() if b < 0), reverse=True)
    creditors = sorted(((b, p) for p, b in balances.items() if b > 0), reverse=True)
    transfers = []
    i = j = 0
    debts = [list(d) for d in debtors]
    credits = [list(c) for c in creditors]
    while i < len(debts) and j < len(credits):
        amount = min(debts[i][0], credits[j][0])
        transfers.append(Transfer(debts[i][1], credits[j][1], amount))
        debts[i][0] -= amount
        credits[j][0] -= amount
        if debts[i][0] == 0:
            i += 1
        if credits[j][0] == 0:
            j += 1
    return transfers
