from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.refserver import RefServer
from tests.support.synth import N, three_combos, write_run

# Variables a test must never inherit from the developer's shell: keys, proxies, Ripsaw settings.
_SCRUB_PREFIXES = ("OPENAI_", "ANTHROPIC_", "RIPSAW_", "HF_", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith(_SCRUB_PREFIXES):
            monkeypatch.delenv(name, raising=False)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture
def refserver() -> Iterator[RefServer]:
    """The reference OpenAI-compatible server on a free loopback port, served from its own thread.

    Set `refserver.script` (or call `reset(script)`) before the requests; `requests`, `chunks` and `max_in_flight`
    tell what it received and sent. No busy-waiting (`spin_s=0`): tests need loose timing only."""
    with RefServer(spin_s=0) as server:
        yield server


@pytest.fixture
def three_combo_run(tmp_path: Path) -> Path:
    """A synthetic run directory of three combos on N tasks (tests.support.synth.three_combos)."""
    return write_run(tmp_path / "runs", three_combos(), tasks=N, latency_slo_s=1.0)
