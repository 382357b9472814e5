"""A third party adds a provider, a sandbox and a task source without editing Ripsaw: a real package (a wheel
declaring entry points in Ripsaw's groups) installed by pip; `ripsaw validate` in a fresh process then knows them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

PLUGIN = '''
"""A toy Ripsaw plugin: one provider, one sandbox, one task source, one scaffold adapter."""
from ripsaw.providers.openai_compat import from_combo as _openai
from ripsaw.sandboxes.process import ProcessSandbox
from ripsaw.tasks.base import TaskSource
from ripsaw.tasks.task import CheckTests, Task


def provider(combo):
    return _openai(combo)


class ToySandbox(ProcessSandbox):
    pass


def load(argument, spec, base):
    return [Task(id=f"toy/{i}", prompt=f"def f{i}():\\n", entry_point=f"f{i}", tests=CheckTests("assert True"))
            for i in range(int(argument))]


SOURCE = TaskSource(name="toy", loader="toy_plugin:load", argument="N", argument_is="a count", example="toy:3")


class ToyAgent:
    name = "toy-agent"
    api = "chat"

    def install(self, context, log):
        return "RUN mkdir -p /opt/scaffold"

    def fingerprint(self):
        return "toy"

    def command(self, inv):
        return "true"

    def submitted(self, output):
        return True
'''

ENTRY_POINTS = """
[ripsaw.providers]
toy-endpoint = toy_plugin:provider

[ripsaw.sandboxes]
toy-box = toy_plugin:ToySandbox

[ripsaw.task_sources]
toy = toy_plugin:SOURCE

[ripsaw.scaffolds]
toy-agent = toy_plugin:ToyAgent
"""


def _wheel(where: Path) -> Path:
    """The plugin as a wheel (what `pip wheel` would make of a pyproject declaring these entry points)."""
    wheel = where / "toy_plugin-1.0-py3-none-any.whl"
    info = "toy_plugin-1.0.dist-info"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("toy_plugin.py", textwrap.dedent(PLUGIN))
        z.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: toy-plugin\nVersion: 1.0\n")
        z.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(f"{info}/entry_points.txt", ENTRY_POINTS)
        z.writestr(f"{info}/RECORD", "")
    return wheel


SPEC = """
name = "plugged"
[[combos]]
name = "c"
provider = "toy-endpoint"
model = "m"
base_url = "http://127.0.0.1:9/v1"
[tasks]
source = "toy:3"
[run]
sandbox = "toy-box"
"""


def _validate(spec: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ripsaw", "validate", str(spec)], capture_output=True, text=True, env=env, timeout=120
    )


def test_a_pip_installed_package_registers_a_provider_sandbox_and_task_source(tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target", str(site),
         str(_wheel(tmp_path))],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert (site / "toy_plugin-1.0.dist-info" / "entry_points.txt").is_file()
    spec = tmp_path / "plugged.toml"
    spec.write_text(SPEC)

    without = _validate(spec, dict(os.environ))  # the control: Ripsaw alone does not know these names
    assert without.returncode == 2 and "toy-endpoint" in without.stderr

    done = _validate(spec, {**os.environ, "PYTHONPATH": str(site)})
    assert done.returncode == 0, done.stderr
    assert "toy-endpoint" in done.stdout and "-> 3 tasks" in done.stdout and "toy-box" in done.stdout
    # The scaffold adapter becomes a strategy, in a fresh process as well.
    names = "from ripsaw.solvers import strategy_names; print(strategy_names())"
    for env, known in ((dict(os.environ), False), ({**os.environ, "PYTHONPATH": str(site)}, True)):
        out = subprocess.run([sys.executable, "-c", names], capture_output=True, text=True, env=env, check=True)
        assert ("'scaffold:toy-agent'" in out.stdout) is known and "'scaffold:mini-swe-agent'" in out.stdout
