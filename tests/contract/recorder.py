"""A recording httpx transport that holds every Ads API exchange to Amazon's published specs.

Wrapped around the sandbox's in-process transport (``Sandbox.transport``) by the autouse
fixture in ``tests/conftest.py``, so the client, sandbox and agent suites all pass through it.
For each exchange with an Ads API host it checks, against the vendored OpenAPI files in
``specs/`` (see :mod:`contract.openapi_schema` for why ``jsonschema``):

- the operation exists (method + path template);
- the required headers are sent (the spec's required header parameters, and ``Authorization``
  where the operation has security);
- the request media type is one the operation accepts, ``Accept`` names one it answers with,
  and the body validates against the request schema (closed objects, enums);
- the status is documented for the operation, the response media type is the one documented
  for that status, and the body validates against its schema.

A request the spec refuses must be refused: if the sandbox answers it with a 2xx, that is a
finding (the sandbox kinder than Amazon). Requests that break the spec are findings too, unless
the test deliberately sends them to the fake API (the sandbox suite's raw httpx calls), in which
case only a refusal is acceptable. Where the spec and Amazon's guide disagree the guide wins,
through the commented entries in :mod:`contract.allowances`.

LwA token calls, the presigned report download and the sandbox's admin paths are not in the
specs and are passed through unchecked.
"""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx

from bidagent.sandbox.api import DOWNLOAD_PATH, FAULT_HEADER
from contract import allowances
from contract.openapi_schema import SPEC_FILES, load_spec, validator

_API_HOST = re.compile(r"^advertising-api(-eu|-fe)?\.amazon\.com$")
_METHODS = ("get", "put", "post", "delete", "patch")


@dataclass(frozen=True)
class Operation:
    """One documented operation."""

    spec: str
    method: str
    template: str
    pattern: re.Pattern[str]
    body: dict[str, Any]
    secured: bool

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"


@cache
def operations() -> tuple[Operation, ...]:
    """Every operation of the three specs, literal paths before templated ones."""
    found = []
    for spec in SPEC_FILES:
        document = load_spec(spec)
        for template, ops in document["paths"].items():
            regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            for method in _METHODS:
                if method in ops:
                    op = ops[method]
                    secured = bool(op.get("security", document.get("security")))
                    found.append(
                        Operation(
                            spec, method.upper(), template, re.compile(f"^{regex}$"), op, secured
                        )
                    )
    return tuple(sorted(found, key=lambda o: o.template.count("{")))


def find_operation(method: str, path: str) -> Operation | None:
    """The documented operation for a request, or ``None``."""
    return next((o for o in operations() if o.method == method and o.pattern.match(path)), None)


def _media(value: str | None) -> str:
    return (value or "").split(";")[0].strip()


def _count_fields(value: Any) -> int:
    if isinstance(value, dict):
        return len(value) + sum(_count_fields(v) for v in value.values())
    if isinstance(value, list):
        return sum(_count_fields(v) for v in value)
    return 0


@dataclass
class ContractLedger:
    """What the session checked, and what broke the contract (per test)."""

    operations: Counter[str] = field(default_factory=Counter)
    exchanges: int = 0
    fields: int = 0
    allowances_used: Counter[str] = field(default_factory=Counter)
    findings: list[str] = field(default_factory=list)


LEDGER = ContractLedger()


def _schema_errors(spec: str, schema: dict[str, Any], body: Any, where: str) -> list[str]:
    errors = sorted(validator(spec, schema).iter_errors(body), key=lambda e: list(e.absolute_path))
    return [
        f"{where} {'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message[:300]}"
        for e in errors[:5]
    ]


def _json(content: bytes) -> tuple[bool, Any]:
    if not content:
        return True, None
    try:
        return True, json.loads(content)
    except ValueError:
        return False, None


def check_request(op: Operation, request: httpx.Request) -> list[str]:
    """Where a request breaks the spec (headers, media types, body)."""
    problems = []
    for param in op.body.get("parameters", []):
        if (
            param.get("in") == "header"
            and param.get("required")
            and param["name"] not in request.headers
        ):
            problems.append(f"required header {param['name']} missing")
    if op.secured and "authorization" not in request.headers:
        problems.append("Authorization header missing")
    answers = {m for r in op.body["responses"].values() for m in r.get("content", {})}
    accept = request.headers.get("accept")
    if accept and accept != "*/*":
        unknown = [m for m in (_media(a) for a in accept.split(",")) if m not in answers]
        if unknown and not allowances.accept_allowed(op.key, unknown):
            problems.append(f"Accept {unknown} is not a documented response type {sorted(answers)}")
    request_body = op.body.get("requestBody")
    if request_body is None:
        if request.content:
            problems.append("a body on an operation without a request body")
        return problems
    media = _media(request.headers.get("content-type"))
    content = request_body.get("content", {})
    schema_media = media if media in content else allowances.request_media(op.key, media)
    if schema_media is None:
        problems.append(f"request media type {media!r} not in {sorted(content)}")
        return problems
    ok, body = _json(request.content)
    if not ok:
        return [*problems, "request body is not JSON"]
    if body is None:
        if request_body.get("required"):
            problems.append("request body missing")
        return problems
    LEDGER.fields += _count_fields(body)
    schema = content[schema_media].get("schema")
    if schema:
        problems += _schema_errors(op.spec, schema, body, "request")
    return problems


def check_response(op: Operation, response: httpx.Response) -> list[str]:
    """Where a response breaks the spec (status, media type, body)."""
    status = str(response.status_code)
    documented = op.body["responses"].get(status) or op.body["responses"].get("default")
    ok, body = _json(response.content)
    if documented is None:
        reason = allowances.undocumented_status(op.key, response.status_code, body)
        if reason is None:
            return [f"status {status} not documented (documented: {sorted(op.body['responses'])})"]
        LEDGER.allowances_used[reason] += 1
        return []
    content = documented.get("content", {})
    if not content:
        return [] if not response.content else [f"status {status} documents no body"]
    media = _media(response.headers.get("content-type"))
    if media not in content:
        reason = allowances.gateway_media(response.status_code, media, body)
        if reason is None:
            return [f"status {status} media type {media!r} not in {sorted(content)}"]
        LEDGER.allowances_used[reason] += 1
        return []
    if not ok:
        return ["response body is not JSON"]
    LEDGER.fields += _count_fields(body)
    schema = content[media].get("schema")
    if not schema:
        return []
    return _schema_errors(op.spec, schema, body, f"response {status}")


def check_exchange(
    request: httpx.Request, response: httpx.Response, *, deliberate: bool, served: bool = False
) -> None:
    """Record one exchange and its findings in :data:`LEDGER`. ``served``: taken from a served
    sandbox's exchange log, where the Ads API, the token endpoint and report downloads share one
    loopback host (the last two are not in the Ads API specs, as in process)."""
    path = request.url.path
    if served:
        if path == "/auth/o2/token" or DOWNLOAD_PATH.match(path):
            return
    elif not _API_HOST.match(request.url.host):
        return
    if path.startswith("/_sandbox/"):
        return
    method, path = request.method.upper(), request.url.path
    where = f"{method} {path} -> {response.status_code}"
    op = find_operation(method, path)
    LEDGER.exchanges += 1
    if op is None:
        if response.status_code in (404, 405):
            LEDGER.allowances_used["undocumented path refused"] += 1
            return
        LEDGER.findings.append(f"{where}: no such operation in the specs")
        return
    LEDGER.operations[f"{op.spec}: {op.key}"] += 1
    request_problems = check_request(op, request)
    refused = 400 <= response.status_code < 500
    if request_problems and not refused:
        LEDGER.findings += [
            f"{where}: accepted a request the spec refuses: {p}" for p in request_problems
        ]
    elif request_problems and not deliberate:
        LEDGER.findings += [
            f"{where}: client request breaks the spec: {p}" for p in request_problems
        ]
    response.read()
    if response.headers.get(FAULT_HEADER) == "malformed":
        # A scripted fault: the sandbox broke this answer on purpose, and says so.
        LEDGER.allowances_used["scripted malformed answer"] += 1
        return
    LEDGER.findings += [f"{where}: {p}" for p in check_response(op, response)]


class RecordingTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Pass each request to the wrapped transport, then check the exchange against the specs."""

    def __init__(self, inner: Any, *, deliberate: bool) -> None:
        self.inner = inner
        self.deliberate = deliberate
        self.api = getattr(inner, "api", None)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response = self.inner.handle_request(request)
        check_exchange(request, response, deliberate=self.deliberate)
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response = await self.inner.handle_async_request(request)
        check_exchange(request, response, deliberate=self.deliberate)
        return response

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner.aclose()


def check_exchange_log(path: Path) -> list[str]:
    """Check every exchange a served sandbox logged (``sandbox serve --exchange-log``); return
    the findings it added to :data:`LEDGER` (also counted in the session's summary)."""
    before = len(LEDGER.findings)
    if not path.exists():
        return [f"{path}: no exchange log was written"]
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        request = httpx.Request(
            entry["method"], entry["url"], headers=entry["request_headers"],
            content=base64.b64decode(entry["request_body"]),
        )  # fmt: skip
        response = httpx.Response(
            entry["status"], headers=entry["response_headers"],
            content=base64.b64decode(entry["response_body"]), request=request,
        )  # fmt: skip
        check_exchange(request, response, deliberate=False, served=True)
    return LEDGER.findings[before:]


def check_client_request(request: httpx.Request) -> None:
    """Check one request the client sent to a canned answer (``httpx.MockTransport`` tests, whose
    answers are often wrong on purpose): only the request is held to the spec."""
    if not _API_HOST.match(request.url.host):
        return
    method, path = request.method.upper(), request.url.path
    op = find_operation(method, path)
    LEDGER.exchanges += 1
    if op is None:
        LEDGER.findings.append(f"{method} {path}: the client called no operation of the specs")
        return
    LEDGER.operations[f"{op.spec}: {op.key}"] += 1
    LEDGER.findings += [
        f"{method} {path}: client request breaks the spec: {p}" for p in check_request(op, request)
    ]
