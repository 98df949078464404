"""``/healthz`` and ``/metrics``: unauthenticated, as load balancers and Prometheus call them.

``/healthz`` answers the agent's health check (:func:`bidagent.agent.service.health.check_health`:
200 with the reason when healthy, 503 otherwise); ``/metrics`` the Prometheus exposition of
:mod:`bidagent.console.metrics`. Neither says more than the agent's counts; both must stay
read-only.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bidagent.console.deps import console_state
from bidagent.console.metrics import metrics_registry

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
def healthz(request: Request) -> PlainTextResponse:
    """The health check's verdict and reason."""
    ok, reason = console_state(request).health()
    return PlainTextResponse(reason + "\n", status_code=200 if ok else 503)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Every bidagent series in Prometheus text format."""
    state = console_state(request)
    registry = getattr(request.app.state, "metrics_registry", None)
    if registry is None:
        registry = request.app.state.metrics_registry = metrics_registry(state.engine, state.clock)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
