"""The review queue end to end on the sandbox: one rule set that raises every kind of review
item, each exactly once; a second day does not duplicate them; approvals apply, or refuse when
the entity moved."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlmodel import Session, col, select

from bidagent.ads import EntityUpdate
from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.change_sets import applier_for
from bidagent.agent.cycle.run import plan_profile, run_cycle
from bidagent.agent.profiles import profile_ids
from bidagent.agent.review.decisions import decide
from bidagent.agent.service.daemon import Daemon
from bidagent.agent.service.rule_watch import RuleWatcher
from bidagent.engine import load_rule_set
from bidagent.settings import Settings
from bidagent.store import (
    AdGroupRecord,
    CampaignRecord,
    ChangeRecord,
    ReviewItemRecord,
    TargetRecord,
)

# Each rule acts on its own campaign or ad group of the seed-11 sandbox (120 targets), so every
# kind of item comes from one rule and no two rules touch the same entity except the conflict pair.
RULES = """\
rules:
  - name: review-water-bottle
    entity: product_target
    filter: ad_group_name == "Water Bottle 1"
    when: state == "enabled"
    then: {bid: "+10%"}
    mode: review
  - name: budget-up-auto-4
    entity: campaign
    filter: campaign_name == "SP Auto 0004"
    when: state == "enabled"
    then: {budget: "+40%"}
    approval: {over: 0.2}
  - name: cut-travel-mug
    entity: product_target
    filter: ad_group_name == "Travel Mug 1"
    when: state == "enabled"
    then: {bid: "-5%"}
    limits: {max_changes: 1}
  - name: hair-dryer-down
    entity: product_target
    filter: campaign_name == "SP Product Targets 0002" and ad_group_name == "Hair Dryer 3"
    when: state == "enabled"
    then: {bid: "-10%"}
    priority: 5
  - name: hair-dryer-up
    entity: product_target
    filter: campaign_name == "SP Product Targets 0002" and ad_group_name == "Hair Dryer 3"
    when: state == "enabled"
    then: {bid: "+10%"}
    priority: 5
  - name: watch-auto-5
    entity: campaign
    filter: campaign_name == "SP Auto 0005"
    when: state == "enabled"
    then: {review: {severity: warning, message: "cost {cost:.2f} in 14 days"}}
  - name: cut-budget-auto-3
    entity: campaign
    filter: campaign_name == "SP Auto 0003"
    when: state == "enabled"
    then: {budget: "-20%"}
"""
# A short history keeps the sandbox quick to build; the rules' 14-day windows fit in it.
SHORT_HISTORY = "history_days = 30\n[ads]\nhistory_days = 30\n"
REPORT_FAILS = "[sandbox.faults]\nreport_failure = 1.0\n"
BIG_BID = Decimal("15.00")  # under SP Auto 0003's budget of 18.00, over 80% of it


@dataclass
class Scene:
    """A sandbox whose history was pulled the day before, opened with failing reports."""

    ctx: AgentContext
    settings: Settings
    profile_id: str
    rules_dir: Path


def _items(ctx: AgentContext) -> list[ReviewItemRecord]:
    with Session(ctx.engine) as session:
        return list(session.exec(select(ReviewItemRecord).order_by(col(ReviewItemRecord.id))))


def _changes(ctx: AgentContext, **where: object) -> list[ChangeRecord]:
    query = select(ChangeRecord).order_by(col(ChangeRecord.id))
    for name, value in where.items():
        query = query.where(getattr(ChangeRecord, name) == value)
    with Session(ctx.engine) as session:
        return list(session.exec(query))


def _scene(
    tmp_path: Path,
    settings_factory: Callable[..., Settings],
    agent_factory: Callable[..., AgentContext],
    rules: str = RULES,
    extra: str = "",
) -> Scene:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "e2e.yaml").write_text(rules, encoding="utf-8")
    # Day 0: pull the history with healthy reports (``plan`` syncs and writes no change or item),
    # and move one product target's bid close to its campaign's budget so that cutting the
    # budget is refused by Amazon (BUDGET_LT_KEYWORD_BIDS).
    first = agent_factory(settings_factory(SHORT_HISTORY + extra, rules_dir=rules_dir))
    (profile_id,) = profile_ids(first)
    plan_profile(first, profile_id, load_rule_set([rules_dir]))
    with Session(first.engine) as session:
        auto_3 = session.exec(
            select(CampaignRecord).where(CampaignRecord.name == "SP Auto 0003")
        ).one()
        target = session.exec(
            select(TargetRecord).where(TargetRecord.campaign_id == auto_3.campaign_id)
        ).first()
    assert target is not None
    first.client.update(
        profile_id, target.kind, [EntityUpdate(entity_id=target.target_id, bid=BIG_BID)]
    )  # type: ignore[arg-type]
    assert first.sandbox is not None
    first.sandbox.advance(days=1)
    first.close()
    settings = settings_factory(SHORT_HISTORY + extra + REPORT_FAILS, rules_dir=rules_dir)
    return Scene(agent_factory(settings), settings, profile_id, rules_dir)


def _ids(ctx: AgentContext, model: type, **where: str) -> list[str]:
    """Entity ids of ``model`` rows matching ``where`` (names), sorted."""
    key = {TargetRecord: "target_id", CampaignRecord: "campaign_id", AdGroupRecord: "ad_group_id"}
    query = select(getattr(model, key[model]))
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    with Session(ctx.engine) as session:
        return sorted(session.exec(query))


def _source_group(ctx: AgentContext, name: str) -> str:
    """The ad group of that name that holds targets: its auto campaign's manual sibling has an
    ad group of the same name, empty until harvests graduate into it."""
    (group,) = [
        g for g in _ids(ctx, AdGroupRecord, name=name) if _ids(ctx, TargetRecord, ad_group_id=g)
    ]
    return group


def _expected_day_one(scene: Scene) -> set[tuple[str, str]]:
    ctx, p = scene.ctx, scene.profile_id
    water_bottle = _source_group(ctx, "Water Bottle 1")
    (auto_3,) = _ids(ctx, CampaignRecord, name="SP Auto 0003")
    (auto_4,) = _ids(ctx, CampaignRecord, name="SP Auto 0004")
    (auto_5,) = _ids(ctx, CampaignRecord, name="SP Auto 0005")
    held_bids = {
        ("approval", f"approval:{p}:review-water-bottle:product_target:{t}:bid")
        for t in _ids(ctx, TargetRecord, ad_group_id=water_bottle)
    }
    assert len(held_bids) == 4
    return held_bids | {
        ("approval", f"approval:{p}:budget-up-auto-4:campaign:{auto_4}:budget"),
        ("guardrail", f"blast_radius:{p}:cut-travel-mug"),
        ("conflict", f"conflict:{p}:hair-dryer-down|hair-dryer-up:bid"),
        ("alert", f"alert:{p}:watch-auto-5:campaign:{auto_5}"),
        ("data", f"data:{p}:report:spTargeting"),
        ("api", f"change-failed:campaign:{auto_3}:budget:BUDGET_LT_KEYWORD_BIDS"),
    }


BAD_RULE = "rules:\n  - {name: typo, entity: keyword, when: ordrs == 0, then: {bid: '-5%'}}\n"


def test_every_kind_is_raised_once_and_a_second_day_does_not_duplicate(
    tmp_path: Path,
    settings_factory: Callable[..., Settings],
    agent_factory: Callable[..., AgentContext],
) -> None:
    """Day one opens one item per problem, of every kind; day two bumps the recurring ones."""
    scene = _scene(tmp_path, settings_factory, agent_factory)
    ctx = scene.ctx
    daemon = Daemon(scene.settings)
    daemon.ctx = ctx  # the daemon's own handler raises the ``rules`` item
    watcher = RuleWatcher(scene.rules_dir, daemon._on_bad_rules)
    run_cycle(ctx, scene.profile_id, watcher.current)
    (scene.rules_dir / "typo.yaml").write_text(BAD_RULE, encoding="utf-8")
    assert watcher.poll() is False
    items = _items(ctx)
    (rules_item,) = [i for i in items if i.kind == "rules"]
    assert rules_item.dedupe_key == f"rules:{scene.rules_dir}"
    assert rules_item.evidence is not None and len(rules_item.evidence["problems"]) == 1
    assert "unknown name 'ordrs'" in rules_item.evidence["problems"][0]
    expected = _expected_day_one(scene) | {("rules", rules_item.dedupe_key)}
    assert sorted((i.kind, i.dedupe_key) for i in items) == sorted(expected)
    assert {i.occurrences for i in items} == {1}
    assert {i.status for i in items} == {"open"}

    assert ctx.sandbox is not None
    ctx.sandbox.advance(days=1)
    second = run_cycle(ctx, scene.profile_id, watcher.current)
    assert second.outcome == "succeeded"
    assert watcher.poll() is False  # the broken file is still there: no new item
    again = _items(ctx)
    assert sorted((i.kind, i.dedupe_key) for i in again) == sorted(expected)
    # Held proposals, the blast radius, the alert, the refused budget and the failed report all
    # recur on day two; the conflict does not (its winners were applied and are cooling down),
    # nor does the rule file problem (same content).
    once = {"conflict", "rules"}
    assert {(i.dedupe_key, i.occurrences) for i in again} == {
        (key, 1 if kind in once else 2) for kind, key in expected
    }


def _held_item(ctx: AgentContext, entity_id: str) -> tuple[ReviewItemRecord, ChangeRecord]:
    (change,) = _changes(ctx, entity_id=entity_id, status="held")
    with Session(ctx.engine) as session:
        item = session.get(ReviewItemRecord, change.review_item_id)
    assert item is not None
    return item, change


def _live_bid(ctx: AgentContext, profile_id: str, change: ChangeRecord) -> Decimal:
    current = ctx.client.get_current(profile_id, change.entity_kind, [change.entity_id])
    return Decimal(str(current[change.entity_id]["bid"]))


def test_approval_applies_and_refuses_when_the_entity_moved(
    tmp_path: Path,
    settings_factory: Callable[..., Settings],
    agent_factory: Callable[..., AgentContext],
) -> None:
    """An approved held bid goes live; one whose entity was edited meanwhile is refused, with why."""
    scene = _scene(tmp_path, settings_factory, agent_factory)
    ctx, p = scene.ctx, scene.profile_id
    run_cycle(ctx, p, load_rule_set([scene.rules_dir]))
    water_bottle = _source_group(ctx, "Water Bottle 1")
    first_id, moved_id = _ids(ctx, TargetRecord, ad_group_id=water_bottle)[:2]

    item, change = _held_item(ctx, first_id)
    (made,) = decide(
        ctx.engine, [item.id or 0], "approve", by="pytest", note=None, now=ctx.now(),
        applier=applier_for(ctx),
    )  # fmt: skip
    assert (made.status, made.refused) == ("approved", False)
    assert [(o.change_id, o.status) for o in made.outcomes] == [(change.id, "applied")]
    assert _live_bid(ctx, p, change) == Decimal(change.new_value or "")
    (applied,) = _changes(ctx, id=change.id)
    assert (applied.status, applied.actor) == ("applied", "approval")

    item, change = _held_item(ctx, moved_id)
    ctx.client.update(
        p, change.entity_kind, [EntityUpdate(entity_id=moved_id, bid=Decimal("2.22"))]
    )  # type: ignore[arg-type]
    (made,) = decide(
        ctx.engine, [item.id or 0], "approve", by="pytest", note="ok", now=ctx.now(),
        applier=applier_for(ctx),
    )  # fmt: skip
    reason = f"not applied: expected {change.old_value!r}, it is now '2.22'"
    assert (made.status, made.refused) == ("approved", True)
    assert [(o.change_id, o.status, o.reason) for o in made.outcomes] == [
        (change.id, "refused", reason)
    ]
    assert _live_bid(ctx, p, change) == Decimal("2.22")
    (refused,) = _changes(ctx, id=change.id)
    assert (refused.status, refused.error_code, refused.reason) == (
        "failed",
        "entity_moved",
        reason,
    )
    with Session(ctx.engine) as session:
        decided = session.get(ReviewItemRecord, item.id)
    assert decided is not None
    assert (decided.status, decided.note) == (
        "approved",
        f"ok\nchange {change.id} refused: {reason}",
    )


CIRCUIT_RULES = """\
rules:
  - name: cut-travel-mug
    entity: product_target
    filter: ad_group_name == "Travel Mug 1"
    when: state == "enabled"
    then: {bid: "-5%"}
  - name: cut-hair-dryer
    entity: keyword
    filter: ad_group_name == "Hair Dryer 3"
    when: state == "enabled"
    then: {bid: "-5%"}
"""


def test_circuit_breaker_holds_the_whole_cycle_once(
    tmp_path: Path,
    settings_factory: Callable[..., Settings],
    agent_factory: Callable[..., AgentContext],
) -> None:
    """Over max_changes_per_cycle every change is held under one item; day two bumps it.

    A separate cycle from the other kinds: the breaker holds every planned change, including
    those a rule's approval or review mode would otherwise hold one by one."""
    limits = "[guardrails]\nmax_changes_per_cycle = 3\nmax_changes_pct = 1.0\n"
    scene = _scene(tmp_path, settings_factory, agent_factory, CIRCUIT_RULES, limits)
    ctx, p = scene.ctx, scene.profile_id
    rule_set = load_rule_set([scene.rules_dir])
    assert ctx.sandbox is not None
    writes = len(ctx.sandbox.write_log())  # the day-0 set-up's bid edit
    first = run_cycle(ctx, p, rule_set)
    expected = {
        ("circuit_breaker", f"circuit_breaker:{p}"),
        ("data", f"data:{p}:report:spTargeting"),
    }
    items = _items(ctx)
    assert {(i.kind, i.dedupe_key, i.occurrences) for i in items} == {(*e, 1) for e in expected}
    (breaker,) = [i for i in items if i.kind == "circuit_breaker"]
    held = _changes(ctx, cycle_id=first.cycle_id)
    assert len(held) == 8 + 11
    assert {(c.status, c.review_item_id) for c in held} == {("held", breaker.id)}
    assert ctx.sandbox is not None and len(ctx.sandbox.write_log()) == writes

    ctx.sandbox.advance(days=1)
    second = run_cycle(ctx, p, rule_set)
    items = _items(ctx)
    assert {(i.kind, i.dedupe_key, i.occurrences) for i in items} == {(*e, 2) for e in expected}
    assert {c.status for c in _changes(ctx, cycle_id=first.cycle_id)} == {"superseded"}
    assert {c.status for c in _changes(ctx, cycle_id=second.cycle_id)} == {"held"}
