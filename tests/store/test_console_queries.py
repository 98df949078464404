"""The console's store reads on SQLite and PostgreSQL: the change log's filters, names and
keyset paging, the profile status, daily performance, users and the generated secret."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.engine import Engine

from bidagent.store import (
    AdGroupRecord,
    CampaignFactRecord,
    CampaignRecord,
    CycleRecord,
    ProfileRecord,
    ReportDayRecord,
    TargetFactRecord,
    TargetRecord,
    UserRecord,
    session_scope,
)
from bidagent.store import Session as StoreSession
from bidagent.store.change_log import (
    ChangeFilter,
    change_facets,
    change_log_row,
    count_changes,
    page_changes,
    reverts_of,
)
from bidagent.store.performance import change_days, daily_totals, entity_days
from bidagent.store.profile_status import profile_statuses
from bidagent.store.transitions import new_change
from bidagent.store.users import (
    delete_user,
    insert_user,
    set_api_token,
    stored_secret,
    user_by_token_hash,
    user_count,
)

NOW = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)
DAY = date(2025, 6, 10)


def _seed(engine: Engine) -> list[int]:
    """A profile with one campaign, ad group and keyword, two cycles, and 30 changes."""
    with session_scope(engine) as session:
        session.add(ProfileRecord(profile_id="1", name="US", country_code="US",
                                  currency_code="USD", timezone="America/New_York"))  # fmt: skip
        session.flush()
        session.add(CampaignRecord(campaign_id="10", profile_id="1", name="Kettles",
                                   state="enabled", targeting_type="manual", synced_at=NOW))  # fmt: skip
        session.flush()
        session.add(AdGroupRecord(ad_group_id="20", profile_id="1", campaign_id="10",
                                  name="Steel", state="enabled", synced_at=NOW))  # fmt: skip
        session.flush()
        session.add(TargetRecord(kind="keyword", target_id="30", profile_id="1", campaign_id="10",
                                 ad_group_id="20", state="enabled", bid=Decimal("1.00"),
                                 match_type="exact", keyword_text="steel kettle",
                                 synced_at=NOW))  # fmt: skip
        for offset, cost in ((1, 5.0), (2, 7.5)):
            day = DAY - timedelta(days=offset)
            session.add(CampaignFactRecord(campaign_id="10", date=day, profile_id="1",
                                           cost=cost, sales=20.0, orders=2, clicks=9))  # fmt: skip
            session.add(TargetFactRecord(entity_kind="keyword", entity_id="30", date=day,
                                         profile_id="1", cost=cost, sales=20.0, clicks=9))  # fmt: skip
            session.add(ReportDayRecord(profile_id="1", source="targets", date=day, pulled_at=NOW))
        cycles = [
            CycleRecord(profile_id="1", business_date=DAY - timedelta(days=n), mode="live",
                        outcome="succeeded", started_at=NOW, recorded_at=NOW + timedelta(seconds=n))
            for n in (2, 1)
        ]  # fmt: skip
        session.add_all(cycles)
        session.flush()
        ids = []
        for n in range(30):
            row = new_change(
                profile_id="1", entity_kind="keyword", entity_id="30", entity_name="steel kettle",
                campaign_id="10", ad_group_id="20", field="bid", old_value="1.00",
                new_value=f"1.{n:02d}", rule_name="raise" if n % 3 else "Lower_50%",
                status="applied" if n % 2 else "held", actor="rule" if n % 5 else "external",
            )  # fmt: skip
            row.cycle_id = cycles[n % 2].id
            row.created_at = row.updated_at = NOW - timedelta(hours=n)
            session.add(row)
            session.flush()
            ids.append(row.id or 0)
    return ids


def test_change_log_filters_names_and_keyset_paging(engine: Engine) -> None:
    """Filters combine; the text filter's % and _ are literal; pages by id visit every row once;
    each row carries the campaign, ad group and keyword names."""
    ids = _seed(engine)
    with StoreSession(engine) as session:
        everything = ChangeFilter()
        assert count_changes(session, everything) == 30
        seen: list[int] = []
        before = None
        while page := page_changes(session, everything, before_id=before, limit=7):
            seen += [row.change.id or 0 for row in page]
            before = page[-1].change.id
        assert seen == sorted(ids, reverse=True)
        first = page_changes(session, everything, before_id=None, limit=1)[0]
        assert (first.campaign_name, first.ad_group_name, first.keyword_text, first.match_type) == (
            "Kettles", "Steel", "steel kettle", "exact",
        )  # fmt: skip
        held_external = ChangeFilter(status="held", actor="external", campaign_id="10")
        assert [r.change.id for r in page_changes(session, held_external, before_id=None,
                                                  limit=50)] == [
            ids[n] for n in (20, 10, 0)
        ]  # fmt: skip
        literal = ChangeFilter(text="r_50%")
        assert count_changes(session, literal) == 10
        assert count_changes(session, ChangeFilter(text="LOWER_5")) == 10
        assert count_changes(session, ChangeFilter(text="x%")) == 0
        window = ChangeFilter(created_from=NOW - timedelta(hours=4), created_until=NOW)
        assert count_changes(session, window) == 4
        assert count_changes(session, everything, from_id=ids[25]) == 5
        assert change_facets(session) == (["Lower_50%", "raise"], ["bid"], ["external", "rule"])
        row = change_log_row(session, ids[3])
        assert row is not None and row.change.id == ids[3]
        assert change_log_row(session, 999_999) is None
        assert reverts_of(session, ids[3]) == []


def test_profile_status_and_performance(engine: Engine) -> None:
    """The profile's newest cycle, newest successful one and newest report day; daily totals,
    one entity's days and the days cycles applied changes."""
    _seed(engine)
    with StoreSession(engine) as session:
        (status,) = profile_statuses(session)
        assert (status.profile_id, status.name, status.timezone) == ("1", "US", "America/New_York")
        assert status.last_cycle is not None and status.last_success is not None
        assert status.last_cycle.business_date == DAY - timedelta(days=1)
        assert status.newest_days == {"targets": DAY - timedelta(days=1)}
        totals = daily_totals(session, None, DAY - timedelta(days=5), DAY)
        assert [(t.date, t.cost, t.orders) for t in totals] == [
            (DAY - timedelta(days=2), 7.5, 2), (DAY - timedelta(days=1), 5.0, 2),
        ]  # fmt: skip
        assert daily_totals(session, ["2"], DAY - timedelta(days=5), DAY) == []
        days = entity_days(session, "keyword", "30", DAY - timedelta(days=5), DAY)
        assert [(d.date, d.clicks) for d in days] == [
            (DAY - timedelta(days=2), 9), (DAY - timedelta(days=1), 9),
        ]  # fmt: skip
        assert entity_days(session, "ad_group", "20", DAY - timedelta(days=1), DAY)[0].cost == 5.0
        assert entity_days(session, "negative_keyword", "30", DAY, DAY) == []
        # The applied changes (odd n) all belong to the second cycle.
        assert change_days(session, ["1"], DAY - timedelta(days=5), DAY) == {
            DAY - timedelta(days=1): 15
        }


def test_users_tokens_and_the_stored_secret(engine: Engine) -> None:
    """A name is unique; a token hash finds its user; the secret is generated once and kept."""
    with session_scope(engine) as session:
        assert insert_user(session, UserRecord(name="ann", role="admin", created_at=NOW))
        assert not insert_user(session, UserRecord(name="ann", role="viewer", created_at=NOW))
        assert set_api_token(session, "ann", "ab" * 32, NOW)
        assert not set_api_token(session, "bob", "cd" * 32, NOW)
    with StoreSession(engine) as session:
        found = user_by_token_hash(session, "ab" * 32)
        assert found is not None and (found.name, found.role) == ("ann", "admin")
        assert user_count(session) == 1
    with session_scope(engine) as session:
        assert delete_user(session, "ann") and not delete_user(session, "ann")
    first = stored_secret(engine, "session", "generated-one", NOW)
    assert (first, stored_secret(engine, "session", "another", NOW)) == ("generated-one",) * 2
