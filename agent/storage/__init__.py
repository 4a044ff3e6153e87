"""Where sessions live: one interface (:class:`Storage`), two backends.

- SQLite (the default): one file under INTERVIEWER_HOME, an OS file lock per session
  (:mod:`agent.storage.sqlite`).
- PostgreSQL: ``INTERVIEWER_DATABASE_URL=postgresql://…`` (or ``--database-url``, or
  ``database_url`` in config.toml), a connection pool, an advisory lock per session; for many
  users and several processes (:mod:`agent.storage.postgres`, the ``[postgres]`` extra).

Importing this package loads neither LangGraph nor psycopg: ``interviewer sessions`` stays fast.
"""

from __future__ import annotations

import os
from pathlib import Path

from agent.storage.base import (
    SESSION_ID,
    SessionLock,
    SessionRow,
    SessionTaken,
    Storage,
    StorageUnavailable,
    StoreError,
    bad_id_message,
    no_session_message,
    normal_id,
)
from agent.storage.url import Target, resolve

__all__ = ["SESSION_ID", "SessionLock", "SessionRow", "SessionTaken", "Storage",
           "StorageUnavailable", "StoreError", "Target", "bad_id_message", "exists",
           "no_session_message", "normal_id", "open_storage", "resolve", "wait_seconds"]

WAIT_ENV = "INTERVIEWER_DATABASE_WAIT"


def wait_seconds(env: dict[str, str] | None = None) -> float:
    """How long a turn waits for an unreachable database server to come back (default 30 s)."""
    from agent.config import ConfigError

    raw = (os.environ if env is None else env).get(WAIT_ENV, "").strip()
    if not raw:
        return 30.0
    try:
        seconds = float(raw)
    except ValueError:
        raise ConfigError(f"{WAIT_ENV}: {raw!r} is not a number of seconds") from None
    if not 0 <= seconds <= 3600:
        raise ConfigError(f"{WAIT_ENV}: must be between 0 and 3600 seconds")
    return seconds


def _target(where: Target | Path | str | None) -> Target:
    if isinstance(where, Target):
        return where
    if where is None:
        return resolve()
    if isinstance(where, str) and "://" in where:
        from agent.storage.url import parse

        return parse(where, "database URL")
    return Target("sqlite", path=Path(where), source="path")


def exists(where: Target | Path | str | None = None) -> bool:
    """Whether the database has been created. Only a SQLite file can be absent: a PostgreSQL
    database is created by its administrator (our tables appear on first use). Raises
    StoreError when it could never be created (INTERVIEWER_HOME is a file, or below one), so a
    command that only reads reports a bad home as the ones that write do."""
    target = _target(where)
    if target.kind != "sqlite" or target.path is None:
        return target.kind != "sqlite"
    if target.path.exists():
        return True
    from agent.storage.sqlite import home_problem

    problem = home_problem(target.path)
    if problem is not None:
        raise StoreError(problem)
    return False


def open_storage(where: Target | Path | str | None = None) -> Storage:
    """The storage at ``where``: a resolved Target, a SQLite path, a database URL, or None for
    the configured one (flags aside: INTERVIEWER_DATABASE_URL, config.toml, the default)."""
    target = _target(where)
    if target.kind == "sqlite":
        from agent.storage.sqlite import SqliteStorage

        assert target.path is not None
        return SqliteStorage(target.path)
    try:
        from agent.storage.postgres import PostgresStorage
    except ImportError as e:
        raise StoreError(
            f"{target.source} names a PostgreSQL database, but its driver is not installed "
            f"({e.name or e}); install it with: pip install 'interviewer[postgres]'") from None
    assert target.url is not None
    return PostgresStorage(target.url, source=target.source, wait_s=wait_seconds())
