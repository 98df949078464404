"""Keep the daemon's rule set current: reload when rule files change, all or nothing.

A new rule set replaces the old one only if every file is valid. A bad edit keeps the last good
set running and raises one review item per distinct bad content (so a broken file left in place
does not open an item every few seconds), and the item names every problem with file:line:col.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import structlog

from bidagent.engine import RuleSet, load_rule_set
from bidagent.errors import RuleSetError

__all__ = ["RuleWatcher"]

log = structlog.get_logger(__name__)


def _fingerprint(folder: Path) -> str:
    """A hash of the rule files' names and contents (cheap: rule folders are small), read in
    chunks so a huge file dropped in the folder costs no memory (the loader refuses it)."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.yaml")) if folder.is_dir() else [folder]:
        if path.is_file():
            digest.update(str(path).encode())
            with path.open("rb") as handle:
                digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()


class RuleWatcher:
    """Holds the last good rule set and swaps it when the folder changes and loads cleanly."""

    def __init__(self, folder: Path, on_bad: Callable[[RuleSetError, str], None]) -> None:
        self.folder = folder
        self._on_bad = on_bad
        self._fingerprint = _fingerprint(folder)
        self.current: RuleSet = load_rule_set([folder])  # a bad set at start is fatal: no last good
        log.info("rules_loaded", rules=len(self.current.rules), hash=self.current.hash[:12])

    def poll(self) -> bool:
        """Reload if the files changed; return True when a new rule set took effect."""
        fingerprint = _fingerprint(self.folder)
        if fingerprint == self._fingerprint:
            return False
        self._fingerprint = fingerprint
        try:
            candidate = load_rule_set([self.folder])
        except RuleSetError as exc:
            log.error("rules_rejected", problems=len(exc.problems), kept=self.current.hash[:12])
            self._on_bad(exc, fingerprint)
            return False
        self.current = candidate
        log.info("rules_reloaded", rules=len(candidate.rules), hash=candidate.hash[:12])
        return True
