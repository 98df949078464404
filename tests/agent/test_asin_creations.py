"""ASIN search terms' creations through the agent's sender and the sandbox: a product target and
negative product targets (ad group and campaign level) are created, read back after an unknown
outcome by their ASIN, and reverted by archiving what was created."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.apply import apply_planned
from bidagent.agent.cycle.revert import ALREADY_REVERTED, apply_revert, plan_revert
from bidagent.settings import Settings
from bidagent.store import ChangeRecord, session_scope
from bidagent.vocabulary import is_asin
from tests.ads.conftest import auto_and_manual
from tests.agent.conftest import stored_change

TIMEOUT_AFTER_CREATE = """
[sandbox.faults]
seed = 3
[sandbox.faults.endpoints."POST /sp/negativeTargets"]
script = ["timeout_after_apply"]
"""


def _where(agent: AgentContext) -> dict[str, str]:
    """An auto campaign's first ad group, its manual sibling's ASIN ad group, and an ASIN term
    the auto group serves."""
    client, sandbox = agent.client, agent.sandbox
    assert sandbox is not None
    profile_id = sandbox.profiles[0]
    auto, group, manual = auto_and_manual(client, profile_id)
    (asins,) = [
        g
        for g in client.list_ad_groups(profile_id, campaign_ids=[manual.campaign_id])
        if g.name == f"{group.name} ASINs"
    ]
    terms = sandbox.store.query(
        "SELECT s.term FROM terms s JOIN entities e ON e.sim_key = s.sim_key "
        "WHERE e.ad_group_id = ? AND e.kind = 'target'",
        (group.ad_group_id,),
    )
    asin = next(r["term"] for r in terms if is_asin(r["term"]))
    return {
        "profile_id": profile_id, "auto": auto.campaign_id, "group": group.ad_group_id,
        "manual": manual.campaign_id, "asins": asins.ad_group_id, "asin": asin,
    }  # fmt: skip


def _planned(
    agent: AgentContext, where: dict[str, str], field: str, payload: dict[str, Any]
) -> int:
    now = agent.now()
    with session_scope(agent.engine) as session:
        row = ChangeRecord(
            profile_id=where["profile_id"], entity_kind="search_term", entity_id=where["asin"],
            entity_name=where["asin"], campaign_id=payload["campaign_id"],
            ad_group_id=payload.get("ad_group_id"), field=field, payload=payload,
            rule_name="asin-rule", status="planned", created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row.id or 0


def _state(agent: AgentContext, kind: str, entity_id: str) -> str:
    profile_id = agent.client.list_profiles()[0].profile_id
    return str(agent.client.get_current(profile_id, kind, [entity_id])[entity_id]["state"])  # type: ignore[arg-type]


def test_asin_creations_are_applied_and_reverted_by_archiving_them(agent: AgentContext) -> None:
    """A harvested product target and negated ASINs at both levels go live with their remote id;
    reverting them archives each created entity, and a second revert says already reverted."""
    where = _where(agent)
    ids = [
        _planned(agent, where, "product_target", {
            "asin": where["asin"], "bid": "0.55", "campaign_id": where["manual"],
            "ad_group_id": where["asins"]}),
        _planned(agent, where, "negative_target", {
            "asin": where["asin"], "level": "ad_group", "campaign_id": where["auto"],
            "ad_group_id": where["group"]}),
        _planned(agent, where, "negative_target", {
            "asin": where["asin"], "level": "campaign", "campaign_id": where["auto"],
            "ad_group_id": None}),
    ]  # fmt: skip
    outcomes = apply_planned(agent, ids)
    assert [(o.change_id, o.status) for o in outcomes] == [(i, "applied") for i in ids]
    rows = [stored_change(agent, i) for i in ids]
    kinds = ["product_target", "negative_target", "campaign_negative_target"]
    assert all(r.remote_id for r in rows)
    assert [_state(agent, k, str(r.remote_id)) for k, r in zip(kinds, rows, strict=True)] == [
        "enabled"
    ] * 3
    items = plan_revert(agent, rows)
    assert [(i.original.id, i.skip_reason, i.current, i.target) for i in items] == [
        (i, None, "enabled", "archived") for i in ids
    ]
    reverted = apply_revert(agent, items, by="pytest")
    assert [o.status for o in reverted] == ["applied"] * 3
    assert [_state(agent, k, str(r.remote_id)) for k, r in zip(kinds, rows, strict=True)] == [
        "archived"
    ] * 3
    assert [stored_change(agent, i).status for i in ids] == ["reverted"] * 3
    again = plan_revert(agent, [stored_change(agent, i) for i in ids])
    assert [i.skip_reason for i in again] == [ALREADY_REVERTED] * 3


def test_a_negative_target_whose_create_timed_out_is_found_by_its_asin(
    settings_factory: Callable[..., Settings], agent_factory: Callable[..., AgentContext]
) -> None:
    """Amazon made the negative target but the answer was lost: read-back finds it by its ASIN
    (sent in capitals, the term in lower case), records its id, and nothing is sent twice."""
    agent = agent_factory(settings_factory(TIMEOUT_AFTER_CREATE))
    where = _where(agent)
    change_id = _planned(agent, where, "negative_target", {
        "asin": where["asin"], "level": "ad_group", "campaign_id": where["auto"],
        "ad_group_id": where["group"]})  # fmt: skip
    (outcome,) = apply_planned(agent, [change_id])
    assert (outcome.status, outcome.reason) == ("applied", "confirmed by read-back")
    row = stored_change(agent, change_id)
    assert agent.sandbox is not None
    created = [w for w in agent.sandbox.write_log() if w.kind == "negative_target"]
    assert [(w.entity_id, w.field) for w in created] == [(row.remote_id, "created")]
    (live,) = agent.client.list_negative_targets(where["profile_id"], ids=[str(row.remote_id)])
    assert live.expression == [{"type": "ASIN_SAME_AS", "value": where["asin"].upper()}]
