"""Each cycle records what every rule of its scope did (``cycle_rules``): matched, proposed,
skipped by reason, alerts; counted from the plan, stored with the plan."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

from sqlmodel import Session, select

from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.rule_runs import rule_run_rows
from bidagent.agent.cycle.run import run_cycle
from bidagent.agent.profiles import profile_ids
from bidagent.engine import Plan, Proposal, ReviewRequest, RuleSet, Skip, load_rule_set
from bidagent.store import ChangeRecord
from bidagent.store.rule_runs import cycle_rule_runs

_RULES = """
rules:
  - name: cut
    entity: target
    when: clicks > 10
    then: { bid: "-10%" }
  - name: watch
    entity: campaign
    when: cost > 5
    then: { review: { message: "spend {cost}" } }
  - name: unused
    entity: target
    enabled: false
    when: clicks > 1
    then: { bid: "-10%" }
  - name: dip
    entity: target
    schedule: "0 1 * * *"
    until: 5h
    when: clicks > 1
    then: { bid: base * 0.5 }
"""


def _proposal(rule: str, entity_id: str, status: str = "planned") -> Proposal:
    return Proposal(
        "keyword", entity_id, None, "1", "c", "g", "bid", Decimal("1.00"), Decimal("0.90"),
        rule, "f.yaml", "h", 0, status=status,  # type: ignore[arg-type]
    )  # fmt: skip


def test_rows_count_each_rule_of_the_scope(tmp_path: Path) -> None:
    """One row per enabled rule of the scope, also a rule that matched nothing; matched is its
    proposals, entity skips and alerts; a freshness skip is a note, not a match."""
    (tmp_path / "r.yaml").write_text(_RULES, encoding="utf-8")
    rule_set = load_rule_set([tmp_path])
    plan = Plan(
        rule_set_hash=rule_set.hash,
        proposals=[_proposal("cut", "k1"), _proposal("cut", "k2", "held")],
        reviews=[
            ReviewRequest("alert", "info", "a:1", "spend", "watch", "campaign", "c1"),
            ReviewRequest("approval", "warning", "b:1", "held", "cut"),
        ],
        skips=[
            Skip("cut", "no_change", "bid stays 0.10", "keyword", "k3", "bid"),
            Skip("cut", "cooldown", "changed 1 day ago", "keyword", "k4", "bid"),
            Skip("watch", "freshness", "newest report day is none"),
        ],
    )
    rows = rule_run_rows(plan, rule_set, "daily", cycle_id=7, profile_id="1")
    assert [
        (r.cycle_id, r.rule_name, r.profile_id, r.matched, r.proposed, r.skipped, r.alerts,
         r.skips, r.note)
        for r in rows
    ] == [
        (7, "cut", "1", 4, 2, 2, 0, {"cooldown": 1, "no_change": 1}, None),
        (7, "watch", "1", 1, 0, 0, 1, {"freshness": 1}, "newest report day is none"),
    ]  # fmt: skip
    assert [r.rule_name for r in rule_run_rows(plan, rule_set, "daypart", cycle_id=7,
                                               profile_id="1")] == ["dip"]  # fmt: skip
    assert {r.rule_file for r in rows} == {str(tmp_path / "r.yaml")}
    assert {r.rule_hash for r in rows} == {rule_set.rules[0].file_hash}


def test_a_cycle_stores_a_row_per_rule_beside_its_changes(
    agent: AgentContext, rule_set: RuleSet
) -> None:
    """A sandbox cycle stores one row per daily rule; each rule's ``proposed`` is the change
    rows it wrote in that cycle."""
    (profile_id,) = profile_ids(agent)
    result = run_cycle(agent, profile_id, rule_set)
    assert result.outcome == "succeeded" and result.cycle_id is not None
    with Session(agent.engine) as session:
        runs = cycle_rule_runs(session, result.cycle_id)
        written = Counter(
            session.exec(
                select(ChangeRecord.rule_name).where(ChangeRecord.cycle_id == result.cycle_id)
            )
        )
    daily = sorted(r.name for r in rule_set.rules if r.schedule is None and r.rule.enabled)
    assert [r.rule_name for r in runs] == daily
    assert {r.rule_name: r.proposed for r in runs} == {name: written[name] for name in daily}
    assert all(r.matched == r.proposed + r.skipped + r.alerts for r in runs)
    assert sum(r.matched for r in runs) > 0
