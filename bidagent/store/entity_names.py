"""The names people read beside a change: campaign and ad group names, a target's keyword text or
targeting and match type, a profile's marketplace and currency, from the synced entity tables.

Owns those read statements (chunked ``IN`` lists, so a plan of any size stays within SQLite's
bound-variable limit). It must not shape anything for display (the agent's change views do) and
must not ask the API for a name it does not have: a missing name is simply absent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from bidagent.store.entities import AdGroupRecord, CampaignRecord, ProfileRecord, TargetRecord

__all__ = ["EntityNames", "ProfileName", "TargetName", "campaigns_matching", "entity_names"]

_CHUNK = 500  # ids per IN list: well under SQLite's 999 bound variables on old builds


@dataclass(frozen=True)
class TargetName:
    """What a keyword or product target is: its text (or targeting) and match type."""

    text: str | None
    match_type: str | None


@dataclass(frozen=True)
class ProfileName:
    """A stored profile as a person names it."""

    profile_id: str
    name: str | None
    country_code: str
    currency_code: str
    timezone: str


@dataclass
class EntityNames:
    """Names found for the ids asked; an id without a stored row is absent from its mapping."""

    profiles: dict[str, ProfileName] = field(default_factory=dict)
    campaigns: dict[str, str] = field(default_factory=dict)
    ad_groups: dict[str, str] = field(default_factory=dict)
    targets: dict[tuple[str, str], TargetName] = field(default_factory=dict)


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    unique = sorted({i for i in ids if i})
    for start in range(0, len(unique), _CHUNK):
        yield unique[start : start + _CHUNK]


def entity_names(
    session: Session,
    *,
    profile_ids: Iterable[str] = (),
    campaign_ids: Iterable[str] = (),
    ad_group_ids: Iterable[str] = (),
    targets: Iterable[tuple[str, str]] = (),
) -> EntityNames:
    """The stored names of the given profiles, campaigns, ad groups and (kind, id) targets."""
    found = EntityNames()
    for chunk in _chunks(profile_ids):
        for p in session.exec(
            select(ProfileRecord).where(col(ProfileRecord.profile_id).in_(chunk))
        ):
            found.profiles[p.profile_id] = ProfileName(
                p.profile_id, p.name, p.country_code, p.currency_code, p.timezone
            )
    for chunk in _chunks(campaign_ids):
        query = select(CampaignRecord.campaign_id, CampaignRecord.name).where(
            col(CampaignRecord.campaign_id).in_(chunk)
        )
        found.campaigns.update(dict(session.exec(query).all()))
    for chunk in _chunks(ad_group_ids):
        query = select(AdGroupRecord.ad_group_id, AdGroupRecord.name).where(
            col(AdGroupRecord.ad_group_id).in_(chunk)
        )
        found.ad_groups.update(dict(session.exec(query).all()))
    wanted = {(kind, tid) for kind, tid in targets if kind and tid}
    for chunk in _chunks(tid for _, tid in wanted):
        rows = session.exec(select(TargetRecord).where(col(TargetRecord.target_id).in_(chunk)))
        for t in rows:
            if (t.kind, t.target_id) in wanted:
                found.targets[(t.kind, t.target_id)] = TargetName(
                    t.keyword_text or t.targeting, t.match_type
                )
    return found


def campaigns_matching(session: Session, profile_ids: Iterable[str], id_or_name: str) -> list[str]:
    """Ids of the stored campaigns of ``profile_ids`` whose id is ``id_or_name`` or whose name is
    it, ignoring case."""
    wanted = id_or_name.casefold()
    query = select(CampaignRecord.campaign_id, CampaignRecord.name).where(
        col(CampaignRecord.profile_id).in_(sorted(set(profile_ids)))
    )
    return sorted(
        cid for cid, name in session.exec(query) if cid == id_or_name or name.casefold() == wanted
    )
