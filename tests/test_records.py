"""Records round-trip through JSON, conversation blocks included."""

from __future__ import annotations

import json

from ripsaw.records import Attempt, ModelCall, Outcome
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
