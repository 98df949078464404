"""Hostile reports through parse_report (issue 17): explicit cases with their messages, and a fuzzer.

Each fuzz case: the report parses or raises ``ReportFailed``, nothing else, in under 5 s. Memory
is bounded by the case size (a few hundred rows); the parser itself is columnar and copies once.
"""

from __future__ import annotations

import contextlib
import json
import time
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from bidagent.ads import parse_report
from bidagent.errors import ReportFailed

DAY = date(2024, 5, 1)
ROW = {"date": "2024-05-01", "campaignId": 1, "adGroupId": 2, "keywordId": 3, "keywordType": "EXACT",
       "matchType": "EXACT", "targeting": "yoga mat", "searchTerm": "mat", "impressions": 100,
       "clicks": 4, "cost": 2.5, "purchases7d": 1, "sales7d": 30.0, "unitsSoldClicks7d": 2}  # fmt: skip
PREFIX = "spTargeting report for profile 9, 2024-05-01..2024-05-01 rejected: "


def _parse(rows: Any, report_type: str = "spTargeting") -> Any:
    raw = rows if isinstance(rows, bytes) else json.dumps(rows).encode()
    return parse_report(report_type, raw, profile_id="9", start=DAY, end=DAY)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"clicks": 1e30}, "row 0 column 'clicks': 1e+30 is out of range (at most 10,000,000,000)"),
        ({"cost": 1e308}, "row 0 column 'cost': 1e+308 is out of range (at most 1,000,000,000)"),
        ({"impressions": -1}, "row 0 column 'impressions': -1.0 is negative"),
        ({"sales7d": -0.5}, "row 0 column 'sales7d': -0.5 is negative"),
        ({"clicks": 2.5}, "row 0 column 'clicks': 2.5 is not a valid count"),
    ],
)
def test_value_out_of_range_rejects_the_report(change: dict[str, Any], message: str) -> None:
    """Every count and amount is checked against its type and a plausible range before a cast."""
    with pytest.raises(ReportFailed) as info:
        _parse([dict(ROW, **change)])
    assert str(info.value) == PREFIX + message


def test_nan_rejects_the_report() -> None:
    """A NaN (not JSON, but Python's encoder writes it) rejects the report."""
    with pytest.raises(ReportFailed) as info:
        _parse(json.dumps([dict(ROW, cost=float("nan"))]).encode())
    assert str(info.value).startswith(PREFIX + "unreadable")


def test_unknown_extra_column_is_a_warning_not_a_rejection() -> None:
    """An extra column is logged as report_column_unknown and the rows are kept."""
    with capture_logs() as logs:
        facts = _parse([{**{k: v for k, v in ROW.items() if k != "searchTerm"}, "newMetric": 7}])
    assert facts.height == 1
    assert [e for e in logs if e["event"] == "report_column_unknown"] == [
        {"event": "report_column_unknown", "log_level": "warning", "report_type": "spTargeting",
         "profile_id": "9", "columns": ["newMetric"]}
    ]  # fmt: skip


HOSTILE = st.one_of(
    st.none(), st.booleans(), st.text(max_size=12),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([1e30, 1e308, -0.0, 0.5]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)  # fmt: skip


@st.composite
def report_body(draw: st.DrawFn) -> tuple[str, bytes]:
    """A report of a few rows with random values swapped in, keys dropped or added, or bytes cut."""
    report_type = draw(st.sampled_from(["spTargeting", "spSearchTerm", "spCampaigns"]))
    rows: list[Any] = [dict(ROW, keywordId=i) for i in range(draw(st.integers(0, 30)))]
    for _ in range(draw(st.integers(0, 5))):
        if not rows:
            break
        index = draw(st.integers(0, len(rows) - 1))
        row = rows[index]
        if not isinstance(row, dict):
            continue
        op = draw(st.sampled_from(["set", "drop", "add", "replace"]))
        if op == "set":
            row[draw(st.sampled_from(sorted(ROW)))] = draw(HOSTILE)
        elif op == "drop":
            row.pop(draw(st.sampled_from(sorted(ROW))), None)
        elif op == "add":
            row[draw(st.text(max_size=8))] = draw(HOSTILE)
        else:
            rows[index] = draw(HOSTILE)
    raw = json.dumps(rows).encode()
    if draw(st.integers(0, 9)) == 0:
        raw = raw[: draw(st.integers(0, len(raw)))] + draw(st.binary(max_size=8))
    return report_type, raw


def _one(report_type: str, raw: bytes) -> None:
    started = time.perf_counter()
    with contextlib.suppress(ReportFailed):  # the only error allowed out
        _parse(raw, report_type)
    assert time.perf_counter() - started < 5.0


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=report_body())
def test_report_fuzz_fast(case: tuple[str, bytes]) -> None:
    """Mutated reports parse or raise ReportFailed, nothing else, each in under 5 s."""
    _one(*case)


@pytest.mark.slow
@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=report_body())
def test_report_fuzz_slow(case: tuple[str, bytes]) -> None:
    """600 mutated reports: 0 crashes, 0 over 5 s."""
    _one(*case)
