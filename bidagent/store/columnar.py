"""Read query results into typed polars frames, with large SQLite reads done by a child process.

A plan of a large profile reads millions of daily fact rows. Through the DB-API every value
becomes a Python object before polars copies it again, and that work holds the GIL: about two
seconds per million rows, on one core. :meth:`FrameReader.submit` hands such reads of a SQLite
file to a child process (:mod:`bidagent.store.arrow_child`) that reads through the ADBC SQLite
driver into Arrow buffers and sends them back as Arrow IPC, while this process reads the smaller
tables. On two cores that takes the fact read off the critical path.

The child is only an optimisation, never a second source of truth: if it cannot start, fails,
or returns columns that do not fit the declared schema (the driver infers column types from the
values), the same queries run here on the driver cursor. Every frame is cast to its declared
schema either way. PostgreSQL and in-memory SQLite always read here.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import structlog
from sqlalchemy.engine import Connection

from bidagent.store.arrow_child import parse_dates, read_frames

__all__ = ["FrameReader", "PendingFrames", "Query"]

log = structlog.get_logger(__name__)

_NAMED = re.compile(r":([a-z_]+)")
_NUMERIC = (pl.Int64, pl.Float64)
_CHILD_TIMEOUT_S = 600
_CHILD_SCRIPT = Path(__file__).with_name("arrow_child.py")


@dataclass(frozen=True)
class Query:
    """SQL with ``:name`` placeholders, its parameters, and the frame schema it must produce.

    ``dates`` names columns stored as ISO text (SQLite has no date type) that the frame holds as
    ``pl.Date``; a child parses them itself, so that work runs beside this process.
    """

    sql: str
    params: dict[str, Any]
    schema: dict[str, Any]
    dates: tuple[str, ...] = ()


class PendingFrames:
    """Frames being read by a child process; :meth:`result` waits for them (or reads them here)."""

    def __init__(self, reader: FrameReader, queries: list[Query], child: Any) -> None:
        self._reader, self._queries, self._child = reader, queries, child

    @property
    def in_child(self) -> bool:
        """Whether a child process is reading these frames."""
        return self._child is not None

    def result(self) -> list[pl.DataFrame]:
        """The frames in query order, each with exactly its declared schema."""
        frames = self._collect() if self._child is not None else None
        if frames is None:
            return [
                self._reader.frame(q.sql, q.params, q.schema, dates=q.dates) for q in self._queries
            ]
        return frames

    def _collect(self) -> list[pl.DataFrame] | None:
        child, self._child = self._child, None
        try:
            out, err = child.communicate(timeout=_CHILD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            _fell_back("the child read timed out")
            return None
        if child.returncode != 0:
            _fell_back(err.decode(errors="replace").strip()[-500:])
            return None
        try:
            raw = read_frames(out)
        except Exception as exc:  # a truncated or garbled stream: read the rows here instead
            _fell_back(f"unreadable child output: {exc}")
            return None
        if len(raw) != len(self._queries):
            _fell_back(f"child returned {len(raw)} frames for {len(self._queries)} queries")
            return None
        frames = []
        for frame, query in zip(raw, self._queries, strict=True):
            typed = _typed(frame, query.schema)
            if isinstance(typed, str):
                _fell_back(typed)
                return None
            frames.append(typed)
        return frames


class FrameReader:
    """Runs queries with ``:name`` placeholders and returns frames of a declared schema."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name

    def frame(
        self,
        sql: str,
        params: dict[str, Any],
        schema: dict[str, Any],
        *,
        dates: tuple[str, ...] = (),
    ) -> pl.DataFrame:
        """The rows of ``sql`` as a frame with exactly the columns and types of ``schema``.

        Columns in ``dates`` are read as text and parsed (see :class:`Query`).

        SQLAlchemy's result rows cost a Python object per row on top of the driver's tuple, and
        letting polars infer types costs a second pass: this reads on the driver's own cursor and
        uses the declared schema directly. Only a driver that hands back other types
        (PostgreSQL's NUMERIC as Decimal, dates as ``date``) takes the lenient path of inferring
        and then converting.
        """
        cursor = self.connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(self._paramstyle(sql), self._params(params))
            data = cursor.fetchall()
        finally:
            cursor.close()
        if not data:
            return pl.DataFrame(schema=schema)
        text_schema = {**schema, **dict.fromkeys(dates, pl.Utf8)}
        try:
            frame = pl.DataFrame(data, schema=text_schema, orient="row")
        except (TypeError, pl.exceptions.PolarsError):
            frame = pl.DataFrame(data, schema=list(schema), orient="row", strict=False)
            frame = frame.cast(text_schema, strict=False)  # type: ignore[arg-type]
        return frame.with_columns(parse_dates(dates)) if dates else frame

    def submit(self, queries: list[Query], *, in_child: bool = True) -> PendingFrames:
        """Start reading ``queries`` in a child process when the database is a SQLite file.

        ``in_child=False`` (or a database the child cannot open) reads them here, on
        :meth:`PendingFrames.result`. Callers pass ``False`` for reads too small to be worth a
        process start (about 0.2 s).
        """
        path = self._sqlite_file() if in_child else None
        child = _start_child(path, queries) if path is not None else None
        return PendingFrames(self, queries, child)

    def _sqlite_file(self) -> str | None:
        if self.dialect != "sqlite":
            return None
        database = self.connection.engine.url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        return database if Path(database).is_file() else None

    def _paramstyle(self, sql: str) -> str:
        # psycopg wants %(name)s; sqlite3 accepts :name as written.
        return _NAMED.sub(r"%(\1)s", sql) if self.dialect == "postgresql" else sql

    def _params(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.dialect == "sqlite":
            return {k: _sqlite_value(v) for k, v in params.items()}
        return params


def _sqlite_value(value: Any) -> Any:
    """Dates as SQLAlchemy stores them on SQLite: ISO text."""
    return value.isoformat() if isinstance(value, date) else value


def _start_child(path: str, queries: list[Query]) -> Any:
    request = {
        "uri": Path(path).resolve().as_uri() + "?mode=ro",
        "queries": [
            {
                "sql": _NAMED.sub("?", q.sql),
                "params": [_sqlite_value(q.params[name]) for name in _NAMED.findall(q.sql)],
                "dates": list(q.dates),
            }
            for q in queries
        ],
    }
    try:
        child = subprocess.Popen(  # noqa: S603 (our interpreter, our module, our request)
            # Run as a script (-P: without its folder on sys.path), so the child imports polars
            # and the driver only, not this package (about a second less per child).
            [sys.executable, "-P", str(_CHILD_SCRIPT), json.dumps(request)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except OSError as exc:
        _fell_back(f"cannot start the child reader: {exc}")
        return None
    return child


def _typed(frame: pl.DataFrame, schema: dict[str, Any]) -> pl.DataFrame | str:
    """``frame`` cast to ``schema`` by position, or why its values do not fit."""
    if frame.width != len(schema):
        return f"child returned {frame.width} columns for {len(schema)}"
    frame.columns = list(schema)
    for column, dtype in schema.items():
        # Text in a numeric column means the driver could not keep one type: never parse it.
        if dtype in _NUMERIC and frame.schema[column] == pl.Utf8:
            return f"column {column} came back as text"
    try:
        return frame.cast(schema)  # type: ignore[arg-type]
    except pl.exceptions.PolarsError as exc:
        return f"cannot cast the child's columns: {exc}"


def _fell_back(reason: str) -> None:
    log.warning("columnar_read_fell_back", reason=reason)
