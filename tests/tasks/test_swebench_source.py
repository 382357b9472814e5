"""The `swebench:` source on a real git repository made in the test: instances load as repository tasks whose
directories hold the tree at base_commit, the hidden tests as the test patch leaves them and the gold patch; bad
instances, ids that are not pytest's and missing workspaces are named."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ripsaw.errors import ConfigError, SpecError
from ripsaw.spec import load_spec
from ripsaw.tasks import RepoTests, load_tasks, suite_hash
from ripsaw.tasks.swebench import CACHE_ENV, patched_files, prebuilt_images
from ripsaw.types import TasksSpec
from tests.tasks import swebench_fixture as fx


@pytest.fixture(autouse=True)
def task_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "task-cache"))
    return tmp_path / "task-cache"


def _load(f: fx.Fixture, **spec: object) -> list:
    return load_tasks(TasksSpec(source=f"swebench:{f.jsonl}", repo_cache=str(f.cache), **spec))  # type: ignore[arg-type]


def test_an_instance_becomes_a_repository_task_with_its_directory_written(tmp_path: Path) -> None:
    f = fx.make(tmp_path)
    [task] = _load(f)
    tests = task.tests
    assert isinstance(tests, RepoTests)
    assert task.id == fx.INSTANCE_ID and task.prompt == fx.ISSUE.strip()
    assert (tests.workdir, tests.tests_into, tests.trust) == ("/testbed", ".", "tests")
    # the sentinel's file (the first id's) is one the test patch writes
    assert tests.fail_to_pass[0].startswith("tests/test_upper.py::") and set(tests.fail_to_pass) == set(fx.FAIL_TO_PASS)
    assert tests.pass_to_pass == tuple(fx.PASS_TO_PASS)
    assert task.metadata == {
        "source": "swebench",
        "repo": fx.REPO,
        "base_commit": f.instance["base_commit"],
        "version": "1.0",
        "environment_setup_commit": f.instance["base_commit"],
        "workspace": "repo-cache",
    }
    d = Path(tests.dir)
    assert (d / "instruction.md").read_text() == fx.ISSUE.strip() + "\n"
    # the workspace: the tree at base_commit (the bug in it, the new tests not), and nothing of git's
    repo = d / "environment" / "repo"
    assert "min(x, lo)" in (repo / "calc" / "ops.py").read_text()
    assert not (repo / "tests" / "test_upper.py").exists() and not (repo / ".git").exists()
    assert (repo / "tests" / "test_ops.py").read_text() == fx.TEST_OPS
    assert "COPY --chown=10001:10001 repo/ /testbed/" in (d / "environment" / "Dockerfile").read_text()
    # the hidden tests: every file the test patch writes, as it leaves them
    hidden = sorted(str(p.relative_to(d / "tests")) for p in (d / "tests").rglob("*") if p.is_file())
    assert hidden == ["tests/test_ops.py", "tests/test_upper.py"]
    assert (d / "tests" / "tests" / "test_ops.py").read_text() == fx.TEST_OPS + fx.TEST_OPS_ADDED
    assert (d / "tests" / "tests" / "test_upper.py").read_text() == fx.TEST_NEW_FILE
    assert (d / "solution" / "gold.patch").read_text() == f.instance["patch"]


def test_the_gold_patch_and_the_test_patch_apply_to_the_written_tree(tmp_path: Path) -> None:
    """The written workspace, patched as validation does, is the upstream fix: checked with git and pytest here."""
    f = fx.make(tmp_path)
    [task] = _load(f)
    d = Path(task.tests.dir)  # type: ignore[union-attr]
    work = tmp_path / "work"
    subprocess.run(["cp", "-r", str(d / "environment" / "repo"), str(work)], check=True)
    fx.git(work, "init", "-q")
    solve = subprocess.run(["bash", str(d / "solution" / "solve.sh")], cwd=work, capture_output=True, text=True)
    assert solve.returncode == 0, solve.stderr
    assert "min(x, hi)" in (work / "calc" / "ops.py").read_text()


def test_the_task_is_cached_and_its_hash_ignores_where_the_cache_is(tmp_path: Path, task_cache: Path) -> None:
    a = fx.make(tmp_path / "a")
    [first] = _load(a)
    [again] = _load(a)
    assert again.tests.dir == first.tests.dir  # type: ignore[union-attr]
    assert len([p for p in task_cache.iterdir() if not p.name.startswith(".")]) == 1
    b = fx.make(tmp_path / "b")  # the same commits (fixed dates), another place
    [elsewhere] = _load(b)
    assert elsewhere.tests.dir == first.tests.dir  # type: ignore[union-attr]
    assert suite_hash([elsewhere]) == suite_hash([first])


def test_plain_lists_and_json_encoded_lists_are_the_same_instance(tmp_path: Path) -> None:
    [plain] = _load(fx.make(tmp_path / "plain", FAIL_TO_PASS=fx.FAIL_TO_PASS, PASS_TO_PASS=fx.PASS_TO_PASS))
    [encoded] = _load(fx.make(tmp_path / "encoded"))
    assert suite_hash([plain]) == suite_hash([encoded])


def test_a_hugging_face_layout_loads_through_datasets(tmp_path: Path) -> None:
    f = fx.make(tmp_path)
    spec = TasksSpec(
        source="swebench:princeton-nlp/SWE-bench_Lite", data_files=str(f.jsonl), split="test", repo_cache=str(f.cache)
    )
    [task] = load_tasks(spec)
    assert task.id == fx.INSTANCE_ID and task.tests.fail_to_pass[0].startswith("tests/test_upper.py")  # type: ignore[union-attr]


def test_only_the_selected_instances_are_written(tmp_path: Path, task_cache: Path) -> None:
    f = fx.make(tmp_path)
    other = dict(f.instance, instance_id="acme__calc-8")
    f.jsonl.write_text(json.dumps(f.instance) + "\n" + json.dumps(other) + "\n")
    [task] = _load(f, ids=("acme__calc-8",))
    assert task.id == "acme__calc-8"
    assert [p.name.split("-")[0] for p in task_cache.iterdir() if not p.name.startswith(".")] == ["acme__calc"]
    assert len(list(task_cache.iterdir())) == 1


def test_ids_that_are_not_pytest_node_ids_are_refused_with_the_runner_named(tmp_path: Path) -> None:
    f = fx.make(tmp_path)
    django = dict(
        f.instance,
        instance_id="django__django-11099",
        repo="django/django",
        FAIL_TO_PASS=json.dumps(["test_ascii_validator (auth_tests.test_validators.UsernameValidatorsTests)"]),
        PASS_TO_PASS="[]",
    )
    f.jsonl.write_text(json.dumps(f.instance) + "\n" + json.dumps(django) + "\n")
    with pytest.raises(ConfigError) as err:
        _load(f)
    message = str(err.value)
    assert f"{f.jsonl}:2: django__django-11099: FAIL_TO_PASS id 'test_ascii_validator (auth_tests" in message
    assert "django/django is tested with Django's tests/runtests.py, not pytest" in message
    assert (
        "1 of 2 selected instance(s) use another runner (django/django 1): select the others with tasks.ids" in message
    )
    [task] = _load(f, ids=(fx.INSTANCE_ID,))  # selecting the pytest one works
    assert task.id == fx.INSTANCE_ID


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"patch": None}, r"instances\.jsonl:1: missing field 'patch'"),
        ({"base_commit": "main"}, r"instances\.jsonl:1: base_commit: expected a git commit hash, got 'main'"),
        ({"repo": "calc"}, r"repo: expected 'owner/name', got 'calc'"),
        ({"FAIL_TO_PASS": "[]"}, r"FAIL_TO_PASS: empty"),
        ({"FAIL_TO_PASS": "[not json"}, r"FAIL_TO_PASS: not a JSON-encoded list"),
        ({"PASS_TO_PASS": json.dumps([fx.FAIL_TO_PASS[0]])}, r"is in both FAIL_TO_PASS and PASS_TO_PASS"),
        ({"test_patch": "just words\n"}, r"test_patch: not a git diff"),
        ({"instance_id": "a b"}, r"instance_id: 'a b' is not an id"),
    ],
)
def test_a_malformed_instance_is_named_with_its_line_and_field(tmp_path: Path, change: dict, message: str) -> None:
    f = fx.make(tmp_path)
    row = {k: v for k, v in {**f.instance, **change}.items() if v is not None}
    f.jsonl.write_text(json.dumps(row) + "\n")
    with pytest.raises(ConfigError, match=message):
        _load(f)


def test_a_patch_that_does_not_apply_at_base_commit_is_named(tmp_path: Path) -> None:
    f = fx.make(tmp_path)
    broken = f.instance["patch"].replace("min(x, lo)", "min(x, nope)")
    f.jsonl.write_text(json.dumps(dict(f.instance, patch=broken)) + "\n")
    with pytest.raises(ConfigError, match=r"instances\.jsonl:1: patch does not apply at base_commit [0-9a-f]{40}"):
        _load(f)


def test_no_workspace_names_the_image_and_the_clones_looked_for(tmp_path: Path) -> None:
    f = fx.make(tmp_path)
    empty = tmp_path / "empty-cache"
    empty.mkdir()
    with pytest.raises(ConfigError) as err:
        load_tasks(TasksSpec(source=f"swebench:{f.jsonl}", repo_cache=str(empty)))
    named = "no image sweb.eval.x86_64.acme__calc-7:latest or swebench/sweb.eval.x86_64.acme_1776_calc-7:latest"
    assert named in str(err.value)
    assert f"no clone of acme/calc in {empty} (looked for {empty / 'acme__calc'}, {empty / 'acme/calc'}" in str(
        err.value
    )
    with pytest.raises(ConfigError, match=r"no repository cache \(tasks\.repo_cache, or --repo-cache\)"):
        load_tasks(TasksSpec(source=f"swebench:{f.jsonl}"))


def test_a_clone_without_the_base_commit_says_how_to_update_it(tmp_path: Path) -> None:
    f = fx.make(tmp_path)
    f.jsonl.write_text(json.dumps(dict(f.instance, base_commit="0" * 40)) + "\n")
    with pytest.raises(ConfigError, match=r"the clone .*acme__calc lacks base_commit 0{40} \(update it: git -C"):
        _load(f)


def test_prebuilt_image_names_follow_the_swebench_package() -> None:
    assert prebuilt_images("astropy__astropy-12907") == [
        "sweb.eval.x86_64.astropy__astropy-12907:latest",  # built locally by the harness
        "swebench/sweb.eval.x86_64.astropy_1776_astropy-12907:latest",  # pulled from Docker Hub
        "sweb.eval.x86_64.astropy_1776_astropy-12907:latest",
    ]
    assert prebuilt_images("Psf__Requests-2317")[0] == "sweb.eval.x86_64.psf__requests-2317:latest"


def test_patched_files_follow_adds_renames_and_leave_deletions_out() -> None:
    diff = (
        "diff --git a/t/a.py b/t/a.py\n--- a/t/a.py\n+++ b/t/a.py\n@@ -1 +1 @@\n-x\n+y\n"
        "diff --git a/t/old.py b/t/new.py\nsimilarity index 100%\nrename from t/old.py\nrename to t/new.py\n"
        "diff --git a/t/gone.py b/t/gone.py\ndeleted file mode 100644\n--- a/t/gone.py\n+++ /dev/null\n"
    )
    assert patched_files(diff, "x") == ["t/a.py", "t/new.py"]
    with pytest.raises(ConfigError, match="writes outside the repository"):
        patched_files("diff --git a/../x.py b/../x.py\n--- a/../x.py\n+++ b/../x.py\n", "x")


def test_spec_keys_are_checked_for_the_source(tmp_path: Path) -> None:
    f = fx.make(tmp_path)

    def spec(tasks: str) -> Path:
        path = tmp_path / "s.toml"
        path.write_text(
            f'name = "s"\n[[combos]]\nname = "c"\nprovider = "openai"\nmodel = "m"\n'
            f'base_url = "http://localhost:1/v1"\n[tasks]\n{tasks}\n'
        )
        return path

    loaded = load_spec(spec('source = "swebench:instances.jsonl"\nrepo_cache = "cache"'))
    assert loaded.tasks.source == f"swebench:{f.jsonl}" and loaded.tasks.repo_cache == str(f.cache)
    with pytest.raises(SpecError, match=r"tasks\.repo_cache: applies to the 'swebench:' source only"):
        load_spec(spec('source = "humaneval"\nrepo_cache = "cache"'))
    with pytest.raises(SpecError, match=r"tasks\.preset: does not apply to the swebench: source"):
        load_spec(spec('source = "swebench:instances.jsonl"\npreset = "mbpp"'))
    with pytest.raises(SpecError, match=r"tasks\.split: applies to a Hugging Face dataset"):
        load_spec(spec('source = "swebench:instances.jsonl"\nsplit = "dev"'))
    with pytest.raises(SpecError, match=r"tasks\.repo_cache: directory not found: 'nowhere'"):
        load_spec(spec('source = "swebench:instances.jsonl"\nrepo_cache = "nowhere"'))
    with pytest.raises(SpecError, match=r"tasks\.source: 'swebench:' needs a JSON Lines file"):
        load_spec(spec('source = "swebench:"'))
