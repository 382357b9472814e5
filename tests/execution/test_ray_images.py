"""The images every node of a cluster ran on, compared (RayExecutor.image_mismatches) from the facts its workers
report when they come up (the sandbox) and when they close (the workspace base and each task's image), and the
warning a run whose nodes disagree carries into its manifest, the report and the Markdown summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ripsaw import __version__
from ripsaw.analysis.runs import load_runs
from ripsaw.analysis.summary import summarize
from ripsaw.report.exports import summary_markdown
from ripsaw.types import RunSpec
from tests.conftest import in_ci
from tests.support.synth import Combo, outcomes, write_run

if not in_ci():  # in CI a missing Ray fails the run instead of skipping it
    pytest.importorskip("ray")

from ripsaw.execution.ray_executor import RayExecutor

A, B = "a" * 56, "b" * 56


def node(node_id: str, sandbox_image: str) -> dict[str, Any]:
    return {
        "node_id": node_id,
        "host": node_id[:4],
        "cpu_model": "cpu",
        "cpus": 2,
        "ripsaw_version": __version__,
        "sandbox": {"kind": "docker", "image_id": sandbox_image},
    }


def cluster(sandbox_b: str, workspace_b: str, task_b: str) -> RayExecutor:
    executor = RayExecutor(RunSpec(executor="ray"))
    executor._note_node(node(A, "sha256:" + "1" * 64))
    executor._note_node(node(B, sandbox_b))
    executor._note_images(A, {"workspace_image_id": "sha256:" + "w" * 64, "task_images": {"t/1": "sha256:" + "t" * 64}})
    executor._note_images(B, {"workspace_image_id": workspace_b, "task_images": {"t/1": task_b, "t/2": "sha256:22"}})
    return executor


def test_nodes_that_agree_say_so() -> None:
    facts = cluster("sha256:" + "1" * 64, "sha256:" + "w" * 64, "sha256:" + "t" * 64).describe()
    assert facts["images_differ"] == [] and facts["sandbox_images_differ"] is False
    assert facts["nodes"][B]["task_images"] == {"t/1": "sha256:" + "t" * 64, "t/2": "sha256:22"}  # t/2: B alone


def test_each_image_that_differs_is_named_with_its_nodes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    executor = cluster("sha256:" + "9" * 64, "sha256:" + "v" * 64, "sha256:" + "u" * 64)
    assert "different sandbox images" in capsys.readouterr().err  # said as soon as the second node came up
    facts = executor.describe()
    assert facts["sandbox_images_differ"] is True
    assert facts["images_differ"] == [
        "sandbox image: node aaaaaaaa sha256:111111111111, node bbbbbbbb sha256:999999999999",
        "workspace image: node aaaaaaaa sha256:wwwwwwwwwwww, node bbbbbbbb sha256:vvvvvvvvvvvv",
        "task t/1 image: node aaaaaaaa sha256:tttttttttttt, node bbbbbbbb sha256:uuuuuuuuuuuu",
    ]

    run_dir = write_run(tmp_path, [Combo("x", outcomes(1, 2), [1.0, 1.0])], tasks=2, run_id="cluster")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["executor"] = json.loads(json.dumps(facts))
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    summary = summarize(load_runs([run_dir]))
    (warning,) = [w for w in summary.warnings if "different images" in w]
    assert warning.startswith("run cluster: the cluster's nodes ran different images (sandbox image: node aaaaaaaa")
    assert "task t/1 image: node aaaaaaaa sha256:tttttttttttt, node bbbbbbbb sha256:uuuuuuuuuuuu" in warning
    assert f"- {warning}" in summary_markdown(summary)
