"""Turn one rule's matches into candidate proposals, review alerts and skips.

Owns the vectorised part of a rule (filter and ``when`` mask, the action value for every matched row in
one polars expression) and the per-proposal records, with floors, ceilings and the step limit applied
(guardrails 2 and 3; a step over ``approval.over`` is flagged ``needs_approval``). Negate and harvest
rows are completed by :mod:`bidagent.engine.creations` (a harvest may come with its graduation
partner). It must not look at other rules: cooldown, blast radius, conflicts, the cycle cap,
approvals and mode are the pipeline of :mod:`bidagent.engine.guardrails`.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl

from bidagent.engine.creations import CreationLookups, creation
from bidagent.engine.evidence import evidence_of, evidence_rows
from bidagent.engine.inputs import EngineSettings
from bidagent.engine.money import Bounds, bounds_for, limit_step
from bidagent.engine.money_columns import limit_steps
from bidagent.engine.plan import Proposal, ReviewRequest, Skip, paused_gc
from bidagent.engine.ruleset import LoadedRule
from bidagent.vocabulary import MONEY_FIELDS, make_dedupe_key

__all__ = ["Candidates", "rule_candidates"]

MAX_MESSAGE_CHARS = (
    2000  # a review summary; the template is at most 1,000 and its specs are bounded
)

_META = ["entity_kind", "entity_id", "entity_name", "profile_id", "campaign_id", "ad_group_id"]
# What negate and harvest read of a search term's parents (destination patterns, campaign level).
_PARENTS = ["ad_group_name", "campaign_name", "targeting_type"]


@dataclass
class Candidates:
    """What one rule produced before the cross-rule guardrails."""

    proposals: list[Proposal] = field(default_factory=list)
    reviews: list[ReviewRequest] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    population: int = 0  # entities that passed the filter (for max_changes_pct)


def _value_expr(rule: LoadedRule, current: str) -> pl.Expr | None:
    if rule.relative is not None:
        kind, amount = rule.relative
        base = pl.col("base" if rule.schedule is not None else current)
        return base * (1 + amount) if kind == "pct" else base + amount
    return rule.value.expr if rule.value is not None else None


def current_column(rule: LoadedRule) -> str:
    """The frame column holding the value the rule changes."""
    return rule.field if rule.field in MONEY_FIELDS else "state"


def match_frame(rule: LoadedRule, frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Rows where filter and ``when`` hold, with ``__new`` holding the action value; plus population."""
    filt = rule.filter.expr if rule.filter is not None else pl.lit(value=True)
    lazy = frame.lazy().with_columns(filt.fill_null(value=False).alias("__filter"))
    selected = lazy.filter(pl.col("__filter") & rule.when.expr.fill_null(value=False))
    value = _value_expr(rule, current_column(rule))
    if value is not None:
        selected = selected.with_columns(value.cast(pl.Float64).alias("__new"))
    counted, matched = pl.collect_all([lazy.select(pl.col("__filter").sum()), selected])
    return matched, int(counted.item())


class _Blank(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        return "n/a" if value is None else super().format_field(value, format_spec)


def rule_candidates(
    rule: LoadedRule,
    frame: pl.DataFrame,
    lookups: CreationLookups,
    settings: EngineSettings,
) -> Candidates:
    """Evaluate ``rule`` on its prepared frame (see :func:`bidagent.engine.frames.rule_frame`).

    ``lookups`` are the evaluation's existing keywords, negatives and ad groups (negate, harvest).
    """
    matched, population = match_frame(rule, frame)
    out = Candidates(population=population)
    names = rule.names
    action = rule.action
    limits = _limits(rule, settings)
    # In entity order: polars joins and group-bys do not keep row order, and the order of
    # proposals is the order of API batches and of created entities, so it must not vary.
    columns = [*_META, *names, current_column(rule), "__new", *_PARENTS]
    ordered = matched.select([c for c in dict.fromkeys(columns) if c in matched.columns]).sort(
        "entity_kind", "entity_id"
    )
    with paused_gc():
        if limits is not None:  # bid and budget rules: the money step for all rows at once
            _money_candidates(rule, ordered, settings, limits, out)
            return out
        for row in ordered.iter_rows(named=True):
            evidence = evidence_of(row, names)
            if action == "review":
                _alert(rule, row, evidence, settings, out)
                continue
            if action in ("negate", "harvest"):
                made = creation(rule, row, evidence, settings, lookups, _base(rule, row, settings))
                if isinstance(made, Skip):
                    out.skips.append(made)
                else:
                    out.proposals.extend(made)
                continue
            proposal = _proposal(rule, row, evidence, settings, out, limits)
            if proposal is not None:
                out.proposals.append(proposal)
    return out


def _base(
    rule: LoadedRule, row: dict[str, Any], settings: EngineSettings, field_: str | None = None
) -> Proposal:
    """A proposal of ``rule`` for ``row`` changing ``field_`` (default: the rule's field)."""
    field_ = field_ or rule.field
    assert field_ is not None
    return Proposal(
        entity_kind=row["entity_kind"],
        entity_id=row["entity_id"],
        entity_name=row.get("entity_name"),
        profile_id=row.get("profile_id") or settings.profile_id,
        campaign_id=row.get("campaign_id"),
        ad_group_id=row.get("ad_group_id"),
        field=field_,
        old_value=None,
        new_value=None,
        rule_name=rule.name,
        rule_file=rule.file,
        rule_hash=rule.file_hash,
        priority=rule.rule.priority,
    )


def _skip(
    rule: LoadedRule, row: dict[str, Any], reason: str, detail: str, field_: str | None
) -> Skip:
    return Skip(rule.name, reason, detail, row["entity_kind"], row["entity_id"], field_)


def _alert(
    rule: LoadedRule,
    row: dict[str, Any],
    evidence: dict[str, Any],
    settings: EngineSettings,
    out: Candidates,
) -> None:
    review = rule.rule.then.review
    assert review is not None
    try:  # the loader checked the template (ruleset._check_message); this is a second line
        message = _Blank().format(review.message, **{n: row.get(n) for n in rule.message_names})
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as exc:
        message = f"{review.message} (could not format: {type(exc).__name__})"
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 3] + "..."
    name = row.get("entity_name") or row["entity_id"]
    out.reviews.append(
        ReviewRequest(
            kind="alert",
            severity=review.severity,
            dedupe_key=make_dedupe_key(
                "alert", settings.profile_id, rule.name, row["entity_kind"], row["entity_id"]
            ),
            summary=f"{rule.name}: {name}: {message}",
            rule_name=rule.name,
            entity_kind=row["entity_kind"],
            entity_id=row["entity_id"],
            entity_name=row.get("entity_name"),
            evidence=evidence,
        )
    )


Limits = tuple[Bounds, float, float | None]


def _limits(rule: LoadedRule, settings: EngineSettings) -> Limits | None:
    """Bounds, max step and approval threshold of a money rule: the same for all its rows."""
    if rule.field not in MONEY_FIELDS:
        return None
    bounds = bounds_for(rule.field, settings.marketplace, settings.guardrails, rule.rule.limits)
    steps = (settings.guardrails.max_step, rule.rule.limits.max_step)
    over = rule.rule.approval.over if rule.rule.approval else None
    return bounds, min(x for x in steps if x is not None), over


def _proposal(
    rule: LoadedRule,
    row: dict[str, Any],
    evidence: dict[str, Any],
    settings: EngineSettings,
    out: Candidates,
    limits: Limits | None,
) -> Proposal | None:
    field_ = rule.field
    assert field_ is not None
    then = rule.rule.then
    if then.state is not None:
        if row.get("state") == then.state:
            out.skips.append(
                _skip(rule, row, "no_change", f"state is already {then.state}", field_)
            )
            return None
        proposal = _base(rule, row, settings, field_)
        proposal.old_value, proposal.new_value, proposal.evidence = (
            row.get("state"),
            then.state,
            evidence,
        )
        return proposal
    raw = row.get("__new")
    if raw is None or not math.isfinite(raw):
        out.skips.append(_skip(rule, row, "null_action", f"{field_} expression gave null", field_))
        return None
    old = row.get(current_column(rule))
    assert limits is not None
    bounds, max_step, over = limits
    stepped = limit_step(old, raw, bounds, max_step, over, settings.marketplace.step)
    old_money = Decimal(repr(old)).quantize(settings.marketplace.step) if old is not None else None
    if old_money is not None and stepped.value == old_money:
        out.skips.append(
            _skip(
                rule,
                row,
                "no_change",
                f"{field_} stays {old_money} ({'; '.join(stepped.notes) or 'rounded'})",
                field_,
            )
        )
        return None
    proposal = _base(rule, row, settings, field_)
    proposal.old_value, proposal.new_value = old_money, stepped.value
    proposal.evidence = evidence
    proposal.notes = [f"rule value {raw:.6g}", *stepped.notes]
    proposal.needs_approval = stepped.needs_approval
    return proposal


def _money_candidates(
    rule: LoadedRule,
    ordered: pl.DataFrame,
    settings: EngineSettings,
    limits: Limits,
    out: Candidates,
) -> None:
    """:func:`_proposal` for every row of a bid or budget rule, with the money step column-wise.

    Same proposals and skips, in the same order, as calling :func:`_proposal` row by row (a test
    holds it to that); :func:`bidagent.engine.money_columns.limit_steps` does the arithmetic.
    """
    field_ = rule.field
    assert field_ is not None
    current = current_column(rule)
    raw = ordered.get_column("__new") if "__new" in ordered.columns else None
    finite = (
        raw.is_finite().fill_null(value=False)
        if raw is not None
        else pl.Series([False] * ordered.height)
    )
    valid = ordered.filter(finite)
    old = (
        valid.get_column(current)
        if current in valid.columns
        else pl.Series([None] * valid.height, dtype=pl.Float64)
    )
    bounds, max_step, over = limits
    stepped = iter(
        limit_steps(
            old, valid.get_column("__new"), bounds, max_step, over, settings.marketplace.step
        )
        if valid.height
        else []
    )
    columns = [c for c in _META if c in ordered.columns]
    meta = {c: ordered.get_column(c).to_list() for c in columns}
    none = [None] * ordered.height
    kinds, ids = meta["entity_kind"], meta["entity_id"]
    names, profiles = meta.get("entity_name", none), meta.get("profile_id", none)
    campaigns, groups = meta.get("campaign_id", none), meta.get("ad_group_id", none)
    evidence = evidence_rows(ordered, rule.names)
    raws = raw.to_list() if raw is not None else none
    profile, file, file_hash, priority = (
        settings.profile_id, rule.file, rule.file_hash, rule.rule.priority
    )  # fmt: skip
    null_detail = f"{field_} expression gave null"
    for i, ok in enumerate(finite.to_list()):
        if not ok:
            out.skips.append(Skip(rule.name, "null_action", null_detail, kinds[i], ids[i], field_))
            continue
        old_money, step = next(stepped)
        if old_money is not None and step.value == old_money:
            detail = f"{field_} stays {old_money} ({'; '.join(step.notes) or 'rounded'})"
            out.skips.append(Skip(rule.name, "no_change", detail, kinds[i], ids[i], field_))
            continue
        proposal = Proposal(
            kinds[i], ids[i], names[i], profiles[i] or profile, campaigns[i], groups[i], field_,
            old_money, step.value, rule.name, file, file_hash, priority, evidence[i],
            notes=[f"rule value {raws[i]:.6g}", *step.notes],
        )  # fmt: skip
        proposal.needs_approval = step.needs_approval
        out.proposals.append(proposal)
