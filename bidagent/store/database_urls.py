"""Reading database URLs without connecting: the form fit to show (password masked) and the file
a SQLite URL names.

Owns the parsing of ``database.url`` for display and diagnostics, so the CLI never parses one
itself. It must not open a connection or create a file: diagnostics must not create the database
they report on.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

__all__ = ["shown_url", "sqlite_file"]


def shown_url(url: str) -> str:
    """``url`` with its password masked; an unparsable URL comes back as given (it holds no
    password we could find)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite ``url`` names; None for an in-memory database or another backend.

    An unparsable URL raises, as opening it would.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)
