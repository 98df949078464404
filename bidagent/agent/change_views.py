"""How a change reads to a person: what it does (create, change, pause, archive, enable), where
(campaign and ad group by name), to what (keyword text or targeting and its match type, or what a
creation adds), old -> new with the step, in the profile's currency; and the tally a plan or a
cycle closes with (counts per action, held for review, the daily budget it moves).

Owns the view's keys (:data:`VIEW_KEYS`) for engine proposals and ledger rows alike, so ``plan``,
the summary ``cycle`` ends with and the change log read the same. Names come from
:func:`bidagent.store.entity_names.entity_names`; it must not render for a terminal (the CLI does)
and must not decide anything about the changes themselves.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Protocol

from bidagent.store import Session
from bidagent.store.entity_names import EntityNames, entity_names
from bidagent.vocabulary import MONEY_FIELDS, TARGET_KINDS

__all__ = ["VIEW_KEYS", "Action", "ChangeLike", "Tally", "change_views", "tally"]

Action = Literal["create", "change", "pause", "archive", "enable"]

# fmt: off
VIEW_KEYS = (
    "profile_id", "action", "campaign_id", "campaign", "ad_group_id", "ad_group", "entity_kind",
    "entity_id", "target", "match_type", "field", "old", "new", "step", "currency", "rule",
    "status",
)
# fmt: on


class ChangeLike(Protocol):
    """What a view needs of a change: an engine proposal and a ledger row both have it."""

    @property
    def profile_id(self) -> str: ...
    @property
    def entity_kind(self) -> str: ...
    @property
    def entity_id(self) -> str: ...
    @property
    def entity_name(self) -> str | None: ...
    @property
    def campaign_id(self) -> str | None: ...
    @property
    def ad_group_id(self) -> str | None: ...
    @property
    def field(self) -> str: ...
    @property
    def old_value(self) -> Any: ...
    @property
    def new_value(self) -> Any: ...
    @property
    def payload(self) -> dict[str, Any] | None: ...
    @property
    def rule_name(self) -> str | None: ...
    @property
    def status(self) -> str: ...


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _action(change: ChangeLike) -> Action:
    if change.payload is not None and change.old_value is None and change.field != "state":
        return "create"
    if change.field == "state":
        new = str(change.new_value).lower()
        if new in ("paused", "archived"):
            return "pause" if new == "paused" else "archive"
        return "enable"
    return "change"


def _created(payload: dict[str, Any]) -> tuple[str | None, str | None]:
    """(text, match type) of what a creation adds: a keyword's text, or ``asin B0...``."""
    if payload.get("keyword_text"):
        return str(payload["keyword_text"]), _optional(payload.get("match_type"))
    if payload.get("asin"):
        return f"asin {payload['asin']}", _optional(payload.get("match_type"))
    expression = payload.get("expression")
    return (None if expression is None else str(expression)), _optional(payload.get("match_type"))


def _optional(value: Any) -> str | None:
    return None if value is None else str(value)


def _step(field_: str, old: str | None, new: str | None) -> float | None:
    """(new - old) / old for money fields, as a fraction; None when there is no base."""
    if field_ not in MONEY_FIELDS or old is None or new is None:
        return None
    try:
        base, to = Decimal(old), Decimal(new)
    except InvalidOperation:
        return None
    return None if base == 0 else round(float((to - base) / base), 4)


def _view(change: ChangeLike, names: EntityNames) -> dict[str, Any]:
    action = _action(change)
    payload = change.payload or {}
    campaign_id = change.campaign_id
    ad_group_id = change.ad_group_id
    old, new = _text(change.old_value), _text(change.new_value)
    if action == "create":
        # Where the creation lands (a harvest may go to another ad group than its search term's).
        campaign_id = _optional(payload.get("campaign_id")) or campaign_id
        ad_group_id = _optional(payload.get("ad_group_id"))
        target, match_type = _created(payload)
        new = _text(payload.get("bid")) if new is None else new
    elif change.entity_kind in TARGET_KINDS:
        found = names.targets.get((change.entity_kind, change.entity_id))
        target = found.text if found and found.text else change.entity_name
        match_type = found.match_type if found else None
    else:
        target, match_type = None, None
    if change.entity_kind == "campaign":
        campaign_id = campaign_id or change.entity_id
    if change.entity_kind == "ad_group":
        ad_group_id = ad_group_id or change.entity_id
    campaign = names.campaigns.get(campaign_id or "")
    if change.entity_kind == "campaign" and campaign is None:
        campaign = change.entity_name
    ad_group = names.ad_groups.get(ad_group_id or "")
    if change.entity_kind == "ad_group" and ad_group is None:
        ad_group = change.entity_name
    profile = names.profiles.get(change.profile_id)
    return {
        "profile_id": change.profile_id, "action": action, "campaign_id": campaign_id,
        "campaign": campaign, "ad_group_id": ad_group_id, "ad_group": ad_group,
        "entity_kind": change.entity_kind, "entity_id": change.entity_id, "target": target,
        "match_type": match_type, "field": change.field, "old": old, "new": new,
        "step": _step(change.field, old, new),
        "currency": profile.currency_code if profile else None, "rule": change.rule_name,
        "status": change.status,
    }  # fmt: skip


def change_views(session: Session, changes: Sequence[ChangeLike]) -> list[dict[str, Any]]:
    """One view per change (:data:`VIEW_KEYS`, in that order), names read in a few queries."""
    campaigns: set[str] = set()
    groups: set[str] = set()
    for c in changes:
        payload = c.payload or {}
        campaigns.update(str(v) for v in (c.campaign_id, payload.get("campaign_id")) if v)
        groups.update(str(v) for v in (c.ad_group_id, payload.get("ad_group_id")) if v)
        if c.entity_kind == "campaign":
            campaigns.add(c.entity_id)
        if c.entity_kind == "ad_group":
            groups.add(c.entity_id)
    names = entity_names(
        session,
        profile_ids={c.profile_id for c in changes},
        campaign_ids=campaigns,
        ad_group_ids=groups,
        targets={(c.entity_kind, c.entity_id) for c in changes if c.entity_kind in TARGET_KINDS},
    )
    return [_view(c, names) for c in changes]


@dataclass
class Tally:
    """What a list of change views adds up to: actions by outcome, and budget moved."""

    # (action, status) -> count, e.g. ("create", "planned") -> 126
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    # currency -> the sum of (new - old) daily budgets among the changes counted in ``moving``
    budget: dict[str, Decimal] = field(default_factory=dict)

    def of(self, action: str, statuses: Iterable[str]) -> int:
        """How many changes do ``action`` with one of ``statuses``."""
        wanted = set(statuses)
        return sum(n for (a, s), n in self.counts.items() if a == action and s in wanted)

    def status(self, *statuses: str) -> int:
        """How many changes have one of ``statuses``, whatever they do."""
        return sum(n for (_, s), n in self.counts.items() if s in statuses)


def tally(views: Iterable[dict[str, Any]], moving: Iterable[str]) -> Tally:
    """Count ``views`` by action and status; sum the daily budget moved by views whose status is
    in ``moving`` (what will be or was sent), per currency."""
    out = Tally()
    sending = set(moving)
    for view in views:
        out.counts[(view["action"], view["status"])] += 1
        if view["field"] == "budget" and view["status"] in sending and view["step"] is not None:
            currency = view["currency"] or ""
            delta = Decimal(view["new"]) - Decimal(view["old"])
            out.budget[currency] = out.budget.get(currency, Decimal(0)) + delta
    return out
