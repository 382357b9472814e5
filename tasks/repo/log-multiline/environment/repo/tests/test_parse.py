from datetime import datetime

from logpipe import parse_lines

LOG = """2024-05-10 14:03:07,123 ERROR [billing.worker] charge failed for order 42
2024-05-10 14:03:09,001 INFO [billing.worker] retrying order 42

2024-05-10 15:00:00 WARNING [api] slow request
2024-05-10 15:00:01 VERBOSE [api] not a level we know
"""


def test_records():
    parsed = parse_lines(LOG.splitlines())
    assert [(r.level, r.logger, r.line) for r in parsed.records] == [
        ("ERROR", "billing.worker", 1),
        ("INFO", "billing.worker", 2),
        ("WARNING", "api", 4),
    ]
    assert parsed.records[0].timestamp == datetime(2024, 5, 10, 14, 3, 7, 123000)
    assert parsed.records[0].message == "charge failed for order 42"


def test_unknown_level_is_malformed():
    assert parse_lines(LOG.splitlines()).malformed == [5]


def test_garbage_first_line_is_malformed():
    parsed = parse_lines(["not a log line", "2024-05-10 15:00:00 INFO [x] ok"])
    assert parsed.malformed == [1] and len(parsed.records) == 1
