"""Decisions and reverts from the console, for its pages and its JSON API alike: the CLI's own
functions (:func:`bidagent.agent.review.decisions.decide` and :func:`.decide_changes`,
:func:`bidagent.agent.cycle.revert.revert_changes`) on the agent's clock, with the signed-in
person as the actor the ledger records.

Approving and reverting open a fresh agent context for the one action (as a CLI command does)
and send through the apply path, which re-reads each entity's live value and refuses a change
whose entity moved. It must not render or route, and owns no rule of its own about what a
decision does: the review layer does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Literal

import structlog

from bidagent.agent.cycle.change_sets import applier_for
from bidagent.agent.cycle.revert import RevertItem, revert_changes
from bidagent.agent.review.decisions import Applier, Decision, decide, decide_changes
from bidagent.console.state import ConsoleState
from bidagent.store.transitions import ChangeOutcome

__all__ = ["decide_item_changes", "decide_items", "revert"]

log = structlog.get_logger(__name__)
_OWNER = "bidagent console"


@contextmanager
def _applier(state: ConsoleState) -> Iterator[Applier]:
    with state.open_agent() as agent:
        applier: Applier = applier_for(agent)
        yield applier


def decide_items(
    state: ConsoleState,
    item_ids: Sequence[int],
    decision: Literal["approve", "reject", "resolve"],
    *,
    by: str,
    note: str | None,
) -> list[Decision]:
    """Approve, reject or resolve whole items, all of them or (``ReviewError``) none."""
    now = state.clock()
    if decision != "approve":
        return decide(state.engine, item_ids, decision, by=by, note=note, now=now)
    with _applier(state) as applier:
        return decide(state.engine, item_ids, decision, by=by, note=note, now=now, applier=applier)


def decide_item_changes(
    state: ConsoleState,
    item_id: int,
    approve_ids: Sequence[int],
    reject_ids: Sequence[int] | None,
    *,
    by: str,
    note: str | None,
) -> Decision:
    """Approve ``approve_ids`` of one item and reject ``reject_ids`` (None: the rest)."""
    now = state.clock()
    if not approve_ids:
        return decide_changes(state.engine, item_id, [], reject_ids, by=by, note=note, now=now)
    with _applier(state) as applier:
        return decide_changes(
            state.engine, item_id, approve_ids, reject_ids, by=by, note=note, now=now,
            applier=applier,
        )  # fmt: skip


def revert(
    state: ConsoleState, change_ids: Sequence[int], *, by: str, owner: str = _OWNER
) -> tuple[list[RevertItem], list[ChangeOutcome]]:
    """Put applied changes back, as ``bidagent revert IDS --yes`` does, under the profiles'
    locks (held as ``owner``); the plan says which were skipped and why."""
    with state.open_agent() as agent:
        items, outcomes = revert_changes(
            agent, change_ids, by=by, owner=owner, wait_s=state.settings.schedule.lock_wait_s
        )
    log.info("console_reverted", by=by, asked=len(change_ids), applied=len(outcomes))
    return items, outcomes
