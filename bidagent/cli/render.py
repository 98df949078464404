"""Rendering for every listing command: rich tables on a terminal, ``json`` and ``csv`` for machines.

One function per output shape so every command formats the same way; JSON output is stable
(keys sorted as given by the caller, dates as ISO 8601, Decimals as strings).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = [
    "DetailFormat",
    "OutputFormat",
    "console",
    "err_console",
    "render_rows",
    "to_jsonable",
]


class OutputFormat(StrEnum):
    """How a listing command prints its rows."""

    table = "table"
    json = "json"
    csv = "csv"


class DetailFormat(StrEnum):
    """How a command that reports one thing (not a list) prints it: no CSV pretends to be one."""

    table = "table"
    json = "json"


console = Console()
err_console = Console(stderr=True)


def to_jsonable(value: Any) -> Any:
    """Convert the values our records hold into JSON-native ones, recursively."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Mapping | list):
        return json.dumps(to_jsonable(value), sort_keys=True)
    return str(to_jsonable(value))


def render_rows(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    fmt: OutputFormat,
    *,
    title: str | None = None,
) -> None:
    """Print ``rows`` as a table, a JSON array of objects, or CSV with a header line."""
    if fmt is OutputFormat.json:
        payload = [{c: to_jsonable(r.get(c)) for c in columns} for r in rows]
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return
    if fmt is OutputFormat.csv:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for r in rows:
            writer.writerow([_cell(r.get(c)) for c in columns])
        sys.stdout.write(buffer.getvalue())
        return
    table = Table(title=title, show_lines=False)
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*(_cell(r.get(c)) for c in columns))
    console.print(table)
