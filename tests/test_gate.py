from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ripsaw.analysis.runs import load_runs
from ripsaw.analysis.summary import summarize
from ripsaw.errors import ConfigError
from ripsaw.gate import GateConfig, evaluate, junit_xml, markdown_summary
from tests.support.cli import ripsaw
from tests.support.synth import Combo, outcomes, write_run

N = 20
TIMES = [(i + 1) / 10 for i in range(N)]  # p90 = 1.81 s


def _run(root: Path, run_id: str, passed: int, **kw) -> Path:  # type: ignore[no-untyped-def]
    return write_run(root, [Combo("model", outcomes(passed, N), TIMES, cost_usd=0.001)], tasks=N, run_id=run_id, **kw)


def _summary(path: Path):  # type: ignore[no-untyped-def]
    return summarize(load_runs([path]))


def test_thresholds(tmp_path: Path) -> None:
    s = _summary(_run(tmp_path, "r", 12, latency_slo_s=1.0))  # 60%, Wilson [38.7–78.1]
    result = evaluate(s, GateConfig(min_pass_rate=0.55, max_p90_latency=2.0, max_cost_per_task=0.001, min_goodput=0.5))
    assert [(c.name, c.status) for c in result.checks] == [
        ("min_pass_rate", "pass"),
        ("max_p90_latency", "pass"),
        ("max_cost_per_task", "pass"),
        ("min_goodput", "pass"),
    ]
    assert result.exit_code == 0
    # lower bound 38.7% < 55%; p90 1.81 s > 1.5 s; goodput: 10 passes within 1 s = 50% < 60%
    result = evaluate(s, GateConfig(min_pass_rate=0.55, use_lower_bound=True, max_p90_latency=1.5, min_goodput=0.6))
    assert [c.status for c in result.checks] == ["fail", "fail", "fail"]
    assert result.exit_code == 1
    assert result.checks[0].message == "pass@1 Wilson lower bound (n=20) 38.7% misses the threshold ≥ 55.0%"
    assert result.checks[1].measured == "1.81 s" and result.checks[2].measured == "50.0%"


def test_undefined_figures_are_errors_not_passes(tmp_path: Path) -> None:
    s = _summary(_run(tmp_path, "r", 12))  # no SLO in the run
    result = evaluate(s, GateConfig(min_goodput=0.1))
    assert result.checks[0].status == "error" and "needs a latency SLO" in result.checks[0].message
    assert result.exit_code == 2
    down = write_run(tmp_path, [Combo("down", ["infra_error"] * 3, [0.0] * 3)], tasks=3, run_id="down")
    result = evaluate(_summary(down), GateConfig(min_pass_rate=0.1))
    assert result.checks[0].status == "error" and "no scored attempts" in result.checks[0].message


def test_regression_needs_significance_and_margin(tmp_path: Path) -> None:
    base = _summary(_run(tmp_path, "base", 18))
    # 18 -> 8: 10 discordant pairs all lost, McNemar p = 2/1024; drop 50 pts
    regressed = _summary(_run(tmp_path, "regressed", 8))
    check = evaluate(regressed, GateConfig(margin=5), baseline=base).checks[0]
    assert check.status == "fail"
    assert check.message == (
        "pass@1 40.0% vs baseline 90.0% on 20 shared attempts (0 gained, 10 lost; McNemar "
        "p=0.00195): significant drop of 50.0 pts exceeds the margin of 5 pts"
    )
    assert evaluate(regressed, GateConfig(margin=60), baseline=base).checks[0].status == "pass"
    # 18 -> 16: 2 lost, p = 0.5: noise, not a regression
    noisy = evaluate(_summary(_run(tmp_path, "noisy", 16)), GateConfig(), baseline=base).checks[0]
    assert noisy.status == "pass" and noisy.message.endswith("no significant drop")


def _timed(root: Path, run_id: str, times: list[float]) -> Path:
    return write_run(root, [Combo("model", outcomes(12, N), times, cost_usd=0.001)], tasks=N, run_id=run_id)


def test_latency_regression_needs_significance_and_margin(tmp_path: Path) -> None:
    base = _summary(_timed(tmp_path, "base", TIMES))  # median 1.05 s
    slow = _summary(_timed(tmp_path, "slow", [t * 1.3 for t in TIMES]))  # every task 30% slower
    checks = evaluate(slow, GateConfig(latency_margin=10), baseline=base).checks
    assert [(c.name, c.status) for c in checks] == [("regression", "pass"), ("latency_regression", "fail")]
    assert checks[1].measured == "1.37 s vs 1.05 s (+30.0%)"
    assert checks[1].message.startswith("median task latency 1.37 s vs baseline 1.05 s on 20 shared attempts")
    assert checks[1].message.endswith("significant rise of 30.0% exceeds the margin of 10%")
    assert (
        evaluate(slow, GateConfig(latency_margin=40), baseline=base)
        .checks[1]
        .message.endswith("significant rise of 30.0% is within the margin of 40%")
    )
    # Half the tasks 20% slower, half 20% faster: the median moves, but the pairs do not agree on a direction.
    mixed = _summary(_timed(tmp_path, "mixed", [t * (1.2 if i % 2 else 0.8) for i, t in enumerate(TIMES)]))
    check = evaluate(mixed, GateConfig(latency_margin=0), baseline=base).checks[1]
    assert check.status == "pass" and check.message.endswith(("no significant rise", "no rise")), check.message
    faster = evaluate(base, GateConfig(latency_margin=0), baseline=slow).checks[1]
    assert faster.status == "pass" and faster.message.endswith("no rise")
    # Not asked for: pass rate only.
    assert [c.name for c in evaluate(slow, GateConfig(), baseline=base).checks] == ["regression"]
    r = ripsaw("gate", tmp_path / "slow", "--baseline", tmp_path / "base", "--latency-margin", "10")
    assert r.returncode == 1 and "latency_regression" in r.stdout, r.stdout + r.stderr


def test_regression_edge_cases(tmp_path: Path) -> None:
    base = _summary(_run(tmp_path, "base", 18))
    other = write_run(tmp_path, [Combo("renamed", outcomes(5, N), TIMES)], tasks=N, run_id="other")
    assert evaluate(_summary(other), GateConfig(), baseline=base).checks[0].status == "skipped"
    foreign = _summary(_run(tmp_path, "foreign", 18, suite_hash="another"))
    with pytest.raises(ConfigError, match="different task suite"):
        evaluate(foreign, GateConfig(), baseline=base)
    with pytest.raises(ConfigError, match="nothing to check"):
        evaluate(base, GateConfig())
    with pytest.raises(ConfigError, match="no combo named 'nope'"):
        evaluate(base, GateConfig(min_pass_rate=0.5), combos=["nope"])


def test_gate_table_validation() -> None:
    cfg = GateConfig.from_table({"min_pass_rate": 0.5, "use_lower_bound": True, "margin": 2}, "spec.toml")
    assert (cfg.min_pass_rate, cfg.use_lower_bound, cfg.margin) == (0.5, True, 2)
    assert cfg.override(min_pass_rate=0.7, use_lower_bound=False, margin=None).min_pass_rate == 0.7
    with pytest.raises(ConfigError, match=r"gate.min_pass: unknown key \(did you mean 'min_pass_rate'\?\)"):
        GateConfig.from_table({"min_pass": 0.5}, "spec.toml")
    with pytest.raises(ConfigError, match="expected a number"):
        GateConfig.from_table({"max_p90_latency": "10s"}, "spec.toml")
    with pytest.raises(ConfigError, match="a fraction between 0 and 1"):
        GateConfig.from_table({"min_pass_rate": 60}, "spec.toml")


def test_junit_and_markdown(tmp_path: Path) -> None:
    s = _summary(_run(tmp_path, "r", 12))
    result = evaluate(s, GateConfig(min_pass_rate=0.7, max_p90_latency=5.0, min_goodput=0.1))
    root = ET.fromstring(junit_xml(result))
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "1", "1")
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == ["min_pass_rate", "max_p90_latency", "min_goodput"]
    assert cases[0].find("failure") is not None and cases[1].find("failure") is None
    assert cases[2].find("error") is not None
    md = markdown_summary(result)
    assert md.startswith("### Ripsaw gate ERROR: 2 of 3 checks did not pass")
    assert "| ❌ fail | model | min_pass_rate | 60.0% | ≥ 70.0% |" in md
    assert "With 20 paired tasks this run can detect a pass-rate difference of about 44 points" in md


def test_cli_gate_on_a_regressed_run(tmp_path: Path) -> None:
    base = _run(tmp_path, "base", 18)
    regressed = _run(tmp_path, "regressed", 8)
    junit, summary = tmp_path / "gate.xml", tmp_path / "summary.md"
    r = ripsaw(
        "gate",
        regressed,
        "--baseline",
        base,
        "--margin",
        "5",
        "--min-pass-rate",
        "0.3",
        "--junit",
        junit,
        "--summary",
        summary,
    )
    assert r.returncode == 1, r.stderr
    assert r.stdout.startswith("Ripsaw gate FAILED: 1 of 2 checks did not pass (run regressed against baseline base)")
    text = summary.read_text()
    assert "### Ripsaw gate FAILED" in text and "significant drop of 50.0 pts exceeds the margin of 5 pts" in text
    assert ET.parse(junit).getroot().get("failures") == "1"

    r = ripsaw("gate", base, "--min-pass-rate", "0.8")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("Ripsaw gate PASSED: all 1 checks passed")


def test_cli_gate_reads_the_spec_table(tmp_path: Path) -> None:
    run = _run(tmp_path, "r", 12, gate={"min_pass_rate": 0.7})
    r = ripsaw("gate", run)
    assert r.returncode == 1 and "60.0% misses the threshold ≥ 70.0%" in r.stdout
    assert ripsaw("gate", run, "--min-pass-rate", "0.5").returncode == 0  # the flag wins


def test_cli_gate_usage_errors(tmp_path: Path) -> None:
    run = _run(tmp_path, "r", 12)
    cases = [
        (("gate", run), "nothing to check"),
        (("gate", run, "--min-pass-rate", "60"), "fraction between 0 and 1"),
        (("gate", tmp_path / "nope", "--min-pass-rate", "0.5"), "no such run directory"),
        (("gate", _run(tmp_path, "live", 12, status="running"), "--min-pass-rate", "0.5"), "run is running"),
    ]
    for args, message in cases:
        r = ripsaw(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert message in r.stderr and "Traceback" not in r.stderr


def _edit_manifest(run_dir: Path, edit) -> None:  # type: ignore[no-untyped-def]
    path = run_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("field", "edit"),
    [
        ("prompt", lambda m: m["combos"][0].update(prompt_mode="chat", prompt={"preset": "evalplus", "sha256": "x"})),
        ("timing_definitions", lambda m: m.setdefault("rules", {}).update(timing_definitions=1)),
        ("sandbox_image", lambda m: m["sandbox"].update(image_id="sha256:another-image")),
        ("budgets", lambda m: m["run"].update(budget_s=5.0)),
    ],
)
def test_a_baseline_made_differently_is_refused_naming_the_field(tmp_path: Path, field: str, edit) -> None:  # type: ignore[no-untyped-def]
    base, run = _run(tmp_path, "base", 18), _run(tmp_path, "run", 17)
    _edit_manifest(base, edit)
    with pytest.raises(ConfigError, match=rf"not the same experiment as the run:\n  combo model: {field}: baseline"):
        evaluate(_summary(run), GateConfig(), baseline=_summary(base))
    r = ripsaw("gate", run, "--baseline", base)
    assert r.returncode == 2 and f"combo model: {field}: baseline" in r.stderr and "--allow-mismatch" in r.stderr

    junit, summary = tmp_path / "gate.xml", tmp_path / "summary.md"
    r = ripsaw("gate", run, "--baseline", base, "--allow-mismatch", field, "--junit", junit, "--summary", summary)
    assert r.returncode == 0, r.stderr
    said = f"combo model: {field}: baseline"
    assert "Compared although the baseline differs (--allow-mismatch)" in r.stdout and said in r.stdout
    assert said in summary.read_text()
    props = ET.parse(junit).getroot().findall("./testsuite/properties/property")
    assert [p.get("name") for p in props] == ["allowed-mismatch"] and said in str(props[0].get("value"))


def test_allow_mismatch_names_a_real_field(tmp_path: Path) -> None:
    base, run = _run(tmp_path, "base", 18), _run(tmp_path, "run", 17)
    r = ripsaw("gate", run, "--baseline", base, "--allow-mismatch", "promt")
    assert r.returncode == 2 and "unknown field promt" in r.stderr
