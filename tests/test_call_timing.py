"""CallTiming: the chunk-aware output speed, and records written before the timing fields they now carry."""

from __future__ import annotations

import pytest

from ripsaw.records import Attempt, CallTiming, ModelCall, Outcome


def test_output_speed_leaves_the_first_chunks_tokens_out() -> None:
    # 64 tokens in chunks of 16: the first 16 arrived at t_first, 48 during the 16 ms after it
    t = CallTiming(first_any_ns=50_000_000, last_token_ns=66_000_000, n_first=16, n_first_source="server")
    assert t.output_speed(64) == pytest.approx(48 / 0.016)
    assert CallTiming(first_any_ns=0, last_token_ns=10, n_first=4).output_speed(4) is None  # one chunk: no span


def test_one_token_per_chunk_is_the_old_definition() -> None:
    old = CallTiming(first_any_ns=0, last_token_ns=1_000_000_000)
    assert old.output_speed(101) == CallTiming(0, None, None, 1_000_000_000, n_first=1).output_speed(101) == 100.0
    assert old.output_speed(1) is None and old.output_speed(None) is None


def test_records_without_the_new_timing_fields_still_load() -> None:
    call = ModelCall(text="x", timing=CallTiming(first_any_ns=5, last_token_ns=9, chunks=2, chunk_ns=[5, 9]))
    record = Attempt("r", "c", "t", 0, Outcome.PASSED, calls=[call]).to_dict()
    for name in ("queue_ns", "t_send_wire", "n_first", "n_first_source"):
        del record["calls"][0]["timing"][name]
    timing = Attempt.from_dict(record).calls[0].timing
    assert (timing.queue_ns, timing.t_send_wire, timing.n_first, timing.n_first_source) == (None, False, None, None)
    new = CallTiming(queue_ns=7, t_send_wire=True, n_first=3, n_first_source="tokenizer")
    assert (
        Attempt.from_dict(Attempt("r", "c", "t", 0, Outcome.PASSED, calls=[ModelCall(timing=new)]).to_dict())
        .calls[0]
        .timing
        == new
    )
