"""The GitHub Action: action.yml runs scripts/pr-gate.sh, which is run here for real (the real `ripsaw` run,
report and gate in subprocesses; only `gh`, GitHub's own CLI, is a stand-in that records what it was asked)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.refserver import RefServer, Reply
from tests.support.cli import REPO
from tests.support.synth import N, three_combos, write_run

SCRIPT = REPO / "scripts" / "pr-gate.sh"


def _gate(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path / "ci"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("RIPSAW_", "GITHUB_", "PR_", "GH_"))}
    run_env = {**base, "RIPSAW": f"{sys.executable} -m ripsaw", "RIPSAW_OUT": str(out), **env}
    proc = subprocess.run(["bash", str(SCRIPT)], cwd=REPO, env=run_env, capture_output=True, text=True, timeout=300,
                          check=False)  # fmt: skip
    return proc, out


def test_action_runs_the_script_with_its_inputs() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text())
    steps = action["runs"]["steps"]
    assert action["runs"]["using"] == "composite"
    gate = next(s for s in steps if s.get("id") == "gate")
    assert gate["run"] == 'bash "$GITHUB_ACTION_PATH/scripts/pr-gate.sh"'
    script = SCRIPT.read_text()
    for name in gate["env"]:
        assert f"${{{name}" in script, f"action.yml passes {name}, which the script never reads"
    upload = next(s for s in steps if "upload-artifact" in s.get("uses", ""))
    assert upload["if"] == "always()" and upload["with"]["path"] == "${{ inputs.out }}"
    assert {"spec", "baseline", "gate-args", "comment"} <= set(action["inputs"])


def test_the_script_gates_against_a_baseline_and_writes_the_comment(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    current = write_run(runs, three_combos(), tasks=N, run_id="current")
    baseline = write_run(runs, three_combos(), tasks=N, run_id="baseline")
    proc, out = _gate(tmp_path, RIPSAW_RUN_DIR=str(current), RIPSAW_BASELINE=str(baseline),
                      RIPSAW_GATE_ARGS="--min-pass-rate 0.35")  # fmt: skip
    assert proc.returncode == 1, proc.stderr  # slowbad passes 6 of 20 < 35%
    comment = (out / "comment.md").read_text()
    assert comment.startswith("<!-- ripsaw-gate -->\n### ")
    assert "against baseline `baseline`" in comment and "slowbad" in comment
    assert "At p50 ≤ 1.05 s, fast dominates" in comment  # the report's summary, folded under the gate
    assert (out / "report" / "report.html").is_file() and (out / "gate.xml").is_file()

    proc, out = _gate(tmp_path, RIPSAW_RUN_DIR=str(current), RIPSAW_BASELINE=str(baseline),
                      RIPSAW_GATE_ARGS="--min-pass-rate 0.35 --combo fast --combo accurate")  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_script_runs_a_spec_and_posts_the_comment(tmp_path: Path, refserver: RefServer) -> None:
    refserver.script = (Reply(text="```python\ndef f():\n    return 1\n```"),)
    spec = tmp_path / "ci.toml"
    spec.write_text(
        f"""name = "ci"
[[combos]]
name = "scripted"
provider = "openai"
model = "ref-model"
base_url = "{refserver.base_url}"
prompt_mode = "chat"
[tasks]
source = "jsonl:{REPO / "tasks" / "starter.jsonl"}"
limit = 2
[run]
budget_s = 30
sandbox = "process"
"""
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "gh-calls"
    gh = bin_dir / "gh"
    gh.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    gh.chmod(0o755)
    github_output = tmp_path / "github-output"
    proc, out = _gate(tmp_path, RIPSAW_SPEC=str(spec), RIPSAW_GATE_ARGS="--min-pass-rate 0.9", PR_NUMBER="7",
                      GH_TOKEN="token", GITHUB_OUTPUT=str(github_output),
                      PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr  # a wrong answer: pass@1 0% < 90%
    assert (out / "runs" / "ci" / "attempts.jsonl").is_file()
    assert calls.read_text() == f"pr comment 7 --body-file {out}/comment.md --edit-last\n"
    assert "### " in (out / "comment.md").read_text()
    outputs = dict(line.split("=", 1) for line in github_output.read_text().splitlines())
    assert outputs == {"run-dir": f"{out}/runs/ci", "report-dir": f"{out}/report", "comment": f"{out}/comment.md",
                       "gate-status": "1"}  # fmt: skip
