import json

from logpipe import parse_lines, summarise
from logpipe.cli import main

LOG = """2024-05-10 14:03:07,123 ERROR [billing.worker] charge failed for order 42
Traceback (most recent call last):
  File "/srv/billing/worker.py", line 88, in charge
    gateway.charge(order)
GatewayTimeout: no answer in 30 s
2024-05-10 14:03:09,001 INFO [billing.worker] retrying order 42
2024-05-10 14:05:00,000 WARNING [api] slow request
  path=/orders/42
"""

TRACEBACK = (
    "charge failed for order 42\n"
    "Traceback (most recent call last):\n"
    '  File "/srv/billing/worker.py", line 88, in charge\n'
    "    gateway.charge(order)\n"
    "GatewayTimeout: no answer in 30 s"
)


def test_traceback_belongs_to_its_record():
    parsed = parse_lines(LOG.splitlines(keepends=True))
    assert parsed.malformed == []
    assert [(r.level, r.line) for r in parsed.records] == [("ERROR", 1), ("INFO", 6), ("WARNING", 7)]
    assert parsed.records[0].message == TRACEBACK
    assert parsed.records[0].first_line == "charge failed for order 42"
    assert parsed.records[1].message == "retrying order 42"
    assert parsed.records[2].message == "slow request\n  path=/orders/42"


def test_summary_of_a_log_with_a_traceback():
    s = summarise(parse_lines(LOG.splitlines()))
    assert s.total == 3 and s.malformed == 0
    assert s.top_errors == [("charge failed for order <n>", 1)]


def test_filter_prints_the_whole_record(tmp_path, capsys):
    log = tmp_path / "app.log"
    log.write_text(LOG)
    assert main(["filter", "--level", "ERROR", str(log)]) == 0
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(out) == 1
    assert out[0]["line"] == 1 and out[0]["message"] == TRACEBACK


def test_continuation_without_a_record_is_malformed():
    parsed = parse_lines(["  File \"x.py\", line 1", "2024-05-10 15:00:00 INFO [x] ok", "  more of ok"])
    assert parsed.malformed == [1]
    assert [r.message for r in parsed.records] == ["ok\n  more of ok"]


def test_each_file_starts_fresh(tmp_path, capsys):
    first = tmp_path / "a.log"
    first.write_text("2024-05-10 14:00:00 INFO [a] one\n")
    second = tmp_path / "b.log"
    second.write_text("    stray continuation\n2024-05-10 14:00:01 INFO [b] two\n")
    assert main(["summary", str(first), str(second)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["total"] == 2 and summary["malformed"] == 1
