"""What one agent process works with: settings, the database, the Ads client, the clock.

On the sandbox the clock is the simulated marketplace's clock, so a "business day" is the
sandbox's day; on Amazon it is the wall clock. Nothing below the CLI and the daemon reads time
any other way, which is what makes cycles reproducible in tests and backtests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from bidagent.settings import Settings
from bidagent.store import Engine, make_engine, prepare_ledger

if TYPE_CHECKING:
    from bidagent.ads import AdsClient
    from bidagent.sandbox import Sandbox

__all__ = ["AgentContext", "agent_now"]


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def _remote_sandbox_clock(
    base_url: str, transport: httpx.BaseTransport | None
) -> Callable[[], datetime]:
    """The clock of a sandbox served elsewhere (``bidagent sandbox serve``): its simulated time
    read once from ``/_sandbox/state``, then moving with the wall clock. A sandbox advanced by
    another process meanwhile is seen at the next start."""
    with httpx.Client(transport=transport, timeout=10.0) as http:
        response = http.get(base_url.rstrip("/") + "/_sandbox/state")
        response.raise_for_status()
        remote = datetime.fromisoformat(response.json()["now"])
    offset = remote - _wall_clock()
    return lambda: _wall_clock() + offset


def agent_now(settings: Settings) -> datetime:
    """Now on the agent's clock without opening a client: the in-process sandbox's simulated
    time, else the wall clock. Commands that read or decide on the ledger (``changes --since``,
    review decisions and expiry) must use the same clock the cycles stamped it with."""
    if settings.ads.backend == "sandbox":
        from bidagent.sandbox import Sandbox

        box = Sandbox.from_settings(settings)
        try:
            return box.now
        finally:
            box.close()
    if settings.ads.backend == "remote_sandbox" and settings.ads.base_url is not None:
        return _remote_sandbox_clock(settings.ads.base_url, None)()
    return _wall_clock()


_IN_PROCESS_REQUESTS_PER_SECOND = 10_000.0


@dataclass
class AgentContext:
    """The agent's handles. Build with :meth:`open`; close when done."""

    settings: Settings
    engine: Engine
    client: AdsClient
    sandbox: Sandbox | None = None
    clock: Callable[[], datetime] = _wall_clock
    stopping: threading.Event = field(default_factory=threading.Event)
    _owned: list[Any] = field(default_factory=list)

    def now(self) -> datetime:
        """The current time for decisions: aware UTC, simulated on the sandbox."""
        return self.clock()

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        engine: Engine | None = None,
        transport: httpx.BaseTransport | None = None,
        sandbox: Sandbox | None = None,
        create_ledger: bool = False,
    ) -> AgentContext:
        """Open the database (migrating it), the sandbox when it is the source, and the client.

        A ledger that is not initialised is refused (:func:`~bidagent.store.prepare_ledger`)
        unless ``create_ledger`` (a backtest arm's own fresh ledger) or the built-in demo's.
        """
        from bidagent.ads import AdsClient

        db = engine or make_engine(
            settings.database.url, busy_timeout_ms=settings.database.busy_timeout_ms
        )
        if engine is None:
            prepare_ledger(db, create=create_ledger or settings.creates_ledger)
        owned: list[Any] = []
        clock: Callable[[], datetime] = _wall_clock
        in_process = settings.ads.backend == "sandbox"
        if sandbox is None and in_process and transport is None:
            from bidagent.sandbox import Sandbox
            from bidagent.sandbox.faults import FaultConfig

            sandbox = Sandbox.from_settings(settings)
            owned.append(sandbox)
            faults = settings.sandbox.faults
            transport = sandbox.transport(FaultConfig.from_dict(faults) if faults else None)
        elif sandbox is not None and transport is None:
            transport = sandbox.transport()
        if sandbox is not None:
            box = sandbox
            clock = lambda: box.now  # noqa: E731
        elif settings.ads.backend == "remote_sandbox" and settings.ads.base_url is not None:
            clock = _remote_sandbox_clock(settings.ads.base_url, transport)
        from bidagent.agent.service.metrics import CountingTransport

        # The in-process fake API moves reports along per poll, not per second: poll briskly. Its
        # days pass in seconds, so a per-second rate limit would only add sleeps (a day's suggested
        # bids took 6 s at 5 requests a second); its own throttling faults still apply.
        overrides: dict[str, Any] = (
            {"report_poll_interval_s": 0.01, "requests_per_second": _IN_PROCESS_REQUESTS_PER_SECOND}
            if sandbox is not None
            else {}
        )
        client = AdsClient.from_settings(
            settings,
            transport=CountingTransport(transport or httpx.HTTPTransport(retries=0)),
            **overrides,
        )
        owned.append(client)
        return cls(
            settings=settings, engine=db, client=client, sandbox=sandbox, clock=clock, _owned=owned
        )

    def close(self) -> None:
        """Close what this context opened (client, sandbox); the engine is disposed too."""
        for handle in reversed(self._owned):
            handle.close()
        self._owned.clear()

    def __enter__(self) -> AgentContext:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
