import os

from taskgraph import Graph, Runner


def test_runs_in_order_and_reports():
    calls = []
    g = Graph()
    g.add("a", lambda: calls.append("a"))
    g.add("b", lambda: calls.append("b"), deps=["a"])
    report = Runner(g).run("b")
    assert calls == ["a", "b"] and report.ok and report.ran == ["a", "b"]


def test_failure_stops_the_build():
    g = Graph()
    g.add("a", lambda: 1 / 0)
    g.add("b", lambda: None, deps=["a"])
    report = Runner(g).run("b")
    assert report.failed == "a" and report.error.startswith("ZeroDivisionError") and report.ran == []


def test_up_to_date_steps_are_skipped(tmp_path):
    src, out = tmp_path / "in.txt", tmp_path / "out.txt"
    src.write_text("x")
    out.write_text("y")
    os.utime(src, (1000, 1000))
    os.utime(out, (2000, 2000))
    g = Graph()
    g.add("copy", lambda: out.write_text(src.read_text()), inputs=[str(src)], outputs=[str(out)])
    assert Runner(g).run("copy").skipped == ["copy"]
    os.utime(src, (3000, 3000))
    assert Runner(g).run("copy").ran == ["copy"]
