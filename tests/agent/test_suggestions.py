"""Refreshing Amazon's suggested bids from the sandbox's fake API into the store, a few ad groups
per cycle, through the real httpx client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select, update
from sqlmodel import Session
from structlog.testing import capture_logs

from bidagent.ads import AdsClient
from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.bid_suggestions import due_ad_groups, refresh_bid_suggestions
from bidagent.agent.cycle.run import run_cycle
from bidagent.agent.cycle.sync import sync_entities
from bidagent.engine import load_rule_set
from bidagent.sandbox import Sandbox
from bidagent.store import (
    BidSuggestionRecord,
    BidSuggestionRefusalRecord,
    TargetRecord,
)
from bidagent.store.engine_inputs import read_engine_inputs

NOW = datetime(2025, 6, 2, 12, tzinfo=UTC)
WEEK = timedelta(days=7)
PATH = "/sp/targets/bid/recommendations"
CALLS_FOR_ONE_500 = 6  # a read is retried on a 5xx within the retry budget (5 retries)


class CountingTransport(httpx.BaseTransport):
    """Counts recommendation calls; answers them with ``status`` instead when it is set."""

    def __init__(self, inner: httpx.BaseTransport, status: int | None = None) -> None:
        self.inner, self.status, self.calls = inner, status, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == PATH:
            self.calls += 1
            if self.status is not None:
                body = {"code": "BAD_REQUEST", "details": "refused by the test"}
                return httpx.Response(self.status, json=body, request=request)
        return self.inner.handle_request(request)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with Sandbox.open(tmp_path_factory.mktemp("sb") / "sb.db", seed=5, targets=200) as box:
        yield box


def _client(transport: httpx.BaseTransport, sandbox: Sandbox) -> AdsClient:
    return AdsClient(
        client_id="amzn1.application-oa2-client.sandbox",
        client_secret="sandbox-secret",
        refresh_token="Atzr|sandbox",
        base_url=sandbox.base_url,
        token_url=sandbox.token_url,
        transport=transport,
        requests_per_second=1000.0,
        sleep=lambda s: None,
    )


def _stored(engine) -> dict[str, tuple[str, Decimal, Decimal, Decimal, datetime]]:
    with Session(engine) as session:
        rows = session.exec(select(BidSuggestionRecord)).all()
    return {r[0].target_id: (r[0].ad_group_id, r[0].low, r[0].median, r[0].high,
                             r[0].fetched_at) for r in rows}  # fmt: skip


def _enabled_groups(engine, profile_id: str) -> list[str]:
    return due_ad_groups(engine, profile_id, now=NOW, max_age=WEEK, limit=10_000)


def test_refresh_fetches_the_due_ad_groups_and_stores_what_amazon_suggests(sandbox, engine):
    """Three never-fetched ad groups (lowest ids first), each target with the API's own values."""
    profile_id = sandbox.profiles[0]
    counting = CountingTransport(sandbox.transport())
    with _client(counting, sandbox) as client:
        sync_entities(client, engine, profile_id, now=NOW)
        groups = _enabled_groups(engine, profile_id)
        stored = refresh_bid_suggestions(
            client, engine, profile_id, now=NOW, max_age=WEEK, max_ad_groups=3
        )
        targets = [t for t in client.list_keywords(profile_id) if t.ad_group_id in groups[:3]]
        targets += [t for t in client.list_targets(profile_id) if t.ad_group_id in groups[:3]]
        expected = client.bid_suggestions(profile_id, [t for t in targets if t.state == "enabled"])
    assert groups == sorted(groups) and len(groups) > 6
    assert counting.calls >= 3
    rows = _stored(engine)
    assert stored == len(rows) == len(expected) > 0
    assert rows == {
        s.target_id: (next(t.ad_group_id for t in targets if t.target_id == s.target_id),
                      s.low, s.median, s.high, NOW)
        for s in expected
    }  # fmt: skip
    assert {group for group, *_ in rows.values()} == set(groups[:3])


def test_refresh_moves_on_to_the_next_groups_and_waits_out_the_max_age(sandbox, engine):
    """Fetched groups wait ``max_age``; then the oldest fetch is due first."""
    profile_id = sandbox.profiles[0]
    with _client(sandbox.transport(), sandbox) as client:
        sync_entities(client, engine, profile_id, now=NOW)
        groups = _enabled_groups(engine, profile_id)
        refresh_bid_suggestions(client, engine, profile_id, now=NOW, max_age=WEEK, max_ad_groups=2)
        later = NOW + timedelta(hours=1)
        refresh_bid_suggestions(
            client, engine, profile_id, now=later, max_age=WEEK, max_ad_groups=2
        )
        fetched = {group: at for group, *_, at in _stored(engine).values()}
        assert fetched == {groups[0]: NOW, groups[1]: NOW, groups[2]: later, groups[3]: later}
        rest = len(groups) - 4
        refresh_bid_suggestions(
            client, engine, profile_id, now=later, max_age=WEEK, max_ad_groups=rest
        )
        assert due_ad_groups(engine, profile_id, now=later, max_age=WEEK, limit=100) == []
        due = due_ad_groups(engine, profile_id, now=NOW + WEEK, max_age=WEEK, limit=100)
    assert due == groups[:2]


def test_a_refresh_replaces_the_groups_rows(sandbox, engine):
    """A target paused since the last fetch loses its suggestion; the others get the new fetch."""
    profile_id = sandbox.profiles[0]
    with _client(sandbox.transport(), sandbox) as client:
        sync_entities(client, engine, profile_id, now=NOW)
        refresh_bid_suggestions(
            client, engine, profile_id, now=NOW, max_age=WEEK, max_ad_groups=1000
        )
        first = _stored(engine)
        paused = sorted(first)[0]
        with engine.begin() as connection:
            connection.execute(
                update(TargetRecord.__table__)
                .where(TargetRecord.__table__.c.target_id == paused)
                .values(state="paused")
            )
        later = NOW + WEEK
        refresh_bid_suggestions(
            client, engine, profile_id, now=later, max_age=WEEK, max_ad_groups=1000
        )
    second = _stored(engine)
    assert set(second) == set(first) - {paused}
    assert {at for *_, at in second.values()} == {later}


def test_a_failed_call_ends_the_refresh_and_keeps_what_was_stored(sandbox, engine):
    """A server error is logged with the ad group and ends the refresh; earlier rows stay;
    nothing raises."""
    profile_id = sandbox.profiles[0]
    failing = CountingTransport(sandbox.transport(), status=500)
    with _client(sandbox.transport(), sandbox) as client:
        sync_entities(client, engine, profile_id, now=NOW)
        refresh_bid_suggestions(client, engine, profile_id, now=NOW, max_age=WEEK, max_ad_groups=1)
    before = _stored(engine)
    groups = due_ad_groups(engine, profile_id, now=NOW, max_age=WEEK, limit=5)
    with _client(failing, sandbox) as client, capture_logs() as logs:
        stored = refresh_bid_suggestions(
            client, engine, profile_id, now=NOW, max_age=WEEK, max_ad_groups=5
        )
    assert (stored, failing.calls, _stored(engine)) == (0, CALLS_FOR_ONE_500, before)
    failed = [e for e in logs if e["event"] == "bid_suggestions_failed"]
    assert [(e["ad_group_id"], e["ad_groups_done"], e["ad_groups_left"]) for e in failed] == [
        (groups[0], 0, 5)
    ]
    assert "refused by the test" in failed[0]["error"]


def test_a_refused_ad_group_backs_off_and_the_refresh_goes_on(tmp_path, engine):
    """Amazon's documented 422 for an ad group without an ASIN, through the real client: that
    group is recorded as refused and due again only after max_age (then twice that), and the
    refresh still fetches the ad groups after it."""
    with Sandbox.open(tmp_path / "own.sandbox", seed=5, targets=200) as box:
        profile_id = box.profiles[0]
        with _client(box.transport(), box) as client, capture_logs() as logs:
            sync_entities(client, engine, profile_id, now=NOW)
            groups = _enabled_groups(engine, profile_id)
            with box.store.transaction() as conn:
                conn.execute(
                    "UPDATE entities SET state = 'ARCHIVED' WHERE kind = 'product_ad' "
                    "AND ad_group_id = ?",
                    (groups[0],),
                )
            stored = refresh_bid_suggestions(
                client, engine, profile_id, now=NOW, max_age=WEEK, max_ad_groups=3
            )
            due_now = due_ad_groups(engine, profile_id, now=NOW, max_age=WEEK, limit=2)
            later = NOW + WEEK
            refresh_bid_suggestions(
                client, engine, profile_id, now=later, max_age=WEEK, max_ad_groups=1
            )
            with Session(engine) as session:
                refusal = session.exec(select(BidSuggestionRefusalRecord)).one()[0]
    refused = [e for e in logs if e["event"] == "bid_suggestions_refused"]
    assert stored > 0
    assert {group for group, *_ in _stored(engine).values()} == set(groups[1:3])
    assert due_now == groups[3:5]
    assert [(e["ad_group_id"], e["status"]) for e in refused] == [(groups[0], 422)] * 2
    assert (refusal.ad_group_id, refusal.status, refusal.refusals, refusal.retry_at) == (
        groups[0],
        422,
        2,
        later + 2 * WEEK,
    )
    assert "has no product ad" in refusal.reason


def test_fewer_suggested_bids_are_stored_with_nulls(tmp_path, engine):
    """Through the real client: a target without competition (no bidValues) gets no row, one
    whose range collapses to the marketplace floor (one value) is stored as the median alone,
    and the rest of the ad group keeps its full range."""
    with Sandbox.open(tmp_path / "own.sandbox", seed=5, targets=200) as box:
        profile_id = box.profiles[0]
        with _client(box.transport(), box) as client:
            sync_entities(client, engine, profile_id, now=NOW)
            group = _enabled_groups(engine, profile_id)[0]
            members = box.store.query(
                "SELECT entity_id, sim_key FROM entities WHERE kind IN ('keyword', 'target') "
                "AND state = 'ENABLED' AND ad_group_id = ? ORDER BY sim_key",
                (group,),
            )
            (none, one), rest = members[:2], members[2:]
            with box.store.transaction() as conn:
                for row, comp_bid in ((none, 0.0), (one, 0.001)):
                    conn.execute(
                        "UPDATE truths SET comp_bid = ? WHERE sim_key = ?",
                        (comp_bid, row["sim_key"]),
                    )
            refresh_bid_suggestions(
                client, engine, profile_id, now=NOW, max_age=WEEK, max_ad_groups=1
            )
    rows = _stored(engine)
    assert len(rest) > 0
    assert none["entity_id"] not in rows
    assert rows[one["entity_id"]] == (group, None, Decimal("0.02"), None, NOW)
    assert all(
        low is not None and median is not None and high is not None and low < median < high
        for key, (_, low, median, high, _) in rows.items()
        if key != one["entity_id"]
    )


def test_zero_ad_groups_turns_the_refresh_off(sandbox, engine):
    """``suggestion_ad_groups = 0`` makes no call at all."""
    profile_id = sandbox.profiles[0]
    counting = CountingTransport(sandbox.transport())
    with _client(counting, sandbox) as client:
        sync_entities(client, engine, profile_id, now=NOW)
        stored = refresh_bid_suggestions(
            client, engine, profile_id, now=NOW, max_age=WEEK, max_ad_groups=0
        )
    assert (stored, counting.calls, _stored(engine)) == (0, 0, {})


def test_a_cycle_fetches_suggestions_that_rules_can_read(
    settings_factory, agent_factory: type[AgentContext]
):
    """After one cycle the engine's targets carry Amazon's suggested bids."""
    settings = settings_factory("[ads]\nsuggestion_ad_groups = 4\n")
    ctx = agent_factory(settings)
    profile_id = ctx.sandbox.profiles[0]
    run_cycle(ctx, profile_id, load_rule_set([settings.rules_dir]), dry_run=True)
    with ctx.engine.connect() as connection:
        today = ctx.sandbox.today(profile_id)
        targets = read_engine_inputs(connection, profile_id, today).targets
    rows = _stored(ctx.engine)
    with_suggestion = targets.filter(targets["suggested_bid"].is_not_null())
    assert with_suggestion.height == len(rows) > 0
    assert with_suggestion["ad_group_id"].n_unique() == 4
    for row in with_suggestion.iter_rows(named=True):
        _, low, median, high, _ = rows[row["entity_id"]]
        got = (row["suggested_bid_low"], row["suggested_bid"], row["suggested_bid_high"])
        assert got == (float(low), float(median), float(high))
