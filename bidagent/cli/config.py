"""``bidagent config check``: validate the configuration and print it as it takes effect.

Owns rendering the effective settings (secrets masked, the database password hidden, where the
file came from). Validation itself lives in :mod:`bidagent.settings`; this module only reports it.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer

from bidagent.cli.bootstrap import load_cli_settings
from bidagent.settings import Settings
from bidagent.store.database_urls import shown_url

__all__ = ["config_app"]

config_app = typer.Typer(name="config", help="Check the configuration.", no_args_is_help=True)


class ConfigFormat(StrEnum):
    """How ``config check`` prints the effective configuration."""

    toml = "toml"
    json = "json"


def effective_config(settings: Settings) -> dict[str, Any]:
    """The settings as plain data, secrets masked (``**********``), None values kept."""
    data = settings.model_dump(mode="json")
    data["database"]["url"] = shown_url(settings.database.url)
    return data


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
        )
    return json.dumps(str(value), ensure_ascii=False)


def _toml_keys(data: dict[str, Any]) -> list[str]:
    lines = []
    for key, value in data.items():
        if value is None:
            lines.append(f"# {key} is not set")
        elif not isinstance(value, dict) and not _is_table_list(value):
            lines.append(f"{key} = {_toml_value(value)}")
    return lines


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def render_toml(data: dict[str, Any], prefix: str = "") -> list[str]:
    """TOML-like lines for ``data``: scalars first, then ``[tables]`` and ``[[lists of tables]]``."""
    lines = _toml_keys(data) if not prefix else []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and not (prefix and not value):
            lines += ["", f"[{name}]", *_toml_keys(value)]
            lines += render_toml(
                {k: v for k, v in value.items() if isinstance(v, dict) or _is_table_list(v)},
                prefix=f"{name}.",
            )
        elif _is_table_list(value):
            for item in value:
                lines += ["", f"[[{name}]]", *_toml_keys(item)]
    return lines


@config_app.command("check")
def check_command(
    ctx: typer.Context,
    fmt: Annotated[ConfigFormat, typer.Option("--format", "-f", help="toml or json.")] = (
        ConfigFormat.toml
    ),
) -> None:
    """Validate the configuration and print it as it takes effect, secrets masked.

    Exit 0 when valid; exit 1 with the file, the key and what was expected otherwise.
    """
    settings = load_cli_settings(ctx, logging=False)
    source = str(settings.config_file) if settings.config_file else None
    data = effective_config(settings)
    if fmt is ConfigFormat.json:
        payload = {
            "config_file": source,
            "effective_mode": settings.effective_mode,
            "settings": data,
        }
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    typer.echo(f"# configuration: {source or 'built-in defaults (no file)'}")
    typer.echo(f"# effective mode: {settings.effective_mode}")
    typer.echo("# environment (BIDAGENT_*) and secrets-folder values are included; secrets masked")
    typer.echo("\n".join(render_toml(data)))
