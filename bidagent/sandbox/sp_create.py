"""SP v3 batch creates (``POST /sp/<entity>``): harvested keywords, negatives, targets, and more.

Owns applying a create: each item is validated (:mod:`bidagent.sandbox.sp_create_checks`) and
refused or given a new id, stored, logged, and answered in the 207 body; a new ad group in an AUTO
campaign gets Amazon's four auto targets. Each new keyword or target gets hidden truths so it takes
part in the simulation: a harvested keyword, or a product target on a harvested ASIN term, inherits
the traffic and conversion rate of the search term it was harvested from (a keyword spelling an
ASIN gets no searches: nobody types one). Where a keyword or target may be created at all is
checked before (:mod:`bidagent.sandbox.sp_targeting_checks`). It must not update existing
entities.
"""

from __future__ import annotations

import json
import random
import sqlite3
from typing import TYPE_CHECKING, Any

import httpx

from bidagent.sandbox.catalog_targets import AUTO_PREDICATES
from bidagent.sandbox.entity_specs import EntitySpec
from bidagent.sandbox.responses import ApiRequest
from bidagent.sandbox.sp_batch import ItemError, batch_items, fetch, multi_status, success_item
from bidagent.sandbox.sp_create_checks import check_create_item
from bidagent.sandbox.store import ENTITY_COLUMNS
from bidagent.vocabulary import is_asin

if TYPE_CHECKING:
    from bidagent.sandbox.sandbox import Sandbox

__all__ = ["create_entities"]


def _new_id(sandbox: Sandbox, conn: sqlite3.Connection, profile: str, kind: str) -> str:
    count = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM entities").fetchone()[0]
    draw = random.Random(f"{sandbox.seed}:{kind}:{count}")
    while True:
        candidate = str(draw.randrange(10**13, 10**15))
        if fetch(conn, profile, kind, candidate) is None:
            return candidate


def _add_truth(
    sandbox: Sandbox, conn: sqlite3.Connection, row: dict[str, Any], auto_type: str | None = None
) -> None:
    """Give a new keyword or target its hidden truths (harvested terms keep theirs)."""
    sim_key = conn.execute("SELECT COALESCE(MAX(sim_key), -1) + 1 FROM truths").fetchone()[0]
    row["sim_key"] = sim_key
    draw = random.Random(f"{sandbox.seed}:{row['profile_id']}:{row['entity_id']}")
    product = conn.execute(
        "SELECT data FROM entities WHERE profile_id = ? AND kind = 'product_ad' AND "
        "ad_group_id = ? ORDER BY seq LIMIT 1",
        (row["profile_id"], row["ad_group_id"]),
    ).fetchone()
    facts = json.loads(product[0]) if product else {}
    price, margin = float(facts.get("price", 25.0)), float(facts.get("margin", 0.3))
    term = (row["text"] or "").lower()
    if row["expression"] and not term:
        term = str(json.loads(row["expression"])[0].get("value", auto_type or "")).lower()
    # A keyword spelling an ASIN matches what shoppers type, and nobody types an ASIN: the ASIN
    # term it was taken from is a product page, which keywords do not reach. It gets no searches.
    spelled_asin = row["kind"] == "keyword" and is_asin(term)
    source = conn.execute(
        "SELECT SUM(t.volume * s.weight), AVG(t.ctr), SUM(t.cvr * s.cvr_mult * s.weight) / "
        "SUM(s.weight), AVG(t.comp_bid) FROM terms s JOIN truths t ON t.sim_key = s.sim_key "
        "WHERE t.profile_id = ? AND lower(s.term) = ?",
        (row["profile_id"], term),
    ).fetchone()
    if source and source[0] and not spelled_asin:
        volume, ctr, cvr, comp_bid = source
    else:
        comp_bid = draw.uniform(0.4, 1.6)
        volume, ctr = draw.uniform(50, 400), draw.uniform(0.002, 0.008)
        cvr = min(0.4, comp_bid * draw.uniform(0.6, 1.8) / (price * margin))
        volume = 0.0 if spelled_asin else volume
    conn.execute(
        "INSERT INTO truths VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            sim_key,
            row["profile_id"],
            row["kind"],
            row["entity_id"],
            volume,
            ctr,
            cvr,
            comp_bid,
            price,
            margin,
            draw.uniform(0, 0.3),
            draw.uniform(0, 7),
        ),
    )
    conn.execute("INSERT INTO terms VALUES (?, ?, 1.0, 1.0)", (sim_key, term or "*"))


def create_entities(sandbox: Sandbox, api: ApiRequest, spec: EntitySpec) -> httpx.Response:
    """``POST /sp/<entity>``: create each item or refuse it on its own (207)."""
    items = batch_items(api, spec)
    profile = api.profile_id or ""
    success: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    store = sandbox.store
    with store.transaction() as conn:
        now = store.get_meta("now") or ""
        for index, item in enumerate(items):
            prefix = f"$.{spec.key}[{index}]"
            try:
                if not isinstance(item, dict):
                    raise ItemError(
                        "malformedValueError",
                        "PATTERN_NOT_MATCHED",
                        "item must be an object",
                        cause={"location": prefix},
                    )
                row = check_create_item(sandbox, conn, spec, profile, item, prefix)
            except ItemError as exc:
                errors.append(exc.item(index))
                continue
            created = [row]
            row["entity_id"] = _new_id(sandbox, conn, profile, spec.kind)
            row["data"] = json.dumps({**json.loads(row["data"]), "created": now})
            if spec.kind == "campaign":
                row["campaign_id"] = row["entity_id"]
            if spec.kind == "ad_group":
                row["ad_group_id"] = row["entity_id"]
            if spec.kind in ("keyword", "target"):
                _add_truth(sandbox, conn, row)
            store.insert_entities(conn, [row])
            if spec.kind == "ad_group" and _is_auto(conn, profile, row["campaign_id"]):
                created += _auto_targets(sandbox, conn, row, now)
            for made in created:
                store.log_write(
                    conn,
                    at=now,
                    request_id=api.request_id,
                    profile_id=profile,
                    kind=made["kind"],
                    entity_id=made["entity_id"],
                    field="created",
                    old=None,
                    new=made["state"],
                )
            success.append(
                success_item(api, spec, index, fetch(conn, profile, spec.kind, row["entity_id"]))
            )
    return multi_status(api, spec, success, errors)


def _is_auto(conn: sqlite3.Connection, profile: str, campaign_id: str) -> bool:
    row = fetch(conn, profile, "campaign", campaign_id)
    return row is not None and json.loads(row["data"]).get("targetingType") == "AUTO"


def _auto_targets(
    sandbox: Sandbox, conn: sqlite3.Connection, group: dict[str, Any], now: str
) -> list[dict[str, Any]]:
    """Amazon creates the four auto targets of a new ad group in an AUTO campaign, bid-less."""
    rows = []
    for predicate in AUTO_PREDICATES:
        row = dict.fromkeys(ENTITY_COLUMNS)
        row.update(
            profile_id=group["profile_id"],
            kind="target",
            state="ENABLED",
            campaign_id=group["campaign_id"],
            ad_group_id=group["ad_group_id"],
            expression=json.dumps([{"type": predicate}]),
            expression_type="AUTO",
            data=json.dumps({"created": now}),
        )
        row["entity_id"] = _new_id(sandbox, conn, group["profile_id"], "target")
        _add_truth(sandbox, conn, row, auto_type=predicate)
        sandbox.store.insert_entities(conn, [row])
        rows.append(row)
    return rows
