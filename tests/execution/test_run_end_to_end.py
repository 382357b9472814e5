"""`ripsaw run` end to end: the real CLI in a subprocess, a scripted endpoint, the process sandbox.

The endpoint answers every task of the starter suite with a known candidate (the reference solution for some,
a wrong one for others), so every outcome in the run directory is known in advance.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ripsaw.analysis.extraction import attempt_anchor
from ripsaw.execution.store import RunStore
from ripsaw.records import Outcome
from tests.refserver import RefServer, Reply

REPO = Path(__file__).resolve().parents[2]
STARTER = REPO / "tasks" / "starter.jsonl"
TASKS = [json.loads(line) for line in STARTER.read_text().splitlines() if line.strip()]


def _answers(wrong: set[str]) -> dict[str, str]:
    """Task prompt -> fenced reply: the reference solution, or a body that returns None for ids in `wrong`."""
    out = {}
    for t in TASKS:
        code = t["prompt"] + "    return None\n" if t["id"] in wrong else t["canonical_solution"]
        out[t["prompt"]] = f"Here it is:\n```python\n{code}```\n"
    return out


def _scripted(answers: dict[str, str], **reply: Any) -> Any:
    def script(request: dict[str, Any]) -> Reply:
        content = request["messages"][-1]["content"]
        text = next(a for prompt, a in answers.items() if prompt in content)
        return Reply(text=text, **reply)

    return script


def _spec(
    tmp_path: Path, base_url: str, *, limit: int, budget_s: float = 30, extra: str = "", run_id: str | None = "e2e"
) -> Path:
    path = tmp_path / "e2e.toml"
    run_id_line = f'run_id = "{run_id}"' if run_id else ""
    path.write_text(
        f"""
name = "e2e"
[[combos]]
name = "scripted"
provider = "openai"
model = "ref-model"
base_url = "{base_url}"
hardware = "loopback"
prompt_mode = "chat"
price_in_per_mtok = 1.0
price_out_per_mtok = 2.0
{extra}
[tasks]
source = "jsonl:{STARTER}"
limit = {limit}
[run]
budget_s = {budget_s}
sandbox = "process"
concurrency = 2
output_dir = "{tmp_path / "reports"}"
{run_id_line}
"""
    )
    return path


def _ripsaw(*args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIPSAW_")} | (extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "ripsaw", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


def test_run_scores_known_answers_and_reports(refserver: RefServer, tmp_path: Path) -> None:
    wrong = {"starter/1", "starter/3"}
    refserver.script = _scripted(_answers(wrong), rate=2000)
    spec = _spec(tmp_path, refserver.base_url, limit=6)
    done = _ripsaw("run", str(spec), "--no-progress")
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / "reports" / "e2e"
    attempts = {a.task_id: a for a in RunStore(run_dir).attempts()}
    assert set(attempts) == {f"starter/{i}" for i in range(6)}
    for task_id, a in attempts.items():
        assert a.outcome is (Outcome.FAILED if task_id in wrong else Outcome.PASSED), (task_id, a.detail)
        assert a.calls[0].usage.source == "server" and a.calls[0].usage.completion_tokens
        assert a.calls[0].timing.ttft_s is not None and a.model_time_s > 0 and a.sandbox_time_s > 0
        assert a.task_time_s == pytest.approx(a.model_time_s + a.sandbox_time_s)
        assert a.cost_usd == pytest.approx(
            (a.calls[0].usage.prompt_tokens * 1.0 + a.calls[0].usage.completion_tokens * 2.0) / 1e6
        )
    manifest = RunStore(run_dir).manifest()
    assert manifest["status"] == "complete" and manifest["sandbox"]["kind"] == "process"
    assert manifest["task_suite"]["count"] == 6 and manifest["task_suite"]["hash"].startswith("sha256:")
    assert manifest["combos"][0]["server"]["base_url"] == refserver.base_url
    assert "scripted" in done.stdout and "66.7%" in done.stdout  # 4 of 6 in the table
    report = _ripsaw("report", str(run_dir), "--json")
    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout)["combos"][0]["passed"] == 4


def test_a_limited_run_and_the_full_run_keep_their_own_directories(refserver: RefServer, tmp_path: Path) -> None:
    refserver.script = _scripted(_answers(set()))
    spec = _spec(tmp_path, refserver.base_url, limit=4, run_id=None)
    trial = _ripsaw("run", str(spec), "--no-progress", "--limit", "2")
    assert trial.returncode == 0, trial.stderr
    full = _ripsaw("run", str(spec), "--no-progress")
    assert full.returncode == 0, full.stderr
    again = _ripsaw("run", str(spec), "--no-progress", "--limit", "2")
    assert again.returncode == 0, again.stderr
    assert "resumed: 2 attempts" in again.stderr
    full_dir, trial_dir = sorted((tmp_path / "reports").iterdir())  # nothing else: no stray directories
    assert full_dir.name.startswith("e2e-") and trial_dir.name == f"{full_dir.name}-limit2"
    assert len(RunStore(full_dir).attempts()) == 4
    assert {a.task_id for a in RunStore(trial_dir).attempts()} == {"starter/0", "starter/1"}
    # --limit equal to the spec's own selects the same suite: the full run's directory, resumed.
    same = _ripsaw("run", str(spec), "--no-progress", "--limit", "4")
    assert same.returncode == 0, same.stderr
    assert f"{full_dir}\n" in same.stderr and "resumed: 4 attempts" in same.stderr


def test_endpoint_failures_are_infra_errors_never_failures(refserver: RefServer, tmp_path: Path) -> None:
    refserver.script = [Reply(status=500)]
    spec = _spec(tmp_path, refserver.base_url, limit=3, extra="options = { max_retries = 1 }")
    done = _ripsaw("run", str(spec), "--no-progress")
    assert done.returncode == 1, done.stderr
    assert "infra_error" in done.stderr
    attempts = RunStore(tmp_path / "reports" / "e2e").attempts()
    assert [a.outcome for a in attempts] == [Outcome.INFRA_ERROR] * 3
    assert all("500" in a.detail for a in attempts)
    # The endpoint recovers: re-running retries exactly the infra errors and scores them.
    refserver.script = _scripted(_answers(set()))
    again = _ripsaw("run", str(spec), "--no-progress")
    assert again.returncode == 0, again.stderr
    assert {a.outcome for a in RunStore(tmp_path / "reports" / "e2e").attempts()} == {Outcome.PASSED}


def test_budget_cuts_the_stream_and_keeps_the_partial_text(refserver: RefServer, tmp_path: Path) -> None:
    refserver.script = _scripted(_answers(set()), rate=10)  # ~60 tokens at 10 tok/s: far past a 1 s budget
    spec = _spec(tmp_path, refserver.base_url, limit=1, budget_s=1)
    done = _ripsaw("run", str(spec), "--no-progress")
    assert done.returncode == 0, done.stderr
    (a,) = RunStore(tmp_path / "reports" / "e2e").attempts()
    assert a.outcome is Outcome.BUDGET_EXCEEDED
    assert a.calls[0].cut == "budget" and a.completion.startswith("Here it is:")
    assert a.prompt.startswith("[system]") and "def " in a.prompt  # what the model was sent, for the report
    assert 0.9 < a.model_time_s < 3


def test_kill_9_loses_no_finished_attempt_and_rerun_resumes(refserver: RefServer, tmp_path: Path) -> None:
    refserver.script = _scripted(_answers({"starter/2"}), ttft_s=0.4)
    spec = _spec(tmp_path, refserver.base_url, limit=8)
    attempts_file = tmp_path / "reports" / "e2e" / "attempts.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIPSAW_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ripsaw", "run", str(spec), "--no-progress"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if attempts_file.exists() and attempts_file.read_bytes().count(b"\n") >= 3:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = [json.loads(line) for line in attempts_file.read_text().splitlines()]
    assert 3 <= len(before) < 8
    done = _ripsaw("run", str(spec), "--no-progress")
    assert done.returncode == 0, done.stderr
    assert f"resumed: {len(before)} attempts" in done.stderr
    after = [json.loads(line) for line in attempts_file.read_text().splitlines()]
    assert after[: len(before)] == before  # finished attempts untouched
    ids = [r["attempt_id"] for r in after]
    assert len(ids) == len(set(ids)) == 8  # no duplicates, nothing missing
    outcomes = {r["task_id"]: r["outcome"] for r in after}
    assert outcomes.pop("starter/2") == "failed" and set(outcomes.values()) == {"passed"}


def test_the_api_key_reaches_the_endpoint_and_nothing_else(refserver: RefServer, tmp_path: Path) -> None:
    canary = "sk-canary-3f9d2a7c41e8"
    refserver.api_key = canary  # the server refuses requests without it
    refserver.script = _scripted(_answers(set()))
    spec = _spec(tmp_path, refserver.base_url, limit=2, extra='api_key_env = "E2E_CANARY_KEY"')
    done = _ripsaw("run", str(spec), "--no-progress", extra_env={"E2E_CANARY_KEY": canary})
    assert done.returncode == 0, done.stderr
    assert {a.outcome for a in RunStore(tmp_path / "reports" / "e2e").attempts()} == {Outcome.PASSED}
    assert canary not in done.stdout + done.stderr
    for path in (tmp_path / "reports").rglob("*"):
        if path.is_file():
            assert canary.encode() not in path.read_bytes(), path


def test_self_checks_in_a_reply_do_not_sink_a_correct_answer_and_the_report_counts_them(
    refserver: RefServer, tmp_path: Path
) -> None:
    # Chatty replies: the reference solution, then the model's own checker with a wrong expectation, called at top
    # level (it would raise on import), and a usage print. The starter tasks are single functions.
    answers = {}
    for t in TASKS[:4]:
        checker = f"def check_solution():\n    assert {t['entry_point']}(*()) == 'wrong'\n\ncheck_solution()\n"
        code = t["canonical_solution"] + "\n\n" + checker + f"print({t['entry_point']})\n"
        answers[t["prompt"]] = f"Here it is:\n```python\n{code}```\nThe checker above tests it.\n"
    refserver.script = _scripted(answers, rate=2000)
    done = _ripsaw("run", str(_spec(tmp_path, refserver.base_url, limit=4)), "--no-progress")
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / "reports" / "e2e"
    attempts = RunStore(run_dir).attempts()
    assert [a.outcome for a in attempts] == [Outcome.PASSED] * 4, [a.detail for a in attempts]
    for a in attempts:
        assert a.extraction is not None and "check_solution" not in a.code
        assert [d.kind for d in a.extraction.dropped] == ["def", "call", "print"]
    out = tmp_path / "report"
    assert _ripsaw("report", str(run_dir), "--out", str(out)).returncode == 0
    counts = json.loads((out / "summary.json").read_text())["combos"][0]["extraction"]
    assert counts["pruned"] == counts["passed_pruned"] == 4
    assert counts["statements_dropped"] == {"call": 4, "def": 4, "print": 4}
    html = (out / "report.html").read_text()
    for example in counts["examples"]:
        anchor = attempt_anchor(example["attempt_id"])
        # the link, and the attempt it opens in the per-task explorer's index (tests/report/test_chromium.py)
        assert f'href="#{anchor}"' in html and f'"{anchor}"]' in html


def test_dry_run_prints_the_plan_and_sends_nothing(refserver: RefServer, tmp_path: Path) -> None:
    refserver.script = _scripted(_answers(set()))
    spec = _spec(tmp_path, refserver.base_url, limit=6, extra="[combos.params]\nmax_tokens = 100")
    done = _ripsaw("run", str(spec), "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    (plan,) = json.loads(done.stdout)
    assert plan["combo"] == "scripted" and plan["attempts"] == 6 and plan["calls_at_most"] == 6
    assert plan["output_tokens_at_most"] == 600 and plan["input_tokens"] > 6 * 20
    assert plan["cost_usd_at_most"] == pytest.approx((plan["input_tokens"] * 1.0 + 600 * 2.0) / 1e6)
    assert plan["token_source"] == "estimated"  # "ref-model": no tokenizer Ripsaw knows
    text = _ripsaw("run", str(spec), "--dry-run")
    assert "nothing was sent" in text.stdout
    assert refserver.requests == []  # the server's own log: not one request
    assert not (tmp_path / "reports").exists()


def test_a_cost_cap_stops_issuing_calls_and_keeps_what_finished(refserver: RefServer, tmp_path: Path) -> None:
    refserver.script = _scripted(_answers(set()))
    # Each attempt costs ~0.0002-0.0003 USD at these prices: the cap is reached after a few of the 12.
    spec = _spec(tmp_path, refserver.base_url, limit=12, extra="", run_id="capped")
    spec.write_text(spec.read_text().replace("[run]\n", "[run]\nmax_cost_usd = 0.0005\n"))
    done = _ripsaw("run", str(spec), "--no-progress")
    assert done.returncode == 3, done.stderr
    assert "stopped at run.max_cost_usd = 0.0005" in done.stderr
    run_dir = tmp_path / "reports" / "capped"
    lines = (run_dir / "attempts.jsonl").read_text().splitlines()
    costs = [json.loads(line)["cost_usd"] for line in lines]
    assert 2 <= len(lines) < 12  # stopped early, and what finished is kept
    assert sum(costs[:-2]) < 0.0005  # no attempt started after the recorded cost reached the cap (2 run at once)
    manifest = RunStore(run_dir).manifest()
    assert manifest["status"] == "capped" and manifest["capped"]["max_cost_usd"] == 0.0005
    assert len(refserver.requests) == len(lines)


def test_verify_agrees_on_an_untouched_run_and_finds_an_edited_outcome(refserver: RefServer, tmp_path: Path) -> None:
    wrong = {"starter/1", "starter/3"}
    refserver.script = _scripted(_answers(wrong), rate=2000)
    spec = _spec(tmp_path, refserver.base_url, limit=5)
    assert _ripsaw("run", str(spec), "--no-progress").returncode == 0
    run_dir = tmp_path / "reports" / "e2e"
    ok = _ripsaw("verify", str(run_dir), "--spec", str(spec), "--json", "--no-progress")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout) | {"run_dir": ""} == {
        "run_dir": "", "attempts": 5, "rejudged": 5, "differences": [], "ok": True
    }  # fmt: skip

    path = run_dir / "attempts.jsonl"
    lines = path.read_text().splitlines()
    edited = [line.replace('"outcome":"failed"', '"outcome":"passed"', 1) if '"starter/1"' in line else line
              for line in lines]  # fmt: skip
    assert edited != lines
    path.write_text("\n".join(edited) + "\n")
    bad = _ripsaw("verify", str(run_dir), "--spec", str(spec), "--no-progress")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "DIFF  scripted::starter/1::0  verdict: stored 'passed', found 'failed'" in bad.stdout
    assert "1 difference(s)" in bad.stdout


def test_remote_combos_run_interleaved_by_task_in_a_recorded_order(refserver: RefServer, tmp_path: Path) -> None:
    from ripsaw.execution.runner import INTERLEAVE_SEED, interleaved_units
    from ripsaw.spec import load_spec
    from ripsaw.tasks import load_spec_tasks

    refserver.script = _scripted(_answers(set()))
    second = f"""
[[combos]]
name = "other"
provider = "openai"
model = "ref-model-b"
base_url = "{refserver.base_url}"
prompt_mode = "chat"
"""
    spec = _spec(tmp_path, refserver.base_url, limit=4, run_id="mixed")
    spec.write_text(
        spec.read_text().replace("[tasks]", second + "[tasks]").replace("concurrency = 2", "concurrency = 1")
    )
    done = _ripsaw("run", str(spec), "--no-progress")
    assert done.returncode == 0, done.stderr
    sent = [r.body["model"] for r in refserver.requests]
    assert sent.count("ref-model") == 4 and sent.count("ref-model-b") == 4
    assert sent != sorted(sent) and sent[:2] in (["ref-model", "ref-model-b"], ["ref-model-b", "ref-model"])
    loaded = load_spec(spec)
    expected = interleaved_units(list(loaded.combos), load_spec_tasks(loaded), 1)
    models = {"scripted": "ref-model", "other": "ref-model-b"}
    assert sent == [models[u.combo] for u in expected]  # one request at a time: the planned order, exactly
    manifest = RunStore(tmp_path / "reports" / "mixed").manifest()
    assert manifest["interleaved"] == {"combos": ["scripted", "other"], "task_order_seed": INTERLEAVE_SEED}
    summary = json.loads((tmp_path / "reports" / "mixed" / "summary.json").read_text())
    spans = {r["combo"]: (r["first_started_at"], r["last_started_at"]) for r in summary["schedule"]}
    assert set(spans) == {"scripted", "other"}
    (a0, a1), (b0, b1) = spans["scripted"], spans["other"]
    assert a0 <= b1 and b0 <= a1  # interleaved: the spans overlap
    assert "When each combo ran" in (tmp_path / "reports" / "mixed" / "report.html").read_text()
