from __future__ import annotations

import dataclasses
import hashlib
import tomllib
from pathlib import Path

import pytest

from ripsaw.errors import ConfigError, SpecError
from ripsaw.providers.base import resolve_api_key
from ripsaw.spec import _COMBO, _PARAMS, _RUN, _TASKS, load_spec
from ripsaw.types import AGENT_MAX_TURNS, ComboSpec, RequestParams, RunSpec, TasksSpec

COMBO = """
[[combos]]
name = "a"
provider = "llamacpp"
model = "gemma"
"""
TASKS = """
[tasks]
source = "humaneval"
"""
MINIMAL = COMBO + TASKS


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def spec_error(path: Path) -> SpecError:
    with pytest.raises(SpecError) as info:
        load_spec(path)
    return info.value


# (spec text, the key the error must name, text the problem must contain)
MALFORMED = {
    "unknown top-level key": ("combo = 1\n" + MINIMAL, "combo", "unknown key; did you mean 'combos'?"),
    "unknown key, no close match": (
        MINIMAL + "[run]\nzzz = 1\n",
        "run.zzz",
        "unknown key (allowed: samples, budget_s, sandbox,",
    ),
    "unknown nested key": (
        MINIMAL + "[combos.params]\ntemprature = 0.2\n",
        "combos[0].params.temprature",
        "did you mean 'temperature'?",
    ),
    "unknown tasks key": (COMBO + TASKS + "limt = 3\n", "tasks.limt", "did you mean 'limit'?"),
    "string for a number": (
        MINIMAL + '[run]\nbudget_s = "30"\n',
        "run.budget_s",
        "expected a finite number, got a string ('30')",
    ),
    "boolean for an integer": (
        MINIMAL + "[run]\nsamples = true\n",
        "run.samples",
        "expected an integer, got a boolean",
    ),
    "boolean for a float": (
        MINIMAL + "[combos.params]\ntemperature = false\n",
        "combos[0].params.temperature",
        "expected a finite number, got a boolean",
    ),
    "float for an integer": (MINIMAL + "[run]\nsamples = 1.5\n", "run.samples", "expected an integer, got a float"),
    "nan": (MINIMAL + "[run]\nbudget_s = nan\n", "run.budget_s", "expected a finite number, got a float"),
    "infinity": (MINIMAL + "[run]\nbudget_s = inf\n", "run.budget_s", "expected a finite number"),
    "table for a string": (
        COMBO.replace('model = "gemma"', "model = {id = 1}") + TASKS,
        "combos[0].model",
        "expected a string, got a table",
    ),
    "no combos": (TASKS, "combos", "missing: add at least one [[combos]] table"),
    "empty combos": ("combos = []\n" + TASKS, "combos", "must hold at least one [[combos]] table"),
    "combos of numbers": ("combos = [1]\n" + TASKS, "combos[0]", "expected a table, got an integer (1)"),
    "combos as a single table": (
        '[combos]\nname = "a"\n' + TASKS,
        "combos",
        "expected an array of tables ([[...]]), got a table",
    ),
    "combo without model": (COMBO.replace('model = "gemma"', "") + TASKS, "combos[0].model", "missing required key"),
    "combo without provider": (
        COMBO.replace('provider = "llamacpp"', "") + TASKS,
        "combos[0].provider",
        "missing required key",
    ),
    "second combo without name": (
        MINIMAL + '[[combos]]\nprovider = "llamacpp"\nmodel = "m"\n',
        "combos[1].name",
        "missing required key",
    ),
    "blank combo name": (COMBO.replace('name = "a"', 'name = "  "') + TASKS, "combos[0].name", "must not be empty"),
    "no tasks table": (COMBO, "tasks", "missing required table [tasks]"),
    "no task source": (COMBO + "[tasks]\nlimit = 3\n", "tasks.source", "missing required key"),
    "duplicate combo names": (
        MINIMAL + '[[combos]]\nname = "a"\nprovider = "llamacpp"\nmodel = "other"\n',
        "combos[1].name",
        "duplicate combo name 'a' (also combos[0])",
    ),
    "zero budget": (MINIMAL + "[run]\nbudget_s = 0\n", "run.budget_s", "must be > 0, got 0"),
    "negative budget": (MINIMAL + "[run]\nbudget_s = -1.5\n", "run.budget_s", "must be > 0, got -1.5"),
    "zero samples": (MINIMAL + "[run]\nsamples = 0\n", "run.samples", "must be >= 1, got 0"),
    "zero concurrency": (MINIMAL + "[run]\nconcurrency = 0\n", "run.concurrency", "must be >= 1, got 0"),
    "zero max_turns": (MINIMAL + "[run]\nmax_turns = 0\n", "run.max_turns", "must be >= 1, got 0"),
    "timeout factor below 1": (
        MINIMAL + "[run]\ntimeout_factor = 0.5\n",
        "run.timeout_factor",
        "must be >= 1, got 0.5",
    ),
    "zero test timeout": (MINIMAL + "[run]\ntest_timeout_s = 0\n", "run.test_timeout_s", "must be > 0, got 0"),
    "negative latency slo": (MINIMAL + "[run]\nlatency_slo_s = -2\n", "run.latency_slo_s", "must be > 0, got -2"),
    "negative temperature": (
        MINIMAL + "[combos.params]\ntemperature = -0.1\n",
        "combos[0].params.temperature",
        "must be >= 0, got -0.1",
    ),
    "zero max_tokens": (MINIMAL + "[combos.params]\nmax_tokens = 0\n", "combos[0].params.max_tokens", "must be >= 1"),
    "top_p above 1": (MINIMAL + "[combos.params]\ntop_p = 1.5\n", "combos[0].params.top_p", "must be <= 1, got 1.5"),
    "top_p zero": (MINIMAL + "[combos.params]\ntop_p = 0\n", "combos[0].params.top_p", "must be > 0, got 0"),
    "stop of integers": (
        MINIMAL + '[combos.params]\nstop = ["\\n", 2]\n',
        "combos[0].params.stop[1]",
        "expected a string, got an integer (2)",
    ),
    "stop of a number": (
        MINIMAL + "[combos.params]\nstop = 2\n",
        "combos[0].params.stop",
        "expected a string or an array of strings, got an integer (2)",
    ),
    "empty stop string": (
        MINIMAL + '[combos.params]\nstop = ["\\n", ""]\n',
        "combos[0].params.stop",
        "must not contain empty strings",
    ),
    "extra_body not a table": (
        MINIMAL + '[combos.params]\nextra_body = "x"\n',
        "combos[0].params.extra_body",
        "expected a table, got a string",
    ),
    "negative price": (
        COMBO + "price_out_per_mtok = -1\n" + TASKS,
        "combos[0].price_out_per_mtok",
        "must be >= 0, got -1",
    ),
    "zero max_concurrency": (COMBO + "max_concurrency = 0\n" + TASKS, "combos[0].max_concurrency", "must be >= 1"),
    "zero rpm": (COMBO + "rpm = 0\n" + TASKS, "combos[0].rpm", "must be >= 1, got 0"),
    "tpm as a string": (COMBO + 'tpm = "90k"\n' + TASKS, "combos[0].tpm", "expected an integer, got a string"),
    "tpm below the default max_tokens": (
        COMBO + "tpm = 500\n" + TASKS,
        "combos[0].tpm",
        "500 tokens per minute is less than one call's max_tokens (512)",
    ),
    "tpm below the combo's max_tokens": (
        COMBO + "tpm = 1500\n[combos.params]\nmax_tokens = 2048\n" + TASKS,
        "combos[0].tpm",
        "less than one call's max_tokens (2048): raise tpm or lower params.max_tokens",
    ),
    "options not a table": (COMBO + "options = 2\n" + TASKS, "combos[0].options", "expected a table, got an integer"),
    "unknown provider": (
        COMBO.replace('"llamacpp"', '"opnai"') + TASKS,
        "combos[0].provider",
        "unknown provider 'opnai'; did you mean 'openai'? (known: openai, openai-responses, anthropic, llamacpp)",
    ),
    "unknown sandbox": (
        MINIMAL + '[run]\nsandbox = "dockr"\n',
        "run.sandbox",
        "unknown sandbox 'dockr'; did you mean 'docker'? (known: auto, process, docker)",
    ),
    "unknown run strategy": (
        MINIMAL + '[run]\nstrategy = "repare"\n',
        "run.strategy",
        "unknown strategy 'repare'; did you mean 'repair'?",
    ),
    "unknown combo strategy": (
        COMBO + 'strategy = "best-of"\n' + TASKS,
        "combos[0].strategy",
        "unknown strategy 'best-of' (known: single, repair, sample-k, agent, scaffold:mini-swe-agent, "
        "scaffold:aider, scaffold:codex, scaffold:claude-code)",
    ),
    "unknown tool mode": (
        MINIMAL + '[run]\ntool_mode = "json"\n',
        "run.tool_mode",
        "unknown tool_mode 'json' (known: native, text)",
    ),
    "budget marks not ascending": (
        MINIMAL + "[run]\nbudget_marks = [30, 10]\n",
        "run.budget_marks",
        "must be positive and strictly ascending, got [30.0, 10.0]",
    ),
    "budget marks past the budget": (
        MINIMAL + "[run]\nbudget_s = 60\nbudget_marks = [30, 90]\n",
        "run.budget_marks",
        "90 s is past run.budget_s = 60",
    ),
    "budget marks not numbers": (
        MINIMAL + '[run]\nbudget_marks = [30, "x"]\n',
        "run.budget_marks[1]",
        "expected a finite number, got a string",
    ),
    "unknown prompt mode": (
        COMBO + 'prompt_mode = "completion"\n' + TASKS,
        "combos[0].prompt_mode",
        "unknown prompt_mode 'completion'; did you mean 'complete'?",
    ),
    "openai without base_url": (
        COMBO.replace('"llamacpp"', '"openai"') + TASKS,
        "combos[0].base_url",
        "missing: provider 'openai' needs the endpoint",
    ),
    "base_url not http": (
        COMBO + 'base_url = "ftp://host/v1"\n' + TASKS,
        "combos[0].base_url",
        "must be an http:// or https:// URL with a host, got 'ftp://host/v1'",
    ),
    "base_url without scheme": (
        COMBO + 'base_url = "localhost:8000/v1"\n' + TASKS,
        "combos[0].base_url",
        "must be an http:// or https:// URL",
    ),
    "base_url without host": (COMBO + 'base_url = "http:///v1"\n' + TASKS, "combos[0].base_url", "with a host"),
    "api key env not set": (
        COMBO + 'api_key_env = "RIPSAW_TEST_KEY"\n' + TASKS,
        "combos[0].api_key_env",
        "environment variable RIPSAW_TEST_KEY is not set",
    ),
    "unknown task source": (
        COMBO + '[tasks]\nsource = "humanevl"\n',
        "tasks.source",
        "unknown task source 'humanevl'; did you mean 'humaneval'? "
        "(use humaneval, jsonl:PATH, hf:DATASET, repo:PATH, swebench:DATASET, mbpp, humaneval+, livecodebench)",
    ),
    "argument to a bare source": (
        COMBO + '[tasks]\nsource = "humaneval:extra"\n',
        "tasks.source",
        "'humaneval' takes no argument after ':'",
    ),
    "jsonl without path": (COMBO + '[tasks]\nsource = "jsonl:"\n', "tasks.source", "'jsonl:' needs a path"),
    "hf without dataset": (COMBO + '[tasks]\nsource = "hf:"\n', "tasks.source", "'hf:' needs a dataset name"),
    "missing jsonl file": (
        COMBO + '[tasks]\nsource = "jsonl:nope/tasks.jsonl"\n',
        "tasks.source",
        "file not found: 'nope/tasks.jsonl'",
    ),
    "hf option on humaneval": (
        MINIMAL + 'split = "test"\n',
        "tasks.split",
        "applies to 'hf:' and preset sources only (source is 'humaneval')",
    ),
    "preset contradicting a preset source": (
        COMBO + '[tasks]\nsource = "mbpp"\npreset = "livecodebench"\n',
        "tasks.preset",
        "'livecodebench' contradicts the source 'mbpp'",
    ),
    "unknown preset": (
        COMBO + '[tasks]\nsource = "hf:x/y"\npreset = "mbp"\n',
        "tasks.preset",
        "unknown preset 'mbp'; did you mean 'mbpp'?",
    ),
    "missing data_files": (
        COMBO + '[tasks]\nsource = "mbpp"\ndata_files = "mbpp/test.parquet"\n',
        "tasks.data_files",
        "file not found: 'mbpp/test.parquet'",
    ),
    "data_files pattern matching nothing": (
        COMBO + '[tasks]\nsource = "mbpp"\ndata_files = "mbpp/*.parquet"\n',
        "tasks.data_files",
        "no file matches 'mbpp/*.parquet'",
    ),
    "ids of integers": (MINIMAL + "ids = [1, 2]\n", "tasks.ids[0]", "expected a string, got an integer (1)"),
    "ids as a string": (MINIMAL + 'ids = "HumanEval/1"\n', "tasks.ids", "expected an array of strings, got a string"),
    "duplicate ids": (MINIMAL + 'ids = ["HumanEval/1", "HumanEval/1"]\n', "tasks.ids", "lists 'HumanEval/1' twice"),
    "zero limit": (MINIMAL + "limit = 0\n", "tasks.limit", "must be >= 1, got 0"),
    "fields not strings": (
        COMBO + '[tasks]\nsource = "mbpp"\nfields = {prompt = 3}\n',
        "tasks.fields.prompt",
        "expected a string, got an integer (3)",
    ),
    "run_id with a path": (
        MINIMAL + '[run]\nrun_id = "../elsewhere"\n',
        "run.run_id",
        "must be usable as a directory name",
    ),
    "name not a string": ("name = 3\n" + MINIMAL, "name", "expected a string, got an integer (3)"),
    "date for a number": (
        MINIMAL + "[run]\nbudget_s = 2024-01-01\n",
        "run.budget_s",
        "expected a finite number, got a date/time",
    ),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_malformed_spec_names_file_key_and_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    text, key, problem = MALFORMED[case]
    monkeypatch.chdir(tmp_path)  # relative task files must not be found in the developer's cwd
    path = write(tmp_path, text, "team.toml")
    err = spec_error(path)
    assert (err.file, err.key) == (str(path), key)
    assert problem in err.problem
    assert str(err) == f"{path}: {key}: {err.problem}"
    assert "\n" not in str(err)


def test_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, '[[combos]]\nname = "a\nprovider = "x"\n')
    err = spec_error(path)
    assert err.key == ""
    assert str(err).startswith(f"{path}: invalid TOML: ")
    assert "line 2, column" in str(err)


def test_unreadable_spec(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert str(spec_error(missing)) == f"{missing}: cannot read the spec: No such file or directory"
    assert "Is a directory" in str(spec_error(tmp_path))
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b'name = "\xff"\n')
    assert "not UTF-8 text (byte 8)" in str(spec_error(binary))


def test_api_key_env_name_only_never_the_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-proj-abc123-very-secret"
    path = write(tmp_path, COMBO + f'api_key_env = "{secret}"\n' + TASKS)
    err = spec_error(path)
    assert err.key == "combos[0].api_key_env"
    assert "must be the NAME of an environment variable" in err.problem
    assert secret not in str(err)

    path = write(tmp_path, COMBO + 'api_key_env = "RIPSAW_TEST_KEY"\n' + TASKS)
    monkeypatch.setenv("RIPSAW_TEST_KEY", "")
    assert "environment variable RIPSAW_TEST_KEY is empty" in str(spec_error(path))

    monkeypatch.setenv("RIPSAW_TEST_KEY", "the-key-value")
    combo = load_spec(path).combos[0]
    assert combo.api_key_env == "RIPSAW_TEST_KEY"
    assert "the-key-value" not in repr(load_spec(path))
    assert resolve_api_key(combo) == "the-key-value"
    monkeypatch.setenv("RIPSAW_TEST_KEY", "rotated")
    assert resolve_api_key(combo) == "rotated"  # read at call time, not at load time
    monkeypatch.delenv("RIPSAW_TEST_KEY")
    with pytest.raises(ConfigError, match="combo 'a': environment variable RIPSAW_TEST_KEY is not set"):
        resolve_api_key(combo)


def test_resolve_api_key_without_env_name() -> None:
    assert resolve_api_key(ComboSpec(name="a", provider="llamacpp", model="m")) is None


FULL = """
name = "team-eval"

[[combos]]
name = "fast"
provider = "openai"
model = "qwen-coder"
hardware = "1x H100"
base_url = "https://api.example.com/v1"
api_key_env = "RIPSAW_TEST_KEY"
prompt_mode = "complete"
price_in_per_mtok = 1
price_out_per_mtok = 2.5
max_concurrency = 8
strategy = "repair"
[combos.params]
temperature = 1
max_tokens = 256
stop = "\\ndef "
seed = 7
top_p = 0.95
extra_body = { top_k = 40, repetition_penalty = 1.1 }
[combos.options]
threads = 2

[[combos]]
name = "local"
provider = "llamacpp"
model = "gemma-3-270m"
[combos.params]
stop = ["\\nclass ", "\\nif "]

[tasks]
source = "hf:google-research-datasets/mbpp"
preset = "mbpp"
limit = 20
ids = ["11", "12"]
shuffle_seed = 3
split = "test"
revision = "main"
subset = "sanitized"
fields = { prompt = "text" }
data_files = "data/mbpp.jsonl"

[run]
samples = 3
budget_s = 30
sandbox = "process"
test_timeout_s = 5
timeout_factor = 4
concurrency = 2
output_dir = "out"
run_id = "nightly-1"
strategy = "sample-k"
max_turns = 6
latency_slo_s = 2
"""


def test_full_spec_round_trips_into_typed_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIPSAW_TEST_KEY", "k")
    data = write(tmp_path, "{}\n", "evals/data/mbpp.jsonl")
    path = write(tmp_path, FULL, "evals/team.toml")
    spec = load_spec(path)

    assert spec.path == path and spec.name == "team-eval"
    assert spec.raw == tomllib.loads(FULL)
    assert spec.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    fast, local = spec.combos
    assert fast == ComboSpec(
        name="fast",
        provider="openai",
        model="qwen-coder",
        hardware="1x H100",
        base_url="https://api.example.com/v1",
        api_key_env="RIPSAW_TEST_KEY",
        prompt_mode="complete",
        price_in_per_mtok=1.0,
        price_out_per_mtok=2.5,
        max_concurrency=8,
        strategy="repair",
        options={"threads": 2},
        params=RequestParams(
            temperature=1.0,
            max_tokens=256,
            stop=("\ndef ",),
            seed=7,
            top_p=0.95,
            extra_body={"top_k": 40, "repetition_penalty": 1.1},
        ),
    )
    # Integers given for float settings arrive as floats.
    assert type(fast.price_in_per_mtok) is float and type(fast.params.temperature) is float
    assert local == ComboSpec(
        name="local", provider="llamacpp", model="gemma-3-270m", params=RequestParams(stop=("\nclass ", "\nif "))
    )
    assert spec.tasks == TasksSpec(
        source="hf:google-research-datasets/mbpp",
        preset="mbpp",
        limit=20,
        ids=("11", "12"),
        shuffle_seed=3,
        split="test",
        revision="main",
        subset="sanitized",
        fields={"prompt": "text"},
        data_files=str(data),
    )
    assert spec.run == RunSpec(
        samples=3,
        budget_s=30.0,
        sandbox="process",
        test_timeout_s=5.0,
        timeout_factor=4.0,
        concurrency=2,
        output_dir="out",
        run_id="nightly-1",
        strategy="sample-k",
        max_turns=6,
        latency_slo_s=2.0,
    )
    assert type(spec.run.budget_s) is float


def test_defaults_and_name_from_file_stem(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, MINIMAL, "quick-start.toml"))
    assert spec.name == "quick-start"
    assert spec.combos == (ComboSpec(name="a", provider="llamacpp", model="gemma"),)
    assert spec.combos[0].params == RequestParams()
    assert spec.tasks == TasksSpec(source="humaneval")
    assert spec.run == RunSpec()


def test_jsonl_source_resolves_against_spec_dir_then_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    spec_text = COMBO + '[tasks]\nsource = "jsonl:suite/t.jsonl"\n'
    path = write(tmp_path, spec_text, "evals/s.toml")

    in_cwd = write(cwd, "{}\n", "suite/t.jsonl")
    assert load_spec(path).tasks.source == f"jsonl:{in_cwd}"

    next_to_spec = write(tmp_path, "{}\n", "evals/suite/t.jsonl")
    assert load_spec(path).tasks.source == f"jsonl:{next_to_spec}"  # the spec's directory wins

    absolute = write(tmp_path, COMBO + f'[tasks]\nsource = "jsonl:{in_cwd}"\n', "abs.toml")
    assert load_spec(absolute).tasks.source == f"jsonl:{in_cwd}"


def test_jsonl_source_error_lists_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, COMBO + '[tasks]\nsource = "jsonl:t.jsonl"\n', "evals/s.toml")
    err = spec_error(path)
    assert f"(looked in {tmp_path / 'evals' / 't.jsonl'}, {tmp_path / 't.jsonl'})" in err.problem
    (tmp_path / "evals" / "t.jsonl").mkdir()
    assert spec_error(path).problem == f"expected a file, found a directory: {tmp_path / 'evals' / 't.jsonl'}"


def test_data_files_glob_resolves_to_an_absolute_pattern(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "{}\n", "evals/lcb/part-0.jsonl")
    path = write(
        tmp_path, COMBO + '[tasks]\nsource = "livecodebench"\ndata_files = "lcb/part-*.jsonl"\n', "evals/s.toml"
    )
    assert load_spec(path).tasks.data_files == str(tmp_path / "evals" / "lcb" / "part-*.jsonl")


@pytest.mark.parametrize(
    ("schema", "record"), [(_COMBO, ComboSpec), (_PARAMS, RequestParams), (_TASKS, TasksSpec), (_RUN, RunSpec)]
)
def test_every_schema_key_is_a_record_field_and_back(schema: dict[str, object], record: type) -> None:
    # The loader builds records with `Record(**values)`: a key without a field would crash, a field without a key
    # could never be set from a spec.
    assert set(schema) == {f.name for f in dataclasses.fields(record)}


def test_hf_options_by_source(tmp_path: Path) -> None:
    write(tmp_path, "{}\n", "suite.jsonl")
    path = write(tmp_path, COMBO + '[tasks]\nsource = "jsonl:suite.jsonl"\npreset = "mbpp"\n')
    err = spec_error(path)
    assert (err.key, err.problem) == (
        "tasks.preset",
        "applies to 'hf:' and preset sources only (source is 'jsonl:suite.jsonl')",
    )
    # A preset source may name its own preset; hub URLs in data_files are left to the datasets library.
    url = "hf://datasets/evalplus/humanevalplus/data/test.parquet"
    path = write(tmp_path, COMBO + f'[tasks]\nsource = "humaneval+"\npreset = "humaneval+"\ndata_files = "{url}"\n')
    tasks = load_spec(path).tasks
    assert (tasks.source, tasks.preset, tasks.data_files) == ("humaneval+", "humaneval+", url)


def test_an_agent_spec_gets_an_agents_turn_limit_unless_it_sets_one(tmp_path: Path) -> None:
    agent = write(tmp_path, MINIMAL + '[run]\nstrategy = "agent"\n', "agent.toml")
    assert load_spec(agent).run.max_turns == AGENT_MAX_TURNS
    own = write(tmp_path, MINIMAL + '[run]\nstrategy = "agent"\nmax_turns = 7\n', "own.toml")
    assert load_spec(own).run.max_turns == 7
    assert load_spec(write(tmp_path, MINIMAL, "plain.toml")).run.max_turns == 4
    scaffold = write(tmp_path, MINIMAL + '[run]\nstrategy = "scaffold:mini-swe-agent"\n', "scaffold.toml")
    assert load_spec(scaffold).run.max_turns == AGENT_MAX_TURNS


def test_an_unknown_scaffold_is_named_with_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + '[run]\nstrategy = "scaffold:mini-swe"\n')
    with pytest.raises(ConfigError, match=r"unknown strategy 'scaffold:mini-swe'.*scaffold:mini-swe-agent"):
        load_spec(path)
