"""A llama.cpp build that runs on the CPU it is on, and the proof that it does.

    python -m ripsaw.providers.llamacpp.build ensure        # (re)build llama-cpp-python portable when needed
    python -m ripsaw.providers.llamacpp.build prove MODEL   # load a local model and generate a few tokens

pip compiles llama-cpp-python with `GGML_NATIVE=ON` by default: every instruction set the build machine
advertises, AMX and AVX-512 included. Under some hypervisors a CPU advertises AMX that a process may not use:
the server then dies with SIGSEGV in `ggml_backend_amx_mul_mat` on its first generation. The portable build
turns native detection off and enables only AVX, AVX2, FMA and F16C, each only when /proc/cpuinfo has it:
kernels every x86-64 machine with those flags runs. pip caches a wheel per version and ignores new CMAKE_ARGS
when it reuses it, so the build always runs with `--no-cache-dir`, and the result is read back from
`llama_print_system_info()` in a fresh process, never assumed.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import textwrap
from dataclasses import asdict, dataclass
from pathlib import Path

VERSION = "0.3.36"  # the llama-cpp-python release Ripsaw is tested with
# Instruction sets a portable build may use, and the flag /proc/cpuinfo shows for each.
_ISA = (("AVX", "avx"), ("AVX2", "avx2"), ("FMA", "fma"), ("F16C", "f16c"))
# What a native build turns on and a portable one never does.
NATIVE_ONLY = ("AVX512", "AMX", "AVX_VNNI")


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def cmake_args(flags: set[str] | None = None) -> str:
    flags = cpu_flags() if flags is None else flags
    on = [f"-DGGML_{isa}={'ON' if flag in flags else 'OFF'}" for isa, flag in _ISA]
    # No OpenMP-free or BLAS variants: the defaults are what the timing figures in the docs were measured with.
    return " ".join(["-DGGML_NATIVE=OFF", *on])


def rebuild_command() -> str:
    return (
        f'CMAKE_ARGS="{cmake_args()}" {sys.executable} -m pip install --no-cache-dir --force-reinstall '
        f'--no-deps "llama-cpp-python=={VERSION}"'
    )


@dataclass(frozen=True, slots=True)
class BuildInfo:
    installed: str | None  # llama-cpp-python version, None when it is missing or does not load
    system_info: str  # llama_print_system_info(), or why it could not be read
    portable: bool

    def native_only(self) -> list[str]:
        return [name for name in NATIVE_ONLY if _flag_on(self.system_info, name)]


def inspect_build() -> BuildInfo:
    """What the installed llama.cpp was built with, read in a fresh process (a crash here cannot take us down)."""
    code = textwrap.dedent("""
        import importlib.metadata, json, llama_cpp
        print(json.dumps({"v": importlib.metadata.version("llama-cpp-python"),
                          "info": llama_cpp.llama_print_system_info().decode(errors="replace").strip()}))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        why = done.stderr.strip().splitlines()[-1:] or [f"exit {_death(done.returncode)}"]
        return BuildInfo(None, why[0], False)
    data = json.loads(done.stdout.strip().splitlines()[-1])
    info = str(data["info"])
    portable = not any(_flag_on(info, name) for name in NATIVE_ONLY)
    return BuildInfo(str(data["v"]), info, portable)


def _flag_on(info: str, name: str) -> bool:
    # "AVX512 = 1 | AVX512_VBMI = 1 | AMX_INT8 = 1 |": any entry starting with `name` set to 1.
    for part in info.replace("CPU :", "|").split("|"):
        key, _, value = part.partition("=")
        if key.strip().startswith(name) and value.strip() == "1":
            return True
    return False


def _death(returncode: int) -> str:
    if returncode < 0:
        with_name = signal.Signals(-returncode).name if -returncode in signal.valid_signals() else "?"
        return f"killed by {with_name} (signal {-returncode})"
    return f"exited with code {returncode}"


def ensure() -> BuildInfo:
    """Install llama-cpp-python built portable unless the installed build already is; return what is installed."""
    if platform.machine() not in ("x86_64", "AMD64"):
        # Other architectures have no AMX/AVX-512 question; pip's default build is what they get.
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", f"llama-cpp-python[server]=={VERSION}"], check=True
        )
        return inspect_build()
    before = inspect_build()
    if before.installed != VERSION or not before.portable:
        reason = (
            "not installed"
            if before.installed is None
            else (f"{before.installed} built with {', '.join(before.native_only()) or 'another version'}")
        )
        print(f"[setup] building llama-cpp-python {VERSION} portable ({reason}): {cmake_args()}", file=sys.stderr)
        env = {**os.environ, "CMAKE_ARGS": cmake_args(), "FORCE_CMAKE": "1"}
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-cache-dir", "--force-reinstall", "--no-deps",
             f"llama-cpp-python=={VERSION}"],
            env=env, check=True,
        )  # fmt: skip
    # The server extra's own dependencies (the package itself is satisfied now and is not rebuilt).
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         f"llama-cpp-python[server]=={VERSION}"],
        check=True,
    )  # fmt: skip
    after = inspect_build()
    if after.installed is None or not after.portable:
        raise SystemExit(
            f"llama-cpp-python is still not a portable build ({after.system_info}); rebuild it with:\n  "
            + rebuild_command()
        )
    return after


@dataclass(frozen=True, slots=True)
class Proof:
    ok: bool
    model: str
    tokens: int = 0
    tokens_per_s: float | None = None
    seconds: float | None = None
    problem: str = ""  # what went wrong, with the fix

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


_PROVE = textwrap.dedent("""
    import json, sys, time
    from llama_cpp import Llama
    llm = Llama(model_path=sys.argv[1], n_ctx=512, n_threads=int(sys.argv[2]), verbose=False)
    t0 = time.perf_counter()
    out = llm.create_completion("def add(a, b):\\n    return", max_tokens=16, temperature=0)
    dt = time.perf_counter() - t0
    n = out["usage"]["completion_tokens"]
    print(json.dumps({"tokens": n, "seconds": dt}))
""")


def prove(model_path: Path, name: str, threads: int = 2, timeout_s: float = 300) -> Proof:
    """Load the model in a fresh process and generate 16 tokens: the exact path a run takes, minus HTTP."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROVE, str(model_path), str(threads)],
            capture_output=True, text=True, timeout=timeout_s,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return Proof(False, name, problem=f"no 16 tokens within {timeout_s:g} s; the machine may be overloaded")
    if done.returncode != 0:
        info = inspect_build()
        tail = "\n".join("    " + line for line in done.stderr.strip().splitlines()[-6:])
        return Proof(False, name, problem=crash_message(done.returncode, info, tail))
    data = json.loads(done.stdout.strip().splitlines()[-1])
    seconds = float(data["seconds"])
    tokens = int(data["tokens"])
    return Proof(True, name, tokens, round(tokens / seconds, 1) if seconds > 0 else None, round(seconds, 2))


def crash_message(returncode: int, info: BuildInfo, tail: str = "") -> str:
    """One message for a llama.cpp process that died generating: the signal, the library, the fix."""
    native = info.native_only()
    cause = (
        f"this llama.cpp build uses {', '.join(native)} kernels (libggml-cpu), which this CPU or its hypervisor "
        "does not run"
        if native
        else f"llama.cpp (libggml-cpu; {info.system_info or 'system info unavailable'}) crashed"
    )
    lines = [f"llama.cpp {_death(returncode)} while generating: {cause}."]
    if tail:
        lines.append(f"  last output:\n{tail}")
    lines.append(f"  fix: rebuild it portable: {rebuild_command()}")
    lines.append("       (bash scripts/setup.sh does this), then check with `ripsaw doctor`")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv[:1] == ["ensure"]:
        info = ensure()
        print(f"[setup] llama-cpp-python {info.installed}, portable: {info.system_info}", file=sys.stderr)
        return 0
    if argv[:1] == ["prove"] and len(argv) == 2:
        from ripsaw.providers.llamacpp import models

        model = models.get(argv[1])
        proof = prove(models.pull(model), model.name)
        if not proof.ok:
            print(f"[setup] {model.name}: the local server cannot generate:\n{proof.problem}", file=sys.stderr)
            return 1
        print(f"[setup] {model.name} generates: {proof.tokens} tokens at {proof.tokens_per_s} tok/s", file=sys.stderr)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
