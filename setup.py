"""Puts the files Ripsaw reads beside its code (ripsaw/shipped.py) into the wheel, under ripsaw/_shipped/.

In a checkout they are read where they live; an installed wheel has no checkout, so `ripsaw run` (the
embedded quickstart) and `ripsaw sandbox build` (the image recipe) read these copies instead.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = (
    "evals/*.toml",
    "tasks/*.jsonl",
    "tasks/README.md",
    "sandboxes/python/Dockerfile",
    "sandboxes/build-offline.sh",
    "sandboxes/workspace/Dockerfile",
    "sandboxes/workspace/requirements.txt",
    "tasks/repo/**/*",
    "tasks/repo/**/.*",
)


class BuildPyWithShipped(build_py):
    def run(self) -> None:
        super().run()
        here = Path(__file__).resolve().parent
        for pattern in SHIPPED:
            for path in sorted(p for p in here.glob(pattern) if p.is_file() and "__pycache__" not in p.parts):
                target = Path(self.build_lib, "ripsaw", "_shipped", path.relative_to(here))
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)


setup(cmdclass={"build_py": BuildPyWithShipped})
