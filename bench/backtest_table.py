"""The starter pack's decision-quality table: every scenario, several seeds, rules vs none vs oracle.

Runs ``bidagent backtest`` (the same runner, in worker processes) for each scenario and seed and
writes ``docs/backtests.md``: per scenario, profit versus ``none``, profit as a share of
``oracle`` and ACoS versus the target, averaged over the seeds, plus one row per run.

The rules run twice on the same world: with each campaign's target ACoS set from its products'
margins (``--margin-target``, the configuration the README recommends), and with the one flat
target ACoS of the default settings, so the table shows what knowing the margins is worth.

    python -m bench.backtest_table [--days 60] [--seeds 1 2 3] [--margin-target 0.75]
        [--rules rules] [--out docs/backtests.md]
"""

from __future__ import annotations

import argparse
import logging
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import structlog

from bidagent.agent.backtest.run import ArmSpec, BacktestSpec, arms_for, run_backtest
from bidagent.sandbox.scenarios import SCENARIOS
from bidagent.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


FLAT = "rules_flat"


def _one(job: tuple[str, int, int, str, float]) -> dict[str, Any]:
    scenario, seed, days, rules, margin_target = job
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    spec = BacktestSpec(days=days, seed=seed, scenario=scenario)
    arms = arms_for(Path(rules), ["none", "oracle"], margin_target=margin_target)
    arms.insert(1, ArmSpec(FLAT, "rules", Path(rules)))
    result = run_backtest(Settings(), spec, arms)
    rows = {row["arm"]: row for row in result.comparison()}
    return {"scenario": scenario, "seed": seed, "target_acos": result.target_acos, **rows}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _money(value: float) -> str:
    return f"{value:+,.0f}"


NOTES = """
## Reading the figures

* Margin-based targets. A product's margin is its break-even ACoS. With one flat 30% target on
  margins of 15% to 45%, the rules keep thin-margin targets that lose money on every sale and hold
  back rich ones. The seller knows each product's margin (the sandbox's product ads carry their
  price and margin; these are the seller's own figures, not hidden truths of the market), so the
  recommended configuration sets each campaign's `campaign_target_acos` from it. The fraction
  0.75 comes from the auction: the profit-maximising bid is about 0.7 to 0.8 of a click's value,
  and at such bids a click costs close to the bid. The `flat` columns show the same rules
  without margins, on the same worlds.
* The oracle respects campaign budgets: it prices each campaign's budget (a shadow price per unit
  of spend) and keeps the bids with the best expected profit for the day. An earlier oracle that
  ignored budgets earned less than never changing a bid on `underbid`.
* A harvested keyword takes its search term's searches over: the targets it came from stop
  serving that term, so a harvest moves demand rather than creating it.
* A share of the oracle is only meaningful where the oracle earns a profit. The rules can exceed
  100% on a run because the oracle only sets bids within today's budgets, while the rules also
  negate wasting search terms, harvest converting ones and raise capped budgets.
* `overbid`: nearly every target starts over target ACoS, so `bid-to-target-acos` selects more
  than the global blast radius (`max_changes_pct`, 25% of targets per rule and cycle) and its
  batch is held for review and rejected by the default policy. `cut-far-over-target` acts on the
  worst of them first (over 1.5x the target, with 20 clicks and 2 orders in 14 days) and cuts up
  to 40% a step; the targets it cut sit out their 3-day cooldown, and a target in cooldown is not
  part of a rule's batch, so `bid-to-target-acos`'s batches then fit the limit. A rule cannot
  loosen the blast radius (rules only tighten guardrails); approving the held batches
  (`--review approve`) is the faster clean-up and remains the operator's call.
* `underbid`: bids start at 0.4x the market, so targets get a few clicks a week and little
  evidence. `raise-winners` reads 30 days and needs only 2 orders, so such targets qualify, and
  raises 15% every 4 days. `raise-to-suggested-bid` takes a target with one cheap order straight
  up to Amazon's low suggested bid (the sandbox serves suggestions from the market it
  simulates: they tell what wins auctions, not what converts). The campaigns' budgets were set
  for the low starting bids, so raised bids run into them: `budget-up-when-capped` starts at 80%
  utilization. The oracle still earns more by knowing which targets convert.
* Suggested bids and budgets, tried on 30 days (15 runs; the pack before them: 73.3%):
  `budget-up-when-capped` from 80% instead of 90%: 74.6%, no scenario worse; with
  `raise-to-suggested-bid` as kept (one order at under 0.7x the target): 75.5%. Not kept: raising
  every target under the low suggestion with under 10 clicks or an ACoS under the target: 72.8%
  (74.6% with the 80% budget rule; better on `steady`, worse on `underbid`, where the raised
  targets used up budgets that converting targets needed); raising to the median suggestion:
  70.9%; raising targets with an order under the target ACoS (not 0.7x): 72.7%, against 73.5%
  for the kept form (both with the 90% budget rule).
* Tried on 30 days with margin-based targets, and not kept (mean share of the oracle over the
  15 runs; the pack after this tuning: 73%, before it: 70%): `bid-to-target-acos`
  raising as well as lowering (25% steps) plus a rule raising targets with under 3 clicks in 14
  days, in place of `raise-winners`: 56%; bidding revenue per click x target ACoS directly, with
  that rule and without `cut-far-over-target`: 39% (`overbid` is held by the blast radius); the
  under-3-clicks rule added to the pack: no better on the 13 runs it finished; `raise-winners`
  stepping toward the target by the ACoS ratio instead of 15%: worse on `underbid`;
  `cut-far-over-target` from 1.3x the target: worse on `overbid`; `raise-winners` from 0.6x the
  target: 72%; `raise-winners` by 20%: within a point, no better; harvested keywords bid at the
  term's revenue per click x target ACoS instead of its CPC x 1.1: 68% (`underbid` 36%). Margin
  fraction 0.7 instead of 0.75: about 2 points better on `steady`, `seasonal_spike` and
  `new_competitor`, but `overbid` fell to 56% (lower targets make batches over the blast radius).
* Day-parting rules (`night-dip`) do not act in a backtest: it advances whole days, and the
  daily cycle leaves scheduled rules alone.
"""


def render(
    runs: list[dict[str, Any]], days: int, seeds: list[int], margin_target: float, command: str
) -> str:
    """The Markdown page: a summary per scenario, then every run."""
    lines = [
        "# Backtests of the starter pack",
        "",
        f"Produced by `{command}` (about 25 minutes on 2 cores; runs in parallel).",
        "Each run replays the sandbox for the same days under four arms: the starter rules in",
        "`rules/` through the real agent cycle (review items rejected, the default policy) with",
        f"each campaign's target ACoS set to {margin_target:g}x its products' margin (`rules`, the",
        "configuration the README recommends: `campaign_target_acos`), the same rules with the",
        "default flat target ACoS of 30% for every campaign (`flat`), `none` (bids never change)",
        "and `oracle` (every target's profit-maximising bid from the hidden truths, within each",
        "campaign's budget). Figures are the sandbox's true accounting: conversions fully",
        "attributed, profit from each product's margin (15% to 45%).",
        "",
        f"{days} simulated days, seeds {', '.join(map(str, seeds))}, 300 targets.",
        *(
            [
                "",
                "Seeds 1, 2 and 3 are the seeds the starter pack was tuned on: these figures are in",
                "sample. The oracle only sets bids (no negatives, harvests or budgets), so it is not a",
                "ceiling, and a run above 100% says so. Figures on held-out seeds, with their spread,",
                "are the measure of decision quality.",
            ]
            if set(seeds) <= {1, 2, 3}
            else []
        ),
        "",
        "## Summary (mean over seeds)",
        "",
        "| scenario | profit rules | profit none | profit oracle | rules vs none | rules share of oracle | flat share of oracle | none share of oracle | ACoS rules | target ACoS (mean) | beats none |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    shares: list[float] = []
    flat_shares: list[float] = []
    for scenario in SCENARIOS:
        mine = [r for r in runs if r["scenario"] == scenario]
        if not mine:
            continue

        def mean(arm: str, key: str, rows: list[dict[str, Any]] = mine) -> float:
            values = [r[arm][key] for r in rows if r[arm][key] is not None]
            return sum(values) / len(values) if values else float("nan")

        share = mean("rules", "share_of_oracle")
        shares.append(share)
        flat_shares.append(mean(FLAT, "share_of_oracle"))
        beats = all(r["rules"]["profit_vs_none"] > 0 for r in mine)
        lines.append(
            f"| {scenario} | {mean('rules', 'profit'):,.0f} | {mean('none', 'profit'):,.0f} "
            f"| {mean('oracle', 'profit'):,.0f} | {_money(mean('rules', 'profit_vs_none'))} "
            f"| {_pct(share)} | {_pct(flat_shares[-1])} | {_pct(mean('none', 'share_of_oracle'))} "
            f"| {_pct(mean('rules', 'acos'))} | {_pct(mean('rules', 'target_acos'))} "
            f"| {'yes' if beats else 'no'} |"
        )
    average = sum(shares) / len(shares) if shares else float("nan")
    flat_average = sum(flat_shares) / len(flat_shares) if flat_shares else float("nan")
    flat_beats = all(r[FLAT]["profit_vs_none"] > 0 for r in runs)
    lines += [
        "",
        f"Average share of the oracle's profit over all scenarios: **{_pct(average)}** with "
        f"margin-based targets; {_pct(flat_average)} with the flat 30% target, which "
        f"{'also beats' if flat_beats else 'does not beat'} `none` on every run.",
        "",
        "## Every run",
        "",
        "| scenario | seed | profit rules | profit flat | profit none | profit oracle | rules vs none | share of oracle | flat share | ACoS rules | changes applied | review items |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        rules, flat = r["rules"], r[FLAT]
        lines.append(
            f"| {r['scenario']} | {r['seed']} | {rules['profit']:,.0f} | {flat['profit']:,.0f} "
            f"| {r['none']['profit']:,.0f} | {r['oracle']['profit']:,.0f} "
            f"| {_money(rules['profit_vs_none'])} | {_pct(rules['share_of_oracle'])} "
            f"| {_pct(flat['share_of_oracle'])} | {_pct(rules['acos'])} "
            f"| {rules['changes_applied']} | {rules['review_items']} |"
        )
    return "\n".join(lines) + "\n" + NOTES


def main() -> None:
    """Run every scenario and seed, then write the Markdown table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--rules", default=str(ROOT / "rules"))
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "backtests.md")
    parser.add_argument("--margin-target", type=float, default=0.75)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    jobs = [
        (s, seed, args.days, args.rules, args.margin_target)
        for s in SCENARIOS
        for seed in args.seeds
    ]
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        runs = list(pool.map(_one, jobs))
    seeds = " ".join(map(str, args.seeds))
    command = (
        f"python -m bench.backtest_table --days {args.days} --seeds {seeds} "
        f"--margin-target {args.margin_target:g}"
    )
    page = render(runs, args.days, args.seeds, args.margin_target, command)
    args.out.write_text(page, encoding="utf-8")
    print(f"{len(runs)} runs in {time.perf_counter() - start:.0f}s; wrote {args.out}")


if __name__ == "__main__":
    main()
