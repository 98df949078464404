"""Hostile configuration: each bad value is one ``error:`` line naming its source, exit 1, no
traceback and no secret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bidagent.cli.app import app
from bidagent.sandbox.faults import EndpointFaults, FaultConfig
from bidagent.settings.values import EndpointFaultsModel, FaultsModel

runner = CliRunner()


def _check(tmp_path: Path, toml: str | bytes, env: dict[str, str] | None = None) -> Result:
    path = tmp_path / "bidagent.toml"
    if isinstance(toml, bytes):
        path.write_bytes(toml)
    else:
        path.write_text(toml, encoding="utf-8")
    return runner.invoke(app, ["--config", str(path), "config", "check"], env=env)


def _error(result: Result) -> str:
    """The one stderr line of a failed command (exit 1, nothing on stdout, no traceback)."""
    assert (result.exit_code, result.stdout) == (1, ""), result.output
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    return line


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[ads]\ntimeout_s = inf\n", "key 'ads.timeout_s': Input should be a finite number"),
        (
            "[sandbox]\nseconds_per_day = inf\n",
            "key 'sandbox.seconds_per_day': Input should be a finite number",
        ),
        (
            "[database]\nbusy_timeout_ms = 12345678901234567890\n",
            "key 'database.busy_timeout_ms': Input should be less than or equal to 600000",
        ),
        (
            "[schedule]\ndaily_at = 7\n",
            "key 'schedule.daily_at': expected a time of day as 'HH:MM' or 'HH:MM:SS', not 7",
        ),
        (
            '[schedule]\ndaily_at = "25:00"\n',
            "key 'schedule.daily_at': expected a time of day as 'HH:MM' or 'HH:MM:SS', not '25:00'",
        ),
        (
            "[guardrails]\nmax_step = 0\n",
            "key 'guardrails.max_step': Input should be greater than 0",
        ),
        (
            '[guardrails]\nmax_data_age = "0s"\n',
            "key 'guardrails.max_data_age': duration '0s' must be longer than zero",
        ),
        (
            '[review]\nhold_expiry = "0d"\n',
            "key 'review.hold_expiry': duration '0d' must be longer than zero",
        ),
        (
            "[sandbox]\nfaults = { report_failur = 0.5 }\n",
            "key 'sandbox.faults': unknown fault setting 'report_failur'",
        ),
        (
            '[sandbox.faults.endpoints."sp/keywords"]\nthrottle = 2.0\n',
            "key 'sandbox.faults': 'endpoints.sp/keywords.throttle':"
            " Input should be less than or equal to 1",
        ),
        (
            '[database]\nurl = ""\n',
            "key 'database.url': expected a sqlite:///path or postgresql://user@host/db URL",
        ),
        (
            '[database]\nurl = "mysql://u@h/db"\n',
            "key 'database.url': expected a sqlite:///path or postgresql://user@host/db URL,"
            " not scheme 'mysql'",
        ),
        ('rules_dir = "no-such-rules"\n', "rules_dir 'no-such-rules' is not a folder"),
        (
            "[sandbox]\ntargets = 10000000\n",
            "key 'sandbox.targets': Input should be less than or equal to 1000000",
        ),
        (
            "[guardrails]\nmax_changes_per_cycle = 10000000000\n",
            "key 'guardrails.max_changes_per_cycle': Input should be less than or equal to 1000000",
        ),
        (
            "[ads]\nmax_attempts = 1000\n",
            "key 'ads.max_attempts': Input should be less than or equal to 100",
        ),
    ],
)
def test_a_bad_value_in_the_file_names_file_and_key(
    tmp_path: Path, toml: str, message: str
) -> None:
    """Unbounded, infinite, zero or mistyped values are refused with the file and the key."""
    assert _error(_check(tmp_path, toml)) == f"error: {tmp_path / 'bidagent.toml'}: {message}"


def test_a_file_that_is_not_utf8_is_named() -> None:
    """A Latin-1 file is one message naming the file and the byte, not a UnicodeDecodeError."""
    path = Path.cwd() / "bidagent.toml"
    line = _error(_check(Path.cwd(), 'rules_dir = "r\xe9gles"\n'.encode("latin-1")))
    assert line == f"error: {path}: not UTF-8 text (byte 0xe9 at offset 14); save the file as UTF-8"


@pytest.mark.parametrize(
    ("key", "variable", "secret_file"),
    [
        ("client_secret", "BIDAGENT_ADS__CLIENT_SECRET", "ads__client_secret"),
        ("refresh_token", "BIDAGENT_ADS__REFRESH_TOKEN", "ads__refresh_token"),
    ],
)
def test_a_secret_in_the_file_is_refused_naming_where_it_belongs(
    tmp_path: Path, key: str, variable: str, secret_file: str
) -> None:
    """A secret written in the file is refused; the message names the variable and secrets file
    to use instead, and never the secret itself."""
    result = _check(tmp_path, f'[ads]\n{key} = "canary-Secret-1234"\n')
    assert _error(result) == (
        f"error: {tmp_path / 'bidagent.toml'}: key 'ads.{key}' is a secret and is not read from"
        f" the file: set {variable} or the secrets-folder file {secret_file} instead"
    )
    assert "canary-Secret-1234" not in result.output


def test_a_database_password_in_the_file_is_refused(tmp_path: Path) -> None:
    """A URL with a password in the file is refused without printing the password."""
    result = _check(tmp_path, '[database]\nurl = "postgresql://bid:p%40ss-canary@db/bid"\n')
    assert _error(result) == (
        f"error: {tmp_path / 'bidagent.toml'}: key 'database.url' holds a password and is not"
        " read from the file: set BIDAGENT_DATABASE__URL or the secrets-folder file"
        " database__url instead"
    )
    assert "canary" not in result.output


def test_webhooks_that_are_not_json_name_the_variable(tmp_path: Path) -> None:
    """``BIDAGENT_NOTIFY__WEBHOOKS`` that is not JSON names the variable, not the file."""
    result = _check(tmp_path, "", env={"BIDAGENT_NOTIFY__WEBHOOKS": "https://hooks/x"})
    assert _error(result) == (
        "error: environment variable BIDAGENT_NOTIFY__WEBHOOKS: not valid JSON (Expecting value"
        " at line 1 column 1); key 'notify.webhooks' takes a JSON list"
    )


def test_a_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    """A bad value from the environment is blamed on the variable, never on bidagent.toml."""
    result = _check(tmp_path, "", env={"BIDAGENT_ADS__TIMEOUT_S": "inf"})
    assert _error(result) == (
        "error: environment variable BIDAGENT_ADS__TIMEOUT_S (key 'ads.timeout_s'):"
        " Input should be a finite number"
    )


def test_the_secrets_folder_provides_webhooks_as_json(tmp_path: Path) -> None:
    """A ``notify__webhooks`` secrets file is JSON like the variable; its names take effect."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    hooks = [{"name": "ops", "kind": "slack", "url": "https://hooks.slack.com/services/T/B/C"}]
    (secrets / "notify__webhooks").write_text(json.dumps(hooks))
    path = tmp_path / "bidagent.toml"
    path.write_text("")
    result = runner.invoke(
        app,
        ["--config", str(path), "config", "check", "--format", "json"],
        env={"BIDAGENT_SECRETS_DIR": str(secrets)},
    )
    assert result.exit_code == 0, result.output
    webhooks = json.loads(result.stdout)["settings"]["notify"]["webhooks"]
    assert webhooks == [
        {"name": "ops", "kind": "slack", "url": "**********", "min_severity": "warning"}
    ]


def test_a_bad_secrets_file_names_the_file(tmp_path: Path) -> None:
    """A secrets file with a bad value is named in the message, never bidagent.toml."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "notify__webhooks").write_text('[{"name": "ops"}]')
    result = _check(tmp_path, "", env={"BIDAGENT_SECRETS_DIR": str(secrets)})
    assert _error(result) == (
        f"error: secrets file {secrets / 'notify__webhooks'} (key 'notify.webhooks.0.url'):"
        " Field required"
    )


def test_a_percent_encoded_password_never_crashes_or_prints(tmp_path: Path) -> None:
    """``%`` in the URL's password: ``db upgrade`` fails cleanly (no server) and masks it;
    ``config check`` shows the URL masked."""
    env = {"BIDAGENT_DATABASE__URL": "postgresql://bid:p%40ss%25canary@127.0.0.1:1/bid"}
    upgraded = runner.invoke(app, ["db", "upgrade"], env=env)
    line = _error(upgraded)
    assert line.startswith(
        "error: cannot migrate database postgresql+psycopg://bid:***@127.0.0.1:1/bid: "
    )
    checked = runner.invoke(app, ["config", "check", "--format", "json"], env=env)
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["settings"]["database"]["url"] == (
        "postgresql://bid:***@127.0.0.1:1/bid"
    )
    for output in (upgraded.output, checked.output):
        assert "canary" not in output
        assert "p@ss" not in output


def test_the_fault_table_mirrors_the_fake_apis_fields() -> None:
    """``[sandbox] faults`` is checked against exactly the fields the fake API reads."""
    assert set(FaultsModel.model_fields) == set(FaultConfig.__dataclass_fields__)
    assert set(EndpointFaultsModel.model_fields) == set(EndpointFaults.__dataclass_fields__)
