"""Progress of a long eval command on stderr: counts, failures and an ETA.

On a terminal it is a rich progress bar. Anywhere else (a CI log, a file, a pipe) a bar would
be escape-code noise and a silent command looks hung, so it prints a plain line every few
seconds instead (``INTERVIEWER_PROGRESS_INTERVAL``, default 5), plus one when the work starts
and one when it ends::

    eval run: 420/840 scoring tasks (50%), 2 failed, 12 s elapsed, ETA 12 s

``quiet`` turns both off. The ETA counts only work done by this process (a resumed run's earlier
part took no time here), so it is honest from the first finished task on.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

DEFAULT_INTERVAL = 5.0


def interval_from_env() -> float:
    """Seconds between plain progress lines; a bad value falls back to the default."""
    raw = os.environ.get("INTERVIEWER_PROGRESS_INTERVAL", "").strip()
    try:
        value = float(raw) if raw else DEFAULT_INTERVAL
    except ValueError:
        return DEFAULT_INTERVAL
    return value if math.isfinite(value) and value > 0 else DEFAULT_INTERVAL


def duration(seconds: float) -> str:
    """12 s, 3 min 05 s, 1 h 02 min: short enough for a progress line."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class Progress:
    """Use as a context manager; call ``advance`` as work finishes, ``update`` to set counts
    (e.g. from a provider's batch status) or a status word."""

    def __init__(self, label: str, total: int, *, completed: int = 0, unit: str = "tasks",
                 quiet: bool = False, stream: IO[str] | None = None,
                 interval: float | None = None, bar: bool | None = None) -> None:
        self.label, self.unit = label, unit
        self.total, self.completed, self.failed = total, completed, 0
        self.status = ""
        self.quiet = quiet
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval if interval is not None else interval_from_env()
        self.bar = (not quiet and _is_terminal(self.stream)) if bar is None else bar
        self._start_completed = completed
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._rich: Any = None
        self._task: Any = None

    # -- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> Progress:
        self._started = time.monotonic()
        if self.quiet:
            return self
        if self.bar:
            self._start_bar()
        else:
            self._line(first=True)
            self._start_ticker()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop_threads()
        if self._rich is None and not self.quiet and exc[0] is None:
            self._line(last=True)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No progress thread runs inside (e.g. while the process forks workers)."""
        running = self._ticker is not None or self._rich is not None
        self._stop_threads()
        try:
            yield
        finally:
            if running and not self.quiet:
                if self.bar:
                    self._rich.start()
                else:
                    self._start_ticker()

    def _start_ticker(self) -> None:
        self._stop.clear()
        self._ticker = threading.Thread(target=self._tick, name="eval-progress", daemon=True)
        self._ticker.start()

    def _stop_threads(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None
        if self._rich is not None:
            self._rich.stop()

    # -- updates --------------------------------------------------------------------------------

    def advance(self, n: int = 1, *, failed: int = 0) -> None:
        with self._lock:
            self.completed += n
            self.failed += failed
        self._refresh()

    def update(self, *, completed: int | None = None, failed: int | None = None,
               total: int | None = None, status: str | None = None) -> None:
        with self._lock:
            if total is not None:
                self.total = total
            if completed is not None:
                if completed < self.completed:  # a new phase counting from zero
                    self._start_completed = completed
                    self._started = time.monotonic()
                self.completed = completed
            if failed is not None:
                self.failed = failed
            if status is not None:
                self.status = status
        self._refresh()

    def eta(self) -> float | None:
        """Seconds left at this process's rate so far; None before anything finished here."""
        with self._lock:
            done = self.completed - self._start_completed
            left = self.total - self.completed
        elapsed = time.monotonic() - self._started
        if done <= 0 or elapsed <= 0:
            return None
        return max(0.0, left * elapsed / done)

    def text(self) -> str:
        """The plain progress line."""
        with self._lock:
            done, total, failed, status = self.completed, self.total, self.failed, self.status
        pct = f" ({100 * done // total}%)" if total else ""
        parts = [f"{done}/{total} {self.unit}{pct}", f"{failed} failed"]
        if status:
            parts.insert(0, status)
        parts.append(f"{duration(time.monotonic() - self._started)} elapsed")
        eta = self.eta()
        if done < total:
            parts.append("ETA unknown" if eta is None else f"ETA {duration(eta)}")
        return f"{self.label}: " + ", ".join(parts)

    # -- output ---------------------------------------------------------------------------------

    def _line(self, *, first: bool = False, last: bool = False) -> None:
        text = self.text()
        if last and self.completed >= self.total:
            text = text.replace(f"{self.completed}/{self.total} {self.unit}", f"done: "
                                f"{self.completed}/{self.total} {self.unit}", 1)
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stderr must not stop the work
            self._stop.set()

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            self._line()

    def _start_bar(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import (
            Progress as RichProgress,
        )

        self._rich = RichProgress(
            TextColumn("[progress.description]{task.description}"), BarColumn(),
            MofNCompleteColumn(), TextColumn("{task.fields[unit]}"),
            TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn(),
            TextColumn("ETA"), TimeRemainingColumn(),
            console=Console(file=self.stream), transient=False)
        self._rich.start()
        self._task = self._rich.add_task(self._description(), total=self.total,
                                         completed=self.completed, failed=self.failed,
                                         unit=self.unit)

    def _description(self) -> str:
        return f"{self.label} ({self.status})" if self.status else self.label

    def _refresh(self) -> None:
        if self._rich is None:
            return
        self._rich.update(self._task, total=self.total, completed=self.completed,
                          failed=self.failed, description=self._description())


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False
