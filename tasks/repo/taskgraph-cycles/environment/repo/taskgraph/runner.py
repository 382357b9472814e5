"""Running steps in order, skipping those whose outputs are newer than their inputs."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from taskgraph.graph import Graph, Step


@dataclass
class RunReport:
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: str | None = None
    error: str = ""
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.failed is None


def _mtime(path: str) -> float | None:
    try:
        return os.stat(path).st_mtime
    except FileNotFoundError:
        return None


def is_stale(step: Step) -> bool:
    """True when the step must run: no outputs declared, an output missing, or an input newer than an output."""
    if not step.outputs:
        return True
    outputs = [_mtime(p) for p in step.outputs]
    if any(t is None for t in outputs):
        return True
    newest_input = max((t for t in (_mtime(p) for p in step.inputs) if t is not None), default=0.0)
    return newest_input > min(t for t in outputs if t is not None)


class Runner:
    def __init__(self, graph: Graph, clock: Callable[[], float] = time.perf_counter) -> None:
        self.graph = graph
        self.clock = clock

    def run(self, target: str, force: bool = False) -> RunReport:
        report = RunReport()
        forced_by_upstream: set[str] = set()
        for name in self.graph.order(target):
            step = self.graph.steps[name]
            if not force and name not in forced_by_upstream and not is_stale(step):
                report.skipped.append(name)
                continue
            t0 = self.clock()
            try:
                step.run()
            except Exception as e:  # a failing step stops the build; the report says which and why
                report.failed, report.error = name, f"{type(e).__name__}: {e}"
                return report
            report.seconds[name] = self.clock() - t0
            report.ran.append(name)
            forced_by_upstream.update(self.graph.dependents(name))
        return report
