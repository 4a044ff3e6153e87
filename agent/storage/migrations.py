"""Our schema as numbered migrations, one list for both backends.

A database records the last version applied (``interviewer_meta.schema_version``); opening it
applies the rest in order, in one transaction, under a lock (SQLite's write lock, a PostgreSQL
advisory lock), so workers starting together migrate once. A database at a higher version than
:data:`LATEST` was written by a newer interviewer and is refused.

Adding one: append a :class:`Migration` with the next version. ``postgres`` is needed only when
the PostgreSQL text differs (types, identity columns); ``rowid`` in PostgreSQL is an identity
column standing in for SQLite's implicit row number, which queries use to order rows written in
the same instant.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    what: str
    sqlite: str
    postgres: str | None = None

    def sql(self, kind: str) -> str:
        return self.postgres if kind == "postgres" and self.postgres is not None else self.sqlite


META = "CREATE TABLE IF NOT EXISTS interviewer_meta (key TEXT PRIMARY KEY, value TEXT)"

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "sessions and the answer journal", """
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            case_id TEXT NOT NULL,
            mode TEXT NOT NULL,
            engine TEXT NOT NULL,
            status TEXT NOT NULL,
            step TEXT NOT NULL,
            answered INTEGER NOT NULL DEFAULT 0,
            created REAL NOT NULL,
            updated REAL NOT NULL,
            info TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX sessions_created ON sessions(created);
        CREATE TABLE inbox (
            session_id TEXT PRIMARY KEY,
            seq INTEGER NOT NULL,
            answer TEXT NOT NULL,
            ts REAL NOT NULL
        );
        """, """
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            case_id TEXT NOT NULL,
            mode TEXT NOT NULL,
            engine TEXT NOT NULL,
            status TEXT NOT NULL,
            step TEXT NOT NULL,
            answered INTEGER NOT NULL DEFAULT 0,
            created DOUBLE PRECISION NOT NULL,
            updated DOUBLE PRECISION NOT NULL,
            info TEXT NOT NULL DEFAULT '{}',
            rowid BIGINT GENERATED ALWAYS AS IDENTITY
        );
        CREATE INDEX sessions_created ON sessions(created);
        CREATE TABLE inbox (
            session_id TEXT PRIMARY KEY,
            seq INTEGER NOT NULL,
            answer TEXT NOT NULL,
            ts DOUBLE PRECISION NOT NULL
        );
        """),
    Migration(2, "the model-call log", """
        CREATE TABLE calls (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id TEXT,
            ts REAL NOT NULL,
            purpose TEXT NOT NULL,
            model TEXT NOT NULL,
            prompt_hash TEXT NOT NULL,
            prompt_tokens INTEGER NOT NULL,
            completion_tokens INTEGER NOT NULL,
            latency_ms REAL NOT NULL,
            retries INTEGER NOT NULL,
            outcome TEXT NOT NULL,
            error TEXT,
            cached INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX calls_session ON calls(session_id, ts);
        """, """
        CREATE TABLE calls (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            session_id TEXT,
            ts DOUBLE PRECISION NOT NULL,
            purpose TEXT NOT NULL,
            model TEXT NOT NULL,
            prompt_hash TEXT NOT NULL,
            prompt_tokens INTEGER NOT NULL,
            completion_tokens INTEGER NOT NULL,
            latency_ms DOUBLE PRECISION NOT NULL,
            retries INTEGER NOT NULL,
            outcome TEXT NOT NULL,
            error TEXT,
            cached INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX calls_session ON calls(session_id, ts);
        """),
    Migration(3, "per-step scores, written by background scoring", """
        CREATE TABLE scores (
            session_id TEXT NOT NULL,
            step TEXT NOT NULL,
            scorer TEXT NOT NULL,
            version TEXT NOT NULL,
            result TEXT NOT NULL,
            created REAL NOT NULL,
            PRIMARY KEY (session_id, step, scorer, version)
        );
        """, """
        CREATE TABLE scores (
            session_id TEXT NOT NULL,
            step TEXT NOT NULL,
            scorer TEXT NOT NULL,
            version TEXT NOT NULL,
            result TEXT NOT NULL,
            created DOUBLE PRECISION NOT NULL,
            rowid BIGINT GENERATED ALWAYS AS IDENTITY,
            PRIMARY KEY (session_id, step, scorer, version)
        );
        """),
    Migration(4, "our own token count beside the endpoint's reported usage", """
        ALTER TABLE calls ADD COLUMN counted_prompt_tokens INTEGER NOT NULL DEFAULT 0;
        """),
    Migration(5, "the answer being typed when the candidate pressed Ctrl-C", """
        CREATE TABLE drafts (
            session_id TEXT PRIMARY KEY,
            text TEXT NOT NULL,
            ts REAL NOT NULL
        );
        """, """
        CREATE TABLE drafts (
            session_id TEXT PRIMARY KEY,
            text TEXT NOT NULL,
            ts DOUBLE PRECISION NOT NULL
        );
        """),
    Migration(6, "active time per step (seconds with the step's question open)", """
        CREATE TABLE step_time (
            session_id TEXT NOT NULL,
            step TEXT NOT NULL,
            seconds REAL NOT NULL,
            PRIMARY KEY (session_id, step)
        );
        """, """
        CREATE TABLE step_time (
            session_id TEXT NOT NULL,
            step TEXT NOT NULL,
            seconds DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (session_id, step)
        );
        """),
    Migration(7, "each session's latest report in brief, for listings and progress", """
        CREATE TABLE results (
            session_id TEXT PRIMARY KEY,
            summary TEXT NOT NULL,
            created REAL NOT NULL
        );
        """, """
        CREATE TABLE results (
            session_id TEXT PRIMARY KEY,
            summary TEXT NOT NULL,
            created DOUBLE PRECISION NOT NULL
        );
        """),
    Migration(8, "what each endpoint + model accepts, and judge attempts that failed", """
        CREATE TABLE endpoints (
            base_url TEXT NOT NULL,
            model TEXT NOT NULL,
            data TEXT NOT NULL,
            updated REAL NOT NULL,
            PRIMARY KEY (base_url, model)
        );
        CREATE TABLE judge_failures (
            session_id TEXT NOT NULL,
            step TEXT NOT NULL,
            version TEXT NOT NULL,
            kind TEXT NOT NULL,
            reason TEXT NOT NULL,
            created REAL NOT NULL,
            PRIMARY KEY (session_id, step, version)
        );
        """, """
        CREATE TABLE endpoints (
            base_url TEXT NOT NULL,
            model TEXT NOT NULL,
            data TEXT NOT NULL,
            updated DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (base_url, model)
        );
        CREATE TABLE judge_failures (
            session_id TEXT NOT NULL,
            step TEXT NOT NULL,
            version TEXT NOT NULL,
            kind TEXT NOT NULL,
            reason TEXT NOT NULL,
            created DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (session_id, step, version)
        );
        """),
)

#: The schema version this code writes.
LATEST = MIGRATIONS[-1].version

assert [m.version for m in MIGRATIONS] == list(range(1, LATEST + 1)), "versions 1, 2, 3..."


def pending(version: int) -> tuple[Migration, ...]:
    """The migrations a database at ``version`` still needs."""
    return tuple(m for m in MIGRATIONS if m.version > version)


def newer_message(label: str, version: int, where: str) -> str:
    """The one line refusing a database written by a newer interviewer."""
    return (f"the database {label} was written by a newer interviewer (schema {version}; this "
            f"one knows up to {LATEST}); upgrade interviewer or {where}")
