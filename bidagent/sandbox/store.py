"""The sandbox's own SQLite file: schema, connection, clock/meta values and bulk row access.

Owns durability: every mutating request commits before it answers, so an acknowledged change
survives the agent process being killed a moment later. WAL mode lets the CLI read while a server
writes. It must not share tables with bidagent's database (it is a separate file) and must not
contain simulation or HTTP logic; callers hold :attr:`SandboxStore.lock` around a request.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from bidagent.errors import SandboxError

__all__ = ["ENTITY_COLUMNS", "SandboxStore"]

ENTITY_COLUMNS = (
    "profile_id",
    "kind",
    "entity_id",
    "campaign_id",
    "ad_group_id",
    "state",
    "bid",
    "budget",
    "name",
    "text",
    "match_type",
    "expression",
    "expression_type",
    "data",
    "sim_key",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS profiles (
  profile_id TEXT PRIMARY KEY, country TEXT NOT NULL, name TEXT NOT NULL, seller_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entities (
  profile_id TEXT NOT NULL, kind TEXT NOT NULL, entity_id TEXT NOT NULL,
  campaign_id TEXT, ad_group_id TEXT, state TEXT NOT NULL, bid REAL, budget REAL, name TEXT,
  text TEXT, match_type TEXT, expression TEXT, expression_type TEXT, data TEXT NOT NULL,
  sim_key INTEGER, seq INTEGER NOT NULL,
  PRIMARY KEY (profile_id, kind, entity_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entities_seq ON entities (profile_id, kind, seq);
CREATE INDEX IF NOT EXISTS entities_ad_group ON entities (profile_id, ad_group_id);
CREATE TABLE IF NOT EXISTS truths (
  sim_key INTEGER PRIMARY KEY, profile_id TEXT NOT NULL, kind TEXT NOT NULL,
  entity_id TEXT NOT NULL, volume REAL NOT NULL, ctr REAL NOT NULL, cvr REAL NOT NULL,
  comp_bid REAL NOT NULL, price REAL NOT NULL, margin REAL NOT NULL,
  weekly_amp REAL NOT NULL, weekly_peak REAL NOT NULL);
CREATE TABLE IF NOT EXISTS terms (
  sim_key INTEGER NOT NULL, term TEXT NOT NULL, weight REAL NOT NULL, cvr_mult REAL NOT NULL,
  PRIMARY KEY (sim_key, term)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS facts (
  sim_key INTEGER NOT NULL, day INTEGER NOT NULL, impressions INTEGER NOT NULL,
  clicks INTEGER NOT NULL, cost REAL NOT NULL, orders INTEGER NOT NULL, bid REAL NOT NULL,
  PRIMARY KEY (day, sim_key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS writes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, request_id TEXT NOT NULL,
  profile_id TEXT NOT NULL, kind TEXT NOT NULL, entity_id TEXT NOT NULL, field TEXT NOT NULL,
  old TEXT, new TEXT);
CREATE TABLE IF NOT EXISTS reports (
  report_id TEXT PRIMARY KEY, profile_id TEXT NOT NULL, status TEXT NOT NULL,
  body TEXT NOT NULL, dedup_key TEXT NOT NULL, polls INTEGER NOT NULL, outcome TEXT NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, generated_at TEXT, failure_reason TEXT,
  file BLOB, file_size INTEGER);
"""
_TABLES = ("meta", "profiles", "entities", "truths", "terms", "facts", "writes", "reports")


class SandboxStore:
    """One connection to the sandbox state file, shared by the threads of one process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=30.0
            )
            self.conn.execute("PRAGMA journal_mode=WAL")
            # FULL: an acknowledged write must survive a power cut, not only a process kill.
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise SandboxError(f"{path}: not a sandbox state file ({exc})") from exc

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self.lock:
            self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One committed unit of work; rolled back whole on error."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def wipe(self) -> None:
        """Delete every row (a reset); the schema stays."""
        with self.transaction() as conn:
            for table in _TABLES:
                conn.execute(f"DELETE FROM {table}")

    def get_meta(self, key: str) -> str | None:
        """One meta value, or ``None``."""
        with self.lock:
            row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, conn: sqlite3.Connection, values: dict[str, str]) -> None:
        """Write meta values inside the caller's transaction."""
        conn.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            list(values.items()),
        )

    def insert_entities(self, conn: sqlite3.Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Insert entity rows (dicts with :data:`ENTITY_COLUMNS`), numbering them in order."""
        start = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM entities").fetchone()[0]
        names = (*ENTITY_COLUMNS, "seq")
        placeholders = ", ".join("?" for _ in names)
        conn.executemany(
            f"INSERT INTO entities ({', '.join(names)}) VALUES ({placeholders})",
            [(*(row[c] for c in ENTITY_COLUMNS), start + i + 1) for i, row in enumerate(rows)],
        )

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Rows of a read query, as ``sqlite3.Row`` (indexable by name)."""
        with self.lock:
            cursor = self.conn.execute(sql, params)
            cursor.row_factory = sqlite3.Row
            return list(cursor.fetchall())

    def frame(
        self, sql: str, params: Sequence[Any] = (), schema: dict[str, Any] | None = None
    ) -> pl.DataFrame:
        """A read query as a polars frame (column names from the query)."""
        with self.lock:
            cursor = self.conn.execute(sql, params)
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        if schema is None:
            return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)
        return pl.DataFrame(rows, schema={n: schema[n] for n in names}, orient="row")

    def insert_rows(
        self,
        conn: sqlite3.Connection,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
    ) -> None:
        """Bulk insert plain tuples into ``table``."""
        placeholders = ", ".join("?" for _ in columns)
        conn.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", rows
        )

    def add_facts(self, conn: sqlite3.Connection, facts: pl.DataFrame) -> None:
        """Add simulated activity to the daily facts (segments of one day accumulate)."""
        conn.executemany(
            "INSERT INTO facts (sim_key, day, impressions, clicks, cost, orders, bid) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (day, sim_key) DO UPDATE SET "
            "impressions = impressions + excluded.impressions, "
            "clicks = clicks + excluded.clicks, cost = round(cost + excluded.cost, 2), "
            "orders = orders + excluded.orders, bid = excluded.bid",
            facts.select(
                "sim_key", "day", "impressions", "clicks", "cost", "orders", "bid"
            ).iter_rows(),
        )

    def log_write(
        self,
        conn: sqlite3.Connection,
        *,
        at: str,
        request_id: str,
        profile_id: str,
        kind: str,
        entity_id: str,
        field: str,
        old: Any,
        new: Any,
    ) -> None:
        """Record one applied change in the audit log (values as JSON text)."""
        conn.execute(
            "INSERT INTO writes (at, request_id, profile_id, kind, entity_id, field, old, new) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                at,
                request_id,
                profile_id,
                kind,
                entity_id,
                field,
                None if old is None else json.dumps(old),
                None if new is None else json.dumps(new),
            ),
        )
