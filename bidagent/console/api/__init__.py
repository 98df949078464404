"""The console's JSON API under ``/api/``: the same reads and decisions as the pages, for
scripts and chat buttons, signed in with a per-user API token (``Authorization: Bearer``) or a
session. Its OpenAPI document is ``/api/openapi.json``. :data:`ROUTERS` lists its routers.
"""

from __future__ import annotations

from fastapi import APIRouter

from bidagent.console.api import changes, cycles, me, overview, review, rules

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (
    me.router,
    review.router,
    changes.router,
    overview.router,
    rules.router,
    cycles.router,
)
