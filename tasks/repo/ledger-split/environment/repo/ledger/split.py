"""Splitting an amount between people."""

from __future__ import annotations

from decimal import Decimal

from ledger.money import quantum, round_money


def split_evenly(amount: Decimal, people: list[str], currency: str = "EUR") -> dict[str, Decimal]:
    """Equal shares of `amount` (see the README for the cents that do not divide evenly)."""
    if not people:
        raise ValueError("split between nobody")
    if len(set(people)) != len(people):
        raise ValueError("a person appears twice in the split")
    share = round_money(amount / len(people), currency)
    return {person: share for person in people}


def split_by_weight(amount: Decimal, weights: dict[str, int], currency: str = "EUR") -> dict[str, Decimal]:
    """Shares proportional to the weights, to the cent, adding up to `amount` (largest remainders get the cents)."""
    if not weights or any(w < 0 for w in weights.values()) or sum(weights.values()) == 0:
        raise ValueError("weights must be non-negative and not all zero")
    unit = quantum(currency)
    cents = int(amount / unit)
    total = sum(weights.values())
    exact = {p: Decimal(cents) * w / total for p, w in weights.items()}
    floors = {p: int(v) for p, v in exact.items()}
    left = cents - sum(floors.values())
    order = sorted(weights, key=lambda p: (-(exact[p] - floors[p]), list(weights).index(p)))
    for p in order[:left]:
        floors[p] += 1
    return {p: floors[p] * unit for p in weights}
