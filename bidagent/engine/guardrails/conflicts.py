"""Step 3: one change per entity field (or per created keyword): higher priority wins, a tie goes
to the safer value, and the others become ``superseded``.

Owns what "safer" and "opposite directions" mean. A tie between opposite directions is settled
safely but still reported as one ``conflict`` review item per rule pair: two rules of equal priority
pulling apart means the rule set needs a decision. A change set that loses one of its proposals to
a proposal outside it is superseded whole. It must not hold anything.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from bidagent.engine.guardrails.change_sets import describe
from bidagent.engine.guardrails.state import GuardrailState
from bidagent.engine.plan import Proposal, ReviewRequest
from bidagent.vocabulary import make_dedupe_key

__all__ = ["resolve_conflicts"]


def _groups(proposals: list[Proposal]) -> list[list[Proposal]]:
    """Proposals making the same change, winner first, in first-seen order of their keys."""
    groups: dict[tuple[str, ...], list[Proposal]] = defaultdict(list)
    for p in proposals:
        # Proposal.key, inlined for the common case: a plain field change (no creation payload).
        groups[(p.entity_kind, p.entity_id, p.field) if p.payload is None else p.key].append(p)
    out = []
    for group in groups.values():
        if len(group) > 1:
            group.sort(key=lambda p: (-p.priority, _safer(p), p.rule_name, p.entity_id))
            out.append(group)
    return out


def _contested(
    survivors: list[Proposal],
) -> tuple[list[list[Proposal]], dict[str, tuple[Proposal, Proposal]]]:
    """The conflict groups among the proposals left in play, and the change sets that lost.

    A change set one of whose proposals loses to a proposal outside it loses whole, and leaves
    the contest: the groups are formed again without it, so nothing stays superseded by a
    proposal that itself lost. Each round removes at least one change set, so this ends.
    """
    fallen: dict[str, tuple[Proposal, Proposal]] = {}  # change set -> (its loser, the winner)
    while True:
        groups = _groups([p for p in survivors if p.change_set not in fallen])
        lost = {
            loser.change_set: (loser, group[0])
            for group in groups
            for loser in group[1:]
            if loser.change_set is not None and loser.change_set != group[0].change_set
        }
        if not lost:
            return groups, fallen
        fallen.update(lost)


def resolve_conflicts(state: GuardrailState) -> None:
    """Supersede every proposal that loses to another on the same key; report equal-priority ties."""
    ties: dict[tuple[str, str, str], list[Proposal]] = defaultdict(list)
    survivors = state.survivors()
    groups, fallen = _contested(survivors)
    for group in groups:
        winner = group[0]
        for rival in group[1:]:
            if rival.priority == winner.priority and _direction(rival) * _direction(winner) < 0:
                ties[(winner.rule_name, rival.rule_name, winner.field)].append(winner)
        for loser in group[1:]:
            _supersede(
                loser,
                winner.rule_name,
                f"superseded by rule '{winner.rule_name}' (priority {winner.priority} vs {loser.priority}, "
                f"{winner.new_value if winner.payload is None else 'same creation'})",
            )
    for p in survivors:
        if p.change_set in fallen:
            loser, winner = fallen[p.change_set]
            why = f"superseded by rule '{winner.rule_name}' (priority {winner.priority} vs {loser.priority}, same creation)"
            if p is not loser:
                why = f"superseded with its change set: its partner {describe(loser)} lost ({why})"
            _supersede(p, winner.rule_name, why)
    for (winner_rule, loser_rule, field), entities in sorted(ties.items()):
        sample = sorted({p.entity_name or p.entity_id for p in entities})
        state.plan.reviews.append(
            ReviewRequest(
                "conflict",
                "info",
                make_dedupe_key(
                    "conflict", state.settings.profile_id, f"{winner_rule}|{loser_rule}", field
                ),
                f"rules '{winner_rule}' and '{loser_rule}' (same priority) pull {field} in opposite "
                f"directions on {len(entities)} entities; the safer value won. Give them distinct "
                "priorities.",
                rule_name=loser_rule,
                evidence={"entities": len(entities), "sample": sample[:10], "winner": winner_rule},
            )
        )


def _supersede(p: Proposal, by: str, note: str) -> None:
    p.status, p.superseded_by, p.review_key = "superseded", by, None
    p.notes.append(note)


def _safer(p: Proposal) -> tuple[Any, ...]:
    if isinstance(p.new_value, Decimal):
        return (0, p.new_value)
    if p.new_value in ("paused", "enabled"):
        return (0, Decimal(0 if p.new_value == "paused" else 1))
    return (1, Decimal(0))


def _direction(p: Proposal) -> int:
    """+1 raises the value, -1 lowers it (pausing counts as lowering), 0 otherwise."""
    old, new = p.old_value, p.new_value
    if isinstance(old, Decimal) and isinstance(new, Decimal):
        return (new > old) - (new < old)
    if p.field == "state" and old != new:
        return -1 if new == "paused" else 1
    return 0
