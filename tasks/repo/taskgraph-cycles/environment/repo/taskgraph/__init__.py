from taskgraph.graph import CycleError, Graph, Step, UnknownStep
from taskgraph.runner import Runner, RunReport

__all__ = ["CycleError", "Graph", "RunReport", "Runner", "Step", "UnknownStep"]
