"""``bidagent changes`` on a real sandbox cycle and two edits made outside bidagent: context in
every row (campaign, ad group, keyword or target, old -> new in dollars with the step, what a
creation adds), paging with a footer that says how far it got, the console's filters, and
``changes show`` with the same context."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner, Result

from bidagent.ads import EntityUpdate
from bidagent.agent.context import AgentContext
from bidagent.agent.cycle.change_requests import CREATION_FIELDS
from bidagent.cli.app import app
from bidagent.settings import load_settings
from bidagent.store import ChangeRecord, make_engine
from bidagent.store.entities import AdGroupRecord, CampaignRecord, ProfileRecord, TargetRecord
from tests.cli.conftest import invoke, json_of, sandbox_config


@dataclass
class Ledger:
    """The ledger and the synced names a test compares the listing with."""

    config: Path
    changes: list[ChangeRecord]  # newest first, as the listing
    campaigns: dict[str, str]
    ad_groups: dict[str, str]
    targets: dict[tuple[str, str], tuple[str, str | None]]  # (kind, id) -> (text, match type)
    currencies: set[str]


def _read(config: Path) -> Ledger:
    engine = make_engine(load_settings(config).database.url)
    try:
        with Session(engine) as session:
            changes = list(session.exec(select(ChangeRecord)))
            campaigns = {c.campaign_id: c.name for c in session.exec(select(CampaignRecord))}
            groups = {g.ad_group_id: g.name for g in session.exec(select(AdGroupRecord))}
            targets = {
                (t.kind, t.target_id): (t.keyword_text or t.targeting or "", t.match_type)
                for t in session.exec(select(TargetRecord))
            }
            currencies = {p.currency_code for p in session.exec(select(ProfileRecord))}
    finally:
        engine.dispose()
    changes.sort(key=lambda c: -(c.id or 0))
    return Ledger(config, changes, campaigns, groups, targets, currencies)


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    """One cycle, then a campaign budget and a keyword bid edited through the Ads API as a
    person's tool would, recorded as external edits by the next sync (`plan`)."""
    config = sandbox_config(tmp_path_factory.mktemp("changes"))
    assert invoke(config, "cycle").exit_code == 0
    touched = {c.entity_id for c in _read(config).changes}
    with AgentContext.open(load_settings(config)) as agent:
        (profile_id,) = {c.profile_id for c in _read(config).changes}
        campaign = next(c for c in agent.client.list_campaigns(profile_id) if c.budget)
        keyword = next(
            k
            for k in agent.client.list_keywords(profile_id)
            if k.bid and k.state == "enabled" and k.target_id not in touched
        )
        agent.client.update(
            profile_id, "campaign", [EntityUpdate(campaign.campaign_id, budget=Decimal("1234.5"))]
        )
        agent.client.update(profile_id, "keyword", [EntityUpdate(keyword.target_id, bid=Decimal("2.10"))])  # fmt: skip
    assert invoke(config, "plan").exit_code == 0
    found = _read(config)
    assert {c.actor for c in found.changes} == {"rule", "external"}
    return found


def _money(value: str) -> str:
    return f"${Decimal(value):,.2f}"


def _expected_change(c: ChangeRecord, ledger: Ledger) -> str:
    """The change as one line, worked out here from the ledger and the synced names."""
    payload = c.payload or {}
    if c.field in CREATION_FIELDS:
        noun = c.field.replace("_", " ")
        what = f"asin {payload['asin']}" if "asin" in payload else f'"{payload["keyword_text"]}"'
        match = f" {payload['match_type']}" if "match_type" in payload else ""
        bid = f", bid {_money(payload['bid'])}" if "bid" in payload else ""
        return f"+ {noun} {what}{match}{bid}"
    if c.entity_kind == "campaign":
        label = "campaign"
    else:
        text, match_type = ledger.targets[(c.entity_kind, c.entity_id)]
        if c.entity_kind == "keyword":
            label = f'keyword "{text}" {match_type}'
        elif (match_type or "").endswith("predefined"):
            label = f"auto target {text}"
        else:
            label = f"product target {text}"
    assert c.old_value is not None and c.new_value is not None
    if c.field == "state":
        symbol = "-" if c.new_value in ("paused", "archived") else "~"
        return f"{symbol} {label}: state {c.old_value} -> {c.new_value}"
    old, new = Decimal(c.old_value), Decimal(c.new_value)
    step = round(float((new - old) / old), 4)
    return f"~ {label}: {c.field} {_money(c.old_value)} -> {_money(c.new_value)} ({step:+.1%})"


def _where(c: ChangeRecord) -> tuple[str | None, str | None]:
    """The campaign and ad group a change lands in (a creation: its payload's)."""
    if c.field in CREATION_FIELDS:
        payload = c.payload or {}
        return payload.get("campaign_id"), payload.get("ad_group_id")
    if c.entity_kind == "campaign":
        return c.entity_id, None
    return c.campaign_id, c.ad_group_id


def _listing(config: Path, *args: str) -> list[dict[str, Any]]:
    return list(json_of(invoke(config, "changes", "--limit", "0", "--format", "json", *args)))


def test_every_row_has_its_context(ledger: Ledger) -> None:
    """Each row names its campaign and ad group, the keyword or target with its match type, and
    old -> new in dollars with the step; creations (keywords, negative keywords, product targets
    on an ASIN, negative targets) show what they add and never read as blank."""
    rows = _listing(ledger.config)
    assert [r["id"] for r in rows] == [c.id for c in ledger.changes]
    assert {"keyword", "negative_keyword", "product_target", "negative_target", "bid", "budget",
            "state"} <= {r["field"] for r in rows}  # fmt: skip
    assert ledger.currencies == {"USD"}
    for row, change in zip(rows, ledger.changes, strict=True):
        campaign_id, ad_group_id = _where(change)
        assert campaign_id is not None, change
        assert (row["campaign_id"], row["campaign"]) == (campaign_id, ledger.campaigns[campaign_id])
        assert (row["ad_group_id"], row["ad_group"]) == (
            ad_group_id, ledger.ad_groups.get(ad_group_id or ""),
        )  # fmt: skip
        assert (row["change"], row["currency"]) == (_expected_change(change, ledger), "USD")
        assert row["new"] is not None, row
    external = [r for r in rows if r["actor"] == "external"]
    assert sorted(r["field"] for r in external) == ["bid", "budget"]
    budget = next(r for r in external if r["field"] == "budget")
    assert budget["change"].endswith(f"-> $1,234.50 ({budget['step']:+.1%})")


def test_the_table_shows_the_same_context(ledger: Ledger) -> None:
    """The table has one line per change: id, time, campaign, ad group, the change, rule, status
    and actor, then the footer."""
    rows = _listing(ledger.config)
    result = CliRunner().invoke(
        app, ["--config", str(ledger.config), "changes", "--limit", "0"], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = [cell.strip() for cell in lines[2].strip("┃").split("┃")]
    assert header == [
        "id",
        "when (UTC)",
        "campaign",
        "ad group",
        "change",
        "rule",
        "status",
        "actor",
    ]
    shown = [
        [cell.strip() for cell in line.strip("│").split("│")]
        for line in lines
        if line.startswith("│")
    ]
    assert shown == [
        [str(r["id"]), datetime.fromisoformat(r["when"]).strftime("%Y-%m-%d %H:%M"),
         r["campaign"], r["ad_group"] or "", r["change"], r["rule"] or "", r["status"], r["actor"]]
        for r in rows
    ]  # fmt: skip
    assert lines[-1] == f"showing {len(rows)} of {len(rows)}"


def _page(config: Path, *args: str) -> tuple[list[int], str]:
    result = invoke(config, "changes", "--format", "json", *args)
    return [r["id"] for r in json_of(result)], result.stderr


def test_pages_walk_the_whole_log_and_say_where_they_are(ledger: Ledger) -> None:
    """`--limit 10` pages, newest first, follow `next page: --before ID` to the end; each
    footer says which rows of how many it shows, and the last names no next page."""
    ids = [c.id or 0 for c in ledger.changes]
    total = len(ids)
    seen: list[int] = []
    args: tuple[str, ...] = ()
    while True:
        page, footer = _page(ledger.config, "--limit", "10", *args)
        first = len(seen) + 1
        seen += page
        more = f"; next page: --before {page[-1]}" if len(seen) < total else ""
        assert (
            footer
            == f"showing {len(page)} of {total} (rows {first}-{len(seen)}, newest first){more}\n"
        )
        if not more:
            break
        args = ("--before", str(page[-1]))
    assert seen == ids and total > 20
    assert _page(ledger.config, "--limit", "0") == (ids, f"showing {total} of {total}\n")
    table = invoke(ledger.config, "changes", "--limit", "5", "--before", str(ids[2]))
    assert table.stdout.splitlines()[-1] == (
        f"showing 5 of {total} (rows 4-8, newest first); next page: --before {ids[7]}"
    )
    assert (
        invoke(ledger.config, "changes")
        .stdout.splitlines()[-1]
        .startswith(f"showing {min(total, 100)} of {total}")
    )


def test_nothing_matching_says_so(ledger: Ledger) -> None:
    """A filter nothing matches prints that, and the footer counts 0 of 0; exit 0."""
    result = invoke(ledger.config, "changes", "--text", "no such text anywhere")
    assert (result.exit_code, result.stdout) == (0, "No change matches.\nshowing 0 of 0\n")


def test_filters_keep_exactly_the_matching_changes(ledger: Ledger) -> None:
    """--campaign (id or name), --ad-group, --actor, --field, --text, --profile, --since and
    --until keep exactly the changes that match, newest first."""
    config, changes = ledger.config, ledger.changes
    campaign_id = next(c.campaign_id for c in changes if c.field == "state" and c.campaign_id)
    in_campaign = [
        c.id for c in changes
        if c.campaign_id == campaign_id or (c.entity_kind == "campaign" and c.entity_id == campaign_id)
    ]  # fmt: skip
    name = ledger.campaigns[campaign_id]

    def ids(*args: str) -> list[int | None]:
        return [r["id"] for r in _listing(config, *args)]

    assert ids("--campaign", campaign_id) == in_campaign and in_campaign
    assert ids("--campaign", name.upper()) == in_campaign
    group = next(c.ad_group_id for c in changes if c.campaign_id == campaign_id and c.ad_group_id)
    assert ids("--ad-group", str(group)) == [c.id for c in changes if c.ad_group_id == group]
    assert ids("--actor", "external") == [c.id for c in changes if c.actor == "external"]
    assert ids("--field", "negative_target") == [
        c.id for c in changes if c.field == "negative_target"
    ]
    text = next(c.entity_name for c in changes if c.field == "keyword")
    assert text is not None
    assert ids("--text", text.upper()) == [
        c.id
        for c in changes
        if any(
            text.lower() in (v or "").lower()
            for v in (c.entity_name, c.entity_id, c.rule_name, c.reason)
        )
    ]
    (profile_id,) = {c.profile_id for c in changes}
    assert ids("--profile", profile_id) == [c.id for c in changes]
    assert ids("--profile", "1") == []
    day = min((c.updated_at or datetime.min).astimezone(UTC).date() for c in changes)
    late = max((c.updated_at or datetime.min).astimezone(UTC).date() for c in changes)
    everything = [c.id for c in changes]
    assert ids("--since", day.isoformat(), "--until", late.isoformat()) == everything
    assert ids("--until", (day - timedelta(days=1)).isoformat()) == []
    assert ids("--since", (late + timedelta(days=1)).isoformat()) == []
    newest = max(c.updated_at or datetime.min for c in changes)
    assert ids("--until", newest.isoformat()) == [
        c.id for c in changes if (c.updated_at or datetime.min) < newest
    ]


def test_a_campaign_name_two_campaigns_share_asks_for_an_id(tmp_path: Path) -> None:
    """--campaign with a name two synced campaigns share exits 2 naming both ids; one id works,
    and a name no campaign has exits 1."""
    config = sandbox_config(tmp_path)
    assert invoke(config, "plan").exit_code == 0
    engine = make_engine(load_settings(config).database.url)
    try:
        with Session(engine) as session:
            first = session.exec(select(CampaignRecord)).first()
            assert first is not None
            twin = CampaignRecord(**{**first.model_dump(), "campaign_id": "9" * 15})
            session.add(twin)
            session.commit()
            name, ids = first.name, sorted([first.campaign_id, twin.campaign_id])
    finally:
        engine.dispose()
    twice = invoke(config, "changes", "--campaign", name)
    assert (twice.exit_code, twice.stdout, twice.stderr) == (
        2, "", f"error: --campaign: {name!r} names 2 campaigns ({', '.join(ids)}): give one id, "
        "or --profile\n",
    )  # fmt: skip
    one = invoke(config, "changes", "--campaign", ids[0])
    assert (one.exit_code, one.stdout) == (0, "No change matches.\nshowing 0 of 0\n")
    missing = invoke(config, "changes", "--campaign", "No Such Campaign")
    assert (missing.exit_code, missing.stderr) == (
        1, "error: --campaign: no campaign with id or name 'No Such Campaign' in the synced data\n",
    )  # fmt: skip


def _show(config: Path, change_id: int | None) -> Result:
    result = CliRunner().invoke(
        app, ["--config", str(config), "changes", "show", str(change_id)], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("field", ["keyword", "negative_target", "bid", "budget"])
def test_show_gives_the_same_context(ledger: Ledger, field: str) -> None:
    """`changes show ID` opens with the change as the listing reads it, then the campaign and ad
    group by name and id, the evidence with ratios as percents and money in dollars; `--format
    json` holds the same context beside every ledger column."""
    change = next(c for c in ledger.changes if c.field == field)
    (listed,) = [r for r in _listing(ledger.config) if r["id"] == change.id]
    lines = _show(ledger.config, change.id).stdout.splitlines()
    campaign_id, ad_group_id = _where(change)
    assert campaign_id is not None
    expected = [listed["change"], f'campaign: "{ledger.campaigns[campaign_id]}" ({campaign_id})']
    if ad_group_id:
        expected.append(f'ad group: "{ledger.ad_groups[ad_group_id]}" ({ad_group_id})')
    assert lines[: len(expected)] == expected
    evidence = {k: v for k, v in (change.evidence or {}).items() if k != "state"}
    if evidence:
        shown = lines[len(expected)]
        assert shown.startswith("evidence: ")
        for key, value in evidence.items():
            if key in ("acos", "target_acos"):
                assert f"{key} {float(value):.1%}" in shown
            if key in ("cost", "cpc", "bid"):
                assert f"{key} {_money(str(value))}" in shown
    assert f"id: {change.id}" in lines
    if change.rule_hash:
        assert f"rule_hash: {change.rule_hash}" in lines
    body = json_of(invoke(ledger.config, "changes", "show", str(change.id), "--format", "json"))
    context = [
        "action",
        "campaign",
        "ad_group",
        "target",
        "match_type",
        "step",
        "currency",
        "change",
    ]
    assert {k: body[k] for k in context} == {k: listed[k] for k in context}
    assert (body["old_value"], body["new_value"], body["evidence"]) == (
        change.old_value, change.new_value, json.loads(json.dumps(change.evidence)),
    )  # fmt: skip
