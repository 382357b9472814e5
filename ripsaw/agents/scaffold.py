"""Solver `scaffold:NAME`: someone else's coding agent on a repository task, its model calls timed by the proxy.

Per attempt, before the clock starts (trusted preparation, as for the agent): the task's image and the scaffold's
image derived from it (`ScaffoldImages`: the adapter's /opt/scaffold, built once per scaffold FROM the workspace
image, copied into each task's image). Then, within the budget:

1. the timing proxy starts on its own Unix socket (ripsaw.agents.proxy) with the attempt's deadline;
2. the attempt's container starts with the proxy's directory mounted read-only (its network stays "none": the
   socket is the only way out), its workspace's base commit is recorded, and the instruction and the loopback
   forwarder are copied in (root-owned, readable);
3. the forwarder starts, then the scaffold's command (its adapter's), as the agent's user, in the task's working
   directory, cut at the deadline (its whole process group killed);
4. while it runs, each model request the proxy accepts triggers a snapshot of the workspace (the scaffold is then
   waiting on the model, so its last command is done): the snapshots anytime scoring reads. After the run, a last
   snapshot, outside the budget.

Then, like the agent: the snapshots scored by the repository verdict in fresh containers of the task's own image
(never the scaffold's), at every budget mark. The record: every proxied call in Attempt.calls (timed, counted and
priced like a direct call), every proxied request in AgentRun.requests, one AgentTurn per model call
(action "model_call"), the scaffold's own output (capped) in AgentRun.scaffold_log.

Time split: model = the proxied calls' time (arrival to last byte); warm (overhead) = starting the container,
recording its base, copying files in; tool = the rest of the wall time: the scaffold's commands and its own code,
which Ripsaw cannot tell apart from outside.

Stop reasons: "submitted" (the adapter read that the scaffold said it was done), "budget" (the deadline cut it),
"exited" (it ended on its own otherwise). A model endpoint that failed for good under the scaffold (the proxy
answered 502) makes the attempt an infra error, as would an engine failure: neither is the model's doing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import tempfile
import weakref
from collections.abc import Callable
from pathlib import Path

from ripsaw.agents.proxy import APIS, DUMMY_KEY, FORWARD_PORT, FORWARDER, SOCKET_DIR, SOCKET_NAME, TimingProxy, relaying
from ripsaw.agents.scaffolds import SCAFFOLD_HOME, SCAFFOLDS, Invocation, Scaffold
from ripsaw.agents.scoring import score_attempt
from ripsaw.errors import ConfigError, InfraError, SandboxInfraError
from ripsaw.records import AgentRun, AgentTurn, Attempt, Snapshot
from ripsaw.sandboxes import image
from ripsaw.sandboxes.workspace import TASK_REPO_PREFIX, Box, Workspaces
from ripsaw.solvers.base import AttemptContext, AttemptUnit, Solver, cap_prompt, new_attempt, price
from ripsaw.tasks.task import RepoTests
from ripsaw.verdict.repo import RepoJudge

FILES_DIR = "/opt/ripsaw"  # the instruction and the forwarder, in the container
LOG_DIR = "/tmp/ripsaw-scaffold"  # the scaffold's own logs (the box's /tmp is a size-limited tmpfs)
_FORWARDER_WAIT_S = 10
# After the scaffold: how long a call the deadline cut may take to be counted and recorded (outside the budget).
_SETTLE_S = 30.0


class ScaffoldImages:
    """Builds (once per run and tag) each scaffold's image and its derivation for each task."""

    def __init__(self, spaces: Workspaces) -> None:
        self.spaces = spaces
        self._built: dict[str, str] = {}
        self._lock = asyncio.Lock()

    async def ensure(self, task_id: str, tests: RepoTests, scaffold: Scaffold) -> str:
        """The id of the task's image with the scaffold in it, built now if missing."""
        task_image = await self.spaces.images.ensure(task_id, tests)
        async with self._lock:
            return await asyncio.to_thread(self._ensure, task_id, task_image, scaffold)

    def _ensure(self, task_id: str, task_image: str, scaffold: Scaffold) -> str:
        base = self.spaces.images.base()
        digest = hashlib.sha256(f"{scaffold.fingerprint()}\0{base.id}".encode()).hexdigest()[:12]
        own = self._build(f"ripsaw-scaffold-{scaffold.name}:{digest}", scaffold.name, lambda ctx: (
            f"ARG BASE\nFROM ${{BASE}}\nUSER 0:0\n{scaffold.install(ctx, self.spaces.images.log)}"
        ), {"BASE": image.image_tag(image.WORKSPACE)})  # fmt: skip
        digest = hashlib.sha256(f"{task_image}\0{own}".encode()).hexdigest()[:12]
        return self._build(
            f"{TASK_REPO_PREFIX}{task_id.lower()}-{scaffold.name}:{digest}",
            f"{scaffold.name} for task {task_id}",
            lambda ctx: (
                "ARG SCAFFOLD\nARG TASK\nFROM ${SCAFFOLD} AS scaffold\nFROM ${TASK}\n"
                f"COPY --from=scaffold {SCAFFOLD_HOME} {SCAFFOLD_HOME}\n"
            ),
            {"SCAFFOLD": own, "TASK": task_image},
        )

    def _build(self, tag: str, what: str, dockerfile: Callable[[Path], str], args: dict[str, str]) -> str:
        if tag in self._built:
            return self._built[tag]
        st = image.image_status(self.spaces.client, tag)
        if not st.present:
            self.spaces.images.log(f"building the image of {what} ({tag})")
            with tempfile.TemporaryDirectory(prefix="ripsaw-scaffold-") as tmp:
                context = Path(tmp)
                (context / "Dockerfile").write_text(dockerfile(context))
                image.build_from(self.spaces.client, context, tag, args, self.spaces.images.log)
            st = image.image_status(self.spaces.client, tag)
        if st.id is None:
            raise SandboxInfraError(f"the image {tag} vanished after its build")
        self._built[tag] = st.id
        return st.id


_IMAGES: weakref.WeakKeyDictionary[Workspaces, ScaffoldImages] = weakref.WeakKeyDictionary()


def scaffold_images(spaces: Workspaces) -> ScaffoldImages:
    if spaces not in _IMAGES:
        _IMAGES[spaces] = ScaffoldImages(spaces)
    return _IMAGES[spaces]


def scaffold_solver(name: str) -> Solver:
    SCAFFOLDS.get(name)  # an unknown name fails here, with the registry's message

    async def solve(ctx: AttemptContext, unit: AttemptUnit) -> Attempt:
        return await solve_scaffold(ctx, unit, name)

    return solve


def with_forwarder(command: str) -> str:
    """The scaffold's command after the loopback forwarder has started (and killed when the command ends)."""
    return (
        f"mkdir -p {LOG_DIR} && "
        f"python3 {FILES_DIR}/forwarder.py {SOCKET_DIR}/{SOCKET_NAME} {FORWARD_PORT} >{LOG_DIR}/forwarder.log 2>&1 & "
        "fwd=$!; trap 'kill $fwd 2>/dev/null' EXIT; "
        f"for _ in $(seq {_FORWARDER_WAIT_S * 20}); do grep -q ready {LOG_DIR}/forwarder.log 2>/dev/null && break; "
        "sleep 0.05; done; "
        f"grep -q ready {LOG_DIR}/forwarder.log || {{ echo 'ripsaw: the forwarder did not start'; exit 97; }}; "
        f"( {command} )"
    )


async def solve_scaffold(ctx: AttemptContext, unit: AttemptUnit, name: str) -> Attempt:
    combo, task, run = ctx.combo, ctx.task, ctx.run
    judge, tests = ctx.judge, task.tests
    strategy = f"scaffold:{name}"
    if not isinstance(judge, RepoJudge) or not isinstance(tests, RepoTests):
        raise ConfigError(f"task {task.id}: strategy {strategy!r} needs a repository task (tasks.source = 'repo:PATH')")
    scaffold = SCAFFOLDS.get(name)()
    provider = relaying(ctx.provider, combo.name)
    if APIS[provider.path] != scaffold.api:
        raise ConfigError(
            f"combo {combo.name!r}: scaffold {name!r} speaks the {scaffold.api!r} API, but provider "
            f"{combo.provider!r} serves {APIS[provider.path]!r}: the proxy forwards, it does not translate"
        )
    attempt = new_attempt(ctx.run_id, combo, unit, strategy=strategy)
    attempt.prompt = cap_prompt(task.prompt)
    agent = attempt.agent = AgentRun(tool_mode="scaffold", scaffold=name)
    await judge.prepare()
    image_id = await scaffold_images(judge.workspaces).ensure(task.id, tests, scaffold)

    clock = ctx.clock
    t0 = clock()
    deadline = t0 + int(run.budget_s * 1e9)
    proxy = TimingProxy(provider, combo.model, deadline, clock, t0_ns=t0)
    diffs: dict[int, str] = {}
    box: Box | None = None
    snapshots = _Snapshots(agent, diffs, proxy, t0)
    try:
        await proxy.start()
        assert proxy.directory is not None
        box = await judge.workspaces.box(
            task.id, tests, unit.key, image_id=image_id, mounts={str(proxy.directory): SOCKET_DIR}
        )
        base = await box.init_base()
        files = {"instruction.md": task.prompt.encode(), "forwarder.py": FORWARDER.read_bytes()}
        await box.put(FILES_DIR, files, mode=0o644)
        agent.warm_s, agent.warm_hidden_s = (clock() - t0) / 1e9, 0.0
        snapshots.start(box, base)
        proxy.on_request = snapshots.request
        remaining = (deadline - clock()) / 1e9
        if remaining <= 0:
            attempt.stop_reason = "budget"
        else:
            inv = Invocation(
                model=combo.model,
                base_url=f"http://127.0.0.1:{FORWARD_PORT}/v1",
                socket=f"{SOCKET_DIR}/{SOCKET_NAME}",
                api_key=DUMMY_KEY,
                instruction=f"{FILES_DIR}/instruction.md",
                workdir=tests.workdir,
                log_dir=LOG_DIR,
                budget_s=remaining,
                command_timeout_s=run.command_timeout_s,
                max_turns=run.max_turns,
            )
            result = await box.exec(with_forwarder(scaffold.command(inv)), timeout_s=remaining)
            agent.scaffold_log = result.output
            agent.submitted = not result.timed_out and scaffold.submitted(result.output)
            attempt.stop_reason = "budget" if result.timed_out else "submitted" if agent.submitted else "exited"
            if result.exit_code == 97:
                raise SandboxInfraError("the forwarder to the timing proxy did not start in the container")
        t_end = clock()
        proxy.on_request = None
        await proxy.settle(_SETTLE_S)
        await snapshots.drain()
        await snapshots.take((t_end - t0) / 1e9, max(0, len(proxy.calls) - 1))  # as the scaffold left it
    except InfraError as e:
        t_end = clock()
        attempt.detail, attempt.stop_reason = f"workspace: {e}", "error"
    finally:
        await snapshots.cancel()
        await proxy.aclose()
        if box is not None:
            await box.close()
    # The endpoint failed for good under the scaffold (a 502, or a stream broken after it began), or no model call
    # ever succeeded while the scaffold was answered errors (a key the endpoint refuses, an adapter asking for the
    # wrong model): the attempt says nothing about the model.
    failed = [r for r in proxy.requests if r.status == 502 or (r.call is None and r.status == 200)]
    if not proxy.calls:
        failed += [r for r in proxy.requests if r.status >= 400]
    if failed and attempt.stop_reason != "error":
        attempt.detail, attempt.stop_reason = f"endpoint: {failed[0].detail}", "error"
    _record(attempt, agent, proxy, t0, t_end)
    price(combo, attempt)
    if attempt.stop_reason == "error":
        return attempt  # an infra error: nothing to score, the attempt is run again on resume
    return await score_attempt(judge, run, unit.key, attempt, agent, diffs, "")


def _record(attempt: Attempt, agent: AgentRun, proxy: TimingProxy, t0: int, t_end: int) -> None:
    attempt.calls = proxy.calls
    agent.requests = proxy.requests
    for request in proxy.requests:
        if request.call is not None:
            call = proxy.calls[request.call]
            ttft = call.timing.first_any_ns
            agent.turns.append(
                AgentTurn(
                    index=len(agent.turns),
                    started_at_s=request.at_s,
                    action="model_call",
                    call=request.call,
                    model_time_s=request.duration_s,
                    cut=call.cut,
                    # The transcript's line for the call: the request as the scaffold sent it, the answer's figures.
                    command=f"{request.path} ({request.items} items, {'streamed' if request.stream else 'whole'})",
                    observation=(
                        f"{call.usage.prompt_tokens} tokens in, {call.usage.completion_tokens} out"
                        + (f", TTFT {ttft / 1e6:.1f} ms" if ttft is not None else "")
                        + f", finish {call.finish_reason}\n{call.text}"
                    ),
                )
            )
    agent.wall_s = (t_end - t0) / 1e9
    agent.model_time_s = min(agent.wall_s, sum(r.duration_s for r in proxy.requests if r.call is not None))
    agent.overhead_s = min(agent.wall_s - agent.model_time_s, agent.warm_s or 0.0)
    agent.tool_time_s = max(0.0, agent.wall_s - agent.model_time_s - agent.overhead_s)
    attempt.model_time_s, attempt.sandbox_time_s = agent.model_time_s, agent.tool_time_s
    attempt.task_time_s = agent.wall_s


class _Snapshots:
    """The workspace's change, snapshotted in the background whenever the scaffold asks the model (one at a time),
    and once after the run."""

    def __init__(self, agent: AgentRun, diffs: dict[int, str], proxy: TimingProxy, t0: int) -> None:
        self.agent, self.diffs, self.proxy, self.t0 = agent, diffs, proxy, t0
        self.box: Box | None = None
        self.base = ""
        self.last_sha = ""
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, box: Box, base: str) -> None:
        self.box, self.base = box, base

    def request(self) -> None:
        """A model request arrived: the workspace as the scaffold's turns so far left it."""
        at_s = (self.proxy.clock() - self.t0) / 1e9
        task = asyncio.create_task(self.take(at_s, max(0, len(self.proxy.calls) - 1)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def take(self, at_s: float, turn: int) -> None:
        if self.box is None:
            return
        async with self._lock:
            diff, left_out = await self.box.diff(self.base)
            sha = hashlib.sha256(diff.encode()).hexdigest()
            if sha == self.last_sha or not (diff or self.agent.snapshots):
                return
            snap = Snapshot(len(self.agent.snapshots), turn, at_s, sha, len(diff.encode()), left_out)
            self.agent.snapshots.append(snap)
            self.diffs[snap.index] = diff
            self.last_sha = sha

    async def drain(self) -> None:
        """Wait for the snapshots under way; an engine failure in one is the attempt's infra error."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    async def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, InfraError):
                await task
