"""Configuration: one TOML file, ``BIDAGENT_*`` environment variables, and a secrets folder.

Where the file comes from, first match wins: the CLI's ``--config PATH``, then ``$BIDAGENT_CONFIG``,
then ``./bidagent.toml`` when present, else built-in defaults that run the sandbox demo.

Precedence of values, highest first: environment variables (``BIDAGENT_`` prefix, ``__`` between
nested keys, e.g. ``BIDAGENT_DATABASE__URL``), files in the secrets folder (Docker secrets; file
names spelt like the environment variables, with or without the prefix, any case), then the file.

Unknown keys are errors that name the key and where it came from: a misspelt key that is silently
ignored is how a guardrail ends up off. Secrets are ``SecretStr`` and never required in the file.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from bidagent.durations import parse_duration
from bidagent.engine.config import Mode
from bidagent.errors import ConfigError

__all__ = [
    "AdsSettings",
    "DatabaseSettings",
    "GuardrailSettings",
    "HttpSettings",
    "LoggingSettings",
    "Mode",
    "NotifySettings",
    "ProfileSettings",
    "ReviewSettings",
    "SandboxSettings",
    "ScheduleSettings",
    "Settings",
    "WebhookSettings",
    "load_settings",
    "resolve_config_path",
]

ENV_PREFIX = "BIDAGENT_"
CONFIG_ENV = "BIDAGENT_CONFIG"
SECRETS_DIR_ENV = "BIDAGENT_SECRETS_DIR"
DEFAULT_CONFIG_NAME = "bidagent.toml"
DEFAULT_SECRETS_DIR = Path("/run/secrets")
# Environment variables that steer loading itself rather than naming a setting.
_LOADER_ENV = {
    CONFIG_ENV,
    SECRETS_DIR_ENV,
    "BIDAGENT_REQUIRE_POSTGRES",
    "BIDAGENT_REQUIRE_BROWSER",
    "BIDAGENT_FAILPOINTS",
    "BIDAGENT_FAILPOINTS_SEED",
}


def _check_duration(value: str) -> str:
    parse_duration(value)
    return value


Duration = Annotated[str, AfterValidator(_check_duration)]
Fraction = Annotated[float, Field(ge=0.0, le=10.0)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Section):
    """Where the ledger lives. SQLite by default; ``postgresql+psycopg://...`` for several replicas."""

    url: str = "sqlite:///bidagent.db"
    busy_timeout_ms: int = Field(default=10_000, ge=0)
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
    timeout_s: float = Field(default=30.0, gt=0)
    connect_timeout_s: float = Field(default=10.0, gt=0)
    max_connections: int = Field(default=10, ge=1)
    requests_per_second: float = Field(default=5.0, gt=0, description="Per profile.")
    max_attempts: int = Field(default=6, ge=1, description="Per read request, retries included.")
    max_retry_time_s: float = Field(default=300.0, gt=0)
    report_poll_interval_s: float = Field(default=10.0, gt=0)
    report_deadline_s: float = Field(default=3 * 3600.0, gt=0)
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

    daily_at: time = time(7, 0)
    misfire_grace_s: int = Field(default=6 * 3600, ge=1)
    reload_rules_s: float = Field(default=5.0, gt=0, description="How often rule files are polled.")


class GuardrailSettings(_Section):
    """Limits applied to every rule; a rule may only tighten them."""

    min_bid: float | None = Field(default=None, ge=0)
    max_bid: float | None = Field(default=None, gt=0)
    min_budget: float | None = Field(default=None, ge=0)
    max_budget: float | None = Field(default=None, gt=0)
    max_step: Fraction = 0.5
    cooldown: Duration = "3d"
    settle: Duration = "2d"
    max_data_age: Duration = "3d"
    max_changes_per_cycle: int = Field(default=500, ge=0)
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

    hold_expiry: Duration = "3d"


class WebhookSettings(_Section):
    """One notification target. The URL is a secret: it usually embeds a token."""

    name: str
    kind: Literal["slack", "feishu", "dingtalk", "json"] = "json"
    url: SecretStr
    min_severity: Literal["info", "warning", "critical"] = "warning"


class NotifySettings(_Section):
    """Where review items are announced."""

    webhooks: list[WebhookSettings] = Field(default_factory=list)
    digest_at: time | None = None
    timeout_s: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=20, ge=1)


class SandboxSettings(_Section):
    """The simulated marketplace used when ``[ads] source = "sandbox"``."""

    seed: int = 7
    scenario: str = "steady"
    seconds_per_day: float = Field(
        default=5.0, gt=0, description="Daemon: one simulated day per this many real seconds."
    )
    state_path: Path | None = Field(
        default=None,
        description="Default: beside the SQLite database, <db>.sandbox (a SQLite file).",
    )
    targets: int = Field(default=300, ge=1, description="Targets in a fresh sandbox account.")
    history_days: int = Field(default=60, ge=0)
    faults: dict[str, Any] = Field(
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


class HttpSettings(_Section):
    """The optional local ``/healthz`` and ``/metrics`` endpoint (0 = off)."""

    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)


_file_data: ContextVar[dict[str, Any] | None] = ContextVar("bidagent_settings_file", default=None)
_secrets_data: ContextVar[dict[str, Any] | None] = ContextVar(
    "bidagent_settings_secrets", default=None
)


class _DictSource(PydanticBaseSettingsSource):
    """A settings source over an already-parsed mapping (the TOML file, or the secrets folder)."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


class Settings(BaseSettings):
    """The effective configuration. Build it with :func:`load_settings`, not directly."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    mode: Mode | None = Field(
        default=None,
        description="dry_run | review | apply. Default: apply on the sandbox, dry_run on Amazon.",
    )
    rules_dir: Path = Path("rules")
    default_target_acos: float = Field(default=0.30, gt=0, le=10)
    database: DatabaseSettings = DatabaseSettings()
    ads: AdsSettings = AdsSettings()
    profiles: list[ProfileSettings] = Field(default_factory=list)
    schedule: ScheduleSettings = ScheduleSettings()
    guardrails: GuardrailSettings = GuardrailSettings()
    review: ReviewSettings = ReviewSettings()
    notify: NotifySettings = NotifySettings()
    sandbox: SandboxSettings = SandboxSettings()
    logging: LoggingSettings = LoggingSettings()
    http: HttpSettings = HttpSettings()

    _config_file: Path | None = PrivateAttr(default=None)

    @property
    def config_file(self) -> Path | None:
        """The file this configuration was read from (None: built-in defaults)."""
        return self._config_file

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            _DictSource(settings_cls, _secrets_data.get() or {}),
            _DictSource(settings_cls, _file_data.get() or {}),
        )

    @model_validator(mode="after")
    def _amazon_needs_credentials(self) -> Settings:
        if self.ads.source == "amazon":
            missing = [
                name
                for name in ("client_id", "client_secret", "refresh_token")
                if not getattr(self.ads, name)
            ]
            if missing:
                raise ValueError(
                    "ads.source = 'amazon' needs "
                    + ", ".join(f"ads.{m}" for m in missing)
                    + " (set BIDAGENT_ADS__<NAME> or a secrets file)"
                )
        ids = [p.profile_id for p in self.profiles]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"profiles: duplicate profile_id {', '.join(duplicates)}")
        return self

    @property
    def effective_mode(self) -> Mode:
        """The global safety mode: explicit, else ``apply`` on the sandbox and ``dry_run`` on Amazon."""
        if self.mode is not None:
            return self.mode
        return "apply" if self.ads.source == "sandbox" else "dry_run"

    def target_acos_for(self, profile_id: str) -> float:
        """Target ACoS of a profile (its own, else the global default)."""
        for profile in self.profiles:
            if profile.profile_id == profile_id and profile.target_acos is not None:
                return profile.target_acos
        return self.default_target_acos

    def profile(self, profile_id: str) -> ProfileSettings | None:
        """The configured profile with this id, if any."""
        return next((p for p in self.profiles if p.profile_id == profile_id), None)

    def sandbox_state_path(self) -> Path:
        """Where the sandbox keeps its state: configured, else beside the SQLite file."""
        if self.sandbox.state_path is not None:
            return self.sandbox.state_path
        url = self.database.url
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            db_path = Path(url.removeprefix("sqlite:///"))
            return db_path.with_name(db_path.name + ".sandbox")
        return Path("bidagent.sandbox")

    def duration(self, value: str) -> timedelta:
        """Parse one of this configuration's duration strings."""
        return parse_duration(value)


def resolve_config_path(
    cli_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Path | None:
    """Which configuration file to read: CLI, then ``$BIDAGENT_CONFIG``, then ``./bidagent.toml``."""
    env = os.environ if environ is None else environ
    if cli_path is not None:
        return cli_path
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV])
    local = (cwd or Path.cwd()) / DEFAULT_CONFIG_NAME
    return local if local.is_file() else None


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError("configuration file not found", file=path)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=path) from exc


def _nest(flat: Mapping[str, str]) -> dict[str, Any]:
    """Turn ``{"ads__client_secret": v}`` into ``{"ads": {"client_secret": v}}``."""
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        parts = key.split("__")
        node = nested
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return nested


def _read_secrets(directory: Path) -> dict[str, Any]:
    """Read Docker-style secret files (``ads__refresh_token`` or ``BIDAGENT_ADS__REFRESH_TOKEN``)."""
    if not directory.is_dir():
        return {}
    flat: dict[str, str] = {}
    for entry in sorted(directory.iterdir()):
        if not entry.is_file():
            continue
        name = entry.name.lower()
        name = name.removeprefix(ENV_PREFIX.lower())
        if "__" not in name:
            # Only nested secrets exist (ads.*, notify.*); skip unrelated files in a shared folder.
            continue
        flat[name] = entry.read_text(encoding="utf-8").strip()
    return _nest(flat)


def _unknown_env_keys(environ: Mapping[str, str]) -> list[str]:
    """Prefixed environment variables that name no setting (a typo would otherwise be ignored)."""
    unknown: list[str] = []
    for name in environ:
        if not name.upper().startswith(ENV_PREFIX) or name.upper() in _LOADER_ENV:
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        model: type[BaseModel] | None = Settings
        for part in parts:
            if model is None or part not in model.model_fields:
                unknown.append(name)
                break
            annotation = model.model_fields[part].annotation
            model = (
                annotation
                if isinstance(annotation, type) and issubclass(annotation, BaseModel)
                else None
            )
    return unknown


def _format_validation_error(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(root)"
        if error["type"] == "extra_forbidden":
            lines.append(f"unknown key '{key}'")
        else:
            lines.append(f"key '{key}': {error['msg']}")
    return "; ".join(lines)


def load_settings(
    config_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Load and validate the configuration; raise :class:`ConfigError` naming file and key."""
    env = dict(os.environ if environ is None else environ)
    path = resolve_config_path(config_path, env, cwd)
    file_data = _read_toml(path) if path is not None else {}

    unknown_env = _unknown_env_keys(env)
    if unknown_env:
        raise ConfigError(
            "unknown environment variable(s) "
            + ", ".join(sorted(unknown_env))
            + " (nested keys use '__', e.g. BIDAGENT_DATABASE__URL)",
            key=unknown_env[0],
        )
    secrets_dir = Path(env.get(SECRETS_DIR_ENV, str(DEFAULT_SECRETS_DIR)))
    secrets = _read_secrets(secrets_dir)

    file_token = _file_data.set(file_data)
    secrets_token = _secrets_data.set(secrets)
    saved_environ = None
    if environ is not None:
        # pydantic-settings reads os.environ; present exactly the mapping we were given.
        saved_environ = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ConfigError(_format_validation_error(exc), file=path, key=key or None) from None
    finally:
        _file_data.reset(file_token)
        _secrets_data.reset(secrets_token)
        if saved_environ is not None:
            os.environ.clear()
            os.environ.update(saved_environ)
    settings._config_file = path
    return settings
