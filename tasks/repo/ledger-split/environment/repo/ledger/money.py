"""Money values: Decimal amounts in a currency's minor unit."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

MINOR_UNITS = {"EUR": 2, "USD": 2, "GBP": 2, "JPY": 0, "KWD": 3}
SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}


def quantum(currency: str) -> Decimal:
    try:
        return Decimal(1).scaleb(-MINOR_UNITS[currency])
    except KeyError:
        raise ValueError(f"unknown currency {currency!r}") from None


def parse_money(text: str | int | Decimal, currency: str = "EUR") -> Decimal:
    """An amount with exactly the currency's number of decimals; ValueError for anything finer or not a number."""
    try:
        value = Decimal(str(text).replace(",", "").strip())
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not an amount: {text!r}")
    q = quantum(currency)
    if value != value.quantize(q):
        raise ValueError(f"{text} has more decimals than {currency} allows")
    return value.quantize(q)


def round_money(value: Decimal, currency: str = "EUR") -> Decimal:
    return value.quantize(quantum(currency), rounding=ROUND_HALF_EVEN)


def format_money(value: Decimal, currency: str = "EUR") -> str:
    digits = MINOR_UNITS[currency]
    sign = "-" if value < 0 else ""
    body = f"{abs(value):,.{digits}f}"
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{body}" if symbol else f"{sign}{body} {currency}"
