"""``bidagent cycle``: run one whole cycle now, or apply a plan saved by ``bidagent plan --out``.

Thin: load settings, open an :class:`AgentContext`, run, then say what each cycle did the way
``plan`` says what it would do (grouped changes, what failed and why, one closing line), or why
it was skipped. Exit 0 when every profile's cycle succeeded (or was already done), 1 when one
failed, had every rule held for stale data, its profile was busy, or a saved plan was refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from bidagent.agent.change_views import change_views
from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.run import CycleResult, run_cycle
from bidagent.agent.cycle.saved_plan import (
    ProfilePlan,
    as_dry_run,
    read_saved_plan,
    stale_reason,
)
from bidagent.agent.profiles import profile_ids
from bidagent.cli.bootstrap import fail, failing_cleanly, load_cli_settings
from bidagent.cli.plan import FormatOption, ProfileOption, profile_header
from bidagent.cli.plan_render import closing_line, entity_label, render_changes
from bidagent.cli.render import OutputFormat, render_rows
from bidagent.engine import Plan, load_rule_set
from bidagent.store import Session
from bidagent.store.changes import cycle_changes
from bidagent.store.entity_names import ProfileName, entity_names

__all__ = ["CYCLE_HELP", "cycle_command"]

# Paragraphs on one line each: the help renderer keeps a docstring's line breaks.
CYCLE_HELP = (
    "Run one whole cycle now: sync, evaluate, plan, apply, record; then list what it changed, "
    "grouped as `bidagent plan` shows it, and why it skipped when it did.\n\n"
    "--plan FILE applies a plan saved by `bidagent plan --out FILE` instead of evaluating the "
    "rules: exactly its changes, each only if its entity still holds the planned old value (a "
    "refused one is recorded as failed, entity_moved); the whole plan is refused when the rule "
    "set or the business day changed since it was made.\n\n"
    "One writer per profile: the cycle runs under the profile's lock. If another process (the "
    "daemon, another `bidagent cycle`, a revert or an approval) holds it, this waits up to "
    '\\[schedule] lock_wait_s (default 30 s), then exits 1 with "error: profile P is busy: held '
    'by <pid> on <host> (<command>) since <time>". The daemon, meeting a busy profile, skips it '
    "until its next run.\n\n"
    "A --dry-run cycle never uses up the day's live cycle. Exit 1 also when a cycle failed or "
    "stale data held every rule."
)
_COLUMNS = ["profile_id", "business_date", "cycle_id", "outcome", "applied", "held", "failed",
            "dry_run", "reviews", "error", "reason", "summary"]  # fmt: skip
_DONE = ("applied", "dry_run")


def _saved_entries(
    agent: AgentContext, path: Path, rule_hash: str, only: str | None, dry_run: bool
) -> list[ProfilePlan]:
    """The saved plan's profiles to apply; exit 1 naming why when it may not be applied."""
    saved = read_saved_plan(path)
    managed = set(profile_ids(agent))
    entries = [e for e in saved.profiles if only is None or e.profile_id == only]
    if not entries:
        fail(f"{path}: the plan has no changes for profile {only}")
    for entry in entries:
        if entry.profile_id not in managed:
            fail(f"{path}: profile {entry.profile_id} is not managed here")
        reason = stale_reason(agent, saved, entry, rule_hash)
        if reason is not None:
            fail(f"{path}: refused: {reason}")
        if dry_run:
            as_dry_run(entry.plan)
    return entries


def _print_result(
    result: CycleResult, rows: list[dict[str, Any]], found: ProfileName | None
) -> None:
    head = f", business day {result.business_date}: {result.outcome}"
    if result.cycle_id is not None:
        head += f" (cycle {result.cycle_id})"
    typer.secho(profile_header(result.profile_id, found, head), bold=True)
    if result.outcome == "skipped":
        hint = "; `bidagent cycle --force` runs it again" if result.reason else ""
        typer.echo(f"skipped: {result.reason or 'nothing to do'}{hint}")
        return
    if result.error:
        typer.secho(f"failed: {result.error}", fg="red")
    render_changes(rows, _DONE)
    failed = [r for r in rows if r["status"] == "failed"]
    if failed:
        typer.secho(f"failed ({len(failed)})", fg="red", bold=True)
        for row in failed:
            typer.echo(
                f"  {entity_label(row)}: {row['field']}   {row['rule']}: {row.get('reason')}"
            )
    lead = (
        "Dry run (recorded, nothing sent)"
        if any(r["status"] == "dry_run" for r in rows)
        else "Applied"
    )
    typer.secho(closing_line(rows, _DONE, lead=lead, past=True), bold=True)


def cycle_command(
    ctx: typer.Context,
    profile: ProfileOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Record, never send.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Run even if today's cycle already finished.")
    ] = False,
    plan: Annotated[
        Path | None,
        typer.Option("--plan", dir_okay=False, help="Apply exactly this saved plan (plan --out)."),
    ] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Run one whole cycle now (help: CYCLE_HELP)."""
    settings = load_cli_settings(ctx)
    with failing_cleanly():
        rule_set = load_rule_set([settings.rules_dir])
        with AgentContext.open(settings) as agent:
            work: list[tuple[str, Plan | None]] = [
                (pid, None) for pid in profile_ids(agent, profile)
            ]
            if plan is not None:
                entries = _saved_entries(agent, plan, rule_set.hash, profile, dry_run)
                work = [(e.profile_id, e.plan) for e in entries]
            results = [
                run_cycle(agent, pid, rule_set, force=force, dry_run=dry_run, trigger="cli", saved=saved)
                for pid, saved in work
            ]  # fmt: skip
            with Session(agent.engine) as session:
                views = []
                for r in results:
                    changes = cycle_changes(session, r.cycle_id) if r.cycle_id else []
                    views.append([
                        {**v, "reason": c.reason, "error_code": c.error_code}
                        for c, v in zip(changes, change_views(session, changes), strict=True)
                    ])  # fmt: skip
                found = entity_names(session, profile_ids=[r.profile_id for r in results]).profiles
    rows = [
        {"profile_id": r.profile_id, "business_date": r.business_date, "cycle_id": r.cycle_id,
         "outcome": r.outcome,
         **{k: r.counts.get(k, 0) for k in ("applied", "held", "failed", "dry_run", "reviews")},
         "error": r.error, "reason": r.reason,
         "summary": closing_line(v, _DONE, lead="Applied", past=True)}
        for r, v in zip(results, views, strict=True)
    ]  # fmt: skip
    if fmt is OutputFormat.table:
        for n, (result, group) in enumerate(zip(results, views, strict=True)):
            if n:
                typer.echo("")
            _print_result(result, group, found.get(result.profile_id))
    else:
        render_rows(rows, _COLUMNS, fmt, title="cycles")
    refused = sum(1 for group in views for v in group if v["error_code"] == "entity_moved")
    if plan is not None and refused:
        typer.echo(
            f"refused {refused} change(s) of {plan}: their entities moved since the plan", err=True
        )
    if any(r.outcome in ("failed", "stale") for r in results) or (plan is not None and refused):
        raise typer.Exit(1)
