"""`ripsaw sweep` against the reference server: level structure, warm-up exclusion, stop rule, CLI and JSON."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ripsaw.cli import main
from ripsaw.errors import ConfigError
from ripsaw.execution.sweep import SWEEP_FILE, find_combo, parse_levels, run_sweep
from ripsaw.spec import load_spec
from tests.refserver import RefServer, Reply

REPO = Path(__file__).resolve().parents[2]
STARTER = REPO / "tasks" / "starter.jsonl"
MEASURED_TOKENS, WARMUP_TOKENS = 20, 5


def _spec(tmp_path: Path, base_url: str) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(
        f"""
[[combos]]
name = "ref @ loopback"
provider = "openai"
model = "ref-model"
base_url = "{base_url}"
max_concurrency = 1
[tasks]
source = "jsonl:{STARTER}"
limit = 3
[run]
output_dir = "{tmp_path / "reports"}"
"""
    )
    return path


class _Script:
    """Numbers the requests as they arrive: warm-up ones (by index) get a shorter reply, so a figure that counted
    them would be off; notes how many requests were in flight when each arrived."""

    def __init__(self, server: RefServer, warm: set[int]) -> None:
        self.server, self.warm = server, warm
        self.in_flight: list[int] = []
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            index = len(self.in_flight)
            self.in_flight.append(self.server.in_flight + 1)
        n = WARMUP_TOKENS if index in self.warm else MEASURED_TOKENS
        return Reply(text=[f" t{i}" for i in range(n)], ttft_s=0.02, rate=1000)


async def test_levels_are_exact_and_warmup_is_recorded_but_excluded(refserver: RefServer, tmp_path: Path) -> None:
    # levels 1, 2, 4 with 3 requests per level and 1 warm-up: measured = max(3, 2c) -> 3, 4, 8
    script = _Script(refserver, warm={0, 4, 9})
    refserver.script = script
    spec = load_spec(_spec(tmp_path, refserver.base_url))
    # min_gain below any growth: this test is about the levels, never stopped by a throughput that a shared
    # 2-core machine may not grow (timings are not asserted here; stopping is tested below, deterministically).
    result = await run_sweep(spec, spec.combos[0], levels=(1, 2, 4), requests_per_level=3, warmup=1, min_gain=-1.0)

    assert [lv.concurrency for lv in result.levels] == [1, 2, 4]
    assert [lv.requests for lv in result.levels] == [3, 4, 8]
    assert [lv.warmup for lv in result.levels] == [1, 1, 1]
    assert [lv.failed for lv in result.levels] == [0, 0, 0]
    assert [lv.completion_tokens for lv in result.levels] == [n * MEASURED_TOKENS for n in (3, 4, 8)]
    assert all(lv.token_source == "server" for lv in result.levels)
    assert result.stop_reason == "reached the last level (4)"

    flags = [(r.concurrency, r.index, r.warmup) for r in result.requests]
    assert flags == (
        [(1, 0, True)] + [(1, i, False) for i in (1, 2, 3)]
        + [(2, 0, True)] + [(2, i, False) for i in range(1, 5)]
        + [(4, 0, True)] + [(4, i, False) for i in range(1, 9)]
    )  # fmt: skip
    assert all(r.completion_tokens == (WARMUP_TOKENS if r.warmup else MEASURED_TOKENS) for r in result.requests)
    # prompts cycle through the 3 tasks across levels
    assert [r.task_id for r in result.requests[:5]] == ["starter/0", "starter/1", "starter/2", "starter/0", "starter/1"]

    # the combo's max_concurrency = 1 was lifted to the highest level: 4 requests really were in flight at once
    assert max(script.in_flight[10:]) == 4 and max(script.in_flight[:4]) == 1
    for lv in result.levels:  # nothing before the scripted 20 ms TTFT; how close is the benchmark's business
        assert lv.ttft_p50_s is not None and lv.ttft_p50_s >= 0.02
        assert lv.ttft_p50_s <= (lv.ttft_p90_s or 0) <= (lv.ttft_p99_s or 0)
        assert lv.output_speed_median is not None and lv.output_speed_median > 0
        assert lv.throughput_tok_s == pytest.approx(lv.completion_tokens / lv.wall_s)
    assert result.levels[0].gain is None
    assert all(lv.gain is not None for lv in result.levels[1:])


async def test_stops_after_the_level_that_did_not_gain_enough(refserver: RefServer, tmp_path: Path) -> None:
    refserver.script = [Reply(text=[" a"] * 10, ttft_s=0.01, rate=1000)]
    spec = load_spec(_spec(tmp_path, refserver.base_url))
    # No level can double-and-then-some the throughput of the one before: the sweep stops after level 2.
    result = await run_sweep(spec, spec.combos[0], levels=(1, 2, 4), requests_per_level=2, warmup=0, min_gain=1.5)
    assert [lv.concurrency for lv in result.levels] == [1, 2]
    assert result.stop_reason.startswith("throughput grew ") and "from concurrency 1 to 2" in result.stop_reason
    assert all(not r.warmup for r in result.requests) and len(result.requests) == 2 + 4


async def test_failed_requests_are_counted_and_stop_the_sweep(refserver: RefServer, tmp_path: Path) -> None:
    refserver.script = [Reply(status=400, error_message="no such model")]
    spec = load_spec(_spec(tmp_path, refserver.base_url))
    result = await run_sweep(spec, spec.combos[0], levels=(1, 2), requests_per_level=2, warmup=0)
    assert [(lv.concurrency, lv.requests, lv.failed) for lv in result.levels] == [(1, 2, 2)]
    assert result.levels[0].throughput_tok_s == 0 and result.levels[0].ttft_p50_s is None
    assert result.stop_reason == "every request at concurrency 1 failed"
    assert all("no such model" in (r.error or "") for r in result.requests)


def test_cli_prints_json_and_writes_it_to_the_run_dir(refserver: RefServer, tmp_path: Path) -> None:
    refserver.script = [Reply(text=[" a"] * 8, ttft_s=0.005, rate=2000)]
    spec = _spec(tmp_path, refserver.base_url)
    out = CliRunner().invoke(
        main,
        ["sweep", str(spec), "--combo", "ref @ loopback", "--levels", "1,2", "--requests-per-level", "2", "--json"],
    )
    assert out.exit_code == 0, out.output
    printed = json.loads(out.stdout)
    [written] = (tmp_path / "reports").glob(f"sweep-ref-loopback-*/{SWEEP_FILE}")
    assert json.loads(written.read_text()) == printed
    assert printed["combo"] == "ref @ loopback" and printed["planned_levels"] == [1, 2]
    assert [lv["requests"] for lv in printed["levels"]] == [2, 4]
    assert [lv["warmup"] for lv in printed["levels"]] == [1, 2]  # default: one per concurrent slot
    assert sum(r["warmup"] for r in printed["requests"]) == 3 and len(printed["requests"]) == 9


def test_cli_table(refserver: RefServer, tmp_path: Path) -> None:
    refserver.script = [Reply(text=[" a"] * 8, ttft_s=0.005, rate=2000)]
    out = CliRunner().invoke(
        main, ["sweep", str(_spec(tmp_path, refserver.base_url)), "--combo", "ref @ loopback", "--levels", "1"]
    )
    assert out.exit_code == 0, out.output
    assert "throughput tok/s" in out.stdout and "16 (+1)" in out.stdout
    assert "stopped: reached the last level (1)" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--levels", "1,4,2"], "--levels: expected increasing"),
        (["--levels", "one"], "--levels: expected comma-separated integers"),
        (["--combo", "nope"], "no combo named 'nope'"),
    ],
)
def test_cli_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    spec = _spec(tmp_path, "http://127.0.0.1:9/v1")
    argv = ["sweep", str(spec), "--combo", "ref @ loopback", *args]
    out = CliRunner().invoke(main, argv)
    assert out.exit_code == 2 and message in out.stderr and "Traceback" not in out.output


def test_parse_levels_and_find_combo(tmp_path: Path) -> None:
    assert parse_levels("1, 2,4,8") == (1, 2, 4, 8)
    for bad in ("", "0,1", "2,2"):
        with pytest.raises(ConfigError):
            parse_levels(bad)
    spec = load_spec(_spec(tmp_path, "http://127.0.0.1:9/v1"))
    assert find_combo(spec, "ref @ loopback").model == "ref-model"
