"""``bidagent rules``: check, test, print the schema of, and explain rule files.

Thin: parse options, call the engine, print. Exit 0 when clean, 1 when problems or failures were found.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from bidagent.cli.bootstrap import fail, failing_cleanly, load_cli_settings
from bidagent.cli.junit import write_junit
from bidagent.cli.render import DetailFormat, to_jsonable
from bidagent.engine import check_rule_set, explain, load_rule_set
from bidagent.engine.ruletests import load_test_file, run_rule_tests
from bidagent.engine.schema import rule_file_schema
from bidagent.errors import RuleSetError

__all__ = ["rules_app"]

rules_app = typer.Typer(
    name="rules", help="Check, test and explain rule files.", no_args_is_help=True
)

Paths = Annotated[
    list[Path] | None, typer.Argument(help="Rule files or folders (default: settings.rules_dir).")
]


def _paths(ctx: typer.Context, paths: list[Path] | None) -> list[Path]:
    return list(paths) if paths else [load_cli_settings(ctx, logging=False).rules_dir]


FormatOption = Annotated[DetailFormat, typer.Option("--format", "-f", help="table or json.")]


@rules_app.command("check")
def check(ctx: typer.Context, paths: Paths = None, fmt: FormatOption = DetailFormat.table) -> None:
    """Load every rule file and report every problem as path:line:col: rule 'name': message.

    Exit 0 when the rule set loads (warnings allowed), 1 when any file has an error."""
    targets = _paths(ctx, paths)
    rule_set, problems = check_rule_set(targets)
    errors = [p for p in problems if p.severity == "error"]
    if fmt is DetailFormat.json:
        typer.echo(json.dumps({
            "ok": rule_set is not None,
            "rules": len(rule_set.rules) if rule_set else None,
            "files": len(rule_set.files) if rule_set else None,
            "hash": rule_set.hash if rule_set else None,
            "problems": [asdict(p) for p in problems],
        }, indent=2))  # fmt: skip
        if rule_set is None:
            raise typer.Exit(1)
        return
    for problem in problems:
        prefix = "warning: " if problem.severity == "warning" else ""
        typer.echo(f"{prefix}{problem}")
    if rule_set is None:
        typer.echo(f"{len(errors)} error(s)", err=True)
        raise typer.Exit(1)
    typer.echo(
        f"ok: {len(rule_set.rules)} rule(s) in {len(rule_set.files)} file(s), hash {rule_set.hash[:12]}"
    )


@rules_app.command("test")
def run_tests(
    ctx: typer.Context,
    paths: Paths = None,
    fmt: FormatOption = DetailFormat.table,
    junit: Annotated[
        Path | None,
        typer.Option("--junit", dir_okay=False, help="Also write the results as JUnit XML (CI)."),
    ] = None,
) -> None:
    """Run the *.test.yaml files through the real engine; print a pytest-like summary.

    Exit 0 when every test passed, 1 when one failed or none was found."""
    results = run_rule_tests(_paths(ctx, paths))
    passed = sum(r.passed for r in results)
    failed = len(results) - passed
    if junit is not None:
        try:
            write_junit(results, junit)
        except OSError as exc:
            fail(f"{junit}: cannot write the JUnit report: {exc.strerror or exc}")
    if fmt is DetailFormat.json:
        typer.echo(json.dumps({
            "passed": passed,
            "failed": failed,
            "results": [{"id": r.id, "passed": r.passed, "failures": r.failures} for r in results],
        }, indent=2))  # fmt: skip
    else:
        for result in results:
            if result.passed:
                continue
            typer.echo(f"FAILED {result.id}")
            for failure in result.failures:
                typer.echo(f"    {failure}")
        typer.echo(f"{passed} passed, {failed} failed")
    if failed or not results:
        raise typer.Exit(1)


@rules_app.command("schema")
def schema() -> None:
    """Print the JSON Schema of rule files (committed as rules/schema.json)."""
    typer.echo(json.dumps(rule_file_schema(), indent=2, sort_keys=True))


def _parse_now(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not an ISO date or datetime: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@rules_app.command("explain")
def explain_command(
    ctx: typer.Context,
    rule: Annotated[str, typer.Argument(help="Rule name.")],
    entity: Annotated[str, typer.Option("--entity", help="Entity id.")],
    now: Annotated[str | None, typer.Option("--now", help="ISO date/datetime (UTC).")] = None,
    test_file: Annotated[
        Path | None, typer.Option("--test", help="Explain against a *.test.yaml file's fixtures.")
    ] = None,
    case: Annotated[
        str | None, typer.Option("--case", help="Test case name (with --test).")
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="Profile id (live data; default: the only managed one)."),
    ] = None,
    paths: Annotated[
        list[Path] | None, typer.Option("--rules", help="Rule files or folders.")
    ] = None,
    fmt: FormatOption = DetailFormat.table,
) -> None:
    """Show the window values, each sub-condition, and the change or the guardrail that stopped it."""
    at = _parse_now(now)
    try:
        if test_file is not None:
            cases = load_test_file(test_file)
            chosen = [c for c in cases if case in (None, c.case.name)]
            if not chosen:
                raise typer.BadParameter(f"no test case named {case!r} in {test_file}")
            runnable = chosen[0]
            from bidagent.engine.testdata import build_inputs, build_settings

            at = at or runnable.case.now or runnable.defaults.now
            settings = build_settings({**runnable.defaults.settings, **runnable.case.settings})
            inputs = build_inputs(runnable.case, settings, at)  # type: ignore[arg-type]
            rule_set = runnable.rule_set
        else:
            from bidagent.agent.context import AgentContext
            from bidagent.agent.cycle.engine_inputs import load_engine_inputs
            from bidagent.cli.agent import one_profile

            config = load_cli_settings(ctx)
            rule_set = load_rule_set(list(paths) if paths else [config.rules_dir])
            with failing_cleanly(), AgentContext.open(config) as agent:
                profile_id = one_profile(agent, profile)
                # The agent's clock: the simulated one on sandbox data, as its cycles stamped it.
                at = at or agent.now()
                inputs, settings = load_engine_inputs(config, profile_id, at, engine=agent.engine)
        result = explain(rule_set, rule, entity, inputs, settings, at)  # type: ignore[arg-type]
    except RuleSetError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    except KeyError:
        fail(f"no rule named {rule!r}")
    if not result.found:
        fail(
            f"entity {entity} is not in the scope of rule {rule!r} (unknown id, archived, or "
            "another entity kind)"
        )
    if fmt is DetailFormat.json:
        typer.echo(json.dumps(to_jsonable(asdict(result)), indent=2))
        return
    typer.echo(result.render())
