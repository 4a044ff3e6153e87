"""Offline scoring spread over processes, for datasets large enough to pay for them.

The offline scorer is pure CPU-bound Python, so threads cannot run it in parallel; processes
can. Each worker builds the same scorer the run uses (``OfflineScorer(rubrics)``, whatever it is
on this commit) from the run's rubrics and cases, ignores Ctrl-C (the main process handles it
and saves what finished), and scores chunks of tasks sent with their transcripts, so no worker
reads or validates the dataset again. Results come back as the same ``StepScore.model_dump()``
dicts an in-process run produces.

On Linux, when this process runs no other thread at that moment, workers are forked: they
start in milliseconds and inherit the run's scorer with its caches already warm (the first
tasks of a cold scorer are many times slower than the rest). ``Run`` pauses its own progress
thread around the fork and starts its background import only afterwards. Otherwise (another
platform, or a thread that cannot be paused) workers come from a fork server or are spawned:
each then pays an interpreter start, the scorer's imports and its warm-up, so ``Run`` scores
in-process first and starts a pool only when the rest of the work is estimated to take longer.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.cases import Case
    from agent.rubrics import RubricSet
    from agent.scorers import Scorer
    from evals.dataset import Interview

Task = tuple[str, str, int]  # item id, step, repeat
#: task, case id, the recorded interview: the worker reads the step's turns and what the
#: candidate had been told before the step from it (in parallel, not in the parent before the
#: pool starts; pickled once per chunk however many of its steps the chunk holds)
Job = tuple[Task, str, "Interview"]
Outcome = tuple[Task, "dict[str, Any] | None", "str | None"]  # task, result, error

_scorer: Scorer | None = None
_cases: dict[str, Case] = {}


def cpu_count() -> int:
    """CPUs this process may run on (the affinity mask, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _init(rubrics: RubricSet | None, cases: dict[str, Case] | None) -> None:
    """Worker start-up. Forked workers already hold the parent's scorer (``rubrics`` None)."""
    global _scorer, _cases
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the run and saves it
    if rubrics is not None and cases is not None:
        from agent.scorers import OfflineScorer

        _scorer, _cases = OfflineScorer(rubrics), cases
    # What the worker holds from here to its end (modules, rubrics, cases: inherited when
    # forked) leaves the cyclic collector's care: a full collection while scoring then walks
    # only what scoring made (bench/bench_scoring.py: one took ~0.1 s inside a step).
    gc.freeze()


def score_jobs(jobs: Sequence[Job]) -> list[Outcome]:
    """Score a chunk in a worker. An OSError (a data file that vanished) fails its task, as
    in-process; anything else is a bug and fails the run with its traceback."""
    from evals.runner import step_turns, told_before

    assert _scorer is not None, "worker not initialised"
    out: list[Outcome] = []
    for task, case_id, item in jobs:
        case, step = _cases[case_id], task[1]
        try:
            result = _scorer.score_step(case, step, step_turns(item, step),
                                        told_before(item, step, case)).model_dump()
            out.append((task, result, None))
        except OSError as e:
            out.append((task, None, str(e)))
    return out


def can_fork() -> bool:
    """Forking is safe here: Linux (macOS system libraries are not fork-safe), and no other
    thread that could hold a lock the child would inherit."""
    return sys.platform.startswith("linux") and threading.active_count() == 1


def _context(fork: bool) -> Any:
    methods = multiprocessing.get_all_start_methods()
    if fork:
        return multiprocessing.get_context("fork")
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        # Imported once in the server, so every forked worker starts with them loaded.
        ctx.set_forkserver_preload(["agent.scorers", "evals.parallel", "evals.runner"])
    return ctx


class Pool:
    """``with Pool(n, scorer, rubrics, cases) as pool: for outcome in pool.run(chunks): ...``

    Every worker is started here, before this returns (so a caller that paused its threads
    may resume them right after). ``forked`` says how they were started."""

    def __init__(self, workers: int, scorer: Scorer, rubrics: RubricSet,
                 cases: dict[str, Case]) -> None:
        global _scorer, _cases
        self.workers = workers
        self.forked = can_fork()
        if self.forked:
            _scorer, _cases = scorer, cases  # inherited by the children
            initargs: tuple[Any, Any] = (None, None)
        else:
            initargs = (rubrics, cases)
        self._executor = ProcessPoolExecutor(max_workers=workers,
                                             mp_context=_context(self.forked),
                                             initializer=_init, initargs=initargs)
        # Start the workers now: with fork all are launched on the first submit.
        self._executor.submit(len, ()).result()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        # On an error or Ctrl-C, queued chunks are dropped; running ones finish quickly
        # (a chunk is a fraction of a second of work) and their workers exit.
        self._executor.shutdown(wait=exc[0] is None, cancel_futures=True)

    def run(self, chunks: Sequence[Sequence[Job]]) -> Iterator[Outcome]:
        """Outcomes as chunks finish (not in order). At most 2 chunks per worker are queued at
        a time, so an interrupted run has little in flight."""
        pending: set[Future[list[Outcome]]] = set()
        todo = iter(chunks)
        for chunk in todo:
            pending.add(self._executor.submit(score_jobs, chunk))
            if len(pending) >= 2 * self.workers:
                break
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                yield from future.result()
                nxt = next(todo, None)
                if nxt is not None:
                    pending.add(self._executor.submit(score_jobs, nxt))


def chunked(jobs: Sequence[Job], size: int) -> list[list[Job]]:
    """Consecutive chunks of ``size`` jobs or a few more: a chunk ends only where an
    interview's jobs do (consecutive jobs are one interview's steps), so one worker scores all
    of an interview's steps after the first chunk. Its cross-cutting step and the premises of
    its later steps read the answers of the earlier ones, which that worker has then read
    already (a worker given only the later steps read every earlier sentence again)."""
    size = max(1, size)
    out: list[list[Job]] = []
    chunk: list[Job] = []
    for job in jobs:
        if len(chunk) >= size and job[0][0] != chunk[-1][0][0]:
            out.append(chunk)
            chunk = []
        chunk.append(job)
    if chunk:
        out.append(chunk)
    return out
