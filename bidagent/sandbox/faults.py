"""Fault injection for the fake API: throttles, 5xx, slow replies, timeouts after apply, bad reports.

Owns :class:`FaultConfig` (a frozen dataclass, also built from a dict or a TOML table) and
:class:`FaultInjector`, the seeded decision maker one transport or server holds. Decisions are
deterministic for a given seed and request order: scripted outcomes are consumed first, then
probabilities drawn from ``random.Random(seed)``. It must not build responses or touch state.

Endpoint keys are ``"METHOD /path"`` globs (``"PUT /sp/keywords"``, ``"POST /reporting/*"``,
``"*"``); the first matching key (in the order given) applies. Admin paths never fault.
"""

from __future__ import annotations

import random
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, get_args

from bidagent.errors import SandboxError
from bidagent.settings.values import FaultOutcome

__all__ = ["Decision", "EndpointFaults", "FaultConfig", "FaultInjector"]

OUTCOMES: tuple[str, ...] = get_args(FaultOutcome)  # "ok" first; see settings.values
REPORT_OUTCOMES = ("ok", "fail", "hang")


@dataclass(frozen=True)
class EndpointFaults:
    """Faults for the requests one endpoint key matches (probabilities are per request)."""

    throttle: float = 0.0  # 429 with Retry-After
    throttle_no_retry_after: float = 0.0  # 429 without it (as reporting often answers)
    error_500: float = 0.0
    error_503: float = 0.0
    unauthorized: float = 0.0  # a transient gateway 401 {"message": "Unauthorized"}
    timeout_after_apply: float = 0.0  # apply the change, then make the client time out
    delay_s: float = 0.0  # every matching reply is this slow
    script: tuple[str, ...] = ()  # outcomes for the next matching requests, in order

    def __post_init__(self) -> None:
        unknown = [s for s in self.script if s not in OUTCOMES]
        if unknown:
            raise SandboxError(f"unknown fault outcome(s) {unknown}; known: {', '.join(OUTCOMES)}")


@dataclass(frozen=True)
class FaultConfig:
    """Every fault a fake API instance injects. The default injects none."""

    seed: int = 0
    endpoints: Mapping[str, EndpointFaults] = field(default_factory=dict)
    retry_after_s: int = 1
    # Status polls answered PENDING, then PROCESSING, before COMPLETED (or the scripted end).
    # Zero by default: the client sleeps real seconds between polls, and the in-process demo
    # must stay fast; tests of the lifecycle set them.
    report_pending_polls: int = 0
    report_processing_polls: int = 0
    report_failure: float = 0.0  # probability a new report ends FAILED
    report_hang: float = 0.0  # probability a new report never completes
    report_script: tuple[str, ...] = ()  # "ok" | "fail" | "hang" for the next reports, in order
    expire_token_after: int | None = None  # after this many Ads API calls, tokens expire (once)
    timeout_sleep_s: float = 65.0  # loopback: how long a timed-out reply is held back

    def __post_init__(self) -> None:
        unknown = [s for s in self.report_script if s not in REPORT_OUTCOMES]
        if unknown:
            raise SandboxError(f"unknown report outcome(s) {unknown}; known: ok, fail, hang")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultConfig:
        """Build from a plain mapping (a parsed TOML or JSON table); unknown keys are errors."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SandboxError(f"unknown fault setting(s) {unknown}; known: {sorted(known)}")
        values = dict(data)
        endpoint_keys = {f.name for f in fields(EndpointFaults)}
        endpoints = {}
        for key, table in dict(values.pop("endpoints", {})).items():
            bad = sorted(set(table) - endpoint_keys)
            if bad:
                raise SandboxError(f"endpoints.{key!r}: unknown fault setting(s) {bad}")
            entry = dict(table)
            entry["script"] = tuple(entry.get("script", ()))
            endpoints[str(key)] = EndpointFaults(**entry)
        if "report_script" in values:
            values["report_script"] = tuple(values["report_script"])
        return cls(endpoints=endpoints, **values)

    @classmethod
    def from_toml(cls, path: Path, table: str | None = None) -> FaultConfig:
        """Build from a TOML file (optionally one table of it, e.g. ``"faults"``)."""
        with path.open("rb") as handle:
            data: Any = tomllib.load(handle)
        return cls.from_dict(data[table] if table else data)


@dataclass(frozen=True)
class Decision:
    """What to do with one request."""

    outcome: str
    delay_s: float = 0.0


class FaultInjector:
    """Seeded, thread-safe decisions for one transport or server."""

    def __init__(self, config: FaultConfig | None) -> None:
        self.config = config or FaultConfig()
        self._rng = random.Random(self.config.seed)
        self._scripts = {key: list(ep.script) for key, ep in self.config.endpoints.items()}
        self._report_script = list(self.config.report_script)
        self._lock = threading.Lock()
        self.api_calls = 0

    def _match(self, method: str, path: str) -> str | None:
        target = f"{method.upper()} {path}"
        return next((key for key in self.config.endpoints if fnmatchcase(target, key)), None)

    def decide(self, method: str, path: str) -> Decision:
        """The outcome for one request (``ok`` unless a fault applies)."""
        if path.startswith("/_sandbox/"):
            return Decision("ok")
        with self._lock:
            key = self._match(method, path)
            if key is None:
                return Decision("ok")
            faults = self.config.endpoints[key]
            if self._scripts[key]:
                return Decision(self._scripts[key].pop(0), faults.delay_s)
            draw = self._rng.random()
            for outcome in (*OUTCOMES[1:6], "timeout_after_apply"):
                chance = float(getattr(faults, outcome))
                if draw < chance:
                    return Decision(outcome, faults.delay_s)
                draw -= chance
            return Decision("delay" if faults.delay_s else "ok", faults.delay_s)

    def count_api_call(self) -> bool:
        """Count one Ads API call; true exactly when tokens should expire now."""
        with self._lock:
            self.api_calls += 1
            return self.config.expire_token_after == self.api_calls

    def report_outcome(self) -> str:
        """How a newly created report will end: ``ok``, ``fail`` or ``hang``."""
        with self._lock:
            if self._report_script:
                return self._report_script.pop(0)
            draw = self._rng.random()
            if draw < self.config.report_failure:
                return "fail"
            if draw < self.config.report_failure + self.config.report_hang:
                return "hang"
            return "ok"
