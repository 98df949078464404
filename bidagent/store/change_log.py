"""Reading the change ledger as a log: one change by id, the filtered listing behind
``bidagent changes`` and the console's change log (:class:`ChangeFilter`, paged by id with
the names of the campaign, ad group and target beside each row), and the changes applied within
a period (the daily digest).

Owns those read statements over ``changes`` (joined to the synced entities for their names)
only. It must not write a row or move a status (:mod:`bidagent.store.transitions` does) and must
not shape rows for display: the CLI and the console render.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from bidagent.store.entities import AdGroupRecord, CampaignRecord, TargetRecord
from bidagent.store.ledger import ChangeRecord

__all__ = [
    "ChangeFilter",
    "ChangeLogRow",
    "applied_between",
    "change_by_id",
    "change_facets",
    "change_log_row",
    "count_changes",
    "page_changes",
    "reverts_of",
]


@dataclass(frozen=True)
class ChangeFilter:
    """What a change-log listing keeps: every filter given must match (None: any).

    ``campaign_id`` and ``ad_group_id`` match the changes made under that campaign or ad group
    and those made to it; ``created_from``/``created_until`` bound ``created_at`` (``[from,
    until)``); ``updated_since``/``updated_until`` bound ``updated_at`` (``[since, until)``:
    ``bidagent changes --since/--until``); ``text``
    is a case-insensitive substring of the entity's name or id, the rule's name or the reason;
    ``review_item_id`` keeps the changes a review item holds, ``statuses`` those in any of them.
    """

    profile_id: str | None = None
    campaign_id: str | None = None
    ad_group_id: str | None = None
    entity_id: str | None = None
    rule: str | None = None
    field: str | None = None
    status: str | None = None
    actor: str | None = None
    cycle_id: int | None = None
    created_from: datetime | None = None
    created_until: datetime | None = None
    updated_since: datetime | None = None
    updated_until: datetime | None = None
    text: str | None = None
    review_item_id: int | None = None
    statuses: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ChangeLogRow:
    """One change with the synced names of what it touched (None where not synced)."""

    change: ChangeRecord
    campaign_name: str | None
    ad_group_name: str | None
    keyword_text: str | None
    targeting: str | None
    match_type: str | None


def _conditions(where: ChangeFilter) -> list[Any]:
    c = ChangeRecord
    found: list[Any] = []
    for column, value in (
        (c.profile_id, where.profile_id),
        (c.entity_id, where.entity_id),
        (c.rule_name, where.rule),
        (c.field, where.field),
        (c.status, where.status),
        (c.actor, where.actor),
        (c.cycle_id, where.cycle_id),
        (c.review_item_id, where.review_item_id),
    ):
        if value is not None:
            found.append(column == value)
    if where.statuses is not None:
        found.append(col(c.status).in_(where.statuses))
    for kind, column, value in (
        ("campaign", c.campaign_id, where.campaign_id),
        ("ad_group", c.ad_group_id, where.ad_group_id),
    ):
        if value is not None:
            found.append(
                or_(
                    col(column) == value,
                    and_(col(c.entity_kind) == kind, col(c.entity_id) == value),
                )
            )
    if where.created_from is not None:
        found.append(col(c.created_at) >= where.created_from)
    if where.created_until is not None:
        found.append(col(c.created_at) < where.created_until)
    if where.updated_since is not None:
        found.append(col(c.updated_at) >= where.updated_since)
    if where.updated_until is not None:
        found.append(col(c.updated_at) < where.updated_until)
    if where.text:
        pattern = (
            "%" + where.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        found.append(
            or_(
                *(
                    col(column).ilike(pattern, escape="\\")
                    for column in (c.entity_name, c.entity_id, c.rule_name, c.reason)
                )
            )
        )
    return found


def count_changes(session: Session, where: ChangeFilter, *, from_id: int | None = None) -> int:
    """How many changes match ``where`` (with ``from_id``: only those with an id at or above
    it, which is how many come before a page that starts there, newest first)."""
    query = select(func.count()).select_from(ChangeRecord)
    conditions = _conditions(where)
    if from_id is not None:
        conditions.append(col(ChangeRecord.id) >= from_id)
    return session.exec(query.where(*conditions) if conditions else query).one()


def page_changes(
    session: Session, where: ChangeFilter, *, before_id: int | None, limit: int
) -> list[ChangeLogRow]:
    """Up to ``limit`` changes matching ``where``, newest (highest id) first, below ``before_id``
    when given: keyset paging, as fast on the last page of a million rows as on the first."""
    query = (
        select_columns(
            ChangeRecord,
            col(CampaignRecord.name),
            col(AdGroupRecord.name),
            col(TargetRecord.keyword_text),
            col(TargetRecord.targeting),
            col(TargetRecord.match_type),
        )
        .outerjoin(CampaignRecord, col(CampaignRecord.campaign_id) == ChangeRecord.campaign_id)
        .outerjoin(AdGroupRecord, col(AdGroupRecord.ad_group_id) == ChangeRecord.ad_group_id)
        .outerjoin(
            TargetRecord,
            and_(
                col(TargetRecord.kind) == ChangeRecord.entity_kind,
                col(TargetRecord.target_id) == ChangeRecord.entity_id,
            ),
        )
    )
    conditions = _conditions(where)
    if before_id is not None:
        conditions.append(col(ChangeRecord.id) < before_id)
    if conditions:
        query = query.where(*conditions)
    rows = session.execute(query.order_by(col(ChangeRecord.id).desc()).limit(limit))
    return [ChangeLogRow(*row) for row in rows]


def change_log_row(session: Session, change_id: int) -> ChangeLogRow | None:
    """The change with ``change_id`` and its names, or None."""
    rows = page_changes(session, ChangeFilter(), before_id=change_id + 1, limit=1)
    return rows[0] if rows and rows[0].change.id == change_id else None


def change_by_id(session: Session, change_id: int) -> ChangeRecord | None:
    """The change with ``change_id``, or None."""
    return session.get(ChangeRecord, change_id)


def change_facets(session: Session) -> tuple[list[str], list[str], list[str]]:
    """The rule names, fields and actors the ledger holds, each sorted: a filter's choices."""
    found = []
    for column in (ChangeRecord.rule_name, ChangeRecord.field, ChangeRecord.actor):
        rows = session.exec(select(column).where(col(column).is_not(None)).distinct())
        found.append(sorted(str(value) for value in rows))
    return found[0], found[1], found[2]


def reverts_of(session: Session, change_id: int) -> list[ChangeRecord]:
    """The changes written to revert ``change_id``, oldest first."""
    query = select(ChangeRecord).where(ChangeRecord.reverts_change_id == change_id)
    return list(session.exec(query.order_by(col(ChangeRecord.id))))


def applied_between(session: Session, since: datetime, until: datetime) -> list[ChangeRecord]:
    """Changes applied (``finished_at``) in ``[since, until)``."""
    query = select(ChangeRecord).where(
        ChangeRecord.status == "applied",
        col(ChangeRecord.finished_at) >= since,
        col(ChangeRecord.finished_at) < until,
    )
    return list(session.exec(query))
