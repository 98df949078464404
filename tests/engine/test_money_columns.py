"""The column-wise money step (``limit_steps``) gives exactly what ``limit_step`` gives row by row."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bidagent.engine.money import Bounds, Stepped, limit_step
from bidagent.engine.money_columns import limit_steps

STEPS = [Decimal("0.01"), Decimal("1"), Decimal("0.1"), Decimal("0.05")]


def _exact(pair: tuple[Decimal | None, Stepped]) -> tuple[Any, ...]:
    """Everything, with Decimals by their digits and exponent (0.4 and 0.40 differ here)."""
    old_money, stepped = pair
    tuple_of = lambda d: None if d is None else d.as_tuple()  # noqa: E731
    return (
        tuple_of(old_money),
        tuple_of(stepped.value),
        stepped.notes,
        stepped.step,
        stepped.needs_approval,
    )


def _row_by_row(
    olds: list[float | None],
    raws: list[float],
    bounds: Bounds,
    max_step: float | None,
    over: float | None,
    step: Decimal,
) -> list[tuple[Any, ...]]:
    out = []
    for old, raw in zip(olds, raws, strict=True):
        old_money = Decimal(repr(old)).quantize(step) if old is not None else None
        out.append(_exact((old_money, limit_step(old, raw, bounds, max_step, over, step))))
    return out


def _columns(
    olds: list[float | None],
    raws: list[float],
    bounds: Bounds,
    max_step: float | None,
    over: float | None,
    step: Decimal,
) -> list[tuple[Any, ...]]:
    old = pl.Series(olds, dtype=pl.Float64)
    raw = pl.Series(raws, dtype=pl.Float64)
    return [_exact(p) for p in limit_steps(old, raw, bounds, max_step, over, step)]


# Values on the cent grid, at half cents (ties for half-even), near the bounds, and arbitrary.
cents = st.integers(min_value=0, max_value=500_000).map(lambda c: c / 100)
half_cents = st.integers(min_value=0, max_value=100_000).map(lambda c: (2 * c + 1) / 200)
thousandths = st.integers(min_value=0, max_value=1_000_000).map(lambda c: c / 1000)
anything = st.floats(min_value=-10, max_value=20_000, allow_nan=False, allow_infinity=False)
values = st.one_of(cents, half_cents, thousandths, anything, st.sampled_from([0.0, 0.125, 2.675]))
olds = st.one_of(st.none(), values)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Any, ...]:
    """Bounds, limits, a step, and rows whose raw values are often at the bounds or a step away."""
    low = draw(st.one_of(cents, thousandths, anything).filter(lambda v: 0.01 <= v <= 50))
    high = low + draw(st.one_of(cents, thousandths, anything).filter(lambda v: 0 <= v <= 5000))
    bounds = Bounds(low, high, draw(st.sampled_from(["marketplace", "config"])), "rule")
    max_step = draw(st.one_of(st.none(), st.sampled_from([0.1, 0.2, 0.25, 0.5, 1 / 3, 1.0])))
    over = draw(st.one_of(st.none(), st.sampled_from([0.15, 0.3, 0.5])))
    step = draw(st.sampled_from(STEPS))
    n = draw(st.integers(min_value=1, max_value=40))
    old_values = draw(st.lists(olds, min_size=n, max_size=n))
    raws = []
    for old in old_values:
        near = [low, high, (old or 1.0) * 0.8, (old or 1.0) * 1.2, (old or 1.0) * (1 + 1 / 3)]
        raws.append(draw(st.one_of(values, st.sampled_from(near))))
    return old_values, raws, bounds, max_step, over, step


@settings(max_examples=400, deadline=None)
@given(case=cases())
@example(case=([0.5, 0.13, 1.0], [0.125, 0.135, 1.005], Bounds(0.02, 1000.0, "marketplace", "marketplace"), None, None, Decimal("0.01")))  # fmt: skip
@example(case=([26.0], [23.448112143596518], Bounds(1.05733, 41.154, "marketplace", "rule"), 0.5, 0.25, Decimal("0.1")))  # fmt: skip
@example(case=([0.5, 0.5], [0.6, 0.1], Bounds(0.105, 0.6, "rule", "rule"), 0.2, None, Decimal("0.01")))  # fmt: skip
@example(case=([0.18, 0.12], [0.5, 0.05], Bounds(0.02, 1000.0, "marketplace", "marketplace"), 0.1, None, Decimal("0.1")))  # fmt: skip
@example(case=([0.03, 0.04], [0.033, 0.05], Bounds(0.02, 1000.0, "marketplace", "marketplace"), 0.1, 0.25, Decimal("0.01")))  # fmt: skip
def test_columns_equal_row_by_row(case: tuple[Any, ...]) -> None:
    """Every row: same rounded old value, new value (digits and exponent), notes, step and approval."""
    assert _columns(*case) == _row_by_row(*case)


def test_ties_and_bounds_on_the_cent_grid() -> None:
    """Half-cent ties round half-even; values at and past the bounds end on the bounds' grid points."""
    bounds = Bounds(0.105, 2.0, "rule", "marketplace")
    olds: list[float | None] = [None, None, None, None, 1.0, 1.0, 0.5]
    raws = [0.125, 0.135, 0.105, 2.5, 2.0, 1.0, 0.1]
    got = limit_steps(
        pl.Series(olds, dtype=pl.Float64), pl.Series(raws), bounds, 0.5, None, Decimal("0.01")
    )
    assert [(str(old), str(s.value), s.notes) for old, s in got] == [
        ("None", "0.12", []),
        ("None", "0.14", []),
        ("None", "0.11", []),
        ("None", "2.00", ["ceiling: 2.5 lowered to 2 (marketplace max)"]),
        ("1.00", "1.50", ["step: 2 limited to 1.5 (max_step 50%)"]),
        ("1.00", "1.00", []),
        (
            "0.50",
            "0.25",
            ["floor: 0.1 raised to 0.105 (rule min)", "step: 0.105 limited to 0.25 (max_step 50%)"],
        ),
    ]
    assert got == [
        (o, limit_step(old, raw, bounds, 0.5, None, Decimal("0.01")))
        for (o, _), old, raw in zip(got, olds, raws, strict=True)
    ]
