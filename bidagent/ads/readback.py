"""Read back live entity state for reconcile: current values by id, and the match of a create.

Owns how a change whose outcome was ``unknown`` is checked against Amazon: the live fields a change
can touch, by entity id, for updates; and, for creates, which live entity is "the same" as a
create item (same ad group, or campaign for campaign negatives, same text and match type). Split
from :mod:`bidagent.ads.client` so the client's public methods stay thin calls. It must not write,
and must not decide what a read-back means for the ledger: that belongs to the agent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bidagent.ads.entities import EntityReader
from bidagent.ads.models import AdGroup, Campaign, Negative, Target

__all__ = ["current_values", "find_existing"]


def current_values(
    reader: EntityReader, profile_id: str, kind: str, ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Live values by id (see :meth:`AdsClient.get_current`); missing ids are absent. A target
    that inherits its ad group's default bid (``bid`` None) also carries that ``default_bid``."""
    listing: dict[str, Callable[..., Sequence[Any]]] = {
        "keyword": reader.keywords,
        "product_target": reader.targets,
        "campaign": reader.campaigns,
        "ad_group": reader.ad_groups,
        "negative_keyword": reader.negative_keywords,
        "campaign_negative_keyword": reader.campaign_negative_keywords,
    }
    if kind not in listing:
        raise ValueError(f"unknown entity kind {kind!r}")
    found = listing[kind](profile_id, ids=list(ids))
    current = {_entity_id(entity): entity.live() for entity in found}
    inheriting = sorted({e.ad_group_id for e in found if isinstance(e, Target) and e.bid is None})
    if inheriting:
        # A target without a bid of its own bids its ad group's default bid: read that too, so
        # the target's effective bid can be compared with what a change row stores.
        groups = {
            g.ad_group_id: g.default_bid for g in reader.ad_groups(profile_id, ids=inheriting)
        }
        for entity in found:
            if isinstance(entity, Target) and entity.bid is None:
                current[entity.target_id]["default_bid"] = groups.get(entity.ad_group_id)
    return current


def find_existing(
    reader: EntityReader, profile_id: str, kind: str, items: Sequence[dict[str, Any]]
) -> list[dict[str, Any] | None]:
    """For each create item, the live entity with the same parent, text and match type, or ``None``."""
    readers: dict[str, Callable[..., Sequence[Target | Negative]]] = {
        "keyword": reader.keywords,
        "negative_keyword": reader.negative_keywords,
        "campaign_negative_keyword": reader.campaign_negative_keywords,
    }
    read = readers[kind]
    campaigns = sorted({str(item["campaign_id"]) for item in items})
    found: Sequence[Target | Negative] = (
        read(profile_id, campaign_ids=campaigns) if campaigns else []
    )
    index: dict[tuple[Any, ...], dict[str, Any]] = {}
    for entity in found:
        if entity.state == "archived":
            continue  # archived is final: an archived namesake is not the entity a create made
        parent = entity.campaign_id if kind == "campaign_negative_keyword" else entity.ad_group_id
        key = (parent, entity.keyword_text, entity.match_type)
        index[key] = {"entity_id": _entity_id(entity), **entity.live()}
    out: list[dict[str, Any] | None] = []
    for item in items:
        parent = item["campaign_id"] if kind == "campaign_negative_keyword" else item["ad_group_id"]
        key = (str(parent), item["keyword_text"], str(item["match_type"]).lower())
        out.append(index.get(key))
    return out


def _entity_id(entity: Campaign | AdGroup | Target | Negative) -> str:
    # Each entity type names its id field differently; the ledger keys on the id alone.
    if isinstance(entity, Campaign):
        return entity.campaign_id
    if isinstance(entity, AdGroup):
        return entity.ad_group_id
    if isinstance(entity, Target):
        return entity.target_id
    return entity.negative_id
