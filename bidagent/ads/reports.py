"""Reporting v3: request a report, wait for it, download and unpack it.

Owns the report lifecycle (digest §3): the create body per report type, the split of a long range
into requests of at most 31 days, the 95-day look-back, polling with backoff until ``COMPLETED`` or
``FAILED`` within a deadline, adopting the report named by a 425 "duplicate of", and the download
of the presigned URL without auth headers, then gunzip. It returns raw JSON bytes; validating rows
is :mod:`bidagent.ads.report_rows`' job.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal, TypeVar

import structlog

from bidagent.ads.endpoints import (
    REPORT_CREATE_MEDIA_TYPE,
    REPORT_CREATED_MEDIA_TYPE,
    REPORT_STATUS_MEDIA_TYPE,
)
from bidagent.ads.session import AdsSession, json_body
from bidagent.errors import AdsError, ApiError, ReportFailed, ReportTimeout

__all__ = ["LOOKBACK_DAYS", "MAX_SPAN_DAYS", "ReportRunner", "ReportType", "split_range"]

log = structlog.get_logger(__name__)
E = TypeVar("E", bound=AdsError)

ReportType = Literal["spTargeting", "spSearchTerm", "spCampaigns"]
MAX_SPAN_DAYS = 31
LOOKBACK_DAYS = 95
_MAX_POLL_INTERVAL_S = 300.0
_MAX_REPORT_BYTES = 2 * 1024**3  # decompressed; a bigger file is a bug, not a report
_DUPLICATE = re.compile(r"duplicate of\s*:?\s*([A-Za-z0-9-]+)", re.IGNORECASE)

_METRICS = ["impressions", "clicks", "cost", "purchases7d", "sales7d", "unitsSoldClicks7d"]
# Only what we store: fewer columns make reports faster (digest §8). Ratios are computed by the
# engine from cost, sales7d and clicks, never taken from Amazon's percent-valued columns.
REPORT_COLUMNS: dict[str, list[str]] = {
    "spTargeting": ["date", "campaignId", "adGroupId", "keywordId", "keywordType", "matchType",
                    "targeting", *_METRICS],
    "spSearchTerm": ["date", "campaignId", "adGroupId", "keywordId", "keywordType", "matchType",
                     "searchTerm", *_METRICS],
    "spCampaigns": ["date", "campaignId", "campaignBudgetAmount", *_METRICS],
}  # fmt: skip
_GROUP_BY = {
    "spTargeting": ["targeting"],
    "spSearchTerm": ["searchTerm"],
    "spCampaigns": ["campaign"],
}


@dataclass(frozen=True)
class ReportRequest:
    """One report request as sent: type, profile and inclusive dates."""

    report_type: str
    profile_id: str
    start: date
    end: date

    def body(self) -> dict[str, Any]:
        return {
            "name": f"bidagent {self.report_type} {self.start}..{self.end}",
            "startDate": self.start.isoformat(),
            "endDate": self.end.isoformat(),
            "configuration": {
                "adProduct": "SPONSORED_PRODUCTS",
                "reportTypeId": self.report_type,
                "groupBy": _GROUP_BY[self.report_type],
                "columns": REPORT_COLUMNS[self.report_type],
                "timeUnit": "DAILY",
                "format": "GZIP_JSON",
            },
        }

    def failed(self, message: str, **fields: Any) -> ReportFailed:
        error = ReportFailed(
            f"{self.report_type} report for profile {self.profile_id}, "
            f"{self.start}..{self.end}: {message}",
            **fields,
        )
        return self.tag(error)

    def tag(self, error: E) -> E:
        """Attach ``report_type``, ``profile_id``, ``start`` and ``end`` to a report error, so the
        cycle can open a review item without parsing the message (``errors.py`` has no such
        fields yet; they are plain attributes)."""
        for name in ("report_type", "profile_id", "start", "end"):
            setattr(error, name, getattr(self, name))
        return error


def split_range(start: date, end: date, span_days: int = MAX_SPAN_DAYS) -> list[tuple[date, date]]:
    """Inclusive ``start..end`` cut into consecutive pieces of at most ``span_days`` days."""
    if end < start:
        raise ValueError(f"report range ends before it starts: {start}..{end}")
    pieces = []
    cursor = start
    while cursor <= end:
        last = min(end, cursor + timedelta(days=span_days - 1))
        pieces.append((cursor, last))
        cursor = last + timedelta(days=1)
    return pieces


def gunzip_report(content: bytes, request: ReportRequest) -> bytes:
    """The decompressed report; a truncated or corrupt file is rejected whole."""
    if content[:2] != b"\x1f\x8b":
        # Served with Content-Encoding: gzip, httpx has already decoded it.
        if content.lstrip()[:1] == b"[":
            return content
        raise request.failed("downloaded file is neither gzip nor a JSON array")
    try:
        data = gzip.decompress(content)
    except (OSError, EOFError, zlib.error) as exc:
        raise request.failed(f"downloaded file is not a complete gzip stream ({exc})") from None
    if len(data) > _MAX_REPORT_BYTES:
        raise request.failed(f"decompressed report is larger than {_MAX_REPORT_BYTES} bytes")
    return data


class ReportRunner:
    """Create, poll and download reports through one session."""

    def __init__(
        self,
        session: AdsSession,
        *,
        poll_interval_s: float,
        deadline_s: float,
        sleep: Callable[[float], None],
        monotonic: Callable[[], float],
        today: Callable[[], date] | None,
    ) -> None:
        self._session = session
        self._poll_interval_s = poll_interval_s
        self._deadline_s = deadline_s
        self._sleep = sleep
        self._monotonic = monotonic
        self._today = today

    def requests_for(
        self, report_type: str, profile_id: str, start: date, end: date
    ) -> list[ReportRequest]:
        """The requests covering ``start..end`` within the look-back, 31 days at most each."""
        if report_type not in REPORT_COLUMNS:
            raise ValueError(f"unknown report type {report_type!r}")
        # Without a clock of the account's own (the sandbox runs a simulated one), measure the
        # look-back from ``end``: callers ask for ranges ending yesterday.
        reference = self._today() if self._today is not None else end
        earliest = reference - timedelta(days=LOOKBACK_DAYS - 1)
        if start < earliest:
            log.warning("report_range_clamped", report_type=report_type, profile_id=profile_id,
                        requested_start=start.isoformat(), start=earliest.isoformat())  # fmt: skip
            start = earliest
        if end < start:
            raise ValueError(
                f"{report_type}: {end} is beyond Amazon's {LOOKBACK_DAYS}-day look-back"
            )
        return [ReportRequest(report_type, profile_id, a, b) for a, b in split_range(start, end)]

    def fetch(self, request: ReportRequest) -> bytes:
        """The decompressed JSON array of one report (at most 31 days)."""
        report_id = self._create(request)
        url = self._wait(request, report_id)
        content = self._session.download(url, what=f"report {report_id}")
        data = gunzip_report(content, request)
        log.debug("report_downloaded", report_type=request.report_type, report_id=report_id,
                 profile_id=request.profile_id, bytes=len(data))  # fmt: skip
        return data

    def _create(self, request: ReportRequest) -> str:
        try:
            response = self._session.read(
                "POST",
                "/reporting/reports",
                profile_id=request.profile_id,
                media_type=REPORT_CREATE_MEDIA_TYPE,
                accept=REPORT_CREATED_MEDIA_TYPE,
                content=json_body(request.body()),
            )
        except ApiError as error:
            match = _DUPLICATE.search(str(error)) if error.status == 425 else None
            if match is None:
                raise
            # Amazon is already building this very report: wait for that one (Airbyte does too).
            log.info("report_adopted", report_type=request.report_type, report_id=match[1],
                     profile_id=request.profile_id)  # fmt: skip
            return match[1]
        report_id = str(response.json()["reportId"])
        log.debug("report_requested", report_type=request.report_type, report_id=report_id,
                 profile_id=request.profile_id, start=request.start.isoformat(),
                 end=request.end.isoformat())  # fmt: skip
        return report_id

    def _wait(self, request: ReportRequest, report_id: str) -> str:
        """Poll until COMPLETED (returns the URL) or FAILED, backing off up to the deadline."""
        deadline = self._monotonic() + self._deadline_s
        interval = self._poll_interval_s
        while True:
            response = self._session.read(
                "GET",
                f"/reporting/reports/{report_id}",
                profile_id=request.profile_id,
                media_type=REPORT_STATUS_MEDIA_TYPE,
            )
            report = response.json()
            status = str(report.get("status", "")).upper()
            if status == "COMPLETED":
                url = report.get("url")
                if not url:
                    raise request.failed(f"report {report_id} COMPLETED without a url")
                log.debug("report_completed", report_type=request.report_type,
                         report_id=report_id, profile_id=request.profile_id)  # fmt: skip
                return str(url)
            if status == "FAILED":
                reason = report.get("failureReason") or "no reason given"
                raise request.failed(f"report {report_id} FAILED: {reason}")
            remaining = deadline - self._monotonic()
            if remaining <= 0:
                raise request.tag(
                    ReportTimeout(
                        f"{request.report_type} report {report_id} for profile "
                        f"{request.profile_id} still {status or 'unknown'} after "
                        f"{self._deadline_s:.0f} s"
                    )
                )
            self._sleep(min(interval, remaining))
            interval = min(interval * 1.5, max(self._poll_interval_s, _MAX_POLL_INTERVAL_S))
