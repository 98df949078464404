"""Honest cycles: any failure leaves a cycle record with its reason, a review item of the right
kind and a metric, and `health` reports it; stale data that holds every rule is not a success."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from sqlmodel import Session, select
from typer.testing import CliRunner

from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.run import CycleResult, run_cycle
from bidagent.agent.profiles import profile_ids
from bidagent.agent.service.metrics import METRICS
from bidagent.cli.app import app
from bidagent.console.metrics import metrics_registry
from bidagent.engine import Plan, RuleSet
from bidagent.engine.plan import Skip
from bidagent.settings import load_settings
from bidagent.store import CycleRecord, ReviewItemRecord
from bidagent.vocabulary import make_dedupe_key

BAD_REQUEST = """
[sandbox.faults.endpoints."POST /sp/campaigns/list"]
script = ["bad_request"]
"""


def test_http_400_in_sync_leaves_a_failed_cycle_an_api_item_a_metric_and_unhealthy(
    config_writer: Callable[..., Path],
    agent_factory: Callable[..., AgentContext],
    rule_set: RuleSet,
) -> None:
    """A 400 on the entity listing: failed cycle record with the reason, api item, metric, health 1."""
    config = config_writer(BAD_REQUEST)
    agent = agent_factory(load_settings(config))
    (profile_id,) = profile_ids(agent)
    before = METRICS.failed_cycles["api"]
    result = run_cycle(agent, profile_id, rule_set)
    with Session(agent.engine) as session:
        records = session.exec(select(CycleRecord)).all()
        items = session.exec(select(ReviewItemRecord)).all()
    assert result.outcome == "failed"
    assert [(r.outcome, r.mode, r.schedule, r.id) for r in records] == [
        ("failed", "live", "daily", result.cycle_id)
    ]
    assert records[0].error is not None and records[0].error.startswith("sync failed: ApiError: ")
    assert [(i.kind, i.status, i.profile_id) for i in items] == [("api", "open", profile_id)]
    assert METRICS.failed_cycles["api"] == before + 1
    exposed = generate_latest(metrics_registry(agent.engine, agent.now)).decode()
    assert f'bidagent_cycles_failed_total{{reason="api"}} {before + 1:.1f}' in exposed
    health = CliRunner().invoke(app, ["--config", str(config), "health"])
    assert health.exit_code == 1
    assert "unhealthy: last cycle" in health.output and "sync failed: ApiError" in health.output
    retried = run_cycle(agent, profile_id, rule_set)  # the scripted 400 is spent: the day runs
    assert (retried.outcome, retried.cycle_id != result.cycle_id) == ("succeeded", True)


MALFORMED_PAGE = """
[sandbox.faults.endpoints."POST /sp/keywords/list"]
script = ["malformed"]
"""


def test_malformed_entity_page_in_sync_leaves_a_failed_cycle_a_data_item_a_metric_and_unhealthy(
    config_writer: Callable[..., Path],
    agent_factory: Callable[..., AgentContext],
    rule_set: RuleSet,
) -> None:
    """A 200 entity page without its list: failed cycle with the reason, data item, metric, health 1."""
    config = config_writer(MALFORMED_PAGE)
    agent = agent_factory(load_settings(config))
    (profile_id,) = profile_ids(agent)
    before = METRICS.failed_cycles["data"]
    result = run_cycle(agent, profile_id, rule_set)
    with Session(agent.engine) as session:
        records = session.exec(select(CycleRecord)).all()
        items = session.exec(select(ReviewItemRecord)).all()
    assert result.outcome == "failed"
    assert [(r.outcome, r.mode, r.schedule, r.id, r.error) for r in records] == [
        ("failed", "live", "daily", result.cycle_id,
         "sync failed: MalformedResponse: POST /sp/keywords/list: response has no 'keywords' list")
    ]  # fmt: skip
    assert [(i.kind, i.status, i.profile_id, i.dedupe_key) for i in items] == [
        ("data", "open", profile_id, make_dedupe_key("data", profile_id, "sync:MalformedResponse"))
    ]
    assert METRICS.failed_cycles["data"] == before + 1
    exposed = generate_latest(metrics_registry(agent.engine, agent.now)).decode()
    assert f'bidagent_cycles_failed_total{{reason="data"}} {before + 1:.1f}' in exposed
    health = CliRunner().invoke(app, ["--config", str(config), "health"])
    assert health.exit_code == 1
    assert "unhealthy: last cycle" in health.output and "MalformedResponse" in health.output
    retried = run_cycle(agent, profile_id, rule_set)  # the scripted page is spent: the day runs
    assert (retried.outcome, retried.cycle_id != result.cycle_id) == ("succeeded", True)


def test_stale_data_that_holds_every_rule_is_not_a_success(
    agent: AgentContext, rule_set: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When freshness stops every rule, the cycle ends `stale` with the reason, and is unhealthy."""
    import bidagent.agent.cycle.run as cycle_module
    from bidagent.agent.service.health import check_health

    (profile_id,) = profile_ids(agent)

    def all_stale(rules: RuleSet, *_args: object, **_kwargs: object) -> Plan:
        plan = Plan(rule_set_hash=rules.hash)
        plan.skips = [Skip(r.name, "freshness", "report days missing") for r in rules.rules]
        return plan

    monkeypatch.setattr(cycle_module, "evaluate", all_stale)
    result = run_cycle(agent, profile_id, rule_set)
    assert result.outcome == "stale"
    assert result.error is not None and result.error.startswith("stale data held every rule: ")
    assert "; stale data held every rule: " in result.summary()
    healthy, reason = check_health(agent.settings, agent.engine)
    assert healthy is False and "stale data held every rule" in reason


def test_summary_says_when_the_kill_switch_held_changes() -> None:
    """The summary line names the changes the kill switch held back (still planned)."""
    from datetime import date

    result = CycleResult("P1", date(2026, 1, 2), "succeeded", 7, {"applied": 0, "planned": 5})
    assert result.summary() == (
        "profile P1 2026-01-02: succeeded; applied 0, held 0, failed 0, dry-run 0, superseded 0, "
        "review items 0; kill switch held 5"
    )
