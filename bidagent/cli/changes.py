"""The change log (``bidagent changes``) and reverting (``bidagent revert``).

``changes`` reads the ledger only; ``revert`` plans changes back to the old values, shows them,
and applies them after confirmation through the same sender as every other change.
"""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from typing import Annotated

import typer

from bidagent.agent.change_json import change_json
from bidagent.agent.context import AgentContext, agent_now
from bidagent.agent.cycle.revert import apply_revert, plan_revert, revert_summary
from bidagent.cli.bootstrap import fail, failing_cleanly, load_cli_settings, open_database
from bidagent.cli.render import DetailFormat, OutputFormat, console, render_rows, to_jsonable
from bidagent.durations import parse_duration
from bidagent.store import CHANGE_STATUSES, Session, change_log
from bidagent.store.changes import applied_changes
from bidagent.store.profile_locks import hold_profiles

__all__ = ["register"]

changes_app = typer.Typer(
    name="changes", help="The change log: every change, its rule, evidence and status.",
    no_args_is_help=False, invoke_without_command=True,
)  # fmt: skip

# The listing's columns, picked from the one change shape (bidagent.agent.change_json).
LIST_COLUMNS = [
    "id", "when", "profile_id", "entity_kind", "entity_id", "entity_name", "field", "old", "new",
    "rule", "status", "actor", "cycle_id", "reason",
]  # fmt: skip


@changes_app.callback()
def list_changes(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option("--since", help="e.g. 7d, 6h")] = None,
    rule: Annotated[str | None, typer.Option("--rule")] = None,
    entity: Annotated[str | None, typer.Option("--entity", help="Entity id.")] = None,
    cycle: Annotated[int | None, typer.Option("--cycle", help="Cycle id.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help=f"One of {', '.join(CHANGE_STATUSES)}.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit")] = 500,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.table,
) -> None:
    """List changes, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    if status is not None and status not in CHANGE_STATUSES:
        fail(f"--status: {status!r} is not one of {', '.join(CHANGE_STATUSES)}", code=2)
    settings = load_cli_settings(ctx)
    updated_since = None
    if since is not None:
        try:
            window = parse_duration(since)
        except ValueError as exc:
            fail(f"--since: {exc}", code=2)
        updated_since = agent_now(settings) - window
    with open_database(settings) as engine, Session(engine) as session:
        found = change_log.list_changes(
            session, updated_since=updated_since, rule=rule, entity_id=entity, cycle_id=cycle,
            status=status, limit=limit,
        )  # fmt: skip
        rows = [change_json(r) for r in found]
    columns = LIST_COLUMNS if fmt is not OutputFormat.table else [
        "id", "when", "entity_name", "field", "old", "new", "rule", "status", "actor",
    ]  # fmt: skip
    render_rows(rows, columns, fmt, title="changes")


@changes_app.command("show")
def show_change(
    ctx: typer.Context,
    change_id: Annotated[int, typer.Argument(help="Change id.")],
    fmt: Annotated[DetailFormat, typer.Option("--format", "-f", help="table or json.")] = (
        DetailFormat.table
    ),
) -> None:
    """One change in full: values, rule, file and hash, evidence, notes, timestamps."""
    settings = load_cli_settings(ctx)
    with open_database(settings) as engine, Session(engine) as session:
        row = change_log.change_by_id(session, change_id)
    if row is None:
        fail(f"no change {change_id}")
    data = row.model_dump()
    if fmt is DetailFormat.json:
        sys.stdout.write(json.dumps(to_jsonable(data), indent=2, sort_keys=True) + "\n")
        return
    for key, value in data.items():
        if value is None:
            continue
        shown = (
            json.dumps(to_jsonable(value), indent=2) if isinstance(value, dict | list) else value
        )
        console.print(f"[bold]{key}[/bold]: {shown}")


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
