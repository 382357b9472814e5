"""From a model's reply to a candidate program, or None when the reply holds no code (outcome `no_code`).

Nothing here runs code: `ast` only parses. Every rule is deterministic, so the same reply always gives the
same program, whichever server produced it.

complete mode: the program is the task prompt + the continuation.
  - The continuation is cut at the first stop sequence in it, the same list that was requested: servers may
    ignore stops or cap how many they accept, and a server that honours them must give the same program as
    one that does not. With the classic list that includes "\\ndef ", so helper functions a model writes
    after the entry point are dropped, as in HumanEval's own protocol; a spec that leaves "\\ndef " out of
    its stops keeps them.
  - It is also cut where it returns to column 0 with anything but a def, class, decorator or import
    (trailing prose, a closing ``` fence, `assert`/call lines), provided the code before that line parses;
    the parse check keeps lines that only look dedented (string contents, bracket continuations).
  - A stdin/stdout program, or a continuation of a prompt that ends at module level, lives at column 0: only
    trailing lines that do not parse are dropped there.
  - When the prompt sent ends with the task prompt (repair prompts put the failed attempt and the test output
    before it), only the task prompt and the continuation form the program.

chat mode:
  - Thinking is not code: <think>…</think> (also <thinking>, <reasoning>) is removed; a reply that shows only
    the closing tag (the chat template opened it) starts after it; an opening tag never closed means the reply
    is all thinking.
  - Fenced blocks (``` or ~~~, language python/py/python3/py3 or none; other languages are not candidates;
    an unclosed fence runs to the end of the reply, which is how a truncated reply looks). The block that
    defines the entry point wins (for "Class.method" the class with that method; the last such block when
    several do, since later blocks are revisions); else the longest block that parses; else the longest.
  - Names the chosen block uses but never binds are looked up in the other blocks: blocks that define them are
    put before it (a helper in one block, the function in another). Names still missing that the task prompt
    binds at top level (`from typing import List`, a helper it defines) are taken from the prompt.
  - No fence: the whole reply when it parses as code; else from the first line that starts code (def, class,
    import, from … import, decorator) to the end, dropping trailing lines that do not parse.
  - A reply that does not define the entry point while the task prompt ends inside it (HumanEval style, or
    starter code ending in a bare signature) is a body: it is re-indented under the prompt's signature.

Function tasks (not stdin/stdout) then keep only what the entry point needs: the entry point (or its class) and
its dependency closure among the top-level statements, in source order; every other top-level statement (calls,
loops, prints, asserts, main guards, the model's own checkers, a helper that does not parse) is dropped. The rules
of the closure (what "needed" includes: names used in function bodies, decorators, defaults, bases, `global`
names, star imports, setup calls such as `sys.setrecursionlimit`) are in ripsaw.solvers.closure. A stdin/stdout
program is left whole.

Every candidate comes with an `Extraction` record of what was done (blocks joined, body re-indented, continuation
cut, statements dropped and why), stored with the attempt. EXTRACTION_RULES_VERSION changes whenever a rule here or
in ripsaw.solvers.closure changes what a reply becomes: candidates made under different versions are not comparable.
"""

from __future__ import annotations

import ast
import builtins
import re
import textwrap
from dataclasses import dataclass

from ripsaw.records import Extraction
from ripsaw.solvers.closure import defines as _stmts_define
from ripsaw.solvers.closure import keep_needed, parse, statements
from ripsaw.solvers.prompts import CODE_LINE, default_stop, ends_inside_definition, is_stdio
from ripsaw.tasks.task import Task
from ripsaw.types import PromptMode

# 2: the entry point's dependency closure replaced "drop prints, asserts and main guards" (issue 19).
EXTRACTION_RULES_VERSION = 2

_PYTHON_LANGS = frozenset({"", "python", "python3", "py", "py3"})
_THINK_TAGS = ("think", "thinking", "reasoning")
_KNOWN_NAMES = frozenset(dir(builtins)) | {"__file__", "__builtins__", "__annotations__", "__cached__"}
_FENCE_OPEN = re.compile(r"(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)")
_COL0 = re.compile(r"^(?=\S)", re.MULTILINE)
_DefNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def extract_code(
    reply: str,
    task: Task,
    mode: PromptMode,
    *,
    prompt_text: str | None = None,
    stop: tuple[str, ...] | None = None,
) -> str | None:
    """The candidate program for `reply`, ending in one newline, or None when there is no code."""
    return extract(reply, task, mode, prompt_text=prompt_text, stop=stop)[0]


def extract(
    reply: str,
    task: Task,
    mode: PromptMode,
    *,
    prompt_text: str | None = None,
    stop: tuple[str, ...] | None = None,
) -> tuple[str | None, Extraction]:
    """The candidate program for `reply` (None when there is no code) and the record of how it was made.

    prompt_text: (complete mode) the text that was sent, when it was not the task prompt (a repair prompt).
    stop: (complete mode) the stop sequences that were requested; default `default_stop(task, mode)`.
    """
    report = Extraction(rules=EXTRACTION_RULES_VERSION)
    reply = _lf(reply)
    if mode == "complete":
        stops = default_stop(task, mode) if stop is None else stop
        prompt = _lf(task.prompt if prompt_text is None else prompt_text)
        program = _from_continuation(reply, task, prompt, stops, report)
    else:
        program = _from_chat_reply(reply, task, report)
    if program is None or not program.strip():
        return None, report
    if is_stdio(task):
        report.note = "stdin/stdout program: kept whole"
    else:
        program, report.dropped, report.note = keep_needed(program, task.entry_point)
    return program.rstrip() + "\n", report


def strip_thinking(reply: str) -> str:
    """The reply without its reasoning text (see the module docstring); "" when it is all reasoning."""
    text = _lf(reply)
    for tag in _THINK_TAGS:
        open_tag, close_tag = f"<{tag}>", f"</{tag}>"
        text = re.sub(rf"{re.escape(open_tag)}.*?{re.escape(close_tag)}", "", text, flags=re.DOTALL)
        end = text.rfind(close_tag)
        if end >= 0:
            text = text[end + len(close_tag) :]
        if text.lstrip().startswith(open_tag):
            return ""
    return text


# ---- complete mode -------------------------------------------------------------------------------------------


def _from_continuation(
    continuation: str, task: Task, prompt: str, stops: tuple[str, ...], report: Extraction
) -> str | None:
    report.source = "continuation"
    # A stop may begin with the prompt's last character ("\ndef " right after a prompt ending in a newline).
    lead = prompt[-1:]
    joined = lead + continuation
    hits = [i for s in stops if s and (i := joined.find(s)) >= 0]
    if hits:
        continuation = joined[: min(hits)][len(lead) :]
        report.cut = "stop"
    if not continuation.strip():
        return None
    task_prompt = _lf(task.prompt)
    prefix = task_prompt if prompt.endswith(task_prompt) else prompt
    text = prefix + continuation
    if is_stdio(task) or not ends_inside_definition(prefix):
        cut = _drop_trailing_prose(text, len(prefix))
        kind = "prose"
    else:
        cut = _cut_at_dedent(text, len(prefix))
        kind = "dedent"
    if cut != text:
        report.cut = kind
    return cut


def _cut_at_dedent(text: str, start: int) -> str:
    """Cut at the first column-0 line after `start` that is not a def/class/decorator/import, where it parses."""
    for m in _COL0.finditer(text, start):
        end = text.find("\n", m.start())
        if CODE_LINE.match(text[m.start() : end if end >= 0 else len(text)]):
            continue
        head = text[: m.start()]
        if parse(head) is not None:
            return head
    return text


# ---- chat mode -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Block:
    lang: str
    code: str
    tree: ast.Module | None  # the whole block, when it parses
    parts: ast.Module  # its statements that parse (all of them when the block parses)


def _block(lang: str, code: str) -> _Block:
    tree = parse(code)
    if tree is not None:
        return _Block(lang, code, tree, tree)
    # Statement by statement: one broken statement (a checker with a syntax error) does not hide the others.
    parts = [s.node for s in statements(code) if s.node is not None]
    return _Block(lang, code, None, ast.Module(body=parts, type_ignores=[]))


def _from_chat_reply(reply: str, task: Task, report: Extraction) -> str | None:
    text = strip_thinking(reply)
    blocks = [b for b in _fenced_blocks(text) if b.lang in _PYTHON_LANGS and b.code.strip()]
    report.blocks = len(blocks)
    code: str | None
    if blocks:
        report.source = "fence"
        code = _choose_block(blocks, task.entry_point, report)
    else:
        code = _bare_code(text)
        report.source = "text" if code else "none"
    if code is None or not code.strip():
        return None
    return _complete_definition(code, task, report)


def _fenced_blocks(text: str) -> list[_Block]:
    lines = text.split("\n")
    blocks: list[_Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.fullmatch(lines[i])
        if m is None:
            i += 1
            continue
        fence, indent = m["fence"], len(m["indent"])
        close = re.compile(rf"[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*")
        j = i + 1
        while j < len(lines) and not close.fullmatch(lines[j]):
            j += 1
        # A fence indented inside a list item indents its content too; take that indentation off.
        body = [line[min(indent, len(line) - len(line.lstrip())) :] for line in lines[i + 1 : j]]
        info = m["info"].split()
        blocks.append(_block(info[0].lower() if info else "", "\n".join(body)))
        i = j + 1
    return blocks


def _choose_block(blocks: list[_Block], entry_point: str, report: Extraction) -> str:
    defining = [b for b in blocks if entry_point and _defines(b.parts, entry_point)]
    if defining:
        chosen = defining[-1]
    else:
        parsed = [b for b in blocks if b.tree is not None]
        # max() keeps the first of equally long blocks: deterministic.
        chosen = max(parsed or blocks, key=lambda b: len(b.code))
    if not chosen.parts.body:
        return chosen.code
    missing = _unbound_names(chosen.parts)
    helpers = [b.code for b in blocks if b is not chosen and _top_level_names(b.parts) & missing]
    report.joined_blocks = len(helpers)
    return _insert_before(chosen.code, chosen.parts, helpers)


def _bare_code(text: str) -> str | None:
    tree = parse(text)
    if tree is not None and any(not _is_bare_word(node) for node in tree.body):
        return text
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if CODE_LINE.match(line)), None)
    if start is None:
        return None
    return _drop_trailing_prose("\n".join(lines[start:]), 0)


def _is_bare_word(node: ast.stmt) -> bool:
    # "Yes" or "42" alone parses as Python but is prose.
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Name | ast.Constant)


def _complete_definition(code: str, task: Task, report: Extraction) -> str:
    parts = _block("", code).parts
    entry = task.entry_point
    if entry and not is_stdio(task) and not _stmts_define(statements(code), entry):
        body = _under_prompt_signature(code, task)
        if body is not None:
            report.reindented = True
            return body
    if not parts.body:
        return code
    prompt_tree = parse(_lf(task.prompt))
    if prompt_tree is None:
        return code
    missing = _unbound_names(parts)
    prompt_lines = _lf(task.prompt).split("\n")
    context = [
        "\n".join(prompt_lines[_first_line(node) - 1 : node.end_lineno])
        for node in prompt_tree.body
        if not (entry and _node_defines(node, entry)) and _names_bound_by(node) & missing
    ]
    report.prompt_context = len(context)
    return _insert_before(code, parts, context)


def _under_prompt_signature(code: str, task: Task) -> str | None:
    """`code` as the body of the entry point when the task prompt ends inside its definition, else None."""
    prompt = _lf(task.prompt).rstrip()
    tree = parse(prompt)
    if tree is None and prompt.endswith(":"):
        # Starter code stops at a bare signature ("def f(self, x):"), which does not parse without a body.
        last = prompt.rsplit("\n", 1)[-1]
        tree = parse(f"{prompt}\n{' ' * (len(last) - len(last.lstrip()) + 4)}pass")
    if tree is None or not tree.body:
        return None
    cls, _, name = task.entry_point.rpartition(".")
    fn: ast.stmt = tree.body[-1]
    if cls:
        if not (isinstance(fn, ast.ClassDef) and fn.name == cls):
            return None
        fn = fn.body[-1]
    if not (isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) and fn.name == name):
        return None
    if any(line.strip() for line in prompt.split("\n")[fn.end_lineno :]):
        return None
    body = textwrap.dedent(_expand_leading_tabs(code)).strip("\n")
    if not body.strip():
        return None
    program = prompt + "\n" + textwrap.indent(body, " " * fn.body[0].col_offset)
    joined = parse(program)
    if joined is None or not _defines(joined, task.entry_point):
        return None
    return program


def _expand_leading_tabs(code: str) -> str:
    # The prompt indents with spaces; a tab-indented body under it would mix the two.
    return "\n".join(line[: len(line) - len(line.lstrip())].expandtabs(4) + line.lstrip() for line in code.split("\n"))


# ---- shared --------------------------------------------------------------------------------------------------


def _drop_trailing_prose(text: str, start: int) -> str:
    """The longest prefix (cut before a column-0 line after `start`) that parses; `text` if none does."""
    if parse(text) is not None:
        return text
    for m in reversed(list(_COL0.finditer(text, start))):
        head = text[: m.start()]
        if head[start:].strip() and parse(head) is not None:
            return head
    return text


def _insert_before(code: str, tree: ast.Module, pieces: list[str]) -> str:
    """`pieces` then `code`, keeping `from __future__` imports first where Python requires them."""
    if not pieces:
        return code
    future_end = 0
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            future_end = node.end_lineno or node.lineno
        elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            break
    lines = code.split("\n")
    head, rest = "\n".join(lines[:future_end]), "\n".join(lines[future_end:]).lstrip("\n")
    joined = "\n\n".join(p.strip("\n") for p in pieces) + "\n\n\n" + rest
    return f"{head}\n{joined}" if head else joined


def _defines(tree: ast.Module, entry_point: str) -> bool:
    return any(_node_defines(node, entry_point) for node in tree.body)


def _node_defines(node: ast.stmt, entry_point: str) -> bool:
    cls, _, name = entry_point.rpartition(".")
    if cls:
        return (
            isinstance(node, ast.ClassDef)
            and node.name == cls
            and any(isinstance(n, _DefNode) and n.name == name for n in node.body)
        )
    return name in _names_bound_by(node) and not isinstance(node, ast.Import | ast.ImportFrom)


def _names_bound_by(node: ast.stmt) -> set[str]:
    """Names a top-level statement binds in the module namespace."""
    if isinstance(node, _DefNode):
        return {node.name}
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def _top_level_names(tree: ast.Module) -> set[str]:
    return {name for node in tree.body for name in _names_bound_by(node)}


def _unbound_names(tree: ast.Module) -> set[str]:
    """Names read somewhere but bound nowhere in `tree` (a cheap scope-blind approximation), minus builtins."""
    loaded: set[str] = set()
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, _DefNode):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            if node.name == "*":
                return set()  # a star import may bind anything
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            bound.update(node.names)
    return loaded - bound - _KNOWN_NAMES


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")
