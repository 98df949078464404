"""The change log (``bidagent changes``) and reverting (``bidagent revert``).

``changes`` reads the ledger only, through the console's change-log queries
(:mod:`bidagent.store.change_log`: the same filters, keyset paging by id), and shows each change
as ``plan`` does (:mod:`bidagent.agent.change_views`, :mod:`bidagent.cli.plan_render`): the
campaign and ad group by name, the keyword and match type or the target (or what a creation
adds), old -> new in the profile's currency with the step. A page holds ``--limit`` changes
(default 100; 0: every one), newest first; ``--before ID`` starts below that id; the footer says
how far it got (``showing 100 of 12,340 (rows 1-100, newest first); next page: --before 12241``),
on stderr for ``json`` and ``csv`` so stdout stays one document. ``revert`` plans changes back to
the old values, shows them, and applies them after confirmation through the same sender as every
other change. It must not build SQL or word a change itself: the store reads, the change views and
``plan_render`` say what a change does.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

import typer
from rich.markup import escape

from bidagent.agent.change_json import change_json
from bidagent.agent.change_views import VIEW_KEYS, change_views
from bidagent.agent.context import AgentContext, agent_now
from bidagent.agent.cycle.change_requests import CREATION_FIELDS
from bidagent.agent.cycle.revert import apply_revert, plan_revert, revert_summary
from bidagent.cli.bootstrap import fail, failing_cleanly, load_cli_settings, open_database
from bidagent.cli.plan_render import SYMBOLS, entity_label, what, why_line
from bidagent.cli.render import (
    DetailFormat,
    OutputFormat,
    console,
    err_console,
    render_rows,
    to_jsonable,
)
from bidagent.durations import parse_duration
from bidagent.store import CHANGE_STATUSES, ChangeRecord, Session, change_log
from bidagent.store.change_log import ChangeFilter, count_changes, page_changes
from bidagent.store.changes import applied_changes
from bidagent.store.entity_names import campaigns_matching
from bidagent.store.profile_locks import hold_profiles
from bidagent.store.profile_status import profile_statuses
from bidagent.vocabulary import MONEY_FIELDS

__all__ = [
    "ACTORS",
    "CONTEXT_COLUMNS",
    "DEFAULT_LIMIT",
    "FIELDS",
    "LIST_COLUMNS",
    "TABLE_COLUMNS",
    "footer",
    "register",
]

changes_app = typer.Typer(
    name="changes",
    help="The change log, newest first, a page at a time (--limit, --before): each change with its "
    "campaign, ad group, keyword or target, old -> new, rule, status and who made it.",
    no_args_is_help=False, invoke_without_command=True,
)  # fmt: skip

DEFAULT_LIMIT = 100
# Who writes changes (ChangeRecord.actor) and the fields a change can touch or create.
ACTORS = ("rule", "approval", "revert", "external", "user")
FIELDS = (*sorted(MONEY_FIELDS), "state", *sorted(CREATION_FIELDS))
# The listing's columns of the one change shape (bidagent.agent.change_json), then the context
# the change views add (campaign, ad group, target, match type, step, currency) and `change`,
# the row as one line as `plan` prints it.
LIST_COLUMNS = [
    "id", "when", "profile_id", "entity_kind", "entity_id", "entity_name", "field", "old", "new",
    "rule", "status", "actor", "cycle_id", "reason",
]  # fmt: skip
CONTEXT_COLUMNS = [*(k for k in VIEW_KEYS if k not in LIST_COLUMNS), "change"]
TABLE_COLUMNS = ["id", "when (UTC)", "campaign", "ad group", "change", "rule", "status", "actor"]
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _choice(option: str, value: str | None, known: tuple[str, ...]) -> None:
    if value is not None and value not in known:
        fail(f"{option}: {value!r} is not one of {', '.join(known)}", code=2)


def _moment(option: str, text: str, now: Callable[[], datetime], *, until: bool) -> datetime:
    """``7d`` (that long before the agent's now), ``2025-06-01`` (that day's start, UTC; for
    ``--until`` the next day's, so the day is included) or an ISO 8601 time (UTC unless it says)."""
    try:
        return now() - parse_duration(text)
    except ValueError:
        pass
    try:
        if _DAY.match(text):
            start = datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
            return start + timedelta(days=1) if until else start
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(
            f"{option}: {text!r} is not a duration (7d, 6h), a date (2025-06-01) or an ISO 8601 "
            "time (2025-06-01T12:00)",
            code=2,
        )
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _campaign_id(session: Session, wanted: str, profile: str | None) -> str:
    """The one synced campaign whose id or name (any case) is ``wanted``."""
    profiles = [profile] if profile else [s.profile_id for s in profile_statuses(session)]
    found = campaigns_matching(session, profiles, wanted)
    if not found:
        fail(f"--campaign: no campaign with id or name {wanted!r} in the synced data")
    if len(found) > 1:
        fail(
            f"--campaign: {wanted!r} names {len(found)} campaigns ({', '.join(found)}): "
            "give one id, or --profile",
            code=2,
        )
    return found[0]


def _sentence(view: dict[str, Any]) -> str:
    """``~ keyword "shower head" exact: bid $0.81 -> $0.65 (-19.8%)``, as ``plan`` prints it."""
    return f"{SYMBOLS[view['action']]} {entity_label(view)}{what(view)}"


def _context(view: dict[str, Any]) -> dict[str, Any]:
    return {**{k: view[k] for k in CONTEXT_COLUMNS if k != "change"}, "change": _sentence(view)}


def _table_row(change: ChangeRecord, row: dict[str, Any]) -> dict[str, Any]:
    moment = change.finished_at or change.updated_at
    return {
        **row, "when (UTC)": moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else "",
        "ad group": row["ad_group"],
    }  # fmt: skip


def footer(shown: int, total: int, first: int, next_before: int | None) -> str:
    """``showing 100 of 12,340 (rows 1-100, newest first); next page: --before 12241``."""
    text = f"showing {shown:,} of {total:,}"
    if shown and (first > 1 or next_before is not None):
        text += f" (rows {first:,}-{first + shown - 1:,}, newest first)"
    if next_before is not None:
        text += f"; next page: --before {next_before}"
    return text


@changes_app.callback()
def list_changes(
    ctx: typer.Context,
    profile: Annotated[str | None, typer.Option("--profile", "-p", help="Profile id.")] = None,
    campaign: Annotated[
        str | None, typer.Option("--campaign", help="Changes under or to a campaign (id or name).")
    ] = None,
    ad_group: Annotated[
        str | None, typer.Option("--ad-group", help="Changes under or to an ad group (id).")
    ] = None,
    entity: Annotated[str | None, typer.Option("--entity", help="Entity id.")] = None,
    rule: Annotated[str | None, typer.Option("--rule", "-r", help="Rule name.")] = None,
    field: Annotated[
        str | None, typer.Option("--field", help=f"One of {', '.join(FIELDS)}.")
    ] = None,
    status: Annotated[
        str | None, typer.Option("--status", help=f"One of {', '.join(CHANGE_STATUSES)}.")
    ] = None,
    actor: Annotated[
        str | None,
        typer.Option(
            "--actor", help=f"One of {', '.join(ACTORS)} (external: edits made outside bidagent)."
        ),
    ] = None,
    cycle: Annotated[int | None, typer.Option("--cycle", help="Cycle id.")] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Updated since: 7d, 6h, 2025-06-01 or an ISO 8601 time."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until", help="Updated before: 2d, 2025-06-01 (that day included), or a time."
        ),
    ] = None,
    text: Annotated[
        str | None,
        typer.Option("--text", "-q", help="Text in the entity's name or id, the rule or reason."),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-l", min=0, help="Changes per page (0: every one).")
    ] = DEFAULT_LIMIT,
    before: Annotated[
        int | None, typer.Option("--before", min=1, help="Only changes with a lower id (paging).")
    ] = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="table, json or csv.")
    ] = OutputFormat.table,
) -> None:
    """List changes, newest first, a page at a time (--limit, --before), each with its campaign,
    ad group, keyword or target, and old -> new in the profile's currency."""
    if ctx.invoked_subcommand is not None:
        return
    _choice("--status", status, CHANGE_STATUSES)
    _choice("--field", field, FIELDS)
    _choice("--actor", actor, ACTORS)
    settings = load_cli_settings(ctx)

    def now() -> datetime:
        return agent_now(settings)

    updated_since = _moment("--since", since, now, until=False) if since else None
    updated_until = _moment("--until", until, now, until=True) if until else None
    with open_database(settings) as engine, Session(engine) as session:
        where = ChangeFilter(
            profile_id=profile, ad_group_id=ad_group, entity_id=entity, rule=rule, field=field,
            status=status, actor=actor, cycle_id=cycle, updated_since=updated_since,
            updated_until=updated_until, text=text or None,
            campaign_id=_campaign_id(session, campaign, profile) if campaign else None,
        )  # fmt: skip
        total = count_changes(session, where)
        found = page_changes(session, where, before_id=before, limit=(limit or total) + 1)
        shown = found[:limit] if limit else found
        first = count_changes(session, where, from_id=shown[0].change.id) if shown else 0
        views = change_views(session, [r.change for r in shown])
    rows = [{**change_json(r.change), **_context(v)} for r, v in zip(shown, views, strict=True)]
    more = shown[-1].change.id if shown and len(found) > len(shown) else None
    line = footer(len(shown), total, first, more)
    if fmt is not OutputFormat.table:
        render_rows(rows, [*LIST_COLUMNS, *CONTEXT_COLUMNS], fmt)
        err_console.print(line, highlight=False, markup=False)
        return
    if rows:
        table = [_table_row(r.change, row) for r, row in zip(shown, rows, strict=True)]
        render_rows(table, TABLE_COLUMNS, fmt, title="changes")
    else:
        typer.echo("No change matches.")
    typer.echo(line)


def _print(label: str, value: object) -> None:
    console.print(f"[bold]{label}[/bold]: {escape(str(value))}", highlight=False, soft_wrap=True)


def _named(name: str | None, entity_id: str | None) -> str | None:
    if name and entity_id:
        return f'"{name}" ({entity_id})'
    return name or entity_id


@changes_app.command("show")
def show_change(
    ctx: typer.Context,
    change_id: Annotated[int, typer.Argument(help="Change id.")],
    fmt: Annotated[DetailFormat, typer.Option("--format", "-f", help="table or json.")] = (
        DetailFormat.table
    ),
) -> None:
    """One change in full: what it does where (campaign, ad group, keyword or target, old -> new
    in the profile's currency), the evidence, rule, file and hash, notes, timestamps."""
    settings = load_cli_settings(ctx)
    with open_database(settings) as engine, Session(engine) as session:
        row = change_log.change_by_id(session, change_id)
        if row is None:
            fail(f"no change {change_id}")
        (view,) = change_views(session, [row])
    data = row.model_dump()
    context = {k: v for k, v in _context(view).items() if k not in data}
    if fmt is DetailFormat.json:
        body = {**data, **context}
        sys.stdout.write(json.dumps(to_jsonable(body), indent=2, sort_keys=True) + "\n")
        return
    typer.echo(context["change"])
    for label, shown in (
        ("campaign", _named(view["campaign"], view["campaign_id"])),
        ("ad group", _named(view["ad_group"], view["ad_group_id"])),
        ("evidence", why_line(row.evidence, view["currency"])),
    ):
        if shown:
            _print(label, shown)
    for key in ChangeRecord.model_fields:  # in the ledger's column order
        value = data[key]
        if value is None or key in ("evidence", "campaign_id", "ad_group_id"):
            continue
        _print(
            key,
            json.dumps(to_jsonable(value), indent=2) if isinstance(value, dict | list) else value,
        )


def revert_command(
    ctx: typer.Context,
    change_ids: Annotated[list[int] | None, typer.Argument(help="Change ids.")] = None,
    cycle: Annotated[int | None, typer.Option("--cycle", help="Every change of a cycle.")] = None,
    rule: Annotated[str | None, typer.Option("--rule", help="Changes made by a rule.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="With --rule, e.g. 2d.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")] = False,
    by: Annotated[str, typer.Option("--by", help="Who reverts.")] = "cli",
) -> None:
    """Put applied changes back to their old values and archive the keywords and negatives they
    created (skipping entities changed since). Prints how many were reverted, failed and skipped
    by reason; the three add up to the changes asked for."""
    if not change_ids and cycle is None and rule is None:
        fail("name change ids, --cycle ID, or --rule R [--since 2d]", code=2)
    try:
        window = parse_duration(since) if since else None
    except ValueError as exc:
        fail(f"--since: {exc}", code=2)
    settings = load_cli_settings(ctx)
    with failing_cleanly(), AgentContext.open(settings) as agent, ExitStack() as held:
        moment = agent.now() - window if window is not None else None
        with Session(agent.engine) as session:
            originals = applied_changes(
                session, change_ids=change_ids or (), cycle_id=cycle, rule=rule, since=moment,
                include_reverted=True,
            )  # fmt: skip
        unknown = sorted(set(change_ids or ()) - {o.id for o in originals})
        if unknown:
            with Session(agent.engine) as session:
                found = {i: change_log.change_by_id(session, i) for i in unknown}
            absent = [str(i) for i, row in found.items() if row is None]
            if absent:
                fail(f"no change {', '.join(absent)}")
            states = ", ".join(f"{i} is {row.status}" for i, row in found.items() if row)
            fail(f"only applied changes can be reverted: change {states}")
        # One writer per profile: read live values and send only while no cycle runs there.
        held.enter_context(hold_profiles(agent.engine, {o.profile_id for o in originals},
                                         owner="bidagent revert", wait_s=settings.schedule.lock_wait_s))  # fmt: skip
        items = plan_revert(agent, originals)
        rows = [
            {"change": i.original.id, "entity": i.original.entity_name or i.original.entity_id,
             "field": i.original.field, "now": i.current, "back_to": i.target,
             "skipped": i.skip_reason or ""}
            for i in items
        ]  # fmt: skip
        render_rows(rows, ["change", "entity", "field", "now", "back_to", "skipped"],
                    OutputFormat.table, title="revert plan")  # fmt: skip
        todo = [i for i in items if i.skip_reason is None]
        if not todo:
            typer.echo(f"nothing to revert: {revert_summary(items, [])}")
            raise typer.Exit(1 if items else 0)
        if not yes and not typer.confirm(f"apply {len(todo)} revert(s)?"):
            raise typer.Exit(1)
        outcomes = apply_revert(agent, todo, by=by)
    applied = sum(1 for o in outcomes if o.status == "applied")
    typer.echo(revert_summary(items, outcomes))
    if applied != len(todo):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``changes`` and ``revert`` to the root app."""
    app.add_typer(changes_app)
    app.command("revert")(revert_command)
