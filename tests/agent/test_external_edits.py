"""Edits made outside bidagent, sent through the Ads API as a person's tool would: every one is
recorded with old and new values, rests for its cooldown, and a dayparted target keeps it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from bidagent.ads import EntityUpdate
from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.run import plan_profile, run_cycle
from bidagent.agent.profiles import profile_ids
from bidagent.engine import load_rule_set
from bidagent.settings import Settings
from bidagent.store import ChangeRecord
from bidagent.store.ledger import BaseBidRecord

RULES = """
rules:
  - name: trim-bids
    entity: keyword
    filter: state == "enabled"
    when: bid > 0.2
    then: { bid: "-10%" }
  - name: trim-budgets
    entity: campaign
    filter: state == "enabled"
    when: budget > 2
    then: { budget: "-10%" }
  - name: enable-paused
    entity: keyword
    filter: state == "paused"
    when: bid > 0
    then: { state: enabled }
"""

DIP = """
rules:
  - name: night-dip-30
    entity: keyword
    schedule: "0 23 * * *"
    until: "0 6 * * *"
    when: state == "enabled"
    then: { bid: base * 0.7 }
    limits: { min_bid: 0.02 }
"""

LOOSE = """
[guardrails]
max_changes_pct = 10
max_changes_per_cycle = 100000
"""


def _context(
    tmp_path: Path,
    settings_factory: Callable[..., Settings],
    agent_factory: Callable[..., AgentContext],
    rules: str,
    extra: str = "",
) -> AgentContext:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "rules.yaml").write_text(rules, encoding="utf-8")
    return agent_factory(settings_factory(LOOSE + extra, rules_dir=folder))


def _cents(value: Decimal | None) -> str:
    assert value is not None
    return format(value.quantize(Decimal("0.01")), "f")


def _external(agent: AgentContext) -> list[tuple[str, str, str, str | None, str | None]]:
    with Session(agent.engine) as session:
        rows = session.exec(
            select(ChangeRecord).where(ChangeRecord.actor == "external").order_by(ChangeRecord.id)  # type: ignore[arg-type]
        ).all()
    return [(r.entity_kind, r.entity_id, r.field, r.old_value, r.new_value) for r in rows]


def test_a_persons_edits_are_recorded_and_rest_for_the_cooldown(
    tmp_path: Path,
    settings_factory: Callable[..., Settings],
    agent_factory: Callable[..., AgentContext],
) -> None:
    """An untouched keyword's bid, a budget and a state edited through the API are recorded as
    external edits (old as synced, new as live); no plan in the cooldown touches them, and after
    it the rules act on the person's values."""
    agent = _context(tmp_path, settings_factory, agent_factory, RULES)
    rule_set = load_rule_set([agent.settings.rules_dir])
    (profile_id,) = profile_ids(agent)
    plan_profile(agent, profile_id, rule_set)  # the first sync: nothing to compare with
    assert _external(agent) == []
    keywords = [k for k in agent.client.list_keywords(profile_id) if k.state == "enabled" and k.bid]
    bid_kw, state_kw = keywords[0], keywords[1]
    campaign = next(c for c in agent.client.list_campaigns(profile_id) if c.state == "enabled")
    assert bid_kw.bid is not None and campaign.budget is not None
    agent.client.update(
        profile_id, "keyword", [EntityUpdate(bid_kw.target_id, bid=Decimal("1.95"))]
    )
    agent.client.update(profile_id, "keyword", [EntityUpdate(state_kw.target_id, state="paused")])
    agent.client.update(
        profile_id, "campaign", [EntityUpdate(campaign.campaign_id, budget=Decimal("300"))]
    )
    _, plan = plan_profile(agent, profile_id, rule_set)
    assert _external(agent) == [
        ("campaign", campaign.campaign_id, "budget", _cents(campaign.budget), "300.00"),
        ("keyword", bid_kw.target_id, "bid", _cents(bid_kw.bid), "1.95"),
        ("keyword", state_kw.target_id, "state", "enabled", "paused"),
    ]
    edited = {
        ("keyword", bid_kw.target_id, "bid"),
        ("keyword", state_kw.target_id, "state"),
        ("campaign", campaign.campaign_id, "budget"),
    }
    proposed = {(p.entity_kind, p.entity_id, p.field) for p in plan.proposals}
    assert proposed & edited == set()
    cooled = {(s.entity_kind, s.entity_id, s.field) for s in plan.skips if s.reason == "cooldown"}
    assert edited <= cooled
    assert agent.sandbox is not None
    agent.sandbox.advance(days=2)
    _, plan = plan_profile(agent, profile_id, rule_set)
    assert {(p.entity_kind, p.entity_id, p.field) for p in plan.proposals} & edited == set()
    agent.sandbox.advance(days=2)  # four days after the edits: past the 3d cooldown
    _, plan = plan_profile(agent, profile_id, rule_set)
    after = {
        (p.entity_kind, p.entity_id, p.field): (p.old_value, p.new_value) for p in plan.proposals
    }
    assert after[("keyword", bid_kw.target_id, "bid")] == (Decimal("1.95"), Decimal("1.76"))
    assert after[("campaign", campaign.campaign_id, "budget")] == (Decimal("300"), Decimal("270"))
    assert after[("keyword", state_kw.target_id, "state")] == ("paused", "enabled")
    assert len(_external(agent)) == 3  # the same edits are not recorded twice


def test_our_own_applied_changes_are_not_taken_for_external_edits(
    tmp_path: Path,
    settings_factory: Callable[..., Settings],
    agent_factory: Callable[..., AgentContext],
) -> None:
    """A cycle applies changes; the next sync sees those values and records no external edit."""
    agent = _context(tmp_path, settings_factory, agent_factory, RULES)
    rule_set = load_rule_set([agent.settings.rules_dir])
    (profile_id,) = profile_ids(agent)
    first = run_cycle(agent, profile_id, rule_set)
    assert first.outcome == "succeeded" and first.counts["applied"] > 0
    assert agent.sandbox is not None
    agent.sandbox.advance(days=1)
    plan_profile(agent, profile_id, rule_set)
    assert _external(agent) == []


def test_external_edit_cooldown_setting_sets_how_long_an_edit_rests(
    tmp_path: Path,
    settings_factory: Callable[..., Settings],
    agent_factory: Callable[..., AgentContext],
) -> None:
    """With external_edit_cooldown = 1d, an edited bid is free again two days later."""
    agent = _context(
        tmp_path, settings_factory, agent_factory, RULES, 'external_edit_cooldown = "1d"\n'
    )
    rule_set = load_rule_set([agent.settings.rules_dir])
    (profile_id,) = profile_ids(agent)
    plan_profile(agent, profile_id, rule_set)
    keyword = next(
        k for k in agent.client.list_keywords(profile_id) if k.state == "enabled" and k.bid
    )
    agent.client.update(
        profile_id, "keyword", [EntityUpdate(keyword.target_id, bid=Decimal("1.50"))]
    )
    _, plan = plan_profile(agent, profile_id, rule_set)
    key = ("keyword", keyword.target_id, "bid")
    skip = next(s for s in plan.skips if (s.entity_kind, s.entity_id, s.field) == key)
    assert (skip.reason, skip.detail.endswith("by external (cooldown 1d)")) == ("cooldown", True)
    assert agent.sandbox is not None
    agent.sandbox.advance(days=2)
    _, plan = plan_profile(agent, profile_id, rule_set)
    after = {(p.entity_kind, p.entity_id, p.field): p.new_value for p in plan.proposals}
    assert after[key] == Decimal("1.35")


def test_a_persons_edit_during_a_dayparting_period_is_what_its_end_restores(
    tmp_path: Path,
    settings_factory: Callable[..., Settings],
    agent_factory: Callable[..., AgentContext],
) -> None:
    """A bid a person sets mid-period becomes the base: the period's end leaves the person's
    value live and puts every other dipped bid back to its base."""
    agent = _context(tmp_path, settings_factory, agent_factory, DIP)
    rule_set = load_rule_set([agent.settings.rules_dir])
    (profile_id,) = profile_ids(agent)
    plan_profile(agent, profile_id, rule_set)
    assert agent.sandbox is not None
    zone = ZoneInfo(agent.client.list_profiles()[0].timezone)
    local = agent.now().astimezone(zone)
    night = local.replace(hour=23, minute=30, second=0, microsecond=0)
    night = night if night > local else night + timedelta(days=1)
    agent.sandbox.advance(hours=(night - local).total_seconds() / 3600)
    before = {k.target_id: k.bid for k in agent.client.list_keywords(profile_id)}
    dip = run_cycle(agent, profile_id, rule_set, scope="daypart", schedule="daypart@23:00")
    assert dip.outcome == "succeeded" and dip.counts["applied"] >= 2
    with Session(agent.engine) as session:
        bases = {b.entity_id: b.base_bid for b in session.exec(select(BaseBidRecord))}
    person, other = sorted(bases)[:2]
    dipped = {k.target_id: k.bid for k in agent.client.list_keywords(profile_id, ids=[person])}
    agent.sandbox.advance(hours=2)
    agent.client.update(profile_id, "keyword", [EntityUpdate(person, bid=Decimal("1.20"))])
    agent.sandbox.advance(hours=5)  # 06:30: the period is over
    end = run_cycle(agent, profile_id, rule_set, scope="daypart", schedule="daypart@06:00")
    assert end.outcome == "succeeded"
    assert _external(agent) == [
        ("keyword", person, "bid", _cents(dipped[person]), "1.20"),
    ]
    live = {k.target_id: k.bid for k in agent.client.list_keywords(profile_id)}
    assert live[person] == Decimal("1.20")
    assert live[other] == before[other] == bases[other]
    with Session(agent.engine) as session:
        assert session.exec(select(BaseBidRecord)).all() == []
