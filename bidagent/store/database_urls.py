"""Reading database URLs without connecting: the form fit to show (password masked) and the file
a SQLite URL names.

Owns the parsing of ``database.url`` for display and diagnostics, so the CLI never parses one
itself. It must not open a connection or create a file: diagnostics must not create the database
they report on.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

__all__ = ["shown_url", "sqlite_file"]

# ``scheme://user:password@``: what is masked when SQLAlchemy cannot parse the URL.
_USERINFO = re.compile(r"^([^:/@\s]+://[^:/@\s]*):[^@/\s]*@")


def shown_url(url: str) -> str:
    """``url`` with its password masked, also when SQLAlchemy cannot parse it."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return _USERINFO.sub(r"\1:***@", url)


def sqlite_file(url: str | URL) -> Path | None:
    """The file a SQLite ``url`` names; None for an in-memory database or another backend.

    An unparsable URL raises, as opening it would.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)
