"""Read back live entity state for reconcile: current values by id, and the match of a create.

Owns how a change whose outcome was ``unknown`` is checked against Amazon: the live fields a change
can touch, by entity id, for updates; and, for creates, which live entity is "the same" as a
create item (same ad group, or campaign for campaign negatives, and the same text and match type
or the same expression). Split
from :mod:`bidagent.ads.client` so the client's public methods stay thin calls. It must not write,
and must not decide what a read-back means for the ledger: that belongs to the agent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bidagent.ads.entities import EntityReader
from bidagent.ads.models import AdGroup, Campaign, Negative, Target, predicate_type

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
        "negative_target": reader.negative_targets,
        "campaign_negative_target": reader.campaign_negative_targets,
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
    """For each create item, the live entity (not archived) with the same parent and the same
    text and match type (keywords, negative keywords) or expression (product targets, negative
    targets; values compared case-insensitively, as an ASIN in a search term is lower case), or
    ``None``."""
    readers: dict[str, Callable[..., Sequence[Target | Negative]]] = {
        "keyword": reader.keywords,
        "negative_keyword": reader.negative_keywords,
        "campaign_negative_keyword": reader.campaign_negative_keywords,
        "product_target": reader.targets,
        "negative_target": reader.negative_targets,
        "campaign_negative_target": reader.campaign_negative_targets,
    }
    read = readers[kind]
    campaign_level = kind.startswith("campaign_")
    campaigns = sorted({str(item["campaign_id"]) for item in items})
    found: Sequence[Target | Negative] = (
        read(profile_id, campaign_ids=campaigns) if campaigns else []
    )
    index: dict[tuple[Any, ...], dict[str, Any]] = {}
    for entity in found:
        if entity.state == "archived":
            continue  # archived is final: an archived namesake is not the entity a create made
        parent = entity.campaign_id if campaign_level else entity.ad_group_id
        key = (parent, *_natural_key(kind, entity.keyword_text, entity.match_type,
                                     entity.expression))  # fmt: skip
        index[key] = {"entity_id": _entity_id(entity), **entity.live()}
    out: list[dict[str, Any] | None] = []
    for item in items:
        parent = item["campaign_id"] if campaign_level else item["ad_group_id"]
        natural = _natural_key(kind, item.get("keyword_text"), item.get("match_type"),
                               item.get("expression"))  # fmt: skip
        out.append(index.get((str(parent), *natural)))
    return out


def _natural_key(
    kind: str, text: Any, match_type: Any, expression: Sequence[dict[str, Any]] | None
) -> tuple[Any, ...]:
    """What makes two entities of ``kind`` under one parent the same (Amazon's uniqueness key)."""
    if kind in ("product_target", "negative_target", "campaign_negative_target"):
        return tuple(
            (predicate_type(p.get("type", "")), str(p.get("value") or "").lower())
            for p in expression or []
        )
    return (text, None if match_type is None else str(match_type).lower())


def _entity_id(entity: Campaign | AdGroup | Target | Negative) -> str:
    # Each entity type names its id field differently; the ledger keys on the id alone.
    if isinstance(entity, Campaign):
        return entity.campaign_id
    if isinstance(entity, AdGroup):
        return entity.ad_group_id
    if isinstance(entity, Target):
        return entity.target_id
    return entity.negative_id
