"""What each rule did in each cycle: the ``cycle_rules`` table (one row per cycle and rule the
cycle evaluated: how many entities it matched, how many changes it proposed, how many it
skipped and why), and the reads the console's Rules and Cycles pages make of it, beside the
current status of each rule's changes in those cycles.

The plan-time counts are stored because the plan's skips are not rows anywhere else; what
became of the proposed changes (applied, held, rejected after a person's decision) is read
live from ``changes``, so the pages never show a status a later approval changed. Owns the
table and every statement over it; writes in the caller's transaction and must not commit,
nor decide what counts as a match (:mod:`bidagent.agent.cycle.rule_runs` does).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer
from sqlmodel import Field, Session, SQLModel, col, func, select

from bidagent.store.ledger import ChangeRecord, CycleRecord

__all__ = [
    "RuleRunRecord",
    "change_statuses_by_rule",
    "cycle_rule_runs",
    "latest_rule_runs",
    "record_rule_runs",
    "rule_run_history",
]


class RuleRunRecord(SQLModel, table=True):
    """One rule in one cycle, as the plan left it. ``matched`` counts the entities the rule
    matched (each ends as a proposal, a skip naming it or an alert); ``skips`` counts the
    skips by reason (``freshness``: the rule did not run, and ``note`` says why)."""

    __tablename__ = "cycle_rules"
    __table_args__ = (Index("ix_cycle_rules_latest", "rule_name", "profile_id", "cycle_id"),)

    cycle_id: int = Field(
        sa_column=Column(Integer, ForeignKey("cycles.id"), primary_key=True, nullable=False)
    )
    rule_name: str = Field(primary_key=True, max_length=128)
    profile_id: str = Field(max_length=32)
    rule_file: str | None = None
    rule_hash: str | None = Field(default=None, max_length=64)
    matched: int = 0
    proposed: int = 0
    skipped: int = 0
    alerts: int = 0
    skips: dict[str, int] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    note: str | None = None


def record_rule_runs(session: Session, rows: Iterable[RuleRunRecord]) -> None:
    """Add the rows of one cycle (in the caller's transaction)."""
    session.add_all(list(rows))


def latest_rule_runs(session: Session, *, profile_id: str | None = None) -> list[RuleRunRecord]:
    """For each (profile, rule), the row of the newest cycle that evaluated the rule (of
    ``profile_id`` only, when given), by rule name then profile."""
    newest = select(func.max(RuleRunRecord.cycle_id)).group_by(
        col(RuleRunRecord.rule_name), col(RuleRunRecord.profile_id)
    )
    if profile_id is not None:
        newest = newest.where(RuleRunRecord.profile_id == profile_id)
    # A cycle evaluates each rule at most once, so (cycle, rule) picks the newest row; the
    # pairs are matched in Python over the few newest cycles, not with a row-value IN.
    ids = list(session.exec(newest))
    if not ids:
        return []
    rows = session.exec(select(RuleRunRecord).where(col(RuleRunRecord.cycle_id).in_(ids)))
    best: dict[tuple[str, str], RuleRunRecord] = {}
    for row in rows:
        key = (row.rule_name, row.profile_id)
        if key not in best or best[key].cycle_id < row.cycle_id:
            best[key] = row
    return [best[key] for key in sorted(best)]


def cycle_rule_runs(session: Session, cycle_id: int) -> list[RuleRunRecord]:
    """The rows of one cycle, by rule name."""
    query = (
        select(RuleRunRecord)
        .where(RuleRunRecord.cycle_id == cycle_id)
        .order_by(col(RuleRunRecord.rule_name))
    )
    return list(session.exec(query))


def rule_run_history(
    session: Session, rule_name: str, *, profile_id: str | None = None, limit: int = 30
) -> list[tuple[RuleRunRecord, CycleRecord]]:
    """The rule's rows of its newest ``limit`` cycles (of ``profile_id``, when given), newest
    first, each with its cycle."""
    query = (
        select(RuleRunRecord, CycleRecord)
        .join(CycleRecord, col(CycleRecord.id) == RuleRunRecord.cycle_id)
        .where(RuleRunRecord.rule_name == rule_name)
    )
    if profile_id is not None:
        query = query.where(RuleRunRecord.profile_id == profile_id)
    rows = session.exec(query.order_by(col(RuleRunRecord.cycle_id).desc()).limit(limit))
    return [(run, cycle) for run, cycle in rows]


def change_statuses_by_rule(
    session: Session, cycle_ids: Iterable[int]
) -> dict[tuple[int, str], dict[str, int]]:
    """``(cycle id, rule name) -> {status: count}`` of the changes those cycles made (rows
    without a rule, such as external edits, are left out)."""
    ids = sorted(set(cycle_ids))
    if not ids:
        return {}
    query: Any = (
        select(ChangeRecord.cycle_id, ChangeRecord.rule_name, ChangeRecord.status, func.count())
        .where(col(ChangeRecord.cycle_id).in_(ids), col(ChangeRecord.rule_name).is_not(None))
        .group_by(col(ChangeRecord.cycle_id), col(ChangeRecord.rule_name), col(ChangeRecord.status))
    )
    found: dict[tuple[int, str], dict[str, int]] = {}
    for cycle_id, rule_name, status, count in session.exec(query):
        found.setdefault((cycle_id, rule_name), {})[status] = count
    return found
