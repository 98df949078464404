"""Benchmark: evaluate 20 starter-style rules over 200,000 targets with 60 days of sparse daily facts.

Run: ``python -m bench.engine_eval`` (polars limited to 2 threads). Prints the engine time (windows
included) and compares it with evaluating the same ``when`` conditions row by row with ``simpleeval``,
measured in the same run on a sample and scaled to all rows. Not a test: numbers vary by machine.
"""

from __future__ import annotations

import os

os.environ.setdefault("POLARS_MAX_THREADS", "2")

import contextlib
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from simpleeval import SimpleEval

from bidagent.engine import EngineInputs, EngineSettings, evaluate, load_rule_set
from bidagent.engine.config import GuardrailConfig
from bidagent.engine.inputs import REPORT_DATES_SCHEMA, frame
from bidagent.marketplaces import marketplace_for

TARGETS = 200_000
DAYS = 60
NOW = datetime(2024, 6, 20, 12, tzinfo=UTC)
SAMPLE = 5_000

CONDITIONS = [
    ("keyword", "14d", "clicks >= 15 and orders == 0", "'-20%'"),
    ("keyword", "30d", "orders >= 2 and acos > 1.1 * target_acos", "bid * target_acos / acos"),
    ("keyword", "30d", "orders >= 2 and acos < 0.9 * target_acos", "bid * target_acos / acos"),
    ("keyword", "14d", "orders >= 3 and acos < 0.6 * target_acos and cvr >= 0.08", "'+10%'"),
    ("target", "30d", "clicks >= 40 and (orders == 0 or acos > 3 * target_acos)", None),
    ("keyword", "7d", "clicks >= 10 and cpc > 1.5 and orders == 0", "'-15%'"),
    ("product_target", "14d", "clicks >= 12 and orders == 0", "'-20%'"),
    ("product_target", "30d", "orders >= 2 and roas > 5", "'+8%'"),
    ("keyword", "30d", "impressions >= 2000 and clicks <= 1", "'-10%'"),
    ("keyword", "14d", "clicks_30d >= 30 and orders_30d == 0 and cost_7d > 5", "'-25%'"),
    ("target", "14d", "cost > 2 * prev_cost and prev_cost >= 5", None),
    ("keyword", "14d", "rpc > 4 * cpc and clicks >= 10 and orders >= 2", "'+5%'"),
    ("keyword", "30d", "cpa > 40 and orders >= 1", "'-10%'"),
    ("keyword", "7d", "clicks_7d >= 8 and orders_7d == 0 and match_type == 'broad'", "'-10%'"),
    ("target", "30d", "orders == 0 and cost >= 20", None),
    ("keyword", "14d", "acos_7d > 2 * target_acos and orders_7d >= 1", "'-10%'"),
    ("keyword", "30d", "units >= 5 and acos < target_acos and bid < 0.5", "'+10%'"),
    ("product_target", "7d", "clicks >= 10 and sales == 0", "'-10%'"),
    (
        "keyword",
        "14d",
        "campaign_name.startswith('SP 1') and clicks >= 20 and orders == 0",
        "'-20%'",
    ),
    ("keyword", "30d", "sales >= 100 and roas >= 4 and clicks >= 10", "'+5%'"),
]


def _rules_file(folder: Path) -> None:
    lines = ["rules:"]
    for i, (entity, window, when, bid) in enumerate(CONDITIONS):
        then = f'{{bid: "{bid.strip(chr(39))}"}}' if bid else "{state: paused}"
        lines.append(
            f'  - {{name: r{i:02d}, entity: {entity}, window: {window}, when: "{when}", then: {then}, priority: {i}}}'
        )
    (folder / "bench.yaml").write_text("\n".join(lines) + "\n")


CLICKS = pl.max_horizontal(((pl.col("h") // 1200) % 20).cast(pl.Int64) - 13, 0)

# An order needs a click: about one clicked day in eight converts.
ORDERS = (CLICKS > 0) & (((pl.col("h") // 600000) % 8) == 0)


def _inputs() -> EngineInputs:
    ids = pl.int_range(0, TARGETS, eager=True)
    targets = pl.DataFrame({"i": ids}).select(
        pl.when(pl.col("i") % 4 == 0)
        .then(pl.lit("product_target"))
        .otherwise(pl.lit("keyword"))
        .alias("entity_kind"),
        pl.format("t{}", "i").alias("entity_id"),
        pl.lit("p1").alias("profile_id"),
        pl.format("c{}", pl.col("i") // 200).alias("campaign_id"),
        pl.format("SP {}", pl.col("i") // 200).alias("campaign_name"),
        pl.format("g{}", pl.col("i") // 20).alias("ad_group_id"),
        pl.format("G {}", pl.col("i") // 20).alias("ad_group_name"),
        pl.lit("enabled").alias("state"),
        (0.2 + (pl.col("i") % 100) / 50).alias("bid"),
        pl.lit(0.75).alias("default_bid"),
        pl.when(pl.col("i") % 3 == 0)
        .then(pl.lit("broad"))
        .otherwise(pl.lit("exact"))
        .alias("match_type"),
        pl.format("kw {}", "i").alias("keyword_text"),
        pl.lit(None, dtype=pl.Utf8).alias("targeting"),
        pl.lit(None, dtype=pl.Utf8).alias("portfolio"),
        pl.lit(100.0).alias("budget"),
    )
    start = NOW.date() - timedelta(days=DAYS)
    n = pl.int_range(0, TARGETS * DAYS, eager=True)
    h = pl.col("n").hash(seed=7)
    facts = (
        pl.DataFrame({"n": n})
        .with_columns(h.alias("h"))
        .filter(pl.col("h") % 4 == 0)  # sparse: about a quarter of target-days have activity
        .select(
            pl.when((pl.col("n") // DAYS) % 4 == 0)
            .then(pl.lit("product_target"))
            .otherwise(pl.lit("keyword"))
            .alias("entity_kind"),
            pl.format("t{}", pl.col("n") // DAYS).alias("entity_id"),
            (pl.lit(start) + pl.duration(days=pl.col("n") % DAYS)).cast(pl.Date).alias("date"),
            ((pl.col("h") // 4) % 300).cast(pl.Int64).alias("impressions"),
            # Long tail: most active days have impressions but no click.
            CLICKS.cast(pl.Int64).alias("clicks"),
            (CLICKS * (0.3 + ((pl.col("h") // 6000) % 100) / 80)).alias("cost"),
            ORDERS.cast(pl.Int64).alias("orders"),
            (ORDERS.cast(pl.Float64) * 25.0).alias("sales"),
            ORDERS.cast(pl.Int64).alias("units"),
        )
    )
    days = [NOW.date() - timedelta(days=d) for d in range(1, DAYS + 1)]
    coverage = frame(REPORT_DATES_SCHEMA, [{"source": "targets", "date": d} for d in days])
    return EngineInputs(targets=targets, facts=facts, report_dates=coverage)


def _row_by_row(inputs: EngineInputs, rule_names: list[list[str]]) -> float:
    """Seconds to evaluate every condition on SAMPLE entities with simpleeval, scaled to all."""
    day = NOW.date() - timedelta(days=3)
    sample = inputs.targets.head(SAMPLE)
    facts = inputs.facts.filter(pl.col("entity_id").is_in(sample["entity_id"].implode()))
    rows: dict[str, dict[str, float]] = {}
    windows = {
        7: day - timedelta(days=6),
        14: day - timedelta(days=13),
        30: day - timedelta(days=29),
    }
    for fact in facts.iter_rows(named=True):
        row = rows.setdefault(fact["entity_id"], {})
        for days, start in windows.items():
            if start <= fact["date"] <= day:
                for m in ("impressions", "clicks", "cost", "orders", "sales", "units"):
                    row[f"{m}_{days}d"] = row.get(f"{m}_{days}d", 0) + fact[m]
    evaluator = SimpleEval()
    began = time.perf_counter()
    for target in sample.iter_rows(named=True):
        sums = rows.get(target["entity_id"], {})
        for (_entity, window, when, _), _names in zip(CONDITIONS, rule_names, strict=True):
            names = _row_names(sums, target, int(window[:-1]))
            evaluator.names = names
            # Null ratios raise in a plain interpreter; count the work anyway.
            with contextlib.suppress(Exception):
                evaluator.eval(when.replace(".startswith(", "_startswith("))
    elapsed = time.perf_counter() - began
    return elapsed * TARGETS / SAMPLE


def _row_names(sums: dict[str, float], target: dict[str, object], window: int) -> dict[str, object]:
    names: dict[str, object] = {
        "target_acos": 0.3,
        "bid": target["bid"],
        "match_type": target["match_type"],
    }
    for days in (7, 14, 30):
        g = {
            m: sums.get(f"{m}_{days}d", 0)
            for m in ("impressions", "clicks", "cost", "orders", "sales", "units")
        }
        ratios = {
            "ctr": g["clicks"] / g["impressions"] if g["impressions"] else None,
            "cpc": g["cost"] / g["clicks"] if g["clicks"] else None,
            "cvr": g["orders"] / g["clicks"] if g["clicks"] else None,
            "acos": g["cost"] / g["sales"] if g["sales"] else None,
            "roas": g["sales"] / g["cost"] if g["cost"] else None,
            "rpc": g["sales"] / g["clicks"] if g["clicks"] else None,
            "cpa": g["cost"] / g["orders"] if g["orders"] else None,
        }
        values = {**g, **ratios}
        for k, v in values.items():
            names[f"{k}_{days}d"] = v
            if days == window:
                names[k] = v
    names["prev_cost"] = names["cost"]
    names["campaign_name_startswith"] = lambda prefix: str(target["campaign_name"]).startswith(
        prefix
    )
    return names


def main() -> None:
    """Build the data, time the engine, time the per-row baseline, print the ratio."""
    began = time.perf_counter()
    inputs = _inputs()
    print(
        f"data: {inputs.targets.height:,} targets, {inputs.facts.height:,} fact rows, built in {time.perf_counter() - began:.1f}s"
    )
    settings = EngineSettings(
        profile_id="p1", timezone="UTC", marketplace=marketplace_for("US"), mode="apply",
        guardrails=GuardrailConfig(max_changes_per_cycle=1_000_000, max_changes_pct=10),
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        _rules_file(Path(folder))
        rule_set = load_rule_set([Path(folder)])
    evaluate(rule_set, inputs, settings, NOW)  # warm up
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        plan = evaluate(rule_set, inputs, settings, NOW)
        timings.append(time.perf_counter() - start)
    engine = min(timings)
    print(
        f"engine: {len(rule_set.rules)} rules, best of 3 = {engine:.3f}s ({pl.thread_pool_size()} threads); plan {plan.counts()}"
    )
    baseline = _row_by_row(inputs, [r.names for r in rule_set.rules])
    print(
        f"row by row (simpleeval, conditions only, {SAMPLE:,} targets scaled to {TARGETS:,}): {baseline:.1f}s"
    )
    print(f"ratio: engine is {baseline / engine:.0f}x faster")


if __name__ == "__main__":
    main()
