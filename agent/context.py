"""What the interview graph runs with (Context), and the defaults a served graph uses.

The engine builds a Context per session: its model client, its storage behind the scoring.
A graph served by ``langgraph dev`` (or driven with no context at all) gets the process's
defaults instead: the endpoint from INTERVIEWER_BASE_URL & co. (offline when none is set), and
scoring in memory, one SessionScoring per thread, so coach feedback, hints and the report in the
final state work there too, with the same code as the terminal.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from agent.cases import Case, default_cases
from agent.config import ConfigError, Settings, resolve
from agent.feedback import SessionScoring, make_scorer
from agent.model.client import ModelClient
from agent.policy import Interviewer
from agent.rubrics import RubricSet, default_rubrics
from agent.scorers import Scorer

log = logging.getLogger("interviewer")

ScoringFor = Callable[[str, Case], SessionScoring]
"""(session or thread id, its case) -> that interview's scoring."""


def engine_label(settings: Settings | None) -> str:
    """Who interviews, as shown in the sessions list and the interrupt payload."""
    return "offline" if settings is None or settings.offline else f"llm:{settings.model}"


class ThreadScoring:
    """Scoring for threads with no store behind them: one SessionScoring per thread, kept in
    memory (the report lands in the thread's final state), all sharing one worker pool. Past
    ``limit`` threads the least recently used is forgotten (a report scores what is missing)."""

    def __init__(self, scorer: Scorer, rubrics: RubricSet, limit: int = 256) -> None:
        self.scorer, self.rubrics, self.limit = scorer, rubrics, limit
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="scoring")
        self._threads: OrderedDict[str, SessionScoring] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, thread_id: str, case: Case) -> SessionScoring:
        with self._lock:
            scoring = self._threads.get(thread_id)
            if scoring is None or scoring.case.id != case.id:
                scoring = SessionScoring(None, self.scorer, case, thread_id, self.rubrics,
                                         pool=self._pool)
                self._threads[thread_id] = scoring
                while len(self._threads) > self.limit:
                    self._threads.popitem(last=False)
            self._threads.move_to_end(thread_id)
            return scoring


class Served:
    """The defaults of a graph run without a context of its own, built once per process from
    the environment. A configuration error is kept, not raised: every run then fails with it
    (readable through the server), and the start-up log says so."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.error: ConfigError | None = None
        self.settings: Settings | None = None
        try:
            self.settings = resolve(env=None if env is None else dict(env))
        except ConfigError as e:
            self.error = e
        self.client = (ModelClient(self.settings)
                       if self.settings is not None and not self.settings.offline else None)
        self.engine = engine_label(self.settings)
        self.rubrics = default_rubrics()
        self.scoring = ThreadScoring(make_scorer(self.client, self.rubrics), self.rubrics)
        if self.client is None:
            from agent.offline import OfflineInterviewer

            self._interviewer: Interviewer = OfflineInterviewer()
        else:
            from agent.llm_policy import LLMInterviewer

            self._interviewer = LLMInterviewer(self.client)

    def interviewer(self) -> Interviewer:
        if self.error is not None:
            raise self.error
        return self._interviewer

    def describe(self) -> str:
        """The start-up line: which mode the served interview runs in, and why."""
        if self.error is not None:
            return (f"interviewer: cannot start: {self.error}. Every run fails with this "
                    "message until it is fixed.")
        if self.settings is None or self.settings.offline:
            return ("interviewer: OFFLINE mode (no model endpoint configured): authored questions "
                    "and rubric-signal scoring. Set INTERVIEWER_BASE_URL and INTERVIEWER_MODEL "
                    "(and INTERVIEWER_API_KEY) in the environment or in .env to use a model.")
        return f"interviewer: model mode: {self.settings.describe()} (interviewer and judge)"


@cache
def served() -> Served:
    return Served()


@dataclass(kw_only=True)
class Context:
    """Run-time dependencies of the graph (not checkpointed). Every field has a default (the
    served defaults), because ``langgraph dev`` builds the context from defaults."""

    interviewer: Interviewer = field(default_factory=lambda: served().interviewer())
    engine: str = field(default_factory=lambda: served().engine)
    """Who interviews: "offline" or "llm:<model>"; goes with ``interviewer``."""
    rubrics: RubricSet = field(default_factory=default_rubrics)
    cases: Callable[[], Mapping[str, Case]] = default_cases
    scoring: ScoringFor | None = field(default_factory=lambda: served().scoring)
    """The interview's scoring: background scores, coach feedback, hints and the final report.
    None: none of those (the eval harness drives the graph that way)."""
    events: Callable[[dict[str, Any]], None] | None = None
    """Where the interviewer's speech events go when the driver takes them itself (the engine
    sets it for each run, then streams no custom mode, so LangGraph runs the step node on the
    driver's own thread instead of handing it to a worker thread per turn). None: LangGraph's
    custom stream, which clients of the served graph read."""
    report_in_state: bool = True
    """Put the report in the final state (clients of the served graph read it there). False: the
    driver builds it after the run instead (the terminal with a model judge, which says which
    step is being judged while it waits and answers Ctrl-C with the command that finishes it)."""
