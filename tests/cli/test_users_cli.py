"""``bidagent users``: add (password from stdin, or none for proxy sign-in), list, token, remove;
bad input is a message and an exit code, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bidagent.cli.app import app
from bidagent.console.passwords import hash_token, verify_password
from bidagent.store import Session, make_engine, upgrade_database
from bidagent.store.users import user_by_name

runner = CliRunner()


@pytest.fixture
def db_env(tmp_path: Path) -> dict[str, str]:
    """Environment pointing the CLI at a migrated ledger."""
    url = f"sqlite:///{tmp_path}/users.db"
    engine = make_engine(url)
    upgrade_database(engine)
    engine.dispose()
    return {"BIDAGENT_DATABASE__URL": url}


def _user(env: dict[str, str], name: str):  # type: ignore[no-untyped-def]
    engine = make_engine(env["BIDAGENT_DATABASE__URL"])
    try:
        with Session(engine) as session:
            return user_by_name(session, name)
    finally:
        engine.dispose()


def test_add_list_token_remove(db_env: dict[str, str]) -> None:
    """A user added with --password-stdin has an argon2 hash of that password; list shows no
    hash; token prints a token whose SHA-256 is stored; remove deletes the user."""
    added = runner.invoke(
        app, ["users", "add", "ann", "--role", "approver", "--password-stdin"],
        input="s3cret pass\n", env=db_env,
    )  # fmt: skip
    assert (added.exit_code, added.stdout) == (0, "added ann (approver)\n")
    user = _user(db_env, "ann")
    assert user is not None and user.role == "approver"
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, "s3cret pass")
    listed = runner.invoke(app, ["users", "list", "--format", "json"], env=db_env)
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["role"], r["password"], r["api_token"]) for r in rows] == [
        ("ann", "approver", True, False)
    ]
    assert "argon2" not in listed.stdout
    token = runner.invoke(app, ["users", "token", "ann"], env=db_env)
    assert token.exit_code == 0
    printed = token.stdout.strip()
    assert printed.startswith("bda_") and _user(db_env, "ann").token_hash == hash_token(printed)
    removed = runner.invoke(app, ["users", "remove", "ann"], env=db_env)
    assert (removed.exit_code, removed.stdout, _user(db_env, "ann")) == (0, "removed ann\n", None)


def test_a_proxy_user_has_no_password(db_env: dict[str, str]) -> None:
    """--no-password adds a user who can only sign in through the proxy."""
    added = runner.invoke(app, ["users", "add", "sso.user@example.com", "--role", "viewer",
                                "--no-password"], env=db_env)  # fmt: skip
    assert added.exit_code == 0
    user = _user(db_env, "sso.user@example.com")
    assert user is not None and user.password_hash is None


@pytest.mark.parametrize(
    ("args", "stdin", "code", "message"),
    [
        (["add", "ann", "--role", "owner", "--password-stdin"], "x" * 10 + "\n", 2,
         "error: --role: expected one of viewer, approver, admin, not 'owner'"),
        (["add", "ann", "--role", "admin", "--password-stdin"], "short\n", 1,
         "error: password: at least 8 characters"),
        (["add", "ann", "--role", "admin", "--password-stdin"], "\n", 2,
         "error: --password-stdin: standard input held no password"),
        (["add", "bad name!", "--role", "admin", "--no-password"], "", 1,
         "error: user name 'bad name!': letters, digits and . _ @ + - only"),
        (["remove", "nobody"], "", 1, "error: no user 'nobody'"),
        (["token", "nobody"], "", 1, "error: no user 'nobody'"),
    ],
)  # fmt: skip
def test_bad_input_is_a_message(
    db_env: dict[str, str], args: list[str], stdin: str, code: int, message: str
) -> None:
    """Each mistake exits with its code and names what was wrong."""
    result = runner.invoke(app, ["users", *args], input=stdin, env=db_env)
    assert result.exit_code == code
    assert result.stderr.startswith(message)


def test_a_second_user_of_the_same_name_is_refused(db_env: dict[str, str]) -> None:
    """Adding a name that exists is an error and keeps the first user's role."""
    first = ["users", "add", "ann", "--role", "viewer", "--no-password"]
    assert runner.invoke(app, first, env=db_env).exit_code == 0
    again = runner.invoke(app, ["users", "add", "ann", "--role", "admin", "--no-password"],
                          env=db_env)  # fmt: skip
    assert (again.exit_code, again.stderr) == (1, "error: user 'ann' exists already\n")
    assert _user(db_env, "ann").role == "viewer"
