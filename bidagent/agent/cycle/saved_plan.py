"""Saved plans: ``bidagent plan --out plan.json`` writes what a cycle would do, and
``bidagent cycle --plan plan.json`` applies exactly that, as Terraform applies a reviewed plan.

Owns the file's format (:data:`PLAN_FORMAT`: the rule-set hash, and per profile its business
date and every proposal, review request and base-bid update), reading it back into engine
:class:`~bidagent.engine.Plan` records, the checks that refuse a stale plan (another rule set,
another business day), and the read-back that refuses each change whose entity no longer holds
the planned old value: the same read-back approvals use
(:func:`bidagent.agent.cycle.change_requests.live_value`). Refused changes are recorded as
``failed`` (``entity_moved``), as a refused approval is. It must not send anything: the cycle
applies what is left through the one apply path.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.change_requests import api_call, live_value
from bidagent.agent.cycle.intent_log import value_text
from bidagent.business_dates import business_date
from bidagent.engine import Plan, Proposal, ReviewRequest
from bidagent.engine.plan import BaseBidUpdate
from bidagent.errors import AgentError
from bidagent.store import ChangeRecord, Session
from bidagent.store.changes import cycle_change_ids, load_changes
from bidagent.store.profiles import load_profile
from bidagent.store.transitions import new_change, transition
from bidagent.vocabulary import MONEY_FIELDS, ApiCall

__all__ = [
    "PLAN_FORMAT",
    "ProfilePlan",
    "SavedPlan",
    "as_dry_run",
    "fail_refused",
    "plan_document",
    "read_saved_plan",
    "refuse_moved",
    "stale_reason",
]

PLAN_FORMAT = "bidagent-plan/1"


@dataclass
class ProfilePlan:
    """One profile's part of a saved plan."""

    profile_id: str
    business_date: date
    plan: Plan


@dataclass
class SavedPlan:
    """A plan file read back."""

    rule_set_hash: str
    created_at: datetime
    profiles: list[ProfilePlan]


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


def _proposal_json(p: Proposal) -> dict[str, Any]:
    return {f.name: _plain(getattr(p, f.name)) for f in fields(Proposal)}


def plan_document(
    rule_set_hash: str, created_at: datetime, entries: list[ProfilePlan]
) -> dict[str, Any]:
    """The JSON document ``plan --out`` writes."""
    profiles = []
    for entry in entries:
        proposals = entry.plan.proposals
        index = {p.review_key: [] for p in proposals if p.review_key}  # type: dict[str, list[int]]
        for n, p in enumerate(proposals):
            if p.review_key:
                index[p.review_key].append(n)
        reviews = [
            {**{k: _plain(v) for k, v in asdict(r).items() if k != "held"},
             "held": index.get(r.dedupe_key, []) if r.held else []}
            for r in entry.plan.reviews
        ]  # fmt: skip
        profiles.append(
            {
                "profile_id": entry.profile_id,
                "business_date": entry.business_date.isoformat(),
                "proposals": [_proposal_json(p) for p in proposals],
                "reviews": reviews,
                "base_bid_updates": [_plain(asdict(b)) for b in entry.plan.base_bid_updates],
            }
        )
    return {
        "format": PLAN_FORMAT,
        "rule_set_hash": rule_set_hash,
        "created_at": created_at.isoformat(),
        "profiles": profiles,
    }


def _value(field_: str, value: Any) -> Decimal | str | None:
    if value is None:
        return None
    return Decimal(str(value)) if field_ in MONEY_FIELDS else str(value)


def _proposal(raw: dict[str, Any]) -> Proposal:
    data = {f.name: raw[f.name] for f in fields(Proposal) if f.name in raw}
    data["old_value"] = _value(raw["field"], raw.get("old_value"))
    data["new_value"] = _value(raw["field"], raw.get("new_value"))
    return Proposal(**data)


def _profile_plan(raw: dict[str, Any], rule_set_hash: str) -> ProfilePlan:
    proposals = [_proposal(p) for p in raw["proposals"]]
    reviews = []
    for r in raw["reviews"]:
        held = [proposals[i] for i in r.get("held", [])]
        known = {f.name for f in fields(ReviewRequest)} - {"held"}
        reviews.append(ReviewRequest(**{k: v for k, v in r.items() if k in known}, held=held))
    bases = [
        BaseBidUpdate(**{**b, "base_bid": _value("bid", b.get("base_bid"))})
        for b in raw.get("base_bid_updates", [])
    ]
    plan = Plan(rule_set_hash, proposals=proposals, reviews=reviews, base_bid_updates=bases)
    return ProfilePlan(str(raw["profile_id"]), date.fromisoformat(raw["business_date"]), plan)


def read_saved_plan(path: Path) -> SavedPlan:
    """Read a plan file; :class:`AgentError` naming the file when it is not one ``plan --out``
    wrote (unreadable, not JSON, another format, missing keys)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AgentError(f"{path}: cannot read the plan: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise AgentError(f"{path}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
    if not isinstance(raw, dict) or raw.get("format") != PLAN_FORMAT:
        raise AgentError(f"{path}: not a plan written by `bidagent plan --out` ({PLAN_FORMAT})")
    try:
        hash_ = str(raw["rule_set_hash"])
        entries = [_profile_plan(p, hash_) for p in raw["profiles"]]
        return SavedPlan(hash_, datetime.fromisoformat(raw["created_at"]), entries)
    except (KeyError, TypeError, ValueError, IndexError, ArithmeticError) as exc:
        raise AgentError(f"{path}: malformed plan: {type(exc).__name__}: {exc}") from None


def stale_reason(
    ctx: AgentContext, saved: SavedPlan, entry: ProfilePlan, rule_hash: str
) -> str | None:
    """Why the saved plan may not be applied to ``entry``'s profile now, or None: the rule set
    changed since the plan was made, or the profile's business day is no longer the plan's."""
    if saved.rule_set_hash != rule_hash:
        return (
            f"the rule set changed since the plan was made (hash {saved.rule_set_hash[:12]}, "
            f"now {rule_hash[:12]}): run `bidagent plan` again"
        )
    profile = load_profile(ctx.engine, entry.profile_id)
    if profile is None:
        return f"profile {entry.profile_id} is not in the database: run `bidagent plan` again"
    today = business_date(ctx.now(), profile.timezone)
    if today != entry.business_date:
        return (
            f"the plan is for business day {entry.business_date}, today is {today}: "
            "run `bidagent plan` again"
        )
    return None


def _probe(p: Proposal) -> ChangeRecord:
    """A change row for ``p`` that is never stored: what the read-back judges against."""
    return new_change(
        profile_id=p.profile_id, entity_kind=p.entity_kind, entity_id=p.entity_id,
        field=p.field, old_value=value_text(p.old_value), new_value=value_text(p.new_value),
        payload=p.payload, rule_name=p.rule_name, status="planned",
    )  # fmt: skip


def refuse_moved(ctx: AgentContext, plan: Plan) -> dict[tuple[str, str, str], str]:
    """Read back every change the plan would send; each whose entity no longer holds the planned
    old value (or a creation that exists already) is refused: its proposal becomes ``held`` with
    no review item until :func:`fail_refused` records it as failed. Returns the refusal reasons
    by (entity kind, entity id, field)."""
    groups: dict[tuple[str, ApiCall], list[tuple[Proposal, ChangeRecord]]] = defaultdict(list)
    for p in plan.proposals:
        if p.status == "planned":
            probe = _probe(p)
            groups[(p.profile_id, api_call(probe))].append((p, probe))
    refused: dict[tuple[str, str, str], str] = {}
    for (profile_id, call), members in groups.items():
        values = live_value(ctx.client, profile_id, call, [probe for _, probe in members])
        for (p, probe), value in zip(members, values, strict=True):
            if value is not None and value.matches_old:
                continue
            found = "entity not found" if value is None else f"it is now {value.text!r}"
            expected = probe.old_value if probe.old_value is not None else "absent"
            refused[(p.entity_kind, p.entity_id, p.field)] = (
                f"not applied: the saved plan expected {expected!r}, {found}"
            )
            _hold(p)
    return refused


def _hold(proposal: Proposal) -> None:
    proposal.status, proposal.review_key = "held", None


def as_dry_run(plan: Plan) -> None:
    """Turn the changes a saved plan would send into ``dry_run`` ones (``cycle --dry-run``)."""
    for proposal in plan.proposals:
        if proposal.status == "planned":
            proposal.status = "dry_run"


def fail_refused(
    session: Session, cycle_id: int, refused: dict[tuple[str, str, str], str], now: datetime
) -> None:
    """Record the refused changes of a saved plan, written ``held`` without an item, as failed."""
    rows = load_changes(session, cycle_change_ids(session, cycle_id, status="held"))
    for row in rows:
        reason = refused.get((row.entity_kind, row.entity_id, row.field))
        if reason is None or row.review_item_id is not None:
            continue
        transition(row, "failed", now=now)
        row.error_code = "entity_moved"
        row.reason = reason
        row.finished_at = now
        session.add(row)
