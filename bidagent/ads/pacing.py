"""How fast and how often we call Amazon: retry backoff and a per-profile request rate limit.

Owns the arithmetic only (delays, budgets, token buckets), with the clock and the sleep injected so
tests never wait. It must not know HTTP: :mod:`bidagent.ads.session` decides *what* is retried.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["RateLimiter", "RetryBudget", "RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded in attempts and in total time.

    Amazon advises 2 s, 4 s, 8 s... with a cap (digest §4.3); full jitter spreads the clients that
    were throttled together so they do not come back together.
    """

    max_attempts: int = 6
    max_retry_time_s: float = 300.0
    base_delay_s: float = 2.0
    max_delay_s: float = 60.0

    def backoff_s(self, retry_number: int, rng: random.Random) -> float:
        """Delay before retry ``retry_number`` (1 for the first retry), full jitter."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (retry_number - 1))
        return rng.uniform(0.0, ceiling)


@dataclass
class RetryBudget:
    """One call's remaining retries: attempts made so far and the wall-clock deadline."""

    policy: RetryPolicy
    monotonic: Callable[[], float]
    rng: random.Random
    attempts: int = 0
    deadline: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.deadline = self.monotonic() + self.policy.max_retry_time_s

    def next_delay(self, retry_after_s: float | None) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` when the budget is spent.

        ``Retry-After`` wins over the computed backoff when the server sent one.
        """
        if self.attempts >= self.policy.max_attempts:
            return None
        delay = (
            retry_after_s
            if retry_after_s is not None
            else self.policy.backoff_s(self.attempts, self.rng)
        )
        if self.monotonic() + delay > self.deadline:
            return None
        return delay


class RateLimiter:
    """A token bucket per key (the profile id): at most ``rate`` requests per second, bursts of
    ``burst``. Thread-safe; waiting happens outside the lock so other profiles are not held up.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        sleep: Callable[[float], None],
        monotonic: Callable[[], float],
    ) -> None:
        self._rate = rate
        self._burst = burst if burst is not None else max(1.0, rate)
        self._sleep = sleep
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def acquire(self, key: str) -> float:
        """Take one token for ``key``, sleeping until one is available; returns seconds waited."""
        with self._lock:
            now = self._monotonic()
            tokens, stamp = self._buckets.get(key, (self._burst, now))
            tokens = min(self._burst, tokens + (now - stamp) * self._rate)
            wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self._rate
            # Reserve the token now (possibly going negative) so concurrent callers queue up.
            self._buckets[key] = (tokens - 1.0, now)
        if wait > 0:
            self._sleep(wait)
        return wait
