"""Choosing a sandbox: `auto` falls back loudly, `docker` without an engine says what to do; `ripsaw sandbox`.

These run everywhere: "no engine" is a DOCKER_HOST pointing at a socket nobody listens on.
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from ripsaw.cli import main
from ripsaw.errors import PrerequisiteError
from ripsaw.sandboxes import create_sandbox
from ripsaw.sandboxes.docker import DockerSandbox, docker_available
from ripsaw.sandboxes.image import image_tag
from tests.sandboxes.conftest import require_docker


@pytest.fixture
def no_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dead = tmp_path / "dead.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(dead))  # exists, but nothing listens: connections are refused
    s.close()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{dead}")


def test_auto_falls_back_to_process_loudly(no_engine: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert not docker_available()
    sb = create_sandbox("auto", run_id="selection")
    assert sb.kind == "process"
    err = capsys.readouterr().err
    assert "warning" in err and "PROCESS sandbox" in err and "Docker engine" in err


def test_docker_without_engine_says_what_to_do(no_engine: None) -> None:
    with pytest.raises(PrerequisiteError, match=r"start the Docker engine.*sandbox = \"process\""):
        create_sandbox("docker", run_id="selection")


def test_status_without_engine(no_engine: None) -> None:
    result = CliRunner().invoke(main, ["sandbox", "status", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["engine"] is None and "no Docker engine answers" in data["engine_error"]
    assert data["image"] == {**data["image"], "tag": image_tag(), "present": False}


def test_image_tag_is_a_content_hash() -> None:
    assert re.fullmatch(r"ripsaw-sandbox-python:[0-9a-f]{12}", image_tag())
    assert image_tag() == image_tag()


@pytest.mark.docker
def test_auto_picks_docker_when_ready(capsys: pytest.CaptureFixture[str]) -> None:
    require_docker()
    sb = create_sandbox("auto", run_id="selection")
    assert isinstance(sb, DockerSandbox)
    sb.close()
    assert "warning" not in capsys.readouterr().err


@pytest.mark.docker
def test_status_and_build_with_engine() -> None:
    require_docker()
    status = CliRunner().invoke(main, ["sandbox", "status", "--json"])
    assert status.exit_code == 0, status.output
    data = json.loads(status.output)
    assert data["engine"] and data["image"]["present"] and data["image"]["id"].startswith("sha256:")
    build = CliRunner().invoke(main, ["sandbox", "build"])  # the tag exists: nothing to do
    assert build.exit_code == 0
    assert build.stdout.strip() == f"{image_tag()} {data['image']['id']}"
    assert "up to date" in build.stderr
