"""Which failed changes open a review item: one test per class of Amazon's refusal reasons."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bidagent.agent.review.escalation import escalate_failed_change
from bidagent.store import (
    ChangeRecord,
    ReviewItemRecord,
    session_scope,
)

NOW = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)


def _fail(engine: Engine, code: str) -> list[tuple[str, str, str, str | None]]:
    """A failed budget change with ``code``, escalated; the open items as (kind, severity,
    summary, dedupe key) and whether the change points at its item."""
    with session_scope(engine) as session:
        row = ChangeRecord(
            profile_id="p1", entity_kind="campaign", entity_id="c1", entity_name="Shoes",
            field="budget", old_value="10.00", new_value="1.00", rule_name="trim-budgets",
            status="failed", reason=f"refused: {code}", error_code=code,
            created_at=NOW, updated_at=NOW,
        )  # fmt: skip
        session.add(row)
        session.flush()
        escalate_failed_change(session, row, now=NOW)
        items = session.exec(select(ReviewItemRecord)).all()
        linked = row.review_item_id
        out = [(i.kind, i.severity, i.summary, i.dedupe_key) for i in items]
        assert linked == (items[0].id if items else None)
        return out


def _item(code: str, severity: str) -> list[tuple[str, str, str, str]]:
    summary = f"budget change on campaign 'Shoes' failed: refused: {code}"
    return [("api", severity, summary, f"change-failed:campaign:c1:budget:{code}")]


@pytest.mark.parametrize(
    "code", ["BUDGET_LT_PREDEFINED_TARGET_BIDS", "BUDGET_TOO_LOW", "BID_GT_BUDGET", "TOO_LOW"]
)
def test_a_budget_or_bid_limit_needs_a_person(engine: Engine, code: str) -> None:
    """A budget or bid limit Amazon will not move opens a warning api item."""
    assert _fail(engine, code) == _item(code, "warning")


@pytest.mark.parametrize(
    "code", ["EXPIRED_PAYMENT_METHOD", "ADVERTISER_SUSPENDED", "AD_INELIGIBLE"]
)
def test_an_account_or_policy_refusal_is_critical(engine: Engine, code: str) -> None:
    """Billing, suspension and policy refusals open a critical api item."""
    assert _fail(engine, code) == _item(code, "critical")


@pytest.mark.parametrize(
    ("code", "severity"),
    [
        ("PARENT_STATUS_FORBIDS_UPDATES_AND_CREATES", "warning"),
        ("UPDATING_ENDED_CAMPAIGN_WITHOUT_EXTENSION", "warning"),
        ("ARCHIVED_ENTITY_CANNOT_BE_MODIFIED", "info"),
        ("ENTITY_NOT_FOUND", "info"),
    ],
)
def test_an_entity_state_refusal_needs_a_person(engine: Engine, code: str, severity: str) -> None:
    """The entity's or its parent's state refuses the change: an api item, info when a person's
    own archive or removal already explains it."""
    assert _fail(engine, code) == _item(code, severity)


def test_a_refused_target_needs_a_person(engine: Engine) -> None:
    """A target Amazon does not allow where a rule asks for it opens a warning api item."""
    code = "TARGETING_TYPE_NOT_ALLOWED_FOR_AUTO_TARGETING_CAMPAIGN"
    assert _fail(engine, code) == _item(code, "warning")


@pytest.mark.parametrize("code", ["BID_INVALID_PLACEMENT", "PATTERN_NOT_MATCHED", "INVALID_TOKEN"])
def test_the_agents_own_bug_opens_no_item(engine: Engine, code: str) -> None:
    """A request bidagent built wrong stays on the change row and in the log: no review item."""
    assert _fail(engine, code) == []


@pytest.mark.parametrize("code", ["THROTTLED", "INTERNAL_ERROR", "OTHER_ERROR", "biddingError"])
def test_a_transient_or_unknown_code_opens_no_item(engine: Engine, code: str) -> None:
    """Amazon's transient errors, and a bare selector with no reason, open no review item."""
    assert _fail(engine, code) == []


def test_the_agents_own_codes_still_escalate(engine: Engine) -> None:
    """A read-back conflict opens a conflict item, as before."""
    summary = "budget change on campaign 'Shoes' failed: refused: conflict"
    assert _fail(engine, "conflict") == [
        ("conflict", "warning", summary, "change-failed:campaign:c1:budget:conflict")
    ]
