"""The Cycles pages over the ledger of real sandbox cycles (and more records, for paging):
outcome, reason, durations by phase and counts, paging, the profile and outcome filters, one
cycle's changes by status, what each rule did, and the link into the change log."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from bidagent.console.cycle_views import PAGE_SIZE, phase_durations
from bidagent.store import ChangeRecord, CycleRecord, session_scope
from bidagent.store.rule_runs import RuleRunRecord
from tests.console.conftest import ConsoleWorld, sign_in

_ROW = re.compile(r'data-testid="cycle-row" data-cycle="(\d+)" data-outcome="(\w+)"')
_OTHER = "2000000000000002"
_OUTCOMES = ("succeeded", "failed", "stale", "running")


def _add_cycles(world: ConsoleWorld, n: int) -> None:
    """``n`` finished cycle records of another profile, outcomes in turn; the failed ones give
    a reason with markup in it."""
    start = datetime(2025, 1, 1, 8, tzinfo=UTC)
    with session_scope(world.agent.engine) as session:
        for i in range(n):
            outcome = _OUTCOMES[i % 4]
            session.add(
                CycleRecord(
                    profile_id=_OTHER, business_date=date(2025, 1, 1) + timedelta(days=i),
                    schedule="daily", mode="live", trigger="daemon", outcome=outcome,
                    phase="applied" if outcome == "succeeded" else "planned",
                    counts={"applied": i, "reviews": 1},
                    timings={"sync_s": 1.5, "evaluate_s": 0.25, "plan_s": 0.75, "apply_s": 2.0},
                    error="sync failed: <b>AdsError</b>" if outcome == "failed" else None,
                    started_at=start + timedelta(days=i), finished_at=start + timedelta(days=i),
                )
            )  # fmt: skip


def _all_cycles(world: ConsoleWorld) -> list[CycleRecord]:
    with Session(world.agent.engine) as session:
        return list(session.exec(select(CycleRecord).order_by(col(CycleRecord.id).desc())))


def _walk(client: TestClient, url: str) -> list[tuple[int, str]]:
    """Every row of every page, following the Older links from ``url``."""
    seen: list[tuple[int, str]] = []
    while True:
        html = client.get(url).text
        seen.extend((int(i), o) for i, o in _ROW.findall(html))
        older = re.search(r'href="([^"]+)" id="cycles-older"', html)
        if older is None:
            return seen
        url = older.group(1).replace("&amp;", "&")


def test_phase_durations_split_the_recorded_timings() -> None:
    """Evaluate and plan are timed from one start: writing the plan is their difference."""
    timings = {"sync_s": 1.5, "evaluate_s": 0.25, "plan_s": 0.75, "apply_s": 2.0}
    assert phase_durations(timings) == {
        "sync": 1.5, "evaluate": 0.25, "write plan": 0.5, "apply": 2.0,
    }  # fmt: skip
    assert phase_durations({"sync_s": 3.0, "apply_s": 1.0}) == {
        "sync": 3.0, "evaluate": None, "write plan": None, "apply": 1.0,
    }  # fmt: skip
    assert phase_durations(None) == dict.fromkeys(("sync", "evaluate", "write plan", "apply"))


def test_the_list_shows_each_sandbox_cycle(
    console: Callable[..., TestClient], console_world: ConsoleWorld, people: dict[str, str]
) -> None:
    """A viewer sees the world's two cycles with outcome, durations by phase and counts as
    recorded; the API carries the same."""
    client = console()
    sign_in(client, "viewer")
    html = client.get("/cycles").text
    cycles = _all_cycles(console_world)
    assert _ROW.findall(html) == [(str(c.id), c.outcome) for c in cycles]
    assert [c.outcome for c in cycles] == ["succeeded", "succeeded"]
    assert 'data-testid="cycles-total">2 cycles<' in html
    body = client.get("/api/cycles").json()
    assert [(c["id"], c["outcome"], c["counts"], c["durations"]) for c in body["cycles"]] == [
        (c.id, c.outcome, dict(sorted((c.counts or {}).items())), phase_durations(c.timings))
        for c in cycles
    ]
    assert (body["total"], body["next_before"]) == (2, None)
    first = cycles[0]
    cells = re.search(rf'data-cycle="{first.id}".*?</tr>', html, re.S)
    assert cells is not None
    for phase in phase_durations(first.timings).values():
        assert phase is not None and f"{phase:.2f}s" in cells.group(0)


def test_paging_walks_every_cycle_once(
    console: Callable[..., TestClient], console_world: ConsoleWorld, people: dict[str, str]
) -> None:
    """With more cycles than a page, the Older links walk every cycle once, newest first."""
    _add_cycles(console_world, 2 * PAGE_SIZE + 7)
    client = console()
    sign_in(client, "viewer")
    expected = [(c.id, c.outcome) for c in _all_cycles(console_world)]
    assert _walk(client, "/cycles") == expected
    second = client.get(f"/cycles?before={expected[PAGE_SIZE - 1][0]}").text
    assert f"<span>{PAGE_SIZE + 1}–{2 * PAGE_SIZE} of {len(expected)}</span>" in second
    assert 'id="cycles-newest"' in second


def test_filters_by_profile_and_outcome(
    console: Callable[..., TestClient], console_world: ConsoleWorld, people: dict[str, str]
) -> None:
    """``?profile=`` and ``?outcome=`` keep the matching cycles, across pages, and the pager
    keeps the filters."""
    _add_cycles(console_world, 4 * PAGE_SIZE + 4)  # 51 of each outcome: two pages each
    client = console()
    sign_in(client, "viewer")
    cycles = _all_cycles(console_world)
    for query, keep in (
        (f"profile={_OTHER}&outcome=failed", lambda c: c.profile_id == _OTHER and c.outcome == "failed"),
        (f"profile={_OTHER}", lambda c: c.profile_id == _OTHER),
        ("outcome=succeeded", lambda c: c.outcome == "succeeded"),
        ("outcome=nothing-like-it", lambda c: False),
    ):  # fmt: skip
        assert _walk(client, f"/cycles?{query}") == [(c.id, c.outcome) for c in cycles if keep(c)]
    html = client.get(f"/cycles?profile={_OTHER}&outcome=running").text
    assert f'href="/cycles?profile={_OTHER}&amp;outcome=running&amp;before=' in html


def test_a_failed_cycles_reason_is_shown_escaped(
    console: Callable[..., TestClient], console_world: ConsoleWorld, people: dict[str, str]
) -> None:
    """The reason a cycle gives is shown, as text."""
    _add_cycles(console_world, 2)
    client = console()
    sign_in(client, "viewer")
    failed = next(c for c in _all_cycles(console_world) if c.outcome == "failed")
    for url in ("/cycles?outcome=failed", f"/cycles/{failed.id}"):
        html = client.get(url).text
        assert "sync failed: &lt;b&gt;AdsError&lt;/b&gt;" in html
        assert "<b>AdsError" not in html


def test_a_cycles_page_counts_its_changes_and_links_the_change_log(
    console: Callable[..., TestClient], console_world: ConsoleWorld, people: dict[str, str]
) -> None:
    """``/cycles/{id}``: its changes by current status (each linking the change log filtered to
    the cycle and status), the link to all its changes, and a row per rule it ran."""
    client = console()
    sign_in(client, "viewer")
    cycle = _all_cycles(console_world)[-1]
    with Session(console_world.agent.engine) as session:
        statuses = Counter(
            session.exec(select(ChangeRecord.status).where(ChangeRecord.cycle_id == cycle.id))
        )
        rules = sorted(
            session.exec(select(RuleRunRecord.rule_name).where(RuleRunRecord.cycle_id == cycle.id))
        )
    html = client.get(f"/cycles/{cycle.id}").text
    shown = re.findall(
        r'<tr data-status="(\w+)"><td><a href="/changes\?cycle=(\d+)&amp;status=\w+">\w+</a></td>'
        r'<td class="num">(\d+)</td>',
        html,
    )
    assert shown == [(s, str(cycle.id), str(n)) for s, n in sorted(statuses.items())]
    assert f'href="/changes?cycle={cycle.id}" id="cycle-changes-link"' in html
    assert re.findall(r'data-testid="cycle-rule" data-rule="([^"]+)"', html) == rules
    body = client.get(f"/api/cycles/{cycle.id}").json()
    assert body["statuses"] == dict(sorted(statuses.items()))
    assert [r["rule"] for r in body["rules"]] == rules
    assert sum(r["counts"]["proposed"] for r in body["rules"]) == sum(statuses.values())
    assert client.get("/cycles/999999").status_code == 404
    assert client.get("/api/cycles/999999").status_code == 404


def test_signed_out_requests_are_sent_to_sign_in(console: Callable[..., TestClient]) -> None:
    """Without a session the Cycles pages redirect to the login form and the API answers 401."""
    client = console()
    for url in ("/cycles", "/cycles/1"):
        response = client.get(url)
        assert (response.status_code, response.headers["location"].split("?")[0]) == (
            302, "/login",
        )  # fmt: skip
    assert client.get("/api/cycles").status_code == 401
