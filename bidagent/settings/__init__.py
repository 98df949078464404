"""Configuration: one TOML file, ``BIDAGENT_*`` environment variables, and a secrets folder.

Where the file comes from, first match wins: the CLI's ``--config PATH``, then ``$BIDAGENT_CONFIG``,
then ``./bidagent.toml`` when present, else built-in defaults that run the sandbox demo.

Precedence of values, highest first: environment variables (``BIDAGENT_`` prefix, ``__`` between
nested keys, e.g. ``BIDAGENT_DATABASE__URL``), files in the secrets folder (Docker secrets; file
names spelt like the environment variables, with or without the prefix, any case), then the file.

Unknown keys are errors that name the key and where it came from: a misspelt key that is silently
ignored is how a guardrail ends up off. Secrets are ``SecretStr`` and never required in the file.

The package is cut by concern: :mod:`.sections` holds the section models (``[ads]``, ``[database]``,
...), :mod:`.root` the :class:`Settings` model that gathers them and checks across sections, and
:mod:`.sources` finds and reads the file, the secrets folder and the environment. Import from here.
"""

from bidagent.settings.root import Settings
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
    WebhookSettings,
)
from bidagent.settings.sources import load_settings

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
    "Settings",
    "WebhookSettings",
    "load_settings",
]
