"""The review item that tells people the daemon rejected their rule files, and its resolution.

Owns one open ``rules`` item per rules folder (its dedupe key), raised when a reload fails and
resolved by the daemon when a later edit loads cleanly. It must not load or watch rule files:
:mod:`bidagent.agent.service.rule_watch` does that and calls in here.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import structlog

from bidagent.agent.review.items import raise_review
from bidagent.errors import RuleSetError
from bidagent.store import Engine, session_scope
from bidagent.store.review_items import open_item
from bidagent.store.transitions import transition
from bidagent.vocabulary import make_dedupe_key

__all__ = ["raise_rules_review", "resolve_rules_review", "rules_review_key"]

log = structlog.get_logger(__name__)


def rules_review_key(rules_dir: Path) -> str:
    """The dedupe key of the ``rules`` item of one rules folder (the console reads it)."""
    return make_dedupe_key("rules", rules_dir)


def raise_rules_review(
    engine: Engine, rules_dir: Path, error: RuleSetError, fingerprint: str, now: datetime
) -> None:
    """One open item per rules folder: each further bad edit bumps it with the new problems,
    so a team fixing a file sees the current problems, not a pile of stale items."""
    with session_scope(engine) as session:
        raise_review(
            session,
            kind="rules",
            severity="critical",
            summary=f"rule files rejected ({len(error.problems)} problem(s)); the last good set keeps running",
            dedupe_key=rules_review_key(rules_dir),
            evidence={"problems": [str(p) for p in error.problems], "files": fingerprint},
            now=now,
        )


def resolve_rules_review(engine: Engine, rules_dir: Path, now: datetime) -> None:
    """A set that loads cleanly answers an open ``rules`` item: resolve it, say by whom."""
    with session_scope(engine) as session:
        item = open_item(session, rules_review_key(rules_dir))
        if item is None:
            return
        transition(item, "resolved", now=now)
        item.decided_by = "daemon"
        item.decided_at = now
        item.note = "a later edit of the rule files loaded cleanly"
        session.add(item)
        log.info("review_resolved", review_id=item.id, kind="rules")
