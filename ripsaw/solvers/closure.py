"""The part of a candidate program its entry point needs: the entry point plus its dependency closure.

A model's reply often wraps a correct function in code nobody asked for: usage examples, `input()` prompts, a
checker of its own with a wrong expectation, a helper that does not even parse. Run at import, any of it can turn a
correct entry point into an error. So a function task's candidate keeps only the top-level statements the entry
point needs, in source order, and every other top-level statement is dropped and recorded.

Statements. The program is split into top-level statements with `ast` when it parses; when it does not, it is
split at column-0 lines (not `else`/`elif`/`except`/`finally`, closing brackets or comments), each chunk extended
over following column-0 lines until it parses (a string or bracket spanning them), up to `_MAX_SPAN` of them. A
chunk that never parses is *unparseable*: its head tells what it binds (`def f`, `class C`, `x =`, an import), and it
is kept only if that name is needed, which makes the program a syntax error, as it should be.

Needed names. Scope analysis (`symtable`) of each statement gives the module-level names it reads anywhere: in
function and method bodies (names local to a function do not count; `global` names do), decorators, default
arguments, annotations, class bases and keywords, class bodies and comprehensions. The closure starts from the
statements that bind the entry point (its class for `Class.method`) and adds, until nothing changes:
  - every statement that binds a needed name: def, class, import, assignment, and compound statements (`if`,
    `try`, `with`, `for`) that bind it, e.g. `try: from math import comb / except ImportError: def comb(...)`.
    All bindings of a name are kept, so the name ends bound as in the reply.
  - statements that set up state a kept statement uses (module-level code only, not function bodies): a store
    into a needed name (`memo[0] = 1`, `cfg.x = 2`), a mutating method call on a needed name bound by an
    assignment (`PRIMES.append(p)`, in a loop too: `_MUTATORS`), a container function applied to one
    (`heapq.heapify(h)`, `_CONTAINER_FUNCTIONS`), a call of a top-level function other than the entry point
    that stores into a needed name or declares it `global` (`init()`; a call of the entry point itself is the
    model trying its answer, a demo), and process settings whatever they touch (`_PROCESS_SETUP`:
    `sys.setrecursionlimit`, `random.seed`, …), which a recursive or seeded entry point may rely on without
    naming the module.
  - `from __future__` imports, always (they change how the kept code compiles).
  - star imports, when a needed name is bound by no statement and is not a builtin: it may come from one.
Nothing else is kept: calls, loops, prints, asserts, `if __name__ == "__main__":` blocks, `__all__`, unused
imports (an import of a module the sandbox lacks costs nothing unless the entry point uses it), the model's own
checkers. A statement sharing a line with a kept one (`x = f(); print(x)`) stays, with what it needs: removing it
would need a rewrite.

The closure is not applied when the entry point is bound by no statement (the attempt fails either way; nothing is
guessed) or when the program is a stdin/stdout program (its top-level code is the program).
"""

from __future__ import annotations

import ast
import builtins
import re
import symtable
import warnings
from dataclasses import dataclass, field

from ripsaw.records import DroppedStatement

_MAX_SPAN = 40  # column-0 lines one statement may span (strings, brackets) in a program that does not parse
_TEXT_CHARS = 120  # of a dropped statement's first line, in the record
_WHY_UNNEEDED = "the entry point does not need it (binds no name it uses, sets up no state it reads)"
_WHY_UNPARSEABLE = "does not parse, and binds no name the entry point uses"
_BUILTINS = frozenset(dir(builtins)) | {"__name__", "__file__", "__builtins__", "__doc__", "__spec__"}
_CONTINUATION = re.compile(r"(else|elif|except|finally)\b|[)\]}#]")
_HEAD = re.compile(
    r"(?:async\s+)?def\s+(?P<def>\w+)|class\s+(?P<cls>\w+)"
    r"|(?P<imp>import\s|from\s)"
    r"|(?P<assign>\w+(?:\s*,\s*\w+)*)\s*(?::[^=]*)?=(?!=)"
)
# Methods that change the object they are called on (builtin containers, deque, Counter, set).
_MUTATORS = frozenset(
    (
        "append",
        "extend",
        "insert",
        "remove",
        "pop",
        "clear",
        "update",
        "add",
        "discard",
        "setdefault",
        "sort",
        "reverse",
        "appendleft",
        "extendleft",
        "popleft",
        "rotate",
        "subtract",
        "difference_update",
        "intersection_update",
        "symmetric_difference_update",
        "popitem",
    )
)
# Functions that change the container passed first.
_CONTAINER_FUNCTIONS = frozenset(
    (
        "heapq.heappush",
        "heapq.heapify",
        "heapq.heappop",
        "heapq.heappushpop",
        "heapq.heapreplace",
        "bisect.insort",
        "bisect.insort_left",
        "bisect.insort_right",
        "random.shuffle",
    )
)
# Calls that configure the interpreter or a library's global state.
_PROCESS_SETUP = frozenset(
    (
        "sys.setrecursionlimit",
        "sys.set_int_max_str_digits",
        "threading.stack_size",
        "random.seed",
        "numpy.random.seed",
        "decimal.getcontext",
        "resource.setrlimit",
    )
)


@dataclass(slots=True)
class _Stmt:
    first: int  # 1-based line of the program, decorators included
    last: int
    node: ast.stmt | None  # None: the lines do not parse
    binds: set[str] = field(default_factory=set)
    reads: set[str] = field(default_factory=set)
    global_stores: set[str] = field(default_factory=set)  # names a function body declares `global` and assigns


def statements(code: str) -> list[_Stmt]:
    """The top-level statements of `code`, tolerantly (see the module docstring); line numbers are 1-based."""
    tree = parse(code)
    if tree is not None:
        return [_stmt(node) for node in tree.body]
    lines = code.split("\n")
    starts = [i for i, line in enumerate(lines) if line[:1].strip() and not _CONTINUATION.match(line)]
    if not starts or (starts[0] != 0 and "\n".join(lines[: starts[0]]).strip()):
        starts.insert(0, 0)
    out: list[_Stmt] = []
    k = 0
    while k < len(starts):
        for m in range(k + 1, min(k + _MAX_SPAN, len(starts)) + 1):
            end = starts[m] if m < len(starts) else len(lines)
            chunk = parse("\n".join(lines[starts[k] : end]))
            if chunk is not None:
                ast.increment_lineno(chunk, starts[k])  # the nodes carry the program's line numbers
                out.extend(_stmt(node) for node in chunk.body)
                k = m
                break
        else:
            end = starts[k + 1] if k + 1 < len(starts) else len(lines)
            while end > starts[k] + 1 and not lines[end - 1].strip():
                end -= 1
            if "\n".join(lines[starts[k] : end]).strip():
                out.append(_unparseable(lines[starts[k] : end], starts[k]))
            k += 1
    return out


def defines(stmts: list[_Stmt], entry_point: str) -> bool:
    """Whether a parseable statement binds the entry point (for `Class.method`, a class with that method)."""
    return any(_binds_entry(s, entry_point) for s in stmts if s.node is not None)


def keep_needed(code: str, entry_point: str) -> tuple[str, list[DroppedStatement], str]:
    """(program, dropped statements, note): `code` reduced to what `entry_point` needs. The note says why nothing
    was pruned when the closure could not be applied ("" otherwise)."""
    stmts = statements(code)
    roots = [s for s in stmts if _binds_entry(s, entry_point)]
    if not roots:
        return code, [], "the entry point is not defined at top level: nothing pruned"
    kept = {id(s) for s in roots}
    for s in stmts:
        if isinstance(s.node, ast.ImportFrom) and s.node.module == "__future__":
            kept.add(id(s))
    aliases = _import_aliases(stmts)
    data = {n for s in stmts if isinstance(s.node, ast.Assign | ast.AnnAssign | ast.AugAssign) for n in s.binds}
    bound = {n for s in stmts for n in s.binds}
    while True:
        _close(stmts, kept, entry_point, aliases, data, bound)
        # A statement sharing a line with a kept one stays (removing it would need a rewrite), and so must what
        # it needs.
        kept_lines = {n for s in stmts if id(s) in kept for n in range(s.first, s.last + 1)}
        sharing = {id(s) for s in stmts if id(s) not in kept and kept_lines & set(range(s.first, s.last + 1))}
        if not sharing:
            break
        kept |= sharing
    dropped = [s for s in stmts if id(s) not in kept]
    lines = code.split("\n")
    remove = {n for s in dropped for n in range(s.first, s.last + 1)}
    records = [_record(s, lines) for s in dropped]
    program = "\n".join(line for n, line in enumerate(lines, start=1) if n not in remove)
    return program, records, ""


def _close(
    stmts: list[_Stmt], kept: set[int], entry_point: str, aliases: dict[str, str], data: set[str], bound: set[str]
) -> None:
    """Add to `kept` every statement the kept ones need, until nothing changes (the rules: module docstring)."""
    changed = True
    while changed:
        changed = False
        needed = {n for s in stmts if id(s) in kept for n in s.reads}
        # Top-level functions that, when called, store into a needed name they see as global. A call of the entry
        # point itself is a demo (the model trying its answer), whatever it changes.
        setup_functions = {
            s.node.name
            for s in stmts
            if isinstance(s.node, ast.FunctionDef | ast.AsyncFunctionDef)
            and s.node.name != entry_point
            and (s.global_stores & needed or _stores_into(s.node, needed & s.reads, data, aliases))
        }
        for s in stmts:
            if id(s) in kept:
                continue
            if (
                s.binds & needed
                or (_is_star_import(s) and needed - bound - _BUILTINS)
                or (s.node is not None and _sets_up(s.node, needed, data, aliases, setup_functions))
            ):
                kept.add(id(s))
                changed = True


# ---- statements ----------------------------------------------------------------------------------------------


def _stmt(node: ast.stmt) -> _Stmt:
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    s = _Stmt(first=first, last=node.end_lineno or node.lineno, node=node)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = symtable.symtable(ast.unparse(node), "<statement>", "exec")
    except (SyntaxError, ValueError, RecursionError):
        # Valid only in a larger context (`return`/`yield`/`nonlocal` at top level): it binds and reads nothing.
        return s
    for sym in table.get_symbols():
        if sym.is_imported() or sym.is_assigned() or sym.is_namespace():
            s.binds.add(sym.get_name())
        if sym.is_referenced():
            s.reads.add(sym.get_name())
    stack = list(table.get_children())
    while stack:
        child = stack.pop()
        stack.extend(child.get_children())
        for sym in child.get_symbols():
            if sym.is_global() and (sym.is_referenced() or sym.is_declared_global()):
                s.reads.add(sym.get_name())
            if sym.is_declared_global() and sym.is_assigned():
                s.global_stores.add(sym.get_name())
    if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
        s.binds.discard("*")
    return s


def _unparseable(lines: list[str], offset: int) -> _Stmt:
    s = _Stmt(first=offset + 1, last=offset + len(lines), node=None)
    m = _HEAD.match(lines[0])
    if m is None:
        return s
    if m["def"] or m["cls"]:
        s.binds.add(m["def"] or m["cls"])
    elif m["imp"]:
        # `import a.b as c, d` / `from m import (x as y, z`: the last word of each comma-separated part.
        names = re.sub(r"^from\s+\S+\s+import\s+|^import\s+", "", lines[0]).strip("() \\")
        s.binds.update(p.split()[-1].split(".")[0] for p in names.split(",") if p.split())
    else:
        s.binds.update(n.strip() for n in m["assign"].split(","))
    return s


def _binds_entry(s: _Stmt, entry_point: str) -> bool:
    cls, _, name = entry_point.rpartition(".")
    if not cls:
        return name in s.binds and not isinstance(s.node, ast.Import | ast.ImportFrom)
    if s.node is None:
        return cls in s.binds
    return any(
        isinstance(n, ast.ClassDef)
        and n.name == cls
        and any(isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef) and m.name == name for m in n.body)
        for n in ([s.node] if isinstance(s.node, ast.ClassDef) else ast.walk(s.node))
    )


def _is_star_import(s: _Stmt) -> bool:
    return isinstance(s.node, ast.ImportFrom) and any(a.name == "*" for a in s.node.names)


def _import_aliases(stmts: list[_Stmt]) -> dict[str, str]:
    """Local name -> dotted origin for top-level imports (`np` -> `numpy`, `seed` -> `random.seed`)."""
    out: dict[str, str] = {}
    for s in stmts:
        if isinstance(s.node, ast.Import):
            for a in s.node.names:
                out[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(s.node, ast.ImportFrom) and s.node.module:
            for a in s.node.names:
                out[a.asname or a.name] = f"{s.node.module}.{a.name}"
    return out


# ---- setup statements ----------------------------------------------------------------------------------------


def _sets_up(
    node: ast.stmt, needed: set[str], data: set[str], aliases: dict[str, str], setup_functions: set[str]
) -> bool:
    """Whether module-level code of `node` (not function or class bodies) configures state the kept code uses."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Import | ast.ImportFrom):
        return False
    for sub in _module_level_nodes(node):
        if isinstance(sub, ast.Call):
            called = _dotted(sub.func, aliases)
            if called in _PROCESS_SETUP or called in setup_functions:
                return True
            if called in _CONTAINER_FUNCTIONS and sub.args and _root(sub.args[0]) in needed:
                return True
    return _stores_into(node, needed, data, aliases)


def _stores_into(node: ast.AST, needed: set[str], data: set[str], aliases: dict[str, str]) -> bool:
    """A subscript/attribute store or a mutating method call on a needed name, anywhere in `node`."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Subscript | ast.Attribute) and isinstance(sub.ctx, ast.Store | ast.Del):
            root = _root(sub)
            if root in needed or _dotted(sub.value, aliases) in _PROCESS_SETUP:
                return True
        elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr in _MUTATORS:
            root = _root(sub.func.value)
            if root in needed and root in data:
                return True
    return False


def _module_level_nodes(node: ast.AST) -> list[ast.AST]:
    """Every node of `node` that runs at import: not inside a def, lambda or class body."""
    out: list[ast.AST] = []
    stack = [node]
    while stack:
        sub = stack.pop()
        out.append(sub)
        if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef) and sub is not node:
            continue
        stack.extend(ast.iter_child_nodes(sub))
    return out


def _root(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str | None:
    """`np.random.seed` -> "numpy.random.seed" through the program's imports; None for anything but names."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Call):  # decimal.getcontext().prec = 50
        return _dotted(node.func, aliases)
    if not isinstance(node, ast.Name):
        return None
    return ".".join([aliases.get(node.id, node.id), *reversed(parts)])


# ---- records -------------------------------------------------------------------------------------------------


def _record(s: _Stmt, lines: list[str]) -> DroppedStatement:
    text = lines[s.first - 1].strip()
    return DroppedStatement(
        line=s.first,
        kind=_kind(s),
        name=",".join(sorted(s.binds)),
        text=text if len(text) <= _TEXT_CHARS else text[: _TEXT_CHARS - 1] + "…",
        why=_WHY_UNPARSEABLE if s.node is None else _WHY_UNNEEDED,
    )


def _kind(s: _Stmt) -> str:
    node = s.node
    if node is None:
        return "unparseable"
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return "def"
    if isinstance(node, ast.ClassDef):
        return "class"
    if isinstance(node, ast.Import | ast.ImportFrom):
        return "import"
    if isinstance(node, ast.Assert):
        return "assert"
    if isinstance(node, ast.If) and "__name__" in {n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)}:
        return "main_guard"
    if isinstance(node, ast.For | ast.While | ast.AsyncFor):
        return "loop"
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
        return "assignment"
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        return "print" if isinstance(node.value.func, ast.Name) and node.value.func.id == "print" else "call"
    return "other"


def parse(code: str) -> ast.Module | None:
    try:
        # Parsing warns about things like invalid escape sequences; those are the sandbox's business.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # ValueError: null bytes
        return None
