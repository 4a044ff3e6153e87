"""Who goes first when one endpoint serves the interviewer and background judging.

Local servers (llama.cpp, Ollama, LM Studio) often serve one request at a time, so a judge
call queued in front of the interviewer's makes the candidate wait for it. The rules:

- the interviewer's calls always go at once (they are what the candidate is waiting for);
- background calls (judging finished steps) wait while a candidate turn is being served
  (``foreground()``, held for the whole turn, so they cannot slip in between its calls), and
  at most ``max_concurrency`` of them are in flight at once;
- each background *request* takes a slot, not each task, so a turn that arrives between a
  judge call's attempts goes first.

One scheduler per endpoint in a process (``for_endpoint``), shared by every client of it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Scheduler:
    def __init__(self, max_concurrency: int = 1) -> None:
        self.max_concurrency = max(1, max_concurrency)
        self._cond = threading.Condition()
        self._foreground = 0
        self._background = 0
        self._mode = threading.local()
        #: Counters for tests and benchmarks.
        self.waited = 0
        self.peak_background = 0

    def set_max_concurrency(self, n: int) -> None:
        """Bound background requests in flight to ``n`` (at least 1) from now on."""
        with self._cond:
            self.max_concurrency = max(1, n)
            self._cond.notify_all()

    # -- marking threads ------------------------------------------------------------------------

    @contextmanager
    def background(self) -> Iterator[None]:
        """Run the block as background work: every request it makes takes a slot."""
        before = getattr(self._mode, "background", False)
        self._mode.background = True
        try:
            yield
        finally:
            self._mode.background = before

    def is_background(self) -> bool:
        return bool(getattr(self._mode, "background", False))

    @contextmanager
    def foreground(self) -> Iterator[None]:
        """A candidate turn is being served: background requests do not start meanwhile."""
        with self._cond:
            self._foreground += 1
        try:
            yield
        finally:
            with self._cond:
                self._foreground -= 1
                self._cond.notify_all()

    @contextmanager
    def turn_waits(self) -> Iterator[None]:
        """The candidate turn being served now waits for background work itself (the report
        at the end of the interview waits for the last scores): background requests may go
        meanwhile, or the turn and its scores would wait for each other for ever."""
        with self._cond:
            took = self._foreground > 0
            if took:
                self._foreground -= 1
                self._cond.notify_all()
        try:
            yield
        finally:
            if took:
                with self._cond:
                    self._foreground += 1

    # -- requests -------------------------------------------------------------------------------

    @contextmanager
    def request(self) -> Iterator[None]:
        """Hold a slot for one HTTP request (and the reading of its reply) when the calling
        thread is background work; interviewer requests pass straight through."""
        if not self.is_background():
            yield
            return
        with self._cond:
            if self._foreground or self._background >= self.max_concurrency:
                self.waited += 1
            self._cond.wait_for(lambda: not self._foreground
                                and self._background < self.max_concurrency)
            self._background += 1
            self.peak_background = max(self.peak_background, self._background)
        try:
            yield
        finally:
            with self._cond:
                self._background -= 1
                self._cond.notify_all()


_registry: dict[str, Scheduler] = {}
_registry_lock = threading.Lock()


def for_endpoint(base_url: str, max_concurrency: int) -> Scheduler:
    """The process's scheduler for ``base_url`` (its bound is the latest one asked for)."""
    with _registry_lock:
        scheduler = _registry.get(base_url)
        if scheduler is None:
            scheduler = _registry[base_url] = Scheduler(max_concurrency)
        else:
            scheduler.set_max_concurrency(max_concurrency)
        return scheduler
