"""``bidagent review``: list, show, approve, reject, resolve and expire review items.

Thin: parse, call :mod:`bidagent.agent.review.items` and :mod:`bidagent.store.review_items`
(the listings), render. The JSON shapes of ``list`` and ``show`` are documented in
``docs/review.md`` and pinned by a test. Exit codes: 0 ok, 1 when an action was refused (an item
already decided, a change whose entity moved, a bad configuration), 2 usage.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Literal

import typer

from bidagent.agent.context import agent_now
from bidagent.agent.review.decisions import Applier, Decision, decide
from bidagent.agent.review.items import ITEM_KEYS, SEVERITIES, expire_items, get_item, item_json
from bidagent.cli.bootstrap import fail, failing_cleanly, load_cli_settings, open_database
from bidagent.cli.render import OutputFormat, console, err_console, render_rows
from bidagent.settings import Settings
from bidagent.store import REVIEW_KINDS, REVIEW_STATUSES, Engine, Session, session_scope
from bidagent.store.review_items import change_counts, list_items

__all__ = ["review_app"]

review_app = typer.Typer(
    name="review",
    help="Work the review queue: items the agent held for a person (bare: list open items).",
    invoke_without_command=True,
)

# What fits a terminal; `show` and `--format json` have the rest.
_TABLE_COLUMNS = ("id", "severity", "kind", "status", "entity_name", "summary", "change_count")
_CHANGE_COLUMNS = ("id", "entity_kind", "entity_name", "field", "old_value", "new_value", "status")

FormatOption = Annotated[
    OutputFormat,
    typer.Option("--format", "-f", help="table, json (stable: docs/review.md) or csv."),
]
NoteOption = Annotated[str | None, typer.Option("--note", "-n", help="Why; kept on the item.")]
ByOption = Annotated[
    str | None, typer.Option("--by", help="Who decides (default: the login name).")
]
IdsArgument = Annotated[
    list[int] | None, typer.Argument(help="Review item ids.", show_default=False)
]
RuleOption = Annotated[
    str | None, typer.Option("--rule", "-r", help="Every open item raised by this rule.")
]


@contextmanager
def _database(ctx: typer.Context) -> Iterator[tuple[Settings, Engine]]:
    settings = load_cli_settings(ctx)
    with open_database(settings) as engine, failing_cleanly():
        yield settings, engine


@contextmanager
def open_applier(settings: Settings, engine: Engine) -> Iterator[Applier]:
    """The apply path for approvals: an agent context (Ads client) around ``applier_for``."""
    from bidagent.agent.context import AgentContext
    from bidagent.agent.cycle.change_sets import applier_for

    with AgentContext.open(settings, engine=engine) as agent:
        applier: Applier = applier_for(agent)
        yield applier


def _by(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "cli"


StatusOption = Annotated[
    str, typer.Option("--status", "-s", help="open approved rejected resolved expired, or all.")
]
KindOption = Annotated[str | None, typer.Option("--kind", "-k", help="Only this kind.")]
SeverityOption = Annotated[str | None, typer.Option("--severity", help="Only this severity.")]
RuleFilterOption = Annotated[
    str | None, typer.Option("--rule", "-r", help="Only this rule's items.")
]
ProfileOption = Annotated[str | None, typer.Option("--profile", help="Only this profile.")]


@review_app.callback()
def _default(
    ctx: typer.Context,
    status: StatusOption = "open",
    kind: KindOption = None,
    severity: SeverityOption = None,
    rule: RuleFilterOption = None,
    profile: ProfileOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Work the review queue; without a command, list items (`bidagent review --format json`)."""
    if ctx.invoked_subcommand is None:
        list_command(
            ctx, status=status, kind=kind, severity=severity, rule=rule, profile=profile, fmt=fmt
        )


@review_app.command("list")
def list_command(
    ctx: typer.Context,
    status: StatusOption = "open",
    kind: KindOption = None,
    severity: SeverityOption = None,
    rule: RuleFilterOption = None,
    profile: ProfileOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """List review items (open ones unless --status says otherwise), oldest first."""
    if status != "all" and status not in REVIEW_STATUSES:
        raise typer.BadParameter(
            f"{status!r} is not one of {', '.join(REVIEW_STATUSES)}, all", param_hint="--status"
        )
    for value, known, hint in (
        (kind, REVIEW_KINDS, "--kind"),
        (severity, SEVERITIES, "--severity"),
    ):
        if value is not None and value not in known:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(known)}", param_hint=hint)
    with _database(ctx) as (_, engine), Session(engine) as session:
        items = list_items(
            session,
            status=None if status == "all" else status,
            kind=kind,
            severity=severity,
            rule=rule,
            profile_id=profile,
        )
        counts = change_counts(session, [i.id for i in items if i.id is not None])
        rows = [{**item_json(i), "change_count": counts.get(i.id or 0, 0)} for i in items]
    columns = ITEM_KEYS if fmt is not OutputFormat.table else _TABLE_COLUMNS
    render_rows(rows, columns, fmt, title=f"Review items ({status})")


@review_app.command("show")
def show_command(
    ctx: typer.Context,
    item_id: Annotated[int, typer.Argument(help="Review item id.")],
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Show one item: its evidence and its changes with old → new."""
    with _database(ctx) as (_, engine), Session(engine) as session:
        body = item_json(*get_item(session, item_id))
    if fmt is OutputFormat.json:
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
        return
    changes = body.pop("changes")
    if fmt is OutputFormat.csv:
        render_rows(changes, _CHANGE_COLUMNS, fmt)
        return
    for key, value in body.items():
        if value is not None and key != "evidence":
            console.print(f"[bold]{key}[/bold]: {value}", highlight=False)
    for key, value in (body["evidence"] or {}).items():
        console.print(f"[bold]evidence.{key}[/bold]: {value}", highlight=False)
    if changes:
        render_rows(changes, _CHANGE_COLUMNS, fmt, title="Changes")


def _print_decision(made: Decision) -> None:
    counts: dict[str, int] = {}
    for outcome in made.outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    console.print(
        f"review item {made.item_id} {made.status}" + (f": changes {summary}" if summary else ""),
        highlight=False,
    )
    if made.refused:
        for outcome in made.outcomes:
            if outcome.status != "applied":
                err_console.print(
                    f"  change {outcome.change_id} not applied ({outcome.status}): {outcome.reason}",
                    highlight=False,
                )


def _decide(
    ctx: typer.Context,
    decision: Literal["approve", "reject", "resolve"],
    ids: list[int] | None,
    rule: str | None,
    note: str | None,
    by: str | None,
) -> None:
    if not ids and not rule:
        raise typer.BadParameter("give review item ids or --rule", param_hint="IDS")
    with _database(ctx) as (settings, engine):
        chosen = list(ids or [])
        if rule:
            with Session(engine) as session:
                found = [i.id for i in list_items(session, status="open", rule=rule)]
            if not found:
                fail(f"no open review items for rule {rule!r}")
            chosen += [i for i in found if i is not None and i not in chosen]
        if decision == "approve":
            with open_applier(settings, engine) as applier:
                made = decide(
                    engine,
                    chosen,
                    decision,
                    by=_by(by),
                    note=note,
                    now=agent_now(settings),
                    applier=applier,
                )
        else:
            made = decide(engine, chosen, decision, by=_by(by), note=note, now=agent_now(settings))
    for one in made:
        _print_decision(one)
    if any(one.refused for one in made):
        raise typer.Exit(1)


_DECISION_HELP = {
    "approve": "Apply the held changes, each only if its entity still has the old value.",
    "reject": "Reject the held changes; the rule will not propose them again within its cooldown.",
    "resolve": "Close items that hold no changes (alerts, data and API problems) once dealt with.",
}


def _decision_command(decision: Literal["approve", "reject", "resolve"]) -> None:
    """Register one decision command; the three differ only in the decision they make."""

    def command(
        ctx: typer.Context,
        ids: IdsArgument = None,
        rule: RuleOption = None,
        note: NoteOption = None,
        by: ByOption = None,
    ) -> None:
        _decide(ctx, decision, ids, rule, note, by)

    review_app.command(decision, help=_DECISION_HELP[decision])(command)


_decision_command("approve")
_decision_command("reject")
_decision_command("resolve")


@review_app.command("expire")
def expire_command(ctx: typer.Context) -> None:
    """Expire open items whose held changes are past their expiry, now."""
    with _database(ctx) as (settings, engine), session_scope(engine) as session:
        count = expire_items(session, agent_now(settings))
    console.print(f"expired {count} review item(s)", highlight=False)
