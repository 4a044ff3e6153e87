"""The SQLite database under INTERVIEWER_HOME: sessions, the model-call log, scores, and the
answer journal. (LangGraph's checkpoint tables live in the same file; see agent/runner.py.)

Schema changes are small numbered migrations, applied in order on open.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agent.paths import db_path

#: The shape of a session id (the engine makes them with secrets.token_hex); commands check an id
#: against it before they touch the database.
SESSION_ID = re.compile(r"^[a-z0-9][a-z0-9-]{3,40}$")


def normal_id(value: str) -> str:
    """A session id as typed, in the stored form: ids are lower case, so an id typed or pasted
    in upper case (``3FA8C21B``) names the same session."""
    return value.strip().lower()


def bad_id_message(value: str) -> str:
    """The one message for something that is not a session id (every command says this)."""
    from agent.config import quoted

    return (f"{quoted(value, 60)} is not a session id (ids look like 1f3a9c2e; see "
            "'interviewer sessions')")


def no_session_message(sid: str) -> str:
    """The one message for a well-formed id with no session behind it."""
    return f"no session {sid!r} (see 'interviewer sessions' for the saved ones)"


class StoreError(RuntimeError):
    """The database cannot be used; ``str()`` is one line saying what to do."""


MIGRATIONS: list[str] = [
    # 1: sessions and the answer journal
    """
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
    """,
    # 2: the model-call log
    """
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
    """,
    # 3: per-step scores, written by background scoring
    """
    CREATE TABLE scores (
        session_id TEXT NOT NULL,
        step TEXT NOT NULL,
        scorer TEXT NOT NULL,
        version TEXT NOT NULL,
        result TEXT NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (session_id, step, scorer, version)
    );
    """,
    # 4: our own token count beside the endpoint's reported usage
    """
    ALTER TABLE calls ADD COLUMN counted_prompt_tokens INTEGER NOT NULL DEFAULT 0;
    """,
    # 5: the answer being typed when the candidate pressed Ctrl-C, offered back on resume
    """
    CREATE TABLE drafts (
        session_id TEXT PRIMARY KEY,
        text TEXT NOT NULL,
        ts REAL NOT NULL
    );
    """,
    # 6: active time per step (seconds the candidate spent with the step's question open)
    """
    CREATE TABLE step_time (
        session_id TEXT NOT NULL,
        step TEXT NOT NULL,
        seconds REAL NOT NULL,
        PRIMARY KEY (session_id, step)
    );
    """,
    # 7: each session's latest report in brief (overall, band, levels), for listings and progress
    """
    CREATE TABLE results (
        session_id TEXT PRIMARY KEY,
        summary TEXT NOT NULL,
        created REAL NOT NULL
    );
    """,
    # 8: what each endpoint + model accepts (agent/model/capabilities.py), and judge attempts
    # that failed, so another process does not blindly redo them
    """
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
    """,
]


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the database, translating failures into one-line errors."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StoreError(
            f"cannot create INTERVIEWER_HOME {path.parent} ({e.strerror}); "
            "set INTERVIEWER_HOME to a writable directory"
        ) from None
    try:
        conn = sqlite3.connect(path, check_same_thread=False, timeout=10, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL survives a killed process (not a power cut) and keeps commits cheap.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=10000")
    except sqlite3.DatabaseError as e:
        raise _translate(e, path) from None
    return conn


def _translate(e: sqlite3.Error, path: Path) -> StoreError:
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


@dataclass
class SessionRow:
    id: str
    case_id: str
    mode: str
    engine: str
    status: str
    step: str
    answered: int
    created: float
    updated: float
    info: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class Store:
    """Our tables in the project database. Thread-safe (one connection, one lock)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or db_path()
        self.conn = connect(self.path)
        self._lock = threading.RLock()
        try:
            self._migrate()
        except sqlite3.Error as e:
            self.conn.close()
            raise _translate(e, self.path) from None

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                yield self.conn
                self.conn.execute("COMMIT")
            except sqlite3.Error as e:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise _translate(e, self.path) from None
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

    def _migrate(self) -> None:
        with self._lock:
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS interviewer_meta (key TEXT PRIMARY KEY, value TEXT)"
            )
            row = self.conn.execute(
                "SELECT value FROM interviewer_meta WHERE key='schema_version'"
            ).fetchone()
            version = int(row[0]) if row else 0
            if version > len(MIGRATIONS):
                raise StoreError(
                    f"the database {self.path} was written by a newer interviewer (schema "
                    f"{version}); upgrade interviewer or use another INTERVIEWER_HOME"
                )
            for i in range(version, len(MIGRATIONS)):
                self.conn.executescript(
                    "BEGIN;" + MIGRATIONS[i] + "INSERT OR REPLACE INTO interviewer_meta "
                    f"VALUES ('schema_version', '{i + 1}'); COMMIT;"
                )

    # -- sessions -------------------------------------------------------------------------------

    def create_session(self, sid: str, case_id: str, mode: str, engine: str,
                       info: dict[str, Any]) -> None:
        now = time.time()
        with self._tx() as c:
            c.execute(
                "INSERT INTO sessions VALUES (?,?,?,?,?,?,?,?,?,?)",
                (sid, case_id, mode, engine, "in_progress", "clarify", 0, now, now,
                 json.dumps(info)),
            )

    def update_session(self, sid: str, *, clear_journal: bool = False, **fields: Any) -> None:
        allowed = {"status", "step", "answered", "engine", "info"}
        bad = set(fields) - allowed
        if bad:
            raise ValueError(f"cannot update {sorted(bad)}")
        if "info" in fields:
            fields["info"] = json.dumps(fields["info"])
        cols = ", ".join(f"{k}=?" for k in fields)
        with self._tx() as c:
            c.execute(f"UPDATE sessions SET {cols}, updated=? WHERE id=?",
                      (*fields.values(), time.time(), sid))
            if clear_journal:
                c.execute("DELETE FROM inbox WHERE session_id=?", (sid,))

    def get_session(self, sid: str) -> SessionRow | None:
        with self._lock:
            row = self.conn.execute("SELECT * FROM sessions WHERE id=?", (sid,)).fetchone()
        return _session(row) if row else None

    def list_sessions(self) -> list[SessionRow]:
        with self._lock:
            rows = self.conn.execute(
                "SELECT * FROM sessions ORDER BY created DESC, rowid DESC"
            ).fetchall()
        return [_session(r) for r in rows]

    # -- the answer journal: an answer is saved before the graph sees it ---------------------

    def journal(self, sid: str, seq: int, answer: str,
                spent: tuple[str, float] | None = None) -> None:
        """Save an answer before the graph sees it; ``spent`` (step, seconds) adds the active
        time that led to it, in the same transaction."""
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO inbox VALUES (?,?,?,?)",
                      (sid, seq, answer, time.time()))
            if spent is not None:
                self._add_time(c, sid, *spent)

    def pending_answers(self) -> dict[str, str]:
        """Every journaled answer or command not yet recorded, by session."""
        with self._lock:
            rows = self.conn.execute("SELECT session_id, answer FROM inbox").fetchall()
        return {str(r[0]): str(r[1]) for r in rows}

    def journaled(self, sid: str) -> tuple[int, str] | None:
        with self._lock:
            row = self.conn.execute("SELECT seq, answer FROM inbox WHERE session_id=?",
                                    (sid,)).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def clear_journal(self, sid: str) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM inbox WHERE session_id=?", (sid,))

    # -- drafts: the answer being typed when the candidate pressed Ctrl-C ---------------------

    def save_draft(self, sid: str, text: str) -> None:
        with self._tx() as c:
            if text.strip():
                c.execute("INSERT OR REPLACE INTO drafts VALUES (?,?,?)",
                          (sid, text, time.time()))
            else:
                c.execute("DELETE FROM drafts WHERE session_id=?", (sid,))

    def draft(self, sid: str) -> str | None:
        with self._lock:
            row = self.conn.execute("SELECT text FROM drafts WHERE session_id=?",
                                    (sid,)).fetchone()
        return str(row[0]) if row else None

    # -- active time per step -------------------------------------------------------------------

    def add_time(self, sid: str, step: str, seconds: float) -> None:
        with self._tx() as c:
            self._add_time(c, sid, step, seconds)

    @staticmethod
    def _add_time(c: sqlite3.Connection, sid: str, step: str, seconds: float) -> None:
        c.execute("INSERT INTO step_time VALUES (?,?,?) ON CONFLICT(session_id, step) "
                  "DO UPDATE SET seconds = seconds + excluded.seconds",
                  (sid, step, max(0.0, seconds)))

    def times(self, sid: str) -> dict[str, float]:
        with self._lock:
            rows = self.conn.execute("SELECT step, seconds FROM step_time WHERE session_id=?",
                                     (sid,)).fetchall()
        return {str(r[0]): float(r[1]) for r in rows}

    # -- report summaries -----------------------------------------------------------------------

    def put_result(self, sid: str, summary: dict[str, Any]) -> None:
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO results VALUES (?,?,?)",
                      (sid, json.dumps(summary), time.time()))

    def results(self) -> dict[str, dict[str, Any]]:
        """Every session's stored report summary, by session id."""
        with self._lock:
            rows = self.conn.execute("SELECT session_id, summary FROM results").fetchall()
        return {str(r[0]): json.loads(r[1]) for r in rows}

    # -- model-call log -------------------------------------------------------------------------

    def log_call(self, rec: Any) -> None:
        """Append a :class:`agent.model.client.CallRecord`."""
        with self._tx() as c:
            c.execute(
                "INSERT INTO calls (session_id, ts, purpose, model, prompt_hash, prompt_tokens, "
                "completion_tokens, latency_ms, retries, outcome, error, cached, "
                "counted_prompt_tokens) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (rec.session_id, rec.ts, rec.purpose, rec.model, rec.prompt_hash,
                 rec.prompt_tokens, rec.completion_tokens, rec.latency_ms, rec.retries,
                 rec.outcome, rec.error, int(rec.cached), rec.counted_prompt_tokens),
            )

    def calls(self, sid: str) -> list[dict[str, Any]]:
        with self._lock:
            cur = self.conn.execute(
                "SELECT * FROM calls WHERE session_id=? ORDER BY ts, id", (sid,)
            )
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    # -- scores ---------------------------------------------------------------------------------

    def put_score(self, sid: str, step: str, scorer: str, version: str,
                  result: dict[str, Any]) -> None:
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO scores VALUES (?,?,?,?,?,?)",
                      (sid, step, scorer, version, json.dumps(result), time.time()))

    def get_score(self, sid: str, step: str, scorer: str, version: str) -> dict[str, Any] | None:
        with self._lock:
            row = self.conn.execute(
                "SELECT result FROM scores WHERE session_id=? AND step=? AND scorer=? AND "
                "version=?", (sid, step, scorer, version)).fetchone()
        if not row:
            return None
        result: dict[str, Any] = json.loads(row[0])
        return result

    # -- judge attempts that failed ---------------------------------------------------------

    def put_judge_failure(self, sid: str, step: str, version: str, kind: str,
                          reason: str) -> None:
        """Record that judging ``step`` (this transcript and judge ``version``) failed:
        ``kind`` "invalid" (the model's replies never validated) or "unavailable"."""
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO judge_failures VALUES (?,?,?,?,?,?)",
                      (sid, step, version, kind, reason, time.time()))

    def judge_failure(self, sid: str, step: str, version: str) -> dict[str, Any] | None:
        with self._lock:
            row = self.conn.execute(
                "SELECT kind, reason, created FROM judge_failures WHERE session_id=? AND "
                "step=? AND version=?", (sid, step, version)).fetchone()
        return {"kind": row[0], "reason": row[1], "created": row[2]} if row else None

    def clear_judge_failures(self, sid: str) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM judge_failures WHERE session_id=?", (sid,))

    # -- what endpoints accept ----------------------------------------------------------------

    def load_capabilities(self, base_url: str, model: str) -> dict[str, Any] | None:
        with self._lock:
            row = self.conn.execute("SELECT data FROM endpoints WHERE base_url=? AND model=?",
                                    (base_url, model)).fetchone()
        if not row:
            return None
        try:
            data = json.loads(row[0])
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def save_capabilities(self, base_url: str, model: str, data: dict[str, Any]) -> None:
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO endpoints VALUES (?,?,?,?)",
                      (base_url, model, json.dumps(data), time.time()))

    def scores_for(self, sid: str, step: str) -> list[tuple[str, str, dict[str, Any]]]:
        """Every stored score of one step, newest first: (scorer, version, result)."""
        with self._lock:
            rows = self.conn.execute(
                "SELECT scorer, version, result FROM scores WHERE session_id=? AND step=? "
                "ORDER BY created DESC, rowid DESC", (sid, step)).fetchall()
        return [(str(r[0]), str(r[1]), json.loads(r[2])) for r in rows]


def _session(row: tuple[Any, ...]) -> SessionRow:
    sid, case_id, mode, engine, status, step, answered, created, updated, info = row
    return SessionRow(sid, case_id, mode, engine, status, step, int(answered), created, updated,
                      json.loads(info))


class SessionLock:
    """An exclusive, process-wide lock on one session (released by the OS if we are killed)."""

    def __init__(self, directory: Path, sid: str) -> None:
        self.path = directory / "locks" / f"{sid}.lock"
        self._fd: int | None = None

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

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
