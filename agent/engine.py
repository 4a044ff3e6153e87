"""Running interviews: the database, the checkpointer, the graph and the model, wired together.

The terminal chat, the benchmark and the eval harness all drive sessions through this module.
An answer is written to a journal before the graph sees it, so a process killed at any moment
loses no answered turn: on the next open, a journaled answer the checkpoint does not hold yet is
submitted again.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command

from agent.cases import Case, get_case
from agent.config import Settings
from agent.feedback import SessionScoring, judge_model, make_scorer
from agent.graph import Context, build_graph, parse_resume
from agent.model.client import ModelClient
from agent.offline import OfflineInterviewer
from agent.policy import Interviewer
from agent.report import Report, ScorerInfo, build_report
from agent.rubrics import default_rubrics
from agent.scores import StepScore
from agent.state import InterviewState, Turn, answered_count, last_question
from agent.steps import STEPS
from agent.store import (
    SESSION_ID,
    SessionLock,
    Store,
    StoreError,
    bad_id_message,
    connect,
    no_session_message,
    normal_id,
)

Event = dict[str, Any]
OnEvent = Callable[[Event], None]


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


def initial_state(case: Case, mode: str, max_followups: int,
                  drill: str | None = None) -> InterviewState:
    """A new interview: the case prompt read out, clarify waiting for the first question. A
    drill of a later step starts at that step: the case prompt, what clarifying questions would
    have told the candidate (the fact sheet), and the step's opening question."""
    step = drill or "clarify"
    turns = [Turn(role="interviewer", step=step, kind="prompt", text=case.prompt.strip())]
    if drill and drill != "clarify":
        from agent.practice.drill import briefing, opener

        turns += [Turn(role="interviewer", step=step, kind="notice", text=briefing(case)),
                  Turn(role="interviewer", step=step, kind="opener", text=opener(step))]
    state: InterviewState = {
        "case_id": case.id, "mode": mode, "max_followups": max_followups,  # type: ignore[typeddict-item]
        "step": step, "status": "in_progress", "turns": turns, "followups": {}, "probed": {},
    }
    if drill:
        state["drill"] = drill
    return state


def new_session_id() -> str:
    return secrets.token_hex(4)


class Engine:
    """One database and one model endpoint (or none: offline)."""

    def __init__(self, settings: Settings, *, db: Path | None = None,
                 http_client: httpx.Client | None = None) -> None:
        self.settings = settings
        self.store = Store(db)
        self.home = self.store.path.parent
        try:
            self._conn = connect(self.store.path)
            self.saver = SqliteSaver(self._conn)
            self.saver.setup()
        except sqlite3.Error as e:
            raise StoreError(f"database {self.store.path}: {e}") from None
        self.client: ModelClient | None = None
        if not settings.offline:
            self.client = ModelClient(settings, recorder=self.store.log_call,
                                      http_client=http_client)
        self.graph = build_graph(checkpointer=self.saver)
        self.rubrics = default_rubrics()
        self._sessions: list[Session] = []

    @property
    def engine_label(self) -> str:
        return "offline" if self.client is None else f"llm:{self.settings.model}"

    def close(self) -> None:
        # Sessions first: their background scoring must finish before connections close.
        for session in list(self._sessions):
            session.close()
        if self.client is not None:
            self.client.close()
        self._conn.close()
        self.store.close()

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
        session.run(initial_state(case, mode, max_followups, drill))
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
            session.run(initial_state(session.case, row.mode,
                                      int(row.info.get("max_followups", 2)),
                                      row.info.get("drill")))
        return session


class Session:
    """One interview, locked to this process while open."""

    def __init__(self, engine: Engine, sid: str, case: Case) -> None:
        self.engine = engine
        self.id = sid
        self.case = case
        self.config: dict[str, Any] = {"configurable": {"thread_id": sid}}
        self._snap: Any = None
        self._lock = SessionLock(engine.home, sid)
        self.interviewer = make_interviewer(engine.settings, engine.client, sid)
        self.scoring = SessionScoring(
            engine.store, make_scorer(engine.client, engine.rubrics, sid), case, sid,
            engine.rubrics)
        self.context = Context(interviewer=self.interviewer, rubrics=engine.rubrics,
                               coach=self.scoring.coach, hint=self.scoring.hint)
        #: When the question now open was put in front of the candidate (monotonic seconds);
        #: None while nothing is open (read-only use, or before the session is locked).
        self._shown: float | None = None
        engine._sessions.append(self)

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

    def snapshot(self) -> Any:
        """The graph's state; read once after each run and kept until the next one."""
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
        return str(self.state().get("step", "clarify"))

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
        for mode, chunk in self.engine.graph.stream(
            value, self.config, context=self.context, stream_mode=["custom"],
            durability="sync",
        ):
            if mode == "custom" and on_event is not None:
                on_event(chunk)
        self._snap = None
        self._sync_row(clear_journal=journaled)
        if self._lock.held:
            self._shown = time.monotonic()  # the reply, ending with the next question, is out

    def _candidate_turns(self) -> int:
        return sum(1 for t in self.state().get("turns", []) if t["role"] == "candidate")

    def submit(self, value: dict[str, str], on_event: OnEvent | None = None,
               on_saved: Callable[[], None] | None = None) -> None:
        """Send an answer ({"answer": text}) or a command ({"command": name}). ``on_saved`` is
        called once the answer is journaled (safe from a crash), before the graph runs."""
        seq = self._candidate_turns()
        self.engine.store.journal(self.id, seq, value.get("answer") or "/" + value["command"],
                                  self._spent())
        if on_saved is not None:
            on_saved()
        self.run(Command(resume=value), on_event, journaled=True)
        # Score finished steps in the background while the next question is on screen.
        self.scoring.submit(self.state())

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
        replayed = False
        snap = self.snapshot()
        if not snap.interrupts and snap.values.get("status") != "completed":
            self.run(None, on_event)
            replayed = True
        journaled = self.engine.store.journaled(self.id)
        if journaled is not None:
            seq, text = journaled
            if seq == self._candidate_turns() and self.waiting():
                kind, said = parse_resume(text)
                value = {kind: said}
                self.submit(value, on_event)
                replayed = True
            else:
                self.engine.store.clear_journal(self.id)
        self._sync_row()
        return replayed

    def report(self, progress: Callable[[str], None] | None = None, *,
               rescore: bool = False) -> Report:
        """The feedback report; waits only for scores not finished in the background.

        Scores stored for the session are used (see SessionScoring.stored): a session judged by
        a model keeps its judge's scores even when no endpoint is configured now. Only steps
        with no stored score are scored now, by the current scorer. ``rescore`` scores every
        step again with the current scorer (the configured endpoint, or offline)."""
        from agent.practice.summary import summary
        from agent.practice.timebox import step_times
        from agent.report import ModelAnswer, TranscriptTurn

        state = self.state()
        scoring = self.scoring
        steps = scoring.all_results(state, progress, rescore=rescore)
        row = self.engine.store.get_session(self.id)
        drill = state.get("drill")
        practised: list[str] = [drill] if drill else list(STEPS)
        reached: set[str] = {t["step"] for t in state.get("turns", []) if t["step"] in STEPS}
        report = build_report(
            session=self.id, case=self.case.id, case_title=self.case.title,
            mode=row.mode if row else str(state.get("mode", "exam")),
            completed=state.get("status") == "completed",
            scorer=self._scorer_info(steps, rescore), steps=steps, drill=drill,
            model_answers=[ModelAnswer(step=s, points=list(self.case.strong_answer[s]))
                           for s in practised],
            time=step_times(self.case, self.times(), practised, reached),
            transcript=[TranscriptTurn(**t) for t in state.get("turns", [])],
        )
        self.engine.store.put_result(self.id, summary(report))
        return report

    def _scorer_info(self, steps: list[StepScore], rescore: bool) -> ScorerInfo:
        """What scored the report, and a note for the reader whenever that is not simply the
        current scorer scoring everything now."""
        from agent.judge import judge_prompt_version

        scoring, current = self.scoring, self.scoring.scorer.name
        rubrics = self.engine.rubrics.version
        judged = [s for s in steps if scoring.source.get(s.step) in ("stored", "scored")]
        kinds = {s.scorer for s in judged} or {current}
        kind = kinds.pop() if len(kinds) == 1 else "mixed"
        models: dict[str, None] = {}
        prompts: dict[str, None] = {}
        for s in judged:
            model, prompt = judge_model(s.version)
            if model is not None and prompt is not None:
                models[model] = None
                prompts[prompt] = None
        if current == "llm" and not models:
            models[str(self.engine.settings.model)] = None
            prompts[judge_prompt_version()] = None
        notes: list[str] = []
        stored_llm = [s for s in judged if s.scorer == "llm"
                      and scoring.source.get(s.step) == "stored"]
        offline_now = [s for s in judged if s.scorer == "offline"
                       and scoring.source.get(s.step) == "scored"]
        stored_models = ", ".join(dict.fromkeys(
            m for m in (judge_model(s.version)[0] for s in stored_llm) if m))
        if rescore:
            notes.append("Re-scored now with the "
                         + ("LLM judge (" + str(self.engine.settings.model) + ")."
                            if current == "llm" else "offline scorer."))
        elif current == "offline" and stored_llm:
            notes.append(f"Judge scores stored during the session ({stored_models}) are shown; "
                         "no model endpoint is configured now, so they were not re-scored.")
            if offline_now:
                names = ", ".join(s.step for s in offline_now)
                notes.append(f"No judge score was stored for {names}: scored offline now. To "
                             f"judge them with the model: interviewer report {self.id} "
                             "--base-url URL --model NAME")
        elif current == "llm" and stored_llm and stored_models != self.engine.settings.model:
            notes.append(f"Scores judged earlier by {stored_models} are reused; re-score with "
                         f"--rescore to judge every step with {self.engine.settings.model}.")
        llm = kind != "offline"
        from agent.agreement import agreement_for, describe

        agreement = None if kind == "mixed" else describe(
            agreement_for(kind, next(iter(models), None)), rubrics)
        return ScorerInfo(type=kind,  # type: ignore[arg-type]
                          model=(", ".join(models) or None) if llm else None,
                          prompts=(", ".join(prompts) or None) if llm else None,
                          rubrics=rubrics, notes=notes, agreement=agreement)

    def _sync_row(self, clear_journal: bool = False) -> None:
        """Refresh the sessions row (and clear the journal: the answer is checkpointed now),
        in one transaction."""
        state = self.state()
        status = "completed" if state.get("status") == "completed" else "in_progress"
        self.engine.store.update_session(
            self.id, status=status, step=str(state.get("step", "clarify")),
            answered=answered_count(state), clear_journal=clear_journal,
        )

