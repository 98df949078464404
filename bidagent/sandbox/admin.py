"""Admin endpoints under ``/_sandbox/``: clock, state, the write log, token expiry, reset.

Owns the test-and-demo surface of a running fake API (loopback tests cannot call the
:class:`~bidagent.sandbox.Sandbox` object directly). No auth: the server binds to loopback. It
must not be reachable under any Amazon path, and never faults.

* ``GET  /_sandbox/state``: clock, seed, scenario, profiles, entity counts, yesterday's spend
* ``GET  /_sandbox/writes``: the audit log of applied writes (``?since=<seq>`` for newer ones)
* ``GET  /_sandbox/entities/{kind}/{id}``: one stored entity row (``?profile=<id>``)
* ``POST /_sandbox/advance``: body ``{"days": 1, "hours": 0}``; answers the new clock
* ``POST /_sandbox/expire-tokens``: every access token issued so far answers 401 from now on
* ``POST /_sandbox/reset``: body ``{"seed": 7, "scenario": "steady"}`` (both optional)
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import httpx

from bidagent.errors import SandboxError

if TYPE_CHECKING:
    from bidagent.sandbox.sandbox import Sandbox

__all__ = ["handle_admin"]


def _answer(status: int, body: Any) -> httpx.Response:
    return httpx.Response(
        status,
        headers={"content-type": "application/json"},
        content=json.dumps(body, default=str).encode(),
    )


def handle_admin(sandbox: Sandbox, request: httpx.Request) -> httpx.Response:
    """Answer one ``/_sandbox/...`` request."""
    path = request.url.path.removeprefix("/_sandbox/")
    method = request.method.upper()
    try:
        body = json.loads(request.content or b"{}") if method == "POST" else {}
        if method == "GET" and path == "state":
            return _answer(200, sandbox.status())
        if method == "GET" and path == "writes":
            since = int(request.url.params.get("since", "0"))
            writes = [asdict(w) for w in sandbox.write_log() if w.seq > since]
            return _answer(200, {"writes": writes})
        if method == "GET" and path.startswith("entities/"):
            _, kind, entity_id = path.split("/", 2)
            profile = request.url.params.get("profile") or sandbox.profiles[0]
            rows = sandbox.store.query(
                "SELECT * FROM entities WHERE profile_id = ? AND kind = ? AND entity_id = ?",
                (profile, kind, entity_id),
            )
            if not rows:
                return _answer(404, {"error": f"no {kind} {entity_id} in profile {profile}"})
            return _answer(200, dict(rows[0]))
        if method == "POST" and path == "advance":
            now = sandbox.advance(
                days=float(body.get("days", 0)), hours=float(body.get("hours", 0))
            )
            return _answer(200, {"now": now.isoformat()})
        if method == "POST" and path == "expire-tokens":
            sandbox.expire_tokens()
            return _answer(200, {"expired": True})
        if method == "POST" and path == "reset":
            sandbox.reset(seed=body.get("seed"), scenario=body.get("scenario"))
            return _answer(200, {"now": sandbox.now.isoformat(), "profiles": sandbox.profiles})
    except (SandboxError, ValueError, TypeError) as exc:
        return _answer(400, {"error": str(exc)})
    return _answer(404, {"error": f"no admin endpoint {method} /_sandbox/{path}"})
