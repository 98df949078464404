"""Where a harvested search term goes: the destination ad group a ``harvest`` rule names.

Owns the destination templates (``harvest.ad_group`` and ``harvest.campaign``: an id, an exact
name, or a ``*`` pattern with the placeholders ``{campaign}`` and ``{ad_group}``, the source's
names), checking them at load time (:func:`template_problem`), and resolving them against the
profile's ad groups (:class:`Destinations`). A destination is exactly one ad group of a
manual-targeting campaign, neither of them archived: Amazon takes keywords and product targets
only there. It must not build proposals nor look at search-term metrics.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

import polars as pl

__all__ = ["PLACEHOLDERS", "AdGroup", "Destinations", "template_problem"]

PLACEHOLDERS = ("campaign", "ad_group")
_SHOWN_IDS = 3  # ids named when several ad groups match


def _parts(template: str) -> list[tuple[str, str | None]]:
    """``(literal text, placeholder or None)`` pairs; ``ValueError`` naming what is wrong."""
    parts = []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        if name is not None and (name not in PLACEHOLDERS or spec or conversion):
            raise ValueError(
                f"unknown placeholder '{{{name}}}': use {{campaign}} or {{ad_group}} "
                "(write {{ and }} for literal braces)"
            )
        parts.append((literal, name))
    return parts


def template_problem(template: str) -> str | None:
    """Why ``template`` is not a valid destination template, or None."""
    try:
        _parts(template)
    except ValueError as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class _Pattern:
    """A template with the source's names filled in: exact text, or a ``*`` glob."""

    shown: str
    regex: re.Pattern[str] | None  # None: exact text

    @classmethod
    def of(cls, template: str, campaign: str, ad_group: str) -> _Pattern:
        values = {"campaign": campaign, "ad_group": ad_group}
        shown, regex, glob = [], [], False
        for literal, name in _parts(template):
            shown.append(literal)
            pieces = literal.split("*")
            glob = glob or len(pieces) > 1
            regex.append(".*".join(re.escape(p) for p in pieces))
            if name is not None:
                shown.append(values[name])
                regex.append(re.escape(values[name]))
        text = "".join(shown)
        return cls(text, re.compile("".join(regex), re.DOTALL) if glob else None)

    def matches(self, name: str | None, entity_id: str | None = None) -> bool:
        """Whether an entity of this name (or, for exact text, this id) matches."""
        if self.regex is None:
            return self.shown in (name, entity_id)
        return name is not None and self.regex.fullmatch(name) is not None


@dataclass(frozen=True)
class AdGroup:
    """An ad group as a destination sees it."""

    ad_group_id: str
    name: str | None
    campaign_id: str
    campaign_name: str | None
    manual: bool  # its campaign's targeting type is manual
    archived: bool  # the ad group or its campaign is archived


class Destinations:
    """The profile's ad groups, indexed once per evaluation, and the one question asked of them."""

    def __init__(self, ad_groups: pl.DataFrame) -> None:
        self.groups: list[AdGroup] = []
        self.by_id: dict[str, AdGroup] = {}
        self._by_name: dict[str, list[AdGroup]] = {}
        self._resolved: dict[tuple[_Pattern, _Pattern | None], AdGroup | str] = {}
        for r in ad_groups.iter_rows(named=True):
            group = AdGroup(
                r["entity_id"],
                r["ad_group_name"],
                r["campaign_id"] or "",
                r["campaign_name"],
                manual=r["targeting_type"] == "manual",
                archived="archived" in (r["state"], r["campaign_state"]),
            )
            self.groups.append(group)
            self.by_id.setdefault(group.ad_group_id, group)
            if group.name is not None:
                self._by_name.setdefault(group.name, []).append(group)

    def resolve(
        self,
        ad_group: str | None,
        campaign: str | None,
        source_group_id: str,
        source_group: str | None,
        source_campaign: str | None,
    ) -> AdGroup | str:
        """The destination ad group, or why there is none (a skip's detail).

        Without templates it is the source ad group; ``campaign`` alone means the ad group of the
        source's name in the campaigns it matches. An exact text matches an ad group's id or its
        whole name; a pattern matches names only.
        """
        if ad_group is None and campaign is None:
            return self._source(source_group_id)
        names = (source_campaign or "", source_group or "")
        group_pattern = _Pattern.of(ad_group or "{ad_group}", *names)
        campaign_pattern = _Pattern.of(campaign, *names) if campaign is not None else None
        key = (group_pattern, campaign_pattern)
        if key not in self._resolved:
            self._resolved[key] = self._matching(group_pattern, campaign_pattern)
        return self._resolved[key]

    def _source(self, source_group_id: str) -> AdGroup | str:
        source = self.by_id.get(source_group_id)
        if source is None:
            return f"source ad group {source_group_id} is not known"
        shown = source.name or source.ad_group_id
        if source.archived:
            return f"source ad group '{shown}' is archived"
        if not source.manual:
            return (
                f"source ad group '{shown}' is in an auto-targeting campaign: name a manual "
                "destination with harvest.ad_group"
            )
        return source

    def _matching(
        self, group_pattern: _Pattern, campaign_pattern: _Pattern | None
    ) -> AdGroup | str:
        where = group_pattern.shown
        if campaign_pattern is not None:
            where = f"{campaign_pattern.shown} / {where}"

        def usable(g: AdGroup) -> bool:
            return not g.archived and (
                campaign_pattern is None or campaign_pattern.matches(g.campaign_name, g.campaign_id)
            )

        by_id = self.by_id.get(group_pattern.shown) if group_pattern.regex is None else None
        if by_id is not None and usable(by_id):  # an id wins over an equal name
            found = [by_id]
        elif group_pattern.regex is not None:
            found = [g for g in self.groups if group_pattern.matches(g.name) and usable(g)]
        else:
            found = [g for g in self._by_name.get(group_pattern.shown, []) if usable(g)]
        manual = [g for g in found if g.manual]
        if len(manual) == 1:
            return manual[0]
        if manual:
            ids = ", ".join(sorted(g.ad_group_id for g in manual)[:_SHOWN_IDS])
            more = " ..." if len(manual) > _SHOWN_IDS else ""
            return f"{len(manual)} manual ad groups match '{where}' (ids {ids}{more}): name one"
        auto = f" ({len(found)} in auto-targeting campaigns)" if found else ""
        return f"no manual ad group matches '{where}'{auto}"
