from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from ripsaw.errors import ConfigError
from ripsaw.execution.store import RunStore
from ripsaw.records import (
    Attempt,
    CallTiming,
    DroppedStatement,
    Extraction,
    ModelCall,
    Outcome,
    SandboxRun,
    Turn,
    Usage,
)


def _attempt(task: str, outcome: Outcome, sample: int = 0) -> Attempt:
    call = ModelCall(text="x", usage=Usage(3, 5, None, "server"), timing=CallTiming(1, 1, None, 9, 10, 4, [1, 3, 9]))
    return Attempt(run_id="r", combo="c", task_id=task, sample=sample, outcome=outcome, calls=[call])


def test_round_trip_latest_wins_and_infra_errors_stay_unfinished(tmp_path: Path) -> None:
    with RunStore(tmp_path) as store:
        store.append(_attempt("t1", Outcome.INFRA_ERROR))
        store.append(_attempt("t2", Outcome.FAILED))
        store.append(_attempt("t1", Outcome.PASSED))  # the resumed retry
        store.append(_attempt("t3", Outcome.INFRA_ERROR))
    attempts = RunStore(tmp_path).attempts()
    assert [(a.task_id, a.outcome) for a in attempts] == [
        ("t1", Outcome.PASSED),
        ("t2", Outcome.FAILED),
        ("t3", Outcome.INFRA_ERROR),
    ]
    assert attempts[0].calls[0].timing.chunk_ns == [1, 3, 9] and attempts[0].calls[0].usage.completion_tokens == 5
    assert RunStore(tmp_path).finished_ids() == {"c::t1::0", "c::t2::0"}


def test_a_scored_result_is_final_and_a_second_record_is_a_counted_duplicate(tmp_path: Path) -> None:
    with RunStore(tmp_path) as store:
        store.append(_attempt("t1", Outcome.FAILED))
        store.append(_attempt("t1", Outcome.PASSED))  # an executor that ran it twice: must not replace the first
        store.append(_attempt("t2", Outcome.PASSED))
        store.append(_attempt("t2", Outcome.INFRA_ERROR))  # nor may a late infra error reopen a scored attempt
    lines = (tmp_path / "attempts.jsonl").read_text().splitlines()
    assert len(lines) == 4  # the file keeps every record
    attempts, duplicates = RunStore(tmp_path).read()
    assert [(a.task_id, a.outcome) for a in attempts] == [("t1", Outcome.FAILED), ("t2", Outcome.PASSED)]
    assert duplicates == 2
    assert RunStore(tmp_path).finished_ids() == {"c::t1::0", "c::t2::0"}


def test_duplicates_are_counted_in_the_summary_and_the_report(tmp_path: Path) -> None:
    from ripsaw.analysis.runs import load_runs
    from ripsaw.analysis.summary import summarize
    from tests.support.synth import three_combos, write_run

    run = write_run(tmp_path, three_combos()[:1], tasks=20, run_id="r")
    path = run / "attempts.jsonl"
    first = path.read_text().splitlines()[0]
    path.write_text(path.read_text() + first.replace('"outcome":"passed"', '"outcome":"failed"') + "\n")
    summary = summarize(load_runs([run]))
    assert summary.to_dict()["runs"][0]["duplicate_records"] == 1
    assert any("1 duplicate record(s)" in w for w in summary.warnings)


def test_a_line_torn_by_a_crash_is_ignored_and_the_next_append_starts_clean(tmp_path: Path) -> None:
    with RunStore(tmp_path) as store:
        store.append(_attempt("t1", Outcome.PASSED))
    with (tmp_path / "attempts.jsonl").open("a") as f:
        f.write('{"attempt_id": "c::t2::0", "outco')  # kill -9 in the middle of a write
    assert [a.task_id for a in RunStore(tmp_path).attempts()] == ["t1"]
    with RunStore(tmp_path) as store:
        store.append(_attempt("t3", Outcome.FAILED))
    lines = (tmp_path / "attempts.jsonl").read_text().splitlines()
    assert [json.loads(line)["task_id"] for line in lines] == ["t1", "t3"]  # the torn record was cut off
    assert [a.task_id for a in RunStore(tmp_path).attempts()] == ["t1", "t3"]


def test_a_corrupt_line_in_the_middle_is_an_error_naming_the_line(tmp_path: Path) -> None:
    with RunStore(tmp_path) as store:
        store.append(_attempt("t1", Outcome.PASSED))
    with (tmp_path / "attempts.jsonl").open("a") as f:
        f.write("{not json\n")
    with pytest.raises(ConfigError, match=r"attempts.jsonl:2: corrupt"):
        RunStore(tmp_path).attempts()


def test_manifest_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a run directory"):
        RunStore(tmp_path).manifest()
    (tmp_path / "manifest.json").write_text("{")
    with pytest.raises(ConfigError, match="unreadable manifest"):
        RunStore(tmp_path).manifest()


def test_resume_scan_reads_ids_and_outcomes_without_parsing_whole_lines_and_agrees_with_a_full_parse(
    tmp_path: Path,
) -> None:
    # ids and text fields that hold the very patterns the scan looks for, quotes, and non-ASCII
    tricky = ['t"1', 'x","attempt_id":"fake', "é→", '"outcome":"passed"']
    with RunStore(tmp_path) as store:
        for i, task in enumerate(tricky):
            attempt = _attempt(task, Outcome.INFRA_ERROR if i == 1 else Outcome.FAILED)
            attempt.detail = attempt.completion = '"outcome":"passed","attempt_id":"c::t9::0"}'
            store.append(attempt)
    # a record written by another writer (default separators): read by the full parse
    other = _attempt("spaced", Outcome.PASSED).to_dict()
    with (tmp_path / "attempts.jsonl").open("a") as f:
        f.write(json.dumps(other) + "\n")
    store = RunStore(tmp_path)
    full = {a.attempt_id for a in store.attempts() if a.outcome is not Outcome.INFRA_ERROR}
    expected = {f"c::{t}::0" for t in tricky if t != tricky[1]} | {"c::spaced::0"}
    assert store.finished_ids() == full == expected


def _asdict_line(attempt: Attempt) -> bytes:
    """A record line as the store first wrote it, from `dataclasses.asdict`: the on-disk format to keep."""
    d = dataclasses.asdict(attempt)
    d["outcome"] = attempt.outcome.value
    d["attempt_id"] = attempt.attempt_id
    d["turns"] = [
        {
            **dataclasses.asdict(t),
            "public_outcome": t.public_outcome.value if t.public_outcome else None,
            "hidden_outcome": t.hidden_outcome.value if t.hidden_outcome else None,
        }
        for t in attempt.turns
    ]
    return (json.dumps(d, separators=(",", ":"), default=str) + "\n").encode("utf-8")


def test_record_lines_are_byte_identical_to_the_asdict_format_and_round_trip(tmp_path: Path) -> None:
    plain = _attempt("HumanEval/0", Outcome.PASSED)
    repaired = _attempt("HumanEval/1 – é", Outcome.FAILED, sample=2)
    repaired.calls.append(
        ModelCall('déjà "vu"\n', "think", "length", Usage(7, 2, 1, "estimated"), CallTiming(chunk_ns=[]), 2, "budget")
    )
    repaired.sandbox = SandboxRun("process", "timeout", None, 3.5, stdout="1\n", stderr="x", detail="killed")
    repaired.cost_usd = 0.000125
    repaired.stop_reason = "max_turns"
    repaired.turns = [
        Turn(
            0, "generate", public_outcome=Outcome.FAILED, hidden_outcome=Outcome.FAILED, call=0, token_source="server"
        ),
        Turn(1, "repair", cut="budget", call=1, extraction=Extraction(rules=2, source="fence", reindented=True)),
    ]
    repaired.extraction = Extraction(
        rules=2, source="fence", blocks=2, dropped=[DroppedStatement(7, "call", "", "check()", "not needed")]
    )
    attempts = [plain, repaired]
    with RunStore(tmp_path) as store:
        for attempt in attempts:
            store.append(attempt)
    lines = (tmp_path / "attempts.jsonl").read_bytes().splitlines(keepends=True)
    assert lines == [_asdict_line(a) for a in attempts]
    assert RunStore(tmp_path).attempts() == attempts


def test_records_written_before_extraction_was_recorded_still_load(tmp_path: Path) -> None:
    line = json.loads(json.dumps(_attempt("HumanEval/0", Outcome.PASSED).to_dict()))
    for record in (line, *line.get("turns", [])):
        record.pop("extraction", None)
    (tmp_path / "attempts.jsonl").write_text(json.dumps(line) + "\n")
    (attempt,) = RunStore(tmp_path).attempts()
    assert attempt.extraction is None and attempt.outcome is Outcome.PASSED
