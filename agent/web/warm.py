"""Warm-up at start: one offline interview on a throwaway database, and each case's clarify
matching, so the first candidate's first turns do not pay for lazy imports and compiled
patterns (about 0.3-0.7 s each on a busy 2-core machine; 10 ms once warm). Runs in a thread
after the server is up; it never touches the real database or a model. A server stopping while
it runs tells it to stop and waits for it (a thread killed at interpreter exit inside LangGraph
or the embedding model's tokenizer can abort the process)."""

from __future__ import annotations

import gc
import logging
import tempfile
import threading
from pathlib import Path

log = logging.getLogger("interviewer.web")

_ANSWERS = (
    "Is this training or inference? What is the QPS and the latency target?",
    "I'll assume real-time inference with a 500 ms p99 target.",
    "Autoscaling lags the traffic spikes and replicas load weights slowly.",
    "/next",
    "Goal: p99 under 500 ms at peak and GPU cost per request flat.",
)


class Stopped(Exception):
    """The server is stopping: the warm-up ends early."""


def warm_up(stop: threading.Event | None = None) -> None:
    def check() -> None:
        if stop is not None and stop.is_set():
            raise Stopped

    from agent.cases import default_cases
    from agent.config import Settings
    from agent.engine import Engine
    from agent.graph import Voice
    from agent.offline import OfflineInterviewer
    from agent.report import to_json
    from agent.report_html import to_html

    cases = default_cases()
    interviewer = OfflineInterviewer()
    for case in cases.values():
        check()
        interviewer.clarify(case, _ANSWERS[0], [], Voice())  # outside a run: speaks nowhere
    with tempfile.TemporaryDirectory(prefix="interviewer-warm-") as tmp, \
            Engine(Settings(), db=Path(tmp) / "warm.db") as engine:
        session = engine.start(next(iter(cases.values())))
        for text in _ANSWERS:
            check()
            if text.startswith("/"):
                session.command(text[1:])
            else:
                session.answer(text)
        check()
        report = session.report()
        to_json(report)
        to_html(report)
        session.close()
    # What the warm-up loaded (modules, compiled patterns, the embedding model, rubrics) stays
    # for the server's life: out of the cyclic collector's care, a full collection during a
    # candidate's turn walks only what turns made (bench/bench_scoring.py: ~0.1 s before).
    gc.freeze()


class WarmUp:
    """The warm-up thread, and a way to stop it: ``stop()`` asks it to end at its next step and
    waits for it."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="warm-up")
        self.thread.start()

    def _run(self) -> None:
        try:
            warm_up(self._stop)
        except Stopped:
            pass
        except Exception as e:  # a warm-up is an optimisation: never fatal, but say so
            log.warning("warm-up skipped (%s: %s)", type(e).__name__, e)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self.thread.join(timeout)


def start_warm_up() -> WarmUp:
    return WarmUp()
