import json

from logpipe import parse_lines, summarise
from logpipe.cli import main

LOG = """2024-05-10 14:03:07,123 ERROR [billing.worker] charge failed for order 42
2024-05-10 14:13:07,123 ERROR [billing.worker] charge failed for order 43
2024-05-10 14:40:00,000 INFO [billing] ok
2024-05-10 15:01:00,000 CRITICAL [db] connection lost
"""


def test_summary_counts():
    s = summarise(parse_lines(LOG.splitlines()))
    assert s.by_level == {"ERROR": 2, "INFO": 1, "CRITICAL": 1}
    assert s.errors_by_hour == {"2024-05-10 14:00": 2, "2024-05-10 15:00": 1}
    assert s.top_errors[0] == ("charge failed for order <n>", 2)


def test_filter_command(tmp_path, capsys):
    log = tmp_path / "app.log"
    log.write_text(LOG)
    assert main(["filter", "--level", "ERROR", "--logger", "billing", str(log)]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["line"] for r in lines] == [1, 2]
