"""The evidence a proposal carries: the values its rule's expressions named, rounded for people.

Owns turning a matched row (or a whole frame of them) into that record, the same way for both,
so the change log and the review queue show one form however a proposal was built. It must not
decide anything: the rule's match and value come from :mod:`bidagent.engine.actions`.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

__all__ = ["evidence_of", "evidence_rows"]


def evidence_of(row: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """The values a rule's expressions named, for one row: what a reviewer sees as the reason."""
    out = {}
    for name in names:
        value = row.get(name)
        out[name] = round(value, 6) if isinstance(value, float) and math.isfinite(value) else value
    return out


def evidence_rows(frame: pl.DataFrame, names: list[str]) -> list[dict[str, Any]]:
    """:func:`evidence_of` of every row, built column by column."""
    columns = []
    for name in names:
        if name not in frame.columns:
            columns.append([None] * frame.height)
            continue
        column = frame.get_column(name)
        values = column.to_list()
        if frame.schema[name] in (pl.Float64, pl.Float32):
            values = _rounded(values, column.n_unique() * 4 < len(values))
        columns.append(values)
    return (
        [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]
        if names
        else [{} for _ in range(frame.height)]
    )


def _rounded(values: list[float | None], repetitive: bool) -> list[float | None]:
    """``round(v, 6)`` of each finite value, as :func:`evidence_of` does; once per distinct value
    when they repeat (counts and sums over a window repeat a lot). Zeros stay out of the memo:
    0.0 and -0.0 are equal keys but round to themselves."""
    if not repetitive:
        return [round(v, 6) if v is not None and math.isfinite(v) else v for v in values]
    memo = {v: round(v, 6) for v in set(values) if v and math.isfinite(v)}
    return [memo.get(v, v) for v in values]  # type: ignore[arg-type]
