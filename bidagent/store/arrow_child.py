"""The child process behind :class:`bidagent.store.columnar.FrameReader`'s large SQLite reads.

Reads a request (JSON in its one argument: the database as a read-only SQLite URI and a list of
queries with positional parameters), runs each query through the ADBC SQLite driver, which fills
Arrow buffers in C, and writes each result to stdout as a length-prefixed Arrow IPC stream. Any failure exits non-zero
with the reason on stderr; the parent then runs the same queries itself.

It runs as its own process on purpose: the ADBC driver carries its own copy of SQLite, and two
copies of SQLite in one process break each other's POSIX file locks (sqlite.org/howtocorrupt.html
§2.2.1). In a separate process it is an ordinary concurrent reader. It must not write.

    python -P bidagent/store/arrow_child.py '{"uri": "file:///data/bidagent.db?mode=ro",
                                              "queries": [...]}' > frames

It runs as a script, not as ``-m bidagent.store.arrow_child``: importing this package's store
would cost the child about a second, so it imports nothing from it.
"""

from __future__ import annotations

import io
import json
import struct
import sys
from typing import Any, BinaryIO

import polars as pl

__all__ = ["main", "parse_dates", "read_frames"]

# Large enough that the driver's type inference sees the whole result (results are kept whole
# anyway, so a large batch costs no extra memory).
_BATCH_ROWS = 1 << 22
_LENGTH = struct.Struct("<Q")


def _run(uri: str, queries: list[dict[str, Any]]) -> list[pl.DataFrame]:
    import adbc_driver_sqlite.dbapi as adbc_sqlite

    frames = []
    with adbc_sqlite.connect(uri) as connection:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout = 10000")
        for query in queries:
            with connection.cursor() as cursor:
                cursor.adbc_statement.set_options(
                    **{"adbc.sqlite.query.batch_rows": str(_BATCH_ROWS)}
                )
                cursor.execute(query["sql"], tuple(query["params"]) or None)
                frame = pl.DataFrame(cursor.fetch_arrow())
                # Only text is parsed: a column of nulls (or anything else) goes back as it is,
                # and the parent's schema check decides.
                dates = [c for c in query.get("dates", []) if frame.schema.get(c) == pl.Utf8]
                frames.append(frame.with_columns(parse_dates(dates)) if dates else frame)
        connection.rollback()
    return frames


def parse_dates(columns: list[str] | tuple[str, ...]) -> list[pl.Expr]:
    """ISO date text (SQLite's DATE, possibly with a time after it) as ``pl.Date``.

    The one parser for both readers, so a child's frame equals the parent's own read.
    """
    return [pl.col(c).cast(pl.Utf8).str.slice(0, 10).str.to_date("%Y-%m-%d") for c in columns]


def write_frames(frames: list[pl.DataFrame], out: BinaryIO) -> None:
    """Each frame as an 8-byte little-endian length, then its Arrow IPC stream.

    Compressed with zstd: daily facts (small integers, repeated ids and dates) shrink about a
    hundredfold, and on 800,000 fact rows zstd both writes and reads faster than LZ4 (35 ms and
    25 ms against 60 ms and 90 ms); the read is the part the parent waits for.
    """
    for frame in frames:
        buffer = io.BytesIO()
        frame.write_ipc_stream(buffer, compression="zstd")
        data = buffer.getvalue()
        out.write(_LENGTH.pack(len(data)))
        out.write(data)
    out.flush()


def read_frames(data: bytes) -> list[pl.DataFrame]:
    """The frames :func:`write_frames` wrote, in order."""
    frames, offset = [], 0
    while offset < len(data):
        (length,) = _LENGTH.unpack_from(data, offset)
        offset += _LENGTH.size
        frames.append(pl.read_ipc_stream(io.BytesIO(data[offset : offset + length])))
        offset += length
    return frames


def main() -> int:
    """Serve the request in ``argv[1]``; exit 0 with the frames on stdout, or 1 with the reason."""
    try:
        request = json.loads(sys.argv[1])
        frames = _run(request["uri"], request["queries"])
    except Exception as exc:  # reported to the parent, which reads the same rows itself
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    write_frames(frames, sys.stdout.buffer)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
