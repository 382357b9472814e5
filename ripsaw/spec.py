"""Eval specs: which combos, which tasks, how to run. Loaded from TOML and validated up front.

    name = "my-team"            # optional; defaults to the file stem
    [[combos]]                  # one table per model configuration to compare
    name = "fast"
    provider = "openai"         # any OpenAI-compatible endpoint; "llamacpp" = a managed local server
    model = "qwen2.5-coder-7b"
    base_url = "http://gpu-box:8000/v1"
    api_key_env = "MY_KEY"      # the NAME of the variable holding the key
    [combos.params]             # temperature, max_tokens, stop, seed, top_p, extra_body
    [combos.options]            # provider-specific, free-form (llamacpp: threads, n_ctx, model_path, ...)
    [tasks]
    source = "humaneval"        # or "jsonl:PATH", "hf:DATASET", a preset name ("mbpp", ...)
    [run]                       # samples, budget_s, sandbox, strategy, concurrency, ...

`load_spec` checks everything before anything runs: every problem raises SpecError(file, key, problem) where
key is a dotted path such as `combos[1].params.temperature` (array indices count from 0, in file order).
The allowed keys, their types and ranges are declared once per section in the schema tables below; the few
rules that relate keys to each other or to the outside world (env vars, files) follow them.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import math
import os
import re
import tomllib
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, get_args

from ripsaw.errors import ConfigError, InvalidKey, SpecError
from ripsaw.execution.executor import EXECUTORS
from ripsaw.providers import PROVIDERS
from ripsaw.sandboxes import sandbox_choices
from ripsaw.solvers import SOLVERS
from ripsaw.solvers.prompts import PROMPTS
from ripsaw.tasks import preset_names, source_of
from ripsaw.types import AGENT_MAX_TURNS, ComboSpec, EvalSpec, PromptMode, RequestParams, RunSpec, TasksSpec


def load_spec(path: str | Path) -> EvalSpec:
    """Read, validate and type an eval spec; raises SpecError naming the file, the key and the problem."""
    path = Path(path)
    file = str(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise SpecError(file, "", f"cannot read the spec: {e.strerror or e}") from None
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise SpecError(file, "", f"not UTF-8 text (byte {e.start})") from None
    except tomllib.TOMLDecodeError as e:
        raise SpecError(file, "", f"invalid TOML: {e}") from None
    try:
        values = _check_table(raw, _TOP, "")
        _check_combos(values["combos"])
        values["tasks"] = _check_tasks(values["tasks"], path.parent.resolve())
        run = _run(values.get("run", {}), values["combos"])
    except InvalidKey as e:
        raise SpecError(file, e.key, e.problem) from None
    return EvalSpec(
        path=path,
        name=values.get("name", path.stem),
        combos=tuple(_combo(c) for c in values["combos"]),
        tasks=TasksSpec(**values["tasks"]),
        run=run,
        raw=raw,
        sha256=hashlib.sha256(data).hexdigest(),
    )


# --- the schema: one table per section --------------------------------------------------------------------------

Check = Callable[[Any], str | None]  # returns the problem, or None when the value is fine


def _same(v: Any) -> Any:
    return v


@dataclass(frozen=True, slots=True)
class _Kind:
    name: str  # for messages: "expected <name>"
    accepts: Callable[[Any], bool]
    convert: Callable[[Any], Any] = _same
    # An array (list) or table (dict) of one kind: a wrong type inside one is blamed on its first bad entry.
    items: tuple[type[list[Any]] | type[dict[str, Any]], _Kind] | None = None


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)  # TOML true is not 1


def _all(kind: _Kind, v: Any) -> bool:
    return all(kind.accepts(x) for x in (v.values() if isinstance(v, dict) else v))


STR = _Kind("a string", lambda v: isinstance(v, str))
INT = _Kind("an integer", _is_int)
# Integers are fine where a float is meant (`budget_s = 30`); NaN and infinities are never a sensible setting.
NUMBER = _Kind("a finite number", lambda v: (_is_int(v) or isinstance(v, float)) and math.isfinite(v), float)
TABLE = _Kind("a table", lambda v: isinstance(v, dict), dict)
STRS = _Kind("an array of strings", lambda v: isinstance(v, list) and _all(STR, v), tuple, items=(list, STR))
STR_OR_STRS = _Kind(
    "a string or an array of strings",
    lambda v: isinstance(v, str) or STRS.accepts(v),
    lambda v: (v,) if isinstance(v, str) else tuple(v),
    items=(list, STR),
)
NUMBERS = _Kind(
    "an array of numbers",
    lambda v: isinstance(v, list) and _all(NUMBER, v),
    lambda v: tuple(float(x) for x in v),
    items=(list, NUMBER),
)
STR_TABLE = _Kind("a table of strings", lambda v: isinstance(v, dict) and _all(STR, v), dict, items=(dict, STR))
TABLES = _Kind("an array of tables ([[...]])", lambda v: isinstance(v, list) and _all(TABLE, v), items=(list, TABLE))


@dataclass(frozen=True, slots=True)
class _Key:
    kind: _Kind
    checks: tuple[Check, ...] = ()
    required: bool = False
    schema: dict[str, _Key] | None = None  # for TABLE / TABLES: the keys each table may hold


def _fmt(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def at_least(lo: float) -> Check:
    return lambda v: None if v >= lo else f"must be >= {lo:g}, got {v:g}"


def above(lo: float) -> Check:
    return lambda v: None if v > lo else f"must be > {lo:g}, got {v:g}"


def at_most(hi: float) -> Check:
    return lambda v: None if v <= hi else f"must be <= {hi:g}, got {v:g}"


def one_of(what: str, choices: Sequence[str] | Callable[[], Sequence[str]]) -> Check:
    def check(v: str) -> str | None:
        known = choices() if callable(choices) else choices
        if v in known:
            return None
        return f"unknown {what} {v!r}{_did_you_mean(v, known)} (known: {', '.join(known)})"

    return check


def nonblank(v: str) -> str | None:
    return "must not be empty" if not v.strip() else None


def no_blank_items(v: tuple[str, ...]) -> str | None:
    return "must not contain empty strings" if any(not x for x in v) else None


def unique_items(v: tuple[str, ...]) -> str | None:
    dup = next((x for i, x in enumerate(v) if x in v[:i]), None)
    return f"lists {dup!r} twice" if dup is not None else None


def ascending_positive(v: tuple[float, ...]) -> str | None:
    if not v:
        return "must list at least one budget (seconds)"
    if v[0] <= 0 or any(b <= a for a, b in itertools.pairwise(v)):
        return f"must be positive and strictly ascending, got {list(v)}"
    return None


def http_url(v: str) -> str | None:
    parts = urllib.parse.urlsplit(v)
    if parts.scheme in ("http", "https") and parts.hostname:
        return None
    return f"must be an http:// or https:// URL with a host, got {_fmt(v)}"


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def env_var_name(v: str) -> str | None:
    # Deliberately does not echo the value: someone may have pasted the key itself here.
    if _ENV_NAME.fullmatch(v):
        return None
    return "must be the NAME of an environment variable (letters, digits, _), not the key itself"


def dir_name(v: str) -> str | None:
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", v):
        return None
    return f"must be usable as a directory name (letters, digits, '.', '_', '-'), got {_fmt(v)}"


_PARAMS: dict[str, _Key] = {
    "temperature": _Key(NUMBER, (at_least(0),)),
    "max_tokens": _Key(INT, (at_least(1),)),
    "stop": _Key(STR_OR_STRS, (no_blank_items,)),
    "seed": _Key(INT),
    "top_p": _Key(NUMBER, (above(0), at_most(1))),
    "extra_body": _Key(TABLE),
}

_STRATEGY = one_of("strategy", SOLVERS.names)
_PROMPT = one_of("prompt preset", PROMPTS.names)
_TOOL_MODE = one_of("tool_mode", ("native", "text"))

_COMBO: dict[str, _Key] = {
    "name": _Key(STR, (nonblank,), required=True),
    "provider": _Key(STR, (one_of("provider", PROVIDERS.names),), required=True),
    "model": _Key(STR, (nonblank,), required=True),
    "hardware": _Key(STR),
    "base_url": _Key(STR, (http_url,)),
    "api_key_env": _Key(STR, (env_var_name,)),
    "prompt_mode": _Key(STR, (one_of("prompt_mode", get_args(PromptMode)),)),
    "price_in_per_mtok": _Key(NUMBER, (at_least(0),)),
    "price_out_per_mtok": _Key(NUMBER, (at_least(0),)),
    "price_cached_in_per_mtok": _Key(NUMBER, (at_least(0),)),
    "max_concurrency": _Key(INT, (at_least(1),)),
    "rpm": _Key(INT, (at_least(1),)),
    "tpm": _Key(INT, (at_least(1),)),
    "strategy": _Key(STR, (_STRATEGY,)),
    "prompt": _Key(STR, (_PROMPT,)),
    "tool_mode": _Key(STR, (_TOOL_MODE,)),
    "params": _Key(TABLE, schema=_PARAMS),
    "options": _Key(TABLE),
}

_TASKS: dict[str, _Key] = {
    "source": _Key(STR, (nonblank,), required=True),
    "preset": _Key(STR, (one_of("preset", preset_names),)),
    "limit": _Key(INT, (at_least(1),)),
    "ids": _Key(STRS, (no_blank_items, unique_items)),
    "shuffle_seed": _Key(INT),
    "split": _Key(STR, (nonblank,)),
    "revision": _Key(STR, (nonblank,)),
    "subset": _Key(STR, (nonblank,)),
    "fields": _Key(STR_TABLE),
    "data_files": _Key(STR, (nonblank,)),
    "repo_cache": _Key(STR, (nonblank,)),
}

_RUN: dict[str, _Key] = {
    "samples": _Key(INT, (at_least(1),)),
    "budget_s": _Key(NUMBER, (above(0),)),
    "sandbox": _Key(STR, (one_of("sandbox", sandbox_choices),)),
    "test_timeout_s": _Key(NUMBER, (above(0),)),
    # Below 1 the reference solution itself would time out.
    "timeout_factor": _Key(NUMBER, (at_least(1),)),
    "concurrency": _Key(INT, (at_least(1),)),
    "output_dir": _Key(STR, (nonblank,)),
    "run_id": _Key(STR, (dir_name,)),
    "strategy": _Key(STR, (_STRATEGY,)),
    "prompt": _Key(STR, (_PROMPT,)),
    "max_turns": _Key(INT, (at_least(1),)),
    "latency_slo_s": _Key(NUMBER, (above(0),)),
    "max_cost_usd": _Key(NUMBER, (above(0),)),
    "executor": _Key(STR, (one_of("executor", EXECUTORS.names),)),
    "executor_address": _Key(STR, (nonblank,)),
    "command_timeout_s": _Key(NUMBER, (above(0),)),
    "tool_mode": _Key(STR, (_TOOL_MODE,)),
    "max_output_tokens": _Key(INT, (at_least(1),)),
    "max_attempt_cost_usd": _Key(NUMBER, (above(0),)),
    "budget_marks": _Key(NUMBERS, (ascending_positive,)),
}

_TOP: dict[str, _Key] = {
    "name": _Key(STR, (nonblank,)),
    "combos": _Key(
        TABLES, (lambda v: None if v else "must hold at least one [[combos]] table",), required=True, schema=_COMBO
    ),
    "tasks": _Key(TABLE, required=True, schema=_TASKS),
    "run": _Key(TABLE, schema=_RUN),
    "gate": _Key(TABLE),  # thresholds for `ripsaw gate`, validated there (ripsaw.gate.GateConfig.from_table)
}


def _toml_type(v: Any) -> str:
    for types, name in (
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a float"),
        (str, "a string"),
        (list, "an array"),
        (dict, "a table"),
        ((datetime, date, time), "a date/time"),
    ):
        if isinstance(v, types):
            return name
    return type(v).__name__


def _wrong_type(value: Any, kind: _Kind, where: str) -> InvalidKey:
    if kind.items is not None and isinstance(value, kind.items[0]):
        item = kind.items[1]
        entries = value.items() if isinstance(value, dict) else enumerate(value)
        for k, v in entries:
            if not item.accepts(v):
                return _wrong_type(v, item, f"{where}.{k}" if isinstance(value, dict) else f"{where}[{k}]")
    shown = f" ({_fmt(value)})" if isinstance(value, str | int | float) else ""
    return InvalidKey(where, f"expected {kind.name}, got {_toml_type(value)}{shown}")


def _check_value(value: Any, key: _Key, where: str) -> Any:
    if not key.kind.accepts(value):
        raise _wrong_type(value, key.kind, where)
    value = key.kind.convert(value)
    for check in key.checks:
        if problem := check(value):
            raise InvalidKey(where, problem)
    if key.schema is not None:
        if isinstance(value, list):
            return [_check_table(item, key.schema, f"{where}[{i}]") for i, item in enumerate(value)]
        return _check_table(value, key.schema, where)
    return value


_MISSING = {TABLE: "missing required table [{}]", TABLES: "missing: add at least one [[{}]] table"}


def _check_table(table: dict[str, Any], schema: dict[str, _Key], path: str) -> dict[str, Any]:
    """Checks one table against its schema; returns the converted values of the keys present."""
    prefix = f"{path}." if path else ""
    for name in table:
        if name not in schema:
            hint = _did_you_mean(name, list(schema)) or f" (allowed: {', '.join(schema)})"
            raise InvalidKey(prefix + name, f"unknown key{hint}")
    values: dict[str, Any] = {}
    for name, key in schema.items():
        if name in table:
            values[name] = _check_value(table[name], key, prefix + name)
        elif key.required:
            raise InvalidKey(prefix + name, _MISSING.get(key.kind, "missing required key").format(prefix + name))
    return values


# --- rules across keys, and against the environment and the file system ------------------------------------------


def _check_combos(combos: list[dict[str, Any]]) -> None:
    seen: dict[str, int] = {}
    for i, c in enumerate(combos):
        where = f"combos[{i}]"
        if c["name"] in seen:
            raise InvalidKey(f"{where}.name", f"duplicate combo name {c['name']!r} (also combos[{seen[c['name']]}])")
        seen[c["name"]] = i
        if c["provider"] == "openai" and "base_url" not in c:
            raise InvalidKey(
                f"{where}.base_url", "missing: provider 'openai' needs the endpoint, e.g. 'http://localhost:8000/v1'"
            )
        max_tokens = c.get("params", {}).get("max_tokens", RequestParams().max_tokens)
        if "tpm" in c and max_tokens is not None and c["tpm"] < max_tokens:
            raise InvalidKey(
                f"{where}.tpm",
                f"{c['tpm']} tokens per minute is less than one call's max_tokens ({max_tokens}): "
                "raise tpm or lower params.max_tokens",
            )
        env = c.get("api_key_env")
        if env is not None and not os.environ.get(env):
            state = "is empty" if env in os.environ else "is not set"
            raise InvalidKey(f"{where}.api_key_env", f"environment variable {env} {state}")


def _check_tasks(tasks: dict[str, Any], base: Path) -> dict[str, Any]:
    """The task source checks its own argument and options (ripsaw.tasks.base.TaskSource.check)."""
    try:
        source, argument = source_of(tasks["source"])
    except ConfigError as e:
        raise InvalidKey("tasks.source", str(e)) from None
    source.check(argument, tasks, base)
    return tasks


def _run(values: dict[str, Any], combos: list[dict[str, Any]]) -> RunSpec:
    strategies = {c.get("strategy", values.get("strategy", "single")) for c in combos}
    if "agent" in strategies and "max_turns" not in values:
        values = {**values, "max_turns": AGENT_MAX_TURNS}  # the repair loop's default of 4 would starve an agent
    run = RunSpec(**values)
    if run.budget_marks and run.budget_marks[-1] > run.budget_s:
        raise InvalidKey("run.budget_marks", f"{run.budget_marks[-1]:g} s is past run.budget_s = {run.budget_s:g}")
    return run


def _combo(values: dict[str, Any]) -> ComboSpec:
    params = RequestParams(**values.pop("params", {}))
    return ComboSpec(**values, params=params)
