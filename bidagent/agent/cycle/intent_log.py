"""Write an engine plan into the ledger: change rows, review items, base bids. One transaction.

This is step 7 of the cycle (the intent log): after it commits, every change the cycle will send
exists as a ``planned`` row, and every held change points at the review item that holds it.
Owns turning proposals into rows (canonical value text, JSON); the inserts and the bulk status
moves are ``bidagent.store.changes`` and ``bidagent.store.base_bids``. Nothing here talks to the
Ads API or builds SQL.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bidagent.agent.review.items import raise_review
from bidagent.engine import Plan, Proposal
from bidagent.engine.plan import paused_gc
from bidagent.store import CycleRecord, Session
from bidagent.store.base_bids import clear_base_bid, set_base_bid
from bidagent.store.changes import bound_now, insert_plan_changes, supersede_held_by
from bidagent.store.transitions import initial_status

__all__ = ["ledger_change_set", "value_text", "write_plan"]


def value_text(value: Decimal | str | None) -> str | None:
    """Canonical text of a change value (see ``bidagent.store.ledger``)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


# One encoder for every row: ``json.dumps`` with options builds a new encoder per call.
_ENCODER = json.JSONEncoder(default=_json_default, allow_nan=False)


def _reusable_encoder() -> Any:
    """The C encoder behind ``_ENCODER.encode``, made once instead of once per call.

    ``JSONEncoder.encode`` builds a C encoder for every value it encodes; for the small dicts of
    a plan's evidence that costs as much as the encoding. Without circular-reference markers the
    C encoder can be reused, and it writes the same text (a test compares them). None where the
    interpreter has no C encoder or builds it differently: then ``_ENCODER.encode`` is used.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    try:
        encoder = make(
            None, _json_default, json.encoder.encode_basestring_ascii, None, ": ", ", ",
            False, False, False,
        )  # fmt: skip
        probe = {"a": [1, 2.5, None, True, "é"], "b": Decimal("0.10")}
        if "".join(encoder(probe, 0)) != _ENCODER.encode(probe):
            return None
    except Exception:  # any other signature or behaviour: the plain encoder
        return None
    return encoder


_C_ENCODER = _reusable_encoder()


def _json_text(value: Any) -> str | None:
    """JSON text for a JSON column; the C encoder first, the careful walk for NaN and odd keys."""
    if value is None:
        return None
    try:
        if _C_ENCODER is not None:
            return "".join(_C_ENCODER(value, 0))
        return _ENCODER.encode(value)
    except (TypeError, ValueError):
        return json.dumps(_jsonable(value))


MAX_CHANGE_SET = 160  # ChangeRecord.change_set's column width


def ledger_change_set(cycle_id: int | None, key: str | None) -> str | None:
    """The ledger's name of a proposal's change set: the engine's key made unique to the cycle.

    The engine names a set by rule, source ad group and term, so the same graduation proposed
    again in a later cycle has the same key; the cycle id keeps one cycle's halves from being
    judged with another's. Hashed when too long for the column.
    """
    if key is None:
        return None
    text = f"{cycle_id or 0}:{key}"
    if len(text) <= MAX_CHANGE_SET:
        return text
    return f"{text[: MAX_CHANGE_SET - 65]}#{hashlib.sha256(text.encode()).hexdigest()}"


def _notes_texts(proposals: list[Proposal]) -> list[str | None]:
    """JSON of each proposal's notes; many proposals share the same notes, so each text once."""
    texts: dict[tuple[str, ...], str | None] = {}
    out = []
    for p in proposals:
        key = tuple(p.notes)
        text = texts.get(key)
        if text is None:
            text = texts[key] = _json_text(list(p.notes))
        out.append(text)
    return out


def _change_row(
    cycle_id: int | None,
    proposal: Proposal,
    stamp: Any,
    review_item_id: int | None,
    notes: str | None,
) -> tuple[Any, ...]:
    """One ``changes`` row in ``bidagent.store.changes.PLAN_CHANGE_COLUMNS`` order, values
    already as the driver binds them; ``notes`` is the JSON of the proposal's notes (see :func:`_notes_texts`)."""
    superseded = proposal.superseded_by
    return (
        cycle_id, proposal.profile_id, proposal.entity_kind, proposal.entity_id,
        proposal.entity_name, proposal.campaign_id, proposal.ad_group_id, proposal.field,
        value_text(proposal.old_value), value_text(proposal.new_value),
        _json_text(proposal.payload), proposal.rule_name, proposal.rule_file, proposal.rule_hash,
        _json_text(proposal.evidence), notes, initial_status(proposal.status),
        superseded, f"superseded by rule '{superseded}'" if superseded else None,
        review_item_id, "rule", 0, stamp, stamp, ledger_change_set(cycle_id, proposal.change_set),
    )  # fmt: skip


def write_plan(
    session: Session,
    cycle: CycleRecord | None,
    plan: Plan,
    *,
    now: datetime,
    hold_expiry: timedelta,
) -> int:
    """Record every proposal and review request of ``plan``; return the number of change rows.

    Review items are raised first so each held row is inserted already linked to its item, and
    every change row goes in with one driver-level multi-row insert: a large plan (tens of
    thousands of rows) costs well under a second, where one ORM object per row cost many. Callers that need the
    rows read them back by cycle (:func:`bidagent.store.changes.cycle_change_ids`).
    """
    cycle_id = cycle.id if cycle is not None else None
    held_keys = {p.review_key for p in plan.proposals if p.review_key}
    item_ids: dict[str, int] = {}
    for request in plan.reviews:
        item = raise_review(
            session,
            kind=request.kind,
            severity=request.severity,
            summary=request.summary,
            dedupe_key=request.dedupe_key,
            profile_id=cycle.profile_id if cycle is not None else None,
            entity_kind=request.entity_kind,
            entity_id=request.entity_id,
            entity_name=request.entity_name,
            rule_name=request.rule_name,
            evidence=_jsonable(request.evidence),
            now=now,
            hold_expiry=hold_expiry if request.dedupe_key in held_keys else None,
        )
        item_ids[request.dedupe_key] = item.id or 0
    holding = [item_ids[key] for key in held_keys if key in item_ids]
    if holding:
        session.flush()
        _supersede_older_holds(session, holding, cycle_id, now)
    stamp = bound_now(session, now)
    with paused_gc():  # one tuple per row, none in a cycle: see paused_gc
        rows = [
            _change_row(
                cycle_id, p, stamp, item_ids.get(p.review_key) if p.review_key else None, notes
            )
            for p, notes in zip(plan.proposals, _notes_texts(plan.proposals), strict=True)
        ]
        if rows:
            insert_plan_changes(session, rows)
    _write_base_bids(session, plan, now)
    return len(rows)


def _write_base_bids(session: Session, plan: Plan, now: datetime) -> None:
    for base in plan.base_bid_updates:
        if base.action == "clear":
            clear_base_bid(session, base.entity_kind, base.entity_id, base.rule_name)
        elif base.base_bid is not None:
            set_base_bid(
                session, base.entity_kind, base.entity_id, base.rule_name, base.base_bid, now=now
            )


def _supersede_older_holds(
    session: Session, item_ids: list[int], cycle_id: int | None, now: datetime
) -> None:
    """An open item holds the current proposal only: changes it held from earlier cycles were
    planned on older data, so they end ``superseded`` rather than pile up for approval. Runs
    before this plan's rows are inserted, so every ``held`` row it finds is an older one."""
    supersede_held_by(
        session, item_ids, now=now, reason=f"replaced by a fresher proposal in cycle {cycle_id}"
    )
