"""A managed server that crashes: one clear error for the combo, never a table of infra errors.

The server is a stand-in llama_cpp package (tests/providers/standin) put on the child's PYTHONPATH: a real
process that starts, answers, and dies by SIGSEGV when it generates, as a llama.cpp build whose kernels the
CPU cannot run does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ripsaw.execution.runner import run_eval
from ripsaw.spec import load_spec

STANDIN = Path(__file__).parent / "standin"
REPO = Path(__file__).resolve().parents[2]


def _spec(tmp_path: Path) -> Path:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF stand-in")
    spec = tmp_path / "spec.toml"
    spec.write_text(f"""
name = "crash"
[[combos]]
name = "native build"
provider = "llamacpp"
model = "standin"
prompt_mode = "chat"
[combos.options]
threads = 1
model_path = "{model}"
[[combos]]
name = "second"
provider = "llamacpp"
model = "standin"
prompt_mode = "chat"
[combos.options]
threads = 1
model_path = "{model}"
[tasks]
source = "jsonl:{REPO / "tasks" / "starter.jsonl"}"
limit = 3
[run]
sandbox = "process"
output_dir = "{tmp_path / "runs"}"
""")
    return spec


def _lines(run_dir: Path) -> list[str]:
    path = run_dir / "attempts.jsonl"
    return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PYTHONPATH", str(STANDIN))
    counter = tmp_path / "generations"
    monkeypatch.setenv("STANDIN_COUNT", str(counter))
    return counter


def test_a_crash_on_the_first_generation_stops_the_combo_with_one_message(
    tmp_path: Path, standin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_CRASH_AT", "0,1")  # each combo's first generation
    spec = _spec(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "ripsaw", "run", str(spec), "--no-progress"], capture_output=True, text=True
    )
    assert done.returncode == 1, done.stderr
    run_dir = tmp_path / "runs" / next(p.name for p in (tmp_path / "runs").iterdir())
    assert _lines(run_dir) == []  # nothing scored, nothing recorded as an infra error
    err = done.stderr
    # One message per combo, naming the signal, the kernels, the fix and the log in the run directory.
    assert err.count("died during its first generation") == 2, err
    assert "SIGSEGV" in err and "AMX" in err and "--no-cache-dir" in err and "fix:" in err
    assert "ggml_backend_amx_mul_mat" in err  # the log's tail
    assert str(run_dir / "logs") in err
    assert "infra_error" not in err


async def test_a_server_that_dies_after_serving_is_restarted_once(
    tmp_path: Path, standin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_CRASH_AT", "1")  # the second generation dies
    run_dir = tmp_path / "runs" / "r"
    result = await run_eval(load_spec(_spec(tmp_path)), run_dir, progress=False)
    assert result.failed_combos == {}
    assert result.infra_errors == 0
    assert len(_lines(run_dir)) == 6  # every attempt of both combos scored
    log = (run_dir / "logs" / "llamacpp-native-build.log").read_text()
    assert log.count("restarting it once") == 1
    assert int(standin.read_text()) == 7  # 6 replies and the one that died


async def test_a_second_death_after_the_restart_stops_the_combo(
    tmp_path: Path, standin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_CRASH_AT", "1,2")  # dies, is restarted, dies again on the re-sent call
    run_dir = tmp_path / "runs" / "r"
    result = await run_eval(load_spec(_spec(tmp_path)), run_dir, progress=False)
    assert list(result.failed_combos) == ["native build"]
    assert "after one restart" in result.failed_combos["native build"]
    assert "SIGSEGV" in result.failed_combos["native build"]
    assert result.status == "incomplete"
    combos = [json.loads(line)["combo"] for line in _lines(run_dir)]
    assert sorted(combos) == ["native build", "second", "second", "second"]  # its first reply stays
