"""Recent changes, indexed once per evaluation, and the one question asked of them: does a cooldown
(or a rejection by a human) stop this proposal?

Owns :class:`History`. It must not decide how long a cooldown is (see
:func:`bidagent.engine.guardrails.cooldown.settings_cooldown`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from bidagent.engine.plan import Proposal
from bidagent.engine.ruleset import LoadedRule

__all__ = ["EXTERNAL_ACTOR", "History"]

EXTERNAL_ACTOR = (
    "external"  # the ``actor`` of a history row recording an edit made outside bidagent
)


@dataclass
class History:
    """Recent history rows by (entity kind, entity id, field)."""

    rows: dict[tuple[str, str, str], list[dict[str, Any]]]

    @classmethod
    def build(cls, history: pl.DataFrame) -> History:
        """Index the history frame once per evaluation."""
        rows: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
        for row in history.sort("changed_at", descending=True).iter_rows(named=True):
            rows[(row["entity_kind"], row["entity_id"], row["field"])].append(row)
        return cls(dict(rows))

    def blocking(
        self,
        p: Proposal,
        rule: LoadedRule,
        since: datetime,
        ignore: set[str],
        external_since: datetime | None = None,
    ) -> tuple[str, str, bool] | None:
        """The (reason, detail, whether the stop is an edit made outside bidagent) that stops
        ``p`` within the cooldown, if any: our changes count after ``since``, edits made outside
        bidagent after ``external_since`` (default ``since``)."""
        outside = since if external_since is None else external_since
        oldest = min(since, outside)
        for row in self.rows.get((p.entity_kind, p.entity_id, p.field), []):
            if row["changed_at"] is None or row["changed_at"] <= oldest:
                break
            external = row["actor"] == EXTERNAL_ACTOR
            if row["changed_at"] <= (outside if external else since):
                continue
            by = row["rule_name"] or row["actor"]
            if row["status"] == "rejected" and row["rule_name"] == rule.name:
                return (
                    "rejected",
                    f"{p.field} change by this rule rejected at {row['changed_at']:%Y-%m-%d %H:%M}Z",
                    False,
                )
            creation = p.payload is not None
            if (
                row["status"] == "applied"
                and not creation
                and (row["rule_name"] or "") not in ignore
            ):
                return (
                    "cooldown",
                    f"{p.field} changed at {row['changed_at']:%Y-%m-%d %H:%M}Z by {by}",
                    external,
                )
        return None
