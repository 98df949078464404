"""The entities a report may name: one profile's target and campaign ids, archived ones included.

Owns the one read the report sync needs to tell a row about a known entity from a row about one
bidagent has never listed (a report for the wrong profile, or a broken file). It must not judge a
report: :mod:`bidagent.agent.cycle.sync` does.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from bidagent.store.entities import CampaignRecord, TargetRecord

__all__ = ["KnownEntities", "known_entities"]


class KnownEntities:
    """Target keys (kind, id) and campaign ids of one profile, and how many campaigns are enabled."""

    def __init__(self, targets: set[tuple[str, str]], campaigns: set[str], enabled: int) -> None:
        self.targets = targets
        self.campaigns = campaigns
        self.enabled_campaigns = enabled


def known_entities(engine: Engine, profile_id: str) -> KnownEntities:
    """Every target and campaign stored for ``profile_id`` (archived too: old days name them)."""
    with Session(engine) as session:
        targets = session.exec(
            select(TargetRecord.kind, TargetRecord.target_id).where(
                TargetRecord.profile_id == profile_id
            )
        ).all()
        campaigns = session.exec(
            select(CampaignRecord.campaign_id).where(CampaignRecord.profile_id == profile_id)
        ).all()
        enabled = session.exec(
            select(func.count()).where(
                CampaignRecord.profile_id == profile_id, CampaignRecord.state == "enabled"
            )
        ).one()
    return KnownEntities({(k, t) for k, t in targets}, set(campaigns), int(enabled))
