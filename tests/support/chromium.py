"""Open a page in real headless Chromium: its DOM after scripts ran, its console messages, a screenshot."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import in_ci

_CONSOLE = re.compile(r":CONSOLE[:(]\d*\)?\]\s*(.*)")


def chromium_binary() -> str:
    """The browser, or skip the test; under CI a missing browser is a failure, never a skip."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if in_ci():
        pytest.fail("chromium is not installed, and CI must run the browser tests (.ci/run installs it)")
    pytest.skip("chromium is not installed")


@dataclass
class Page:
    dom: str
    console: list[str]  # every console message, uncaught errors included
    screenshot: Path


def open_page(page: Path, workdir: Path, *, width: int = 1280, height: int = 1400) -> Page:
    shot = workdir / f"{page.stem}.png"
    proc = subprocess.run(
        [
            chromium_binary(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            f"--user-data-dir={workdir / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            f"--window-size={width},{height}",
            f"--screenshot={shot}",
            "--dump-dom",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.is_file(), proc.stderr[-2000:]
    return Page(proc.stdout, [m.group(1) for m in _CONSOLE.finditer(proc.stderr)], shot)
