"""Negate and harvest: proposals that create a negative or a keyword/product target from a search term.

Owns what a search term becomes (an ASIN term a negative product target or a product target, any
other term a negative keyword or a keyword), where it goes (the term's ad group or campaign for
negatives; for harvests the destination :mod:`bidagent.engine.destinations` resolves), its payload,
the graduation pair (``harvest.negate_source``: the harvest and the source negative share one
``change_set``), and skipping what already exists (:class:`CreationLookups`, built once per
evaluation). :mod:`bidagent.engine.actions` calls it for negate and harvest rows and collects what
it returns; it must not import ``actions``, nor decide conflicts or modes.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from functools import cached_property
from typing import Any

from bidagent.engine.destinations import AdGroup, Destinations
from bidagent.engine.inputs import EngineInputs, EngineSettings
from bidagent.engine.money import bounds_for, limit_step
from bidagent.engine.plan import Proposal, Skip
from bidagent.engine.ruleset import LoadedRule
from bidagent.vocabulary import TargetKind, is_asin

__all__ = ["CreationLookups", "creation"]

# How a product target's ``targeting`` shows one ASIN_SAME_AS predicate (bidagent.ads.models).
_TARGETED_ASIN = re.compile(r'^asin="([^"]+)"$', re.IGNORECASE)


class CreationLookups:
    """What already exists, for one evaluation: built from its frames on first use, then kept.

    Made once per evaluation (by :func:`bidagent.engine.evaluate.evaluate`) and handed to every
    rule; a rule set without negate or harvest rules never builds the sets.
    """

    def __init__(self, inputs: EngineInputs) -> None:
        self._inputs = inputs

    @cached_property
    def negatives(self) -> set[tuple[str, str, str, str]]:
        """Negative keywords: (campaign, ad group or "" for campaign level, lowercased text, match type)."""
        return {
            (
                r["campaign_id"] or "",
                r["ad_group_id"] or "",
                r["keyword_text"].lower(),
                r["match_type"],
            )
            for r in self._inputs.negatives.iter_rows(named=True)
            if r["keyword_text"]
        }

    @cached_property
    def negative_targets(self) -> set[tuple[str, str, str]]:
        """Negative product targets: (campaign, ad group or "" for campaign level, ASIN upper case)."""
        return {
            (r["campaign_id"] or "", r["ad_group_id"] or "", r["asin"].strip().upper())
            for r in self._inputs.negatives.iter_rows(named=True)
            if r["asin"]
        }

    @cached_property
    def keywords(self) -> set[tuple[str, str, str]]:
        """(ad group, lowercased text, match type) of every keyword not archived."""
        targets = self._inputs.targets
        return {
            (r["ad_group_id"] or "", (r["keyword_text"] or "").lower(), r["match_type"])
            for r in targets.filter(targets["state"] != "archived")
            .select("ad_group_id", "keyword_text", "match_type")
            .iter_rows(named=True)
            if r["keyword_text"]
        }

    @cached_property
    def product_targets(self) -> set[tuple[str, str]]:
        """(ad group, ASIN upper case) of every single-ASIN product target not archived."""
        targets = self._inputs.targets
        rows = targets.filter(
            (targets["state"] != "archived") & (targets["entity_kind"] == "product_target")
        ).select("ad_group_id", "targeting")
        found = set()
        for group, targeting in rows.iter_rows():
            match = _TARGETED_ASIN.match((targeting or "").strip())
            if match:
                found.add((group or "", match.group(1).strip().upper()))
        return found

    @cached_property
    def destinations(self) -> Destinations:
        """The profile's ad groups, for harvest destinations."""
        return Destinations(self._inputs.ad_groups, self._inputs.targets)

    def negated(self, term: str, asin: bool, campaign: str, group: str, match: str) -> bool:
        """Whether ``term`` is already negated in ``group`` or its campaign (``match``: keywords only)."""
        if asin:
            key = term.upper()
            return bool({(campaign, group, key), (campaign, "", key)} & self.negative_targets)
        text = term.lower()
        return bool({(campaign, group, text, match), (campaign, "", text, match)} & self.negatives)


def creation(
    rule: LoadedRule,
    row: dict[str, Any],
    evidence: dict[str, Any],
    settings: EngineSettings,
    looks: CreationLookups,
    proposal: Proposal,
) -> list[Proposal] | Skip:
    """``proposal`` completed for one search term row (with its graduation partner), or a skip."""
    term = (row.get("entity_name") or "").strip()
    asin = is_asin(term)
    campaign, group = row.get("campaign_id") or "", row.get("ad_group_id") or ""
    then = rule.rule.then
    if then.negate is not None:
        proposal.field = "negative_target" if asin else "negative_keyword"
    else:
        proposal.field = "product_target" if asin else "keyword"

    def skip(reason: str, detail: str) -> Skip:
        return Skip(rule.name, reason, detail, row["entity_kind"], row["entity_id"], proposal.field)

    if not term:
        return skip("null_action", "empty search term")
    if then.negate is not None:
        level = then.level or "ad_group"
        # Amazon has campaign negative product targets in auto-targeting campaigns only.
        narrowed = asin and level == "campaign" and row.get("targeting_type") != "auto"
        level = "ad_group" if narrowed else level
        match = f"negative_{then.negate}"
        if looks.negated(term, asin, campaign, group if level == "ad_group" else "", match):
            what = "negative product target" if asin else f"{match} negative"
            return skip("already_exists", f"'{term}' is already a {what}")
        _negative(proposal, term, asin, match, level, campaign, group, evidence)
        if narrowed:
            proposal.notes.append(
                "level campaign: a manual campaign takes no campaign negative product targets, "
                "so at ad group level"
            )
        return [proposal]
    harvest = then.harvest
    assert harvest is not None
    kind: TargetKind = "product_target" if asin else "keyword"
    names = (row.get("campaign_name"), row.get("ad_group_name"))
    destination = looks.destinations.resolve(kind, harvest.ad_group, harvest.campaign, group, names)
    if isinstance(destination, str):
        return skip("no_destination", destination)
    into, shown = destination.ad_group_id, destination.shown
    if asin and (into, term.upper()) in looks.product_targets:
        return skip("already_exists", f"'{term.upper()}' is already a product target in {shown}")
    if not asin and (into, term.lower(), harvest.match_type) in looks.keywords:
        return skip(
            "already_exists", f"'{term}' is already a {harvest.match_type} keyword in {shown}"
        )
    blocking = ("negative_exact",) if asin else ("negative_exact", "negative_phrase")
    if any(looks.negated(term, asin, destination.campaign_id, into, m) for m in blocking):
        return skip(
            "negated_in_destination",
            f"'{term}' is negated in {shown} or its campaign: a new target would not serve",
        )
    raw = row.get("__new")
    if raw is None or not math.isfinite(raw):
        return skip("null_action", "harvest bid expression gave null")
    bounds = bounds_for("bid", settings.marketplace, settings.guardrails, rule.rule.limits)
    stepped = limit_step(None, raw, bounds, None, None, settings.marketplace.step)
    payload: dict[str, Any] = {"bid": stepped.value, "campaign_id": destination.campaign_id,
                               "ad_group_id": into}  # fmt: skip
    if asin:
        payload = {"asin": term.upper(), **payload}
    else:
        payload = {"keyword_text": term, "match_type": harvest.match_type, **payload}
    looks.destinations.claim(destination, kind)
    proposal.payload = payload
    proposal.campaign_id, proposal.ad_group_id = destination.campaign_id, into
    proposal.evidence = evidence
    proposal.notes = [f"rule bid {raw:.6g}", *stepped.notes, f"into {shown}"]
    if not harvest.negate_source:
        return [proposal]
    source = f"ad group '{row.get('ad_group_name') or group}'"
    return _graduated(rule, proposal, term, asin, destination, (campaign, group, source), looks)


def _negative(
    proposal: Proposal,
    term: str,
    asin: bool,
    match: str,
    level: str,
    campaign: str,
    group: str,
    evidence: dict[str, Any],
) -> None:
    """Complete ``proposal`` as a negative keyword or negative product target at ``level``."""
    where = group if level == "ad_group" else None
    if asin:
        proposal.payload = {"asin": term.upper(), "level": level, "campaign_id": campaign,
                            "ad_group_id": where}  # fmt: skip
        proposal.notes = [f"negate ASIN {term.upper()} (negative product target) at {level} level"]
    else:
        proposal.payload = {"keyword_text": term, "match_type": match, "level": level,
                            "campaign_id": campaign, "ad_group_id": where}  # fmt: skip
        proposal.notes = [f"negate '{term}' ({match}) at {level} level"]
    proposal.evidence = evidence


def _graduated(
    rule: LoadedRule,
    harvest: Proposal,
    term: str,
    asin: bool,
    destination: AdGroup,
    source: tuple[str, str, str],
    looks: CreationLookups,
) -> list[Proposal]:
    """The harvest and, as one change set, the negative that retires the term in its source
    (``source``: campaign id, ad group id, and the ad group as notes show it)."""
    campaign, group, shown = source
    then = rule.rule.then.harvest
    assert then is not None and then.negate_source
    match = f"negative_{then.negate_source}"
    if destination.ad_group_id == group:
        harvest.notes.append(
            "negate_source: the destination is the source ad group, not negated (a negative "
            "there would block the new target)"
        )
        return [harvest]
    if looks.negated(term, asin, campaign, group, match):
        harvest.notes.append(
            "negate_source: already negated in its source ad group; the harvest alone"
        )
        return [harvest]
    partner = replace(
        harvest,
        campaign_id=campaign,
        ad_group_id=group,
        field="negative_target" if asin else "negative_keyword",
        evidence=dict(harvest.evidence),
        notes=[],
    )
    _negative(partner, term, asin, match, "ad_group", campaign, group, partner.evidence)
    partner.notes.append(f"graduation: retires the term in its source {shown}")
    # One pair per search term (source target and term): two sources of one term are two pairs,
    # and the conflicts step keeps one of them whole.
    key = f"{rule.name}:{group}:{harvest.entity_id}"
    harvest.change_set = partner.change_set = key
    return [harvest, partner]
