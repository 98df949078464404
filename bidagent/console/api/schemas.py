"""The JSON API's bodies, as Pydantic models so the OpenAPI document describes them.

An item is the stable item object of ``docs/review.md`` (the keys of ``bidagent review list
--format json``, in that order) followed by the queue's additions; a change is the one change
shape (``bidagent changes --format json``, :data:`bidagent.agent.change_json.CHANGE_KEYS`)
followed by the change log's names. Tests pin both orders to the CLI's, so the shapes cannot
drift apart. It must not read the ledger or decide anything: the routes fill these in.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = [
    "ApproveBody",
    "BatchBody",
    "ChangeDetail",
    "ChangeOut",
    "ChangePage",
    "DecisionOut",
    "DecisionsOut",
    "ItemDetail",
    "ItemOut",
    "ItemPage",
    "NoteBody",
    "OutcomeOut",
    "Overview",
    "ProfileOut",
    "RevertOut",
    "SwitchOut",
]

Note = Field(default=None, max_length=2000, description="Why; kept on the item.")


class ItemOut(BaseModel):
    """A review item (docs/review.md's item object), its campaign and its changes by status."""

    id: int
    kind: str
    severity: str
    status: str
    profile_id: str | None
    entity_kind: str | None
    entity_id: str | None
    entity_name: str | None
    rule_name: str | None
    summary: str
    evidence: dict[str, Any] | None
    occurrences: int
    first_seen_at: str | None
    last_seen_at: str | None
    expires_at: str | None
    decided_by: str | None
    decided_at: str | None
    note: str | None
    change_count: int
    campaign_id: str | None = Field(description='The campaign it is about; "*": several.')
    change_counts: dict[str, int] = Field(description="Its changes by status.")
    url: str = Field(description="Its page in the console.")


class ItemPage(BaseModel):
    """One page of a listing of items."""

    total: int
    limit: int
    offset: int
    items: list[ItemOut]


class ChangeOut(BaseModel):
    """A change (the one change shape) with the names of what it touched."""

    id: int
    profile_id: str
    entity_kind: str
    entity_id: str
    entity_name: str | None
    field: str
    old_value: str | None
    new_value: str | None
    rule_name: str | None
    status: str
    reason: str | None
    when: str | None
    old: str | None
    new: str | None
    rule: str | None
    actor: str
    cycle_id: int | None
    campaign_id: str | None
    ad_group_id: str | None
    campaign_name: str | None
    ad_group_name: str | None
    keyword_text: str | None
    targeting: str | None
    match_type: str | None
    review_item_id: int | None
    change_set: str | None = Field(description="Changes applied or rejected together.")


class ChangeDetail(ChangeOut):
    """A change in full: its evidence, rule file and hash, and the ledger's bookkeeping."""

    evidence: dict[str, Any] | None
    notes: list[str] | None
    payload: dict[str, Any] | None
    rule_file: str | None
    rule_hash: str | None
    error_code: str | None
    remote_id: str | None
    reverts_change_id: int | None
    created_at: str | None
    sent_at: str | None
    finished_at: str | None


class ItemDetail(ItemOut):
    """An item with its held and decided changes (superseded ones: ``GET /api/changes``)."""

    changes: list[ChangeOut]


class ChangePage(BaseModel):
    """One page of the change log, newest first; ``next_before_id`` continues it."""

    total: int
    next_before_id: int | None
    changes: list[ChangeOut]


class NoteBody(BaseModel):
    """A decision's note."""

    note: str | None = Note


class ApproveBody(BaseModel):
    """Approve an item: all its held changes, or (``changes``) only those, rejecting the rest
    (or exactly ``reject``, which must then cover the rest)."""

    note: str | None = Note
    changes: list[int] | None = Field(default=None, max_length=100_000)
    reject: list[int] | None = Field(default=None, max_length=100_000)


class BatchBody(BaseModel):
    """One decision for several items, all of them or none."""

    decision: Literal["approve", "reject", "resolve"]
    item_ids: list[int] = Field(min_length=1, max_length=5000)
    note: str | None = Note


class OutcomeOut(BaseModel):
    """What became of one change."""

    change_id: int
    status: str
    reason: str | None


class DecisionOut(BaseModel):
    """One item's decision; ``refused``: an approved change was not applied (see outcomes)."""

    item_id: int
    decision: str
    status: str
    refused: bool
    outcomes: list[OutcomeOut]


class DecisionsOut(BaseModel):
    """A batch's decisions."""

    decisions: list[DecisionOut]


class RevertOut(BaseModel):
    """A revert: whether the change was put back, or why it was skipped."""

    change_id: int
    reverted: bool
    skipped: str | None
    outcomes: list[OutcomeOut]
    summary: str


class SwitchOut(BaseModel):
    """A kill switch: global or one profile's."""

    scope: str
    paused: bool
    reason: str | None
    changed_by: str | None
    changed_at: str | None


class ProfileOut(BaseModel):
    """Where one profile stands."""

    profile_id: str
    name: str | None
    timezone: str | None
    currency_code: str | None
    last_cycle_id: int | None
    last_cycle_outcome: str | None
    last_cycle_finished_at: str | None
    last_success_finished_at: str | None
    data_age_days: int | None
    paused: bool


class Overview(BaseModel):
    """The overview's figures: profiles, open items, the last day's changes, kill switches."""

    now: str
    profiles: list[ProfileOut]
    open_items: int
    open_items_by_kind: dict[str, int]
    changes_last_24h: dict[str, int]
    switches: list[SwitchOut]
