"""The starter pack's decision-quality table: every scenario, several seeds, rules vs none vs oracle.

Runs ``bidagent backtest`` (the same runner, in worker processes) for each scenario and seed and
writes ``docs/backtests.md``: per scenario, profit versus ``none``, profit as a share of
``oracle`` and ACoS versus the target, averaged over the seeds, plus one row per run.

    python -m bench.backtest_table [--days 30] [--seeds 1 2 3] [--rules rules] [--out docs/backtests.md]
"""

from __future__ import annotations

import argparse
import logging
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import structlog

from bidagent.agent.backtest import BacktestSpec, arms_for, run_backtest
from bidagent.sandbox.scenarios import SCENARIOS
from bidagent.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def _one(job: tuple[str, int, int, str]) -> dict[str, Any]:
    scenario, seed, days, rules = job
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    spec = BacktestSpec(days=days, seed=seed, scenario=scenario)
    result = run_backtest(Settings(), spec, arms_for(Path(rules), ["none", "oracle"]))
    rows = {row["arm"]: row for row in result.comparison()}
    return {"scenario": scenario, "seed": seed, "target_acos": result.target_acos, **rows}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _money(value: float) -> str:
    return f"{value:+,.0f}"


NOTES = """
## Reading the figures

* A share of the oracle is only meaningful where the oracle earns a profit; `none` and the rules
  can exceed 100% because the oracle only sets bids, while the rules also negate wasting search
  terms and harvest converting ones, and the oracle ignores budget caps.
* `overbid` is the starter pack's weak spot: nearly every target starts far over target ACoS, so
  `bid-to-target-acos` selects far more than the global `max_changes_pct` (25% of targets per
  rule and cycle) and its whole batch is held for review, which the default `reject` policy
  rejects. The rules still beat `none` (bleeding-keywords and the other rules apply), but stay
  far from the oracle. Approving (`--review approve`) or raising `max_changes_pct` for a first
  clean-up is the operator's call; the guardrail is deliberately all or nothing.
* Day-parting rules (`night-dip`) do not act in a backtest: it advances whole days, and the
  daily cycle leaves scheduled rules alone.
"""


def render(runs: list[dict[str, Any]], days: int, seeds: list[int], command: str) -> str:
    """The Markdown page: a summary per scenario, then every run."""
    lines = [
        "# Backtests of the starter pack",
        "",
        f"Produced by `{command}` (about a minute per run on 2 cores; runs in parallel).",
        "Each run replays the sandbox for the same days under three arms: the starter rules in",
        "`rules/` through the real agent cycle (review items rejected, the default policy), `none`",
        "(bids never change) and `oracle` (every target's profit-maximising bid from the hidden",
        "truths). Figures are the sandbox's true accounting: conversions fully attributed, profit",
        "from each product's margin. Target ACoS is the default 30%; the sandbox's product margins",
        "run from about 23% to 41%, so an account at 30% ACoS earns little.",
        "",
        f"{days} simulated days, seeds {', '.join(map(str, seeds))}, 300 targets.",
        "",
        "## Summary (mean over seeds)",
        "",
        "| scenario | profit rules | profit none | profit oracle | rules vs none | rules share of oracle | none share of oracle | ACoS rules | ACoS vs target | beats none |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    shares: list[float] = []
    for scenario in SCENARIOS:
        mine = [r for r in runs if r["scenario"] == scenario]
        if not mine:
            continue

        def mean(arm: str, key: str, rows: list[dict[str, Any]] = mine) -> float:
            values = [r[arm][key] for r in rows if r[arm][key] is not None]
            return sum(values) / len(values) if values else float("nan")

        share = mean("rules", "share_of_oracle")
        shares.append(share)
        beats = all(r["rules"]["profit_vs_none"] > 0 for r in mine)
        lines.append(
            f"| {scenario} | {mean('rules', 'profit'):,.0f} | {mean('none', 'profit'):,.0f} "
            f"| {mean('oracle', 'profit'):,.0f} | {_money(mean('rules', 'profit_vs_none'))} "
            f"| {_pct(share)} | {_pct(mean('none', 'share_of_oracle'))} "
            f"| {_pct(mean('rules', 'acos'))} | {mean('rules', 'acos_vs_target') * 100:+.1f} pt "
            f"| {'yes' if beats else 'no'} |"
        )
    average = sum(shares) / len(shares) if shares else float("nan")
    lines += [
        "",
        f"Average share of the oracle's profit over all scenarios: **{_pct(average)}**.",
        "",
        "## Every run",
        "",
        "| scenario | seed | profit rules | profit none | profit oracle | rules vs none | share of oracle | ACoS rules | changes applied | review items |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        rules = r["rules"]
        lines.append(
            f"| {r['scenario']} | {r['seed']} | {rules['profit']:,.0f} | {r['none']['profit']:,.0f} "
            f"| {r['oracle']['profit']:,.0f} | {_money(rules['profit_vs_none'])} "
            f"| {_pct(rules['share_of_oracle'])} | {_pct(rules['acos'])} "
            f"| {rules['changes_applied']} | {rules['review_items']} |"
        )
    return "\n".join(lines) + "\n" + NOTES


def main() -> None:
    """Run every scenario and seed, then write the Markdown table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--rules", default=str(ROOT / "rules"))
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "backtests.md")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    jobs = [(s, seed, args.days, args.rules) for s in SCENARIOS for seed in args.seeds]
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        runs = list(pool.map(_one, jobs))
    seeds = " ".join(map(str, args.seeds))
    command = f"python -m bench.backtest_table --days {args.days} --seeds {seeds}"
    args.out.write_text(render(runs, args.days, args.seeds, command), encoding="utf-8")
    print(f"{len(runs)} runs in {time.perf_counter() - start:.0f}s; wrote {args.out}")


if __name__ == "__main__":
    main()
