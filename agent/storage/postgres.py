"""The PostgreSQL backend: our tables and LangGraph's checkpoints
(``langgraph-checkpoint-postgres``) in one database, reached through a ``psycopg_pool``
connection pool, with a session lock that is a PostgreSQL advisory lock held on a connection of
its own.

Any number of processes (terminal chats, web workers, on any machine) can share the database:
the advisory lock keeps two of them from running one session at once, and it is released by the
server when the process holding it dies (its connection closes). Pooled connections are checked
before use, so a server restart costs the connections it broke, not the process.

Errors are one line: a server that cannot be reached is :class:`StorageUnavailable` (what was
saved is safe; the work can be tried again), anything else :class:`StoreError`. Passwords in
the URL never appear in a message.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.rows import dict_row, tuple_row
from psycopg_pool import ConnectionPool, PoolTimeout

from agent.redact import redact
from agent.storage.base import (
    Execute,
    SessionTaken,
    Storage,
    StorageUnavailable,
    StoreError,
    statements,
)
from agent.storage.migrations import LATEST, META, newer_message, pending
from agent.storage.url import ENV, password_of, redact_url

# The pool reports connection trouble through logging; with no handler configured Python would
# print those records on stderr, in the middle of the interview. Our own messages say it once.
logging.getLogger("psycopg").addHandler(logging.NullHandler())
logging.getLogger("psycopg").propagate = False

#: Seconds to wait for a connection when opening, and for one from the pool.
CONNECT_TIMEOUT_S = 5.0
#: Longest wait for another process's migrations.
MIGRATION_WAIT_S = 120.0
#: What unreachable-server errors look like, from psycopg and from the pool.
UNREACHABLE = (psycopg.OperationalError, PoolTimeout)


@lru_cache(maxsize=256)
def _pg(sql: str) -> str:
    """Our ``?`` placeholders in psycopg's style."""
    return sql.replace("%", "%%").replace("?", "%s")


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


class _Pool(ConnectionPool[Any]):
    """The pool, with two guards against connections a server restart has broken.

    - A connection idle for more than :data:`IDLE_CHECK_S` is checked before it is handed out
      (one round trip), and replaced if dead. Within a turn connections are reused at once, so
      checking every checkout would only add round trips to each checkpoint read and write;
      between turns (the candidate typing) the server may have restarted.
    - A breaker: once the server has failed us (``down``), a request does not wait out the
      pool's timeout (a turn makes several: the call log, checkpoint reads and writes) but asks
      the server directly, which fails at once while it is down; when it answers again, the
      idle connections it broke are dropped before any is handed out."""

    IDLE_CHECK_S = 1.0

    def __init__(self, url: str, *, probe: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self.url, self.probe = url, probe
        self.down = False

    def getconn(self, timeout: float | None = None) -> Any:
        if self.down:
            try:
                psycopg.connect(self.url, **self.probe).close()
            except psycopg.Error as e:
                raise PoolTimeout(str(e)) from None
            self.down = False
            with suppress(Exception):
                self.check()
        for _ in range((self.max_size or 1) + 1):
            try:
                conn = super().getconn(timeout)
            except PoolTimeout:
                self.down = True
                raise
            if time.monotonic() - getattr(conn, "_interviewer_used", 0.0) < self.IDLE_CHECK_S:
                return conn
            try:
                ConnectionPool.check_connection(conn)
                return conn
            except Exception:
                super().putconn(conn)  # broken: the pool replaces it
        self.down = True
        raise PoolTimeout("every pooled connection was broken")

    def putconn(self, conn: Any) -> None:
        conn._interviewer_used = time.monotonic()
        super().putconn(conn)


class PostgresStorage(Storage):
    kind = "postgres"

    def __init__(self, url: str, *, source: str = ENV, wait_s: float = 30.0,
                 pool_min: int = 1, pool_max: int = 10) -> None:
        self.url = url
        self.label = redact_url(url)
        self.source = source
        self.wait_s = wait_s
        self._password = password_of(url)
        self._kwargs: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in url:
            self._kwargs["connect_timeout"] = int(CONNECT_TIMEOUT_S)
        self._saver: Any = None
        #: Locks handed out and not released: closing the storage releases them.
        self._locks: weakref.WeakSet[AdvisoryLock] = weakref.WeakSet()
        self.lock_connections = LockConnections(self)
        self._migrate()
        # autocommit, dict rows and no prepared-statement surprises: what PostgresSaver needs.
        self.pool: _Pool = _Pool(
            url, min_size=pool_min, max_size=pool_max, open=False, name="interviewer",
            kwargs={**self._kwargs, "prepare_threshold": 0, "row_factory": dict_row},
            probe={**self._kwargs, "connect_timeout": 2}, timeout=CONNECT_TIMEOUT_S,
            reconnect_timeout=max(60.0, wait_s * 2))
        self.pool.open(wait=False)

    def close(self) -> None:
        for lock in list(self._locks):
            lock.release()
        self.lock_connections.close()
        with suppress(Exception):
            self.pool.close(timeout=2)

    # -- errors ---------------------------------------------------------------------------------

    def _clean(self, exc: BaseException) -> str:
        """The error's own words, one line, password-free; libpq's indented hint lines ("Is
        the server running on that host...?") dropped: our message says what to check."""
        lines = [line for line in (str(exc) or type(exc).__name__).splitlines()
                 if line.strip() and not line.startswith(("\t", " "))]
        return _one_line(redact(" ".join(lines) or type(exc).__name__, self._password or ""))

    def unavailable(self, exc: BaseException) -> StorageUnavailable | None:
        if isinstance(exc, StorageUnavailable):
            return exc
        if isinstance(exc, UNREACHABLE):
            self.pool.down = True
            return StorageUnavailable(
                f"the database server {self.label} is unreachable ({self._clean(exc)})")
        return None

    def _translate(self, exc: psycopg.Error | PoolTimeout) -> StoreError:
        gone = self.unavailable(exc)
        return gone if gone is not None else StoreError(
            f"database {self.label}: {self._clean(exc)}")

    def connect(self, **extra: Any) -> psycopg.Connection[Any]:
        """A connection of its own (locks, migrations); StoreError saying what to check."""
        try:
            return psycopg.connect(self.url, **{**self._kwargs, **extra})
        except psycopg.Error as e:
            raise StorageUnavailable(
                f"cannot connect to the database {self.label} ({self._clean(e)}); check that "
                f"the server is running and {self.source}") from None

    # -- schema ---------------------------------------------------------------------------------

    def _migrate(self) -> None:
        """Our migrations, under an advisory lock: workers starting together wait for the first
        to finish instead of racing to create tables."""
        conn = self.connect(row_factory=dict_row)
        try:
            with conn:
                self._lock_migrations(conn)
                with conn.transaction():
                    cur = conn.cursor(row_factory=tuple_row)
                    cur.execute(META)
                    row = cur.execute("SELECT value FROM interviewer_meta WHERE "
                                      "key='schema_version'").fetchone()
                    version = int(row[0]) if row else 0
                    if version > LATEST:
                        raise StoreError(newer_message(
                            self.label, version, f"point {self.source} at another database"))
                    for m in pending(version):
                        for stmt in statements(m.sql(self.kind)):
                            cur.execute(stmt)
                        cur.execute("INSERT INTO interviewer_meta VALUES ('schema_version', %s) "
                                    "ON CONFLICT (key) DO UPDATE SET value=excluded.value",
                                    (str(m.version),))
        except psycopg.Error as e:
            raise self._translate(e) from None

    def _lock_migrations(self, conn: psycopg.Connection[Any]) -> None:
        """Take the migration lock on ``conn`` (held until it closes). Polled, never waited
        for in one statement: LangGraph's migrations build indexes CONCURRENTLY, which waits
        for every open transaction, so a waiting lock call would deadlock with them."""
        deadline = time.monotonic() + MIGRATION_WAIT_S
        take = "SELECT pg_try_advisory_lock(hashtextextended('interviewer:migrate', 0))"
        while conn.cursor(row_factory=tuple_row).execute(take).fetchone() != (True,):
            if time.monotonic() > deadline:
                raise StoreError(
                    f"the database {self.label} is being migrated by another interviewer "
                    f"process, which has not finished after {MIGRATION_WAIT_S:g} s; try again")
            time.sleep(0.05)

    # -- transactions ---------------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[Execute]:
        try:
            # Pipelined: BEGIN, the statements and COMMIT go out together, one round trip.
            with self.pool.connection() as conn, conn.pipeline(), conn.transaction():
                cur = conn.cursor(row_factory=tuple_row)

                def ex(sql: str, params: Sequence[Any] = ()) -> None:
                    cur.execute(_pg(sql), params)

                yield ex
        except (psycopg.Error, PoolTimeout) as e:
            raise self._translate(e) from None

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with self.pool.connection() as conn:
                cur = conn.cursor(row_factory=tuple_row)
                cur.execute(_pg(sql), params)
                rows: list[tuple[Any, ...]] = cur.fetchall()
                return rows
        except (psycopg.Error, PoolTimeout) as e:
            raise self._translate(e) from None

    # -- the rest of the interface --------------------------------------------------------------

    def checkpointer(self) -> Any:
        """PostgresSaver on the pool, its own migrations run first under the same advisory lock
        as ours (here, not on open, so that opening the database does not load LangGraph)."""
        if self._saver is None:
            from langgraph.checkpoint.postgres import PostgresSaver

            try:
                with self.connect(row_factory=dict_row) as conn:
                    self._lock_migrations(conn)
                    PostgresSaver(conn).setup()
            except psycopg.Error as e:
                raise self._translate(e) from None
            self._saver = PostgresSaver(self.pool)
        return self._saver

    def session_lock(self, sid: str) -> AdvisoryLock:
        return AdvisoryLock(self, sid)

    def ping(self) -> None:
        """A fresh connection rather than the pool's: the pool retries with growing delays,
        and this is what says the server is back. Then the pool's idle connections that the
        outage broke are dropped, so that the next request gets a working one."""
        self.connect(connect_timeout=2).close()
        self.pool.down = False
        with suppress(Exception):
            self.pool.check()


class LockConnections:
    """Connections for session locks, kept for the next lock when released cleanly: a new
    connection costs the server a process (about 10 ms on a 2-core machine, per turn). A kept
    connection holds no lock (``pg_advisory_unlock_all`` succeeded on it); one that fails on
    reuse (the server restarted meanwhile) is closed and a new one made."""

    KEEP = 8

    def __init__(self, storage: PostgresStorage) -> None:
        self.storage = storage
        self._idle: list[psycopg.Connection[Any]] = []
        self._mu = threading.Lock()

    def new(self) -> psycopg.Connection[Any]:
        # TCP keepalives: a lock held from a machine that vanished is freed once the server
        # notices (with the server's tcp_keepalives_* settings too).
        return self.storage.connect(keepalives=1, keepalives_idle=30, keepalives_interval=10,
                                    keepalives_count=3)

    def get(self) -> tuple[psycopg.Connection[Any], bool]:
        """A connection, and whether it was kept from an earlier lock."""
        with self._mu:
            while self._idle:
                conn = self._idle.pop()
                if not conn.closed:
                    return conn, True
        return self.new(), False

    def put(self, conn: psycopg.Connection[Any]) -> None:
        """Keep ``conn`` if it holds no lock and there is room; close it otherwise."""
        try:
            conn.execute("SELECT pg_advisory_unlock_all()")
        except Exception:
            with suppress(Exception):
                conn.close()
            return
        with self._mu:
            if len(self._idle) < self.KEEP:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._mu:
            idle, self._idle = self._idle, []
        for conn in idle:
            with suppress(Exception):
                conn.close()


class AdvisoryLock:
    """A session lock: ``pg_try_advisory_lock`` on a connection held for as long as the lock.
    Closing the connection (or the process dying) releases it."""

    SQL_KEY = "hashtextextended('interviewer:session:' || %s, 0)"

    def __init__(self, storage: PostgresStorage, sid: str) -> None:
        self.storage, self.sid = storage, sid
        self._conn: psycopg.Connection[Any] | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    def acquire(self) -> bool:
        conns = self.storage.lock_connections
        conn, kept = conns.get()
        while True:
            try:
                row = conn.execute(f"SELECT pg_try_advisory_lock({self.SQL_KEY})",
                                   (self.sid,)).fetchone()
                break
            except psycopg.Error as e:
                with suppress(Exception):
                    conn.close()
                if not kept:
                    raise self.storage._translate(e) from None
                conn, kept = conns.new(), False  # a kept one the server has since dropped
        if not row or not row[0]:
            conns.put(conn)
            return False
        self._conn = conn
        self.storage._locks.add(self)
        return True

    def check(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.execute("SELECT 1")
            return
        except psycopg.Error:
            with suppress(Exception):
                self._conn.close()
            self._conn = None
        # The connection is gone, and the lock with it: take it again, unless someone else has.
        if not self.acquire():
            raise SessionTaken(
                f"session {self.sid} was opened by another interviewer process while the "
                "database connection was down; close one of them (two processes must not write "
                "one session)")

    def release(self) -> None:
        conn, self._conn = self._conn, None
        self.storage._locks.discard(self)
        if conn is not None:
            self.storage.lock_connections.put(conn)  # unlocked, then kept or closed
