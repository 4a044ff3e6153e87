"""A throwaway PostgreSQL cluster for the tests: ``initdb`` into a temporary directory, the
server started on a free loopback port (no fsync, trust authentication), one fresh database per
test, everything removed at the end.

Root cannot run ``initdb``; as root the server runs as the ``postgres`` user (``runuser``).
When no PostgreSQL binaries are found the Postgres tests are skipped with a reason, unless
``INTERVIEWER_REQUIRE_POSTGRES=1`` (CI) turns that into a failure. ``INTERVIEWER_TEST_POSTGRES_URL``
points the tests at a server of your own instead (its user must be allowed CREATE DATABASE).
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REQUIRE_ENV = "INTERVIEWER_REQUIRE_POSTGRES"
URL_ENV = "INTERVIEWER_TEST_POSTGRES_URL"


class NoPostgres(RuntimeError):
    """No PostgreSQL server can be started here; ``str()`` says why."""


def find_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``: PATH first, then Debian's layout."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda p: int(Path(p).parent.parent.name)
                      if Path(p).parent.parent.name.isdigit() else 0)
    return Path(versions[-1]).parent if versions else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """One running server. ``url(db)`` names a database on it."""

    def __init__(self) -> None:
        self.bindir = find_bindir()
        if self.bindir is None:
            raise NoPostgres("no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in "
                             "/usr/lib/postgresql/*/bin; install the 'postgresql' package")
        self.as_root = os.geteuid() == 0
        self.tmp = Path(tempfile.mkdtemp(prefix="interviewer-pg-"))
        self.data = self.tmp / "data"
        self.log = self.tmp / "server.log"
        self.port = 0
        self._names = itertools.count(1)
        self.started = False

    # -- commands, as the postgres user when we are root --------------------------------------

    def _run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        cmd = list(argv)
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              check=False, cwd=self.tmp)

    def _bin(self, name: str) -> str:
        assert self.bindir is not None
        return str(self.bindir / name)

    def start(self) -> Cluster:
        if self.as_root:
            try:
                shutil.chown(self.tmp, "postgres", "postgres")
            except (LookupError, OSError) as e:
                raise NoPostgres(f"running as root, and cannot hand {self.tmp} to the "
                                 f"'postgres' user ({e}); root cannot run initdb") from None
        init = self._run(self._bin("initdb"), "-D", str(self.data), "-U", "postgres",
                         "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8")
        if init.returncode != 0:
            raise NoPostgres(f"initdb failed: {(init.stderr or init.stdout).strip()[-500:]}")
        self.port = free_port()
        self.server_start()
        self.started = True
        return self

    def server_start(self, wait: bool = True) -> None:
        """Start (or start again) the server on the same port and data."""
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=200")
        started = self._run(self._bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                            "-o", opts, "-w" if wait else "-W", "-t", "60", "start")
        if started.returncode != 0:
            log = self.log.read_text(errors="replace")[-800:] if self.log.exists() else ""
            raise NoPostgres(f"pg_ctl start failed: {started.stderr.strip()[-300:]} {log}")

    def server_stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: disconnect every client; ``immediate``: like a crash)."""
        self._run(self._bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60",
                  "stop")

    def stop(self) -> None:
        if self.started:
            self.server_stop("immediate")
            self.started = False
        shutil.rmtree(self.tmp, ignore_errors=True)

    def kill(self) -> None:
        """Stop the server as a crash would (no shutdown checkpoint)."""
        self.server_stop("immediate")

    # -- databases ----------------------------------------------------------------------------

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def create_database(self) -> str:
        """A fresh, empty database; returns its URL. FILE_COPY (PostgreSQL 15+) skips the
        write-ahead log: about 0.1 s here against 0.6 s."""
        name = f"t{os.getpid()}_{next(self._names)}"
        self.admin(f"CREATE DATABASE {name} TEMPLATE template0 STRATEGY FILE_COPY")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class External:
    """A server of the developer's own (INTERVIEWER_TEST_POSTGRES_URL): databases only."""

    def __init__(self, url: str) -> None:
        self.base = url
        self._names = itertools.count(1)

    def url(self, db: str) -> str:
        return self.base.rsplit("/", 1)[0] + "/" + db

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.base, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def create_database(self) -> str:
        name = f"interviewer_test_{os.getpid()}_{int(time.time())}_{next(self._names)}"
        self.admin(f"CREATE DATABASE {name} TEMPLATE template0")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        self.admin(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")

    def stop(self) -> None:
        pass


def required() -> bool:
    return os.environ.get(REQUIRE_ENV, "").strip() not in ("", "0")


def cluster_or_skip() -> Iterator[Any]:
    """The session's server (the developer's own, or a throwaway one), stopped at the end."""
    import pytest

    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError as e:
        why = f"the [postgres] extra is not installed ({e.name}): pip install -e '.[postgres]'"
        if required():
            pytest.fail(f"{REQUIRE_ENV} is set but {why}")
        pytest.skip(why)
    url = os.environ.get(URL_ENV, "").strip()
    server: Cluster | External
    if url:
        server = External(url)
    else:
        try:
            server = Cluster().start()
        except NoPostgres as e:
            if required():
                pytest.fail(f"{REQUIRE_ENV} is set but PostgreSQL cannot run here: {e}")
            pytest.skip(f"PostgreSQL cannot run here: {e}")
    try:
        yield server
    finally:
        server.stop()
