from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ripsaw.cli import main

REPO = Path(__file__).resolve().parents[2]

GOOD = """
name = "team"

[[combos]]
name = "local-1t"
provider = "llamacpp"
model = "gemma3-270m"
hardware = "1 thread"
prompt_mode = "complete"
options = { threads = 1 }

[[combos]]
name = "remote"
provider = "openai"
model = "coder-7b"
hardware = "1x L4"
base_url = "http://127.0.0.1:9/v1"
api_key_env = "RIPSAW_TEST_KEY"
price_in_per_mtok = 0.2
price_out_per_mtok = 0.6
[combos.params]
stop = ["\\ndef "]

[tasks]
source = "humaneval"
limit = 3

[run]
budget_s = 45
sandbox = "process"
"""

BAD = """
[[combos]]
name = "a"
provider = "llamacpp"
model = "m"
[combos.params]
temperature = "hot"
[tasks]
source = "humaneval"
"""


@pytest.fixture
def good_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RIPSAW_TEST_KEY", "secret-value-123")
    path = tmp_path / "team.toml"
    path.write_text(GOOD)
    return path


def test_summary_shows_combos_tasks_and_run(good_spec: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(good_spec)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert re.search(r"local-1t\s+llamacpp\s+gemma3-270m\s+complete\s+hardware: 1 thread", out)
    assert re.search(r"remote\s+openai\s+coder-7b\s+chat\s+hardware: 1x L4\s+http://127.0.0.1:9/v1", out)
    assert "key from $RIPSAW_TEST_KEY" in out
    assert "$0.2/$0.6 per Mtok in/out" in out
    assert re.search(r"tasks\s+humaneval\s+limit 3\s+-> 3 tasks, suite sha256:[0-9a-f]{64}", out)
    assert "budget 45 s" in out and "sandbox process" in out
    assert out.rstrip().endswith("ok")
    assert "secret-value-123" not in result.output


def test_json_output(good_spec: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(good_spec), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["name"] == "team" and len(data["sha256"]) == 64
    assert [c["name"] for c in data["combos"]] == ["local-1t", "remote"]
    assert data["combos"][1]["params"]["stop"] == ["\ndef "]
    assert data["combos"][1]["api_key_env"] == "RIPSAW_TEST_KEY"
    assert data["tasks"]["source"] == "humaneval" and data["tasks"]["count"] == 3
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", data["tasks"]["suite_hash"])
    assert data["run"]["budget_s"] == 45.0 and data["run"]["samples"] == 1
    assert "secret-value-123" not in result.output


def test_bad_spec_one_line_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BAD)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"ripsaw: error: {path}: combos[0].params.temperature: expected a finite number, got a string ('hot')\n"
    )


def test_missing_env_var_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "team.toml"
    path.write_text(GOOD)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"ripsaw: error: {path}: combos[1].api_key_env: environment variable RIPSAW_TEST_KEY is not set\n"
    )

    result = CliRunner().invoke(main, ["validate", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert "nope.toml: cannot read the spec: No such file or directory" in result.stderr


def test_problem_in_the_task_file_is_reported_too(tmp_path: Path) -> None:
    (tmp_path / "suite.jsonl").write_text("this is not json\n")
    path = tmp_path / "s.toml"
    path.write_text(
        '[[combos]]\nname = "a"\nprovider = "llamacpp"\nmodel = "m"\n[tasks]\nsource = "jsonl:suite.jsonl"\n'
    )
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith("ripsaw: error: ")
    assert str(tmp_path / "suite.jsonl") in result.stderr and result.stderr.count("\n") == 1


def test_real_process_bad_spec_exit_2_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BAD)
    proc = subprocess.run(
        [sys.executable, "-m", "ripsaw", "validate", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"ripsaw: error: {path}: combos[0].params.temperature: expected a finite number, got a string ('hot')"
    ]


def test_help() -> None:
    result = CliRunner().invoke(main, ["validate", "--help"])
    assert result.exit_code == 0
    assert "SPEC" in result.output and "--json" in result.output


def test_provider_options_are_checked_without_launching_anything(tmp_path: Path) -> None:
    path = tmp_path / "typo.toml"
    path.write_text(
        '[[combos]]\nname = "a"\nprovider = "llamacpp"\nmodel = "m"\noptions = { thread = 1 }\n'
        '[tasks]\nsource = "humaneval"\nlimit = 1\n'
    )
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    assert "combo 'a'" in result.stderr and "thread" in result.stderr and "threads" in result.stderr


@pytest.mark.parametrize(
    "spec",
    sorted([*(REPO / "evals").glob("*.toml"), *(REPO / "evals" / "examples").glob("*.toml")]),
    ids=lambda p: p.name,
)
def test_the_example_specs_validate_offline(spec: Path) -> None:
    """Every shipped example validates in a fresh process (the registry, every provider's options) with only its
    key variables set: nothing is sent anywhere."""
    keys = set(re.findall(r'api_key_env = "([A-Z_]+)"', spec.read_text()))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), **{k: "not-a-real-key" for k in keys}}
    done = subprocess.run(
        [sys.executable, "-m", "ripsaw", "validate", str(spec)], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith("ok")
