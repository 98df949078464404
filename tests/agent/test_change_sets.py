"""Change sets against the sandbox's fake Ads API through the real client: a graduation's two
halves are applied both or neither, the failed half's partner archived through the intent log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session, select

from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.change_sets import applier_for, apply_and_settle, settle_change_sets
from bidagent.agent.cycle.revert import apply_revert, plan_revert
from bidagent.settings import Settings
from bidagent.store import ChangeRecord, session_scope
from bidagent.store.transitions import transition

BAD_REQUEST_ON_NEGATIVES = """
[sandbox.faults]
seed = 5
[sandbox.faults.endpoints."POST /sp/negativeKeywords"]
script = ["bad_request"]
"""

TIMEOUT_AFTER_APPLY_ON_NEGATIVES = """
[sandbox.faults]
seed = 5
[sandbox.faults.endpoints."POST /sp/negativeKeywords"]
script = ["timeout_after_apply"]
"""


def _manual_group(agent: AgentContext) -> tuple[str, str, str]:
    """(profile, campaign, ad group) of an enabled ad group in a manual-targeting campaign."""
    profile_id = agent.client.list_profiles()[0].profile_id
    manual = {
        c.campaign_id
        for c in agent.client.list_campaigns(profile_id)
        if c.targeting_type == "manual"
    }
    group = next(g for g in agent.client.list_ad_groups(profile_id) if g.campaign_id in manual)
    return profile_id, group.campaign_id, group.ad_group_id


def _pair(
    agent: AgentContext, *, negative_group: str | None = None, status: str = "planned"
) -> tuple[int, int]:
    """A harvested keyword and its source negative in one change set; ``negative_group`` puts the
    negative in another (e.g. a missing) ad group."""
    profile_id, campaign_id, group_id = _manual_group(agent)
    now = agent.now()
    common: dict[str, Any] = {
        "profile_id": profile_id, "entity_kind": "search_term", "entity_id": "blue lamp shade",
        "entity_name": "blue lamp shade", "campaign_id": campaign_id, "rule_name": "harvest",
        "status": status, "change_set": "7:harvest:group:blue lamp shade", "created_at": now,
        "updated_at": now,
    }  # fmt: skip
    keyword = ChangeRecord(
        **common, ad_group_id=group_id, field="keyword", new_value="0.55",
        payload={"keyword_text": "blue lamp shade", "match_type": "exact", "bid": "0.55",
                 "campaign_id": campaign_id, "ad_group_id": group_id},
    )  # fmt: skip
    source = negative_group or group_id
    negative = ChangeRecord(
        **common, ad_group_id=source, field="negative_keyword", new_value="negative_exact",
        payload={"keyword_text": "blue lamp shade", "match_type": "negative_exact",
                 "level": "ad_group", "campaign_id": campaign_id, "ad_group_id": source},
    )  # fmt: skip
    with session_scope(agent.engine) as session:
        session.add_all([keyword, negative])
        session.flush()
        return keyword.id or 0, negative.id or 0


def _rows(agent: AgentContext) -> list[ChangeRecord]:
    with Session(agent.engine) as session:
        return list(session.exec(select(ChangeRecord).order_by(ChangeRecord.id)))  # type: ignore[arg-type]


def _keyword_state(agent: AgentContext, remote_id: str) -> str:
    profile_id = agent.client.list_profiles()[0].profile_id
    return str(agent.client.get_current(profile_id, "keyword", [remote_id])[remote_id]["state"])


def test_a_failed_half_gets_its_applied_partner_archived(agent: AgentContext) -> None:
    """The negative is refused by the API: the harvested keyword is archived by a revert row."""
    keyword_id, negative_id = _pair(agent, negative_group="999999999")
    apply_and_settle(agent, agent.client.list_profiles()[0].profile_id, [keyword_id, negative_id])
    rows = {r.id: r for r in _rows(agent)}
    keyword, negative = rows[keyword_id], rows[negative_id]
    assert (keyword.status, negative.status) == ("reverted", "failed")
    (undo,) = [r for r in rows.values() if r.reverts_change_id == keyword_id]
    assert (undo.status, undo.actor, undo.field, undo.new_value) == (
        "applied", "revert", "state", "archived",
    )  # fmt: skip
    assert undo.entity_id == keyword.remote_id
    assert _keyword_state(agent, keyword.remote_id or "") == "archived"


def test_a_half_refused_by_a_fault_is_undone_when_the_next_cycle_drops_it(
    settings_factory: Callable[..., Settings], agent_factory: Callable[..., AgentContext]
) -> None:
    """A 400 sends the negative back to planned; once the next cycle supersedes it unsent, the
    keyword that was applied is archived, so neither half stays."""
    agent = agent_factory(settings_factory(BAD_REQUEST_ON_NEGATIVES))
    profile_id = agent.client.list_profiles()[0].profile_id
    keyword_id, negative_id = _pair(agent)
    apply_and_settle(agent, profile_id, [keyword_id, negative_id])
    rows = {r.id: r for r in _rows(agent)}
    assert (rows[keyword_id].status, rows[negative_id].status) == ("applied", "planned")
    with session_scope(agent.engine) as session:  # what the next cycle's start does
        row = session.get(ChangeRecord, negative_id)
        assert row is not None
        transition(row, "superseded", now=agent.now())
        session.add(row)
    outcomes = settle_change_sets(agent, [profile_id])
    assert [o.status for o in outcomes] == ["applied"]
    rows = {r.id: r for r in _rows(agent)}
    assert rows[keyword_id].status == "reverted"
    assert _keyword_state(agent, rows[keyword_id].remote_id or "") == "archived"


def test_an_unknown_outcome_confirmed_by_read_back_keeps_the_whole_set(
    settings_factory: Callable[..., Settings], agent_factory: Callable[..., AgentContext]
) -> None:
    """The negative's reply is lost but it was applied: both halves end applied, nothing archived."""
    agent = agent_factory(settings_factory(TIMEOUT_AFTER_APPLY_ON_NEGATIVES))
    profile_id = agent.client.list_profiles()[0].profile_id
    keyword_id, negative_id = _pair(agent)
    apply_and_settle(agent, profile_id, [keyword_id, negative_id])
    rows = _rows(agent)
    assert [(r.id, r.status) for r in rows] == [(keyword_id, "applied"), (negative_id, "applied")]


def test_reverting_one_half_reverts_the_whole_set(agent: AgentContext) -> None:
    """Asking to revert the harvested keyword archives its source negative too."""
    profile_id = agent.client.list_profiles()[0].profile_id
    keyword_id, negative_id = _pair(agent)
    apply_and_settle(agent, profile_id, [keyword_id, negative_id])
    with Session(agent.engine) as session:
        keyword = session.get(ChangeRecord, keyword_id)
        assert keyword is not None
    items = plan_revert(agent, [keyword])
    assert sorted(item.original.id or 0 for item in items) == [keyword_id, negative_id]
    outcomes = apply_revert(agent, items, by="tester")
    assert [o.status for o in outcomes] == ["applied", "applied"]
    rows = {r.id: r for r in _rows(agent)}
    assert (rows[keyword_id].status, rows[negative_id].status) == ("reverted", "reverted")


def test_an_approved_pair_whose_half_fails_leaves_nothing_applied(agent: AgentContext) -> None:
    """Approving a held pair goes through the approval path; the failing negative's partner is
    archived under the same profile lock."""
    keyword_id, negative_id = _pair(agent, negative_group="999999999", status="held")
    applier_for(agent)([keyword_id, negative_id], actor="lead")
    rows = {r.id: r for r in _rows(agent)}
    assert (rows[keyword_id].status, rows[negative_id].status) == ("reverted", "failed")
    assert rows[keyword_id].actor == "approval"
    assert _keyword_state(agent, rows[keyword_id].remote_id or "") == "archived"
