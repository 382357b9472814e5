import pytest

from jptr import PatchError, PointerError, apply_patch, parse, resolve, to_pointer


def test_add_appends_at_dash():
    doc = {"tags": ["alpha"], "nested": {"list": []}}
    out = apply_patch(doc, [
        {"op": "add", "path": "/tags/-", "value": "beta"},
        {"op": "add", "path": "/nested/list/-", "value": {"k": 1}},
        {"op": "add", "path": "/tags/-", "value": "gamma"},
    ])
    assert out == {"tags": ["alpha", "beta", "gamma"], "nested": {"list": [{"k": 1}]}}
    assert doc == {"tags": ["alpha"], "nested": {"list": []}}
    assert apply_patch([1, 2], [{"op": "add", "path": "/-", "value": 3}]) == [1, 2, 3]


def test_copy_and_move_to_the_end_of_a_list():
    doc = {"a": [1, 2], "b": ["x"], "c": 5}
    out = apply_patch(doc, [
        {"op": "copy", "from": "/a/0", "path": "/b/-"},
        {"op": "move", "from": "/c", "path": "/a/-"},
    ])
    assert out == {"a": [1, 2, 5], "b": ["x", 1]}


def test_tilde_one_in_a_key():
    doc = {"ratio~1": 0.5, "ratio/": "wrong", "~01": "tilde-zero-one"}
    assert resolve(doc, "/ratio~01") == 0.5
    assert resolve(doc, "/~001") == "tilde-zero-one"
    assert parse("/a~01b/~10") == ["a~1b", "/0"]
    for tokens in (["ratio~1"], ["~0", "~1", "a~01/b"], ["~"]):
        assert parse(to_pointer(tokens)) == tokens
        assert to_pointer(parse(to_pointer(tokens))) == to_pointer(tokens)
    out = apply_patch(doc, [{"op": "replace", "path": "/ratio~01", "value": 0.75}])
    assert out["ratio~1"] == 0.75 and out["ratio/"] == "wrong"


def test_dash_names_no_existing_element():
    doc = {"list": [1, 2]}
    with pytest.raises(PointerError):
        resolve(doc, "/list/-")
    for op in ({"op": "remove", "path": "/list/-"}, {"op": "replace", "path": "/list/-", "value": 0},
               {"op": "test", "path": "/list/-", "value": 2}, {"op": "copy", "from": "/list/-", "path": "/x"}):
        with pytest.raises(PatchError):
            apply_patch(doc, [op])


def test_plain_escapes_and_indices():
    doc = {"a/b": 1, "m~n": 2, "list": [1]}
    assert resolve(doc, "/a~1b") == 1 and resolve(doc, "/m~0n") == 2
    assert apply_patch(doc, [{"op": "add", "path": "/list/1", "value": 2}]) == {"a/b": 1, "m~n": 2, "list": [1, 2]}
    with pytest.raises(PatchError):
        apply_patch(doc, [{"op": "add", "path": "/list/3", "value": 9}])
    with pytest.raises(PointerError):
        resolve(doc, "/a~2b")
