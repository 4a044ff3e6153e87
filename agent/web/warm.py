"""Warm-up at start: one offline interview on a throwaway database, and each case's clarify
matching, so the first candidate's first turns do not pay for lazy imports and compiled
patterns (about 0.3-0.7 s each on a busy 2-core machine; 10 ms once warm). Runs in a daemon
thread after the server is up; it never touches the real database or a model."""

from __future__ import annotations

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


def warm_up() -> None:
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
        interviewer.clarify(case, _ANSWERS[0], [], Voice())  # outside a run: speaks nowhere
    with tempfile.TemporaryDirectory(prefix="interviewer-warm-") as tmp, \
            Engine(Settings(), db=Path(tmp) / "warm.db") as engine:
        session = engine.start(next(iter(cases.values())))
        for text in _ANSWERS:
            if text.startswith("/"):
                session.command(text[1:])
            else:
                session.answer(text)
        report = session.report()
        to_json(report)
        to_html(report)
        session.close()


def start_warm_up() -> threading.Thread:
    def run() -> None:
        try:
            warm_up()
        except Exception as e:  # a warm-up is an optimisation: never fatal, but say so
            log.warning("warm-up skipped (%s: %s)", type(e).__name__, e)

    thread = threading.Thread(target=run, name="warm-up", daemon=True)
    thread.start()
    return thread
