"""The :class:`Sandbox`: one simulated marketplace, its explicit clock and its persisted state.

Owns the life cycle (open or create the state file, reset, advance the clock, close) and hands
out the in-process transport and the oracle. Nothing here reads the wall clock: simulated time
moves only through :meth:`Sandbox.advance`. It must not import bidagent's engine, store or agent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import polars as pl

from bidagent.errors import SandboxError
from bidagent.sandbox.catalog import build_catalog
from bidagent.sandbox.market import EPOCH, profile_zone, simulate_span
from bidagent.sandbox.scenarios import Scenario, scenario_for
from bidagent.sandbox.store import SandboxStore

if TYPE_CHECKING:
    from bidagent.sandbox.faults import FaultConfig
    from bidagent.sandbox.oracle import Oracle
    from bidagent.settings import Settings

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_REFRESH_TOKEN",
    "START_DATE",
    "Sandbox",
    "WriteRecord",
]

DEFAULT_CLIENT_ID = "amzn1.application-oa2-client.sandbox"
DEFAULT_CLIENT_SECRET = "sandbox-secret"  # noqa: S105 - the documented sandbox credential
DEFAULT_REFRESH_TOKEN = "Atzr|sandbox"  # noqa: S105
# Day 0 of every sandbox (a Monday); history covers the days before it. Fixed, so a seed
# reproduces the same calendar in every run.
START_DATE = date(2025, 6, 2)


@dataclass(frozen=True)
class WriteRecord:
    """One change the fake API applied (the audit log a test checks for double applies)."""

    seq: int
    at: datetime
    request_id: str
    profile_id: str
    kind: str
    entity_id: str
    field: str
    old: Any
    new: Any


class Sandbox:
    """A simulated Amazon Ads account and marketplace persisted in one SQLite file."""

    base_url = "https://advertising-api.amazon.com"
    token_url = "https://api.amazon.com/auth/o2/token"  # noqa: S105 - a URL, not a secret
    download_host = "offline-report-storage-us-east-1-prod.s3.amazonaws.com"

    def __init__(
        self, store: SandboxStore, *, client_id: str, client_secret: str, refresh_token: str
    ) -> None:
        self.store = store
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token

    @classmethod
    def open(
        cls,
        state_path: Path,
        *,
        seed: int = 7,
        scenario: str = "steady",
        targets: int = 300,
        history_days: int = 60,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        refresh_token: str = DEFAULT_REFRESH_TOKEN,
        start_date: date = START_DATE,
    ) -> Sandbox:
        """Load the sandbox at ``state_path``, or create it (seed, scenario, size, and day 0 at
        ``start_date``: its history ends the day before) if absent."""
        scenario_for(scenario)
        store = SandboxStore(Path(state_path))
        sandbox = cls(
            store, client_id=client_id, client_secret=client_secret, refresh_token=refresh_token
        )
        if store.get_meta("schema") is None:
            sandbox._generate(seed, scenario, targets, history_days, start_date)
        return sandbox

    @classmethod
    def from_settings(cls, settings: Settings) -> Sandbox:
        """Open the sandbox the ``[sandbox]`` section of the configuration describes."""
        section = settings.sandbox
        return cls.open(
            settings.sandbox_state_path(),
            seed=section.seed,
            scenario=section.scenario,
            targets=section.targets,
            history_days=section.history_days,
            client_id=section.client_id,
            client_secret=section.client_secret.get_secret_value(),
            refresh_token=section.refresh_token.get_secret_value(),
        )

    def _generate(
        self, seed: int, scenario_name: str, targets: int, history_days: int, start_date: date
    ) -> None:
        scenario = scenario_for(scenario_name)
        # Campaigns started on or before the first day with data: a profile west of the first
        # one starts its history a local day earlier, hence the extra day.
        campaign_start = start_date - timedelta(days=history_days + 1)
        catalog = build_catalog(seed, scenario, targets, campaign_start.isoformat())
        first = catalog.profiles[0]
        now = datetime.combine(start_date, time(0), tzinfo=profile_zone(first["country"]))
        now_utc = now.astimezone(UTC)
        store = self.store
        with store.transaction() as conn:
            store.insert_rows(
                conn,
                "profiles",
                ("profile_id", "country", "name", "seller_id"),
                [tuple(p.values()) for p in catalog.profiles],
            )
            store.insert_entities(conn, catalog.entities)
            columns = tuple(catalog.truths[0]) if catalog.truths else ()
            store.insert_rows(conn, "truths", columns, [tuple(t.values()) for t in catalog.truths])
            store.insert_rows(
                conn, "terms", ("sim_key", "term", "weight", "cvr_mult"), catalog.terms
            )
            store.set_meta(
                conn,
                {
                    "schema": "1",
                    "seed": str(seed),
                    "scenario": scenario_name,
                    "targets": str(targets),
                    "history_days": str(history_days),
                    "start_date": start_date.isoformat(),
                    "now": now_utc.isoformat(),
                    "token_epoch": "1",
                    "request_count": "0",
                },
            )
            for profile in catalog.profiles:
                zone = profile_zone(profile["country"])
                local_now = now_utc.astimezone(zone)
                history_start = datetime.combine(
                    local_now.date() - timedelta(days=history_days), time(0), tzinfo=zone
                )
                simulate_span(
                    store,
                    conn,
                    profile_id=profile["profile_id"],
                    country=profile["country"],
                    start=history_start,
                    end=now_utc,
                    seed=seed,
                    scenario=scenario,
                    first_day=start_date,
                )

    def reset(
        self, seed: int | None = None, scenario: str | None = None, start_date: date | None = None
    ) -> None:
        """Start over: a fresh account and history (keeps size; seed, scenario and day 0 if not
        given)."""
        seed = self.seed if seed is None else seed
        scenario = self.scenario.name if scenario is None else scenario
        scenario_for(scenario)
        targets = int(self.store.get_meta("targets") or 300)
        history_days = int(self.store.get_meta("history_days") or 60)
        start_date = self.start_date if start_date is None else start_date
        self.store.wipe()
        self._generate(seed, scenario, targets, history_days, start_date)

    def advance(self, days: float = 0, hours: float = 0) -> datetime:
        """Move the simulated clock forward, simulating the traffic in between; return ``now``."""
        delta = timedelta(days=days, hours=hours)
        if delta < timedelta(0):
            raise SandboxError("the sandbox clock only moves forward")
        store = self.store
        with store.transaction() as conn:
            start = self.now
            end = start + delta
            for profile in self.profile_rows():
                simulate_span(
                    store,
                    conn,
                    profile_id=profile["profile_id"],
                    country=profile["country"],
                    start=start,
                    end=end,
                    seed=self.seed,
                    scenario=self.scenario,
                    first_day=self.start_date,
                )
            store.set_meta(conn, {"now": end.isoformat()})
        return end

    @property
    def now(self) -> datetime:
        """The simulated clock (aware, UTC)."""
        value = self.store.get_meta("now")
        if value is None:
            raise SandboxError(f"{self.store.path}: sandbox state has no clock")
        return datetime.fromisoformat(value).astimezone(UTC)

    @property
    def start_date(self) -> date:
        """Day 0: the clock started at its local midnight, and history covers the days before
        (:data:`START_DATE` unless the sandbox was created anchored to another day)."""
        stored = self.store.get_meta("start_date")
        return date.fromisoformat(stored) if stored else START_DATE

    @property
    def seed(self) -> int:
        """The seed this sandbox was generated from."""
        return int(self.store.get_meta("seed") or 0)

    @property
    def scenario(self) -> Scenario:
        """The scenario this sandbox runs."""
        return scenario_for(self.store.get_meta("scenario") or "steady")

    @property
    def profiles(self) -> list[str]:
        """Profile ids (decimal strings), as ``GET /v2/profiles`` lists them."""
        return [row["profile_id"] for row in self.profile_rows()]

    def profile_rows(self) -> list[dict[str, str]]:
        """Profiles with their country, name and seller id."""
        rows = self.store.query("SELECT * FROM profiles ORDER BY rowid")
        return [dict(row) for row in rows]

    def today(self, profile_id: str) -> date:
        """The profile's local calendar date at the simulated now."""
        country = next(p["country"] for p in self.profile_rows() if p["profile_id"] == profile_id)
        return self.now.astimezone(profile_zone(country)).date()

    def transport(self, faults: FaultConfig | None = None) -> httpx.BaseTransport:
        """An in-process httpx transport: the fake Ads API (all hosts) against this sandbox."""
        from bidagent.sandbox.transport import SandboxTransport

        return SandboxTransport(self, faults)

    @property
    def oracle(self) -> Oracle:
        """The hidden truths and the profit accounting (for decision-quality checks)."""
        from bidagent.sandbox.oracle import Oracle

        return Oracle(self)

    def expire_tokens(self) -> None:
        """Invalidate every access token issued so far (the next API call answers 401)."""
        with self.store.transaction() as conn:
            epoch = int(self.store.get_meta("token_epoch") or 1)
            self.store.set_meta(conn, {"token_epoch": str(epoch + 1)})

    def write_log(self) -> list[WriteRecord]:
        """Every write the fake API applied, oldest first."""
        rows = self.store.query("SELECT * FROM writes ORDER BY seq")
        return [
            WriteRecord(
                seq=row["seq"],
                at=datetime.fromisoformat(row["at"]),
                request_id=row["request_id"],
                profile_id=row["profile_id"],
                kind=row["kind"],
                entity_id=row["entity_id"],
                field=row["field"],
                old=None if row["old"] is None else json.loads(row["old"]),
                new=None if row["new"] is None else json.loads(row["new"]),
            )
            for row in rows
        ]

    def status(self) -> dict[str, Any]:
        """Clock, profiles, entity counts and yesterday's spend (the CLI's ``status``)."""
        counts = {
            row["kind"]: row["n"]
            for row in self.store.query("SELECT kind, COUNT(*) AS n FROM entities GROUP BY kind")
        }
        yesterday = {}
        for profile in self.profile_rows():
            day = (self.today(profile["profile_id"]) - EPOCH).days - 1
            spend = self.store.frame(
                "SELECT COALESCE(SUM(f.cost), 0.0) AS spend FROM facts f JOIN truths t "
                "ON t.sim_key = f.sim_key WHERE f.day = ? AND t.profile_id = ?",
                (day, profile["profile_id"]),
                schema={"spend": pl.Float64},
            )
            yesterday[profile["profile_id"]] = round(float(spend["spend"][0]), 2)
        return {
            "now": self.now.isoformat(),
            "seed": self.seed,
            "scenario": self.scenario.name,
            "profiles": self.profile_rows(),
            "counts": counts,
            "spend_yesterday": yesterday,
        }

    def close(self) -> None:
        """Release the state file."""
        self.store.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
