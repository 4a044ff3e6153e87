"""The default backend: one SQLite file under INTERVIEWER_HOME holding our tables and LangGraph's
checkpoints (``langgraph-checkpoint-sqlite``), with an OS file lock per session beside it.

Two connections: ours (one writer at a time, serialised by a lock; ``BEGIN IMMEDIATE``
transactions) and the checkpointer's. WAL with ``synchronous=NORMAL`` survives a killed process
(not a power cut) and keeps commits cheap.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agent.storage.base import Execute, Storage, StorageUnavailable, StoreError, statements
from agent.storage.migrations import LATEST, META, newer_message, pending


def _cannot_create(folder: Path, why: str | None) -> str:
    return (f"cannot create INTERVIEWER_HOME {folder} ({why}); set INTERVIEWER_HOME to a "
            "writable directory")


def home_problem(path: Path) -> str | None:
    """Why the database at ``path`` could never be created, found without creating anything
    (for commands that only read): its directory is a file, or lies below one. The message is
    the one :func:`connect` gives for the same home. None when nothing stands in the way."""
    folder = probe = path.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.is_dir():
        return None
    return _cannot_create(folder, os.strerror(errno.EEXIST if probe == folder
                                              else errno.ENOTDIR))


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the database, translating failures into one-line errors."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StoreError(_cannot_create(path.parent, e.strerror)) from None
    try:
        conn = sqlite3.connect(path, check_same_thread=False, timeout=BUSY_SECONDS,
                               isolation_level=None)
        wal(conn)
        conn.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.DatabaseError as e:
        raise translate(e, path) from None
    return conn


BUSY_SECONDS = 10.0


def wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL. Switching needs the whole file for a moment and SQLite does not wait for it
    (no busy handler), so processes opening a new database together retry here, as long as the
    busy timeout, instead of failing with "database is locked"."""
    deadline = time.monotonic() + BUSY_SECONDS
    pause = 0.002
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if ("locked" not in str(e) and "busy" not in str(e)) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def translate(e: sqlite3.Error, path: Path) -> StoreError:
    msg = str(e)
    if "not a database" in msg or "malformed" in msg or "corrupt" in msg:
        return StoreError(
            f"the database {path} is corrupt or not an interviewer database ({msg}); move it "
            "aside or point INTERVIEWER_HOME at another directory"
        )
    if "readonly" in msg or "read-only" in msg or "unable to open" in msg:
        return StoreError(
            f"cannot write the database {path} ({msg}); check the directory's permissions or "
            "set INTERVIEWER_HOME to a writable directory"
        )
    return StoreError(f"database {path}: {msg}")


class SqliteStorage(Storage):
    kind = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.label = str(path)
        self.conn = connect(path)
        self._lock = threading.RLock()
        self._saver: Any = None
        self._saver_conn: sqlite3.Connection | None = None
        try:
            self._migrate()
        except sqlite3.Error as e:
            self.conn.close()
            raise translate(e, self.path) from None
        except BaseException:
            self.conn.close()
            raise

    def close(self) -> None:
        with self._lock:
            if self._saver_conn is not None:
                self._saver_conn.close()
                self._saver_conn = None
            self.conn.close()

    # -- transactions ---------------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[Execute]:
        with self._lock:
            conn = self.conn

            def ex(sql: str, params: Sequence[Any] = ()) -> None:
                conn.execute(sql, params)

            try:
                conn.execute("BEGIN IMMEDIATE")
                yield ex
                conn.execute("COMMIT")
            except sqlite3.Error as e:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise translate(e, self.path) from None
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self.conn.execute(sql, params).fetchall()
            except sqlite3.Error as e:
                raise translate(e, self.path) from None

    def _version(self) -> int:
        row = self.conn.execute(
            "SELECT value FROM interviewer_meta WHERE key='schema_version'").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self) -> None:
        with self._lock:
            try:
                if self._version() == LATEST:  # the usual case: nothing to write
                    return
            except sqlite3.OperationalError:  # no interviewer_meta yet: a new database
                pass
            # Read the version again under the write lock: another process may have migrated.
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.execute(META)
                version = self._version()
                if version > LATEST:
                    raise StoreError(newer_message(str(self.path), version,
                                                   "use another INTERVIEWER_HOME"))
                for m in pending(version):
                    for stmt in statements(m.sql(self.kind)):
                        self.conn.execute(stmt)
                    self.conn.execute(
                        "INSERT INTO interviewer_meta VALUES ('schema_version', ?) ON CONFLICT "
                        "(key) DO UPDATE SET value=excluded.value", (str(m.version),))
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

    # -- the rest of the interface --------------------------------------------------------------

    def checkpointer(self) -> Any:
        if self._saver is None:
            from langgraph.checkpoint.sqlite import SqliteSaver

            try:
                self._saver_conn = connect(self.path)
                saver = SqliteSaver(self._saver_conn)
                saver.setup()
            except sqlite3.Error as e:
                raise StoreError(f"database {self.path}: {e}") from None
            self._saver = saver
        return self._saver

    def session_lock(self, sid: str) -> FileLock:
        return FileLock(self.path.parent, sid)

    def ping(self) -> None:
        self._rows("SELECT 1")

    def unavailable(self, exc: BaseException) -> StorageUnavailable | None:
        return exc if isinstance(exc, StorageUnavailable) else None


class FileLock:
    """An exclusive, process-wide lock on one session (released by the OS if we are killed)."""

    def __init__(self, directory: Path, sid: str) -> None:
        self.path = directory / "locks" / f"{sid}.lock"
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
                import msvcrt

                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def check(self) -> None:
        """A file lock lives as long as the process: nothing can take it away."""

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
