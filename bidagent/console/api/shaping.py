"""Turning the rows the store returns into the JSON API's bodies (:mod:`.schemas`), through the
CLI's own shapes (:func:`bidagent.agent.review.items.item_json`,
:func:`bidagent.agent.change_json.change_json`) so the API and ``--format json`` agree.

It must not read the ledger: routes pass the rows in.
"""

from __future__ import annotations

from datetime import datetime

from bidagent.agent.change_json import change_json
from bidagent.agent.review.change_choice import change_set_of
from bidagent.agent.review.decisions import Decision
from bidagent.agent.review.items import item_json
from bidagent.console.api.schemas import (
    ChangeDetail,
    ChangeOut,
    DecisionOut,
    ItemOut,
    OutcomeOut,
)
from bidagent.store import ReviewItemRecord
from bidagent.store.change_log import ChangeLogRow
from bidagent.store.transitions import ChangeOutcome

__all__ = [
    "change_detail",
    "change_out",
    "decision_out",
    "iso",
    "item_out",
    "item_url",
    "outcome_out",
]


def item_url(public_url: str | None, item_id: int) -> str:
    """The item's page: absolute under ``[console] public_url``, else a path."""
    return f"{(public_url or '').rstrip('/')}/review/{item_id}"


def item_out(
    item: ReviewItemRecord,
    campaign_id: str | None,
    counts: dict[str, int],
    public_url: str | None,
) -> ItemOut:
    """An item's body: the CLI's item object, its campaign, its changes by status, its URL."""
    body = {**item_json(item), "change_count": sum(counts.values())}
    return ItemOut(
        **body,
        campaign_id=campaign_id,
        change_counts=dict(sorted(counts.items())),
        url=item_url(public_url, item.id or 0),
    )


def change_out(row: ChangeLogRow) -> ChangeOut:
    """A change's body: the one change shape, then what it touched, by name."""
    change = row.change
    return ChangeOut(
        **change_json(change),
        campaign_id=change.campaign_id,
        ad_group_id=change.ad_group_id,
        campaign_name=row.campaign_name,
        ad_group_name=row.ad_group_name,
        keyword_text=row.keyword_text,
        targeting=row.targeting,
        match_type=row.match_type,
        review_item_id=change.review_item_id,
        change_set=change_set_of(change),
    )


def iso(value: datetime | None) -> str | None:
    """A moment as ISO 8601, None as None."""
    return value.isoformat() if value is not None else None


def change_detail(row: ChangeLogRow) -> ChangeDetail:
    """A change's body in full."""
    change = row.change
    return ChangeDetail(
        **change_out(row).model_dump(),
        evidence=change.evidence,
        notes=change.notes,
        payload=change.payload,
        rule_file=change.rule_file,
        rule_hash=change.rule_hash,
        error_code=change.error_code,
        remote_id=change.remote_id,
        reverts_change_id=change.reverts_change_id,
        created_at=iso(change.created_at),
        sent_at=iso(change.sent_at),
        finished_at=iso(change.finished_at),
    )


def outcome_out(outcome: ChangeOutcome) -> OutcomeOut:
    """One change's outcome."""
    return OutcomeOut(change_id=outcome.change_id, status=outcome.status, reason=outcome.reason)


def decision_out(made: Decision) -> DecisionOut:
    """One item's decision."""
    return DecisionOut(
        item_id=made.item_id,
        decision=made.decision,
        status=made.status,
        refused=made.refused,
        outcomes=[outcome_out(o) for o in made.outcomes],
    )
