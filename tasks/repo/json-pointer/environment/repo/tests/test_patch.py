import pytest

from jptr import PatchError, apply_patch


def test_add_replace_remove():
    doc = {"a": 1, "b": {"c": 2}}
    out = apply_patch(doc, [
        {"op": "add", "path": "/d", "value": [1]},
        {"op": "replace", "path": "/a", "value": 10},
        {"op": "remove", "path": "/b/c"},
    ])
    assert out == {"a": 10, "b": {}, "d": [1]}
    assert doc == {"a": 1, "b": {"c": 2}}


def test_insert_into_array():
    assert apply_patch([1, 3], [{"op": "add", "path": "/1", "value": 2}]) == [1, 2, 3]


def test_move_and_copy():
    doc = {"a": {"x": 1}, "b": {}}
    out = apply_patch(doc, [{"op": "copy", "from": "/a/x", "path": "/b/y"}, {"op": "move", "from": "/a", "path": "/c"}])
    assert out == {"b": {"y": 1}, "c": {"x": 1}}


def test_test_op_failure_names_the_operation():
    with pytest.raises(PatchError, match="operation 1: test failed"):
        apply_patch({"a": 1}, [{"op": "replace", "path": "/a", "value": 2}, {"op": "test", "path": "/a", "value": 1}])


def test_move_into_itself():
    with pytest.raises(PatchError):
        apply_patch({"a": {"b": {}}}, [{"op": "move", "from": "/a", "path": "/a/b/c"}])


def test_replace_root():
    assert apply_patch({"a": 1}, [{"op": "replace", "path": "", "value": [1]}]) == [1]
