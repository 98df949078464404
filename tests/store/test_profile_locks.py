"""The profile lock, on SQLite and PostgreSQL: a second holder waits, then is refused with the
holder's name; the lock goes with its holder's exit and with its process's death."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy.engine import Engine

from bidagent.errors import ProfileBusyError
from bidagent.store import make_engine
from bidagent.store.profile_locks import hold_profile, hold_profiles, lock_key

CHILD = """
import sys, time
from bidagent.store import make_engine
from bidagent.store.profile_locks import hold_profile
engine = make_engine(sys.argv[1])
with hold_profile(engine, "P1", owner="child holder", wait_s=0):
    print("held", flush=True)
    time.sleep(120)
"""


def _start_child(url: str) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "held"
    return child


def test_lock_key_is_stable_and_signed_64_bit() -> None:
    """The advisory key of a profile is the same in every process and fits a bigint."""
    assert lock_key("P1") == lock_key("P1")
    assert lock_key("P1") != lock_key("P2")
    assert -(2**63) <= lock_key("P1") < 2**63


def test_second_holder_waits_then_names_the_holder(engine: Engine) -> None:
    """While one holds a profile, another waits its wait_s, then is refused naming pid, host, command."""
    with hold_profile(engine, "P1", owner="bidagent cycle daily", wait_s=0):
        start = time.monotonic()
        with (
            pytest.raises(ProfileBusyError) as caught,
            hold_profile(engine, "P1", owner="second", wait_s=0.5),
        ):
            pass  # pragma: no cover - never entered
        waited = time.monotonic() - start
        with hold_profile(engine, "P2", owner="other profile", wait_s=0):
            pass  # another profile is free
    message = str(caught.value)
    prefix = f"profile P1 is busy: held by {os.getpid()} on {socket.gethostname()} "
    assert message.startswith(prefix + "(bidagent cycle daily) since "), message
    assert caught.value.profile_id == "P1"
    assert 0.5 <= waited < 3.0


def test_released_on_exit_and_a_waiter_gets_it(engine: Engine) -> None:
    """A waiter gets the lock as soon as the holder leaves its block."""
    with hold_profile(engine, "P1", owner="first", wait_s=0):
        pass
    got: list[float] = []
    held = threading.Event()

    def holder() -> None:
        with hold_profile(engine, "P1", owner="thread", wait_s=0):
            held.set()
            time.sleep(0.5)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(5)
    start = time.monotonic()
    with hold_profile(engine, "P1", owner="waiter", wait_s=10):
        got.append(time.monotonic() - start)
    thread.join()
    assert len(got) == 1 and 0.2 < got[0] < 5.0


def test_released_when_the_holding_process_is_killed(database_url: str, engine: Engine) -> None:
    """A child process that holds the lock is refused to others until it is killed; then free."""
    child = _start_child(database_url)
    try:
        with (
            pytest.raises(ProfileBusyError) as caught,
            hold_profile(engine, "P1", owner="parent", wait_s=0),
        ):
            pass  # pragma: no cover
        assert f"held by {child.pid} on {socket.gethostname()} (child holder) since " in str(
            caught.value
        )
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        assert child.stdout is not None
        child.stdout.close()
    with hold_profile(engine, "P1", owner="parent", wait_s=10):
        pass


def test_several_profiles_all_or_none(engine: Engine) -> None:
    """hold_profiles takes every lock, and a busy one refuses the whole set, releasing the rest."""
    with hold_profile(engine, "P2", owner="holder", wait_s=0):
        with (
            pytest.raises(ProfileBusyError),
            hold_profiles(engine, ["P2", "P1"], owner="both", wait_s=0),
        ):
            pass  # pragma: no cover
        with hold_profile(engine, "P1", owner="free again", wait_s=0):
            pass


def test_in_memory_database_locks_within_the_process() -> None:
    """An in-memory SQLite database (one process's alone) is locked per engine and profile."""
    memory = make_engine("sqlite:///:memory:")
    try:
        with (
            hold_profile(memory, "P1", owner="first", wait_s=0),
            pytest.raises(ProfileBusyError) as caught,
            hold_profile(memory, "P1", owner="second", wait_s=0.2),
        ):
            pass  # pragma: no cover
        with hold_profile(memory, "P1", owner="again", wait_s=0):
            pass
    finally:
        memory.dispose()
    assert "(first) since " in str(caught.value)
