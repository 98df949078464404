"""Commands that run the agent: ``cycle``, ``plan``, ``pause``, ``resume``.

Thin: load settings, open an :class:`AgentContext`, call the cycle, render. Exit 0 when every
profile's cycle succeeded (or was already done), 1 when one failed, had every rule held for
stale data, or its profile was busy (another process held its lock past ``lock_wait_s``).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.run import plan_profile, run_cycle
from bidagent.agent.profiles import profile_ids
from bidagent.agent.service.kill_switch import GLOBAL_SCOPE, pause, resume
from bidagent.cli.bootstrap import failing_cleanly, load_cli_settings, open_database
from bidagent.cli.render import OutputFormat, console, render_rows, to_jsonable
from bidagent.engine import load_rule_set
from bidagent.store.types import utcnow

__all__ = ["register"]

ProfileOption = Annotated[
    str | None, typer.Option("--profile", "-p", help="Only this profile id (default: all).")
]
FormatOption = Annotated[OutputFormat, typer.Option("--format", "-f", help="table, json or csv.")]

# The skips `plan` shows as a table: the ones a person acts on (a harvest without a destination,
# a rule without fresh data). The routine ones (cooldown, no_change, already_exists...) are in
# `--format json` with the rest.
SHOWN_SKIPS = ("freshness", "no_destination", "negated_in_destination", "change_set")

# Paragraphs on one line each: the help renderer keeps a docstring's line breaks.
CYCLE_HELP = (
    "Run one whole cycle now: sync, evaluate, plan, apply, record.\n\n"
    "One writer per profile: the cycle runs under the profile's lock. If another process (the "
    "daemon, another `bidagent cycle`, a revert or an approval) holds it, this waits up to "
    '\\[schedule] lock_wait_s (default 30 s), then exits 1 with "error: profile P is busy: held '
    'by <pid> on <host> (<command>) since <time>". The daemon, meeting a busy profile, skips it '
    "until its next run.\n\n"
    "A --dry-run cycle never uses up the day's live cycle. Exit 1 also when a cycle failed or "
    "stale data held every rule."
)


def cycle_command(
    ctx: typer.Context,
    profile: ProfileOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Record, never send.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Run even if today's cycle already finished.")
    ] = False,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Run one whole cycle now: sync, evaluate, plan, apply, record (help: CYCLE_HELP)."""
    settings = load_cli_settings(ctx)
    with failing_cleanly():
        rule_set = load_rule_set([settings.rules_dir])
        with AgentContext.open(settings) as agent:
            results = [
                run_cycle(agent, pid, rule_set, force=force, dry_run=dry_run, trigger="cli")
                for pid in profile_ids(agent, profile)
            ]
    rows = [
        {
            "profile_id": r.profile_id,
            "business_date": r.business_date,
            "cycle_id": r.cycle_id,
            "outcome": r.outcome,
            **{k: r.counts.get(k, 0) for k in ("applied", "held", "failed", "dry_run", "reviews")},
            "error": r.error,
        }
        for r in results
    ]
    render_rows(
        rows,
        ["profile_id", "business_date", "cycle_id", "outcome", "applied", "held", "failed",
         "dry_run", "reviews", "error"],
        fmt,
        title="cycles",
    )  # fmt: skip
    if any(r.outcome in ("failed", "stale") for r in results):
        raise typer.Exit(1)


def _proposal_row(profile_id: str, proposal: Any) -> dict[str, Any]:
    return {
        "profile_id": profile_id,
        "entity_kind": proposal.entity_kind,
        "entity_id": proposal.entity_id,
        "entity_name": proposal.entity_name,
        "field": proposal.field,
        "old": proposal.old_value,
        "new": proposal.new_value,
        "payload": proposal.payload,
        "rule": proposal.rule_name,
        "status": proposal.status,
        "notes": proposal.notes,
        "superseded_by": proposal.superseded_by,
        "change_set": proposal.change_set,
        "evidence": proposal.evidence,
    }


def _skip_rows(profile_id: str, skips: list[Any]) -> list[dict[str, Any]]:
    """What each rule left alone and why; identical ones (same rule, reason and detail) once, counted."""
    counted: dict[tuple[str, str, str], int] = {}
    for s in skips:
        key = (s.rule_name, s.reason, s.detail)
        counted[key] = counted.get(key, 0) + 1
    return [
        {"profile_id": profile_id, "rule": rule, "reason": reason, "detail": detail, "count": n}
        for (rule, reason, detail), n in counted.items()
    ]


def plan_command(
    ctx: typer.Context,
    profile: ProfileOption = None,
    fmt: FormatOption = OutputFormat.table,
    no_sync: Annotated[
        bool, typer.Option("--no-sync", help="Plan from the stored data; do not call the API.")
    ] = False,
) -> None:
    """Show what a cycle would change now, with evidence. Nothing is sent and no decision is
    recorded: no change rows, no cycle record, no review items for the plan. Unless --no-sync,
    it first refreshes the synced data (entities, reports, suggested bids) and records edits made
    outside bidagent, as every sync does. The table also lists what rules could not do and why
    (a harvest without a manual destination, a rule without fresh data); --format json has every
    skip."""
    settings = load_cli_settings(ctx)
    with failing_cleanly():
        rule_set = load_rule_set([settings.rules_dir])
        with AgentContext.open(settings) as agent:
            plans = [
                (pid, *plan_profile(agent, pid, rule_set, sync=not no_sync))
                for pid in profile_ids(agent, profile)
            ]
    rows = [_proposal_row(pid, p) for pid, _today, plan in plans for p in plan.proposals]
    reviews = [
        {"profile_id": pid, "kind": r.kind, "severity": r.severity, "summary": r.summary,
         "rule": r.rule_name, "held": len(r.held)}
        for pid, _today, plan in plans
        for r in plan.reviews
    ]  # fmt: skip
    skips = [row for pid, _today, plan in plans for row in _skip_rows(pid, plan.skips)]
    if fmt is OutputFormat.json:
        out = {"changes": rows, "review_items": reviews, "skips": skips}
        sys.stdout.write(json.dumps(to_jsonable(out), indent=2) + "\n")
        return
    columns = ["entity_kind", "entity_name", "field", "old", "new", "rule", "status"]
    render_rows(rows, columns, fmt, title="planned changes")
    if fmt is OutputFormat.table and reviews:
        render_rows(
            reviews, ["kind", "severity", "summary", "rule", "held"], fmt, title="review items"
        )
    shown = [s for s in skips if s["reason"] in SHOWN_SKIPS]
    if fmt is OutputFormat.table and shown:
        shown.sort(key=lambda s: (-s["count"], s["rule"], s["reason"], s["detail"]))
        render_rows(shown, ["rule", "reason", "detail", "count"], fmt, title="not changed")
    if fmt is OutputFormat.table:
        console.print(f"{len(rows)} change(s), {len(reviews)} review item(s); nothing was sent.")


def pause_command(
    ctx: typer.Context,
    profile: ProfileOption = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why; shown to others.")] = None,
    by: Annotated[str, typer.Option("--by", help="Who pauses.")] = "cli",
) -> None:
    """Engage the kill switch: nothing is sent until `bidagent resume`."""
    settings = load_cli_settings(ctx)
    with open_database(settings) as engine:
        pause(engine, scope=profile or GLOBAL_SCOPE, reason=reason, by=by, now=utcnow())
    typer.echo(f"paused {profile or 'all profiles'}: no change will be sent")


def resume_command(
    ctx: typer.Context,
    profile: ProfileOption = None,
    by: Annotated[str, typer.Option("--by", help="Who resumes.")] = "cli",
) -> None:
    """Release the kill switch."""
    settings = load_cli_settings(ctx)
    with open_database(settings) as engine:
        resume(engine, scope=profile or GLOBAL_SCOPE, by=by, now=utcnow())
    typer.echo(f"resumed {profile or 'all profiles'}")


def register(app: typer.Typer) -> None:
    """Add the agent's top-level commands to the root app."""
    app.command("cycle", help=CYCLE_HELP)(cycle_command)
    app.command("plan")(plan_command)
    app.command("pause")(pause_command)
    app.command("resume")(resume_command)
