from ledger.book import Expense, Ledger
from ledger.money import format_money, parse_money
from ledger.settle import Transfer, settle
from ledger.split import split_by_weight, split_evenly

__all__ = [
    "Expense", "Ledger", "Transfer", "format_money", "parse_money", "settle", "split_by_weight", "split_evenly",
]
