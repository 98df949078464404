"""Rule expressions: the allowed grammar, null semantics, and clean errors for everything else."""

from __future__ import annotations

import polars as pl
import pytest

from bidagent.engine.expressions import ExpressionError, compile_expression
from bidagent.engine.names import resolve_name

FRAME = pl.DataFrame(
    {
        "clicks": [20.0, 5.0, 0.0],
        "orders": [0.0, 1.0, 0.0],
        "acos": [None, 0.25, None],
        "bid": [1.0, 0.5, 0.3],
        "campaign_name": ["SP Shoes", "Brand", None],
    }
)


def _values(source: str) -> list[object]:
    compiled = compile_expression(source, lambda n: resolve_name(n, "keyword", 14))
    return FRAME.select(compiled.expr.alias("v"))["v"].to_list()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("clicks >= 15 and orders == 0", [True, False, False]),
        ("acos > 0.2", [False, True, False]),
        ("not (acos > 0.2)", [True, False, True]),
        ("1 < clicks <= 20", [True, True, False]),
        ("campaign_name.startswith('SP ')", [True, False, False]),
        ("campaign_name.matches('^(SP|Br)')", [True, True, False]),
        ("campaign_name in ['Brand', 'X']", [False, True, False]),
        ("campaign_name not in ['Brand']", [True, False, False]),
        ("bid * 0.5 if clicks > 10 else bid", [0.5, 0.5, 0.3]),
        ("orders / clicks", [0.0, 0.2, None]),
        ("min(bid, acos)", [None, 0.25, None]),
        ("coalesce(acos, 1)", [1.0, 0.25, 1.0]),
        ("clamp(bid * 2, 0.7, 1.5)", [1.5, 1.0, 0.7]),
        ("round(sqrt(clicks), 2)", [4.47, 2.24, 0.0]),
    ],
)
def test_semantics(source: str, expected: list[object]) -> None:
    """Each allowed form evaluates with nulls handled as documented in docs/rules.md."""
    assert (
        _values(source) == pytest.approx(expected)
        if None not in expected
        else _values(source) == expected
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "__import__('os')",
            "unknown function '__import__' (allowed: min, max, clamp, abs, round, coalesce, log, sqrt)",
        ),
        ("bid.__class__", "'Attribute' is not allowed in rule expressions"),
        ("clicks ** 2", "operator 'Pow' is not allowed (use + - * /)"),
        ("clicks > 'a'", "cannot compare num with text"),
        ("campaign_name + 1", "arithmetic needs a num value, got text"),
        ("clickz > 1", "unknown name 'clickz'"),
        ("[x for x in y]", "'ListComp' is not allowed in rule expressions"),
        ("lambda: 1", "'Lambda' is not allowed in rule expressions"),
        ("campaign_name.matches('(')", None),
        ("x" * 2001, "expression longer than 2000 characters"),
        ("-" * 100 + "1", "expression nested deeper than 24"),
    ],
)
def test_rejected(source: str, message: str | None) -> None:
    """Anything off the lists is a clean ExpressionError, never a crash or an evaluation."""
    with pytest.raises(ExpressionError) as info:
        compile_expression(source, lambda n: resolve_name(n, "keyword", 14))
    if message is not None:
        assert info.value.message == message
