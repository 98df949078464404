"""A throwaway PostgreSQL server for the test session: ``initdb`` + ``pg_ctl`` in a temporary folder.

Store tests run on SQLite always and on a real PostgreSQL when its binaries exist; CI sets
``BIDAGENT_REQUIRE_POSTGRES=1`` so that a missing server fails the run instead of skipping.
The server listens on a free loopback port, keeps its unix socket in its own folder, trusts local
connections, and runs with durability off (fsync) because nothing in it outlives the session.

PostgreSQL refuses to run as root. When the tests run as root (CI containers), ``initdb`` and
``pg_ctl`` run as the ``postgres`` system user (else ``nobody``) through ``runuser``, in a folder
that user owns. This module never touches a server it did not start.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

__all__ = ["REQUIRED", "REQUIRE_ENV", "PostgresServer", "find_binaries", "start_postgres"]

REQUIRE_ENV = "BIDAGENT_REQUIRE_POSTGRES"
# Read at import time: per-test isolation removes every BIDAGENT_* variable before tests run.
REQUIRED = os.environ.get(REQUIRE_ENV, "") not in ("", "0")

_SUPERUSER = "bidagent"


def find_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: from PATH, else the newest Debian install."""
    found = shutil.which("initdb")
    candidates = [Path(found).resolve().parent] if found else []
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates += [Path(p) for p in versions]
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_as() -> pwd.struct_passwd | None:
    """The unprivileged account to run the server as, or None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root, and neither a 'postgres' nor a 'nobody' user exists")


@dataclass
class PostgresServer:
    """A running server; :meth:`stop` ends it and removes its folder."""

    bin_dir: Path
    base_dir: Path
    port: int
    account: pwd.struct_passwd | None

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL for ``database`` on this server (psycopg 3 driver)."""
        return f"postgresql+psycopg://{_SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=_SUPERUSER, dbname="postgres", autocommit=True
        )

    def create_database(self) -> str:
        """Create an empty database with a fresh name and return its name."""
        name = "t_" + uuid.uuid4().hex[:16]
        with self._admin() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, disconnecting anyone still attached."""
        with self._admin() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its folder."""
        _run(
            self.account,
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"],
        )
        shutil.rmtree(self.base_dir, ignore_errors=True)


def _command(account: pwd.struct_passwd | None, argv: list[str]) -> list[str]:
    if account is None:
        return argv
    runuser = shutil.which("runuser")
    if runuser is None:
        raise RuntimeError(
            "running as root without 'runuser': cannot drop privileges for PostgreSQL"
        )
    return [runuser, "-u", account.pw_name, "--", *argv]


def _run(account: pwd.struct_passwd | None, argv: list[str]) -> None:
    result = subprocess.run(
        _command(account, argv), capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv[:2])} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )


def start_postgres(bin_dir: Path) -> PostgresServer:
    """initdb into a new temporary folder and start a server on a free loopback port."""
    account = _run_as()
    # Directly under the system temp dir: pytest's own tmp folders are private to root.
    base = Path(tempfile.mkdtemp(prefix="bidagent-pg-"))
    if account is not None:
        os.chown(base, account.pw_uid, account.pw_gid)
    data = base / "data"
    _run(
        account,
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            _SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        ],
    )
    last_error: Exception | None = None
    for _attempt in range(3):  # the free port may be taken between probe and bind
        server = PostgresServer(bin_dir=bin_dir, base_dir=base, port=_free_port(), account=account)
        options = (
            f"-p {server.port} -k {base} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        try:
            _run(
                account,
                [
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(base / "server.log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
            )
            return server
        except RuntimeError as exc:
            last_error = exc
    log = (
        (base / "server.log").read_text(errors="replace") if (base / "server.log").exists() else ""
    )
    shutil.rmtree(base, ignore_errors=True)
    raise RuntimeError(f"PostgreSQL did not start: {last_error}\n{log}")
