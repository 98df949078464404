"""Negate and harvest: proposals that create a negative keyword or a keyword from a search term.

Owns where the new keyword goes (source ad group, a named ad group, or the campaign for negatives), its
payload, and skipping terms already negated or already present as keywords. It must not decide
conflicts or modes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bidagent.engine.inputs import EngineInputs, EngineSettings
from bidagent.engine.money import bounds_for, limit_step
from bidagent.engine.plan import Proposal, Skip
from bidagent.engine.ruleset import LoadedRule

if TYPE_CHECKING:
    from bidagent.engine.actions import Candidates

__all__ = ["creation"]


@dataclass(frozen=True)
class _Lookups:
    negatives: set[tuple[str, str, str, str]]  # campaign, ad group ("" = campaign), text, match
    keywords: set[tuple[str, str, str]]  # ad group, text, match
    ad_groups: dict[str, tuple[str, str]]  # id or name -> (ad group id, campaign id)


# One entry, holding the frames themselves so an id can never be reused for other frames.
_cache: dict[tuple[int, int, int], tuple[tuple[object, ...], _Lookups]] = {}


def _lookups(inputs: EngineInputs) -> _Lookups:
    frames = (inputs.negatives, inputs.targets, inputs.ad_groups)
    key = (id(frames[0]), id(frames[1]), id(frames[2]))
    if key not in _cache:
        _cache.clear()
        negatives = {
            (
                r["campaign_id"] or "",
                r["ad_group_id"] or "",
                (r["keyword_text"] or "").lower(),
                r["match_type"],
            )
            for r in inputs.negatives.iter_rows(named=True)
        }
        keywords = {
            (r["ad_group_id"] or "", (r["keyword_text"] or "").lower(), r["match_type"])
            for r in inputs.targets.filter(inputs.targets["state"] != "archived")
            .select("ad_group_id", "keyword_text", "match_type")
            .iter_rows(named=True)
            if r["keyword_text"]
        }
        groups: dict[str, tuple[str, str]] = {}
        for r in inputs.ad_groups.iter_rows(named=True):
            groups.setdefault(r["entity_id"], (r["entity_id"], r["campaign_id"]))
            if r["ad_group_name"]:
                groups.setdefault(r["ad_group_name"], (r["entity_id"], r["campaign_id"]))
        _cache[key] = (frames, _Lookups(negatives, keywords, groups))
    return _cache[key][1]


def creation(
    rule: LoadedRule,
    row: dict[str, Any],
    evidence: dict[str, Any],
    settings: EngineSettings,
    inputs: EngineInputs,
    out: Candidates,
    proposal: Proposal,
) -> Proposal | None:
    """A negative keyword or keyword proposal for one search term row, or None with a skip."""
    looks = _lookups(inputs)
    term = (row.get("entity_name") or "").strip()
    campaign, group = row.get("campaign_id") or "", row.get("ad_group_id") or ""
    then = rule.rule.then

    def skip(reason: str, detail: str) -> None:
        out.skips.append(
            Skip(rule.name, reason, detail, row["entity_kind"], row["entity_id"], proposal.field)
        )

    if not term:
        skip("null_action", "empty search term")
        return None
    if then.negate is not None:
        match = f"negative_{then.negate}"
        level = then.level or "ad_group"
        where = group if level == "ad_group" else ""
        existing = {(campaign, where, term.lower(), match), (campaign, "", term.lower(), match)}
        if existing & looks.negatives:
            skip("already_exists", f"'{term}' is already a {match} negative")
            return None
        proposal.payload = {
            "keyword_text": term,
            "match_type": match,
            "level": level,
            "campaign_id": campaign,
            "ad_group_id": group if level == "ad_group" else None,
        }
        proposal.evidence = evidence
        proposal.notes = [f"negate '{term}' ({match}) at {level} level"]
        return proposal
    harvest = then.harvest
    assert harvest is not None
    if harvest.ad_group is not None:
        if harvest.ad_group not in looks.ad_groups:
            skip("null_action", f"no ad group named '{harvest.ad_group}'")
            return None
        group, campaign = looks.ad_groups[harvest.ad_group]
    if (group, term.lower(), harvest.match_type) in looks.keywords:
        skip(
            "already_exists",
            f"'{term}' is already a {harvest.match_type} keyword in ad group {group}",
        )
        return None
    raw = row.get("__new")
    if raw is None or not math.isfinite(raw):
        skip("null_action", "harvest bid expression gave null")
        return None
    bounds = bounds_for("bid", settings.marketplace, settings.guardrails, rule.rule.limits)
    stepped = limit_step(None, raw, bounds, None, None, settings.marketplace.step)
    proposal.payload = {
        "keyword_text": term,
        "match_type": harvest.match_type,
        "bid": stepped.value,
        "campaign_id": campaign,
        "ad_group_id": group,
    }
    proposal.campaign_id, proposal.ad_group_id = campaign, group
    proposal.evidence = evidence
    proposal.notes = [f"rule bid {raw:.6g}", *stepped.notes]
    return proposal
