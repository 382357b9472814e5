"""Steps and their dependencies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


class UnknownStep(KeyError):
    def __init__(self, name: str, needed_by: str | None = None) -> None:
        where = f" (needed by {needed_by!r})" if needed_by else ""
        super().__init__(f"unknown step {name!r}{where}")
        self.name = name


class CycleError(ValueError):
    def __init__(self, cycle: list[str]) -> None:
        super().__init__("dependency cycle: " + " -> ".join(cycle))
        self.cycle = cycle


@dataclass
class Step:
    name: str
    run: Callable[[], object]
    deps: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)  # files: the step is stale when one is newer than its outputs
    outputs: list[str] = field(default_factory=list)


class Graph:
    def __init__(self) -> None:
        self.steps: dict[str, Step] = {}

    def add(
        self,
        name: str,
        run: Callable[[], object],
        deps: list[str] | None = None,
        inputs: list[str] | None = None,
        outputs: list[str] | None = None,
    ) -> Step:
        if name in self.steps:
            raise ValueError(f"step {name!r} is defined twice")
        step = Step(name, run, list(deps or []), list(inputs or []), list(outputs or []))
        self.steps[name] = step
        return step

    def order(self, target: str) -> list[str]:
        """The steps `target` needs, dependencies first, ties broken by name."""
        if target not in self.steps:
            raise UnknownStep(target)
        done: list[str] = []
        seen: set[str] = set()

        def visit(name: str, parent: str | None) -> None:
            if name in seen:
                return
            if name not in self.steps:
                raise UnknownStep(name, parent)
            for dep in sorted(self.steps[name].deps):
                visit(dep, name)
            seen.add(name)
            done.append(name)

        visit(target, None)
        return done

    def dependents(self, name: str) -> list[str]:
        """Steps that need `name`, directly or not."""
        found: set[str] = set()
        frontier = [name]
        while frontier:
            current = frontier.pop()
            for step in self.steps.values():
                if current in step.deps and step.name not in found:
                    found.add(step.name)
                    frontier.append(step.name)
        return sorted(found)
