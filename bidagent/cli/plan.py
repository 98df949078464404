"""``bidagent plan`` and ``bidagent cycle``: what a cycle would change now, and one cycle run now.

Thin: load settings, open an :class:`AgentContext`, plan or run, render. ``plan`` prints the
changes as Terraform prints a plan (:mod:`bidagent.cli.plan_render`), filters them by rule or
campaign, saves them (``--out``) for ``cycle --plan`` to apply exactly, and with
``--detailed-exitcode`` exits 0 when nothing would change, 2 when changes are pending, 1 on an
error. ``cycle`` exits 0 when every profile's cycle succeeded (or was already done) and 1 when
one failed, had every rule held for stale data, its profile was busy, or a saved plan was
refused (another rule set, another business day).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from bidagent.agent.change_views import VIEW_KEYS, change_views
from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.run import plan_profile
from bidagent.agent.cycle.saved_plan import ProfilePlan, plan_document
from bidagent.agent.profiles import profile_ids
from bidagent.cli.bootstrap import fail, failing_cleanly, load_cli_settings
from bidagent.cli.plan_render import SYMBOLS as _SYMBOL
from bidagent.cli.plan_render import closing_line, entity_label, render_changes, what
from bidagent.cli.render import OutputFormat, render_rows, to_jsonable
from bidagent.engine import Plan, RuleSet, load_rule_set
from bidagent.store import Session
from bidagent.store.entity_names import ProfileName, campaigns_matching, entity_names

__all__ = ["PLAN_HELP", "PLAN_STATUSES", "SHOWN_SKIPS", "plan_command", "profile_header"]

ProfileOption = Annotated[
    str | None, typer.Option("--profile", "-p", help="Only this profile id (default: all).")
]
FormatOption = Annotated[OutputFormat, typer.Option("--format", "-f", help="table, json or csv.")]
# The statuses of changes a plan would send (dry_run: recorded, in a dry-run mode).
PLAN_STATUSES = ("planned", "dry_run")
CSV_COLUMNS = [*VIEW_KEYS, "review"]
# The skips the text plan lists: the ones a person acts on (a harvest without a destination, a
# rule without fresh data, a graduation stopped with its partner). The routine ones (cooldown,
# no_change, already_exists...) are in `--format json` with the rest.
SHOWN_SKIPS = ("freshness", "no_destination", "negated_in_destination", "change_set")

PLAN_HELP = (
    "Show what a cycle would change now, grouped by action (+ create, ~ change, - pause or "
    "archive) and by campaign, with a closing line such as 'Plan: 3 to create, 12 to change, "
    "1 to pause; 5 held for review; daily budget +$4.00'. Nothing is sent and no decision is "
    "recorded: no change rows, no cycle record, no review items for the plan. Unless --no-sync, "
    "it first refreshes the synced data (entities, reports, suggested bids) and records edits "
    "made outside bidagent, as every sync does.\n\n"
    "--out FILE saves the plan; `bidagent cycle --plan FILE` then applies exactly it, refusing "
    "each change whose entity no longer holds the planned old value, and the whole plan when "
    "the rule set or the business day changed. A plan filtered by --rule or --campaign applies "
    "only what it shows; the rest is proposed again at the next cycle.\n\n"
    "--detailed-exitcode: exit 0 when nothing would change, 2 when changes are pending (to send "
    "or held for review), 1 on an error."
)


def profile_header(profile_id: str, found: ProfileName | None, extra: str) -> str:
    """``profile 123 "Name" (US, USD), business day 2025-05-03 ...``."""
    where = f' "{found.name}"' if found and found.name else ""
    market = f" ({found.country_code}, {found.currency_code})" if found else ""
    return f"profile {profile_id}{where}{market}{extra}"


def _filtered(plan: Plan, rule: str | None, campaigns: set[str] | None) -> Plan:
    """The plan's proposals of ``rule`` and of ``campaigns`` only; review items by the same rule
    or, with a campaign filter, only those holding a change that is kept."""

    def kept(p: Any) -> bool:
        campaign = p.campaign_id or (p.payload or {}).get("campaign_id")
        return (rule is None or p.rule_name == rule) and (
            campaigns is None or str(campaign) in campaigns
        )

    proposals = [p for p in plan.proposals if kept(p)]
    keys = {p.review_key for p in proposals if p.review_key}
    reviews = [
        r
        for r in plan.reviews
        if (rule is None or r.rule_name == rule) and (campaigns is None or r.dedupe_key in keys)
    ]
    for r in reviews:
        r.held = [p for p in r.held if kept(p)]
    ids = {p.entity_id for p in proposals}
    bases = [
        b
        for b in plan.base_bid_updates
        if (rule is None and campaigns is None) or b.entity_id in ids
    ]
    skips = [s for s in plan.skips if rule is None or s.rule_name == rule]
    return Plan(
        plan.rule_set_hash,
        proposals=proposals,
        reviews=reviews,
        base_bid_updates=bases,
        skips=skips,
    )


def _rows(entry: ProfilePlan, views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    reviews = {r.dedupe_key: r.summary for r in entry.plan.reviews}
    return [
        {**view, "entity_name": p.entity_name, "payload": p.payload, "notes": p.notes,
         "superseded_by": p.superseded_by, "review_key": p.review_key, "change_set": p.change_set,
         "review": reviews.get(p.review_key or ""), "evidence": p.evidence}
        for p, view in zip(entry.plan.proposals, views, strict=True)
    ]  # fmt: skip


def _review_rows(entry: ProfilePlan) -> list[dict[str, Any]]:
    return [
        {"profile_id": entry.profile_id, "kind": r.kind, "severity": r.severity,
         "summary": r.summary, "rule": r.rule_name, "held": len(r.held),
         "dedupe_key": r.dedupe_key}
        for r in entry.plan.reviews
    ]  # fmt: skip


def _skip_rows(entry: ProfilePlan) -> list[dict[str, Any]]:
    """What each rule left alone and why; identical ones (same rule, reason and detail) once,
    counted."""
    counted: dict[tuple[str, str, str], int] = {}
    for skip in entry.plan.skips:
        key = (skip.rule_name, skip.reason, skip.detail)
        counted[key] = counted.get(key, 0) + 1
    return [
        {"profile_id": entry.profile_id, "rule": rule, "reason": reason, "detail": detail,
         "count": n}
        for (rule, reason, detail), n in counted.items()
    ]  # fmt: skip


def _print_skips(entry: ProfilePlan) -> None:
    """The skips a person acts on, most frequent first."""
    shown = [s for s in _skip_rows(entry) if s["reason"] in SHOWN_SKIPS]
    if not shown:
        return
    shown.sort(key=lambda s: (-s["count"], s["rule"], s["reason"], s["detail"]))
    typer.secho(f"not changed ({sum(s['count'] for s in shown)})", bold=True)
    for s in shown:
        times = f" (x{s['count']})" if s["count"] > 1 else ""
        typer.echo(f"  {s['rule']}  {s['reason']}  {s['detail']}{times}")


def _print_text(
    entry: ProfilePlan, rows: list[dict[str, Any]], found: ProfileName | None, rule_set: RuleSet
) -> None:
    typer.secho(
        profile_header(entry.profile_id, found,
                       f", business day {entry.business_date}, rules {rule_set.hash[:12]}"),
        bold=True,
    )  # fmt: skip
    if not any(r["status"] in (*PLAN_STATUSES, "held") for r in rows):
        typer.echo("No changes: the rules propose nothing to send or to review.")
    render_changes(rows, PLAN_STATUSES)
    holding = [r for r in entry.plan.reviews if r.held]
    if holding:
        typer.secho(f"held for review ({sum(1 for r in rows if r['status'] == 'held')})", bold=True)
    by_key: dict[str | None, list[dict[str, Any]]] = {}
    for row in rows:
        if row["status"] == "held":
            by_key.setdefault(row["review_key"], []).append(row)
    for review in holding:
        typer.echo(f"  {review.kind} {review.severity}: {review.summary}")
        for row in by_key.get(review.dedupe_key, []):
            where = " / ".join(f'"{x}"' for x in (row["campaign"], row["ad_group"]) if x)
            rule = "" if row["rule"] == review.rule_name else f"   {row['rule']}"
            typer.echo(
                f"    {_SYMBOL[row['action']]} {entity_label(row)}{what(row)}  in {where}{rule}"
            )
    alerts = [r for r in entry.plan.reviews if not r.held]
    if alerts:
        typer.secho(f"review items ({len(alerts)})", bold=True)
        for review in alerts:
            typer.echo(f"  ! {review.kind} {review.severity}: {review.summary}")
    _print_skips(entry)
    superseded = sum(1 for r in rows if r["status"] == "superseded")
    typer.echo("")
    typer.secho(closing_line(rows, PLAN_STATUSES), bold=True)
    if superseded:
        typer.echo(f"({superseded} proposal(s) superseded by another rule's change, not shown)")


def plan_command(
    ctx: typer.Context,
    profile: ProfileOption = None,
    fmt: FormatOption = OutputFormat.table,
    no_sync: Annotated[
        bool, typer.Option("--no-sync", help="Plan from the stored data; do not call the API.")
    ] = False,
    rule: Annotated[
        str | None, typer.Option("--rule", "-r", help="Only this rule's changes.")
    ] = None,
    campaign: Annotated[
        str | None, typer.Option("--campaign", help="Only this campaign's changes (id or name).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", dir_okay=False, help="Save the plan for `bidagent cycle --plan`."),
    ] = None,
    detailed_exitcode: Annotated[
        bool,
        typer.Option("--detailed-exitcode", help="Exit 2 when changes are pending, 0 when none."),
    ] = False,
) -> None:
    """Show what a cycle would change now (help: PLAN_HELP)."""
    settings = load_cli_settings(ctx)
    with failing_cleanly():
        rule_set = load_rule_set([settings.rules_dir])
        if rule is not None and rule not in {r.name for r in rule_set.rules}:
            fail(f"no rule named {rule!r} in {settings.rules_dir}")
        with AgentContext.open(settings) as agent:
            entries = [
                ProfilePlan(pid, *plan_profile(agent, pid, rule_set, sync=not no_sync))
                for pid in profile_ids(agent, profile)
            ]
            with Session(agent.engine) as session:
                chosen = None
                if campaign is not None:
                    chosen = set(
                        campaigns_matching(session, [e.profile_id for e in entries], campaign)
                    )
                    if not chosen:
                        fail(f"no campaign with id or name {campaign!r} in the synced data")
                entries = [ProfilePlan(e.profile_id, e.business_date, _filtered(e.plan, rule, chosen)) for e in entries]  # fmt: skip
                views = [change_views(session, e.plan.proposals) for e in entries]
                found = entity_names(session, profile_ids=[e.profile_id for e in entries]).profiles
            created_at = agent.now()
    rows = [_rows(e, v) for e, v in zip(entries, views, strict=True)]
    if out is not None:
        document = plan_document(rule_set.hash, created_at, entries)
        try:
            out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            fail(f"{out}: cannot write the plan: {exc.strerror or exc}")
    flat = [r for group in rows for r in group]
    if fmt is OutputFormat.json:
        summary = [
            {"profile_id": e.profile_id, "business_date": e.business_date, "line": closing_line(group, PLAN_STATUSES)}
            for e, group in zip(entries, rows, strict=True)
        ]  # fmt: skip
        reviews = [r for e in entries for r in _review_rows(e)]
        skips = [s for e in entries for s in _skip_rows(e)]
        payload = {"changes": flat, "review_items": reviews, "skips": skips, "summary": summary}
        sys.stdout.write(json.dumps(to_jsonable(payload), indent=2) + "\n")
    elif fmt is OutputFormat.csv:
        extra = [
            {"profile_id": e.profile_id, "action": "review", "rule": r.rule_name,
             "status": r.severity, "review": r.summary}
            for e in entries for r in e.plan.reviews if not r.held
        ]  # fmt: skip
        render_rows([*flat, *extra], CSV_COLUMNS, fmt)
    else:
        for n, (entry, group) in enumerate(zip(entries, rows, strict=True)):
            if n:
                typer.echo("")
            _print_text(entry, group, found.get(entry.profile_id), rule_set)
        typer.echo("Nothing was sent.")
        if out is not None:
            typer.echo(
                f"Saved the plan to {out}; `bidagent cycle --plan {out}` applies exactly it."
            )
    pending = any(r["status"] in (*PLAN_STATUSES, "held") for r in flat)
    if detailed_exitcode and pending:
        raise typer.Exit(2)
