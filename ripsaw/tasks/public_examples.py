"""Public tests parsed from the usage examples in a prompt's docstring.

A repair loop needs tests the model may see. HumanEval-style prompts carry them as doctests
(`>>> f(1)` followed by the output) or as free text (`f(1) ==> 2`, `f(1) ➞ 2`, `f(1) should return 2`,
`f(1) = 2`, `f(1) # returns 2`). Only examples whose call and expected value both parse as Python,
with literal arguments and a literal expected value, become asserts; anything else (prose around the
arrow, names standing for values, arithmetic on the right) is skipped rather than guessed.

The examples are read from the source text of the docstring, not from the decoded string, so escapes
written inside examples (`"a\\nb"`) keep their meaning.
"""

from __future__ import annotations

import ast
import builtins
import doctest
import io
import re
import tokenize
from dataclasses import dataclass

from ripsaw.tasks.task import CheckTests

# Floats in examples are printed values: compare with a tolerance, as HumanEval's own checks do.
_FLOAT_TOLERANCE = "1e-6"

# Separators between a call and its result in free-text examples, longest first so `==>` is not read as `==`.
_ARROW = re.compile(r"\s*#?\s*(==>|=>|->|➞|==|=|should\s+return|returns)\s*", re.IGNORECASE)
_BUILTIN_NAMES = frozenset(dir(builtins))


@dataclass(frozen=True, slots=True)
class Example:
    text: str  # the example as written (one line, stripped), used to exclude known-wrong examples
    expr: str  # Python expression over the entry point, e.g. "f([1, 2])"
    expected: str  # Python literal, e.g. "[2, 1]"


def parse_examples(prompt: str, entry_point: str) -> list[Example]:
    """All usable examples for `entry_point` in the prompt, in order of appearance, without duplicates."""
    region = _docstring_source(prompt, entry_point)
    found = [*_doctest_examples(region, entry_point), *_free_text_examples(region, entry_point)]
    seen: set[tuple[str, str]] = set()
    unique = []
    for ex in found:
        if (ex.expr, ex.expected) not in seen:
            seen.add((ex.expr, ex.expected))
            unique.append(ex)
    return unique


def public_tests_from_prompt(prompt: str, entry_point: str, exclude: frozenset[str] = frozenset()) -> CheckTests | None:
    """A `check(candidate)` built from the prompt's examples; None when no example parses.

    `exclude` holds example texts (as in `Example.text`) known to contradict the reference solution.
    """
    examples = [ex for ex in parse_examples(prompt, entry_point) if ex.text not in exclude]
    if not examples:
        return None
    lines = ["def check(candidate):"]
    for ex in examples:
        call = _rename(ex.expr, entry_point)
        if isinstance(ast.literal_eval(ex.expected), float):
            expected = f"({ex.expected})" if ex.expected.startswith("-") else ex.expected
            lines.append(f"    assert abs({call} - {expected}) < {_FLOAT_TOLERANCE}")
        else:
            lines.append(f"    assert {call} == {ex.expected}")
    return CheckTests(code="\n".join(lines) + "\n")


def _docstring_source(prompt: str, entry_point: str) -> str:
    """The raw source of the entry point's docstring, or the whole prompt when it cannot be located."""
    try:
        tree = ast.parse(prompt)
    except SyntaxError:
        return prompt
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == entry_point:
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                segment = ast.get_source_segment(prompt, first.value)
                return _string_body(segment) if segment else prompt
            return prompt
    return prompt


def _string_body(literal: str) -> str:
    """The text between the quotes of a string literal's source (prefix letters and quotes removed)."""
    body = literal.lstrip("rRuUbBfF")
    quote = body[:3] if body[:3] in ('"""', "'''") else body[:1]
    return body[len(quote) : len(body) - len(quote)]


def _doctest_examples(region: str, entry_point: str) -> list[Example]:
    try:
        parsed = doctest.DocTestParser().get_examples(region)
    except ValueError:  # inconsistent indentation: fall back to free-text forms only
        return []
    out = []
    for ex in parsed:
        source, want = ex.source.strip(), ex.want.strip()
        text = ">>> " + source.replace("\n", " ")
        try:
            node = ast.parse(source, mode="eval").body
        except SyntaxError:
            continue
        if not want:
            # No output: either the value is None (a bare call), or the line is itself a comparison.
            if _is_entry_call(node, entry_point):
                out.append(Example(text, source, "None"))
            elif (
                isinstance(node, ast.Compare)
                and len(node.ops) == 1
                and isinstance(node.ops[0], ast.Eq)
                and _is_entry_call(node.left, entry_point)
                and _is_literal(node.comparators[0])
            ):
                out.append(Example(text, ast.unparse(node.left), ast.unparse(node.comparators[0])))
            continue
        if _uses_only(node, entry_point) and _is_literal_text(want):
            out.append(Example(text, ast.unparse(node), ast.unparse(ast.parse(want, mode="eval").body)))
    return out


def _free_text_examples(region: str, entry_point: str) -> list[Example]:
    out = []
    call_start = re.compile(rf"(?<![\w.]){re.escape(entry_point)}\(")
    for line in region.splitlines():
        stripped = line.strip()
        if stripped.startswith((">>>", "...", "def ")):
            continue
        for m in call_start.finditer(line):
            parsed = _call_then_result(line[m.start() :], entry_point)
            if parsed is not None:
                out.append(Example(stripped, *parsed))
    return out


def _call_then_result(text: str, entry_point: str) -> tuple[str, str] | None:
    """Split `f(args) ==> value ...` into (call, value), or None when either side is not a literal form."""
    for close in (i for i, ch in enumerate(text) if ch == ")"):
        try:
            node = ast.parse(text[: close + 1], mode="eval").body
        except SyntaxError:
            continue
        if not _is_entry_call(node, entry_point):
            return None
        arrow = _ARROW.match(text, close + 1)
        if arrow is None:
            return None
        value = _leading_literal(text[arrow.end() :])
        return None if value is None else (ast.unparse(node), value)
    return None


def _leading_literal(text: str) -> str | None:
    """The literal before an optional trailing comment or full stop: `True.` and `'u' # vowel` both give a value."""
    code = _strip_comment(text).strip()
    if code.endswith("."):  # a sentence's full stop, even after a number ("should return 16.")
        code = code[:-1].rstrip()
    if not code or not _is_literal_text(code):
        return None
    return ast.unparse(ast.parse(code, mode="eval").body)


def _strip_comment(text: str) -> str:
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                return text[: tok.start[1]]
    except (tokenize.TokenError, SyntaxError):
        pass  # unbalanced brackets: the literal check that follows rejects the text
    return text


def _is_entry_call(node: ast.expr, entry_point: str) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == entry_point
        and all(_is_literal(a) for a in node.args)
        and all(k.arg is not None and _is_literal(k.value) for k in node.keywords)
    )


def _uses_only(node: ast.expr, entry_point: str) -> bool:
    """True for an expression that calls the entry point and otherwise uses only builtins and literals."""
    calls = [n for n in ast.walk(node) if isinstance(n, ast.Call)]
    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    return (
        any(_is_entry_call(c, entry_point) for c in calls)
        and names <= _BUILTIN_NAMES | {entry_point}
        and not any(isinstance(n, ast.Attribute | ast.Lambda | ast.NamedExpr) for n in ast.walk(node))
    )


def _is_literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _is_literal_text(text: str) -> bool:
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return False
    return _is_literal(node)


def _rename(expr: str, entry_point: str) -> str:
    class _ToCandidate(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.Name:
            return ast.Name(id="candidate", ctx=node.ctx) if node.id == entry_point else node

    return ast.unparse(_ToCandidate().visit(ast.parse(expr, mode="eval")))
