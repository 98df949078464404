"""The review queue as people work it: filtered, sorted, paged and grouped listings of review
items, counted in SQL, and the per-status tallies of the changes each item holds.

Owns those read-only statements over ``review_items`` (and ``changes``, ``targets`` and
``campaigns`` for an item's campaign and the counts). Nothing here loads more items than one page:
the console's queue and ``bidagent review list`` stay fast with tens of thousands of open items.
It must not write and must not decide anything (:mod:`bidagent.agent.review` does); the finding
and locking statements of deciding are :mod:`bidagent.store.review_items`'.

An item's *campaign* is the campaign it is about: its entity when that is a campaign, else the
one campaign of the changes it holds (:data:`SEVERAL_CAMPAIGNS` when they span several), else the
synced target's campaign; None when none of these is known (an API or data problem).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from sqlalchemy import case, func, literal, or_
from sqlmodel import Session, col, select

from bidagent.store.entities import CampaignRecord, TargetRecord
from bidagent.store.ledger import ChangeRecord, ReviewItemRecord

__all__ = [
    "GROUPINGS",
    "SEVERAL_CAMPAIGNS",
    "SORTS",
    "Grouping",
    "ItemFilter",
    "ItemGroup",
    "QueueRow",
    "Sort",
    "campaign_names",
    "change_status_counts_by_item",
    "count_items",
    "group_items",
    "item_campaigns",
    "page_items",
]

SEVERAL_CAMPAIGNS = "*"
Sort = Literal["oldest", "newest", "severity", "last_seen"]
SORTS: tuple[Sort, ...] = get_args(Sort)
Grouping = Literal["kind", "rule", "campaign", "severity"]
GROUPINGS: tuple[Grouping, ...] = get_args(Grouping)
_CHUNK = 500  # ids per IN list: far under every driver's parameter limit


@dataclass(frozen=True)
class ItemFilter:
    """Which items a listing keeps: every filter given must match (None: any).

    ``campaign_id`` matches the item's campaign (see the module docstring; ``""`` matches items
    with none, :data:`SEVERAL_CAMPAIGNS` those spanning several); ``rule`` ``""`` matches items
    no rule raised; ``text`` is a case-insensitive
    substring of the summary, the entity's name or id, or the rule's name.
    """

    status: str | None = "open"
    kind: str | None = None
    severity: str | None = None
    rule: str | None = None
    profile_id: str | None = None
    campaign_id: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class QueueRow:
    """One listed item, its campaign and how many of its changes are in each status."""

    item: ReviewItemRecord
    campaign_id: str | None
    change_counts: dict[str, int]

    @property
    def change_count(self) -> int:
        """Every change attached to the item."""
        return sum(self.change_counts.values())


@dataclass(frozen=True)
class ItemGroup:
    """One group of a grouped listing: its key (None: items without one) and how many items."""

    key: str | None
    count: int


def _campaign_of_item() -> Any:
    """The SQL expression for an item's campaign (see the module docstring)."""
    item = ReviewItemRecord
    low = (
        select(func.min(ChangeRecord.campaign_id))
        .where(ChangeRecord.review_item_id == item.id)
        .scalar_subquery()
    )
    high = (
        select(func.max(ChangeRecord.campaign_id))
        .where(ChangeRecord.review_item_id == item.id)
        .scalar_subquery()
    )
    target = (
        select(TargetRecord.campaign_id)
        .where(TargetRecord.kind == item.entity_kind, TargetRecord.target_id == item.entity_id)
        .scalar_subquery()
    )
    return case(
        (col(item.entity_kind) == "campaign", col(item.entity_id)),
        (low.is_(None), target),
        (low == high, low),
        else_=literal(SEVERAL_CAMPAIGNS),
    )


def _conditions(where: ItemFilter, campaign: Any) -> list[Any]:
    item = ReviewItemRecord
    found: list[Any] = []
    for column, value in (
        (item.status, where.status),
        (item.kind, where.kind),
        (item.severity, where.severity),
        (item.profile_id, where.profile_id),
    ):
        if value is not None:
            found.append(column == value)
    if where.rule is not None:
        rule = col(item.rule_name)
        found.append(rule.is_(None) if where.rule == "" else rule == where.rule)
    if where.campaign_id is not None:
        found.append(
            campaign.is_(None) if where.campaign_id == "" else campaign == where.campaign_id
        )
    if where.text:
        escaped = where.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        found.append(
            or_(
                *(
                    col(column).ilike(pattern, escape="\\")
                    for column in (item.summary, item.entity_name, item.entity_id, item.rule_name)
                )
            )
        )
    return found


def _severity_rank() -> Any:
    return case(
        (col(ReviewItemRecord.severity) == "critical", 0),
        (col(ReviewItemRecord.severity) == "warning", 1),
        else_=2,
    )


def _order(sort: Sort) -> list[Any]:
    item_id = col(ReviewItemRecord.id)
    if sort == "newest":
        return [item_id.desc()]
    if sort == "severity":
        return [_severity_rank(), item_id]
    if sort == "last_seen":
        return [col(ReviewItemRecord.last_seen_at).desc(), item_id.desc()]
    return [item_id]


def count_items(session: Session, where: ItemFilter) -> int:
    """How many items match ``where``."""
    query = select(func.count()).select_from(ReviewItemRecord)
    conditions = _conditions(where, _campaign_of_item())
    return session.exec(query.where(*conditions) if conditions else query).one()


def page_items(
    session: Session, where: ItemFilter, *, sort: Sort = "oldest", offset: int = 0, limit: int
) -> list[QueueRow]:
    """Up to ``limit`` items matching ``where`` in ``sort`` order, skipping ``offset``, each with
    its campaign and its changes counted by status."""
    query = select(ReviewItemRecord)
    if conditions := _conditions(where, _campaign_of_item()):
        query = query.where(*conditions)
    query = query.order_by(*_order(sort)).offset(max(offset, 0)).limit(max(limit, 0))
    found = list(session.exec(query))
    ids = [item.id for item in found if item.id is not None]
    campaigns = item_campaigns(session, ids)
    counts = change_status_counts_by_item(session, ids)
    return [QueueRow(i, campaigns.get(i.id or 0), counts.get(i.id or 0, {})) for i in found]


def item_campaigns(session: Session, item_ids: Sequence[int]) -> dict[int, str | None]:
    """The campaign of each of ``item_ids`` that exists (see the module docstring)."""
    campaign = _campaign_of_item()
    found: dict[int, str | None] = {}
    ordered = sorted(set(item_ids))
    for start in range(0, len(ordered), _CHUNK):
        query = select(ReviewItemRecord.id, campaign).where(
            col(ReviewItemRecord.id).in_(ordered[start : start + _CHUNK])
        )
        found.update({item_id: value for item_id, value in session.exec(query) if item_id})
    return found


def group_items(session: Session, where: ItemFilter, by: Grouping) -> list[ItemGroup]:
    """The items matching ``where`` counted by ``by``, the largest group first (ties by key;
    severities from critical down)."""
    campaign = _campaign_of_item()
    key: Any = {
        "kind": col(ReviewItemRecord.kind),
        "rule": col(ReviewItemRecord.rule_name),
        "severity": col(ReviewItemRecord.severity),
        "campaign": campaign,
    }[by]
    keys = select(key.label("key")).select_from(ReviewItemRecord)
    if conditions := _conditions(where, campaign):
        keys = keys.where(*conditions)
    # Grouped over a subquery: PostgreSQL will not group by a correlated subquery directly.
    inner = keys.subquery()
    query = select(inner.c.key, func.count()).group_by(inner.c.key)
    rows = [ItemGroup(k, n) for k, n in session.exec(query)]
    if by == "severity":
        rank = {"critical": 0, "warning": 1, "info": 2}
        return sorted(rows, key=lambda g: (rank.get(g.key or "", 3), g.key or ""))
    return sorted(rows, key=lambda g: (-g.count, g.key is None, g.key or ""))


def change_status_counts_by_item(
    session: Session, item_ids: Sequence[int]
) -> dict[int, dict[str, int]]:
    """For each of ``item_ids``, how many of its changes are in each status (items holding none
    are absent)."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    ordered = sorted(set(item_ids))
    for start in range(0, len(ordered), _CHUNK):
        query = (
            select(ChangeRecord.review_item_id, ChangeRecord.status, func.count())
            .where(col(ChangeRecord.review_item_id).in_(ordered[start : start + _CHUNK]))
            .group_by(col(ChangeRecord.review_item_id), col(ChangeRecord.status))
        )
        for item_id, status, n in session.exec(query):
            if item_id is not None:
                counts[item_id][status] = n
    return dict(counts)


def campaign_names(session: Session, campaign_ids: Sequence[str]) -> dict[str, str]:
    """The synced name of each of ``campaign_ids`` that has one."""
    ids = sorted({c for c in campaign_ids if c and c != SEVERAL_CAMPAIGNS})
    names: dict[str, str] = {}
    for start in range(0, len(ids), _CHUNK):
        query = select(CampaignRecord.campaign_id, CampaignRecord.name).where(
            col(CampaignRecord.campaign_id).in_(ids[start : start + _CHUNK])
        )
        names.update({cid: name for cid, name in session.exec(query) if name})
    return names
