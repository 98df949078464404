"""``POST /sp/<entity>/list``: filters, ``maxResults``, opaque ``nextToken``, ``totalResults``.

Owns list-request validation (unknown filters, too many ids, bad tokens answer 400 the way SP v3
does) and the SQL that pages through one profile's entities in a stable order. It must not write.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING, Any

import httpx

from bidagent.sandbox.entity_specs import EntitySpec, render_entity
from bidagent.sandbox.responses import ApiRequest, RequestRejected, json_response

if TYPE_CHECKING:
    from bidagent.sandbox.sandbox import Sandbox

__all__ = ["list_entities"]

DEFAULT_PAGE = 1000
MAX_PAGE = 5000
_STATES = {"ENABLED", "PAUSED", "ARCHIVED"}
_TARGETING_TYPES = {"AUTO", "MANUAL"}


def _include(name: str, value: Any, limit: int) -> list[str]:
    """The values of a ``{"include": [...]}`` filter (a plain array for match types)."""
    values = value.get("include") if isinstance(value, dict) else value
    if not isinstance(values, list) or not values:
        raise RequestRejected(400, f"{name} must have a non-empty include list")
    if len(values) > limit:
        raise RequestRejected(400, f"{name} accepts at most {limit} values, got {len(values)}")
    return [str(v) for v in values]


def _where(spec: EntitySpec, body: dict[str, Any]) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for name, value in body.items():
        if name in ("maxResults", "nextToken", "includeExtendedDataFields", "locale"):
            continue
        column = spec.filters.get(name)
        if column is None:
            raise RequestRejected(400, f"Unrecognized field '{name}' for {spec.key} list")
        if column == "campaign_targeting_type":
            # A bare enum, not an include list: ad groups of AUTO or MANUAL campaigns.
            if value not in _TARGETING_TYPES:
                raise RequestRejected(400, f"{name} must be AUTO or MANUAL, got {value!r}")
            clauses.append(
                "campaign_id IN (SELECT c.entity_id FROM entities c WHERE c.profile_id = "
                "entities.profile_id AND c.kind = 'campaign' AND "
                "coalesce(json_extract(c.data, '$.targetingType'), 'MANUAL') = ?)"
            )
            params.append(value)
            continue
        if column == "budget_allocation":
            # Checked but not applied: Amazon documents it as "not functional yet", and the
            # sandbox has no multi-marketplace campaigns for it to select.
            included = value.get("include") if isinstance(value, dict) else None
            if not isinstance(included, list) or len(included) > 2 or not set(included) <= _TARGETING_TYPES:  # fmt: skip
                raise RequestRejected(400, f"{name} must be {{include: [AUTO and/or MANUAL]}}")
            continue
        limit = 1000 if column == "entity_id" else 10 if name == "stateFilter" else 100
        values = _include(name, value, limit)
        if name == "stateFilter":
            bad = sorted({v.upper() for v in values} - _STATES)
            if bad:
                raise RequestRejected(
                    400, f"stateFilter: invalid values {bad}; use ENABLED, PAUSED or ARCHIVED"
                )
            values = [v.upper() for v in values]
        if column in ("name", "text"):
            # Only the first value is honoured, as Amazon documents.
            mode = value.get("queryTermMatchType", "BROAD_MATCH") if isinstance(value, dict) else ""
            if mode == "EXACT_MATCH":
                clauses.append(f"{column} = ?")
                params.append(values[0])
            else:
                clauses.append(f"instr(lower({column}), lower(?)) > 0")
                params.append(values[0])
            continue
        if column == "expression":
            clauses.append("(" + " OR ".join("instr(expression, ?) > 0" for _ in values) + ")")
            params.extend(json.dumps(v) for v in values)
            continue
        if column == "portfolio_id":
            clauses.append("0")  # the sandbox has no portfolios
            continue
        clauses.append(f"{column} IN ({', '.join('?' for _ in values)})")
        params.extend(values)
    return clauses, params


def _decode_token(token: Any, fingerprint: str) -> int:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(str(token).encode()))
        if decoded["f"] != fingerprint:
            raise ValueError("token from another query")
        return int(decoded["o"])
    except (ValueError, KeyError, TypeError):
        raise RequestRejected(
            400,
            "Invalid nextToken",
            errors=[
                {
                    "errorType": "invalidInputError",
                    "errorValue": {
                        "invalidInputError": {
                            "reason": "INVALID_TOKEN",
                            "message": "Invalid nextToken",
                        }
                    },
                }
            ],
        ) from None


def list_entities(sandbox: Sandbox, api: ApiRequest, spec: EntitySpec) -> httpx.Response:
    """Answer one list request for the profile in ``api.profile_id``."""
    body = api.json() or {}
    if not isinstance(body, dict):
        raise RequestRejected(400, "Request body must be a JSON object")
    max_results = body.get("maxResults", DEFAULT_PAGE)
    if not isinstance(max_results, int) or not 1 <= max_results <= MAX_PAGE:
        raise RequestRejected(400, f"maxResults must be an integer between 1 and {MAX_PAGE}")
    clauses, params = _where(spec, body)
    where = " AND ".join(["profile_id = ?", "kind = ?", *clauses])
    all_params = [api.profile_id, spec.kind, *params]
    fingerprint = hashlib.sha256(f"{spec.kind}|{where}|{json.dumps(params)}".encode()).hexdigest()[
        :16
    ]
    offset = _decode_token(body["nextToken"], fingerprint) if body.get("nextToken") else 0
    total = sandbox.store.query(f"SELECT COUNT(*) AS n FROM entities WHERE {where}", all_params)
    rows = sandbox.store.query(
        f"SELECT * FROM entities WHERE {where} ORDER BY seq LIMIT ? OFFSET ?",
        [*all_params, max_results, offset],
    )
    extended = bool(body.get("includeExtendedDataFields"))
    answer: dict[str, Any] = {
        spec.key: [render_entity(spec, row, extended=extended) for row in rows],
        "totalResults": total[0]["n"],
    }
    if offset + len(rows) < total[0]["n"]:
        token = json.dumps({"o": offset + len(rows), "f": fingerprint})
        answer["nextToken"] = base64.urlsafe_b64encode(token.encode()).decode()
    return json_response(200, answer, api.request_id, media_type=spec.media_type)
