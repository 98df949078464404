"""The sign-in attempt limiter on its own clock: a sliding window per key."""

from __future__ import annotations

from bidagent.console.ratelimit import AttemptLimiter


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_block_until_the_oldest_leaves_the_window() -> None:
    """Three failures in a 60 s window block the key; the wait is until the oldest expires, and
    once it has, one more attempt is allowed; other keys are not affected."""
    clock = Clock()
    limiter = AttemptLimiter(3, 60.0, clock=clock)
    for step in (0.0, 10.0, 20.0):
        clock.now = 1000.0 + step
        assert limiter.retry_after_s(["user:ann"]) is None
        limiter.failed(["user:ann", "address:a"])
    assert limiter.retry_after_s(["user:ann"]) == 40
    assert limiter.retry_after_s(["user:bob", "address:b"]) is None
    assert limiter.retry_after_s(["user:bob", "address:a"]) == 40
    clock.now = 1060.5
    assert limiter.retry_after_s(["user:ann"]) is None
    limiter.failed(["user:ann"])
    assert limiter.retry_after_s(["user:ann"]) == 10


def test_clearing_a_key_forgets_its_failures() -> None:
    """A successful sign-in clears the name's failures, not the address's."""
    clock = Clock()
    limiter = AttemptLimiter(2, 60.0, clock=clock)
    limiter.failed(["user:ann", "address:a"])
    limiter.failed(["user:ann", "address:a"])
    limiter.clear("user:ann")
    assert limiter.retry_after_s(["user:ann"]) is None
    assert limiter.retry_after_s(["address:a"]) == 60
