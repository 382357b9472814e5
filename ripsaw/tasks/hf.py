"""`hf:DATASET`: task suites from Hugging Face datasets, read through `datasets.load_dataset`.

A preset knows one column layout and how a row becomes a Task:

    mbpp           google-research-datasets/mbpp, subset "sanitized"  (MBPP, hand-verified subset)
    humaneval+     evalplus/humanevalplus                           (HumanEval with many more tests)
    livecodebench  livecodebench/code_generation_lite                 (contest problems, stdin or class methods)

`TasksSpec.fields` maps a preset's column names to the columns of another dataset with the same layout.
`TasksSpec.data_files` reads local (or `hf://`) JSON Lines / Parquet files instead of resolving a hub
dataset: for offline mirrors and tests. Dataset files are untrusted input: nothing in them is executed
here, and LiveCodeBench's pickled test cases are decoded by an unpickler that cannot construct objects.
"""

from __future__ import annotations

import ast
import base64
import builtins
import io
import json
import pickle
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ripsaw.errors import ConfigError
from ripsaw.tasks.humaneval import task_from_row
from ripsaw.tasks.task import CallCase, CallTests, CheckTests, IOCase, IOTests, Task
from ripsaw.types import TasksSpec

Row = Mapping[str, Any]

# Decompressed LiveCodeBench test blobs run to tens of MB; more than this is a malformed or hostile file.
_MAX_DECOMPRESSED_BYTES = 1 << 30


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    dataset: str
    subset: str | None
    split: str
    columns: tuple[str, ...]
    build: Callable[[Row, str], Task]  # (row with the preset's column names, source label) -> Task
    # Hub files to read when the dataset is a script-based repo that `datasets` no longer runs.
    hub_files: Callable[[str | None, str | None], list[str]] | None = None  # (subset, revision) -> URLs


def load_hf(
    dataset: str | None,
    spec_preset: str | None,
    *,
    split: str | None,
    revision: str | None,
    subset: str | None,
    fields: Mapping[str, str],
    data_files: str | None,
    base_dir: Path | None,
) -> list[Task]:
    preset = _choose_preset(dataset, spec_preset)
    name = dataset or preset.dataset
    missing_map = sorted(set(fields) - set(preset.columns))
    if missing_map:
        raise ConfigError(
            f"tasks.fields: {missing_map[0]!r} is not a column of the {preset.name} layout "
            f"({', '.join(preset.columns)})"
        )
    rows = _load_rows(
        name, preset, split=split, revision=revision, subset=subset, data_files=data_files, base_dir=base_dir
    )
    source = f"hf:{name}"
    tasks = []
    for index, row in enumerate(rows):
        mapped = {col: row[fields.get(col, col)] for col in preset.columns if fields.get(col, col) in row}
        absent = [col for col in preset.columns if col not in mapped]
        if absent:
            raise ConfigError(
                f"{source}: row {index} has no column {fields.get(absent[0], absent[0])!r} needed by the "
                f"{preset.name} layout (columns: {', '.join(sorted(row))}); map it with tasks.fields"
            )
        try:
            tasks.append(preset.build(mapped, source))
        except (ValueError, KeyError, TypeError, SyntaxError, pickle.UnpicklingError, zlib.error, EOFError) as exc:
            reason = " ".join(str(exc).split())
            raise ConfigError(f"{source}: row {index}: cannot read it as {preset.name}: {reason}") from exc
    if not tasks:
        raise ConfigError(f"{source}: the dataset has no rows")
    return tasks


def load_source(argument: str, spec: TasksSpec, base_dir: Path | None) -> list[Task]:
    """`hf:DATASET` (argument = the dataset; the preset from tasks.preset or the dataset name) or a preset source
    named by itself (`mbpp`: its usual dataset)."""
    name = spec.source.partition(":")[0].strip()
    dataset, preset = (argument, spec.preset) if name == "hf" else (None, name)
    return load_hf(
        dataset,
        preset,
        split=spec.split,
        revision=spec.revision,
        subset=spec.subset,
        fields=spec.fields,
        data_files=spec.data_files,
        base_dir=base_dir,
    )


def _choose_preset(dataset: str | None, name: str | None) -> Preset:
    if name is not None:
        if name not in PRESETS:
            raise ConfigError(f"tasks.preset: unknown preset {name!r} (known: {', '.join(PRESETS)})")
        return PRESETS[name]
    key = (dataset or "").lower()
    for needle, preset in (
        ("mbpp", "mbpp"),
        ("humaneval", "humaneval+"),
        ("livecodebench", "livecodebench"),
        ("code_generation", "livecodebench"),
    ):
        if needle in key:
            return PRESETS[preset]
    raise ConfigError(
        f"tasks.source: cannot tell the column layout of hf:{dataset}; set tasks.preset to one of {', '.join(PRESETS)}"
    )


def _load_rows(
    name: str,
    preset: Preset,
    *,
    split: str | None,
    revision: str | None,
    subset: str | None,
    data_files: str | None,
    base_dir: Path | None,
) -> list[dict[str, Any]]:
    import datasets  # heavy import, only for hf: sources

    files: list[str] | None = None
    if data_files is not None:
        files = [_resolve(data_files, base_dir)]
    elif preset.hub_files is not None and name == preset.dataset:
        files = preset.hub_files(subset, revision)
    try:
        if files is not None:
            builder = "parquet" if all(f.endswith(".parquet") for f in files) else "json"
            # Plain files have no named splits: file them under the requested split's name.
            split_name = split or "train"
            ds = datasets.load_dataset(builder, data_files={split_name: files}, split=split_name)
        else:
            ds = datasets.load_dataset(name, subset or preset.subset, split=split or preset.split, revision=revision)
    except Exception as exc:  # the datasets library raises many unrelated types for "cannot load"
        reason = " ".join(str(exc).split())  # one line at the CLI edge
        raise ConfigError(f"hf:{name}: cannot load the dataset: {type(exc).__name__}: {reason}") from exc
    return [dict(r) for r in ds]


def _resolve(data_files: str, base_dir: Path | None) -> str:
    if "://" in data_files:
        return data_files
    path = Path(data_files).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not any(ch in data_files for ch in "*?[") and not path.exists():
        raise ConfigError(f"tasks.data_files: {path} does not exist")
    return str(path)


# --- MBPP (sanitized) --------------------------------------------------------------------------------------


def _mbpp_task(row: Row, source: str) -> Task:
    code, tests, imports = str(row["code"]), [str(t) for t in row["test_list"]], [str(i) for i in row["test_imports"]]
    if not tests:
        raise ValueError("test_list is empty")
    defined = _function_defs(code)
    entry_point = _called_function(tests[0], set(defined))
    setup = "\n".join(imports)
    return Task(
        id=f"mbpp/{row['task_id']}",
        prompt=_mbpp_prompt(str(row["prompt"]), tests[0], imports, defined.get(entry_point), entry_point),
        entry_point=entry_point,
        tests=CheckTests(code="\n".join(tests), setup=setup),
        public_tests=CheckTests(code=tests[0], setup=setup),
        canonical_solution=code,
        metadata={"source": source, "source_file": row["source_file"]},
    )


def _mbpp_prompt(text: str, example: str, imports: list[str], def_node: ast.FunctionDef | None, name: str) -> str:
    """A HumanEval-style prefix: the test imports, the signature, and a docstring with the task and one example.

    The signature comes from the reference solution (as HumanEval-format conversions of MBPP do), so a base
    model continues with the body and the function name and arity match what the tests call.
    """
    doc = f"{text.strip()}\n>>> {example.strip()}"
    header = "".join(f"{line}\n" for line in imports)
    if def_node is None:  # the test calls something the reference does not define: let the model write the def
        return f"{header}{_docstring(doc, indent='')}\n"
    return f"{header}def {name}({ast.unparse(def_node.args)}):\n    {_docstring(doc, indent='    ')}\n"


def _docstring(text: str, indent: str) -> str:
    body = text.replace('"""', '""\\"')
    prefix = "r" if "\\" in text else ""
    lines = body.splitlines()
    return prefix + '"""' + "\n".join([lines[0], *(indent + line for line in lines[1:])]) + f'\n{indent}"""'


def _function_defs(code: str) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in ast.parse(code).body if isinstance(n, ast.FunctionDef)}


def _called_function(assert_line: str, defined: set[str]) -> str:
    """The function under test: the first function the assert calls that the reference defines
    (`assert set(f(x)) == ...` tests f, not set), else the first non-builtin it calls."""
    calls = [
        n.func.id for n in ast.walk(ast.parse(assert_line)) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    ]
    for name in calls:
        if name in defined:
            return name
    for name in calls:
        if not hasattr(builtins, name):
            return name
    raise ValueError(f"no function call in the first test: {assert_line!r}")


# --- HumanEval+ --------------------------------------------------------------------------------------------


def _humaneval_plus_task(row: Row, source: str) -> Task:
    return task_from_row(row, source=source)


# --- LiveCodeBench -----------------------------------------------------------------------------------------

# code_generation_lite is a script-based repo; its releases are cumulative sets of JSON Lines files.
_LCB_FILES = ("test.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl", "test5.jsonl", "test6.jsonl")


def _lcb_hub_files(subset: str | None, revision: str | None) -> list[str]:
    tag = subset or "release_latest"
    base = f"hf://datasets/livecodebench/code_generation_lite{'@' + revision if revision else ''}/"
    if tag == "release_latest":
        return [base + f for f in _LCB_FILES]
    for prefix, cumulative in (("release_v", True), ("v", False)):
        number = tag.removeprefix(prefix)
        if tag.startswith(prefix) and number.isdigit() and 1 <= int(number) <= len(_LCB_FILES):
            n = int(number)
            return [base + f for f in (_LCB_FILES[:n] if cumulative else _LCB_FILES[n - 1 : n])]
    raise ConfigError(
        f"tasks.subset: unknown LiveCodeBench version {tag!r} (release_v1..release_v6, v1..v6, release_latest)"
    )


def _lcb_task(row: Row, source: str) -> Task:
    public = _lcb_cases(row["public_test_cases"])
    private = _lcb_cases(row["private_test_cases"])
    kinds = {c["testtype"] for c in public + private}
    if len(kinds) != 1 or not kinds <= {"stdin", "functional"}:
        raise ValueError(f"expected test cases of one type, stdin or functional; got {sorted(kinds)}")
    starter = str(row["starter_code"] or "")
    meta = row["metadata"]
    meta = json.loads(meta) if isinstance(meta, str) and meta.strip() else dict(meta or {})
    if kinds == {"functional"}:
        func = meta.get("func_name")
        if not func:
            raise ValueError("functional problem without metadata.func_name")
        # The starter code declares `class Solution` with this method; the driver instantiates the class.
        entry_point = f"Solution.{func}"
        hidden: CallTests | IOTests = CallTests(tuple(_call_case(c) for c in public + private))
        public_tests: CallTests | IOTests = CallTests(tuple(_call_case(c) for c in public))
        instruction = f"Complete this starter code:\n\n```python\n{starter.rstrip()}\n```\n"
    else:
        entry_point = ""
        hidden = IOTests(tuple(IOCase(c["input"], c["output"]) for c in public + private))
        public_tests = IOTests(tuple(IOCase(c["input"], c["output"]) for c in public))
        instruction = "Write a Python program that reads the input from stdin and prints the answer to stdout.\n"
    return Task(
        id=f"livecodebench/{row['question_id']}",
        prompt=f"{str(row['question_content']).strip()}\n\n{instruction}",
        entry_point=entry_point,
        tests=hidden,
        public_tests=public_tests if public else None,
        metadata={
            "source": source,
            "title": row["question_title"],
            "platform": row["platform"],
            "contest_id": row["contest_id"],
            "contest_date": str(row["contest_date"]),
            "difficulty": row["difficulty"],
            "starter_code": starter,
        },
    )


def _call_case(case: Mapping[str, str]) -> CallCase:
    # One JSON value per input line, each a positional argument of the method.
    args = [json.loads(line) for line in case["input"].split("\n") if line.strip()]
    return CallCase(args=json.dumps(args), expected=json.dumps(json.loads(case["output"])))


def _lcb_cases(blob: Any) -> list[dict[str, str]]:
    """Test cases from a JSON string, or from base64(zlib(pickle(JSON string))) as in the private cases."""
    if isinstance(blob, list):
        value: Any = blob
    else:
        text = str(blob).strip()
        if not text:
            return []
        if text[0] == "[":
            value = json.loads(text)
        else:
            value = _restricted_unpickle(_bounded_decompress(base64.b64decode(text, validate=True)))
            if isinstance(value, str | bytes):
                value = json.loads(value)
    if not isinstance(value, list) or not all(
        isinstance(c, dict) and isinstance(c.get("input"), str) and isinstance(c.get("output"), str) for c in value
    ):
        raise ValueError("test cases are not a list of {input, output, testtype} objects")
    return [{"input": c["input"], "output": c["output"], "testtype": str(c.get("testtype", ""))} for c in value]


def _bounded_decompress(data: bytes) -> bytes:
    d = zlib.decompressobj()
    out = d.decompress(data, _MAX_DECOMPRESSED_BYTES)
    if d.unconsumed_tail:
        raise ValueError(f"compressed test cases expand beyond {_MAX_DECOMPRESSED_BYTES} bytes")
    return out


class _PlainDataUnpickler(pickle.Unpickler):
    """Plain data only (str, bytes, numbers, lists, dicts, tuples): these need no global lookup, so every
    `find_class` request (the way a pickle names a class or function to call) is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a dataset file")


def _restricted_unpickle(data: bytes) -> Any:
    return _PlainDataUnpickler(io.BytesIO(data)).load()


PRESETS: dict[str, Preset] = {
    "mbpp": Preset(
        "mbpp",
        "google-research-datasets/mbpp",
        "sanitized",
        "test",
        ("source_file", "task_id", "prompt", "code", "test_imports", "test_list"),
        _mbpp_task,
    ),
    "humaneval+": Preset(
        "humaneval+",
        "evalplus/humanevalplus",
        None,
        "test",
        ("task_id", "prompt", "canonical_solution", "entry_point", "test"),
        _humaneval_plus_task,
    ),
    "livecodebench": Preset(
        "livecodebench",
        "livecodebench/code_generation_lite",
        None,
        "test",
        (
            "question_title",
            "question_content",
            "platform",
            "question_id",
            "contest_id",
            "contest_date",
            "starter_code",
            "difficulty",
            "public_test_cases",
            "private_test_cases",
            "metadata",
        ),
        _lcb_task,
        hub_files=_lcb_hub_files,
    ),
}
