"""Named fault points in the sender and reconciler, for crash tests.

Off unless ``BIDAGENT_FAILPOINTS`` is set, e.g. ``after_mark_sending=kill@0.3,between_batches=kill``:
at a listed point the process SIGKILLs itself (with the given probability, default 1), so a
test reaches the dangerous windows (row marked ``sending`` but nothing sent; sent but the outcome
not recorded) on purpose rather than by luck. ``BIDAGENT_FAILPOINTS_SEED`` makes it repeatable.
"""

from __future__ import annotations

import os
import random
import signal
from functools import cache

__all__ = ["POINTS", "failpoint"]

POINTS = (
    "after_mark_sending",
    "after_request_sent",
    "before_record_outcome",
    "between_batches",
    "mid_reconcile",
)


@cache
def _config() -> tuple[dict[str, tuple[str, float]], random.Random]:
    spec = os.environ.get("BIDAGENT_FAILPOINTS", "")
    points: dict[str, tuple[str, float]] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, action = part.partition("=")
        kind, _, probability = (action or "kill").partition("@")
        if name not in POINTS:
            raise ValueError(f"BIDAGENT_FAILPOINTS: unknown point {name!r}; known: {POINTS}")
        points[name] = (kind, float(probability or 1.0))
    seed = os.environ.get("BIDAGENT_FAILPOINTS_SEED")
    return points, random.Random(int(seed) if seed else None)


def failpoint(name: str) -> None:
    """Die here if the environment asks for it; otherwise do nothing (one dict lookup)."""
    points, rng = _config()
    action = points.get(name)
    if action is None:
        return
    kind, probability = action
    if rng.random() >= probability:
        return
    if kind == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif kind == "raise":
        raise RuntimeError(f"failpoint {name}")
