"""``bidagent init``: set up a working folder with a commented ``bidagent.toml`` and the starter
rules, so a new user edits files instead of writing them from nothing.

The configuration is ``config.example.toml`` (every key with its default, commented) and the
rules are the starter pack's ``*.yaml`` with their ``*.test.yaml`` and ``schema.json``, both read
from the source tree bidagent runs from (a checkout, or an editable install of one) unless
``--from`` names another folder holding them. Nothing is overwritten without ``--force``. Exit 0
when written, 1 when a file exists or the starter pack is not found.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

import bidagent
from bidagent.cli.bootstrap import fail

__all__ = ["init_command", "starter_source"]

_HEADER = "# Written by `bidagent init` from config.example.toml.\n"


def starter_source() -> Path:
    """The folder that holds ``config.example.toml`` and ``rules/`` beside the package."""
    return Path(bidagent.__file__).resolve().parents[1]


def init_command(
    folder: Annotated[Path, typer.Argument(help="Where to write (default: here).")] = Path("."),
    source: Annotated[
        Path | None,
        typer.Option(
            "--from",
            file_okay=False,
            help="A folder with config.example.toml and rules/ (default: bidagent's source tree).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Write a commented bidagent.toml and copy the starter rules into FOLDER/rules."""
    origin = source or starter_source()
    example, rules = origin / "config.example.toml", origin / "rules"
    if not example.is_file() or not rules.is_dir():
        fail(
            f"no starter pack in {origin} (config.example.toml and rules/): run from a checkout "
            "of bidagent or name one with --from"
        )
    config = folder / "bidagent.toml"
    starter = sorted(rules.glob("*.yaml")) + sorted(rules.glob("schema.json"))
    targets = [config, *(folder / "rules" / f.name for f in starter)]
    existing = [str(t) for t in targets if t.exists()]
    if existing and not force:
        fail(f"{existing[0]} exists ({len(existing)} file(s) would be overwritten): use --force")
    (folder / "rules").mkdir(parents=True, exist_ok=True)
    config.write_text(_HEADER + example.read_text(encoding="utf-8"), encoding="utf-8")
    for file in starter:
        shutil.copyfile(file, folder / "rules" / file.name)
    rule_files = sum(
        1 for f in starter if not f.name.endswith(".test.yaml") and f.suffix == ".yaml"
    )
    typer.echo(f"wrote {config} (every key with its default, commented)")
    typer.echo(f"copied {rule_files} starter rule(s) with their tests into {folder / 'rules'}")
    typer.echo(
        "next: `bidagent db upgrade` creates the ledger, `bidagent plan` shows what the rules "
        "would change, `bidagent rules check` validates your edits"
    )
