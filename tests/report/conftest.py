from __future__ import annotations

from pathlib import Path

import pytest

from tests.report.synth import Combo, outcomes, write_run

N = 20


def three_combos() -> list[Combo]:
    """fast: 8/20 passed, task times 0.1..2.0 s; accurate: 15/20, 1..20 s; slowbad: 6/20, 2..40 s.

    Pairs per task: fast passes tasks 0-7, accurate 0-14, slowbad 0-5, so every discordant pair favours the
    more accurate combo.
    """
    return [
        Combo("fast", outcomes(8, N), [(i + 1) / 10 for i in range(N)]),
        Combo("accurate", outcomes(15, N), [float(i + 1) for i in range(N)]),
        Combo("slowbad", outcomes(6, N), [(i + 1) * 2.0 for i in range(N)]),
    ]


@pytest.fixture
def three_combo_run(tmp_path: Path) -> Path:
    return write_run(tmp_path / "runs", three_combos(), tasks=N, latency_slo_s=1.0)
