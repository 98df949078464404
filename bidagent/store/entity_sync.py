"""Synced entities: writing what the Ads API lists for one profile, and archiving the rest.

:func:`write_entities` reads what the previous sync stored for the editable fields and returns
each difference (:mod:`bidagent.store.sync_differences`), upserts the profile and its listed
campaigns, ad groups, targets and negatives, then marks the stored rows the API no longer lists
as archived, all inside the caller's transaction. Rows are never deleted: the ledger and the facts still point at them. This module
must not call the API nor decide what counts as listed (sync drops orphans before it gets here).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Table, select, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, SQLModel

from bidagent.store.entities import ProfileRecord
from bidagent.store.sync_differences import FieldDifference, stored_differences
from bidagent.store.upsert import upsert_rows

__all__ = ["EntityWrite", "write_entities", "write_listed"]

log = structlog.get_logger(__name__)

_CHUNK = 500  # ids per UPDATE ... IN (...) statement, well under SQLite's variable limit


@dataclass(frozen=True)
class EntityWrite:
    """What one write of a sync did: rows archived, and the fields it found changed."""

    archived: int
    differences: list[FieldDifference]


def write_entities(
    session: Session,
    profile_id: str,
    profile: Mapping[str, Any],
    listed: Sequence[tuple[type[SQLModel], Sequence[Mapping[str, Any]]]],
    *,
    now: datetime,
) -> EntityWrite:
    """Compare the listed rows' editable fields with the stored ones, upsert ``profile`` and
    each table's listed rows, then archive the rows of ``profile_id`` each table holds but its
    list lacks; inside the caller's transaction (commit it with whatever the differences lead
    to, so an edit found is never lost between the write and its record)."""
    conn = session.connection()
    upsert_rows(conn, ProfileRecord, [profile])
    differences = write_listed(session, profile_id, listed)
    archived = sum(
        archive_missing(conn, model, profile_id, _keys(model, rows), now) for model, rows in listed
    )
    return EntityWrite(archived, differences)


def write_listed(
    session: Session,
    profile_id: str,
    listed: Sequence[tuple[type[SQLModel], Sequence[Mapping[str, Any]]]],
) -> list[FieldDifference]:
    """Upsert some listed rows of ``profile_id`` (archiving nothing: the list may be partial)
    and return how their editable fields differ from what was stored; caller's transaction."""
    conn = session.connection()
    differences = stored_differences(conn, profile_id, listed)
    for model, rows in listed:
        upsert_rows(conn, model, rows)  # an empty list writes nothing
    return differences


def _keys(model: type[SQLModel], rows: Sequence[Mapping[str, Any]]) -> set[tuple[str, ...]]:
    """The primary keys of ``rows``, in the table's key order."""
    names = [c.name for c in model.__table__.primary_key.columns]  # type: ignore[attr-defined]
    return {tuple(row[name] for name in names) for row in rows}


def archive_missing(
    conn: Connection,
    model: type[SQLModel],
    profile_id: str,
    seen: set[tuple[str, ...]],
    now: datetime,
) -> int:
    """Mark rows of ``profile_id`` whose key is not in ``seen`` as archived; return how many."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    keys = list(table.primary_key.columns)
    live = table.c.state != "archived"
    stored = conn.execute(select(*keys).where(table.c.profile_id == profile_id, live)).all()
    gone = [tuple(row) for row in stored if tuple(row) not in seen]
    archived = {"state": "archived", "synced_at": now}
    for chunk in _chunks(gone, _CHUNK):
        if len(keys) == 1:
            conn.execute(update(table).where(keys[0].in_([k[0] for k in chunk])).values(archived))
            continue
        # Composite keys (kind, id): one statement per kind keeps it a plain IN.
        by_kind: dict[str, list[str]] = {}
        for kind, entity_id in chunk:
            by_kind.setdefault(kind, []).append(entity_id)
        for kind, ids in by_kind.items():
            match = (keys[0] == kind) & keys[1].in_(ids)
            conn.execute(update(table).where(match).values(archived))
    if gone:
        log.info("entities_archived", table=table.name, profile_id=profile_id, count=len(gone))
    return len(gone)


def _chunks(items: list[tuple[Any, ...]], size: int) -> Iterable[list[tuple[Any, ...]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
