"""The storage interface: sessions, the answer journal, scores, the model-call log, LangGraph's
checkpointer and the per-session lock, whichever database holds them.

The SQL for our own tables is written once, here, in the dialect SQLite and PostgreSQL share
(``?`` placeholders, which the PostgreSQL backend turns into ``%s``; ``ON CONFLICT`` upserts;
``rowid`` is SQLite's implicit row number and an identity column of that name in PostgreSQL).
A backend supplies connections, transactions, error translation, the checkpointer and the lock.
"""

from __future__ import annotations

import json
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from typing import Any, Protocol

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


class StorageUnavailable(StoreError):
    """The database server cannot be reached right now (refused, gone away, restarting). What
    was saved before is safe; the same work can be tried again once it is back."""

    def __init__(self, message: str, *, answer_saved: bool | None = None) -> None:
        super().__init__(message)
        #: When a turn gave up: whether the candidate's answer had reached the journal.
        self.answer_saved = answer_saved


def as_store_error(exc: BaseException) -> StoreError | None:
    """A database driver's exception that escaped a backend's translation (raised inside
    LangGraph's checkpointer, say) as one of ours, with a one-line message; None for anything
    else. Never imports a driver."""
    if isinstance(exc, StoreError):
        return exc
    kind = type(exc)
    if not kind.__module__.startswith(("psycopg", "psycopg_pool")):
        return None
    text = " ".join(line for line in str(exc).splitlines()
                    if line.strip() and not line.startswith(("\t", " ")))[:300]
    if kind.__name__ in ("PoolTimeout",) or any(
            k.__name__ == "OperationalError" for k in kind.__mro__):
        return StorageUnavailable(f"the database server is unreachable ({text}); what was saved "
                                  "is safe: try again once it is back")
    return StoreError(f"database error ({text or kind.__name__})")


class SessionTaken(StoreError):
    """Another process took the session while this one had lost its lock."""


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


class SessionLock(Protocol):
    """An exclusive lock on one session, released if the process holding it dies."""

    @property
    def held(self) -> bool: ...

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another process holds it."""

    def check(self) -> None:
        """Before writing a turn: make sure the lock is still ours. A lock can be lost with the
        connection that holds it (a database restart); it is taken again then, unless another
        process got it first (:class:`SessionTaken`)."""

    def release(self) -> None: ...


#: Columns of the sessions table, in SessionRow's order.
SESSION_COLUMNS = "id, case_id, mode, engine, status, step, answered, created, updated, info"
#: Columns of the call log, as ``interviewer trace`` reads them.
CALL_COLUMNS = ("id, session_id, ts, purpose, model, prompt_hash, prompt_tokens, "
                "completion_tokens, latency_ms, retries, outcome, error, cached, "
                "counted_prompt_tokens")

Execute = Callable[[str, Sequence[Any]], None]


class Storage(ABC):
    """Everything the interviewer keeps, in one database. Thread-safe."""

    #: "sqlite" or "postgres".
    kind: str
    #: Where the data lives, for messages: a file path, or a URL without its password.
    label: str

    # -- what a backend provides --------------------------------------------------------------

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def _tx(self) -> AbstractContextManager[Execute]:
        """A write transaction: statements run through the yielded function, committed
        together at the end, rolled back on any error."""

    @abstractmethod
    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one read and return its rows."""

    @abstractmethod
    def checkpointer(self) -> Any:
        """LangGraph's checkpointer on this database (created on first use)."""

    @abstractmethod
    def session_lock(self, sid: str) -> SessionLock: ...

    @abstractmethod
    def ping(self) -> None:
        """Return when the database answers; :class:`StorageUnavailable` when it does not."""

    @abstractmethod
    def unavailable(self, exc: BaseException) -> StorageUnavailable | None:
        """``exc`` (raised anywhere, e.g. inside the checkpointer) as a StorageUnavailable when
        it means the server cannot be reached; None for any other error."""

    #: How long a turn waits for the database to come back before giving up, in seconds.
    wait_s: float = 0.0

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- raw access, for maintenance and tests ------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (``?`` placeholders) in its own transaction; rows of a SELECT."""
        if sql.lstrip().upper().startswith("SELECT"):
            return self._rows(sql, params)
        with self._tx() as ex:
            ex(sql, params)
        return []

    # -- settings every process shares ------------------------------------------------------

    def shared_value(self, key: str, value: str) -> str:
        """``key``'s value in ``interviewer_meta``: ``value`` stored by the first process to
        ask, and what that one stored for every later one (processes asking at once agree)."""
        with self._tx() as ex:
            ex("INSERT INTO interviewer_meta (key, value) VALUES (?, ?) "
               "ON CONFLICT (key) DO NOTHING", (key, value))
        rows = self._rows("SELECT value FROM interviewer_meta WHERE key=?", (key,))
        return str(rows[0][0])

    # -- sessions -----------------------------------------------------------------------------

    def create_session(self, sid: str, case_id: str, mode: str, engine: str,
                       info: dict[str, Any]) -> None:
        now = time.time()
        with self._tx() as ex:
            ex(f"INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
               (sid, case_id, mode, engine, "in_progress", "clarify", 0, now, now,
                json.dumps(info)))

    def update_session(self, sid: str, *, clear_journal: bool = False, **fields: Any) -> None:
        allowed = {"status", "step", "answered", "engine", "info"}
        bad = set(fields) - allowed
        if bad:
            raise ValueError(f"cannot update {sorted(bad)}")
        if "info" in fields:
            fields["info"] = json.dumps(fields["info"])
        cols = ", ".join(f"{k}=?" for k in fields)
        with self._tx() as ex:
            ex(f"UPDATE sessions SET {cols}, updated=? WHERE id=?",
               (*fields.values(), time.time(), sid))
            if clear_journal:
                ex("DELETE FROM inbox WHERE session_id=?", (sid,))

    def get_session(self, sid: str) -> SessionRow | None:
        rows = self._rows(f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id=?", (sid,))
        return _session(rows[0]) if rows else None

    def list_sessions(self) -> list[SessionRow]:
        rows = self._rows(f"SELECT {SESSION_COLUMNS} FROM sessions "
                          "ORDER BY created DESC, rowid DESC")
        return [_session(r) for r in rows]

    # -- the answer journal: an answer is saved before the graph sees it ---------------------

    def journal(self, sid: str, seq: int, answer: str,
                spent: tuple[str, float] | None = None) -> None:
        """Save an answer before the graph sees it; ``spent`` (step, seconds) adds the active
        time that led to it, in the same transaction."""
        with self._tx() as ex:
            ex("INSERT INTO inbox (session_id, seq, answer, ts) VALUES (?,?,?,?) "
               "ON CONFLICT (session_id) DO UPDATE SET seq=excluded.seq, "
               "answer=excluded.answer, ts=excluded.ts", (sid, seq, answer, time.time()))
            if spent is not None:
                _add_time(ex, sid, *spent)

    def pending_answers(self) -> dict[str, str]:
        """Every journaled answer or command not yet recorded, by session."""
        return {str(r[0]): str(r[1])
                for r in self._rows("SELECT session_id, answer FROM inbox")}

    def journaled(self, sid: str) -> tuple[int, str] | None:
        rows = self._rows("SELECT seq, answer FROM inbox WHERE session_id=?", (sid,))
        return (int(rows[0][0]), str(rows[0][1])) if rows else None

    def clear_journal(self, sid: str) -> None:
        with self._tx() as ex:
            ex("DELETE FROM inbox WHERE session_id=?", (sid,))

    # -- drafts: the answer being typed when the candidate pressed Ctrl-C ---------------------

    def save_draft(self, sid: str, text: str) -> None:
        with self._tx() as ex:
            if text.strip():
                ex("INSERT INTO drafts (session_id, text, ts) VALUES (?,?,?) ON CONFLICT "
                   "(session_id) DO UPDATE SET text=excluded.text, ts=excluded.ts",
                   (sid, text, time.time()))
            else:
                ex("DELETE FROM drafts WHERE session_id=?", (sid,))

    def draft(self, sid: str) -> str | None:
        rows = self._rows("SELECT text FROM drafts WHERE session_id=?", (sid,))
        return str(rows[0][0]) if rows else None

    # -- active time per step -------------------------------------------------------------------

    def add_time(self, sid: str, step: str, seconds: float) -> None:
        with self._tx() as ex:
            _add_time(ex, sid, step, seconds)

    def times(self, sid: str) -> dict[str, float]:
        return {str(r[0]): float(r[1]) for r in self._rows(
            "SELECT step, seconds FROM step_time WHERE session_id=?", (sid,))}

    # -- report summaries -----------------------------------------------------------------------

    def put_result(self, sid: str, summary: dict[str, Any]) -> None:
        with self._tx() as ex:
            ex("INSERT INTO results (session_id, summary, created) VALUES (?,?,?) ON CONFLICT "
               "(session_id) DO UPDATE SET summary=excluded.summary, created=excluded.created",
               (sid, json.dumps(summary), time.time()))

    def results(self) -> dict[str, dict[str, Any]]:
        """Every session's stored report summary, by session id."""
        return {str(r[0]): json.loads(r[1])
                for r in self._rows("SELECT session_id, summary FROM results")}

    # -- judge attempts that failed ---------------------------------------------------------

    def put_judge_failure(self, sid: str, step: str, version: str, kind: str,
                          reason: str) -> None:
        """Record that judging ``step`` (this transcript and judge ``version``) failed:
        ``kind`` "invalid" (the model's replies never validated) or "unavailable"."""
        with self._tx() as ex:
            ex("INSERT INTO judge_failures (session_id, step, version, kind, reason, created) "
               "VALUES (?,?,?,?,?,?) ON CONFLICT (session_id, step, version) DO UPDATE SET "
               "kind=excluded.kind, reason=excluded.reason, created=excluded.created",
               (sid, step, version, kind, reason, time.time()))

    def judge_failure(self, sid: str, step: str, version: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT kind, reason, created FROM judge_failures WHERE session_id=? "
                          "AND step=? AND version=?", (sid, step, version))
        return {"kind": rows[0][0], "reason": rows[0][1], "created": rows[0][2]} if rows else None

    def clear_judge_failures(self, sid: str) -> None:
        with self._tx() as ex:
            ex("DELETE FROM judge_failures WHERE session_id=?", (sid,))

    # -- what endpoints accept ----------------------------------------------------------------

    def load_capabilities(self, base_url: str, model: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT data FROM endpoints WHERE base_url=? AND model=?",
                          (base_url, model))
        if not rows:
            return None
        try:
            data = json.loads(rows[0][0])
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def save_capabilities(self, base_url: str, model: str, data: dict[str, Any]) -> None:
        with self._tx() as ex:
            ex("INSERT INTO endpoints (base_url, model, data, updated) VALUES (?,?,?,?) ON "
               "CONFLICT (base_url, model) DO UPDATE SET data=excluded.data, "
               "updated=excluded.updated", (base_url, model, json.dumps(data), time.time()))

    # -- model-call log -------------------------------------------------------------------------

    def log_call(self, rec: Any) -> None:
        """Append a :class:`agent.model.client.CallRecord`."""
        with self._tx() as ex:
            ex("INSERT INTO calls (session_id, ts, purpose, model, prompt_hash, prompt_tokens, "
               "completion_tokens, latency_ms, retries, outcome, error, cached, "
               "counted_prompt_tokens) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
               (rec.session_id, rec.ts, rec.purpose, rec.model, rec.prompt_hash,
                rec.prompt_tokens, rec.completion_tokens, rec.latency_ms, rec.retries,
                rec.outcome, rec.error, int(rec.cached), rec.counted_prompt_tokens))

    def calls(self, sid: str) -> list[dict[str, Any]]:
        names = [c.strip() for c in CALL_COLUMNS.split(",")]
        rows = self._rows(f"SELECT {CALL_COLUMNS} FROM calls WHERE session_id=? "
                          "ORDER BY ts, id", (sid,))
        return [dict(zip(names, r, strict=True)) for r in rows]

    # -- scores ---------------------------------------------------------------------------------

    def put_score(self, sid: str, step: str, scorer: str, version: str,
                  result: dict[str, Any]) -> None:
        with self._tx() as ex:
            ex("INSERT INTO scores (session_id, step, scorer, version, result, created) "
               "VALUES (?,?,?,?,?,?) ON CONFLICT (session_id, step, scorer, version) DO UPDATE "
               "SET result=excluded.result, created=excluded.created",
               (sid, step, scorer, version, json.dumps(result), time.time()))

    def get_score(self, sid: str, step: str, scorer: str, version: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT result FROM scores WHERE session_id=? AND step=? AND "
                          "scorer=? AND version=?", (sid, step, scorer, version))
        if not rows:
            return None
        result: dict[str, Any] = json.loads(rows[0][0])
        return result

    def scores_for(self, sid: str, step: str) -> list[tuple[str, str, dict[str, Any]]]:
        """Every stored score of one step, newest first: (scorer, version, result)."""
        rows = self._rows("SELECT scorer, version, result FROM scores WHERE session_id=? AND "
                          "step=? ORDER BY created DESC, rowid DESC", (sid, step))
        return [(str(r[0]), str(r[1]), json.loads(r[2])) for r in rows]


def _add_time(ex: Execute, sid: str, step: str, seconds: float) -> None:
    ex("INSERT INTO step_time (session_id, step, seconds) VALUES (?,?,?) ON CONFLICT "
       "(session_id, step) DO UPDATE SET seconds = step_time.seconds + excluded.seconds",
       (sid, step, max(0.0, seconds)))


def _session(row: Sequence[Any]) -> SessionRow:
    sid, case_id, mode, engine, status, step, answered, created, updated, info = row
    return SessionRow(str(sid), str(case_id), str(mode), str(engine), str(status), str(step),
                      int(answered), float(created), float(updated), json.loads(info))


def statements(script: str) -> Iterator[str]:
    """The statements of a migration script (ours never put ``;`` inside a literal)."""
    for part in script.split(";"):
        if part.strip():
            yield part.strip()
