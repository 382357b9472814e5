import pytest

from taskgraph import Graph, UnknownStep


def noop():
    return None


def build(spec):
    g = Graph()
    for name, deps in spec.items():
        g.add(name, noop, deps=deps)
    return g


def test_order_dependencies_first():
    g = build({"render": ["fetch", "templates"], "fetch": [], "templates": []})
    assert g.order("render") == ["fetch", "templates", "render"]


def test_diamond_visits_once():
    g = build({"d": ["b", "c"], "b": ["a"], "c": ["a"], "a": []})
    assert g.order("d") == ["a", "b", "c", "d"]


def test_only_what_the_target_needs():
    g = build({"a": [], "b": ["a"], "unrelated": []})
    assert g.order("b") == ["a", "b"]


def test_unknown_dependency():
    g = build({"a": ["ghost"]})
    with pytest.raises(UnknownStep, match="'ghost' \\(needed by 'a'\\)"):
        g.order("a")


def test_dependents():
    g = build({"d": ["b", "c"], "b": ["a"], "c": ["a"], "a": []})
    assert g.dependents("a") == ["b", "c", "d"]


def test_duplicate_step():
    g = build({"a": []})
    with pytest.raises(ValueError):
        g.add("a", noop)
