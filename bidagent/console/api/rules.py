"""``GET /api/rules`` and ``GET /api/rules/{name}``: the Rules page's reads as JSON (see
:mod:`bidagent.console.rule_views` for what each count means), for viewers and up."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from bidagent.console.auth import Principal
from bidagent.console.deps import console_state, require
from bidagent.console.rule_views import (
    LastRun,
    Problem,
    RuleCounts,
    RuleEntry,
    rule_detail,
    rules_view,
)
from bidagent.store import Session

__all__ = ["CountsOut", "counts_out", "router"]

router = APIRouter(prefix="/api", tags=["rules"])


class CountsOut(BaseModel):
    """A rule's counts: the plan's (matched, proposed, skipped, alerts, skips by reason) and
    its changes by their current status."""

    matched: int
    proposed: int
    skipped: int
    alerts: int
    statuses: dict[str, int]
    skips: dict[str, int]


class LastRunOut(BaseModel):
    """A rule's newest cycle in one profile."""

    profile_id: str
    cycle_id: int
    rule_hash: str | None
    note: str | None
    counts: CountsOut


class ProblemOut(BaseModel):
    """A loader problem (``severity`` error or warning), its file inside the rules folder."""

    file: str
    line: int
    col: int
    message: str
    rule: str | None
    severity: str


class RuleOut(BaseModel):
    """One rule (definition fields None when only its cycle records know it)."""

    name: str
    loaded: bool
    file: str | None
    line: int | None
    file_hash: str | None
    description: str
    entity: str | None
    action: str | None
    field: str | None
    priority: int | None
    enabled: bool | None
    schedule: str | None
    until: str | None
    last: list[LastRunOut]
    totals: CountsOut
    problems: list[ProblemOut]


class ReloadOut(BaseModel):
    """The daemon's open ``rules`` review item: its last reload was rejected."""

    review_item_id: int
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    occurrences: int
    problems: list[str]


class RulesOut(BaseModel):
    """Every rule with its last cycles, the files' problems and the last rejected reload."""

    rules_dir: str
    loaded: bool
    ruleset_hash: str | None
    rules: list[RuleOut]
    former: list[RuleOut]
    errors: list[ProblemOut]
    warnings: list[ProblemOut]
    rejected_reload: ReloadOut | None


class HistoryOut(BaseModel):
    """The rule in one of its cycles."""

    cycle_id: int
    profile_id: str
    business_date: date
    schedule: str
    outcome: str
    rule_hash: str | None
    note: str | None
    counts: CountsOut


class RuleDetailOut(BaseModel):
    """One rule, its newest cycles and its file's text."""

    rule: RuleOut
    history: list[HistoryOut]
    yaml_file: str | None
    yaml: str | None


def counts_out(c: RuleCounts) -> CountsOut:
    return CountsOut(
        matched=c.matched, proposed=c.proposed, skipped=c.skipped, alerts=c.alerts,
        statuses=c.statuses, skips=c.skips,
    )  # fmt: skip


def _problem(p: Problem) -> ProblemOut:
    return ProblemOut(file=p.file, line=p.line, col=p.col, message=p.message, rule=p.rule,
                      severity=p.severity)  # fmt: skip


def _last(run: LastRun) -> LastRunOut:
    return LastRunOut(profile_id=run.profile_id, cycle_id=run.cycle_id, rule_hash=run.rule_hash,
                      note=run.note, counts=counts_out(run.counts))  # fmt: skip


def _rule(e: RuleEntry) -> RuleOut:
    return RuleOut(
        name=e.name, loaded=e.loaded, file=e.file, line=e.line, file_hash=e.file_hash,
        description=e.description, entity=e.entity, action=e.action, field=e.field,
        priority=e.priority, enabled=e.enabled, schedule=e.schedule, until=e.until,
        last=[_last(r) for r in e.last], totals=counts_out(e.totals),
        problems=[_problem(p) for p in e.problems],
    )  # fmt: skip


Profile = Annotated[str | None, Query(max_length=32)]


@router.get("/rules")
def list_rules(
    request: Request,
    principal: Annotated[Principal, Depends(require("viewer"))],
    profile: Profile = None,
) -> RulesOut:
    """Every rule with its last cycle's counts (``profile``: that profile's last cycles)."""
    state = console_state(request)
    with Session(state.engine) as session:
        view = rules_view(session, state.settings.rules_dir, profile or None)
    item = view.reload_item
    reload = (
        ReloadOut(
            review_item_id=item.id or 0,
            first_seen_at=item.first_seen_at,
            last_seen_at=item.last_seen_at,
            occurrences=item.occurrences,
            problems=[str(p) for p in (item.evidence or {}).get("problems", [])],
        )
        if item is not None
        else None
    )
    return RulesOut(
        rules_dir=view.rules_dir, loaded=view.loaded, ruleset_hash=view.ruleset_hash,
        rules=[_rule(e) for e in view.rules], former=[_rule(e) for e in view.former],
        errors=[_problem(p) for p in view.errors], warnings=[_problem(p) for p in view.warnings],
        rejected_reload=reload,
    )  # fmt: skip


@router.get("/rules/{name}")
def get_rule(
    request: Request,
    principal: Annotated[Principal, Depends(require("viewer"))],
    name: str,
    profile: Profile = None,
) -> RuleDetailOut:
    """One rule, its newest cycles and its YAML (404 when neither files nor cycles know it)."""
    state = console_state(request)
    with Session(state.engine) as session:
        detail = rule_detail(session, state.settings.rules_dir, name, profile or None)
    if detail is None:
        raise HTTPException(404, f"no rule named {name!r} in the rule files or the cycles")
    history = [
        HistoryOut(
            cycle_id=h.cycle.id or 0,
            profile_id=h.cycle.profile_id,
            business_date=h.cycle.business_date,
            schedule=h.cycle.schedule,
            outcome=h.cycle.outcome,
            rule_hash=h.rule_hash,
            note=h.note,
            counts=counts_out(h.counts),
        )
        for h in detail.history
    ]
    source = detail.source
    return RuleDetailOut(
        rule=_rule(detail.entry), history=history,
        yaml_file=source.name if source else None, yaml=source.text if source else None,
    )  # fmt: skip
