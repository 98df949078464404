"""Send planned changes to the Ads API from the intent log, and settle every outcome.

The order is the safety argument (docs/architecture.md §3, the apply step):
1. a change exists as a ``planned`` row before anything is sent;
2. right before its batch goes out, the kill switch is checked and the rows become ``sending``
   in a committed transaction (no transaction is held across the HTTP call);
3. each 207 item makes its row ``applied`` or ``failed`` (with Amazon's reason);
4. when the outcome is unknown (timeout, reset, 5xx, a crash between 2 and 3) the live value is
   read back: equal to the new value means applied, equal to the old value means send again,
   anything else is someone else's edit, so the row fails as ``conflict`` and a person is asked.
Values are absolute, never relative, so a resend after a read-back cannot double a change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import structlog

from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.change_requests import api_call, change_request, live_value
from bidagent.agent.cycle.failpoints import failpoint
from bidagent.agent.service.kill_switch import ensure_not_paused
from bidagent.errors import AdsError, PausedError
from bidagent.store import ChangeRecord, Session, session_scope
from bidagent.store.changes import get_change, load_changes, sending_change_ids
from bidagent.store.profile_locks import hold_profiles
from bidagent.store.statuses import ChangeStatus
from bidagent.store.transitions import ChangeOutcome, transition
from bidagent.vocabulary import ApiCall, Archive, Create, Update

__all__ = [
    "MAX_SEND_ATTEMPTS",
    "ChangeOutcome",
    "apply_approved",
    "apply_planned",
    "reconcile_sending",
]

log = structlog.get_logger(__name__)

BATCH_SIZE = 200  # well under Amazon's 1,000: an unknown outcome then costs fewer read-backs
MAX_SEND_ATTEMPTS = 3  # sends of one change before an unknown outcome becomes a review item


def _load(session: Session, ids: Iterable[int]) -> list[ChangeRecord]:
    return sorted(load_changes(session, ids), key=lambda r: r.id or 0)


def _finish(
    ctx: AgentContext,
    change_id: int,
    status: ChangeStatus,
    *,
    reason: str | None = None,
    code: str | None = None,
    remote_id: str | None = None,
) -> ChangeOutcome:
    now = ctx.now()
    with session_scope(ctx.engine) as session:
        row = get_change(session, change_id)
        assert row is not None
        transition(row, status, now=now)
        row.reason = reason
        row.error_code = code
        if remote_id:
            row.remote_id = remote_id
        row.finished_at = now if status in ("applied", "failed") else row.finished_at
        session.add(row)
        if status == "failed" and code is not None:
            from bidagent.agent.review.escalation import escalate_failed_change

            escalate_failed_change(session, row, now=now)
    log.debug(
        f"change_{status}", change_id=change_id, reason=reason, code=code, remote_id=remote_id
    )
    return ChangeOutcome(change_id, status, reason)


def _mark_sending(ctx: AgentContext, ids: Sequence[int]) -> None:
    now = ctx.now()
    with session_scope(ctx.engine) as session:
        for row in _load(session, ids):
            transition(row, "sending", now=now)
            row.attempts += 1
            row.sent_at = now
            session.add(row)


def _batches(rows: Sequence[ChangeRecord]) -> Iterable[tuple[str, ApiCall, list[ChangeRecord]]]:
    """Group by (profile, API call) and cut into batches, keeping the plan's order."""
    groups: dict[tuple[str, ApiCall], list[ChangeRecord]] = defaultdict(list)
    for row in rows:
        groups[(row.profile_id, api_call(row))].append(row)
    for (profile_id, call), members in groups.items():
        for start in range(0, len(members), BATCH_SIZE):
            yield profile_id, call, members[start : start + BATCH_SIZE]


def apply_planned(ctx: AgentContext, change_ids: Sequence[int]) -> list[ChangeOutcome]:
    """Send the ``planned`` changes among ``change_ids``; others are left as they are."""
    with session_scope(ctx.engine) as session:
        rows = [r for r in _load(session, change_ids) if r.status == "planned"]
    outcomes: list[ChangeOutcome] = []
    for number, (profile_id, call, batch) in enumerate(_batches(rows)):
        if number:
            failpoint("between_batches")
        if ctx.stopping.is_set():
            # Shutting down: leave the rest planned; the interrupted cycle resumes on restart.
            outcomes.extend(ChangeOutcome(r.id or 0, "planned", "shutting down") for r in batch)
            continue
        try:
            ensure_not_paused(ctx.engine, profile_id)
        except PausedError as exc:
            log.warning("batch_held_by_kill_switch", profile_id=profile_id, reason=str(exc))
            outcomes.extend(ChangeOutcome(r.id or 0, "planned", str(exc)) for r in batch)
            continue
        outcomes.extend(_send_batch(ctx, profile_id, call, batch))
    return outcomes


def _send_batch(
    ctx: AgentContext, profile_id: str, call: ApiCall, batch: list[ChangeRecord]
) -> list[ChangeOutcome]:
    ids = [r.id or 0 for r in batch]
    _mark_sending(ctx, ids)
    failpoint("after_mark_sending")
    requests = [change_request(r) for r in batch]
    try:
        match call:
            case Update(kind):
                results = ctx.client.update(profile_id, kind, requests)
            case Create(kind):
                results = ctx.client.create(profile_id, kind, requests)
            case Archive(kind):
                results = ctx.client.archive(profile_id, kind, requests)
    except AdsError as exc:
        # The request was refused as a whole (auth, 400, throttled past the budget): nothing
        # was applied, so the rows go back to planned for the next cycle to try again.
        log.error("batch_refused", profile_id=profile_id, kind=str(call), error=str(exc))
        return [_requeue(ctx, change_id, f"batch refused: {exc}") for change_id in ids]
    failpoint("after_request_sent")
    by_index = {result.index: result for result in results}
    failpoint("before_record_outcome")
    outcomes: list[ChangeOutcome] = []
    unknown: list[int] = []
    for index, change_id in enumerate(ids):
        result = by_index.get(index)
        if result is None or result.outcome == "unknown":
            unknown.append(change_id)
        elif result.outcome == "applied":
            outcomes.append(_finish(ctx, change_id, "applied", remote_id=result.entity_id))
        else:
            outcomes.append(
                _finish(ctx, change_id, "failed", reason=result.message, code=result.code)
            )
    if unknown:
        log.warning("outcome_unknown", profile_id=profile_id, kind=str(call), changes=len(unknown))
        outcomes.extend(reconcile(ctx, unknown))
    return outcomes


def _requeue(ctx: AgentContext, change_id: int, reason: str) -> ChangeOutcome:
    with session_scope(ctx.engine) as session:
        row = get_change(session, change_id)
        assert row is not None
        transition(row, "planned", now=ctx.now())
        row.reason = reason
        session.add(row)
    return ChangeOutcome(change_id, "planned", reason)


def _read_back(ctx: AgentContext, rows: Sequence[ChangeRecord]) -> dict[int, Any]:
    """Live values for ``rows`` by change id (``None`` where the entity is not found)."""
    live: dict[int, Any] = {}
    groups: dict[tuple[str, ApiCall], list[ChangeRecord]] = defaultdict(list)
    for row in rows:
        groups[(row.profile_id, api_call(row))].append(row)
    for (profile_id, call), members in groups.items():
        for row, value in zip(
            members, live_value(ctx.client, profile_id, call, members), strict=True
        ):
            live[row.id or 0] = value
    return live


def reconcile(ctx: AgentContext, change_ids: Sequence[int]) -> list[ChangeOutcome]:
    """Settle changes whose outcome is unknown by reading the live values back."""
    with session_scope(ctx.engine) as session:
        rows = [r for r in _load(session, change_ids) if r.status == "sending"]
    if not rows:
        return []
    try:
        live = _read_back(ctx, rows)
    except AdsError as exc:
        # Cannot tell yet: leave them ``sending``; the next reconcile (start, next cycle) retries.
        log.error("reconcile_deferred", changes=len(rows), error=str(exc))
        return [ChangeOutcome(r.id or 0, "sending", str(exc)) for r in rows]
    failpoint("mid_reconcile")
    outcomes: list[ChangeOutcome] = []
    resend: list[int] = []
    for row in rows:
        change_id = row.id or 0
        value = live.get(change_id)
        if value is not None and value.matches_new:
            outcomes.append(
                _finish(
                    ctx,
                    change_id,
                    "applied",
                    reason="confirmed by read-back",
                    remote_id=value.remote_id,
                )
            )
        elif value is not None and value.matches_old:
            if row.attempts >= MAX_SEND_ATTEMPTS:
                outcomes.append(
                    _finish(
                        ctx,
                        change_id,
                        "failed",
                        reason=f"outcome unknown after {row.attempts} sends",
                        code="unknown_outcome",
                    )
                )
            else:
                resend.append(change_id)
        else:
            found = "entity not found" if value is None else f"live value {value.text!r}"
            outcomes.append(
                _finish(
                    ctx,
                    change_id,
                    "failed",
                    reason=f"conflict: {found}, expected {row.old_value!r} or {row.new_value!r}",
                    code="conflict",
                )
            )
    if resend:
        for change_id in resend:
            _requeue(ctx, change_id, "read-back showed the old value: sending again")
        outcomes.extend(apply_planned(ctx, resend))
    return outcomes


def reconcile_sending(ctx: AgentContext, profile_id: str | None = None) -> list[ChangeOutcome]:
    """Settle every row left ``sending`` (a crash between send and record). Run at start and
    before each cycle."""
    with session_scope(ctx.engine) as session:
        ids = sending_change_ids(session, profile_id)
    if ids:
        log.warning("reconcile_started", changes=len(ids), profile_id=profile_id)
    return reconcile(ctx, ids)


def apply_approved(
    ctx: AgentContext,
    change_ids: Sequence[int],
    *,
    actor: str,
    then: Callable[[set[str]], list[ChangeOutcome]] | None = None,
) -> list[ChangeOutcome]:
    """Apply held changes a person approved, each only if its entity still has the old value.
    Under the lock of every profile involved (waited for up to ``[schedule] lock_wait_s``), so
    an approval never sends while a cycle of that profile runs; ``then`` runs under the same
    lock with the profiles involved (the change-set settling of ``bidagent.agent.cycle.change_sets``)."""
    with session_scope(ctx.engine) as session:
        rows = [r for r in _load(session, change_ids) if r.status == "held"]
    if not rows:
        return []
    wait_s = ctx.settings.schedule.lock_wait_s
    owner = "bidagent review approve"
    profiles = {r.profile_id for r in rows}
    with hold_profiles(ctx.engine, profiles, owner=owner, wait_s=wait_s):
        outcomes = _apply_approved_locked(ctx, [r.id or 0 for r in rows], actor=actor)
        return outcomes if then is None else [*outcomes, *then(profiles)]


def _apply_approved_locked(
    ctx: AgentContext, change_ids: list[int], *, actor: str
) -> list[ChangeOutcome]:
    with session_scope(ctx.engine) as session:
        # Read again under the lock: a cycle that ran meanwhile may have settled some.
        rows = [r for r in _load(session, change_ids) if r.status == "held"]
    if not rows:
        return []
    live = _read_back(ctx, rows)
    ready: list[int] = []
    outcomes: list[ChangeOutcome] = []
    now = ctx.now()
    for row in rows:
        change_id = row.id or 0
        value = live.get(change_id)
        if value is None or not value.matches_old:
            found = "entity not found" if value is None else f"it is now {value.text!r}"
            reason = f"not applied: expected {row.old_value!r}, {found}"
            with session_scope(ctx.engine) as session:
                record = get_change(session, change_id)
                assert record is not None
                transition(record, "failed", now=now)
                record.error_code = "entity_moved"
                record.reason = reason
                record.finished_at = now
                session.add(record)
            outcomes.append(ChangeOutcome(change_id, "refused", reason))
            continue
        with session_scope(ctx.engine) as session:
            record = get_change(session, change_id)
            assert record is not None
            transition(record, "planned", now=now)
            record.actor = "approval"
            record.reason = f"approved by {actor}"
            session.add(record)
        ready.append(change_id)
    outcomes.extend(apply_planned(ctx, ready))
    return outcomes
