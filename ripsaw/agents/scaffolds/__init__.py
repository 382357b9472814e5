"""Scaffold adapters: someone else's coding agent, run unchanged in an attempt's container behind the timing proxy.

`[run] strategy = "scaffold:NAME"` runs the scaffold NAME on each repository task (ripsaw.agents.scaffold). An
adapter is small and says four things (the `Scaffold` protocol):

- `api`: the API the scaffold speaks ("chat" = OpenAI chat completions, "responses" = OpenAI Responses, "messages"
  = Anthropic Messages). The combo's provider must serve the same one (`openai`, `openai-responses`, `anthropic`):
  the proxy forwards, it does not translate.
- `install(context, log)`: how it gets into the image. It fills a Docker build context and returns the Dockerfile
  steps (after a `FROM` of Ripsaw's workspace image) that put everything the scaffold runs on under `/opt/scaffold`
  and nothing anywhere else; the task's image then gets `/opt/scaffold` copied in (a derived image per task, so
  the task's own Python never sees the scaffold's packages, and the verdict, which runs the task's image, never
  has them at all). Nothing in a build reaches a package index: files come from the host (`pip_install` downloads
  a hashed requirements file's wheels with the host's pip; `npm_install` pinned npm tarballs with the host's npm).
- `command(inv)`: the bash command that runs it on the task's instruction (`inv.instruction`, a file), as the
  agent's user in the task's working directory, with the proxy's address, the dummy key and the model name of
  the `Invocation`; it writes its own logs under `inv.log_dir`. Ripsaw has started the loopback forwarder already.
- `submitted(output)`: whether the scaffold said it was done (rather than stopping at a limit or failing), from
  what the command printed (its exit code is not enough: most scaffolds exit 0 either way).

Adapters register by name; a package adds one with an entry point in the group `ripsaw.scaffolds` whose target is
a callable returning the adapter (e.g. its class). See docs/scaffolds.md (Codex CLI and Claude Code are bundled).
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ripsaw.errors import PrerequisiteError
from ripsaw.registry import Registry

SCAFFOLD_HOME = "/opt/scaffold"


@dataclass(frozen=True, slots=True)
class Invocation:
    """What a scaffold's command is told (see the module doc)."""

    model: str  # the combo's model name: the only one the proxy accepts
    base_url: str  # the proxy, through the loopback forwarder: http://127.0.0.1:PORT/v1
    socket: str  # the proxy's Unix socket, for scaffolds that can speak to one directly
    api_key: str  # a dummy: the proxy puts the combo's real key on the way out
    instruction: str  # a file holding the task's instruction
    workdir: str
    log_dir: str  # a writable directory for the scaffold's own logs and trajectory
    budget_s: float
    command_timeout_s: float  # the run's limit on one command, for scaffolds that take one
    max_turns: int


class Scaffold(Protocol):
    name: str
    api: str

    def install(self, context: Path, log: Callable[[str], None]) -> str:
        """Fill the build `context`; return the Dockerfile steps that build /opt/scaffold (see the module doc)."""
        ...

    def fingerprint(self) -> str:
        """A digest of everything `install` puts in the image: a new one rebuilds it."""
        ...

    def command(self, inv: Invocation) -> str: ...

    def submitted(self, output: str) -> bool: ...


SCAFFOLDS: Registry[Callable[[], Scaffold]] = Registry(
    "scaffold",
    "ripsaw.scaffolds",
    {
        "mini-swe-agent": "ripsaw.agents.scaffolds.mini_swe_agent:MiniSweAgent",
        "aider": "ripsaw.agents.scaffolds.aider:Aider",
        "codex": "ripsaw.agents.scaffolds.codex:Codex",
        "claude-code": "ripsaw.agents.scaffolds.claude_code:ClaudeCode",
    },
)


def strategy_names() -> list[str]:
    """The strategies the scaffolds add: "scaffold:NAME" for each registered one."""
    return [f"scaffold:{name}" for name in SCAFFOLDS.names()]


# -- installing from wheels the host downloads -----------------------------------------------------------------


def pip_install(requirements: Path, context: Path, log: Callable[[str], None]) -> str:
    """Dockerfile steps that install a hashed requirements file into a virtual environment at /opt/scaffold, from
    wheels the host's pip downloads into the build context now (`--no-deps`: the file pins every package)."""
    from ripsaw.sandboxes import image

    image.download_wheels(requirements, context / "wheels", log)
    return (
        "COPY wheels/ /tmp/ripsaw-wheels/\n"
        f"RUN python3 -m venv --without-pip {SCAFFOLD_HOME} \\\n"
        f" && python3 -m pip --python {SCAFFOLD_HOME}/bin/python install --no-index --find-links /tmp/ripsaw-wheels"
        " --require-hashes --no-deps --no-cache-dir --break-system-packages --root-user-action=ignore"
        " --disable-pip-version-check --no-compile -r /tmp/ripsaw-wheels/requirements.txt \\\n"
        " && rm -rf /tmp/ripsaw-wheels\n"
    )


def file_digest(*paths: Path) -> str:
    h = hashlib.sha256(sys.version_info[:2].__repr__().encode())
    for path in paths:
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


# -- installing from npm tarballs the host downloads ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NpmPackage:
    """One npm package, pinned: `npm pack NAME@VERSION` must give a tarball with this sha512 (the registry's
    `dist.integrity`, a Subresource Integrity string)."""

    name: str
    version: str
    integrity: str

    @property
    def root(self) -> str:
        """Where its files are in the image (`package/` is the tarball's own top directory)."""
        return f"{SCAFFOLD_HOME}/npm/{self.name}/package"


def npm_install(packages: tuple[NpmPackage, ...], context: Path, log: Callable[[str], None]) -> str:
    """Dockerfile steps that unpack pinned npm packages at each one's `root`, from tarballs the host's npm
    downloads into the build context now (`npm pack`, with the host's registry settings), each checked against
    its pinned sha512. Nothing is installed with npm in the image and no install script runs: the packages
    bundled here ship native executables, run as they are. `ADD` unpacks a local tarball itself, so a package
    is one layer (a copied tarball unpacked by `RUN` would be in the image twice)."""
    npm = shutil.which("npm")
    if npm is None:
        raise PrerequisiteError(
            f"downloading {', '.join(p.name for p in packages)} needs npm on the host (its registry settings "
            "are used, as pip's are for wheels): install npm (Debian: apt-get install npm)"
        )
    dest = context / "npm"
    dest.mkdir()
    steps = []
    for package in packages:
        spec = f"{package.name}@{package.version}"
        log(f"downloading {spec} with the host's npm")
        proc = subprocess.run(
            [npm, "pack", spec, "--json", "--ignore-scripts", "--pack-destination", str(dest)],
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            if proc.returncode != 0:
                raise ValueError(proc.returncode)
            [packed] = json.loads(proc.stdout)
            tarball = dest / packed["filename"]
        except (ValueError, TypeError, KeyError):
            detail = (proc.stderr.strip() or proc.stdout.strip())[-600:]
            raise PrerequisiteError(
                f"npm pack {spec} failed (exit {proc.returncode}): {detail or 'no output'}: the host's npm needs "
                "its registry (npm config get registry)"
            ) from None
        got = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if got != package.integrity:
            raise PrerequisiteError(
                f"npm pack {spec}: the tarball's sha512 is {got}, not the pinned {package.integrity}"
            )
        steps.append(f"ADD npm/{tarball.name} {package.root.removesuffix('/package')}/\n")
    return "".join(steps)


def npm_digest(packages: tuple[NpmPackage, ...]) -> str:
    h = hashlib.sha256()
    for package in packages:
        h.update(f"{package.name}@{package.version} {package.integrity}\n".encode())
    return h.hexdigest()[:16]
