"""Where a harvested search term goes: the destination ad group a ``harvest`` rule names.

Owns the destination templates (``harvest.ad_group`` and ``harvest.campaign``: an id, an exact
name, or a ``*`` pattern with the placeholders ``{campaign}`` and ``{ad_group}``, the source's
names), checking them at load time (:func:`template_problem`), and resolving them against the
profile's ad groups (:class:`Destinations`). A destination is exactly one ad group of a
manual-targeting campaign, neither of them archived, that does not hold the other kind of target
(keywords or product targets): Amazon takes a new keyword or product target only there. It must
not build proposals nor look at search-term metrics.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

import polars as pl

from bidagent.vocabulary import TargetKind

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


_WHAT = {"keyword": "keywords", "product_target": "product targets"}


@dataclass(frozen=True)
class AdGroup:
    """An ad group as a destination sees it."""

    ad_group_id: str
    name: str | None
    campaign_id: str
    campaign_name: str | None
    manual: bool  # its campaign's targeting type is manual
    archived: bool  # the ad group or its campaign is archived

    @property
    def shown(self) -> str:
        """The ad group as a skip's detail names it."""
        return f"ad group '{self.name or self.ad_group_id}'"


class Destinations:
    """The profile's ad groups, indexed once per evaluation, and the one question asked of them.

    An ad group holds keywords or product targets, never both (Amazon refuses the other kind once
    it has one, archived ones included): :attr:`holds` is what each already has, and
    :meth:`claim` records what this evaluation is about to add to an empty one.
    """

    def __init__(self, ad_groups: pl.DataFrame, targets: pl.DataFrame) -> None:
        self.groups: list[AdGroup] = []
        self.by_id: dict[str, AdGroup] = {}
        self._by_name: dict[str, list[AdGroup]] = {}
        self._resolved: dict[tuple[_Pattern, _Pattern | None, str], AdGroup | str] = {}
        self.holds: dict[str, set[str]] = {}
        for group_id, kind in targets.select("ad_group_id", "entity_kind").unique().iter_rows():
            if kind in _WHAT and group_id is not None:
                self.holds.setdefault(group_id, set()).add(kind)
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

    def claim(self, group: AdGroup, kind: TargetKind) -> None:
        """This evaluation adds a ``kind`` to ``group``: from now on it takes no other kind."""
        if not self.holds.get(group.ad_group_id):
            self.holds[group.ad_group_id] = {kind}
            self._resolved.clear()  # a cached destination may no longer take its kind

    def _other(self, group: AdGroup, kind: TargetKind) -> str | None:
        """What ``group`` holds when that keeps it from taking a ``kind``, else None."""
        others = sorted(self.holds.get(group.ad_group_id, set()) - {kind})
        return " and ".join(_WHAT[k] for k in others) or None

    def resolve(
        self,
        kind: TargetKind,
        ad_group: str | None,
        campaign: str | None,
        source_group_id: str,
        names: tuple[str | None, str | None],
    ) -> AdGroup | str:
        """The destination ad group for a new ``kind``, or why there is none (a skip's detail).

        ``names`` are the source's campaign and ad group names. Without templates the
        destination is the source ad group; ``campaign`` alone means the ad group of the source's
        name in the campaigns it matches. An exact text matches an ad group's id or its whole
        name; a pattern matches names only.
        """
        if ad_group is None and campaign is None:
            return self._source(kind, source_group_id)
        values = (names[0] or "", names[1] or "")
        group_pattern = _Pattern.of(ad_group or "{ad_group}", *values)
        campaign_pattern = _Pattern.of(campaign, *values) if campaign is not None else None
        key = (group_pattern, campaign_pattern, kind)
        if key not in self._resolved:
            self._resolved[key] = self._matching(kind, group_pattern, campaign_pattern)
        return self._resolved[key]

    def _source(self, kind: TargetKind, source_group_id: str) -> AdGroup | str:
        source = self.by_id.get(source_group_id)
        if source is None:
            return f"source ad group {source_group_id} is not known"
        if source.archived:
            return f"source {source.shown} is archived"
        if not source.manual:
            return (
                f"source {source.shown} is in an auto-targeting campaign: name a manual "
                "destination with harvest.ad_group"
            )
        other = self._other(source, kind)
        if other is not None:
            return (
                f"source {source.shown} holds {other}: name a destination for {_WHAT[kind]} with "
                "harvest.ad_group (an ad group holds keywords or product targets, not both)"
            )
        return source

    def _matching(
        self, kind: TargetKind, group_pattern: _Pattern, campaign_pattern: _Pattern | None
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
        fit = [g for g in manual if self._other(g, kind) is None]
        if len(fit) == 1:
            return fit[0]
        if fit:
            ids = ", ".join(sorted(g.ad_group_id for g in fit)[:_SHOWN_IDS])
            more = " ..." if len(fit) > _SHOWN_IDS else ""
            return f"{len(fit)} manual ad groups match '{where}' (ids {ids}{more}): name one"
        if manual:
            others = sorted({self._other(g, kind) or "" for g in manual})
            return (
                f"no manual ad group matching '{where}' can take {_WHAT[kind]}: "
                f"{' and '.join(others)} there already (an ad group holds keywords or product "
                "targets, not both)"
            )
        auto = f" ({len(found)} in auto-targeting campaigns)" if found else ""
        return f"no manual ad group matches '{where}'{auto}"
