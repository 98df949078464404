"""Sync of entities and reports from the sandbox's fake Ads API into a SQLite store."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from bidagent.ads import AdsClient
from bidagent.agent.cycle.sync import sync_entities, sync_reports
from bidagent.errors import ReportFailed
from bidagent.sandbox import Sandbox
from bidagent.store import (
    AdGroupRecord,
    CampaignFactRecord,
    CampaignRecord,
    ProfileRecord,
    SearchTermFactRecord,
    TargetFactRecord,
    TargetRecord,
    make_engine,
    upgrade_database,
)

NOW = datetime(2025, 6, 2, 12, tzinfo=UTC)


class CorruptDownloads(httpx.BaseTransport):
    """Wraps the sandbox transport and damages report files for one report type."""

    def __init__(self, inner: httpx.BaseTransport, damage) -> None:
        self.inner = inner
        self.damage = damage

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.host.endswith("amazonaws.com") and response.status_code == 200:
            return httpx.Response(200, content=self.damage(response.read()))
        return response


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


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with Sandbox.open(tmp_path_factory.mktemp("sb") / "sb.db", seed=7, targets=300) as box:
        yield box


def _count(engine, model) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()[0]


def test_sync_entities_stores_everything_listed(sandbox, engine):
    """Profile, campaigns, ad groups and targets land in the store with our spellings."""
    profile_id = sandbox.profiles[0]
    with _client(sandbox.transport(), sandbox) as client:
        counts = sync_entities(client, engine, profile_id, now=NOW)
        keywords = client.list_keywords(profile_id)
    assert counts.profiles == 1
    assert counts.orphans == 0
    assert _count(engine, ProfileRecord) == 1
    assert _count(engine, CampaignRecord) == counts.campaigns > 0
    assert _count(engine, AdGroupRecord) == counts.ad_groups > 0
    assert _count(engine, TargetRecord) == counts.targets > 0
    with Session(engine) as session:
        stored = session.get(TargetRecord, ("keyword", keywords[0].target_id))
    assert stored is not None
    assert (stored.state, stored.match_type, stored.bid) == (
        keywords[0].state, keywords[0].match_type, keywords[0].bid
    )  # fmt: skip


def test_entity_no_longer_listed_is_archived_not_deleted(sandbox, engine):
    """A stored target the API no longer lists is marked archived and kept."""
    profile_id = sandbox.profiles[0]
    with _client(sandbox.transport(), sandbox) as client:
        sync_entities(client, engine, profile_id, now=NOW)
        with Session(engine) as session:
            template = session.exec(select(TargetRecord)).first()[0]
            kind = template.kind
            ghost = TargetRecord(
                **{**template.model_dump(), "target_id": "424242", "state": "enabled"}
            )
            session.add(ghost)
            session.commit()
        counts = sync_entities(client, engine, profile_id, now=NOW + timedelta(days=1))
    assert counts.archived == 1
    with Session(engine) as session:
        row = session.get(TargetRecord, (kind, "424242"))
    assert (row.state, row.synced_at) == ("archived", NOW + timedelta(days=1))


def test_sync_reports_stores_three_fact_tables_and_repull_overwrites(sandbox, engine):
    """Facts of all three reports are stored; pulling the same days again adds no rows."""
    profile_id = sandbox.profiles[0]
    end = sandbox.today(profile_id) - timedelta(days=1)
    start = end - timedelta(days=6)
    with _client(sandbox.transport(), sandbox) as client:
        sync_entities(client, engine, profile_id, now=NOW)
        first = sync_reports(client, engine, profile_id, start=start, end=end)
        again = sync_reports(client, engine, profile_id, start=start, end=end)
    assert first == again
    assert first.target_facts > 0
    assert (_count(engine, TargetFactRecord), _count(engine, SearchTermFactRecord),
            _count(engine, CampaignFactRecord)) == (
        first.target_facts, first.search_term_facts, first.campaign_facts)  # fmt: skip


def _negative_clicks(content: bytes) -> bytes:
    rows = json.loads(gzip.decompress(content))
    if rows and "searchTerm" in rows[0]:
        rows[len(rows) // 2]["clicks"] = -3
    return gzip.compress(json.dumps(rows).encode())


def _truncate(content: bytes) -> bytes:
    return content[: len(content) // 2]


@pytest.mark.parametrize(
    ("damage", "message"),
    [(_negative_clicks, "column 'clicks'"), (_truncate, "not a complete gzip stream")],
)
def test_malformed_report_writes_nothing_and_keeps_stored_facts(sandbox, engine, damage, message):
    """A damaged report raises ReportFailed with its fields; facts stored before are untouched."""
    profile_id = sandbox.profiles[0]
    end = sandbox.today(profile_id) - timedelta(days=1)
    start = end - timedelta(days=2)
    with _client(sandbox.transport(), sandbox) as client:
        sync_entities(client, engine, profile_id, now=NOW)
        sync_reports(client, engine, profile_id, start=start, end=end)
    with Session(engine) as session:
        before = session.exec(select(TargetFactRecord)).all()
    broken = CorruptDownloads(sandbox.transport(), damage)
    with _client(broken, sandbox) as client, pytest.raises(ReportFailed) as caught:
        sync_reports(client, engine, profile_id, start=start - timedelta(days=5), end=end)
    assert message in str(caught.value)
    assert caught.value.profile_id == profile_id
    assert caught.value.report_type in ("spTargeting", "spSearchTerm")
    assert caught.value.end == end
    with Session(engine) as session:
        assert session.exec(select(TargetFactRecord)).all() == before


@pytest.mark.slow
def test_sixty_days_of_20000_targets_end_to_end(tmp_path):
    """A 20,000-target account syncs entities and 60 days of reports into SQLite."""
    with Sandbox.open(tmp_path / "big.db", seed=11, targets=20_000, history_days=60) as big:
        db = make_engine(f"sqlite:///{tmp_path}/big-store.db")
        upgrade_database(db)
        profile_id = big.profiles[0]
        end = big.today(profile_id) - timedelta(days=1)
        with _client(big.transport(), big) as client:
            entities = sync_entities(client, db, profile_id, now=NOW)
            facts = sync_reports(client, db, profile_id, start=end - timedelta(days=59), end=end)
        assert entities.targets >= 20_000 * 0.9
        assert _count(db, TargetRecord) == entities.targets
        assert _count(db, TargetFactRecord) == facts.target_facts > 100_000
        db.dispose()
