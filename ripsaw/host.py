"""A fingerprint of the machine a run was measured on, for the manifest (no hostnames, no user names)."""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import socket
from typing import Any

from ripsaw.records import Placement


@functools.cache  # every attempt's placement names it: read once per process
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _hostname_hash() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:12]


def placement(executor: str, *, node_id: str = "", dispatch_s: float | None = None) -> Placement:
    """This machine as an attempt starting on it now sees it (the load average is read at the call)."""
    try:
        load: float | None = round(os.getloadavg()[0], 2)
    except OSError:
        load = None
    return Placement(
        executor=executor,
        host=_hostname_hash(),
        node_id=node_id,
        cpu_model=_cpu_model(),
        cpus=os.cpu_count(),
        load_1m=load,
        dispatch_s=dispatch_s,
    )


def fingerprint() -> dict[str, Any]:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        # Lets a reader tell "same machine" from "different machine" without publishing its name.
        "hostname_hash": _hostname_hash(),
    }
