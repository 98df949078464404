"""Turn agent-side problems into review items: failed changes a person must look at, data and API
problems met during a cycle. The engine raises its own (approvals, holds, alerts) via the plan.

Every item has a dedupe key, so a problem that recurs each cycle updates one item.
"""

from __future__ import annotations

from datetime import datetime

from bidagent.agent.review.items import raise_review
from bidagent.store import ChangeRecord, Session
from bidagent.vocabulary import make_dedupe_key

__all__ = ["escalate_api_problem", "escalate_data_problem", "escalate_failed_change"]

# Failures a retry will not fix: a person has to decide (the rest are logged and retried).
_HUMAN_CODES = {
    "conflict": ("conflict", "warning"),
    "unknown_outcome": ("api", "warning"),
    "entity_moved": ("conflict", "info"),
    "ARCHIVED_ENTITY_CANNOT_BE_MODIFIED": ("api", "info"),
    "PARENT_ARCHIVED_FORBIDS_UPDATES": ("api", "warning"),
    "PARENT_STATUS_FORBIDS_UPDATES_AND_CREATES": ("api", "warning"),
    "BID_GT_BUDGET": ("api", "warning"),
    "BUDGET_LT_KEYWORD_BIDS": ("api", "warning"),
    "BUDGET_LT_DEFAULT_BIDS": ("api", "warning"),
    "BID_OUT_OF_MARKET_PLACE_RANGE": ("api", "warning"),
    "BUDGET_OUT_OF_MARKET_PLACE_RANGE": ("api", "warning"),
    "ENTITY_NOT_FOUND": ("api", "info"),
    "DUPLICATE_VALUE": ("api", "info"),
}


def escalate_failed_change(session: Session, row: ChangeRecord, *, now: datetime) -> None:
    """Open (or bump) a review item for a change that failed for a reason a person must see."""
    code = row.error_code or ""
    if code not in _HUMAN_CODES:
        return
    kind, severity = _HUMAN_CODES[code]
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
