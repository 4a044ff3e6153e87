"""Candidate turns, run off the event loop: a worker thread per running turn, its speech events
bridged to the request's SSE stream.

The engine is synchronous (``graph.stream`` with a SQLite or PostgreSQL checkpointer). A turn
opens its session, which locks it (a file lock, or a PostgreSQL advisory lock, that every other
process respects: workers on this machine or on others), sends
the answer (journaled before the graph sees it), and releases the lock as soon as the
interviewer's reply is checkpointed; background scoring of a finished step goes on after. No
session state is kept between turns in this worker's memory, so any worker can take the next
turn of any session.

A client that goes away mid-turn (a reload, a closed tab) stops only the stream: the turn runs
to its checkpoint, and the page finds the reply there when it comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from agent import commands as rules
from agent.engine import SessionBusy, SessionError
from agent.steps import STEPS
from agent.storage import StorageUnavailable, StoreError
from agent.web.views import candidate_turns, step_info

if TYPE_CHECKING:
    from agent.engine import Engine, Session

log = logging.getLogger("interviewer.web")

Event = tuple[str, dict[str, Any]]
View = Callable[[str, Any], dict[str, Any]]


class TurnError(Exception):
    """A turn refused before anything ran: an HTTP status, a code and a message for the
    candidate."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def speech_event(chunk: dict[str, Any]) -> Event | None:
    """The graph's custom-stream event as an SSE event (see agent/graph.py Voice)."""
    if "begin" in chunk:
        step = str(chunk.get("step", ""))
        return "begin", {"kind": chunk["begin"], "step": step,
                         "info": step_info(step) if step in STEPS or step == "wrap_up" else None}
    if "say" in chunk:
        return "say", {"text": str(chunk["say"])}
    if "restart" in chunk:
        return "restart", {}
    if "end" in chunk:
        return "end", {"kind": chunk["end"]}
    if chunk.get("storage") == "lost":  # the database server went away mid-turn (engine.py)
        log.warning("turn waiting for the database: %s", chunk.get("message", ""))
        return "notice", {"kind": "database", "text": (
            "The interview's database is not answering (restarting?); waiting for it, up to "
            f"{float(chunk.get('wait_s', 0)):g} s. Nothing you sent is lost.")}
    if chunk.get("storage") == "back":
        return "notice", {"kind": "database_back", "text": ""}
    return None


def database_message(e: StorageUnavailable | None = None) -> str:
    """What the candidate reads when the database server cannot be reached (the server's own
    log has the details; the page never shows where the database is)."""
    saved = e.answer_saved if e is not None else None
    what = ("Your answer is saved: reload the page once it is back to see the reply."
            if saved else "Your answer was not saved: send it again once it is back (it is "
            "still in the box)." if saved is False else "What you sent before is saved: try "
            "again in a moment.")
    return f"The interview's database is not answering (restarting?). {what}"


def _reference() -> str:
    return secrets.token_hex(4)


class TurnRunner:
    """Runs turns for one engine in a bounded pool of threads."""

    def __init__(self, engine: Engine, view: View, *, threads: int = 64,
                 lock_wait_s: float = 20.0) -> None:
        self.engine = engine
        self.view = view
        self.lock_wait_s = lock_wait_s
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="turn")
        self._mu = threading.Lock()
        # One lock per session in this worker, so turns of one session queue here instead of
        # polling the file lock (which still stops other workers and processes).
        self._local: weakref.WeakValueDictionary[str, threading.Lock] = \
            weakref.WeakValueDictionary()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def call(self, fn: Callable[[], Any]) -> asyncio.Future[Any]:
        """Run a blocking engine call (a start, a report) on the turn pool."""
        return asyncio.get_running_loop().run_in_executor(self._pool, fn)

    async def run(self, sid: str, value: dict[str, str] | None, seq: int | None = None,
                  active_s: float | None = None) -> AsyncIterator[Event]:
        """Send ``value`` ({"answer": ...} or {"command": ...}), or with None finish what a
        stopped turn left (see Session.recover). Raises TurnError when the turn is refused;
        otherwise returns its events: "accepted", the speech events, then "state" (the page's
        view of the session afterwards) and "done", or "error". ``active_s``: how long the page
        says the question was open (see _active)."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def put(item: tuple[str, Any]) -> None:
            # RuntimeError: the server is stopping; the turn still reaches its checkpoint.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(queue.put_nowait, item)

        self._pool.submit(self._turn, sid, value, seq, active_s, put)
        first = await queue.get()
        if first[0] == "refused":
            raise first[1]

        async def events() -> AsyncIterator[Event]:
            item = first
            while True:
                yield item
                if item[0] in ("done", "error"):
                    return
                item = await queue.get()

        return events()

    # -- in the worker thread ----------------------------------------------------------------

    def _local_lock(self, sid: str) -> threading.Lock:
        with self._mu:
            lock = self._local.get(sid)
            if lock is None:
                lock = threading.Lock()
                self._local[sid] = lock
            return lock

    def _busy(self) -> TurnError:
        return TurnError(409, "busy", "This interview is taking another turn (in another tab or "
                         "window?); wait for it to finish, then reload.")

    def _open(self, sid: str, deadline: float) -> Session:
        """Open (and lock) the session, waiting while another worker process runs one of its
        turns: polled, more slowly as the wait goes on (each try asks the database)."""
        pause = 0.02
        while True:
            try:
                return self.engine.open(sid)
            except SessionBusy:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._busy() from None
                time.sleep(min(pause, left))
                pause = min(pause * 1.5, 0.25)

    def _turn(self, sid: str, value: dict[str, str] | None, seq: int | None,
              active_s: float | None, put: Callable[[tuple[str, Any]], None]) -> None:
        local = self._local_lock(sid)
        deadline = time.monotonic() + self.lock_wait_s
        if not local.acquire(timeout=self.lock_wait_s):
            put(("refused", self._busy()))
            return
        session: Session | None = None
        try:
            try:
                session = self._open(sid, deadline)
                if value is not None:
                    self._check(session, seq, value)
            except TurnError as e:
                put(("refused", e))
                return
            except SessionError as e:
                put(("refused", TurnError(404, "not_found", str(e))))
                return
            except Exception as e:
                put(("refused", self._refusal(e)))
                return
            # The time on the step: what the page measured, never more than the question has
            # been on screen by the server's clock; a replayed answer's time is already saved.
            session.question_open_for(None if value is None else self._active(session, active_s))
            self._advance(session, value, put)
        finally:
            if session is not None:
                session.question_open_for(None)  # closed between turns: the clock stops here
                session.release()
            local.release()
            if session is not None:
                session.close()  # waits for background scoring, with the lock already free

    def _active(self, session: Session, active_s: float | None) -> float:
        """Seconds the open question was in front of the candidate: the page's count of the
        time it was visible, bounded by the time since the previous reply was saved."""
        row = self.engine.store.get_session(session.id)
        since = max(0.0, time.time() - row.updated) if row is not None else 0.0
        return min(since, max(0.0, active_s)) if active_s is not None else 0.0

    def _check(self, session: Session, seq: int | None, value: dict[str, str]) -> None:
        if session.finished():
            raise TurnError(409, "finished", "This interview is complete; its report is ready.")
        journaled = self.engine.store.journaled(session.id)
        if journaled is not None and journaled[0] < candidate_turns(session.state()):
            # Recorded already; its worker died before clearing the journal: nothing pending.
            self.engine.store.clear_journal(session.id)
            journaled = None
        if journaled is not None or not session.waiting():
            raise TurnError(409, "pending", "An earlier answer is still being processed; "
                            "reload the page to see the interviewer's reply to it.")
        if seq is not None and seq != candidate_turns(session.state()):
            raise TurnError(409, "stale", "This interview has moved on (in another tab or "
                            "window?); reload the page to catch up. Your answer is still in the "
                            "box.")
        # What the graph would refuse without storing it (/hint in exam mode), refused here.
        command = value.get("command")
        notice = (rules.reply(session.state(), rules.Command(command)) if command is not None
                  else None)
        if notice is not None:
            raise TurnError(422, "refused", notice["text"])

    def _advance(self, session: Session, value: dict[str, str] | None,
                 put: Callable[[tuple[str, Any]], None]) -> None:
        from agent.model.client import ModelError

        def on_event(chunk: dict[str, Any]) -> None:
            event = speech_event(chunk)
            if event is not None:
                put(event)

        seq = candidate_turns(session.state())

        def accepted() -> None:  # only once the answer is journaled: the page may forget it
            put(("accepted", {"seq": seq, **(value or {})}))

        try:
            if value is None:
                accepted()
                session.recover(on_event)
            else:
                session.submit(value, on_event, on_saved=accepted)
            put(("state", self.view(session.id, session.snapshot())))
            put(("done", {}))
        except ModelError as e:
            put(("error", {"code": "model_unavailable", "message": (
                f"{e}. Your answer is saved: retry when the endpoint is back, or restart the "
                "server with --offline to carry on offline.")}))
        except StorageUnavailable as e:
            log.warning("turn of session %s gave up: %s", session.id, e)
            put(("error", {"code": "database_unavailable", "message": database_message(e)}))
        except Exception as e:
            err = self._internal(e)
            put(("error", {"code": err.code, "message": err.message}))

    def _refusal(self, e: BaseException) -> TurnError:
        """A turn that could not start: the database unreachable (503, one line in the log),
        or anything else (500, with its traceback in the log)."""
        gone = self.engine.store.unavailable(e)
        if gone is not None:
            log.warning("turn refused: %s", gone)
            return TurnError(503, "database_unavailable", database_message())
        if isinstance(e, StoreError):
            log.error("turn refused: %s", e)
            return TurnError(503, "database_error", "The interview's database refused the "
                             "request; your answers so far are saved. Try again in a moment.")
        return self._internal(e)

    def _internal(self, e: BaseException) -> TurnError:
        ref = _reference()
        log.error("turn failed (reference %s)", ref, exc_info=e)
        return TurnError(500, "internal", "Something went wrong on the server (reference "
                         f"{ref}); your answers are saved. Reload the page to carry on.")
