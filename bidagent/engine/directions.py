"""Which way a rule can move the field it sets: only up, only down, or either (unknown).

Owns that reading of a rule's ``then`` value, with its ``when`` and ``filter`` conditions, for the
loader's conflict warnings: two rules at the same priority that can move one field in opposite
directions are worth a warning; two that can only lower it (or only raise it) are not. It reads
the forms rules are written in:

* relative steps (``"-20%"``, ``"+0.05"``) and states (``paused`` lowers);
* ``bid * 0.8``, ``bid - 0.1``, ``bid / 2``, ``min(bid, ...)`` (never up), ``max(bid, ...)``
  (never down);
* ``bid * A / B`` (or ``bid * (A / B)``) with a condition ``B > A``, ``B >= k * A`` (``k >= 1``) or
  ``A < B``: the factor is under one, so the bid only falls (and the mirror for rising);
* a new value ``E`` with a condition ``bid < E`` (only up) or ``bid > E`` (only down).

Only conditions joined by ``and`` at the top level count. Anything else is "either", which is
what makes a warning possible. It must not evaluate anything.
"""

from __future__ import annotations

import ast
from typing import Any

from bidagent.engine.schema import is_relative
from bidagent.vocabulary import MONEY_FIELDS

__all__ = ["Direction", "rule_directions"]

Direction = set[str]  # a subset of {"up", "down"}
_BOTH: frozenset[str] = frozenset({"up", "down"})


def _parse(source: Any) -> ast.expr | None:
    try:
        return ast.parse(str(source), mode="eval").body
    except (SyntaxError, ValueError, RecursionError):
        return None


def _number(node: ast.expr) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value) if not isinstance(node.value, bool) else None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand)
        return None if inner is None else -inner
    return None


def _same(a: ast.expr, b: ast.expr) -> bool:
    return ast.dump(a) == ast.dump(b)


def _is_field(node: ast.expr, field: str) -> bool:
    """Whether ``node`` names the money field being set (an ad group's ``bid`` is its default)."""
    return isinstance(node, ast.Name) and (node.id == field or node.id in MONEY_FIELDS)


def _leaves(sources: list[Any]) -> list[ast.Compare]:
    """The single comparisons among the top-level ``and`` of each condition."""
    out: list[ast.Compare] = []
    for source in sources:
        node = _parse(source) if source else None
        parts = (
            node.values if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And) else [node]
        )
        out.extend(p for p in parts if isinstance(p, ast.Compare) and len(p.ops) == 1)
    return out


def _less(leaf: ast.Compare) -> tuple[ast.expr, ast.expr] | None:
    """(small, large) when the comparison says ``small < large`` (or ``<=``)."""
    op, left, right = leaf.ops[0], leaf.left, leaf.comparators[0]
    if isinstance(op, ast.Lt | ast.LtE):
        return left, right
    if isinstance(op, ast.Gt | ast.GtE):
        return right, left
    return None


def _scaled(node: ast.expr, base: ast.expr) -> float | None:
    """``k`` when ``node`` is ``base``, ``k * base`` or ``base * k`` (``k`` a number)."""
    if _same(node, base):
        return 1.0
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        for factor, other in ((node.left, node.right), (node.right, node.left)):
            k = _number(factor)
            if k is not None and _same(other, base):
                return k
    return None


def _ratio_direction(num: ast.expr, den: ast.expr, leaves: list[ast.Compare]) -> frozenset[str]:
    """Direction of multiplying by ``num / den`` given the conditions: ``den > k * num`` with
    ``k >= 1`` puts the ratio under one (down), ``den < k * num`` with ``k <= 1`` over one (up)."""
    for leaf in leaves:
        pair = _less(leaf)
        if pair is None:
            continue
        small, large = pair
        k = _scaled(small, num)
        if k is not None and k >= 1 and _same(large, den):
            return frozenset({"down"})  # num * k < den
        k = _scaled(large, num)
        if k is not None and k <= 1 and _same(small, den):
            return frozenset({"up"})  # den < num * k
    return _BOTH


def _expression_direction(node: ast.expr, field: str, leaves: list[ast.Compare]) -> frozenset[str]:
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("min", "max")
        and any(_is_field(a, field) for a in node.args)
    ):
        return frozenset({"down"} if node.func.id == "min" else {"up"})
    if isinstance(node, ast.BinOp):
        left, right = node.left, node.right
        if _is_field(left, field) or _is_field(right, field):
            other = right if _is_field(left, field) else left
            k = _number(other)
            if k is not None:
                if isinstance(node.op, ast.Mult):
                    return frozenset({"up"} if k > 1 else {"down"})
                if isinstance(node.op, ast.Add):
                    return frozenset({"up"} if k > 0 else {"down"})
                if isinstance(node.op, ast.Sub) and _is_field(left, field):
                    return frozenset({"down"} if k > 0 else {"up"})
                if isinstance(node.op, ast.Div) and _is_field(left, field):
                    return frozenset({"down"} if k > 1 else {"up"})
        # bid * A / B  ==  (bid * A) / B
        if (
            isinstance(node.op, ast.Div)
            and isinstance(left, ast.BinOp)
            and isinstance(left.op, ast.Mult)
            and _is_field(left.left, field)
        ):
            return _ratio_direction(left.right, right, leaves)
        # bid * (A / B)
        if (
            isinstance(node.op, ast.Mult)
            and _is_field(left, field)
            and isinstance(right, ast.BinOp)
            and isinstance(right.op, ast.Div)
        ):
            return _ratio_direction(right.left, right.right, leaves)
    # A new value E with a condition bid < E (only up) or bid > E (only down).
    for leaf in leaves:
        pair = _less(leaf)
        if pair is None:
            continue
        small, large = pair
        if _is_field(small, field) and _same(large, node):
            return frozenset({"up"})
        if _is_field(large, field) and _same(small, node):
            return frozenset({"down"})
    return _BOTH


def rule_directions(rule: Any) -> Direction:
    """The directions a loaded rule can move its field: ``{"up"}``, ``{"down"}`` or both."""
    then = rule.rule.then
    if then.state is not None:
        return {"down"} if then.state == "paused" else {"up"}
    value = then.bid if then.bid is not None else then.budget
    if value is None:
        return set(_BOTH)
    if is_relative(value):
        return {"up"} if str(value).strip().startswith("+") else {"down"}
    node = _parse(value)
    if node is None:
        return set(_BOTH)
    field = "bid" if then.bid is not None else "budget"
    leaves = _leaves([rule.rule.when, rule.rule.filter])
    return set(_expression_direction(node, field, leaves))
