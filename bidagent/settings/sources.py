"""Where the configuration comes from: the file, the secrets folder, the environment.

Owns choosing the file (``--config``, ``$BIDAGENT_CONFIG``, ``./bidagent.toml``), parsing TOML and
Docker-style secret files, refusing unknown ``BIDAGENT_*`` variables, and turning a validation
failure into one :class:`ConfigError` naming the file and every bad key. The models themselves
live in :mod:`.sections` and :mod:`.root`; this module must not define keys or defaults.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bidagent.errors import ConfigError
from bidagent.settings.root import ENV_PREFIX, FILE_VALUES, SECRET_VALUES, Settings

__all__ = ["load_settings"]

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

    file_token = FILE_VALUES.set(file_data)
    secrets_token = SECRET_VALUES.set(secrets)
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
        FILE_VALUES.reset(file_token)
        SECRET_VALUES.reset(secrets_token)
        if saved_environ is not None:
            os.environ.clear()
            os.environ.update(saved_environ)
    settings._config_file = path
    return settings
