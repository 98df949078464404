"""``bidagent review``: list, show, approve, reject, resolve and expire review items.

Thin: parse, call :mod:`bidagent.agent.review.items` and :mod:`.decisions`, and
:mod:`bidagent.store.review_queue` (the listings: one page counted and read in SQL, 50 items
unless ``--limit`` says otherwise, so the listing stays fast with tens of thousands of items),
render. The JSON shapes of ``list`` and ``show`` are documented in ``docs/review.md`` and pinned
by a test. Exit codes: 0 ok, 1 when an action was refused (an item already decided, a change
whose entity moved, a bad configuration), 2 usage.
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
from bidagent.agent.review.decisions import Applier, Decision, decide, decide_changes
from bidagent.agent.review.items import ITEM_KEYS, SEVERITIES, expire_items, get_item, item_json
from bidagent.cli.bootstrap import fail, failing_cleanly, load_cli_settings, open_database
from bidagent.cli.render import OutputFormat, console, err_console, render_rows
from bidagent.settings import Settings
from bidagent.store import REVIEW_KINDS, REVIEW_STATUSES, Engine, Session, session_scope
from bidagent.store.review_items import list_items
from bidagent.store.review_queue import SORTS, ItemFilter, Sort, count_items, page_items

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
CampaignOption = Annotated[
    str | None, typer.Option("--campaign", help="Only items about this campaign id.")
]
SortOption = Annotated[
    str, typer.Option("--sort", help="oldest, newest, severity (critical first) or last_seen.")
]
LimitOption = Annotated[
    int, typer.Option("--limit", "-l", min=0, help="Items to show (0: every one).")
]
OffsetOption = Annotated[int, typer.Option("--offset", min=0, help="Items to skip first.")]
DEFAULT_LIMIT = 50


@review_app.callback()
def _default(
    ctx: typer.Context,
    status: StatusOption = "open",
    kind: KindOption = None,
    severity: SeverityOption = None,
    rule: RuleFilterOption = None,
    profile: ProfileOption = None,
    campaign: CampaignOption = None,
    sort: SortOption = "oldest",
    limit: LimitOption = DEFAULT_LIMIT,
    offset: OffsetOption = 0,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Work the review queue; without a command, list items (`bidagent review --format json`)."""
    if ctx.invoked_subcommand is None:
        list_command(
            ctx, status=status, kind=kind, severity=severity, rule=rule, profile=profile,
            campaign=campaign, sort=sort, limit=limit, offset=offset, fmt=fmt,
        )  # fmt: skip


def _sort(value: str) -> Sort:
    for known in SORTS:
        if value == known:
            return known
    raise typer.BadParameter(f"{value!r} is not one of {', '.join(SORTS)}", param_hint="--sort")


@review_app.command("list")
def list_command(
    ctx: typer.Context,
    status: StatusOption = "open",
    kind: KindOption = None,
    severity: SeverityOption = None,
    rule: RuleFilterOption = None,
    profile: ProfileOption = None,
    campaign: CampaignOption = None,
    sort: SortOption = "oldest",
    limit: LimitOption = DEFAULT_LIMIT,
    offset: OffsetOption = 0,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """List review items (open ones unless --status says otherwise), oldest first unless
    --sort says otherwise, one page at a time: --limit (default 50; 0 for all) and --offset."""
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
    order = _sort(sort)
    where = ItemFilter(
        status=None if status == "all" else status, kind=kind, severity=severity, rule=rule,
        profile_id=profile, campaign_id=campaign,
    )  # fmt: skip
    with _database(ctx) as (_, engine), Session(engine) as session:
        total = count_items(session, where)
        found = page_items(session, where, sort=order, offset=offset, limit=limit or total)
        rows = [{**item_json(r.item), "change_count": r.change_count} for r in found]
    columns = ITEM_KEYS if fmt is not OutputFormat.table else _TABLE_COLUMNS
    render_rows(rows, columns, fmt, title=f"Review items ({status})")
    start = f" from #{offset + 1}" if offset else ""
    more = " (--limit, --offset for more)" if offset + len(rows) < total else ""
    footer = f"showing {len(rows):,} of {total:,}{start}{more}"
    (console if fmt is OutputFormat.table else err_console).print(footer, highlight=False)


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
    _report(made)


def _report(made: list[Decision]) -> None:
    for one in made:
        _print_decision(one)
    if any(one.refused for one in made):
        raise typer.Exit(1)


def _change_ids(text: str) -> list[int]:
    try:
        found = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        found = []
    if not found:
        raise typer.BadParameter(
            f"{text!r} is not a comma-separated list of change ids (1,2,3)", param_hint="--changes"
        )
    return found


def _decide_changes(
    ctx: typer.Context,
    ids: list[int] | None,
    rule: str | None,
    changes: str,
    note: str | None,
    by: str | None,
) -> None:
    """Approve the listed changes of one item and reject the rest of it."""
    if rule or len(ids or []) != 1:
        raise typer.BadParameter("--changes decides inside one review item: give one ID")
    approve = _change_ids(changes)
    assert ids is not None
    with _database(ctx) as (settings, engine), open_applier(settings, engine) as applier:
        made = decide_changes(
            engine, ids[0], approve, by=_by(by), note=note, now=agent_now(settings),
            applier=applier,
        )  # fmt: skip
    _report([made])


_DECISION_HELP = {
    "approve": "Apply the held changes, each only if its entity still has the old value "
    "(--changes 1,2,3: only those of one item, rejecting the rest of it).",
    "reject": "Reject the held changes; the rule will not propose them again within its cooldown.",
    "resolve": "Close items that hold no changes (alerts, data and API problems) once dealt with.",
}
ChangesOption = Annotated[
    str | None,
    typer.Option(
        "--changes",
        help="Approve only these change ids (comma-separated) of the one item given, reject the "
        "rest of it; a change set's partners come along.",
    ),
]


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

    def approve_command(
        ctx: typer.Context,
        ids: IdsArgument = None,
        rule: RuleOption = None,
        changes: ChangesOption = None,
        note: NoteOption = None,
        by: ByOption = None,
    ) -> None:
        if changes is not None:
            _decide_changes(ctx, ids, rule, changes, note, by)
        else:
            _decide(ctx, decision, ids, rule, note, by)

    chosen = approve_command if decision == "approve" else command
    review_app.command(decision, help=_DECISION_HELP[decision])(chosen)


_decision_command("approve")
_decision_command("reject")
_decision_command("resolve")


@review_app.command("expire")
def expire_command(ctx: typer.Context) -> None:
    """Expire open items whose held changes are past their expiry, now."""
    with _database(ctx) as (settings, engine), session_scope(engine) as session:
        count = expire_items(session, agent_now(settings))
    console.print(f"expired {count} review item(s)", highlight=False)
