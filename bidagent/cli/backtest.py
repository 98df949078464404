"""``bidagent backtest``: replay the sandbox under a rule set and baselines, and compare them.

Thin: parse options, run :func:`bidagent.agent.backtest.run.run_backtest` (once per seed with
``--seeds``) with progress on stderr (a bar on a terminal, a line per arm every few days
elsewhere), render the comparison, the impact per rule and per campaign and the verdict line
(table or JSON on stdout) and, when asked, write the HTML report of the first seed. Exit 0 when
the backtest ran, 1 on a bad option, rule set or run.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bidagent.agent.backtest.html_report import write_html_report
from bidagent.agent.backtest.impact import campaign_impact, reference_arm, rule_impact, verdict
from bidagent.agent.backtest.run import BacktestResult, BacktestSpec, arms_for, run_backtest
from bidagent.cli.bootstrap import fail, failing_cleanly, load_cli_settings
from bidagent.cli.render import (
    DetailFormat,
    OutputFormat,
    console,
    err_console,
    render_rows,
    to_jsonable,
)
from bidagent.logs import configure_logging
from bidagent.sandbox.scenarios import SCENARIOS

__all__ = ["backtest_command"]

_HEADLINE = ("arm", "profit", "share_of_oracle", "profit_vs_none", "spend", "sales", "orders", "acos", "roas")  # fmt: skip
_ACTIVITY = ("arm", "impressions", "clicks", "changes_applied", "review_items")
_PERCENT = ("share_of_oracle", "acos")


def _readable(row: dict[str, Any]) -> dict[str, Any]:
    """Fractions as percentages for people; JSON keeps the fractions."""
    return {k: f"{v:.1%}" if k in _PERCENT and v is not None else v for k, v in row.items()}


def _render_table(result: BacktestResult) -> None:
    window = result.to_json()["window"]
    title = (
        f"backtest {result.spec.scenario} seed {result.spec.seed}, {result.spec.days} days "
        f"({window['first']} .. {window['last']}), {result.target_description()}"
    )
    rows = [_readable(r) for r in result.comparison()]
    render_rows(rows, _HEADLINE, OutputFormat.table, title=title)
    render_rows(rows, _ACTIVITY, OutputFormat.table, title="activity")
    changes = [
        {"arm": arm.name, "rule": rule, **statuses}
        for arm in result.arms
        for rule, statuses in arm.changes_by_rule.items()
    ]
    if changes:
        statuses = sorted({k for r in changes for k in r} - {"arm", "rule"})
        render_rows(
            changes, ["arm", "rule", *statuses], OutputFormat.table, title="changes by rule"
        )
    reference = reference_arm(result)
    for rows, key, title in ((rule_impact(result), "rule", "impact by rule"),
                             (campaign_impact(result), "campaign", "impact by campaign")):  # fmt: skip
        if rows and reference is not None:
            columns = [key, *(["targets"] if key == "rule" else []), "profit", "reference_profit", "difference"]  # fmt: skip
            render_rows(rows, columns, OutputFormat.table, title=f"{title} (vs {reference.name})")
    for arm in result.arms:
        if arm.kind != "rules":
            continue
        kinds = ", ".join(f"{k} {n}" for k, n in arm.reviews_by_kind.items()) or "none"
        decided = ", ".join(f"{k} {n}" for k, n in arm.decisions.items()) or "none"
        console.print(
            f"{arm.name}: review items by kind: {kinds}; decided "
            f"(policy {result.spec.review_policy}): {decided}"
        )


def backtest_command(
    ctx: typer.Context,
    rules: Annotated[
        Path | None,
        typer.Option("--rules", help="Rule folder to test (default: rules_dir from the config)."),
    ] = None,
    baseline: Annotated[
        list[str] | None,
        typer.Option(
            "--baseline",
            help="none, oracle or a rule folder; repeat for several (default: none and oracle).",
        ),
    ] = None,
    days: Annotated[int, typer.Option("--days", min=1, help="Simulated days to run.")] = 60,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Sandbox seed (default: \\[sandbox] seed).")
    ] = None,
    scenario: Annotated[
        str | None,
        typer.Option(
            "--scenario", help=f"One of {', '.join(SCENARIOS)} (default: \\[sandbox] scenario)."
        ),
    ] = None,
    targets: Annotated[
        int | None,
        typer.Option(
            "--targets", min=1, help="Targets in the account (default: \\[sandbox] targets)."
        ),
    ] = None,
    margin_target: Annotated[
        float | None,
        typer.Option(
            "--margin-target",
            min=0.01,
            max=10.0,
            help="Set each campaign's target ACoS to this fraction of its products' margin "
            "(0.75 = three quarters of break-even), as campaign_target_acos would; default: "
            "the configured target ACoS for every campaign.",
        ),
    ] = None,
    review: Annotated[
        str,
        typer.Option("--review", help="How review items are decided: approve or reject."),
    ] = "reject",
    seeds: Annotated[
        int,
        typer.Option(
            "--seeds",
            min=1,
            max=50,
            help="Run this many seeds (--seed, --seed+1, ...) and give the verdict's spread.",
        ),
    ] = 1,
    fmt: Annotated[
        DetailFormat, typer.Option("--format", "-f", help="table or json.")
    ] = DetailFormat.table,
    report: Annotated[
        Path | None,
        typer.Option("--report", dir_okay=False, help="Also write a self-contained HTML report."),
    ] = None,
) -> None:
    """Run the sandbox for N days under the rules and the baselines; compare profit and ACoS."""
    settings = load_cli_settings(ctx, logging=False)
    # Cycle-level info lines would drown the progress bar: warnings and errors still show.
    level = "WARNING" if settings.logging.level in ("DEBUG", "INFO") else settings.logging.level
    configure_logging(settings.logging.model_copy(update={"level": level}))
    if review not in ("approve", "reject"):
        fail(f"--review must be approve or reject, not {review!r}")
    chosen = scenario or settings.sandbox.scenario
    if chosen not in SCENARIOS:
        fail(f"unknown scenario {chosen!r}; known: {', '.join(SCENARIOS)}")
    spec = BacktestSpec(
        days=days,
        seed=settings.sandbox.seed if seed is None else seed,
        scenario=chosen,
        targets=targets or settings.sandbox.targets,
        history_days=settings.sandbox.history_days,
        review_policy=review,  # type: ignore[arg-type]
    )
    with failing_cleanly():
        arms = arms_for(
            rules or settings.rules_dir,
            baseline or ["none", "oracle"],
            margin_target=margin_target,
        )
        results = [
            _run_one(settings, replace(spec, seed=spec.seed + n), arms, seeds) for n in range(seeds)
        ]
    judged = verdict(results)
    if report is not None:
        write_html_report(results[0], report)
    if fmt is DetailFormat.json:
        verdict_json = judged.to_json() if judged else None
        payload = (
            {**results[0].to_json(), "verdict": verdict_json}
            if seeds == 1
            else {"verdict": verdict_json, "runs": [r.to_json() for r in results]}
        )
        sys.stdout.write(json.dumps(to_jsonable(payload), indent=2) + "\n")
        return
    if seeds == 1:
        _render_table(results[0])
    else:
        _render_seeds(results)
    if judged is not None:
        console.print(judged.line(), highlight=False, soft_wrap=True)
    if report is not None:
        console.print(f"report written to {report} (seed {results[0].spec.seed})")


def _run_one(settings: Any, spec: BacktestSpec, arms: Any, seeds: int) -> BacktestResult:
    """One seed's backtest with progress on stderr: a bar on a terminal, else a line per arm
    every few days (a log file or CI shows the run is alive)."""
    label = f"seed {spec.seed} " if seeds > 1 else ""
    total = spec.days * len(arms)
    if not err_console.is_terminal:
        every = max(1, spec.days // 5)

        def line(arm: str, day: int) -> None:
            if day % every == 0 or day == spec.days:
                typer.echo(f"backtest {label}{arm}: day {day}/{spec.days}", err=True)

        return run_backtest(settings, spec, arms, on_day=line)
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=err_console, transient=True,
    )  # fmt: skip
    with progress:
        task = progress.add_task("backtest", total=total)

        def advanced(arm: str, day: int) -> None:
            progress.update(task, advance=1, description=f"{label}{arm} day {day}/{spec.days}")

        return run_backtest(settings, spec, arms, on_day=advanced)


def _render_seeds(results: list[BacktestResult]) -> None:
    """One row per seed: each arm's profit."""
    names = [a.name for a in results[0].arms]
    rows = [{"seed": r.spec.seed, **{a.name: a.totals["profit"] for a in r.arms}} for r in results]
    render_rows(rows, ["seed", *names], OutputFormat.table, title="profit by seed")
