import pytest

from taskgraph import CycleError, Graph, Runner


def build(spec):
    g = Graph()
    for name, deps in spec.items():
        g.add(name, lambda: None, deps=deps)
    return g


def test_three_step_cycle():
    g = build({"a": ["b"], "b": ["c"], "c": ["a"]})
    with pytest.raises(CycleError) as e:
        g.order("a")
    assert e.value.cycle == ["a", "b", "c", "a"]
    assert "dependency cycle: a -> b -> c -> a" in str(e.value)


def test_step_needing_itself():
    g = build({"lint": ["lint"]})
    with pytest.raises(CycleError) as e:
        g.order("lint")
    assert e.value.cycle == ["lint", "lint"]


def test_cycle_below_the_target():
    g = build({"site": ["assets", "render"], "assets": [], "render": ["templates"], "templates": ["render"]})
    with pytest.raises(CycleError) as e:
        g.order("site")
    assert e.value.cycle == ["render", "templates", "render"]


def test_runner_reports_the_cycle():
    calls = []
    g = Graph()
    g.add("fetch", lambda: calls.append("fetch"))
    g.add("render", lambda: calls.append("render"), deps=["fetch", "templates"])
    g.add("templates", lambda: calls.append("templates"), deps=["render"])
    with pytest.raises(CycleError) as e:
        Runner(g).run("render")
    assert e.value.cycle == ["render", "templates", "render"]
    assert calls == []


def test_shared_dependencies_are_not_a_cycle():
    g = build({"e": ["c", "d"], "c": ["a", "b"], "d": ["b", "a"], "b": ["a"], "a": []})
    assert g.order("e") == ["a", "b", "c", "d", "e"]
