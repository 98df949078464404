"""Rate limiting of sign-in attempts: so many failures per user name and per address in a window.

A failure counts against the name tried and the address it came from; once either has
``attempts`` failures inside ``window_s``, every further attempt for it (a right password too,
or guessing would go on) is refused until the oldest failure leaves the window, and the
refusal says how long that is (HTTP 429 with ``Retry-After``). A successful sign-in clears the
name's failures. Counters live in memory: a restart forgets them, and each replica counts its
own. It must not know HTTP or users: the login page passes keys in and renders the answer.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

__all__ = ["AttemptLimiter"]


class AttemptLimiter:
    """Failures per key in a sliding window; thread-safe."""

    def __init__(
        self, attempts: int, window_s: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.attempts = attempts
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        found = self._failures.get(key)
        if found is None:
            return deque()
        while found and found[0] <= now - self.window_s:
            found.popleft()
        if not found:
            del self._failures[key]
        return found

    def retry_after_s(self, keys: Iterable[str]) -> int | None:
        """Whole seconds until an attempt for every one of ``keys`` is allowed; None: now."""
        with self._lock:
            now = self._clock()
            waits = [
                recent[0] + self.window_s - now
                for key in keys
                if len(recent := self._recent(key, now)) >= self.attempts
            ]
        return max(1, math.ceil(max(waits))) if waits else None

    def failed(self, keys: Iterable[str]) -> None:
        """Count one failed attempt against each key."""
        with self._lock:
            now = self._clock()
            for key in keys:
                self._recent(key, now)
                self._failures.setdefault(key, deque()).append(now)

    def clear(self, key: str) -> None:
        """Forget the failures of ``key`` (a successful sign-in)."""
        with self._lock:
            self._failures.pop(key, None)
