"""Change sets: proposals that go through the guardrails together, or not at all.

A harvest with ``negate_source`` is a change set of two proposals (the new keyword or product
target, and the negative that retires the term in its source ad group), marked by the same
:attr:`~bidagent.engine.plan.Proposal.change_set`. Every step keeps them on one fate: a cooldown
that stops one skips the other (reason ``change_set``, naming its partner); the blast radius holds
whole batches and counts a change set once; a conflict lost by one supersedes the other; the
circuit breaker holds everything planned; approvals and the ``review`` mode hold a change set
behind one review item, so a person approves or rejects it whole.

Owns :func:`units` (a batch's proposals as change sets and single proposals) and
:func:`skip_partners`. It must not decide what stops a proposal: the steps do.
"""

from __future__ import annotations

from collections.abc import Iterable

from bidagent.engine.plan import Proposal, Skip

__all__ = ["describe", "skip_partners", "unit_count", "units"]


def units(proposals: Iterable[Proposal]) -> list[list[Proposal]]:
    """The proposals grouped into change sets (a proposal without one alone), in first-seen order."""
    out: list[list[Proposal]] = []
    sets: dict[str, list[Proposal]] = {}
    for p in proposals:
        if p.change_set is None:
            out.append([p])
        elif p.change_set in sets:
            sets[p.change_set].append(p)
        else:
            sets[p.change_set] = [p]
            out.append(sets[p.change_set])
    return out


def unit_count(proposals: list[Proposal]) -> int:
    """How many changes a rule makes: each change set counts once."""
    sets = {p.change_set for p in proposals if p.change_set is not None}
    return len(sets) + sum(1 for p in proposals if p.change_set is None)


def describe(p: Proposal) -> str:
    """A proposal as one phrase: ``bid 1.00 -> 0.80``, ``keyword exact 'red lamp'``."""
    payload = p.payload or {}
    if "keyword_text" in payload:
        return f"{p.field} {payload['match_type']} '{payload['keyword_text']}'"
    if "asin" in payload:
        return f"{p.field} {payload['asin']}"
    return f"{p.field} {p.old_value} -> {p.new_value}"


def skip_partners(
    rule_name: str, kept: list[Proposal], stopped: dict[str, tuple[Proposal, Skip]]
) -> tuple[list[Proposal], list[Skip]]:
    """``kept`` without the partners of the ``stopped`` proposals (by change set), and their skips."""
    still: list[Proposal] = []
    skips: list[Skip] = []
    for p in kept:
        first = stopped.get(p.change_set) if p.change_set is not None else None
        if first is None:
            still.append(p)
            continue
        partner, why = first
        detail = f"not made without its partner {describe(partner)} ({why.reason}: {why.detail})"
        skips.append(Skip(rule_name, "change_set", detail, p.entity_kind, p.entity_id, p.field))
    return still, skips
