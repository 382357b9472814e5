"""AST-level mutations for forged tasks: each kind at its site, only that site changed, nothing that does not parse."""

from __future__ import annotations

import ast
import difflib

from ripsaw.tasks.mutate import mutations

SOURCE = '''"""A module."""


def window(items, n=2, strict=False):
    """Docstring with a < b and range(3) in it."""
    if n < 1:
        raise ValueError("n must be positive")
    out = []
    for i in range(len(items)):
        out.append(items[i : i + n])
    if strict:
        out = [w for w in out if len(w) == n]
    else:
        out = list(out)
    return out


class Box:
    def put(self, key, value):
        if key in self.data:
            self.data[key] = value
        elif key is None:
            pass
        else:
            self.data.setdefault(key, value)
        self.count += 1
'''


def _changed(original: str, mutated: str) -> list[str]:
    diff = difflib.unified_diff(original.splitlines(), mutated.splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def test_every_kind_is_found_and_each_mutation_changes_one_site_and_parses() -> None:
    found = mutations(SOURCE)
    kinds = {m.kind for m in found}
    assert kinds == {"comparison", "off-by-one", "swap-args", "drop-branch", "wrong-default", "early-return"}
    for m in found:
        ast.parse(m.mutated)
        assert ast.dump(ast.parse(m.mutated)) != ast.dump(ast.parse(SOURCE))
        assert m.function in ("window", "Box.put")
        changed = _changed(SOURCE, m.mutated)
        assert changed, m
        if m.kind in ("comparison", "off-by-one", "swap-args", "wrong-default"):
            assert len(changed) == 2, (m.kind, changed)  # one line out, one line in


def test_the_sites_are_the_expected_edits() -> None:
    edits = {(m.kind, *_changed(SOURCE, m.mutated)) for m in mutations(SOURCE) if m.kind != "drop-branch"}
    assert ("comparison", "-    if n < 1:", "+    if n <= 1:") in edits
    assert ("off-by-one", "-    for i in range(len(items)):", "+    for i in range(len(items) - 1):") in edits
    assert ("off-by-one", "-        out.append(items[i : i + n])", "+        out.append(items[i : i + n + 1])") in edits
    signature = "-def window(items, n=2, strict=False):"
    assert ("wrong-default", signature, "+def window(items, n=3, strict=False):") in edits
    assert ("wrong-default", signature, "+def window(items, n=2, strict=True):") in edits
    assert ("early-return", "+        return") in edits  # before Box.put's last statement
    swaps = [e for e in edits if e[0] == "swap-args"]
    swapped = ("-            self.data.setdefault(key, value)", "+            self.data.setdefault(value, key)")
    assert ("swap-args", *swapped) in swaps


def test_drop_branch_removes_an_else_or_a_plain_if_but_never_an_elif() -> None:
    drops = [_changed(SOURCE, m.mutated) for m in mutations(SOURCE) if m.kind == "drop-branch"]
    assert ["-    else:", "-        out = list(out)"] in drops
    assert ["-    if n < 1:", '-        raise ValueError("n must be positive")', "+    pass"] in drops
    assert not any(any("elif" in line for line in d) for d in drops)
    # The if/elif/else of Box.put has an elif: its else cannot be cut as plain lines either.
    assert not any("-        else:" in d for d in drops)


def test_docstrings_are_not_mutated_and_the_order_is_stable() -> None:
    first, second = mutations(SOURCE), mutations(SOURCE)
    assert [m.key for m in first] == [m.key for m in second] == sorted(m.key for m in first)
    for m in first:
        assert '"""Docstring with a < b and range(3) in it."""' in m.mutated
