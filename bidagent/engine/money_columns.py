"""Money steps for a whole column of proposals at once, exactly as :func:`limit_step` gives them.

A rule can match hundreds of thousands of targets; stepping each through Decimal arithmetic in a
Python loop dominated the plan. This module does the same floors, ceilings, max step and rounding
to the market step in polars, with the rounding done in whole steps, and hands every row whose
rounding it cannot prove safe back to :func:`limit_step` itself. A property test holds the two to
the same Decimal digits. It must not decide what a rule wants: callers pass old and raw values in.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, getcontext
from fractions import Fraction
from typing import Any

import polars as pl

from bidagent.engine.money import Bounds, Stepped, is_power_of_ten, limit_step, round_to_step

__all__ = ["limit_steps"]


# A float this close to a rounding boundary (in steps) may have decimal text on either side of it.
_NEAR = 1e-6
# Beyond this many steps the float error of ``value * scale`` could reach _NEAR.
_MAX_STEPS = 1e9


def _steps(x: pl.Expr, scale: pl.Expr, rounding: str) -> tuple[pl.Expr, pl.Expr]:
    """``x`` in whole steps as ``_q`` rounds it, and whether that is certain.

    ``_q`` rounds the shortest decimal text of ``x``, which lies within half an ulp of ``x``; the
    product ``x * scale`` is within one ulp of the exact one. So where the product is farther than
    _NEAR from every boundary of ``rounding`` (half steps for half-even, whole steps for floor and
    ceiling), the text and the float round alike. Other rows are not certain.
    """
    y = x * scale
    whole = y.floor()
    frac = y - whole  # exact: ``whole`` is ``y`` without its fraction
    if rounding == ROUND_HALF_EVEN:
        steps = whole + (frac > 0.5).cast(pl.Float64)
        certain = (frac - 0.5).abs() >= _NEAR
    else:
        steps = whole if rounding == ROUND_FLOOR else whole + 1.0
        certain = (frac >= _NEAR) & (frac <= 1 - _NEAR)
    certain = certain & x.is_finite() & (x > 0) & (y < _MAX_STEPS)
    return steps.cast(pl.Int64, strict=False), certain.fill_null(value=False)


def _columnar(money_step: Decimal) -> int | None:
    """The step's exponent when columns can round to it: a power of ten, at most 1, default context."""
    exponent = money_step.as_tuple().exponent
    if not is_power_of_ten(money_step) or not isinstance(exponent, int):
        return None
    if not -15 <= exponent <= 0 or getcontext().rounding != ROUND_HALF_EVEN:
        return None
    return exponent


def limit_steps(
    old: pl.Series,
    raw: pl.Series,
    bounds: Bounds,
    max_step: float | None,
    approval_over: float | None,
    money_step: Decimal,
) -> list[tuple[Decimal | None, Stepped]]:
    """:func:`limit_step` for each row of ``old`` and ``raw`` (finite), with ``old`` rounded to the step.

    Exactly what the row-by-row calls give (``old`` rounded as ``Decimal.quantize(money_step)``):
    the float arithmetic runs in polars with the same IEEE operations in the same order, and the
    rounding to the step is integer arithmetic. Rows whose rounding :func:`_steps` cannot prove
    (values within a millionth of a step of a boundary, such as 0.125) go through
    :func:`limit_step` itself, as do all rows when the step is not a power of ten.
    """
    exponent = _columnar(money_step)
    columns = pl.DataFrame({"old": old, "raw": raw}, schema={"old": pl.Float64, "raw": pl.Float64})
    if exponent is None:
        return [_one(o, r, bounds, max_step, approval_over, money_step) for o, r in columns.rows()]
    # A real column, not a literal: polars divides by a literal through its reciprocal, which is
    # not float(Decimal) exactly; element by element it is one correctly rounded division.
    scale = pl.Series("scale", [float(10 ** (-exponent))] * len(columns), dtype=pl.Float64)
    frame = columns.with_columns(scale).with_columns(
        _float_columns(bounds, max_step, approval_over)
    )
    frame = frame.with_columns(_step_columns()).with_columns(_final_columns(bounds, money_step))
    rounded, old_steps, final, held = (
        frame.get_column(c).to_list() for c in ("rounded", "old_steps", "final_step", "approval")
    )
    # One Decimal per distinct amount (there are few); None for no old value, or a row redone below.
    money: dict[int | None, Any] = {None: None}
    money.update((n, Decimal(n).scaleb(exponent)) for n in {*rounded, *old_steps} if n is not None)
    out: list[tuple[Decimal | None, Stepped]] = [
        (money[o], Stepped(money[n], [], f, h))
        for n, o, f, h in zip(rounded, old_steps, final, held, strict=True)
    ]
    # Few rows: the ones with notes, and the ones the columns could not decide.
    redo = frame.with_row_index("i").filter(pl.col("noted") | ~pl.col("certain"))
    for row in redo.select("i", *_NOTED).iter_rows():
        i, o, r, ok = row[:4]
        if not ok:
            out[i] = _one(o, r, bounds, max_step, approval_over, money_step)
        else:
            value = out[i][1]
            notes = _notes(r, bounds, row[4:], max_step, approval_over)
            out[i] = (out[i][0], Stepped(value.value, notes, value.step, value.needs_approval))
    return out


_NOTED = [
    "old", "raw", "certain", "approval", "floor_hit", "ceiling_hit", "limited", "step", "clamped",
    "target",
]  # fmt: skip


def _float_columns(
    bounds: Bounds, max_step: float | None, approval_over: float | None
) -> list[pl.Expr]:
    """Floors, ceilings, approval and the step limit: limit_step's float arithmetic, column-wise."""
    low, high = bounds.low, bounds.high
    o, r = pl.col("old"), pl.col("raw")
    clamped = pl.when(r < low).then(low).when(r > high).then(high).otherwise(r)
    has_old = (o.is_not_null() & (o > 0)).fill_null(value=False)
    step = (clamped - o).abs() / o
    approval = pl.lit(value=False)
    if approval_over is not None:
        approval = (has_old & (step > approval_over + 1e-9)).fill_null(value=False)
    limited, target = pl.lit(value=False), clamped
    if max_step is not None:
        limited = (has_old & ~approval & (step > max_step + 1e-9)).fill_null(value=False)
        raised, lowered = o * (1 + max_step), o * (1 - max_step)
        target = pl.when(clamped > o).then(raised).otherwise(lowered).clip(low, high)
    return [
        clamped.alias("clamped"),
        (r < low).alias("floor_hit"),
        (~(r < low) & (r > high)).alias("ceiling_hit"),
        has_old.alias("has_old"),
        step.alias("step"),
        approval.alias("approval"),
        limited.alias("limited"),
        target.alias("target"),
    ]


def _step_columns() -> list[pl.Expr]:
    """The value in whole steps as limit_step first rounds it, and whether each rounding is certain."""
    o, limited, scale = pl.col("old"), pl.col("limited"), pl.col("scale")
    value = pl.when(limited).then(pl.col("target")).otherwise(pl.col("clamped"))
    up, down = limited & (value > o), limited & ~(value > o)
    even, even_ok = _steps(value, scale, ROUND_HALF_EVEN)
    floor, floor_ok = _steps(value, scale, ROUND_FLOOR)
    ceiling, ceiling_ok = _steps(value, scale, ROUND_CEILING)
    old_steps, old_ok = _steps(o, scale, ROUND_HALF_EVEN)
    rounded = pl.when(up).then(floor).when(down).then(ceiling).otherwise(even)
    certain = pl.when(up).then(floor_ok).when(down).then(ceiling_ok).otherwise(even_ok)
    return [
        value.alias("value"),
        rounded.alias("rounded"),
        old_steps.alias("old_steps"),
        (certain & (o.is_null() | old_ok)).fill_null(value=False).alias("certain"),
    ]


def _final_columns(bounds: Bounds, money_step: Decimal) -> list[pl.Expr]:
    """limit_step after its first rounding: back to the old value if rounding crossed it, then
    the bounds (compared exactly, in whole steps), then the step actually taken."""
    o, scale, rounded = pl.col("old"), pl.col("scale"), pl.col("rounded")
    back = pl.col("limited") & ((rounded / scale - o) * (pl.col("value") - o) < 0)
    rounded = pl.when(back).then(pl.col("old_steps")).otherwise(rounded)
    low_edge, low_fix = _bound_steps(bounds.low_money, bounds.low, money_step, ROUND_CEILING)
    high_edge, high_fix = _bound_steps(bounds.high_money, bounds.high, money_step, ROUND_FLOOR)
    rounded = pl.when(rounded < low_edge).then(low_fix).otherwise(rounded)
    rounded = pl.when(rounded > high_edge).then(high_fix).otherwise(rounded)
    flags = ["floor_hit", "ceiling_hit", "approval", "limited"]
    return [
        rounded.alias("rounded"),
        pl.when(pl.col("has_old")).then((rounded / scale - o).abs() / o).alias("final_step"),
        pl.any_horizontal(flags).alias("noted"),
    ]


def _notes(
    raw: float,
    bounds: Bounds,
    flags: tuple[Any, ...],
    max_step: float | None,
    approval_over: float | None,
) -> list[str]:
    """The notes :func:`limit_step` writes, from the flags and values the columns computed."""
    held, floor_hit, ceiling_hit, limited, step, clamped, target = flags
    notes = []
    if floor_hit:
        notes.append(f"floor: {raw:.4g} raised to {bounds.low:g} ({bounds.low_source} min)")
    elif ceiling_hit:
        notes.append(f"ceiling: {raw:.4g} lowered to {bounds.high:g} ({bounds.high_source} max)")
    if held:
        notes.append(f"step {step:.1%} over approval threshold {approval_over:.0%}: held")
    elif limited:
        notes.append(f"step: {clamped:.4g} limited to {target:.4g} (max_step {max_step:.0%})")
    return notes


def _bound_steps(
    exact: Decimal, bound: float, money_step: Decimal, rounding: str
) -> tuple[int, int]:
    """The last step count on the right side of a bound, and the count ``limit_step`` moves to."""
    ratio = Fraction(exact) / Fraction(money_step)
    edge = math.ceil(ratio) if rounding == ROUND_CEILING else math.floor(ratio)
    fixed = Fraction(round_to_step(bound, money_step, rounding)) / Fraction(money_step)
    assert fixed.denominator == 1
    return edge, int(fixed)


def _one(
    old: float | None,
    raw: float,
    bounds: Bounds,
    max_step: float | None,
    approval_over: float | None,
    money_step: Decimal,
) -> tuple[Decimal | None, Stepped]:
    """One row the columns could not decide: the definition itself."""
    old_money = Decimal(repr(old)).quantize(money_step) if old is not None else None
    return old_money, limit_step(old, raw, bounds, max_step, approval_over, money_step)
