"""Sandbox registry: name -> lazy factory. `auto` picks Docker when the engine and image are there."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

from ripsaw.errors import ConfigError
from ripsaw.sandboxes.base import Limits, Sandbox, SandboxJob, SandboxResult, SandboxSession

__all__ = ["Limits", "Sandbox", "SandboxJob", "SandboxResult", "SandboxSession", "create_sandbox", "register"]

# name -> "module:factory"; the factory takes keyword options (run_id, ...) and returns a Sandbox.
_REGISTRY: dict[str, str | Callable[..., Sandbox]] = {
    "process": "ripsaw.sandboxes.process:ProcessSandbox",
    "docker": "ripsaw.sandboxes.docker:DockerSandbox",
}


def register(name: str, factory: str | Callable[..., Sandbox]) -> None:
    _REGISTRY[name] = factory


def _factory(name: str) -> Callable[..., Sandbox]:
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown sandbox {name!r} (known: auto, {', '.join(sorted(_REGISTRY))})") from None
    if isinstance(factory, str):
        module, _, attr = factory.partition(":")
        factory = getattr(importlib.import_module(module), attr)
    return factory


def create_sandbox(name: str, **options: Any) -> Sandbox:
    if name == "auto":
        from ripsaw.sandboxes.docker import docker_unavailable_reason

        reason = docker_unavailable_reason()
        if reason is None:
            name = "docker"
        else:
            # Loud on purpose: the process sandbox isolates far less, and results say which one ran.
            print(f'ripsaw: warning: sandbox "auto" falls back to the PROCESS sandbox: {reason}', file=sys.stderr)
            name = "process"
    return _factory(name)(**options)
