"""What the engine returns: proposals, review requests, skips and base-bid updates, as plain records.

Owns the record shapes the agent writes to the ledger, and :func:`paused_gc` for building many of
them at once. It must not decide anything.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dc_field
from decimal import Decimal
from typing import Any, Literal

__all__ = ["BaseBidUpdate", "Plan", "Proposal", "ReviewRequest", "Skip", "paused_gc"]

Status = Literal["planned", "held", "dry_run", "superseded"]


@contextmanager
def paused_gc() -> Iterator[None]:
    """Build records in bulk without the cyclic garbage collector, then turn it back on.

    A large plan makes hundreds of thousands of records, dicts and lists, none of them in a
    reference cycle (reference counting frees them). Each allocation burst makes the collector
    walk every tracked object of the process again; on a 200,000-target plan that walk cost more
    than building the records. Only re-enables the collector if it was on (pauses nest).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(slots=True)
class Proposal:
    """One change the engine wants: an entity field from ``old_value`` to ``new_value``, and why."""

    entity_kind: str
    entity_id: str
    entity_name: str | None
    profile_id: str
    campaign_id: str | None
    ad_group_id: str | None
    field: str
    old_value: Decimal | str | None
    new_value: Decimal | str | None
    rule_name: str
    rule_file: str
    rule_hash: str
    priority: int
    evidence: dict[str, Any] = dc_field(default_factory=dict)
    payload: dict[str, Any] | None = None
    status: Status = "planned"
    notes: list[str] = dc_field(default_factory=list)
    superseded_by: str | None = None
    review_key: str | None = None
    # The step is over the rule's ``approval.over``: the guardrails hold it for a human.
    needs_approval: bool = False
    # Proposals that must hold together or not at all (a harvest and its source negative).
    change_set: str | None = None

    @property
    def key(self) -> tuple[str, ...]:
        """What "the same change" means for conflicts: entity and field, or what a creation makes."""
        if self.payload is not None and self.field == "negative_keyword":
            p = self.payload
            where = p["ad_group_id"] if p["level"] == "ad_group" else ""
            return ("negative_keyword", p["campaign_id"], where or "", p["keyword_text"].lower())
        if self.payload is not None and self.field == "keyword":
            p = self.payload
            return ("keyword", p["ad_group_id"], p["keyword_text"].lower(), p["match_type"])
        return (self.entity_kind, self.entity_id, self.field)


@dataclass
class ReviewRequest:
    """Something a human should look at; ``held`` lists the proposals waiting on it."""

    kind: Literal["approval", "guardrail", "conflict", "circuit_breaker", "alert", "data", "rules"]
    severity: Literal["info", "warning", "critical"]
    dedupe_key: str
    summary: str
    rule_name: str | None = None
    entity_kind: str | None = None
    entity_id: str | None = None
    entity_name: str | None = None
    evidence: dict[str, Any] = dc_field(default_factory=dict)
    held: list[Proposal] = dc_field(default_factory=list)


@dataclass
class Skip:
    """A rule matched an entity (or could not run) and changed nothing, with the reason."""

    rule_name: str
    reason: str  # cooldown, rejected, null_action, no_change, freshness, already_exists, daypart
    detail: str
    entity_kind: str | None = None
    entity_id: str | None = None
    field: str | None = None


@dataclass
class BaseBidUpdate:
    """Store (``set``) or drop (``clear``) the base bid a dayparting rule multiplies."""

    entity_kind: str
    entity_id: str
    rule_name: str
    action: Literal["set", "clear"]
    base_bid: Decimal | None = None


@dataclass
class Plan:
    """The result of one evaluation."""

    rule_set_hash: str
    proposals: list[Proposal] = dc_field(default_factory=list)
    reviews: list[ReviewRequest] = dc_field(default_factory=list)
    skips: list[Skip] = dc_field(default_factory=list)
    base_bid_updates: list[BaseBidUpdate] = dc_field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Proposals by status, plus reviews and skips: the cycle record's counts."""
        counts: Counter[str] = Counter(p.status for p in self.proposals)
        out = {s: counts.get(s, 0) for s in ("planned", "held", "dry_run", "superseded")}
        out["reviews"] = len(self.reviews)
        out["skips"] = len(self.skips)
        return out
