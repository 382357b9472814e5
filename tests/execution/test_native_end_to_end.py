"""One spec, one combo per API (chat completions, Responses, Messages), run end to end by the real CLI against the
reference server: every combo scores the known answers, caching is priced at the cached rate, each API gets the
key in its own header, and the key is nowhere in what the run writes or prints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ripsaw.execution.store import RunStore
from ripsaw.records import Outcome
from tests.execution.test_run_end_to_end import STARTER, _answers, _ripsaw
from tests.refserver import RefServer, Reply

CANARY = "sk-canary-native-71c0de"


def _scripted(answers: dict[str, str]) -> Any:
    """The answer for whichever task prompt the request carries, in any of the three APIs' bodies."""

    def script(body: dict[str, Any]) -> Reply:
        sent = json.dumps(body)
        text = next(a for prompt, a in answers.items() if json.dumps(prompt)[1:-1] in sent)
        return Reply(text=text, rate=2000, tokens_per_chunk=4, cached_tokens=3)

    return script


def _combo(name: str, provider: str, base_url: str) -> str:
    return f"""
[[combos]]
name = "{name}"
provider = "{provider}"
model = "ref-model"
base_url = "{base_url}"
api_key_env = "NATIVE_E2E_KEY"
price_in_per_mtok = 1.0
price_cached_in_per_mtok = 0.1
price_out_per_mtok = 2.0
"""


def test_one_spec_runs_every_api_and_prices_cached_input(refserver: RefServer, tmp_path: Path) -> None:
    refserver.api_key = CANARY
    wrong = {"starter/1"}
    refserver.script = _scripted(_answers(wrong))
    combos = {"chat": "openai", "responses": "openai-responses", "messages": "anthropic"}
    spec = tmp_path / "native.toml"
    spec.write_text(
        'name = "native"\n'
        + "".join(_combo(name, provider, refserver.base_url) for name, provider in combos.items())
        + f"""
[tasks]
source = "jsonl:{STARTER}"
limit = 3
[run]
budget_s = 30
sandbox = "process"
concurrency = 3
output_dir = "{tmp_path / "reports"}"
run_id = "native"
"""
    )
    assert _ripsaw("validate", str(spec), extra_env={"NATIVE_E2E_KEY": CANARY}).returncode == 0
    done = _ripsaw("run", str(spec), "--no-progress", extra_env={"NATIVE_E2E_KEY": CANARY})
    assert done.returncode == 0, done.stderr

    run_dir = tmp_path / "reports" / "native"
    attempts = RunStore(run_dir).attempts()
    assert len(attempts) == 9
    for a in attempts:
        assert a.outcome is (Outcome.FAILED if a.task_id in wrong else Outcome.PASSED), (a.combo, a.detail)
        [call] = a.calls
        usage = call.usage
        assert usage.source == "server" and usage.prompt_tokens and usage.completion_tokens
        assert call.timing.t_send_wire and call.timing.ttft_s is not None
        # every API reports the cached input tokens its own way; each provider reads them, priced at 0.1
        cached = 3
        assert usage.cached_tokens == cached
        expected = ((usage.prompt_tokens - cached) * 1.0 + cached * 0.1 + usage.completion_tokens * 2.0) / 1e6
        assert call.cost_usd == pytest.approx(expected) and a.cost_usd == pytest.approx(expected)
    paths = {r.path for r in refserver.requests}
    assert paths == {"/v1/chat/completions", "/v1/responses", "/v1/messages"}
    for r in refserver.requests:
        key_header = "x-api-key" if r.path == "/v1/messages" else "authorization"
        assert CANARY in r.headers[key_header]
    manifest = RunStore(run_dir).manifest()
    assert [c["provider"] for c in manifest["combos"]] == list(combos.values())
    assert {c["price_cached_in_per_mtok"] for c in manifest["combos"]} == {0.1}

    verify = _ripsaw("verify", str(run_dir), extra_env={"NATIVE_E2E_KEY": CANARY})
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert CANARY not in done.stdout + done.stderr
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path
