"""Jobs and their life cycle."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class JobState(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"


@dataclass
class Job:
    id: int
    name: str
    payload: dict[str, Any]
    priority: int = 0
    due_at: float = 0.0
    state: JobState = JobState.QUEUED
    attempts: int = 0
    errors: list[str] = field(default_factory=list)
    result: Any = None

    def sort_key(self) -> tuple[int, float, int]:
        return (-self.priority, self.due_at, self.id)
