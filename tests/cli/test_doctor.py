"""`ripsaw doctor`: each real component checked, each problem with its fix, non-zero when the quickstart is blocked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def _doctor(env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "ripsaw", "doctor", "--no-generate", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )
    return done.returncode, json.loads(done.stdout)


def _check(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in report["checks"] if c["name"] == name)


def test_without_docker_it_says_so_and_exits_non_zero(tmp_path: Path) -> None:
    code, report = _doctor({"DOCKER_HOST": f"unix://{tmp_path / 'no-engine.sock'}"})
    assert code == 1 and report["ok"] is False
    docker = _check(report, "docker engine")
    assert docker["ok"] is False and docker["blocks_quickstart"] is True
    assert "no Docker engine answers" in docker["detail"]
    assert "docker.io" in docker["fix"] and "engine-up.sh" in docker["fix"]
    assert {c["name"] for c in report["checks"]} >= {"python", "llama.cpp", "process sandbox", "chromium", "disk"}


def test_a_quickstart_model_not_pulled_blocks_with_the_pull_command(tmp_path: Path) -> None:
    code, report = _doctor({"RIPSAW_MODEL_CACHE": str(tmp_path / "empty-cache")})
    assert code == 1
    gemma = _check(report, "model gemma3-270m")
    assert gemma["ok"] is False and gemma["blocks_quickstart"] is True
    assert gemma["fix"] == "ripsaw models pull gemma3-270m"
    big = _check(report, "model qwen2.5-coder-1.5b-instruct")  # not in the quickstart: reported, not blocking
    assert big["ok"] is False and big["blocks_quickstart"] is False
