"""Records are versioned: a run directory from an earlier release loads (migrated), one from a newer release is
refused in one line naming both versions and the fix, and a record that does not fit its schema names its line.

`runs/schema-1/` is a real run directory kept from results schema 1: the quickstart (Gemma 3 270M and
Qwen2.5-Coder-0.5B-Instruct on 15 HumanEval tasks) as recorded on 2026-12-03, attempts gzipped."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from ripsaw.analysis.runs import load_runs
from ripsaw.analysis.summary import summarize
from ripsaw.errors import ConfigError
from ripsaw.execution.store import RunStore
from ripsaw.records import RESULTS_SCHEMA_VERSION, Outcome
from tests.support.cli import ripsaw

KEPT = Path(__file__).parent / "runs"


def _unpack(version: int, into: Path) -> Path:
    run = into / f"schema-{version}"
    run.mkdir()
    shutil.copy(KEPT / f"schema-{version}" / "manifest.json", run)
    with gzip.open(KEPT / f"schema-{version}" / "attempts.jsonl.gz", "rb") as f:
        (run / "attempts.jsonl").write_bytes(f.read())
    return run


def test_a_run_directory_from_schema_1_still_loads_and_reports(tmp_path: Path) -> None:
    run = _unpack(1, tmp_path)
    assert {json.loads(line)["schema_version"] for line in (run / "attempts.jsonl").read_text().splitlines()} == {1}
    attempts = RunStore(run).attempts()
    assert len(attempts) == 30 and {a.schema_version for a in attempts} == {RESULTS_SCHEMA_VERSION}
    passed = {c: sum(a.outcome is Outcome.PASSED for a in attempts if a.combo == c) for c in ("gemma3-270m",)}
    assert passed == {"gemma3-270m": 0}
    summary = summarize(load_runs([run]))
    assert [m.passed for m in summary.combos] == [0, 8]
    assert ripsaw("report", run, "--json").returncode == 0


def test_a_record_from_a_newer_ripsaw_is_refused_in_one_line(tmp_path: Path) -> None:
    run = _unpack(1, tmp_path)
    lines = (run / "attempts.jsonl").read_text().splitlines()
    newer = json.loads(lines[3])
    newer["schema_version"] = RESULTS_SCHEMA_VERSION + 1
    lines[3] = json.dumps(newer)
    (run / "attempts.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as e:
        RunStore(run).attempts()
    message = str(e.value)
    assert message.startswith(f"{run / 'attempts.jsonl'}:4: written by a newer Ripsaw")
    assert f"results schema {RESULTS_SCHEMA_VERSION + 1}; this one reads up to {RESULTS_SCHEMA_VERSION}" in message
    assert "upgrade Ripsaw" in message and "\n" not in message
    r = ripsaw("report", run)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "written by a newer Ripsaw" in r.stderr


def test_a_record_with_a_field_its_schema_does_not_have_names_it(tmp_path: Path) -> None:
    run = _unpack(1, tmp_path)
    lines = (run / "attempts.jsonl").read_text().splitlines()
    odd = json.loads(lines[0])
    odd["verdict_override"] = "passed"
    lines[0] = json.dumps(odd)
    (run / "attempts.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=r"attempts.jsonl:1: unknown field\(s\) verdict_override"):
        RunStore(run).attempts()
