"""The shared vocabulary: a leaf module, one definition per closed set of names, pinned key text."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import bidagent.vocabulary as vocabulary
from bidagent.vocabulary import (
    ARCHIVE_KINDS,
    ASIN_PATTERN,
    CREATE_KINDS,
    ENTITY_KINDS,
    MONEY_FIELDS,
    REPORT_SOURCES,
    RULE_ENTITIES,
    RULE_ENTITY_KINDS,
    UPDATE_KINDS,
    Create,
    Update,
    is_asin,
    make_dedupe_key,
)

STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def test_vocabulary_imports_only_the_standard_library() -> None:
    """bidagent/vocabulary.py imports nothing from bidagent and nothing outside the stdlib."""
    tree = ast.parse(Path(vocabulary.__file__).read_text())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports"
            roots.add((node.module or "").split(".")[0])
    assert roots - STDLIB == set()


def test_the_sets_are_the_literal_types_values() -> None:
    """Each runtime set holds exactly the values of its Literal type, in the documented order."""
    assert RULE_ENTITIES == (
        "keyword", "product_target", "target", "ad_group", "campaign", "search_term"
    )  # fmt: skip
    assert ENTITY_KINDS == (
        "campaign", "ad_group", "keyword", "product_target", "negative_keyword",
        "campaign_negative_keyword", "negative_target", "campaign_negative_target",
    )  # fmt: skip
    assert sorted(UPDATE_KINDS) == ["ad_group", "campaign", "keyword", "product_target"]
    assert sorted(CREATE_KINDS) == [
        "campaign_negative_keyword", "campaign_negative_target", "keyword", "negative_keyword",
        "negative_target", "product_target",
    ]  # fmt: skip
    assert sorted(ARCHIVE_KINDS) == sorted(CREATE_KINDS)
    assert sorted(MONEY_FIELDS) == ["bid", "budget", "default_bid"]
    assert REPORT_SOURCES == ("targets", "search_terms", "campaigns")
    assert set(RULE_ENTITY_KINDS) == set(RULE_ENTITIES)
    assert RULE_ENTITY_KINDS["target"] == ("keyword", "product_target")
    assert set(ENTITY_KINDS) >= UPDATE_KINDS | CREATE_KINDS | ARCHIVE_KINDS


@pytest.mark.parametrize(
    ("text", "asin"),
    [
        ("B07XJ8C8F5", True),
        ("b07xj8c8f5", True),  # search-term reports lower-case them
        ("B0000ABCDE", True),
        ("0141439556", True),  # an ISBN-10 (a book's ASIN)
        ("014143955X", True),
        ("014143955x", True),
        ("B07XJ8C8F", False),  # nine characters
        ("B07XJ8C8F55", False),  # eleven
        ("A07XJ8C8F5", False),  # not B0
        ("B1XJ8C8F5A", False),
        ("B07XJ8C8F-", False),
        (" B07XJ8C8F5", False),
        ("B07XJ8C8F5\n", False),
        ("b07xj8c8f5 case", False),
        ("yoga mat", False),
        ("0141439556x", False),
        ("X141439556", False),
        ("", False),
        (None, False),
    ],
)  # fmt: skip
def test_is_asin_recognises_amazons_format(text: str | None, asin: bool) -> None:
    """An ASIN is B0 and 8 letters or digits, or an ISBN-10, in any case and nothing around it."""
    assert is_asin(text) is asin


def test_the_asin_pattern_reads_the_same_in_polars() -> None:
    """The sandbox's frames match terms with the same pattern text: both engines agree."""
    import polars as pl

    terms = ["B07XJ8C8F5", "b07xj8c8f5", "0141439556", "014143955x", "B07XJ8C8F", "yoga mat", "x"]
    matched = pl.Series(terms).str.contains(ASIN_PATTERN.pattern).to_list()
    assert matched == [is_asin(t) for t in terms] == [True, True, True, True, False, False, False]


def test_api_calls_are_values_with_the_old_log_labels() -> None:
    """Update/Create compare and hash by kind; str() is the label log lines always carried."""
    assert Update("keyword") != Create("keyword")
    assert {Update("keyword"): 1, Update("keyword"): 2} == {Update("keyword"): 2}
    assert [str(Update("campaign")), str(Create("campaign_negative_keyword"))] == [
        "campaign",
        "create:campaign_negative_keyword",
    ]


@pytest.mark.parametrize(
    ("parts", "key"),
    [
        (("alert", "P1", "bleeding", "keyword", "kw1"), "alert:P1:bleeding:keyword:kw1"),
        (("approval", "P1", "cut", "keyword", "kw1", "bid"), "approval:P1:cut:keyword:kw1:bid"),
        (("blast_radius", "P1", "cut"), "blast_radius:P1:cut"),
        (("circuit_breaker", "P1"), "circuit_breaker:P1"),
        (("conflict", "P1", "a|b", "bid"), "conflict:P1:a|b:bid"),
        (("data", "P1", "report:spTargeting"), "data:P1:report:spTargeting"),
        (("api", "all", "AuthError"), "api:all:AuthError"),
        (("api", "webhook_dead", "ops"), "api:webhook_dead:ops"),
        (("change-failed", "keyword", "kw1", "bid", "ENTITY_NOT_FOUND"),
         "change-failed:keyword:kw1:bid:ENTITY_NOT_FOUND"),
        (("rules", "/srv/rules"), "rules:/srv/rules"),
        (("api", None, "auth"), "api::auth"),
    ],
)  # fmt: skip
def test_dedupe_key_text_is_pinned(parts: tuple[str, ...], key: str) -> None:
    """Stored keys are matched against open items: each kind's exact text must not change."""
    assert make_dedupe_key(*parts) == key


def test_a_too_long_dedupe_key_is_hashed_to_the_column_width() -> None:
    """Past 512 characters the key keeps its head and ends in a sha256 of the whole."""
    key = make_dedupe_key("rules", "x" * 600)
    assert (len(key), key[:8], key[447]) == (512, "rules:xx", "#")
