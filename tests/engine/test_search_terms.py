"""Search-term rules: ASIN terms (term_kind), where negatives and harvests go, and why not."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from bidagent.engine import Plan, check_rule_set, evaluate, explain, load_rule_set
from bidagent.engine.frames import term_kinds
from bidagent.engine.ruletests import Case
from bidagent.engine.testdata import build_inputs, build_settings
from bidagent.vocabulary import is_asin

NOW = datetime(2024, 6, 20, 12, tzinfo=UTC)
CONVERTING = {"days": 30, "clicks": 10, "cost": 6, "orders": 2, "sales": 60}
WASTING = {"days": 30, "clicks": 15, "cost": 9.75}


def _case(case: dict[str, Any]) -> Case:
    return Case.model_validate({"name": "t", "expect": {}, **case})


def _plan(tmp_path: Path, rules: str, case: dict[str, Any], **options: Any) -> Plan:
    (tmp_path / "r.yaml").write_text("rules:\n" + rules)
    engine_settings = build_settings(options)
    inputs = build_inputs(_case(case), engine_settings, NOW)
    return evaluate(load_rule_set([tmp_path]), inputs, engine_settings, NOW)


def _made(plan: Plan) -> list[tuple[str, str, dict[str, Any] | None, str | None]]:
    return [(p.entity_id, p.field, p.payload, p.change_set) for p in plan.proposals]


def _skips(plan: Plan) -> list[tuple[str | None, str, str]]:
    return [(s.entity_id, s.reason, s.detail) for s in plan.skips]


def test_is_asin_knows_amazons_formats() -> None:
    """B0 and 8 alphanumerics or an ISBN-10, either case, the whole text; nothing else (callers
    strip a term before asking, as reports never pad one)."""
    yes = ["B0ABC12345", "b0abc12345", "B01NCFXK2Q", "059035342X", "0590353427", "059035342x"]
    no = ["B1ABC12345", "B0ABC1234", "B0ABC123456", "desk lamp", "05903534", "05903534XX",
          "B0ABC-2345", "", "b0abc12345 lamp", " B01NCFXK2Q "]  # fmt: skip
    assert [is_asin(t) for t in yes + no] == [True] * len(yes) + [False] * len(no)


@settings(max_examples=300, deadline=None)
@given(
    texts=st.lists(
        st.one_of(
            st.text(max_size=14),
            st.from_regex(r"\s*(?:[bB]0[0-9A-Za-z]{8}|[0-9]{9}[0-9Xx])\s*", fullmatch=True),
            st.none(),
        ),
        max_size=20,
    )
)
def test_term_kind_is_is_asin_for_every_text(texts: list[str | None]) -> None:
    """The frame's term_kind column says "asin" exactly where is_asin holds, whatever the text."""
    got = term_kinds(pl.Series("search_term", texts, dtype=pl.Utf8)).to_list()
    assert got == ["asin" if t is not None and is_asin(t) else "keyword" for t in texts]


def _terms(*terms: str, targeting: str = "manual") -> dict[str, Any]:
    """Search terms of one product-targeting ad group g1 of campaign c1."""
    return {
        "entities": {
            "campaigns": [
                {"entity_id": "c1", "campaign_name": "SP 1", "targeting_type": targeting}
            ],
            "ad_groups": [{"entity_id": "g1", "campaign_id": "c1", "ad_group_name": "Lamps"}],
            "targets": [
                {
                    "entity_id": "t1",
                    "ad_group_id": "g1",
                    "entity_kind": "product_target",
                    "targeting": 'category="1"',
                }
            ],
            "search_terms": [
                {"entity_id": f"st{i}", "source_id": "t1", "search_term": t}
                for i, t in enumerate(terms)
            ],
        },
        "facts": [{"entity_id": f"st{i}", **WASTING} for i in range(len(terms))],
    }


def test_term_kind_and_targeting_type_are_names_of_search_term_rules(tmp_path: Path) -> None:
    """A filter on term_kind and targeting_type selects the ASIN terms of manual campaigns."""
    rule = (
        '  - {name: n, entity: search_term, filter: \'term_kind == "asin" and '
        'targeting_type == "manual"\', window: 30d, when: clicks >= 12, then: {negate: exact}}\n'
    )
    plan = _plan(tmp_path, rule, _terms("desk lamp", "B0ABC12345"))
    assert _made(plan) == [
        ("st1", "negative_target",
         {"asin": "B0ABC12345", "level": "ad_group", "campaign_id": "c1", "ad_group_id": "g1"},
         None),
    ]  # fmt: skip
    rule_set = load_rule_set([tmp_path])
    engine_settings = build_settings({})
    inputs = build_inputs(_case(_terms("desk lamp", "B0ABC12345")), engine_settings, NOW)
    shown = explain(rule_set, "n", "st1", inputs, engine_settings, NOW)
    assert (shown.values["term_kind"], shown.values["targeting_type"]) == ("asin", "manual")
    assert shown.conditions[0] == ("filter: term_kind == 'asin'", True)


CAMPAIGN_NEGATE = (
    "  - {name: n, entity: search_term, window: 30d, when: clicks >= 12,"
    " then: {negate: phrase, level: campaign}}\n"
)


def test_campaign_level_asin_negatives_only_in_auto_campaigns(tmp_path: Path) -> None:
    """An ASIN negated at campaign level is a campaign negative target in an auto campaign, and
    an ad-group one in a manual campaign (Amazon has none there); a keyword stays at campaign."""
    auto = _plan(tmp_path, CAMPAIGN_NEGATE, _terms("b0abc12345", "lamp", targeting="auto"))
    manual = _plan(tmp_path, CAMPAIGN_NEGATE, _terms("b0abc12345", targeting="manual"))
    assert _made(auto) == [
        ("st0", "negative_target",
         {"asin": "B0ABC12345", "level": "campaign", "campaign_id": "c1", "ad_group_id": None}, None),
        ("st1", "negative_keyword",
         {"keyword_text": "lamp", "match_type": "negative_phrase", "level": "campaign",
          "campaign_id": "c1", "ad_group_id": None}, None),
    ]  # fmt: skip
    assert _made(manual) == [
        ("st0", "negative_target",
         {"asin": "B0ABC12345", "level": "ad_group", "campaign_id": "c1", "ad_group_id": "g1"}, None),
    ]  # fmt: skip
    assert manual.proposals[0].notes[-1].startswith("level campaign: a manual campaign takes no")


def _groups(*groups: tuple[str, str, str, str]) -> dict[str, Any]:
    """Campaigns and ad groups from (ad group id, name, campaign name, targeting type), and one
    converting keyword term "desk lamp" in the auto ad group "Lamp 1" of "SP Auto 1"."""
    campaigns = {c: t for _, _, c, t in groups}
    return {
        "entities": {
            "campaigns": [
                {"entity_id": c, "campaign_name": c, "targeting_type": t}
                for c, t in campaigns.items()
            ],
            "ad_groups": [
                {"entity_id": g, "campaign_id": c, "ad_group_name": n} for g, n, c, _ in groups
            ],
            "targets": [
                {
                    "entity_id": "t1",
                    "ad_group_id": "src",
                    "entity_kind": "product_target",
                    "targeting": "close-match",
                    "match_type": "targeting_expression_predefined",
                }
            ],
            "search_terms": [{"entity_id": "st1", "source_id": "t1", "search_term": "desk lamp"}],
        },
        "facts": [{"entity_id": "st1", **CONVERTING}],
    }


SOURCE = ("src", "Lamp 1", "SP Auto 1", "auto")


def _harvest(where: str) -> str:
    return (
        "  - {name: h, entity: search_term, window: 30d, when: orders >= 2, "
        f"then: {{harvest: {{bid: 0.5, {where}}}}}}}\n"
    )


def _destination(tmp_path: Path, where: str, *groups: tuple[str, str, str, str]) -> str:
    """The ad group the harvest goes to, or the skip's detail."""
    plan = _plan(tmp_path, _harvest(where), _groups(SOURCE, *groups))
    if plan.proposals:
        (proposal,) = plan.proposals
        return str(proposal.ad_group_id)
    (skip,) = [s for s in plan.skips if s.reason == "no_destination"]
    return skip.detail


def test_destination_patterns(tmp_path: Path) -> None:
    """Ids, exact names, * globs and placeholders find one manual ad group, or say why not."""
    manual = [("d1", "Lamp 1", "SP Auto 1 Manual", "manual"), ("d2", "Lamp 10", "SP Auto 1 Manual", "manual"),
              ("d3", "Lamp 1", "Exact", "manual"), ("d4", "Lamp 1", "SP Auto 1 Copy", "auto")]  # fmt: skip
    cases = {
        'campaign: "{campaign} Manual", ad_group: "{ad_group}"': "d1",
        'campaign: "{campaign} Manual"': "d1",
        "ad_group: d2": "d2",
        'ad_group: "Lamp 1*", campaign: "SP Auto 1 Manual"': (
            "2 manual ad groups match 'SP Auto 1 Manual / Lamp 1*' (ids d1, d2): name one"
        ),
        'ad_group: "Lamp 1"': "2 manual ad groups match 'Lamp 1' (ids d1, d3): name one",
        'ad_group: "*0"': "d2",
        'campaign: "SP Auto 1 Copy"': "no manual ad group matches 'SP Auto 1 Copy / Lamp 1' (1 in auto-targeting campaigns)",
        'campaign: "{campaign} Exact"': "no manual ad group matches 'SP Auto 1 Exact / Lamp 1'",
        'campaign: "Ex*", ad_group: "{ad_group}"': "d3",
    }  # fmt: skip
    got = {where: _destination(tmp_path, where, *manual) for where in cases}
    assert got == cases


def test_placeholder_values_are_literal_text(tmp_path: Path) -> None:
    """A * in the source's name is not a glob: "{ad_group}" of "Lamp*" matches only "Lamp*"."""
    source = ("src", "Lamp*", "SP Auto 1", "auto")
    groups = [("d1", "Lamp 1", "M", "manual"), ("d2", "Lamp*", "M", "manual")]
    plan = _plan(tmp_path, _harvest('campaign: "M"'), _groups(source, *groups))
    assert [p.ad_group_id for p in plan.proposals] == ["d2"]


def test_archived_destinations_and_sources_do_not_count(tmp_path: Path) -> None:
    """An archived ad group, or one in an archived campaign, is no destination (the auto source
    of the same name is not one either)."""
    case = _groups(SOURCE, ("d1", "Lamp 1", "M", "manual"), ("d2", "Lamp 1", "N", "manual"))
    case["entities"]["ad_groups"][1]["state"] = "archived"
    case["entities"]["campaigns"][2]["state"] = "archived"
    plan = _plan(tmp_path, _harvest('ad_group: "Lamp 1"'), case)
    assert _skips(plan) == [
        (
            "st1",
            "no_destination",
            "no manual ad group matches 'Lamp 1' (1 in auto-targeting campaigns)",
        )
    ]


def test_default_destination_is_a_manual_source(tmp_path: Path) -> None:
    """Without ad_group or campaign, an auto source is skipped with the way out named."""
    rule = "  - {name: h, entity: search_term, window: 30d, when: orders >= 2, then: {harvest: {bid: 0.5}}}\n"
    plan = _plan(tmp_path, rule, _groups(SOURCE))
    assert _skips(plan) == [
        ("st1", "no_destination", "source ad group 'Lamp 1' is in an auto-targeting campaign: "
         "name a manual destination with harvest.ad_group"),
    ]  # fmt: skip


def test_an_empty_destination_takes_one_kind_per_cycle(tmp_path: Path) -> None:
    """The first harvest into an empty ad group decides its kind: a keyword term and an ASIN term
    into the same new ad group are one keyword and one skip naming why."""
    case = _groups(SOURCE, ("d1", "Lamp 1", "M", "manual"))
    case["entities"]["search_terms"].append(
        {"entity_id": "st2", "source_id": "t1", "search_term": "B0ABC12345"}
    )
    case["facts"].append({"entity_id": "st2", **CONVERTING})
    plan = _plan(tmp_path, _harvest('campaign: "M"'), case)
    assert [(p.entity_id, p.field, p.ad_group_id) for p in plan.proposals] == [
        ("st1", "keyword", "d1")
    ]
    assert _skips(plan) == [
        ("st2", "no_destination", "no manual ad group matching 'M / Lamp 1' can take product "
         "targets: keywords there already (an ad group holds keywords or product targets, not both)"),
    ]  # fmt: skip


def test_a_term_negated_in_its_destination_is_not_harvested(tmp_path: Path) -> None:
    """A new keyword that a negative in its destination would block is a skip, not a change."""
    case = _groups(SOURCE, ("d1", "Lamp 1", "M", "manual"))
    case["entities"]["negatives"] = [
        {"campaign_id": "M", "keyword_text": "Desk Lamp", "match_type": "negative_phrase"}
    ]
    plan = _plan(tmp_path, _harvest('campaign: "M"'), case)
    assert _skips(plan) == [
        ("st1", "negated_in_destination",
         "'desk lamp' is negated in ad group 'Lamp 1' or its campaign: a new target would not serve"),
    ]  # fmt: skip


def test_bad_placeholders_are_load_errors_with_positions(tmp_path: Path) -> None:
    """An unknown placeholder in harvest.ad_group or harvest.campaign names its line."""
    path = tmp_path / "r.yaml"
    path.write_text(
        "rules:\n  - name: h\n    entity: search_term\n    when: orders >= 2\n    then:\n"
        "      harvest: {bid: 0.5, ad_group: '{group}', campaign: '{campaign:>9}'}\n"
    )
    _, problems = check_rule_set([tmp_path])
    assert [(p.line, p.message) for p in problems] == [
        (6, "ad_group: unknown placeholder '{group}': use {campaign} or {ad_group} "
            "(write {{ and }} for literal braces)"),
        (6, "campaign: unknown placeholder '{campaign}': use {campaign} or {ad_group} "
            "(write {{ and }} for literal braces)"),
    ]  # fmt: skip


def test_harvest_bids_are_money(tmp_path: Path) -> None:
    """A product target's bid is rounded to the marketplace step and within the rule's limits."""
    case = _groups(SOURCE, ("d1", "Lamp 1", "M", "manual"))
    case["entities"]["search_terms"][0]["search_term"] = "b0abc12345"
    rule = (
        "  - {name: h, entity: search_term, window: 30d, when: orders >= 2, limits: {max_bid: 0.4},"
        " then: {harvest: {bid: 'cpc * 1.111', campaign: M}}}\n"
    )
    plan = _plan(tmp_path, rule, case)
    assert _made(plan) == [
        ("st1", "product_target",
         {"asin": "B0ABC12345", "bid": Decimal("0.40"), "campaign_id": "M", "ad_group_id": "d1"}, None),
    ]  # fmt: skip
