"""Reporting v3 for the fake API: create, poll, cancel, and the presigned-style download.

Owns request validation (media type, report types, groupBy, columns, filters, the 31-day range
and 95-day look-back, all answered ``{"code": "400", "detail": ...}``), 425 for a duplicate in
flight, the PENDING -> PROCESSING -> COMPLETED/FAILED progression over status polls (persisted,
so any process sharing the state file sees it), and downloads that refuse an ``Authorization``
header as S3 does. The rows themselves come from :mod:`bidagent.sandbox.report_rows`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from bidagent.sandbox.faults import FaultInjector
from bidagent.sandbox.report_rows import COLUMNS, FILTERS, GROUP_BYS, build_report
from bidagent.sandbox.responses import ApiRequest, RequestRejected, json_response

if TYPE_CHECKING:
    from bidagent.sandbox.sandbox import Sandbox

__all__ = ["cancel_report", "create_report", "download_report", "report_status"]

CREATE_TYPE = "application/vnd.createasyncreportrequest.v3+json"
CREATE_ANSWER = "application/vnd.createasyncreportresponse.v3+json"
STATUS_ANSWER = "application/vnd.getasyncreportresponse.v3+json"
DELETE_ANSWER = "application/vnd.deleteasyncreportresponse.v3+json"
URL_LIFETIME = timedelta(seconds=3600)
MAX_DAYS = 31
LOOKBACK_DAYS = 95


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_day(value: Any, name: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise RequestRejected(400, f"{name} must be a date in the format YYYY-MM-DD") from None


def _validate(sandbox: Sandbox, profile_id: str, body: Any) -> tuple[date, date, dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("configuration"), dict):
        raise RequestRejected(400, "configuration is required")
    start = _parse_day(body.get("startDate"), "startDate")
    end = _parse_day(body.get("endDate"), "endDate")
    today = sandbox.today(profile_id)
    if end < start:
        raise RequestRejected(400, "endDate must not be before startDate")
    if (end - start).days + 1 > MAX_DAYS:
        raise RequestRejected(400, f"Report date range must be {MAX_DAYS} days or fewer")
    if start < today - timedelta(days=LOOKBACK_DAYS):
        raise RequestRejected(
            400,
            f"Report date is too far in the past. Reports are retained for {LOOKBACK_DAYS} days",
        )
    if end > today:
        raise RequestRejected(400, "endDate cannot be in the future")
    config = body["configuration"]
    if config.get("adProduct") != "SPONSORED_PRODUCTS":
        raise RequestRejected(400, "configuration adProduct must be SPONSORED_PRODUCTS here")
    report_type = config.get("reportTypeId")
    if report_type not in COLUMNS:
        raise RequestRejected(
            400, f"Invalid reportTypeId {report_type!r}; supported: " + ", ".join(sorted(COLUMNS))
        )
    group_by = config.get("groupBy")
    if not isinstance(group_by, list) or set(group_by) not in GROUP_BYS[report_type]:
        allowed = " | ".join(str(sorted(g)) for g in GROUP_BYS[report_type])
        raise RequestRejected(
            400,
            f"configuration groupBy {group_by} is invalid for {report_type}; allowed: {allowed}",
        )
    columns = config.get("columns")
    if not isinstance(columns, list) or not columns:
        raise RequestRejected(400, "configuration columns must be a non-empty list")
    allowed_columns = COLUMNS[report_type]
    if report_type == "spCampaigns" and "adGroup" not in group_by:
        allowed_columns = allowed_columns - {"adGroupId", "adGroupName", "adStatus"}
    if report_type == "spCampaigns" and "campaignPlacement" not in group_by:
        allowed_columns = allowed_columns - {"placementClassification"}
    bad = sorted(set(map(str, columns)) - allowed_columns)
    time_unit = config.get("timeUnit")
    if time_unit not in ("DAILY", "SUMMARY"):
        raise RequestRejected(400, "configuration timeUnit must be DAILY or SUMMARY")
    if time_unit == "SUMMARY" and "date" in columns:
        bad.append("date")
    if bad:
        raise RequestRejected(
            400,
            f"configuration columns includes invalid values: ({', '.join(bad)})"
            f" for {report_type} with timeUnit {time_unit}",
        )
    if config.get("format") != "GZIP_JSON":
        raise RequestRejected(400, "configuration format must be GZIP_JSON")
    allowed_filters = set.intersection(*(FILTERS[g] for g in group_by))
    for item in config.get("filters") or []:
        if not isinstance(item, dict) or item.get("field") not in allowed_filters:
            field = item.get("field") if isinstance(item, dict) else item
            raise RequestRejected(
                400,
                f"configuration filters includes fields: ({field}) which are invalid for "
                f"groupBys: {', '.join(group_by)}. Allowed filters: {sorted(allowed_filters)}",
            )
    return start, end, config


def _dedup_key(profile_id: str, body: dict[str, Any]) -> str:
    config = body["configuration"]
    # Amazon's duplicate check seems to ignore name and timeUnit (digest §3.4).
    key = [
        profile_id,
        body["startDate"],
        body["endDate"],
        config["reportTypeId"],
        sorted(config["groupBy"]),
        sorted(config["columns"]),
        config.get("filters"),
    ]
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def create_report(sandbox: Sandbox, api: ApiRequest, faults: FaultInjector) -> httpx.Response:
    """``POST /reporting/reports``."""
    content_type = (api.header("content-type") or "").split(";")[0].strip().lower()
    # Amazon also takes plain JSON here (the guide's examples send it; see docs/sandbox.md).
    if content_type not in (CREATE_TYPE, "application/json"):
        raise RequestRejected(415, f"Unsupported media type {content_type!r}; use {CREATE_TYPE}")
    body = api.json()
    profile_id = api.profile_id or ""
    _validate(sandbox, profile_id, body)
    key = _dedup_key(profile_id, body)
    store = sandbox.store
    with store.transaction() as conn:
        twin = conn.execute(
            "SELECT report_id FROM reports WHERE dedup_key = ? AND status IN "
            "('PENDING', 'PROCESSING')",
            (key,),
        ).fetchone()
        if twin is not None:
            raise RequestRejected(425, f"The Request is a duplicate of : {twin[0]}")
        now = _stamp(sandbox.now)
        report_id = str(uuid.uuid4())
        conn.execute(
            "INSERT INTO reports (report_id, profile_id, status, body, dedup_key, polls, outcome, "
            "created_at, updated_at) VALUES (?, ?, 'PENDING', ?, ?, 0, ?, ?, ?)",
            (report_id, profile_id, json.dumps(body), key, faults.report_outcome(), now, now),
        )
    row = store.query("SELECT * FROM reports WHERE report_id = ?", (report_id,))[0]
    return json_response(200, _render(sandbox, row, None), api.request_id, media_type=CREATE_ANSWER)


def _render(sandbox: Sandbox, row: Any, url: tuple[str, str] | None) -> dict[str, Any]:
    body = json.loads(row["body"])
    configuration = {"filters": None, **body["configuration"]}
    return {
        "reportId": row["report_id"],
        "name": body.get("name"),
        "status": row["status"],
        "configuration": configuration,
        "startDate": body["startDate"],
        "endDate": body["endDate"],
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
        "generatedAt": row["generated_at"],
        "fileSize": row["file_size"],
        "url": url[0] if url else None,
        "urlExpiresAt": url[1] if url else None,
        "failureReason": row["failure_reason"],
    }


def _own_report(sandbox: Sandbox, api: ApiRequest, report_id: str) -> Any:
    rows = sandbox.store.query("SELECT * FROM reports WHERE report_id = ?", (report_id,))
    if not rows or rows[0]["profile_id"] != api.profile_id:
        raise RequestRejected(404, "Not Found")
    return rows[0]


def report_status(
    sandbox: Sandbox, api: ApiRequest, report_id: str, faults: FaultInjector, download_base: str
) -> httpx.Response:
    """``GET /reporting/reports/{reportId}``: each poll moves the report one step on."""
    row = _own_report(sandbox, api, report_id)
    config = faults.config
    if row["status"] in ("PENDING", "PROCESSING"):
        polls = row["polls"] + 1
        status = "PENDING" if polls <= config.report_pending_polls else "PROCESSING"
        final = polls > config.report_pending_polls + config.report_processing_polls
        values: dict[str, Any] = {
            "polls": polls,
            "status": status,
            "updated_at": _stamp(sandbox.now),
        }
        if final and row["outcome"] == "fail":
            values |= {
                "status": "FAILED",
                "failure_reason": "Report generation failed due to an internal error. Please retry",
            }
        elif final and row["outcome"] == "ok":
            body = json.loads(row["body"])
            content = build_report(
                sandbox,
                row["profile_id"],
                body["configuration"],
                date.fromisoformat(body["startDate"]),
                date.fromisoformat(body["endDate"]),
            )
            values |= {
                "status": "COMPLETED",
                "file": content,
                "file_size": len(content),
                "generated_at": _stamp(sandbox.now),
            }
        with sandbox.store.transaction() as conn:
            assignments = ", ".join(f"{name} = ?" for name in values)
            conn.execute(
                f"UPDATE reports SET {assignments} WHERE report_id = ?",
                (*values.values(), report_id),
            )
        row = _own_report(sandbox, api, report_id)
    url = _presign(sandbox, row, download_base) if row["status"] == "COMPLETED" else None
    return json_response(200, _render(sandbox, row, url), api.request_id, media_type=STATUS_ANSWER)


def _signature(sandbox: Sandbox, report_id: str, expires: str) -> str:
    key = f"{sandbox.client_secret}:download".encode()
    return hmac.new(key, f"{report_id}|{expires}".encode(), hashlib.sha256).hexdigest()


def _presign(sandbox: Sandbox, row: Any, base: str) -> tuple[str, str]:
    """A fresh presigned-style URL (each status poll mints one), valid one simulated hour."""
    expires = _stamp(sandbox.now + URL_LIFETIME)
    report_id = row["report_id"]
    stamp = int(sandbox.now.timestamp() * 1000)
    query = httpx.QueryParams(
        {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Date": sandbox.now.strftime("%Y%m%dT%H%M%SZ"),
            "X-Amz-Expires": "3599",
            "X-Amz-SignedHeaders": "host",
            "X-Amz-Credential": "SANDBOX",
            "X-Sandbox-Expires-At": expires,
            "X-Amz-Signature": _signature(sandbox, report_id, expires),
        }
    )
    path = f"/{report_id}-{stamp}/report-{report_id}-{stamp}.json.gz"
    return f"{base}{path}?{query}", expires


def cancel_report(sandbox: Sandbox, api: ApiRequest, report_id: str) -> httpx.Response:
    """``DELETE /reporting/reports/{reportId}``: only a PENDING report can be cancelled."""
    row = _own_report(sandbox, api, report_id)
    if row["status"] != "PENDING":
        raise RequestRejected(
            400, f"Report {report_id} is {row['status']}; only PENDING reports can be deleted"
        )
    with sandbox.store.transaction() as conn:
        conn.execute("UPDATE reports SET status = 'CANCELLED' WHERE report_id = ?", (report_id,))
    body = {"code": "200", "detail": "Report deleted", "reportId": report_id}
    return json_response(200, body, api.request_id, media_type=DELETE_ANSWER)


def _s3_error(status: int, code: str, message: str) -> httpx.Response:
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
        f"<Message>{message}</Message><RequestId>SANDBOX</RequestId></Error>"
    )
    return httpx.Response(status, headers={"content-type": "application/xml"}, content=xml.encode())


def download_report(sandbox: Sandbox, request: httpx.Request) -> httpx.Response:
    """``GET <presigned url>``: the gzip file; S3's errors for auth headers, bad or old links."""
    if "authorization" in request.headers:
        return _s3_error(
            400,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the "
            "X-Amz-Algorithm query parameter, Signature query string parameter or "
            "the Authorization header should be specified",
        )
    name = request.url.path.rsplit("/", 1)[-1]
    report_id = name.removeprefix("report-").rsplit("-", 1)[0]
    expires = request.url.params.get("X-Sandbox-Expires-At", "")
    signature = request.url.params.get("X-Amz-Signature", "")
    if not hmac.compare_digest(signature, _signature(sandbox, report_id, expires)):
        return _s3_error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided",
        )
    if _stamp(sandbox.now) > expires:
        return _s3_error(403, "AccessDenied", "Request has expired")
    rows = sandbox.store.query("SELECT file FROM reports WHERE report_id = ?", (report_id,))
    if not rows or rows[0]["file"] is None:
        return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
    headers = {"content-type": "application/octet-stream", "x-amz-request-id": "SANDBOX"}
    return httpx.Response(200, headers=headers, content=bytes(rows[0]["file"]))
