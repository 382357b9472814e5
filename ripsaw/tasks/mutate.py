"""Small semantic mutations of Python source, found and applied at the AST level (`ripsaw tasks forge`).

Each mutation changes one place in one function and keeps the rest of the file byte for byte: an expression is
replaced by its mutated form (a single-line node only, so the layout around it survives), a statement by deleting or
inserting whole lines. Kinds:

    comparison      a comparison operator flipped (< and <=, > and >=, == and !=, in and not in, is and is not)
    off-by-one      a range() stop or a slice bound moved by one
    swap-args       the first two positional arguments of a call swapped
    drop-branch     an `else` block removed, or an `if` without one removed
    wrong-default   a parameter's int/bool default changed
    early-return    a bare `return` inserted before a function's last statement

`mutations(source)` lists every site in a stable order (file position, then kind); callers shuffle with their seed.
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass

_FLIP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}


@dataclass(frozen=True, slots=True)
class Mutation:
    function: str  # qualified name in its module: func or Class.method
    kind: str
    line: int  # 1-based line of the change in the original source
    original: str  # the original source
    mutated: str  # the whole mutated source

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.line, self.kind, self.mutated)


def functions(tree: ast.Module) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Module-level functions and methods of module-level classes, with their qualified names."""
    found: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.append((node.name, node))
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    found.append((f"{node.name}.{item.name}", item))
    return found


def mutations(source: str) -> list[Mutation]:
    """Every mutation site of the functions in `source`, each checked to parse and to change the AST."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    before = ast.dump(tree)
    found: dict[tuple[int, str, str], Mutation] = {}
    for name, func in functions(tree):
        for kind, line, mutated in _sites(func, lines):
            if mutated == source:
                continue
            try:
                after = ast.dump(ast.parse(mutated))
            except SyntaxError:
                continue
            if after != before:
                m = Mutation(name, kind, line, source, mutated)
                found.setdefault(m.key, m)
    return [found[k] for k in sorted(found)]


def _sites(func: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> list[tuple[str, int, str]]:
    out: list[tuple[str, int, str]] = []
    docstring = _docstring(func)
    for node in ast.walk(func):
        if node is docstring:
            continue
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _FLIP:
            new = copy.deepcopy(node)
            new.ops = [_FLIP[type(node.ops[0])]()]
            out += _replace(lines, node, new, "comparison")
        elif isinstance(node, ast.Call):
            args = node.args
            if isinstance(node.func, ast.Name) and node.func.id == "range" and 1 <= len(args) <= 2:
                bounded = copy.deepcopy(node)
                bounded.args[-1] = ast.BinOp(bounded.args[-1], ast.Sub(), ast.Constant(1))
                out += _replace(lines, node, bounded, "off-by-one")
            plain = len(args) >= 2 and not any(isinstance(a, ast.Starred) for a in args[:2])
            if plain and ast.dump(args[0]) != ast.dump(args[1]):
                swapped = copy.deepcopy(node)
                swapped.args[0], swapped.args[1] = swapped.args[1], swapped.args[0]
                out += _replace(lines, node, swapped, "swap-args")
        elif isinstance(node, ast.Slice):
            for bound in ("lower", "upper"):
                value = getattr(node, bound)
                if value is not None and not (isinstance(value, ast.Constant) and value.value is None):
                    new = copy.deepcopy(value)
                    out += _replace(lines, value, ast.BinOp(new, ast.Add(), ast.Constant(1)), "off-by-one")
        elif isinstance(node, ast.If):
            out += _drop_branch(node, lines)
    for default in [*func.args.defaults, *(d for d in func.args.kw_defaults if d is not None)]:
        if isinstance(default, ast.Constant):
            value = default.value
            if isinstance(value, bool):
                out += _replace(lines, default, ast.Constant(not value), "wrong-default")
            elif isinstance(value, int):
                out += _replace(lines, default, ast.Constant(value + 1), "wrong-default")
    body = [s for s in func.body if s is not docstring]
    if len(body) >= 2 and not isinstance(body[-1], ast.Return | ast.Raise):
        last = body[-1]
        indent = " " * last.col_offset
        if _plain_line(lines, last.lineno, last.col_offset):
            mutated = [*lines[: last.lineno - 1], f"{indent}return\n", *lines[last.lineno - 1 :]]
            out.append(("early-return", last.lineno, "".join(mutated)))
    return out


def _docstring(func: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST | None:
    first = func.body[0] if func.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first
    return None


def _plain_line(lines: list[str], lineno: int, col: int) -> bool:
    """The statement starts its line (nothing before it but indentation)."""
    return lines[lineno - 1][:col].strip() == ""


def _replace(lines: list[str], node: ast.AST, new: ast.AST, kind: str) -> list[tuple[str, int, str]]:
    """Replace a single-line node's text by the unparsed mutated node. No parentheses are added: every kind keeps
    the node's precedence (a comparison for a comparison, a call for a call) or sits where any expression may
    (a slice bound, a call argument), and parentheses nobody writes would point at the change."""
    lineno, end = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
    col, end_col = getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)
    if lineno is None or lineno != end or col is None or end_col is None:
        return []
    line = lines[lineno - 1]
    raw = line.encode()
    text = ast.unparse(ast.fix_missing_locations(new))
    new_line = (raw[:col] + text.encode() + raw[end_col:]).decode()
    return [(kind, lineno, "".join([*lines[: lineno - 1], new_line, *lines[lineno:]]))]


def _drop_branch(node: ast.If, lines: list[str]) -> list[tuple[str, int, str]]:
    first = lines[node.lineno - 1]
    if not _plain_line(lines, node.lineno, node.col_offset) or node.end_lineno is None:
        return []
    if not re.match(r"if\b", first[node.col_offset :]):
        return []  # an `elif`: removing it would orphan the chain's `else`
    last_body = node.body[-1].end_lineno
    if node.orelse:
        if last_body is None or last_body >= len(lines) or lines[last_body].strip() != "else:":
            return []  # an elif chain, or a comment before `else:`: the lines are not plain to cut
        return [("drop-branch", last_body + 1, "".join(lines[:last_body] + lines[node.end_lineno :]))]
    if node.lineno == node.end_lineno:
        return []  # `if x: y` on one line
    indent = " " * node.col_offset
    replacement = [f"{indent}pass\n"]
    return [("drop-branch", node.lineno, "".join(lines[: node.lineno - 1] + replacement + lines[node.end_lineno :]))]
