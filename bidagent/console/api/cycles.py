"""``GET /api/cycles`` and ``GET /api/cycles/{id}``: the Cycles page's reads as JSON (see
:mod:`bidagent.console.cycle_views`), for viewers and up. Paged like the page: ``before`` is
the ``next_before`` of the previous answer."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel

from bidagent.console.api.rules import CountsOut, counts_out
from bidagent.console.auth import Principal
from bidagent.console.cycle_views import CycleRow, cycle_detail, cycles_view
from bidagent.console.deps import console_state, require
from bidagent.store import Session
from bidagent.store.cycle_list import CycleFilter

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["cycles"])


class CycleOut(BaseModel):
    """One cycle: outcome, reason, seconds by phase (None: not timed) and recorded counts."""

    id: int
    profile_id: str
    business_date: date
    schedule: str
    mode: str
    trigger: str
    outcome: str
    phase: str
    reason: str | None
    ruleset_hash: str | None
    started_at: datetime | None
    finished_at: datetime | None
    durations: dict[str, float | None]
    total_s: float | None
    counts: dict[str, int]


class CyclesOut(BaseModel):
    """One page of cycles, newest first."""

    cycles: list[CycleOut]
    total: int
    next_before: int | None


class RuleInCycleOut(BaseModel):
    """What one rule did in the cycle."""

    rule: str
    rule_hash: str | None
    note: str | None
    counts: CountsOut


class CycleDetailOut(BaseModel):
    """One cycle, its changes by current status and what each rule did."""

    cycle: CycleOut
    statuses: dict[str, int]
    rules: list[RuleInCycleOut]


def _cycle(row: CycleRow) -> CycleOut:
    c = row.cycle
    return CycleOut(
        id=c.id or 0, profile_id=c.profile_id, business_date=c.business_date,
        schedule=c.schedule, mode=c.mode, trigger=c.trigger, outcome=c.outcome, phase=c.phase,
        reason=c.error, ruleset_hash=c.ruleset_hash, started_at=c.started_at,
        finished_at=c.finished_at, durations=row.phases, total_s=row.total_s, counts=row.counts,
    )  # fmt: skip


@router.get("/cycles")
def list_cycles(
    request: Request,
    principal: Annotated[Principal, Depends(require("viewer"))],
    profile: Annotated[str | None, Query(max_length=32)] = None,
    outcome: Annotated[str | None, Query(max_length=16)] = None,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> CyclesOut:
    """Cycles newest first, 50 a page, by profile and outcome."""
    state = console_state(request)
    where = CycleFilter(profile_id=profile or None, outcome=outcome or None)
    with Session(state.engine) as session:
        view = cycles_view(session, where, before)
    return CyclesOut(
        cycles=[_cycle(r) for r in view.rows], total=view.total, next_before=view.next_before
    )


@router.get("/cycles/{cycle_id}")
def get_cycle(
    request: Request, principal: Annotated[Principal, Depends(require("viewer"))], cycle_id: int
) -> CycleDetailOut:
    """One cycle (404 when there is none)."""
    state = console_state(request)
    with Session(state.engine) as session:
        detail = cycle_detail(session, cycle_id)
    if detail is None:
        raise HTTPException(404, f"no cycle {cycle_id}")
    rules = [
        RuleInCycleOut(
            rule=r.run.rule_name,
            rule_hash=r.run.rule_hash,
            note=r.run.note,
            counts=counts_out(r.counts),
        )
        for r in detail.rules
    ]
    return CycleDetailOut(cycle=_cycle(detail.row), statuses=detail.statuses, rules=rules)
