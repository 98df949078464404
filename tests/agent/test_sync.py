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
    NegativeRecord,
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


def test_negative_targets_of_both_levels_are_synced_and_archived_when_gone(tmp_path, engine):
    """Negative product targets (ad group and campaign) are stored with their expression; one
    archived on Amazon is stored archived, one no longer listed is archived, none deleted."""
    with Sandbox.open(tmp_path / "sb.db", seed=11, targets=80, history_days=20) as box:
        profile_id = box.profiles[0]
        with _client(box.transport(), box) as client:
            auto = next(c for c in client.list_campaigns(profile_id) if c.targeting_type == "auto")
            group = client.list_ad_groups(profile_id, campaign_ids=[auto.campaign_id])[0]
            asin = [{"type": "asinSameAs", "value": "B0NEGATE01"}]
            other = [{"type": "asinSameAs", "value": "B0NEGATE02"}]
            made = client.create(profile_id, "negative_target", [
                {"campaign_id": auto.campaign_id, "ad_group_id": group.ad_group_id,
                 "expression": asin, "state": "enabled"},
                {"campaign_id": auto.campaign_id, "ad_group_id": group.ad_group_id,
                 "expression": other, "state": "enabled"},
            ])  # fmt: skip
            made += client.create(profile_id, "campaign_negative_target", [
                {"campaign_id": auto.campaign_id, "expression": asin, "state": "enabled"},
            ])  # fmt: skip
            first = sync_entities(client, engine, profile_id, now=NOW)
            client.archive(profile_id, "negative_target", [str(made[1].entity_id)])
            with Session(engine) as session:
                session.add(NegativeRecord(
                    kind="campaign_negative_target", negative_id="424242", profile_id=profile_id,
                    campaign_id=auto.campaign_id, expression=other, state="enabled",
                    synced_at=NOW,
                ))  # fmt: skip
                session.commit()
            second = sync_entities(client, engine, profile_id, now=NOW + timedelta(days=1))
    with Session(engine) as session:
        stored = session.exec(select(NegativeRecord).order_by(NegativeRecord.negative_id)).all()
    wire = {"B0NEGATE01": [{"type": "ASIN_SAME_AS", "value": "B0NEGATE01"}],
            "B0NEGATE02": [{"type": "ASIN_SAME_AS", "value": "B0NEGATE02"}]}  # fmt: skip
    assert sorted(
        (r[0].kind, r[0].negative_id, r[0].ad_group_id, r[0].keyword_text, r[0].match_type,
         r[0].expression, r[0].state)
        for r in stored
    ) == sorted([
        ("negative_target", made[0].entity_id, group.ad_group_id, None, None,
         wire["B0NEGATE01"], "enabled"),
        ("negative_target", made[1].entity_id, group.ad_group_id, None, None,
         wire["B0NEGATE02"], "archived"),
        ("campaign_negative_target", made[2].entity_id, None, None, None,
         wire["B0NEGATE01"], "enabled"),
        ("campaign_negative_target", "424242", None, None, None, other, "archived"),
    ])  # fmt: skip
    assert (first.negatives, second.negatives, second.archived) == (3, 3, 1)
    assert second.external_edits == 1  # the archive made on Amazon, not by bidagent


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
