"""Placement rows of SP campaign reports (``groupBy: campaignPlacement``): each campaign's daily
traffic cut into Amazon's page locations.

The sandbox's auction does not simulate placements, so a campaign's rows are split by fixed shares
drawn once per (seed, campaign): top of search, product (detail) pages, and the rest. Counts are
cut with floors and the remainder goes to ``Other on-Amazon``, money to the cent likewise, so the
placement rows of a campaign and day always add up exactly to its campaign row. All traffic is on
amazon.com-style sites, none on Amazon Business, so a ``campaignSite`` filter of
``AmazonBusiness`` selects no rows. This module must not change any other report's rows.
"""

from __future__ import annotations

import random

import polars as pl

__all__ = ["PLACEMENTS", "split_by_placement"]

TOP, DETAIL, OTHER = "Top of Search on-Amazon", "Detail Page on-Amazon", "Other on-Amazon"
PLACEMENTS = (TOP, DETAIL, OTHER)
SITE = "Amazon"  # the site of every sandbox click (Amazon Business: none)


def _shares(seed: int, campaign_ids: list[str]) -> pl.DataFrame:
    """A top-of-search and a detail-page share per campaign, stable for a seed."""
    rows = []
    for campaign_id in campaign_ids:
        draw = random.Random(f"placements:{seed}:{campaign_id}")
        rows.append((campaign_id, draw.uniform(0.2, 0.5), draw.uniform(0.15, 0.35)))
    return pl.DataFrame(
        rows, schema={"campaign_id": pl.Utf8, "top_share": pl.Float64, "detail_share": pl.Float64},
        orient="row",
    )  # fmt: skip


def split_by_placement(frame: pl.DataFrame, sums: list[str], seed: int) -> pl.DataFrame:
    """``frame`` (fact rows with ``campaign_id``) three times, one per placement, with each column
    of ``sums`` cut so that the three rows add up to the original; adds ``placement`` and ``site``."""
    shares = _shares(seed, frame["campaign_id"].unique().sort().to_list())
    base = frame.join(shares, on="campaign_id", how="left")
    integer = {c for c in sums if base.schema[c].is_integer()}

    def cut(column: str, share: str) -> pl.Expr:
        part = pl.col(column) * pl.col(share)
        if column in integer:
            return part.floor().cast(base.schema[column])
        return (part * 100).floor() / 100

    top = base.with_columns(*(cut(c, "top_share").alias(c) for c in sums))
    detail = base.with_columns(*(cut(c, "detail_share").alias(c) for c in sums))
    other = base.with_columns(
        *((pl.col(c) - top[c] - detail[c]).alias(c) for c in sums)
    )  # rows line up: the three frames are the same rows in the same order
    parts = [
        part.with_columns(placement=pl.lit(name), site=pl.lit(SITE))
        for part, name in ((top, TOP), (detail, DETAIL), (other, OTHER))
    ]
    return pl.concat(parts, how="vertical").drop("top_share", "detail_share")
