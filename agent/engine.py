"""Running interviews: the database, the checkpointer, the graph and the model, wired together.

The terminal chat, the benchmark and the eval harness all drive sessions through this module.
An answer is written to a journal before the graph sees it, so a process killed at any moment
loses no answered turn: on the next open, a journaled answer the checkpoint does not hold yet is
submitted again. The same recovery finishes a turn when the database server goes away in the
middle of it: the turn waits for the server to come back (``INTERVIEWER_DATABASE_WAIT``), then
carries on from what was saved.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from langgraph.types import Command

from agent.cases import Case, get_case
from agent.config import Settings
from agent.context import Context, engine_label
from agent.feedback import SessionScoring, make_scorer
from agent.graph import build_graph
from agent.model.client import ModelClient
from agent.offline import OfflineInterviewer
from agent.policy import Interviewer
from agent.report import Report
from agent.rubrics import default_rubrics
from agent.semantic.claims import prime
from agent.state import InterviewState, answered_count, last_question
from agent.steps import STEPS
from agent.storage import (
    SESSION_ID,
    Storage,
    StorageUnavailable,
    Target,
    bad_id_message,
    no_session_message,
    normal_id,
    open_storage,
)

Event = dict[str, Any]
OnEvent = Callable[[Event], None]
T = TypeVar("T")


class SessionError(RuntimeError):
    """A session that cannot be opened; ``str()`` is one line."""


class SessionBusy(SessionError):
    """The session is open elsewhere (another process, or another web request's turn)."""


def make_interviewer(settings: Settings | None, client: ModelClient | None = None,
                     session_id: str | None = None) -> Interviewer:
    """The offline interviewer, or a model-backed one when an endpoint is configured."""
    if client is None:
        if settings is None or settings.offline:
            return OfflineInterviewer()
        client = ModelClient(settings)
    from agent.llm_policy import LLMInterviewer

    return LLMInterviewer(client, session_id)


def start_input(case: Case, mode: str, max_followups: int,
                drill: str | None = None) -> dict[str, Any]:
    """The graph's input that starts a new interview (see agent.schema.StartInput): the graph
    reads the case prompt out, then waits in clarify for the first question. A drill of one step
    starts at that step (with the case's fact sheet for a step after clarify)."""
    value: dict[str, Any] = {"case_id": case.id, "mode": mode, "max_followups": max_followups}
    if drill:
        value["drill"] = drill
    return value


def new_session_id() -> str:
    return secrets.token_hex(4)


class Engine:
    """One database and one model endpoint (or none: offline).

    ``db``: an open :class:`Storage` (left open on close), or where to open one: a resolved
    :class:`Target`, a SQLite path, a database URL, or None for the configured database."""

    def __init__(self, settings: Settings, *, db: Storage | Target | Path | str | None = None,
                 http_client: httpx.Client | None = None) -> None:
        self.settings = settings
        self._owns_store = not isinstance(db, Storage)
        self.store: Storage = db if isinstance(db, Storage) else open_storage(db)
        try:
            self.saver = self.store.checkpointer()
        except BaseException:
            if self._owns_store:
                self.store.close()
            raise
        self.client: ModelClient | None = None
        if not settings.offline:
            self.client = ModelClient(settings, recorder=self._log_call,
                                      http_client=http_client, capabilities=self.store)
        self.graph = build_graph(checkpointer=self.saver)
        self.rubrics = default_rubrics()
        self._sessions: list[Session] = []

    @property
    def engine_label(self) -> str:
        return engine_label(None if self.client is None else self.settings)

    def close(self) -> None:
        # Sessions first: their background scoring must finish before connections close.
        for session in list(self._sessions):
            session.close()
        if self.client is not None:
            self.client.close()
        if self._owns_store:
            self.store.close()

    def _log_call(self, rec: Any) -> None:
        """The model-call log. With the database server unreachable the entry is dropped
        rather than failing the call: the turn that made it fails at its next write anyway and
        is run again (and logged) once the server is back."""
        with suppress(StorageUnavailable):
            self.store.log_call(rec)

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, case: Case, *, mode: str = "exam", max_followups: int = 2,
              session_id: str | None = None, drill: str | None = None,
              info: dict[str, Any] | None = None) -> Session:
        """A new session: a full interview, or with ``drill`` one step of it. ``info`` adds
        fields to its stored info (the web app's owner)."""
        if drill is not None and drill not in STEPS:
            raise ValueError(f"drill: unknown step {drill!r} (steps: {', '.join(STEPS)})")
        sid = session_id or new_session_id()
        info = {**(info or {}), "model": self.settings.model,
                "base_url": self.settings.base_url, "max_followups": max_followups}
        if drill:
            info["drill"] = drill
        self.store.create_session(sid, case.id, mode, self.engine_label, info)
        session = Session(self, sid, case)
        session.lock()

        def attempt(retrying: bool) -> None:
            if not (retrying and session.snapshot().values):
                session.run(start_input(case, mode, max_followups, drill))

        session._guarded(attempt, None, lambda: True)
        return session

    def open(self, sid: str, *, lock: bool = True) -> Session:
        """Open a saved session. Errors name no flag: each caller knows what the user typed
        (``chat --session``, ``report SESSION``)."""
        sid = normal_id(sid)
        if not SESSION_ID.match(sid):
            raise SessionError(bad_id_message(sid))
        row = self.store.get_session(sid)
        if row is None:
            raise SessionError(no_session_message(sid))
        session = Session(self, sid, get_case(row.case_id))
        if not lock:
            return session  # read-only use (reports): no lock, no row changes
        try:
            session.lock()
        except SessionBusy:
            session.close()  # not ours: leave nothing behind (a caller may try again)
            raise
        if row.engine != self.engine_label:
            self.store.update_session(sid, engine=self.engine_label)
        if not session.snapshot().values:
            # Killed between creating the session and its first checkpoint: start it again.
            session.run(start_input(session.case, row.mode,
                                    int(row.info.get("max_followups", 2)),
                                    row.info.get("drill")))
        return session


@dataclass(frozen=True)
class RunEnd:
    """The parts of LangGraph's StateSnapshot the engine and its clients read (values, next,
    interrupts), as a run's own stream left them."""

    values: dict[str, Any]
    next: tuple[str, ...]
    interrupts: tuple[Any, ...]


class Session:
    """One interview, locked to this process while open."""

    def __init__(self, engine: Engine, sid: str, case: Case) -> None:
        self.engine = engine
        self.id = sid
        self.case = case
        self.config: dict[str, Any] = {"configurable": {"thread_id": sid}}
        self._snap: Any = None
        self._lock = engine.store.session_lock(sid)
        self.interviewer = make_interviewer(engine.settings, engine.client, sid)
        prime([f.keywords for f in case.facts])  # clarify matches them, with a model too
        self.scoring = SessionScoring(
            engine.store, make_scorer(engine.client, engine.rubrics, sid), case, sid,
            engine.rubrics)
        # Offline scores are ready at once; a model judge's are waited for by the terminal
        # itself, after the last turn, with progress and Ctrl-C (see chat._finish).
        self.context = Context(interviewer=self.interviewer, engine=engine.engine_label,
                               rubrics=engine.rubrics, scoring=self._scoring,
                               report_in_state=self.scoring.scorer.name == "offline")
        #: When the question now open was put in front of the candidate (monotonic seconds);
        #: None while nothing is open (read-only use, or before the session is locked).
        self._shown: float | None = None
        engine._sessions.append(self)

    def _scoring(self, thread_id: str, case: Case) -> SessionScoring:
        return self.scoring

    def lock(self) -> None:
        if not self._lock.acquire():
            raise SessionBusy(
                f"session {self.id} is open in another interviewer process; close that one "
                "first (two processes must not write one session)"
            )
        self._shown = time.monotonic()

    def release(self) -> None:
        """Let another process take the session's next turn now. Background scoring already
        started goes on; close() still waits for it."""
        self._lock.release()

    def close(self) -> None:
        self._clock_out()
        self.scoring.close()
        self._lock.release()
        if self in self.engine._sessions:
            self.engine._sessions.remove(self)

    # -- reading ------------------------------------------------------------------------------

    @staticmethod
    def step_of(values: Mapping[str, Any]) -> str:
        return str(values.get("step", "clarify"))

    def snapshot(self) -> Any:
        """The graph's state (a LangGraph StateSnapshot, or the RunEnd of the run just made);
        read once after each run and kept until the next one."""
        if self._snap is None:
            self._snap = self.engine.graph.get_state(self.config)
        return self._snap

    def state(self) -> InterviewState:
        values: InterviewState = self.snapshot().values
        return values

    def waiting(self) -> bool:
        """True when the interview is waiting for the candidate."""
        return bool(self.snapshot().interrupts)

    def finished(self) -> bool:
        snap = self.snapshot()
        return not snap.next and snap.values.get("status") == "completed"

    def question(self) -> str:
        return last_question(self.state())

    def step(self) -> str:
        return self.step_of(self.state())

    # -- running ------------------------------------------------------------------------------

    # -- active time and drafts ---------------------------------------------------------------

    def _spent(self) -> tuple[str, float] | None:
        """(step, seconds) since the open question was shown, and the clock stopped. Only time
        with the session open counts: the gap between a quit and a resume never does, nor the
        time the interviewer (a model) takes to reply."""
        if self._shown is None:
            return None
        took, self._shown = time.monotonic() - self._shown, None
        step = self.step()
        return (step, took) if step in STEPS and not self.finished() else None

    def question_open_for(self, seconds: float | None) -> None:
        """Set the clock of the open question: it has been in front of the candidate for
        ``seconds`` (a web page measures that, since its session is opened only for a turn), so
        the next answer records them; None stops the clock without recording anything."""
        self._shown = None if seconds is None else time.monotonic() - max(0.0, seconds)

    def _clock_out(self) -> None:
        spent = self._spent()
        if spent is not None:
            with suppress(StorageUnavailable):  # closing must not fail on an absent server
                self.engine.store.add_time(self.id, *spent)

    def times(self) -> dict[str, float]:
        """Active seconds per step so far."""
        return self.engine.store.times(self.id)

    def save_draft(self, text: str) -> None:
        """Keep the answer being typed (Ctrl-C); "" forgets it."""
        self.engine.store.save_draft(self.id, text)

    def draft(self) -> str | None:
        return self.engine.store.draft(self.id)

    def run(self, value: Any, on_event: OnEvent | None = None, journaled: bool = False) -> None:
        """Advance the graph with ``value`` until it waits for the candidate or ends."""
        self._snap = None
        client = self.engine.client
        # A candidate turn: background judging waits until it is served (scheduler.py).
        with client.scheduler.foreground() if client is not None else nullcontext(), \
                self.scoring.turn():
            # Speech events reach on_event straight from the step node (Context.events), so
            # the node runs on this thread; a custom stream mode would hand it to a new worker
            # thread each turn (and another to wait on the stream).
            self.context.events = on_event
            values: dict[str, Any] | None = None
            interrupts: tuple[Any, ...] = ()
            # Saved once, when the run stops to wait (or ends, or fails): one checkpoint and
            # one set of writes a turn, where durability "sync" also saved each task's writes
            # as it finished (three put_writes a turn). A run killed midway is redone from the
            # journaled input (recover()), so those in-between saves kept nothing it needs;
            # they cost ~0.3 ms at the median turn and most of its slow tail.
            try:
                for chunk in self.engine.graph.stream(
                        value, self.config, context=self.context, stream_mode="values",
                        durability="exit"):
                    if not isinstance(chunk, dict):
                        continue
                    if "__interrupt__" in chunk:  # when the run stops to wait
                        chunk = dict(chunk)
                        interrupts = tuple(chunk.pop("__interrupt__"))
                        if not chunk:
                            continue
                    values = chunk
            finally:
                self.context.events = None
        # What the run ended with, from its own stream: the state is not read back from the
        # checkpointer after every turn (get_state() stays the way for anything else).
        self._snap = (None if values is None else
                      RunEnd(values, (self.step_of(values),) if interrupts else (), interrupts))
        self._sync_row(clear_journal=journaled)
        if self._lock.held:
            self._shown = time.monotonic()  # the reply, ending with the next question, is out

    def _candidate_turns(self) -> int:
        return sum(1 for t in self.state().get("turns", []) if t["role"] == "candidate")

    def submit(self, value: str | dict[str, str], on_event: OnEvent | None = None,
               on_saved: Callable[[], None] | None = None) -> None:
        """Send the candidate's input: text, {"answer": text} or {"command": name}. The graph
        applies agent/commands.py's rules to it (a refused input changes nothing) and scores
        finished steps in the background while the next question is on screen. ``on_saved`` is
        called once the input is journaled (safe from a crash), before the graph runs.

        If the database server goes away during the turn, the turn waits for it (see
        :meth:`_guarded`) and then finishes from what was saved: the journaled answer is
        replayed or the interrupted run continued; an answer that never reached the journal is
        sent again. Never twice: the checkpoint's candidate turns say whether it was applied."""
        seq = self._candidate_turns()
        text = (value if isinstance(value, str) else str(value["answer"]) if "answer" in value
                else "/" + str(value.get("command", "")))
        spent = self._spent()
        saved = False

        def attempt(retrying: bool) -> None:
            nonlocal saved
            if retrying:
                self._recover(on_event)
                if self._candidate_turns() > seq or (saved and self.engine.store.journaled(
                        self.id) is None):
                    return  # the journaled answer was replayed, or the run finished it
            # The active time goes in with the answer's first successful journal write only.
            self.engine.store.journal(self.id, seq, text, None if saved else spent)
            if not saved and on_saved is not None:
                on_saved()
            saved = True
            self.run(Command(resume=value), on_event, journaled=True)

        self._guarded(attempt, on_event, lambda: saved)

    def answer(self, text: str, on_event: OnEvent | None = None) -> None:
        self.submit({"answer": text}, on_event)

    def command(self, name: str, on_event: OnEvent | None = None) -> None:
        self.submit({"command": name}, on_event)

    def recover(self, on_event: OnEvent | None = None) -> bool:
        """Finish whatever a killed or interrupted process left undone. True if anything ran.

        Two things can be left: a run that stopped between checkpoints (the graph is neither
        waiting for the candidate nor finished; LangGraph may even hold the interrupted node's
        finished writes, which continuing applies), and an answer journaled but never recorded.
        """
        return self._guarded(lambda _retrying: self._recover(on_event), on_event, lambda: True)

    def _recover(self, on_event: OnEvent | None) -> bool:
        self._snap = None
        replayed = False
        snap = self.snapshot()
        if not snap.interrupts and snap.values.get("status") != "completed":
            self.run(None, on_event)
            replayed = True
        journaled = self.engine.store.journaled(self.id)
        if journaled is not None:
            seq, text = journaled
            if seq == self._candidate_turns() and self.waiting():
                # Journaled already (with its time): the graph reads the text as submit's.
                self.run(Command(resume=text), on_event, journaled=True)
                replayed = True
            else:
                self.engine.store.clear_journal(self.id)
        self._sync_row()
        return replayed

    # -- when the database server goes away ------------------------------------------------------

    def _guarded(self, attempt: Callable[[bool], T], on_event: OnEvent | None,
                 answer_saved: Callable[[], bool]) -> T:
        """``attempt(retrying)`` until it completes. While the database server is unreachable,
        wait for it (at most the storage's ``wait_s``, announced once through ``on_event``),
        then try again with ``retrying`` True. Before each attempt the session lock is checked:
        a restarted server has dropped it, and writing without it could race another process.
        Gives up with :class:`StorageUnavailable` (``answer_saved`` says whether the answer
        reached the journal); any other error propagates as it is."""
        store = self.engine.store
        deadline: float | None = None
        delay = 0.1
        while True:
            try:
                self._lock.check()
                result = attempt(deadline is not None)
                if deadline is not None and on_event is not None:
                    on_event({"storage": "back"})
                return result
            except Exception as e:
                gone = store.unavailable(e)
                if gone is None:
                    raise
                self._snap = None
                if deadline is None:
                    deadline = time.monotonic() + store.wait_s
                    if on_event is not None and store.wait_s > 0:
                        on_event({"storage": "lost", "message": str(gone),
                                  "wait_s": store.wait_s})
                while True:  # until the server answers again
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise StorageUnavailable(
                            f"{gone}; gave up after waiting {store.wait_s:g} s",
                            answer_saved=answer_saved()) from None
                    time.sleep(min(delay, left))
                    delay = min(delay * 2, 2.0)
                    try:
                        store.ping()
                        break
                    except StorageUnavailable as still:
                        gone = still  # the latest reason is the one to give

    def report(self, progress: Callable[[str], None] | None = None, *,
               rescore: bool = False) -> Report:
        """The feedback report (see SessionScoring.report): stored scores reused, only what is
        missing scored now, or every step again with ``rescore``. The result is kept for
        `interviewer progress`."""
        from agent.practice.summary import summary

        row = self.engine.store.get_session(self.id)
        report = self.scoring.report(self.state(), mode=row.mode if row else None,
                                     progress=progress, rescore=rescore, times=self.times(),
                                     interviewer_fallbacks=self.interviewer_fallbacks())
        self.engine.store.put_result(self.id, summary(report))
        return report

    def interviewer_fallbacks(self) -> int:
        """Interviewer lines where the model's words were replaced by the standard text (the
        call log's "fallback ...: <reason>" entries)."""
        return sum(1 for c in self.engine.store.calls(self.id)
                   if c["purpose"] == "interviewer" and (c["error"] or "").startswith(
                       "fallback"))

    def _sync_row(self, clear_journal: bool = False) -> None:
        """Refresh the sessions row (and clear the journal: the answer is checkpointed now),
        in one transaction."""
        state = self.state()
        status = "completed" if state.get("status") == "completed" else "in_progress"
        self.engine.store.update_session(
            self.id, status=status, step=str(state.get("step", "clarify")),
            answered=answered_count(state), clear_journal=clear_journal,
        )

