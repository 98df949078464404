"""Rule expressions: a safe subset of Python expression syntax, parsed with ``ast``, compiled to polars.

Owns the grammar (which nodes, functions and string tests exist), static types (num, text, bool) and
the null semantics: a zero denominator gives null, a comparison with null is false, arithmetic with
null is null. Each rule becomes one vectorised polars expression. Nothing here calls ``eval`` or runs
rule text as code; any node or name not on the lists below is a load error.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from bidagent.engine.names import Kind, NameSpec

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "Compiled",
    "ExpressionError",
    "compile_expression",
    "parse",
    "syntax_hint",
]

MAX_LENGTH = 2000
MAX_DEPTH = 24
FUNCTIONS = ("min", "max", "clamp", "abs", "round", "coalesce", "log", "sqrt")
STRING_TESTS = ("startswith", "endswith", "contains", "matches")
_CMP: dict[type[ast.cmpop], Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
}
_NULL = pl.lit(None, dtype=pl.Float64)


class ExpressionError(Exception):
    """A rule expression is not allowed; ``offset`` is the 0-based column inside the expression."""

    def __init__(self, message: str, offset: int = 0) -> None:
        self.message = message
        self.offset = offset
        super().__init__(message)


@dataclass
class Compiled:
    """A compiled expression, its static type, and every name it reads (in first-use order)."""

    expr: pl.Expr
    kind: Kind
    names: list[str] = field(default_factory=list)


def parse(source: str) -> ast.expr:
    """Parse an expression string into an AST, with clean errors only."""
    if not isinstance(source, str):
        raise ExpressionError("an expression must be text")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    text = source.strip()
    if not text:
        raise ExpressionError("empty expression")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        hint = syntax_hint(text)
        message = f"syntax error: {exc.msg}" + (f"; {hint}" if hint else "")
        raise ExpressionError(message, max((exc.offset or 1) - 1, 0)) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ExpressionError(f"cannot parse expression: {type(exc).__name__}") from None
    return tree.body


_PERCENT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*%")
_OTHER_SPELLINGS = (("&&", "and"), ("||", "or"))
_UPPER_WORDS = re.compile(r"\b(AND|OR|NOT|And|Or|Not)\b")
_SINGLE_EQUALS = re.compile(r"(?<![=!<>])=(?!=)")
_BANG = re.compile(r"!(?!=)")


def syntax_hint(text: str) -> str | None:
    """What the author most likely meant, for the mistakes people make writing rules: a
    percentage (``acos > 50%``: ratios are fractions), C's ``&&``/``||``/``!``, ``AND`` in capitals,
    ``=`` for ``==``. None when nothing looks familiar."""
    found = _PERCENT.search(text)
    if found:
        fraction = format(float(found.group(1)) / 100, "g")
        fixed = _PERCENT.sub(lambda m: format(float(m.group(1)) / 100, "g"), text)
        subject = "ACoS is a fraction" if "acos" in text.lower() else "ratios are fractions"
        return f"{subject}: write {fixed} ({fraction} for {found.group(1)}%)"
    for wrong, right in _OTHER_SPELLINGS:
        if wrong in text:
            return f"write '{right}' instead of '{wrong}'"
    word = _UPPER_WORDS.search(text)
    if word:
        return f"write '{word.group(1).lower()}' in lower case"
    if _SINGLE_EQUALS.search(text):
        return "compare with '==' ('=' is not a comparison)"
    if _BANG.search(text):
        return "write 'not' instead of '!'"
    return None


def _null_if_any(args: list[pl.Expr], value: pl.Expr) -> pl.Expr:
    return pl.when(pl.any_horizontal([a.is_null() for a in args])).then(_NULL).otherwise(value)


class _Compiler:
    def __init__(self, resolve: Callable[[str], NameSpec]) -> None:
        self.resolve = resolve
        self.names: list[str] = []
        self.depth = 0

    def compile(self, node: ast.expr) -> tuple[pl.Expr, Kind]:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise ExpressionError(f"expression nested deeper than {MAX_DEPTH}", node.col_offset)
            method = getattr(self, f"on_{type(node).__name__.lower()}", None)
            if method is None:
                raise ExpressionError(
                    f"'{type(node).__name__}' is not allowed in rule expressions", node.col_offset
                )
            return method(node)  # type: ignore[no-any-return]
        finally:
            self.depth -= 1

    def expect(self, node: ast.expr, kind: Kind, what: str) -> pl.Expr:
        expr, got = self.compile(node)
        if got != kind:
            raise ExpressionError(f"{what} needs a {kind} value, got {got}", node.col_offset)
        return expr

    def on_constant(self, node: ast.Constant) -> tuple[pl.Expr, Kind]:
        value = node.value
        if isinstance(value, bool):
            return pl.lit(value), "bool"
        if isinstance(value, int | float):
            # Finite and bounded, so no arithmetic of literals overflows a float.
            if abs(value) > 10**15 or not math.isfinite(value):
                raise ExpressionError("number too large", node.col_offset)
            return pl.lit(float(value), dtype=pl.Float64), "num"
        if isinstance(value, str):
            return pl.lit(value, dtype=pl.Utf8), "text"
        raise ExpressionError(f"literal {value!r} is not allowed", node.col_offset)

    def on_name(self, node: ast.Name) -> tuple[pl.Expr, Kind]:
        try:
            spec = self.resolve(node.id)
        except KeyError as exc:
            raise ExpressionError(str(exc.args[0]), node.col_offset) from None
        if node.id not in self.names:
            self.names.append(node.id)
        return pl.col(node.id), spec.kind

    def on_unaryop(self, node: ast.UnaryOp) -> tuple[pl.Expr, Kind]:
        if isinstance(node.op, ast.Not):
            return ~self.expect(node.operand, "bool", "'not'"), "bool"
        operand = self.expect(node.operand, "num", "a sign")
        if isinstance(node.op, ast.USub):
            return -operand, "num"
        if isinstance(node.op, ast.UAdd):
            return operand, "num"
        raise ExpressionError("'~' is not allowed", node.col_offset)

    def on_binop(self, node: ast.BinOp) -> tuple[pl.Expr, Kind]:
        left = self.expect(node.left, "num", "arithmetic")
        right = self.expect(node.right, "num", "arithmetic")
        if isinstance(node.op, ast.Add):
            return left + right, "num"
        if isinstance(node.op, ast.Sub):
            return left - right, "num"
        if isinstance(node.op, ast.Mult):
            return left * right, "num"
        if isinstance(node.op, ast.Div):
            return pl.when(right == 0).then(_NULL).otherwise(left / right), "num"
        raise ExpressionError(
            f"operator '{type(node.op).__name__}' is not allowed (use + - * /)", node.col_offset
        )

    def on_boolop(self, node: ast.BoolOp) -> tuple[pl.Expr, Kind]:
        parts = [self.expect(v, "bool", "'and'/'or'") for v in node.values]
        result = parts[0]
        for part in parts[1:]:
            result = result & part if isinstance(node.op, ast.And) else result | part
        return result, "bool"

    def on_compare(self, node: ast.Compare) -> tuple[pl.Expr, Kind]:
        results: list[pl.Expr] = []
        left, left_kind = self.compile(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                results.append(self._membership(left, left_kind, op, comparator))
                continue
            right, right_kind = self.compile(comparator)
            if type(op) not in _CMP:
                raise ExpressionError("'is' is not allowed; use == or !=", comparator.col_offset)
            if left_kind != right_kind:
                raise ExpressionError(
                    f"cannot compare {left_kind} with {right_kind}", comparator.col_offset
                )
            if left_kind == "bool" and not isinstance(op, ast.Eq | ast.NotEq):
                raise ExpressionError("booleans only compare with == or !=", comparator.col_offset)
            results.append(_CMP[type(op)](left, right).fill_null(value=False))
            left, left_kind = right, right_kind
        out = results[0]
        for r in results[1:]:
            out = out & r
        return out, "bool"

    def _membership(self, left: pl.Expr, kind: Kind, op: ast.cmpop, node: ast.expr) -> pl.Expr:
        if not isinstance(node, ast.List | ast.Tuple | ast.Set):
            raise ExpressionError('\'in\' needs a literal list, e.g. ["a", "b"]', node.col_offset)
        values = []
        for item in node.elts:
            if not isinstance(item, ast.Constant) or isinstance(item.value, bool):
                raise ExpressionError("'in' lists hold literal numbers or strings", item.col_offset)
            item_kind = "text" if isinstance(item.value, str) else "num"
            if item_kind != kind:
                raise ExpressionError(f"'in' list item is {item_kind}, not {kind}", item.col_offset)
            values.append(float(item.value) if isinstance(item.value, int | float) else item.value)
        dtype = pl.Float64 if kind == "num" else pl.Utf8
        member = left.cast(dtype).is_in(pl.lit(pl.Series(values, dtype=dtype)).implode())
        if isinstance(op, ast.NotIn):
            member = ~member
        return member.fill_null(value=False)

    def on_ifexp(self, node: ast.IfExp) -> tuple[pl.Expr, Kind]:
        test = self.expect(node.test, "bool", "a condition")
        body, body_kind = self.compile(node.body)
        other, other_kind = self.compile(node.orelse)
        if body_kind != other_kind:
            raise ExpressionError(
                f"both branches need the same type ({body_kind} vs {other_kind})", node.col_offset
            )
        return pl.when(test.fill_null(value=False)).then(body).otherwise(other), body_kind

    def on_call(self, node: ast.Call) -> tuple[pl.Expr, Kind]:
        if node.keywords:
            raise ExpressionError("keyword arguments are not allowed", node.col_offset)
        if isinstance(node.func, ast.Attribute):
            return self._string_test(node)
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            shown = ast.unparse(node.func)
            raise ExpressionError(
                f"unknown function '{shown}' (allowed: {', '.join(FUNCTIONS)})", node.col_offset
            )
        name, args = node.func.id, node.args
        arity = {"clamp": (3, 3), "abs": (1, 1), "round": (1, 2), "log": (1, 1), "sqrt": (1, 1)}
        low, high = arity.get(name, (2, 8))
        if not low <= len(args) <= high:
            raise ExpressionError(f"{name}() takes {low} to {high} arguments", node.col_offset)
        if name == "coalesce":
            compiled = [self.compile(a) for a in args]
            kinds = {k for _, k in compiled}
            if len(kinds) != 1:
                raise ExpressionError("coalesce() arguments need one type", node.col_offset)
            return pl.coalesce([e for e, _ in compiled]), compiled[0][1]
        if name == "round":
            value = self.expect(args[0], "num", "round()")
            digits = 0
            if len(args) == 2:
                arg = args[1]
                if not (
                    isinstance(arg, ast.Constant) and type(arg.value) is int and 0 <= arg.value <= 6
                ):
                    raise ExpressionError("round() digits is a whole number 0..6", arg.col_offset)
                digits = arg.value
            return value.round(digits), "num"
        values = [self.expect(a, "num", f"{name}()") for a in args]
        if name == "min":
            return _null_if_any(values, pl.min_horizontal(values)), "num"
        if name == "max":
            return _null_if_any(values, pl.max_horizontal(values)), "num"
        if name == "clamp":
            x, lo, hi = values
            return _null_if_any(values, pl.min_horizontal(pl.max_horizontal(x, lo), hi)), "num"
        x = values[0]
        if name == "abs":
            return x.abs(), "num"
        if name == "log":
            return pl.when(x > 0).then(x.log()).otherwise(_NULL), "num"
        return pl.when(x >= 0).then(x.sqrt()).otherwise(_NULL), "num"  # sqrt

    def _string_test(self, node: ast.Call) -> tuple[pl.Expr, Kind]:
        func = node.func
        assert isinstance(func, ast.Attribute)
        if func.attr not in STRING_TESTS:
            raise ExpressionError(
                f"unknown string test '.{func.attr}' (allowed: {', '.join(STRING_TESTS)})",
                node.col_offset,
            )
        subject = self.expect(func.value, "text", f".{func.attr}()")
        if len(node.args) != 1 or not (
            isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
        ):
            raise ExpressionError(f".{func.attr}() takes one literal string", node.col_offset)
        text = node.args[0].value
        if func.attr == "startswith":
            out = subject.str.starts_with(text)
        elif func.attr == "endswith":
            out = subject.str.ends_with(text)
        elif func.attr == "contains":
            out = subject.str.contains(text, literal=True)
        else:
            try:
                re.compile(text)
                pl.select(pl.lit("").str.contains(text))
            except Exception as exc:  # any regex engine refusal is a load error
                raise ExpressionError(
                    f"bad regex {text!r}: {exc}", node.args[0].col_offset
                ) from None
            out = subject.str.contains(text)
        return out.fill_null(value=False), "bool"


def compile_expression(
    source: str | ast.expr, resolve: Callable[[str], NameSpec], *, expect: Kind | None = None
) -> Compiled:
    """Compile an expression (text or an already-parsed node) against a name resolver."""
    node = parse(source) if isinstance(source, str) else source
    compiler = _Compiler(resolve)
    try:
        expr, kind = compiler.compile(node)
    except RecursionError:
        raise ExpressionError(f"expression nested deeper than {MAX_DEPTH}") from None
    if expect is not None and kind != expect:
        raise ExpressionError(f"expected a {expect} expression, got {kind}")
    return Compiled(expr, kind, compiler.names)
