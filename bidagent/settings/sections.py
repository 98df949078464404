"""The configuration's sections: one frozen pydantic model per ``[table]`` of ``bidagent.toml``.

Owns each section's keys, defaults, bounds and the checks that stay inside one section (a floor
below its ceiling, a duration that parses). It must not read files or the environment (that is
:mod:`bidagent.settings.sources`) nor check across sections (that is :class:`~.root.Settings`).
"""

from __future__ import annotations

from datetime import time
from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from bidagent.engine.config import Mode
from bidagent.settings.values import (
    DatabaseUrl,
    Duration,
    Faults,
    PositiveDuration,
    TimeOfDay,
)

__all__ = [
    "AdsSettings",
    "ConsoleSettings",
    "DatabaseSettings",
    "GuardrailSettings",
    "LoggingSettings",
    "Mode",
    "NotifySettings",
    "ProfileSettings",
    "ReviewSettings",
    "SandboxSettings",
    "ScheduleSettings",
    "WebhookSettings",
]


Fraction = Annotated[float, Field(ge=0.0, le=10.0)]


class _Section(BaseModel):
    # No inf or nan anywhere: an infinite timeout is a hang, an infinite day never ends.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class DatabaseSettings(_Section):
    """Where the ledger lives. SQLite by default; ``postgresql+psycopg://...`` for several replicas."""

    url: DatabaseUrl = "sqlite:///bidagent.db"
    busy_timeout_ms: int = Field(default=10_000, ge=0, le=600_000)
    echo: bool = False


class AdsSettings(_Section):
    """The Ads API data source. ``sandbox`` needs no Amazon account."""

    source: Literal["sandbox", "amazon"] = "sandbox"
    region: Literal["NA", "EU", "FE"] = "NA"
    client_id: str | None = None
    client_secret: SecretStr | None = None
    refresh_token: SecretStr | None = None
    base_url: str | None = Field(
        default=None, description="Override the regional host, e.g. a `bidagent sandbox serve` URL."
    )
    token_url: str | None = Field(default=None, description="Override the LWA token URL.")
    timeout_s: float = Field(default=30.0, gt=0, le=3600)
    connect_timeout_s: float = Field(default=10.0, gt=0, le=600)
    max_connections: int = Field(default=10, ge=1, le=1000)
    requests_per_second: float = Field(
        default=5.0, gt=0, le=1_000_000, description="Per profile (backtests use 10,000)."
    )
    max_attempts: int = Field(
        default=6, ge=1, le=100, description="Per read request, retries included."
    )
    max_retry_time_s: float = Field(default=300.0, gt=0, le=86_400)
    report_poll_interval_s: float = Field(default=10.0, gt=0, le=3600)
    report_deadline_s: float = Field(default=3 * 3600.0, gt=0, le=2 * 86_400)
    restate_days: int = Field(
        default=14, ge=1, le=60, description="Days re-pulled every cycle (attribution restates)."
    )
    history_days: int = Field(default=60, ge=1, le=95, description="Days pulled on first sync.")
    suggestion_ad_groups: int = Field(
        default=200,
        ge=0,
        le=10_000,
        description="Ad groups whose suggested bids are fetched per cycle, oldest first; 0: off.",
    )
    suggestion_max_age_days: int = Field(
        default=7,
        ge=1,
        le=90,
        description="Days before an ad group's suggested bids are due again.",
    )

    @property
    def backend(self) -> Literal["sandbox", "remote_sandbox", "amazon"]:
        """What the agent talks to, the one place ``source`` and ``base_url`` are read together.

        ``sandbox``: the in-process simulated marketplace (``source = "sandbox"``, no
        ``base_url``); its clock is simulated and only it can count ``run --days``.
        ``remote_sandbox``: a ``bidagent sandbox serve`` reached over HTTP at ``base_url``.
        ``amazon``: the Amazon Ads API (a ``base_url`` only overrides the regional host).
        """
        if self.source == "amazon":
            return "amazon"
        return "sandbox" if self.base_url is None else "remote_sandbox"


class ProfileSettings(_Section):
    """One advertising profile the agent manages."""

    profile_id: str
    name: str | None = None
    target_acos: float | None = Field(default=None, gt=0, le=10)
    campaign_target_acos: dict[str, Annotated[float, Field(gt=0, le=10)]] = Field(
        default_factory=dict, description="Per campaign id or exact campaign name."
    )
    enabled: bool = True

    @field_validator("profile_id", mode="before")
    @classmethod
    def _profile_id_as_text(cls, value: Any) -> Any:
        # TOML users write ids as numbers; Amazon ids exceed 2**53, so keep them as text.
        return str(value) if isinstance(value, int) else value


class ScheduleSettings(_Section):
    """When the daily cycle runs, in each profile's own time zone."""

    daily_at: TimeOfDay = time(7, 0)
    misfire_grace_s: int = Field(default=6 * 3600, ge=1, le=7 * 86400)
    reload_rules_s: float = Field(
        default=5.0, gt=0, le=3600, description="How often rule files are polled."
    )
    lock_wait_s: float = Field(
        default=30.0, ge=0,
        description="How long a command waits for a profile another process is working on.",
    )  # fmt: skip


class GuardrailSettings(_Section):
    """Limits applied to every rule; a rule may only tighten them."""

    min_bid: float | None = Field(default=None, ge=0)
    max_bid: float | None = Field(default=None, gt=0)
    min_budget: float | None = Field(default=None, ge=0)
    max_budget: float | None = Field(default=None, gt=0)
    max_step: Annotated[float, Field(gt=0.0, le=10.0)] = 0.5
    cooldown: Duration = "3d"
    external_edit_cooldown: Duration | None = Field(
        default=None,
        description="How long a field edited outside bidagent rests; default: cooldown.",
    )
    settle: Duration = "2d"
    max_data_age: PositiveDuration = "3d"
    max_changes_per_cycle: int = Field(default=500, ge=0, le=1_000_000)
    max_changes_pct: Fraction = 0.25

    @model_validator(mode="after")
    def _floors_below_ceilings(self) -> GuardrailSettings:
        for low, high in (("min_bid", "max_bid"), ("min_budget", "max_budget")):
            lo, hi = getattr(self, low), getattr(self, high)
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(f"{low} ({lo}) is above {high} ({hi})")
        return self


class ReviewSettings(_Section):
    """The human review queue."""

    hold_expiry: PositiveDuration = "3d"


class WebhookSettings(_Section):
    """One notification target. The URL is a secret: it usually embeds a token."""

    name: str
    kind: Literal["slack", "feishu", "dingtalk", "json"] = "json"
    url: SecretStr
    min_severity: Literal["info", "warning", "critical"] = "warning"


class NotifySettings(_Section):
    """Where review items are announced."""

    webhooks: list[WebhookSettings] = Field(default_factory=list)
    digest_at: TimeOfDay | None = None
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    max_attempts: int = Field(default=20, ge=1, le=1000)


class SandboxSettings(_Section):
    """The simulated marketplace used when ``[ads] source = "sandbox"``."""

    seed: int = Field(default=7, ge=0, le=2**32 - 1)
    scenario: str = "steady"
    seconds_per_day: float = Field(
        default=5.0, gt=0, description="Daemon: one simulated day per this many real seconds."
    )
    state_path: Path | None = Field(
        default=None,
        description="Default: beside the SQLite database, <db>.sandbox (a SQLite file).",
    )
    targets: int = Field(
        default=300, ge=1, le=1_000_000, description="Targets in a fresh sandbox account."
    )
    history_days: int = Field(default=60, ge=0, le=730)
    faults: Faults = Field(
        default_factory=dict,
        description="Fault injection for the in-process fake API (see docs/sandbox.md).",
    )
    client_id: str = "amzn1.application-oa2-client.sandbox"
    client_secret: SecretStr = SecretStr("sandbox-secret")
    refresh_token: SecretStr = SecretStr("Atzr|sandbox")


class LoggingSettings(_Section):
    """Log level and renderer (``auto``: console on a terminal, JSON lines otherwise)."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["auto", "console", "json"] = "auto"


class ConsoleSettings(_Section):
    """The web console, which also serves ``/healthz`` and ``/metrics`` (port 0 = off)."""

    host: str = Field(
        default="127.0.0.1",
        description="Address to bind; 0.0.0.0 inside a container, behind a proxy or a firewall.",
    )
    port: int = Field(default=0, ge=0, le=65535)
    public_url: str | None = Field(
        default=None,
        description="How people reach the console (https://...): links in messages, Secure cookies.",
    )
    auth: Literal["password", "proxy"] = "password"
    proxy_header: str = Field(default="X-Forwarded-User", min_length=1, max_length=128)
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or networks (10.0.0.0/8) whose proxy_header is believed.",
    )
    session_secret: SecretStr | None = Field(
        default=None, description="Signs session cookies; default: generated, kept in the ledger."
    )
    session_lifetime: PositiveDuration = "12h"
    login_attempts: int = Field(default=5, ge=1, le=10_000)
    login_window: PositiveDuration = "15m"

    @field_validator("public_url")
    @classmethod
    def _public_url_is_http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an http:// or https:// URL, not {value!r}")
        return value.rstrip("/") if value is not None else None

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"trusted_proxies: {entry!r} is not an IP address or network"
                ) from None
        return value

    @model_validator(mode="after")
    def _proxy_mode_names_its_proxies(self) -> ConsoleSettings:
        if self.auth == "proxy" and not self.trusted_proxies:
            raise ValueError(
                'auth = "proxy" needs trusted_proxies: the addresses whose '
                f"{self.proxy_header} header is believed"
            )
        return self
