"""One JSON shape for a change: review's keys first, then the change log's, JSON-native values."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bidagent.agent.change_json import CHANGE_KEYS, change_json
from bidagent.agent.review.items import CHANGE_KEYS as REVIEW_CHANGE_KEYS
from bidagent.cli.changes import LIST_COLUMNS
from bidagent.store import ChangeRecord

NOW = datetime(2025, 6, 2, 7, 0, tzinfo=UTC)


def test_an_update_in_the_one_shape() -> None:
    """Every key appears, in order; ``when`` is the finish time as ISO 8601."""
    row = ChangeRecord(
        id=3, cycle_id=1, profile_id="p1", entity_kind="keyword", entity_id="kw1",
        entity_name="shower head", field="bid", old_value="1.00", new_value="0.80",
        rule_name="bleeding-keywords", status="applied", updated_at=NOW, finished_at=NOW,
    )  # fmt: skip
    assert change_json(row) == {
        "id": 3, "profile_id": "p1", "entity_kind": "keyword", "entity_id": "kw1",
        "entity_name": "shower head", "field": "bid", "old_value": "1.00", "new_value": "0.80",
        "rule_name": "bleeding-keywords", "status": "applied", "reason": None,
        "when": "2025-06-02T07:00:00+00:00", "old": "1.00", "new": "0.80",
        "rule": "bleeding-keywords", "actor": "rule", "cycle_id": 1,
    }  # fmt: skip
    assert list(change_json(row)) == list(CHANGE_KEYS)
    json.dumps(change_json(row))  # JSON-native: no datetimes or Decimals left


def test_a_creation_reads_as_old_to_new() -> None:
    """A creation keeps ``new_value`` null and shows what it adds under ``new``."""
    row = ChangeRecord(
        id=4, profile_id="p1", entity_kind="search_term", entity_id="st1", field="negative_keyword",
        payload={"keyword_text": "shower heads", "match_type": "negative_exact"}, status="held",
        updated_at=NOW,
    )  # fmt: skip
    body = change_json(row)
    assert (body["new_value"], body["new"], body["when"], body["cycle_id"]) == (
        None,
        "negative_exact 'shower heads'",
        "2025-06-02T07:00:00+00:00",
        None,
    )


def test_review_and_the_change_log_use_the_one_shape() -> None:
    """Review's change keys are the shape; the change log's listing is a selection of it."""
    assert REVIEW_CHANGE_KEYS is CHANGE_KEYS
    assert set(LIST_COLUMNS) <= set(CHANGE_KEYS)
    assert CHANGE_KEYS[:11] == (
        "id", "profile_id", "entity_kind", "entity_id", "entity_name", "field", "old_value",
        "new_value", "rule_name", "status", "reason",
    )  # fmt: skip
