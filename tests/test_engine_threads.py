"""Where a candidate turn's work runs (issue 15's time per turn): the step node on the caller's
own thread, LangGraph's checkpoint saves on worker threads kept from one run to the next, and
background scoring only once the turn is over."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from agent import graph_threads
from agent.cases import get_case
from agent.config import Settings
from agent.engine import Engine, RunEnd
from agent.feedback import SessionScoring, make_scorer
from agent.state import InterviewState

CASE = "fintech-p99-spikes"


def _graph_threads() -> set[int]:
    return {t.ident for t in threading.enumerate()
            if t.name.startswith("graph-") and t.ident is not None}


def test_langgraph_runs_keep_their_worker_threads(home: Path) -> None:
    # install() replaces a name in a private LangGraph module: if an upgrade moved it, this
    # fails instead of every turn quietly starting new threads again.
    assert graph_threads.install()
    with Engine(Settings()) as engine:
        session = engine.start(get_case(CASE))
        session.answer("Which customers are affected, and since when?")
        first = _graph_threads()
        for question in ("Is it every region?", "What does the contract promise?",
                         "How big is the team?", "When did it start?"):
            session.answer(question)
        later = _graph_threads()
        # The same threads go on serving (a busy moment may add one, up to the pool's size);
        # a pool per run would leave none of the first turn's threads alive.
        assert first and first <= later and len(later) <= graph_threads.WORKERS


def test_speech_events_come_from_the_callers_own_thread(home: Path) -> None:
    seen: list[tuple[int, dict[str, Any]]] = []
    with Engine(Settings()) as engine:
        session = engine.start(get_case(CASE))
        session.answer("Which customers are affected, and since when?",
                       on_event=lambda chunk: seen.append((threading.get_ident(), chunk)))
    says = [chunk["say"] for _, chunk in seen if "say" in chunk]
    assert says and "".join(says).strip()
    assert {ident for ident, _ in seen} == {threading.get_ident()}


def _finished_clarify() -> tuple[InterviewState, SessionScoring]:
    """A state whose clarify step is over, and a fresh scoring for it (nothing scored yet)."""
    with Engine(Settings()) as engine:
        session = engine.start(get_case(CASE))
        session.answer("Which customers are affected?")
        session.command("next")
        state = session.state()
    scoring = SessionScoring(None, make_scorer(None), get_case(CASE), "test")
    return state, scoring


def test_background_scores_wait_for_the_turn_to_end(home: Path) -> None:
    state, scoring = _finished_clarify()
    try:
        with scoring.turn():
            scoring.submit(state)
            pending = list(scoring._futures.values())
            assert pending
            time.sleep(0.3)
            assert not any(f.done() for f in pending)  # held back while the turn runs
        results = [f.result(timeout=30) for f in pending]
        assert [r.step for r in results] == ["clarify"]
    finally:
        scoring.close()


def test_a_turn_that_needs_a_held_score_gets_it(home: Path) -> None:
    # The closing report (or coach feedback) waits inside the turn for a score submitted in
    # that same turn: it must not wait for the turn to end.
    state, scoring = _finished_clarify()
    try:
        with scoring.turn():
            scoring.submit(state)
            assert scoring._futures
            score = scoring.result(state, "clarify")
        assert score.step == "clarify" and score.score is not None
        assert scoring.source["clarify"] == "scored"
    finally:
        scoring.close()


def test_a_turn_ends_with_the_state_the_checkpointer_holds(home: Path) -> None:
    # After a run the session keeps what the run's own stream ended with (RunEnd) instead of
    # reading the state back: it must be exactly what get_state() reads, every turn, commands
    # and refusals included, to the end of the interview.
    inputs = ["Which customers are affected, and since when?", "/help", "/repeat",
              "I'll assume the peak is the morning batch.", "/next",
              "Autoscaling lags the spikes and new replicas load weights slowly.", "/next",
              "", "/next", "/next", "/next", "/next", "/next", "/next"]
    turns = 0
    with Engine(Settings()) as engine:
        session = engine.start(get_case(CASE))
        for text in inputs:
            if session.finished():
                break
            if text.startswith("/"):
                session.command(text[1:])
            else:
                session.submit({"answer": text})
            mine = session.snapshot()
            assert isinstance(mine, RunEnd)
            real = engine.graph.get_state(session.config)
            assert mine.values == real.values, text
            assert mine.next == real.next, text
            assert [i.value for i in mine.interrupts] == [i.value for i in real.interrupts]
            turns += 1
        assert session.finished() and turns >= 10
