"""A real PostgreSQL server of its own, for the tests and the bench that need one.

`TemporaryPostgres.start()` makes a new cluster in a temporary folder (initdb, trust
authentication for user `postgres`), starts it with pg_ctl on a free port of 127.0.0.1
(its socket in the folder, fsync off: nothing here must survive a crash), and `stop()`
stops it and deletes the folder. PostgreSQL refuses to run as root, so as root (CI) the
server runs as user `nobody`.

The binaries are found on PATH, else in Debian's /usr/lib/postgresql/<version>/bin
(`scripts/setup test` installs Debian's postgresql as root when they are missing).
`ROUTESHIFT_TEST_POSTGRES_URL` names a server to use instead (the URL of a database in
which the user may CREATE DATABASE). Where no server can be had, the tests that need one
are skipped with the reason, unless `ROUTESHIFT_REQUIRE_POSTGRES=1` (scripts/test sets it
where scripts/setup installs the server), which makes that a failure.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from servers import free_port
from sqlalchemy import make_url

#: the URL of an existing server to use instead of a temporary one
URL_VARIABLE = "ROUTESHIFT_TEST_POSTGRES_URL"
#: "1": a server that cannot be had fails the tests that need it instead of skipping them
REQUIRE_VARIABLE = "ROUTESHIFT_REQUIRE_POSTGRES"

#: the driver the legacy app's engine uses (psycopg 3); the ports use asyncpg
DRIVER = "postgresql+psycopg"

START_SECONDS = 60


class PostgresUnavailable(Exception):
    """No PostgreSQL server can be started here; the message says why and what to do."""


def server_binaries() -> Path | None:
    """The folder of initdb, pg_ctl and postgres, None when there is none."""
    found = shutil.which("initdb")
    if found is not None and shutil.which("pg_ctl") is not None:
        return Path(found).resolve().parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parent.parent.name.partition(".")[0] or 0),
    )
    return Path(versions[-1]).parent if versions else None


class TemporaryPostgres:
    """A PostgreSQL server for one test session or one bench run; `url` names its
    `postgres` database, `new_database(name)` makes another and returns its URL."""

    def __init__(self, url: str, folder: Path | None = None) -> None:
        self.url = url
        self._folder = folder

    @classmethod
    def start(cls) -> TemporaryPostgres:
        if existing := os.environ.get(URL_VARIABLE):
            return cls(existing)
        binaries = server_binaries()
        if binaries is None:
            raise PostgresUnavailable(
                "no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in "
                "/usr/lib/postgresql/*/bin: as root, scripts/setup test installs Debian's "
                f"postgresql; or set {URL_VARIABLE} to a server's URL"
            )
        owner = _server_user()
        # as root, in /tmp itself: the server's user must reach it (TMPDIR may be private)
        folder = Path(tempfile.mkdtemp(prefix="routeshift-pg-", dir="/tmp" if owner else None))
        if owner is not None:
            os.chown(folder, owner.pw_uid, owner.pw_gid)
        data, log, port = folder / "data", folder / "server.log", free_port()
        server = cls(f"{DRIVER}://postgres@127.0.0.1:{port}/postgres", folder)
        try:
            _run(
                owner,
                binaries / "initdb",
                "-D",
                data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
            )
            options = (
                f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            _run(
                owner,
                binaries / "pg_ctl",
                *("-D", data, "-l", log, "-o", options, "-w", "-t", str(START_SECONDS)),
                "start",
            )
        except PostgresUnavailable as unavailable:
            log_tail = _tail(log)
            server.stop()
            raise PostgresUnavailable(f"{unavailable}\n{log_tail}".rstrip()) from None
        except BaseException:
            server.stop()
            raise
        return server

    def new_database(self, name: str) -> str:
        """A new, empty database `name` on the server, by its URL."""
        self._admin(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def drop_database(self, name: str) -> None:
        """Drop database `name`, its connections closed first (PostgreSQL 13 and later)."""
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self, *commands: str) -> None:
        """`commands` on the server's `url` database, each outside a transaction."""
        import psycopg

        dsn = make_url(self.url).set(drivername="postgresql").render_as_string(False)
        with psycopg.connect(dsn, autocommit=True) as connection:
            for command in commands:
                connection.execute(command)

    def stop(self) -> None:
        """Stop the server and delete its folder (nothing for a server named by URL)."""
        folder, self._folder = self._folder, None
        if folder is None:
            return
        try:
            binaries = server_binaries()
            data = folder / "data"
            if binaries is not None and (data / "postmaster.pid").exists():
                _run(_server_user(), binaries / "pg_ctl", "-D", data, "-m", "immediate", "stop")
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def _server_user() -> pwd.struct_passwd | None:
    """Who runs the server: nobody when this process is root (PostgreSQL refuses root),
    else this process's user (None)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        raise PostgresUnavailable(
            "running as root, and there is no user nobody to run the server as "
            "(PostgreSQL refuses root)"
        ) from None


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _run(owner: pwd.struct_passwd | None, *argv: object) -> None:
    as_owner = {} if owner is None else {"user": owner.pw_uid, "group": owner.pw_gid}
    try:
        done = subprocess.run(
            [str(arg) for arg in argv],
            capture_output=True,
            text=True,
            check=False,
            timeout=START_SECONDS + 30,  # beyond pg_ctl's own -t, which reports itself
            cwd="/",
            extra_groups=[] if owner is not None else None,
            **as_owner,  # type: ignore[arg-type]
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PostgresUnavailable(f"{Path(str(argv[0])).name}: {error}") from None
    if done.returncode != 0:
        raise PostgresUnavailable(
            f"{Path(str(argv[0])).name} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )
