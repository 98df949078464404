"""Where the configuration comes from: the file, the secrets folder, the environment.

Owns choosing the file (``--config``, ``$BIDAGENT_CONFIG``, ``./bidagent.toml``), parsing TOML,
Docker-style secret files and ``BIDAGENT_*`` variables (the last two alike: a value for a list,
table or mapping is JSON), merging them (environment over secrets folder over file), refusing
unknown variables and secrets written in the file, and turning a validation failure into one
:class:`ConfigError` whose every problem names its real source: the file and key, the
environment variable, or the secrets file. The models live in :mod:`.sections` and
:mod:`.root`; this module must not define keys or defaults.
"""

from __future__ import annotations

import json
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bidagent.errors import ConfigError
from bidagent.settings.root import ENV_PREFIX, FILE_REFUSED_SECRETS, MOVED_KEYS, Settings

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
Key = tuple[str, ...]


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
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start});"
            " save the file as UTF-8",
            file=path,
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror}", file=path) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=path) from None


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _field(parts: Key) -> tuple[bool, Any]:
    """Whether ``parts`` names a setting, and that setting's annotation."""
    model: type[BaseModel] | None = Settings
    annotation: Any = None
    for part in parts:
        if model is None or part not in model.model_fields:
            return False, None
        annotation = model.model_fields[part].annotation
        model = annotation if _is_model(annotation) else None
    return True, annotation


def _is_complex(annotation: Any) -> bool:
    """A list, table or mapping: given as JSON in the environment and in secret files."""
    if _is_model(annotation):
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _is_complex(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_is_complex(a) for a in typing.get_args(annotation) if a is not type(None))
    return origin in (list, dict, tuple, set, frozenset)


def _value(parts: Key, raw: str, source: str) -> Any:
    """A raw string as the setting at ``parts`` takes it: JSON for complex settings."""
    _known, annotation = _field(parts)
    if not _is_complex(annotation):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{source}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno});"
            f" key '{'.'.join(parts)}' takes a JSON "
            + ("list" if typing.get_origin(annotation) is list else "object"),
            key=".".join(parts),
        ) from None


def moved_key_message(dotted: str, value: Any = None) -> str | None:
    """``key 'http.port' has moved to 'console.port' (why)`` for a key that moved (for a table,
    one clause per key in it), else None."""
    if isinstance(value, Mapping) and value:
        inner = [moved_key_message(f"{dotted}.{key}") for key in value]
        if all(inner):
            return "; ".join(m for m in inner if m)
    if dotted not in MOVED_KEYS:
        return None
    new, why = MOVED_KEYS[dotted]
    return f"key '{dotted}' has moved to '{new}' ({why})"


def _put(nested: dict[str, Any], parts: Key, value: Any) -> None:
    node = nested
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


def _merge(low: dict[str, Any], high: Mapping[str, Any]) -> dict[str, Any]:
    """``high`` over ``low``, table by table; anything else (lists included) replaced whole."""
    merged = dict(low)
    for key, value in high.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_secrets(directory: Path) -> tuple[dict[str, Any], dict[Key, str]]:
    """Docker-style secret files (``ads__refresh_token`` or ``BIDAGENT_ADS__REFRESH_TOKEN``)."""
    nested: dict[str, Any] = {}
    origins: dict[Key, str] = {}
    if not directory.is_dir():
        return nested, origins
    for entry in sorted(directory.iterdir()):
        name = entry.name.lower().removeprefix(ENV_PREFIX.lower())
        if not entry.is_file() or "__" not in name:
            # Only nested settings are read; skip unrelated files in a shared folder.
            continue
        parts = tuple(name.split("__"))
        source = f"secrets file {entry}"
        if not _field(parts)[0]:
            moved = moved_key_message(".".join(parts))
            what = f": {moved}" if moved else " names no setting"
            raise ConfigError(f"{source}{what}", key=".".join(parts))
        try:
            raw = entry.read_text(encoding="utf-8").strip()
        except UnicodeDecodeError:
            raise ConfigError(f"{source}: not UTF-8 text", key=".".join(parts)) from None
        _put(nested, parts, _value(parts, raw, source))
        origins[parts] = source
    return nested, origins


def _read_environment(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[Key, str]]:
    """``BIDAGENT_*`` variables as nested data; an unknown one is an error naming it."""
    nested: dict[str, Any] = {}
    origins: dict[Key, str] = {}
    unknown: list[str] = []
    moved: dict[str, str] = {}
    for name in sorted(environ):
        if not name.upper().startswith(ENV_PREFIX) or name.upper() in _LOADER_ENV:
            continue
        parts = tuple(name[len(ENV_PREFIX) :].lower().split("__"))
        if not _field(parts)[0]:
            if message := moved_key_message(".".join(parts)):
                moved[name] = f"environment variable {name}: {message}"
            else:
                unknown.append(name)
            continue
        source = f"environment variable {name}"
        _put(nested, parts, _value(parts, environ[name], source))
        origins[parts] = source
    if moved:
        raise ConfigError("; ".join(moved.values()), key=next(iter(moved)))
    if unknown:
        raise ConfigError(
            "unknown environment variable(s) "
            + ", ".join(unknown)
            + " (nested keys use '__', e.g. BIDAGENT_DATABASE__URL)",
            key=unknown[0],
        )
    return nested, origins


def _refused_in_file(data: Mapping[str, Any], path: Path) -> list[str]:
    """Secrets written in the file: each named with where it belongs instead."""
    problems = []
    for dotted in FILE_REFUSED_SECRETS:
        section, key = dotted.split(".")
        table = data.get(section)
        if isinstance(table, Mapping) and key in table:
            problems.append(f"key '{dotted}' is a secret and is not read from the file")
    url = data.get("database", {}).get("url") if isinstance(data.get("database"), dict) else None
    if isinstance(url, str) and _has_password(url):
        problems.append("key 'database.url' holds a password and is not read from the file")
    return [
        f"{path}: {problem}: set {_env_name(problem)} or the secrets-folder file"
        f" {_env_name(problem).removeprefix(ENV_PREFIX).lower()} instead"
        for problem in problems
    ]


def _env_name(problem: str) -> str:
    dotted = problem.split("'")[1]
    return ENV_PREFIX + dotted.replace(".", "__").upper()


def _has_password(url: str) -> bool:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return bool(make_url(url).password)
    except ArgumentError:
        return False


def _source_of(loc: Key, origins: Mapping[Key, str]) -> str | None:
    """The environment variable or secrets file that supplied ``loc`` (or the table holding it)."""
    for end in range(len(loc), 0, -1):
        if loc[:end] in origins:
            return origins[loc[:end]]
    below = {source for key, source in origins.items() if key[: len(loc)] == loc and loc}
    return below.pop() if len(below) == 1 else None


def _problem(error: Any, origins: Mapping[Key, str], path: Path | None) -> str:
    loc = tuple(str(part) for part in error["loc"])
    key = ".".join(loc)
    message = str(error["msg"]).removeprefix("Value error, ")
    what = message
    if error["type"] == "extra_forbidden":
        what = moved_key_message(key, error.get("input")) or f"unknown key '{key}'"
    source = _source_of(loc, origins)
    if source is not None:
        return f"{source} (key '{key}'): {what}" if loc else f"{source}: {what}"
    head = f"{path}: " if path is not None else ""
    if error["type"] == "extra_forbidden" or not loc:
        return head + what
    return f"{head}key '{key}': {what}"


def load_settings(
    config_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Load and validate the configuration; raise :class:`ConfigError` naming the real source."""
    env = dict(os.environ if environ is None else environ)
    path = resolve_config_path(config_path, env, cwd)
    file_data = _read_toml(path) if path is not None else {}
    if path is not None and (refused := _refused_in_file(file_data, path)):
        error = ConfigError("; ".join(refused), key=refused[0].split("'")[1])
        error.file = path
        raise error
    env_data, env_origins = _read_environment(env)
    secrets_dir = Path(env.get(SECRETS_DIR_ENV, str(DEFAULT_SECRETS_DIR)))
    secret_data, secret_origins = _read_secrets(secrets_dir)
    merged = _merge(_merge(file_data, secret_data), env_data)
    origins = {**secret_origins, **env_origins}
    try:
        settings = Settings(**merged)
    except ValidationError as exc:
        errors = exc.errors()
        first = ".".join(str(p) for p in errors[0]["loc"])
        error = ConfigError(
            "; ".join(_problem(e, origins, path) for e in errors), key=first or None
        )
        if path is not None and _source_of(tuple(map(str, errors[0]["loc"])), origins) is None:
            error.file = path
        raise error from None
    settings._config_file = path
    return settings
