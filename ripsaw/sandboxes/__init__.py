"""Sandboxes: where untrusted candidate code runs. The registry of them; `auto` picks Docker when it is there.

A sandbox factory takes keyword options (run_id, limits) and returns a Sandbox (ripsaw.sandboxes.base).
Entry-point group: `ripsaw.sandboxes`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from ripsaw.errors import ConfigError
from ripsaw.registry import Registry
from ripsaw.sandboxes.base import Limits, Sandbox, SandboxJob, SandboxResult, SandboxSession

__all__ = [
    "AUTO",
    "SANDBOXES",
    "Limits",
    "Sandbox",
    "SandboxJob",
    "SandboxResult",
    "SandboxSession",
    "create_sandbox",
    "sandbox_choices",
]

AUTO = "auto"  # not a backend: the choice between docker and process, made when the run starts

SANDBOXES: Registry[Callable[..., Sandbox]] = Registry(
    "sandbox",
    "ripsaw.sandboxes",
    {
        "process": "ripsaw.sandboxes.process:ProcessSandbox",
        "docker": "ripsaw.sandboxes.docker:DockerSandbox",
    },
)


def sandbox_choices() -> list[str]:
    """What a spec's run.sandbox or `--sandbox` may say."""
    return [AUTO, *SANDBOXES.names()]


def create_sandbox(name: str, **options: Any) -> Sandbox:
    if name == AUTO:
        from ripsaw.sandboxes.docker import docker_unavailable_reason

        reason = docker_unavailable_reason()
        if reason is None:
            name = "docker"
        else:
            # Loud on purpose: the process sandbox isolates far less, and results say which one ran.
            print(f'ripsaw: warning: sandbox "auto" falls back to the PROCESS sandbox: {reason}', file=sys.stderr)
            name = "process"
    if name not in SANDBOXES:
        raise ConfigError(SANDBOXES.unknown(name, extra=[AUTO]))
    return SANDBOXES.get(name)(**options)
