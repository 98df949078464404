"""One evaluation: rules x inputs x settings x ``now`` -> :class:`Plan`. The engine's entry point.

Owns choosing the rules for a scope, the data-freshness gate (guardrail 1), dayparting (scheduled
rules set bids from a stored base and restore it when their period ends), and handing candidates to
the guardrails. Pure: no I/O and no wall clock; ``now`` is an aware UTC datetime given by the caller.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

import polars as pl

from bidagent.business_dates import business_date
from bidagent.durations import format_duration
from bidagent.engine import cron
from bidagent.engine.actions import Candidates, rule_candidates
from bidagent.engine.creations import CreationLookups
from bidagent.engine.frames import (
    FACT_KINDS,
    SOURCE_OF,
    WindowSums,
    entity_frame,
    rule_frame,
    rule_ranges,
)
from bidagent.engine.guardrails import History, apply_guardrails
from bidagent.engine.inputs import EngineInputs, EngineSettings
from bidagent.engine.plan import BaseBidUpdate, Plan, Proposal, ReviewRequest, Skip
from bidagent.engine.ruleset import LoadedRule, RuleSet
from bidagent.engine.schema import days_of
from bidagent.vocabulary import TARGET_KINDS, ReportSource, make_dedupe_key

__all__ = ["Scope", "evaluate", "rule_settle_days", "rules_in_scope"]

Scope = Literal["daily", "daypart", "all"]


def rule_settle_days(rule: LoadedRule, settings: EngineSettings) -> int:
    """Newest days the rule ignores: its own ``settle``, else the configuration's."""
    return days_of(rule.rule.settle) if rule.rule.settle else settings.guardrails.settle.days


class _Freshness:
    """Guardrail 1: stale sources and windows with missing days stop a rule."""

    def __init__(self, inputs: EngineInputs, settings: EngineSettings, today: date) -> None:
        self.inputs, self.settings, self.today = inputs, settings, today
        self._dates: dict[ReportSource, set[date]] = {}

    def dates(self, source: ReportSource) -> set[date]:
        if source not in self._dates:
            if self.inputs.report_dates is not None:
                frame = self.inputs.report_dates.filter(pl.col("source") == source)
            else:
                frame = self.inputs.facts.filter(pl.col("entity_kind").is_in(FACT_KINDS[source]))
            self._dates[source] = set(frame["date"].unique().to_list())
        return self._dates[source]

    def problem(self, rule: LoadedRule, ranges: dict[str, tuple[date, date]]) -> str | None:
        if not ranges:
            return None
        present = self.dates(SOURCE_OF[rule.rule.entity])
        max_age = self.settings.guardrails.max_data_age
        oldest_ok = self.today - timedelta(days=max(max_age.days, 1))
        latest = max(present) if present else None
        if latest is None or latest < oldest_ok:
            return f"newest report day is {latest or 'none'}, older than max_data_age {format_duration(max_age)} (needs {oldest_ok} or later)"
        needed: set[date] = set()
        for start, end in set(ranges.values()):
            needed.update(start + timedelta(days=i) for i in range((end - start).days + 1))
        missing = sorted(needed - present)
        if missing:
            shown = ", ".join(d.isoformat() for d in missing[:5]) + (
                " ..." if len(missing) > 5 else ""
            )
            return f"{len(missing)} day(s) missing in the window: {shown}"
        return None


_ProposalKey = tuple[str, str, str, str]


def _key(p: Proposal) -> _ProposalKey:
    """Which rule changes which entity field: one proposal per key within a scheduled rule."""
    return (p.rule_name, p.entity_kind, p.entity_id, p.field)


def rules_in_scope(rule_set: RuleSet, scope: Scope) -> list[LoadedRule]:
    """The rules an evaluation of ``scope`` runs: enabled ones, daily or dayparting."""
    rules = [r for r in rule_set.rules if r.rule.enabled]
    if scope == "daily":
        return [r for r in rules if r.schedule is None]
    if scope == "daypart":
        return [r for r in rules if r.schedule is not None]
    return rules


def evaluate(
    rule_set: RuleSet,
    inputs: EngineInputs,
    settings: EngineSettings,
    now: datetime,
    *,
    scope: Scope = "daily",
) -> Plan:
    """Evaluate the rules of ``scope`` and return the plan (proposals, reviews, skips, base bids)."""
    today = business_date(now, settings.timezone)
    inputs = inputs.conformed()
    plan = Plan(rule_set_hash=rule_set.hash)
    rules = rules_in_scope(rule_set, scope)
    sums = WindowSums(inputs)
    ranges = {r.name: rule_ranges(r, today, rule_settle_days(r, settings)) for r in rules}
    for rule in rules:
        sums.want(rule.rule.entity, ranges[rule.name].values())
    fresh = _Freshness(inputs, settings, today)
    local_now = now.astimezone(ZoneInfo(settings.timezone)).replace(tzinfo=None)
    scheduled = {r.name for r in rule_set.rules if r.schedule is not None}
    dipped = set(inputs.base_bids["entity_id"].to_list())
    entities: dict[str, pl.DataFrame] = {}
    batches: list[tuple[LoadedRule, Candidates]] = []
    pending: dict[_ProposalKey, BaseBidUpdate] = {}
    lookups = CreationLookups(inputs)
    for rule in rules:
        if rule.rule.entity not in entities:
            entities[rule.rule.entity] = _prepared(rule.rule.entity, inputs, sums, entities)
        active = rule.schedule is None or cron.is_active(rule.schedule, rule.until, local_now)  # type: ignore[arg-type]
        problem = fresh.problem(rule, ranges[rule.name]) if active else None
        if problem is not None:
            plan.skips.append(Skip(rule.name, "freshness", problem))
            plan.reviews.append(
                ReviewRequest("data", "warning", make_dedupe_key("data", settings.profile_id, rule.name),
                              f"{rule.name}: not run: {problem}", rule.name, evidence={"problem": problem})
            )  # fmt: skip
            if rule.schedule is None:
                continue
            active = False  # a dayparting rule without data restores its base bids
        if not active:
            batches.append(
                (rule, _restore(rule, entities[rule.rule.entity], inputs, settings, plan))
            )
            continue
        frame = rule_frame(
            rule, entities[rule.rule.entity], sums, inputs, settings, ranges[rule.name], now
        )
        found = rule_candidates(rule, frame, lookups, settings)
        plan.reviews.extend(found.reviews)
        plan.skips.extend(found.skips)
        if rule.schedule is not None:
            _remember_bases(rule, found, frame, pending)
        elif rule.field in ("bid", "default_bid") and dipped:
            kept = [p for p in found.proposals if p.entity_id not in dipped]
            for p in found.proposals:
                if p.entity_id in dipped:
                    plan.skips.append(
                        Skip(
                            rule.name,
                            "daypart",
                            "a dayparting period holds this bid",
                            p.entity_kind,
                            p.entity_id,
                            p.field,
                        )
                    )
            found.proposals = kept
        batches.append((rule, found))
    apply_guardrails(plan, batches, History.build(inputs.history), settings, now, scheduled)
    for p in plan.proposals:
        update = pending.get(_key(p))
        if update is not None and (update.action == "clear" or p.status in ("planned", "held")):
            plan.base_bid_updates.append(update)
    return plan


def _prepared(
    entity: str, inputs: EngineInputs, sums: WindowSums, cache: dict[str, pl.DataFrame]
) -> pl.DataFrame:
    """The entity frame joined once with every window sum (targets share one join)."""
    if entity in TARGET_KINDS:
        if "target" not in cache:
            cache["target"] = _prepared("target", inputs, sums, cache)
        return cache["target"].filter(pl.col("entity_kind") == entity)
    return entity_frame(entity, inputs).join(sums.frame(entity), on="entity_id", how="left")


def _remember_bases(
    rule: LoadedRule,
    found: Candidates,
    frame: pl.DataFrame,
    pending: dict[_ProposalKey, BaseBidUpdate],
) -> None:
    stored = dict(
        frame.filter(pl.col("_stored_base").is_not_null())
        .select("entity_id", "_stored_base")
        .iter_rows()
    )
    for p in found.proposals:
        p.notes.insert(0, f"dayparting: base bid {stored.get(p.entity_id, p.old_value)}")
        if p.entity_id not in stored:
            base = p.old_value if isinstance(p.old_value, Decimal) else None
            pending[_key(p)] = BaseBidUpdate(p.entity_kind, p.entity_id, rule.name, "set", base)


def _restore(
    rule: LoadedRule,
    entities: pl.DataFrame,
    inputs: EngineInputs,
    settings: EngineSettings,
    plan: Plan,
) -> Candidates:
    """Outside its period a scheduled rule puts every stored base bid back, then forgets it."""
    # The population is the rule's whole entity set, as for the period's start: the restore
    # undoes a batch the blast radius already let through, so it is measured the same way.
    found = Candidates(population=entities.height)
    stored = inputs.base_bids.filter(pl.col("rule_name") == rule.name)
    if stored.is_empty():
        return found
    rows = entities.join(stored.select("entity_id", "base_bid"), on="entity_id", how="inner")
    for row in rows.iter_rows(named=True):
        base = Decimal(repr(row["base_bid"])).quantize(settings.marketplace.step)
        old = (
            Decimal(repr(row["bid"])).quantize(settings.marketplace.step)
            if row["bid"] is not None
            else None
        )
        plan.base_bid_updates.append(
            BaseBidUpdate(row["entity_kind"], row["entity_id"], rule.name, "clear")
        )
        if old == base:
            continue
        found.proposals.append(
            Proposal(row["entity_kind"], row["entity_id"], row.get("entity_name"), row.get("profile_id") or settings.profile_id,
                     row.get("campaign_id"), row.get("ad_group_id"), "bid", old, base, rule.name, rule.file, rule.file_hash,
                     rule.rule.priority, evidence={"base": float(base)}, notes=[f"dayparting period over: restore base bid {base}"])
        )  # fmt: skip
    return found
