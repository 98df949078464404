"""Turn agent-side problems into review items: failed changes a person must look at, data and API
problems met during a cycle. The engine raises its own (approvals, holds, alerts) via the plan.

Every item has a dedupe key, so a problem that recurs each cycle updates one item.
"""

from __future__ import annotations

from datetime import datetime

from bidagent.ads.failures import PERSON_CLASSES, RefusalClass, refusal_class
from bidagent.agent.review.items import raise_review
from bidagent.errors import AdsError, AuthError, MalformedResponse, ReportFailed, ThrottledError
from bidagent.store import ChangeRecord, Session
from bidagent.vocabulary import make_dedupe_key

__all__ = [
    "escalate_api_problem",
    "escalate_data_problem",
    "escalate_failed_change",
    "escalation_for",
    "failure_kind",
]

# The agent's own codes for a failure a retry will not fix: a person has to decide.
_AGENT_CODES = {
    "conflict": ("conflict", "warning"),
    "unknown_outcome": ("api", "warning"),
    "entity_moved": ("conflict", "info"),
}
# Amazon's refusals by class (bidagent.ads.failures.REFUSAL_CLASSES, docs/review.md): each one a
# person must act on is an ``api`` item; agent bugs and transient errors stay on the change row.
_CLASS_SEVERITY: dict[RefusalClass, str] = {
    "limit": "warning",
    "account": "critical",  # nothing serves until billing or the account is fixed
    "entity_state": "warning",
    "targeting": "warning",
}
# A person's own edit already explains these: worth knowing, nothing is at risk.
_INFO_CODES = {"ARCHIVED_ENTITY_CANNOT_BE_MODIFIED", "ENTITY_NOT_FOUND", "DUPLICATE_VALUE"}


def escalation_for(code: str) -> tuple[str, str] | None:
    """(review kind, severity) for a failed change's code, or ``None`` when no person is needed."""
    if code in _AGENT_CODES:
        return _AGENT_CODES[code]
    refusal = refusal_class(code)
    if refusal is None or refusal not in PERSON_CLASSES:
        return None
    return ("api", "info" if code in _INFO_CODES else _CLASS_SEVERITY[refusal])


def escalate_failed_change(session: Session, row: ChangeRecord, *, now: datetime) -> None:
    """Open (or bump) a review item for a change that failed for a reason a person must see."""
    code = row.error_code or ""
    escalation = escalation_for(code)
    if escalation is None:
        return
    kind, severity = escalation
    name = row.entity_name or row.entity_id
    item = raise_review(
        session,
        kind=kind,
        severity=severity,
        summary=f"{row.field} change on {row.entity_kind} '{name}' failed: {row.reason or code}",
        dedupe_key=make_dedupe_key(
            "change-failed", row.entity_kind, row.entity_id, row.field, code
        ),
        profile_id=row.profile_id,
        entity_kind=row.entity_kind,
        entity_id=row.entity_id,
        entity_name=row.entity_name,
        rule_name=row.rule_name,
        evidence={
            "change_id": row.id,
            "old": row.old_value,
            "new": row.new_value,
            "code": code,
            "reason": row.reason,
        },
        now=now,
    )
    if row.review_item_id is None:
        row.review_item_id = item.id
        session.add(row)


def escalate_data_problem(
    session: Session, *, profile_id: str, key: str, summary: str, evidence: dict[str, object],
    now: datetime, severity: str = "warning",
) -> None:  # fmt: skip
    """A report or data problem (malformed report, missing days, a bad rule set on reload)."""
    raise_review(
        session,
        kind="data",
        severity=severity,
        summary=summary,
        dedupe_key=make_dedupe_key("data", profile_id, key),
        profile_id=profile_id,
        evidence=dict(evidence),
        now=now,
    )


def escalate_api_problem(
    session: Session, *, profile_id: str | None, key: str, summary: str,
    evidence: dict[str, object], now: datetime, severity: str = "critical",
) -> None:  # fmt: skip
    """An API problem a person must fix (revoked refresh token, throttled past every retry)."""
    raise_review(
        session,
        kind="api",
        severity=severity,
        summary=summary,
        dedupe_key=make_dedupe_key("api", profile_id or "all", key),
        profile_id=profile_id,
        evidence=dict(evidence),
        now=now,
    )


def failure_kind(exc: Exception) -> tuple[str, str]:
    """(review item kind, metric reason) of a failure: the API refused (``api``), or what it
    sent could not be used (``data``: a failed report, a malformed page)."""
    if isinstance(exc, AuthError):
        return "api", "auth"
    if isinstance(exc, ThrottledError):
        return "api", "throttled"
    if isinstance(exc, ReportFailed):
        return "data", "report"
    if isinstance(exc, MalformedResponse):
        return "data", "data"
    if isinstance(exc, AdsError):
        return "api", "api"
    return "data", "data"
