"""`ripsaw doctor`: check every real component a run depends on, and say how to fix what is wrong."""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import click

from ripsaw.shipped import QUICKSTART, shipped_file

_MIN_FREE_GB = 3.0


@dataclass(slots=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    blocks_quickstart: bool = False  # failing it stops the README's first command


def _python() -> Check:
    v = sys.version_info
    ok = v >= (3, 11)
    return Check(
        "python", ok, f"{sys.executable} {v.major}.{v.minor}.{v.micro}", "" if ok else "use Python 3.11+", True
    )


def _llama_build() -> Check:
    from ripsaw.providers.llamacpp import build

    info = build.inspect_build()
    if info.installed is None:
        return Check("llama.cpp", False, f"llama-cpp-python does not load: {info.system_info}",
                     "bash scripts/setup.sh (or: " + build.rebuild_command() + ")", True)  # fmt: skip
    if not info.portable:
        return Check("llama.cpp", False, f"llama-cpp-python {info.installed} is a native build using "
                     f"{', '.join(info.native_only())}: it may crash on this CPU or hypervisor",
                     build.rebuild_command(), True)  # fmt: skip
    return Check("llama.cpp", True, f"llama-cpp-python {info.installed}, portable: {info.system_info}")


def _docker() -> list[Check]:
    from ripsaw.sandboxes import image

    st = image.status()
    if st.engine is None:
        return [Check("docker engine", False, f"unavailable: {st.engine_error}",
                      "apt-get install -y docker.io && bash sandboxes/engine-up.sh (as root)", True)]  # fmt: skip
    checks = [Check("docker engine", True, f"engine {st.engine}")]
    if st.image.present:
        digest = ", ".join(st.image.repo_digests) or "built locally, no registry digest"
        checks.append(Check("sandbox image", True, f"{st.image.tag} id {st.image.id} ({digest})"))
    else:
        checks.append(Check("sandbox image", False, f"{st.image.tag} is missing", "ripsaw sandbox build", True))
    return checks


def _namespaces() -> Check:
    from ripsaw.sandboxes.process import isolation

    mode, detail = isolation()
    ok = mode == "namespaces"
    fix = (
        "" if ok else "run as root, or enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)"
    )
    return Check("process sandbox", ok, f"{mode}: {detail}", fix)


def _quickstart_models() -> set[str]:
    from ripsaw.spec import load_spec

    try:
        spec = load_spec(shipped_file(QUICKSTART))
    except Exception:  # a broken quickstart is `ripsaw validate`'s to report
        return set()
    return {c.model for c in spec.combos if c.provider == "llamacpp" and "model_path" not in c.options}


def _models(generate: bool, llama_ok: bool) -> list[Check]:
    from ripsaw.providers.llamacpp import build, models

    needed = _quickstart_models()
    checks = []
    for model in models.MODELS.values():
        blocks = model.name in needed
        name = f"model {model.name}"
        path = models.verified(model)
        if path is None:
            checks.append(Check(name, False, "not pulled", f"ripsaw models pull {model.name}", blocks))
            continue
        if not generate or not llama_ok:
            why = "generation not tried" + ("" if generate else " (--no-generate)")
            checks.append(Check(name, True, f"{path}, sha256 {model.sha256[:16]}… verified; {why}"))
            continue
        proof = build.prove(path, model.name)
        if proof.ok:
            detail = f"{path}, sha256 verified; generates: {proof.tokens} tokens at {proof.tokens_per_s} tok/s"
            checks.append(Check(name, True, detail))
        else:
            checks.append(Check(name, False, proof.problem.splitlines()[0], build.rebuild_command(), blocks))
    return checks


def _chromium() -> Check:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    return Check("chromium", found is not None, found or "not found (only the report's browser tests need it)",
                 "" if found else "apt-get install -y chromium")  # fmt: skip


def _disk() -> Check:
    from ripsaw.providers.llamacpp import models

    where = models.cache_dir()
    probe = next((p for p in (where, *where.parents) if p.exists()), Path("/"))
    free = shutil.disk_usage(probe).free / 1e9
    ok = free >= _MIN_FREE_GB
    fix = "" if ok else f"free disk space under {probe} (models take up to 1.1 GB each)"
    return Check("disk", ok, f"{free:.1f} GB free at {probe}", fix, not ok)


@click.command("doctor")
@click.option("--no-generate", is_flag=True, help="Do not load the pulled models to prove they generate.")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
def command(no_generate: bool, as_json: bool) -> None:
    """Check Python, the llama.cpp build, Docker and the sandbox image, the process sandbox's namespaces, each
    local model (present, sha256, generates, tokens/s), Chromium and free disk; print each problem's fix.

    Exit status: 0 when the quickstart can run, 1 when something blocks it.
    """
    llama = _llama_build()
    checks = [_python(), llama, *_docker(), _namespaces(), *_models(not no_generate, llama.ok), _chromium(), _disk()]
    blocked = [c for c in checks if not c.ok and c.blocks_quickstart]
    if as_json:
        click.echo(json.dumps({"ok": not blocked, "checks": [asdict(c) for c in checks]}, indent=2))
    else:
        for c in checks:
            mark = "ok  " if c.ok else ("FAIL" if c.blocks_quickstart else "warn")
            click.echo(f"{mark}  {c.name:<36} {c.detail}")
            if c.fix:
                click.echo(f"      fix: {c.fix}")
        click.echo("the quickstart can run" if not blocked else f"{len(blocked)} problem(s) block the quickstart")
    if blocked:
        sys.exit(1)
