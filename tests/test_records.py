"""Records round-trip through JSON, conversation blocks included."""

from __future__ import annotations

import json

from ripsaw.records import AgentRun, AgentTurn, Attempt, BudgetMark, ModelCall, Outcome, RepoVerdict, Snapshot
from ripsaw.types import Message, Reasoning, Text, ToolCall


def test_a_call_with_tool_calls_and_reasoning_items_round_trips_and_becomes_the_assistant_turn() -> None:
    call = ModelCall(
        text="Let me look.",
        reasoning="first I list the files",
        tool_calls=[ToolCall("call_1", "bash", '{"command": "ls"}'), ToolCall("call_2", "bash", "{not json")],
        reasoning_items=[Reasoning("first I list the files", {"signature": "c2ln"}, "anthropic")],
    )
    attempt = Attempt("run", "combo", "t/1", 0, Outcome.PASSED, calls=[call])
    again = Attempt.from_dict(json.loads(json.dumps(attempt.to_dict())))
    assert again == attempt
    assert again.calls[0].message() == Message(
        "assistant",
        (
            Reasoning("first I list the files", {"signature": "c2ln"}, "anthropic"),
            Text("Let me look."),
            ToolCall("call_1", "bash", '{"command": "ls"}'),
            ToolCall("call_2", "bash", "{not json"),
        ),
    )


def test_plain_reasoning_text_is_sent_back_as_a_reasoning_block_and_plain_content_reads_as_text() -> None:
    assert ModelCall(text="x", reasoning="hm").message().blocks == (Reasoning("hm"), Text("x"))
    assert Message("user", "hello").text == "hello"
    assert Message("user", "hello").blocks == (Text("hello"),)
    assert Message("user", (Text("a"), ToolCall("1", "bash", "{}"), Text("b"))).text == "ab"


def test_an_agent_attempt_round_trips_through_json_with_its_turns_snapshots_marks_and_verdict() -> None:
    agent = AgentRun(
        tool_mode="text",
        turns=[
            AgentTurn(index=0, started_at_s=0.0, action="command", call=0, command="ls", exit_code=0, snapshot=None),
            AgentTurn(index=1, started_at_s=1.5, action="format_error", call=1, observation="no bash block"),
            AgentTurn(index=2, started_at_s=2.0, action="command", call=2, command="sed -i s/a/b/ x.py", snapshot=0),
        ],
        snapshots=[Snapshot(index=0, turn=2, at_s=2.4, diff_sha256="ab" * 32, diff_bytes=120, left_out=["big.bin"])],
        marks=[BudgetMark(1.0, None, Outcome.FAILED), BudgetMark(3.0, 0, Outcome.PASSED, "")],
        model_time_s=2.0,
        tool_time_s=0.3,
        overhead_s=0.1,
        wall_s=2.4,
        solved_at_s=2.4,
        verdict=RepoVerdict(tests={"tests/test_x.py::test_a": "passed"}, dropped=["conftest.py"]),
    )
    attempt = Attempt(run_id="r", combo="c", task_id="t", sample=0, outcome=Outcome.PASSED, strategy="agent")
    attempt.agent, attempt.stop_reason = agent, "submitted"
    back = Attempt.from_dict(json.loads(json.dumps(attempt.to_dict())))
    assert back == attempt
    assert back.agent is not None and back.agent.marks[1].outcome is Outcome.PASSED
