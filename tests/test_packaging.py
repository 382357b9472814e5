"""What a wheel install gets: the embedded quickstart and the sandbox recipe, usable without a checkout."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ripsaw.errors import PrerequisiteError
from ripsaw.shipped import QUICKSTART, shipped_file

REPO = Path(__file__).resolve().parents[1]
SHIPPED = [
    "evals/quickstart.toml",
    "tasks/starter.jsonl",
    "tasks/README.md",
    "sandboxes/python/Dockerfile",
    "sandboxes/build-offline.sh",
]


def test_a_checkout_reads_its_own_files() -> None:
    assert shipped_file(QUICKSTART) == REPO / QUICKSTART
    with pytest.raises(PrerequisiteError, match=r"evals/missing.toml is not where Ripsaw ships it .*reinstall"):
        shipped_file("evals/missing.toml")


def _run(*cmd: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(map(str, cmd)), cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, f"{cmd}: {proc.stdout}\n{proc.stderr}"
    return proc


@pytest.mark.slow
def test_a_wheel_carries_the_quickstart_and_the_recipe_to_any_directory(tmp_path: Path) -> None:
    # The build environment comes from the package index (or pip's cache), as for any install.
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp_path / "dist", REPO, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("ripsaw-*.whl")
    with zipfile.ZipFile(wheel) as z:
        for rel in SHIPPED:
            assert z.read(f"ripsaw/_shipped/{rel}") == (REPO / rel).read_bytes(), rel
        assert "ripsaw/sandboxes/forkserver.py" in z.namelist()

    # A venv that sees this interpreter's dependencies, with the wheel (not the checkout) installed in it.
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--system-site-packages", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    _run(python, "-m", "pip", "install", "-q", "--no-deps", wheel, cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _run(python, "-c", "import ripsaw; print(ripsaw.__file__)", cwd=elsewhere).stdout.strip()
    assert where.startswith(str(venv))

    checkout = json.loads(_run(sys.executable, "-m", "ripsaw", "validate", "--json", cwd=REPO).stdout)
    installed = json.loads(_run(venv / "bin" / "ripsaw", "validate", "--json", cwd=elsewhere).stdout)
    assert installed["spec"] == str(Path(where).parent / "_shipped" / QUICKSTART)
    # The same spec and the same 15 tasks: a run from the wheel resumes into the same run id as one from the checkout.
    assert installed["sha256"] == checkout["sha256"]
    assert installed["tasks"]["count"] == 15 and installed["tasks"]["suite_hash"] == checkout["tasks"]["suite_hash"]
    tag = "from ripsaw.sandboxes.image import image_tag; print(image_tag())"
    assert _run(python, "-c", tag, cwd=elsewhere).stdout == _run(sys.executable, "-c", tag, cwd=REPO).stdout
