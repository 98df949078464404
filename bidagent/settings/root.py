"""The root :class:`Settings` model: every section, the checks across them, what they imply.

Owns the top-level keys, which secrets the file may not hold, and what the settings derive (the
effective mode, whether the ledger may be created, a profile's target ACoS, the sandbox's state
path). It must not find or read files or the environment: :mod:`.sources` reads and merges them
and validates the result with this model.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, PrivateAttr, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bidagent.durations import parse_duration
from bidagent.settings.sections import (
    AdsSettings,
    ConsoleSettings,
    DatabaseSettings,
    GuardrailSettings,
    LoggingSettings,
    Mode,
    NotifySettings,
    ProfileSettings,
    ReviewSettings,
    SandboxSettings,
    ScheduleSettings,
)

__all__ = ["ENV_PREFIX", "FILE_REFUSED_SECRETS", "MOVED_KEYS", "Settings"]

ENV_PREFIX = "BIDAGENT_"

# Secrets that are never read from the file: the file is the part most often committed or
# shared. Webhook URLs (also secret) may stay in the file; the whole list is one value.
FILE_REFUSED_SECRETS = ("ads.client_secret", "ads.refresh_token", "console.session_secret")

# Keys that no longer exist: the key that replaced each, and why. A configuration still setting
# one gets a message naming the new key instead of a bare "unknown key".
MOVED_KEYS: dict[str, tuple[str, str]] = {
    "http.host": ("console.host", "the console's app serves /healthz and /metrics"),
    "http.port": ("console.port", "the console's app serves /healthz and /metrics"),
}


class Settings(BaseSettings):
    """The effective configuration. Build it with :func:`load_settings`, not directly."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
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
    console: ConsoleSettings = ConsoleSettings()

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
        # :func:`~.sources.load_settings` merges the file, the secrets folder and the
        # environment itself (so each message can name the real source) and passes the result
        # in; ``Settings()`` alone is the built-in defaults, whatever the environment holds.
        return (init_settings,)

    @model_validator(mode="after")
    def _amazon_needs_credentials(self) -> Settings:
        if self.ads.backend == "amazon":
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
        # A folder chosen on purpose must exist; the default's absence is the rule loader's to
        # report (the demo and the example use it from the checkout).
        if self.rules_dir != Path("rules") and not self.rules_dir.is_dir():
            raise ValueError(f"rules_dir {str(self.rules_dir)!r} is not a folder")
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
        return "dry_run" if self.ads.backend == "amazon" else "apply"

    def target_acos_for(self, profile_id: str) -> float:
        """Target ACoS of a profile (its own, else the global default)."""
        for profile in self.profiles:
            if profile.profile_id == profile_id and profile.target_acos is not None:
                return profile.target_acos
        return self.default_target_acos

    def profile(self, profile_id: str) -> ProfileSettings | None:
        """The configured profile with this id, if any."""
        return next((p for p in self.profiles if p.profile_id == profile_id), None)

    @property
    def creates_ledger(self) -> bool:
        """Whether a missing ledger may be created on first use: only the built-in demo's.

        The demo (no configuration file, the default ``sqlite:///bidagent.db``) runs with no
        setup. Any other database must be created on purpose with ``bidagent db upgrade``, so a
        typo'd or unmounted path is refused instead of becoming an empty ledger.
        """
        return (
            self.config_file is None
            and self.database.url == DatabaseSettings.model_fields["url"].default
        )

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
