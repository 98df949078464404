"""Sync: copy one profile's entities and daily reports from the Ads API into the store.

Owns the sync steps of the cycle (docs/architecture.md §3): list every entity (negative keywords and
negative product targets at both levels included) and upsert it, marking the ones that
disappeared as archived (never deleting: the ledger and facts still point at them; see
``bidagent.store.entity_sync``), and record in the same transaction every field that changed
since the previous sync without a change of ours (``bidagent.agent.cycle.external_edits``); fetch the three reports for a date range, validate them all, then
replace the pulled days' rows whole. HTTP happens first and the database second, so no transaction is held open across a call. A malformed report raises ``ReportFailed``
before anything of it is written, so what is stored stays as it was. It must not decide what a
rejected report means for the cycle (the caller opens the review item).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import polars as pl
import structlog

from bidagent.ads import AdsClient
from bidagent.ads.client import ReportType
from bidagent.agent.cycle.external_edits import record_external_edits
from bidagent.errors import ApiError, ReportFailed
from bidagent.store import (
    AdGroupRecord,
    CampaignFactRecord,
    CampaignRecord,
    Engine,
    NegativeRecord,
    SearchTermFactRecord,
    TargetFactRecord,
    TargetRecord,
    session_scope,
)
from bidagent.store.base_bids import based_targets
from bidagent.store.entity_sync import write_entities, write_listed
from bidagent.store.fact_days import replace_fact_days
from bidagent.store.report_entities import KnownEntities, known_entities

__all__ = ["SyncCounts", "sync_dayparted", "sync_entities", "sync_reports"]

log = structlog.get_logger(__name__)

REPORT_TABLES: dict[
    str, type[TargetFactRecord] | type[SearchTermFactRecord] | type[CampaignFactRecord]
] = {
    "spTargeting": TargetFactRecord,
    "spSearchTerm": SearchTermFactRecord,
    "spCampaigns": CampaignFactRecord,
}


@dataclass
class SyncCounts:
    """Rows written by one sync, by kind (``archived``: entities no longer listed)."""

    profiles: int = 0
    campaigns: int = 0
    ad_groups: int = 0
    targets: int = 0
    negatives: int = 0
    archived: int = 0
    orphans: int = 0
    external_edits: int = 0
    target_facts: int = 0
    search_term_facts: int = 0
    campaign_facts: int = 0


def sync_entities(
    client: AdsClient, engine: Engine, profile_id: str, *, now: datetime
) -> SyncCounts:
    """List every entity of ``profile_id`` and store it in one transaction, with an
    ``external`` change row for each field edited outside bidagent since the previous sync.

    An entity whose parent was not listed (the API's paging is not snapshot-consistent) is skipped
    and counted as an orphan; the next sync picks it up.
    """
    profiles = [p for p in client.list_profiles() if p.profile_id == profile_id]
    if not profiles:
        raise ApiError(f"profile {profile_id} is not among the profiles this login can manage")
    campaigns = client.list_campaigns(profile_id)
    ad_groups = client.list_ad_groups(profile_id)
    targets = [*client.list_keywords(profile_id), *client.list_targets(profile_id)]
    negatives = [
        *client.list_negative_keywords(profile_id),
        *client.list_campaign_negative_keywords(profile_id),
        *client.list_negative_targets(profile_id),
        *client.list_campaign_negative_targets(profile_id),
    ]

    campaign_ids = {c.campaign_id for c in campaigns}
    kept_groups = [g for g in ad_groups if g.campaign_id in campaign_ids]
    group_ids = {g.ad_group_id for g in kept_groups}
    kept_targets = [t for t in targets if t.ad_group_id in group_ids]
    counts = SyncCounts(
        profiles=1,
        campaigns=len(campaigns),
        ad_groups=len(kept_groups),
        targets=len(kept_targets),
        negatives=len(negatives),
        orphans=len(ad_groups) - len(kept_groups) + len(targets) - len(kept_targets),
    )
    with session_scope(engine) as session:
        written = write_entities(
            session,
            profile_id,
            profiles[0].to_record(now),
            [
                (CampaignRecord, [c.to_record(profile_id, now) for c in campaigns]),
                (AdGroupRecord, [g.to_record(profile_id, now) for g in kept_groups]),
                (TargetRecord, [t.to_record(profile_id, now) for t in kept_targets]),
                (NegativeRecord, [n.to_record(profile_id, now) for n in negatives]),
            ],
            now=now,
        )
        counts.archived = written.archived
        counts.external_edits = record_external_edits(
            session, profile_id, written.differences, now=now
        )
    log.debug("entities_synced", profile_id=profile_id, **vars(counts))
    return counts


def sync_dayparted(client: AdsClient, engine: Engine, profile_id: str, *, now: datetime) -> int:
    """Re-read only the targets a dayparting period holds (a daypart cycle does no full sync),
    so a person's edit during the period is recorded and becomes the base the period's end
    restores. Returns how many external edits were recorded."""
    with session_scope(engine) as session:
        held = based_targets(session, profile_id)
    if not held:
        return 0
    keywords = [i for kind, i in held if kind == "keyword"]
    products = [i for kind, i in held if kind == "product_target"]
    listed = [
        *(client.list_keywords(profile_id, ids=keywords) if keywords else []),
        *(client.list_targets(profile_id, ids=products) if products else []),
    ]
    with session_scope(engine) as session:
        differences = write_listed(
            session, profile_id, [(TargetRecord, [t.to_record(profile_id, now) for t in listed])]
        )
        return record_external_edits(session, profile_id, differences, now=now)


def sync_reports(
    client: AdsClient, engine: Engine, profile_id: str, *, start: date, end: date
) -> SyncCounts:
    """Fetch and validate the targeting, search-term and campaign reports of ``start..end``,
    then replace each table's rows for ``start..end`` by them, all in one transaction.

    Every report is parsed in full before anything is written: a ``ReportFailed`` (carrying
    ``report_type``, ``profile_id``, ``start``, ``end``) leaves the store exactly as it was.
    A re-pulled day's rows replace that day's earlier rows whole: attribution restates
    conversions, and a row the new pull no longer holds is removed.
    """
    frames: dict[str, pl.DataFrame] = {}
    report_types: tuple[ReportType, ...] = ("spTargeting", "spSearchTerm", "spCampaigns")
    for report_type in report_types:
        frames[report_type] = client.fetch_facts(profile_id, report_type, start, end)
    _check_against_entities(frames, known_entities(engine, profile_id), profile_id, start, end)
    counts = SyncCounts()
    # A re-pull is the whole truth for its days: rows it no longer holds go (one transaction).
    replace_fact_days(
        engine,
        profile_id,
        start,
        end,
        {model: frames[name] for name, model in REPORT_TABLES.items()},
    )
    counts.target_facts = frames["spTargeting"].height
    counts.search_term_facts = frames["spSearchTerm"].height
    counts.campaign_facts = frames["spCampaigns"].height
    log.debug("reports_synced", profile_id=profile_id, start=start.isoformat(),
             end=end.isoformat(), target_facts=counts.target_facts,
             search_term_facts=counts.search_term_facts,
             campaign_facts=counts.campaign_facts)  # fmt: skip
    return counts


def _rejected(report_type: str, profile_id: str, start: date, end: date, why: str) -> ReportFailed:
    error = ReportFailed(
        f"{report_type} report for profile {profile_id}, {start}..{end} rejected: {why}"
    )
    fields = {"report_type": report_type, "profile_id": profile_id, "start": start, "end": end}
    for name, value in fields.items():  # the fields ads/report_rows.py sets on its rejections
        setattr(error, name, value)
    return error


def _check_against_entities(
    frames: dict[str, pl.DataFrame], known: KnownEntities, profile_id: str, start: date, end: date
) -> None:
    """Raise ``ReportFailed`` for a report that names entities never listed, or that is empty
    where activity is certain, so its days are not recorded as pulled (the caller opens the
    ``data`` review item). A quiet profile (no enabled campaign) may have empty reports."""
    days = (end - start).days + 1
    campaigns = frames["spCampaigns"]
    if campaigns.is_empty() and known.enabled_campaigns:
        raise _rejected("spCampaigns", profile_id, start, end,
                        f"no rows for {days} day(s) while {known.enabled_campaigns} campaign(s) "
                        "are enabled")  # fmt: skip
    clicks = int(campaigns["clicks"].sum()) if campaigns.height else 0
    if frames["spTargeting"].is_empty() and clicks:
        raise _rejected("spTargeting", profile_id, start, end,
                        f"no rows for {days} day(s) while campaigns had {clicks} click(s)")  # fmt: skip
    checks = [
        ("spTargeting", ["entity_kind", "entity_id"], known.targets),
        ("spSearchTerm", ["source_kind", "source_id"], known.targets),
    ]
    for report_type, key, targets in checks:
        pairs = frames[report_type].select(key).unique().rows()
        unknown = sorted(p for p in pairs if p not in targets)
        if unknown:
            raise _rejected(report_type, profile_id, start, end,
                            f"{len(unknown)} row key(s) name targets never listed for this profile, "
                            f"e.g. {unknown[0][0]} {unknown[0][1]}")  # fmt: skip
    for report_type in ("spSearchTerm", "spCampaigns"):
        ids = set(frames[report_type]["campaign_id"].unique().to_list())
        missing = sorted(ids - known.campaigns)
        if missing:
            raise _rejected(report_type, profile_id, start, end,
                            f"{len(missing)} campaign(s) never listed for this profile, "
                            f"e.g. {missing[0]}")  # fmt: skip
