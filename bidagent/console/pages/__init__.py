"""The console's pages, one module each, and :data:`ROUTERS`, the order the app includes them.

``probes`` (``/healthz``, ``/metrics``: no sign-in), ``login`` (``/login``, ``/logout``),
``overview`` (``/``), ``kill_switch`` (``POST /kill-switch``), ``changes`` (``/changes``: the
change log), ``change`` (``/changes/{id}``: one change, and its revert), ``review``
(``/review``: the queue), ``review_item`` (``/review/{id}``: one item, partial approval),
``rules`` (``/rules``) and ``cycles`` (``/cycles``).
"""

from __future__ import annotations

from fastapi import APIRouter

from bidagent.console.pages import (
    change,
    changes,
    cycles,
    kill_switch,
    login,
    overview,
    probes,
    review,
    review_item,
    rules,
)

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (
    probes.router,
    login.router,
    overview.router,
    kill_switch.router,
    changes.router,
    change.router,
    rules.router,
    cycles.router,
    review.router,
    review_item.router,  # /review/list before /review/{id}
)
