"""Negate and harvest: proposals that create a negative keyword or a keyword from a search term.

Owns where the new keyword goes (source ad group, a named ad group, or the campaign for negatives), its
payload, and skipping terms already negated or already present as keywords (:class:`CreationLookups`,
built once per evaluation). :mod:`bidagent.engine.actions` calls it for negate and harvest rows and
collects what it returns; it must not import ``actions``, nor decide conflicts or modes.
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any

from bidagent.engine.inputs import EngineInputs, EngineSettings
from bidagent.engine.money import bounds_for, limit_step
from bidagent.engine.plan import Proposal, Skip
from bidagent.engine.ruleset import LoadedRule

__all__ = ["CreationLookups", "creation"]


class CreationLookups:
    """What already exists, for one evaluation: built from its frames on first use, then kept.

    Made once per evaluation (by :func:`bidagent.engine.evaluate.evaluate`) and handed to every
    rule; a rule set without negate or harvest rules never builds the sets.
    """

    def __init__(self, inputs: EngineInputs) -> None:
        self._inputs = inputs

    @cached_property
    def negatives(self) -> set[tuple[str, str, str, str]]:
        """(campaign, ad group or "" for campaign level, lowercased text, match type)."""
        return {
            (
                r["campaign_id"] or "",
                r["ad_group_id"] or "",
                (r["keyword_text"] or "").lower(),
                r["match_type"],
            )
            for r in self._inputs.negatives.iter_rows(named=True)
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
    def ad_groups(self) -> dict[str, tuple[str, str]]:
        """Ad group id or name -> (ad group id, campaign id); an id wins over an equal name."""
        groups: dict[str, tuple[str, str]] = {}
        for r in self._inputs.ad_groups.iter_rows(named=True):
            groups.setdefault(r["entity_id"], (r["entity_id"], r["campaign_id"]))
            if r["ad_group_name"]:
                groups.setdefault(r["ad_group_name"], (r["entity_id"], r["campaign_id"]))
        return groups


def creation(
    rule: LoadedRule,
    row: dict[str, Any],
    evidence: dict[str, Any],
    settings: EngineSettings,
    looks: CreationLookups,
    proposal: Proposal,
) -> Proposal | Skip:
    """``proposal`` completed as a negative keyword or keyword for one search term row, or a skip."""
    term = (row.get("entity_name") or "").strip()
    campaign, group = row.get("campaign_id") or "", row.get("ad_group_id") or ""
    then = rule.rule.then

    def skip(reason: str, detail: str) -> Skip:
        return Skip(rule.name, reason, detail, row["entity_kind"], row["entity_id"], proposal.field)

    if not term:
        return skip("null_action", "empty search term")
    if then.negate is not None:
        match = f"negative_{then.negate}"
        level = then.level or "ad_group"
        where = group if level == "ad_group" else ""
        existing = {(campaign, where, term.lower(), match), (campaign, "", term.lower(), match)}
        if existing & looks.negatives:
            return skip("already_exists", f"'{term}' is already a {match} negative")
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
            return skip("null_action", f"no ad group named '{harvest.ad_group}'")
        group, campaign = looks.ad_groups[harvest.ad_group]
    if (group, term.lower(), harvest.match_type) in looks.keywords:
        return skip(
            "already_exists",
            f"'{term}' is already a {harvest.match_type} keyword in ad group {group}",
        )
    raw = row.get("__new")
    if raw is None or not math.isfinite(raw):
        return skip("null_action", "harvest bid expression gave null")
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
