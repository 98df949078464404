"""A change as the console shows it: the one JSON shape of a change
(:func:`bidagent.agent.change_json.change_json`) plus the names the change log joins in (campaign,
ad group, the keyword's text or the target's expression, the match type) and the % step of a
money change. The change log, a change's page and the review queue all show rows through it.

It must not read the ledger: callers pass :class:`~bidagent.store.change_log.ChangeLogRow` in.
"""

from __future__ import annotations

from typing import Any

from bidagent.agent.change_json import change_json
from bidagent.console.render import percent_step
from bidagent.store.change_log import ChangeLogRow
from bidagent.vocabulary import MONEY_FIELDS

__all__ = ["change_view"]


def change_view(row: ChangeLogRow) -> dict[str, Any]:
    """The change's JSON shape with ``campaign_name``, ``ad_group_name``, ``target_text``,
    ``match_type`` and ``step`` (a fraction, None for non-money changes) added."""
    change = row.change
    payload = change.payload or {}
    view = change_json(change)
    target = row.keyword_text or row.targeting or payload.get("keyword_text")
    view.update(
        campaign_id=change.campaign_id
        or (change.entity_id if change.entity_kind == "campaign" else None),
        ad_group_id=change.ad_group_id
        or (change.entity_id if change.entity_kind == "ad_group" else None),
        campaign_name=row.campaign_name,
        ad_group_name=row.ad_group_name,
        target_text=target,
        match_type=row.match_type or payload.get("match_type"),
        step=percent_step(change.old_value, change.new_value)
        if change.field in MONEY_FIELDS
        else None,
    )
    return view
