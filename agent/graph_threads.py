"""LangGraph's worker threads, kept from one run to the next.

Each run of a compiled graph saves its checkpoints on a thread pool, and LangGraph makes a new
pool (langchain_core's ``get_executor_for_config``) for every run, so every candidate turn
started fresh threads and waited for them to come up: about a millisecond of a turn's few,
more on a loaded machine. :func:`install` gives each thread that runs graphs one pool of its
own, kept for the life of that thread (a pool shared by all threads could fill with one run's
waiting tasks and starve another). A pool goes when its thread ends: its workers exit once the
pool is garbage-collected. A run configured with ``max_concurrency`` gets a fresh pool as before.

This replaces a name in a private LangGraph module. If an upgrade moves it, :func:`install`
does nothing (runs work as before, only slower) and returns False, which
``tests/test_engine_threads.py`` turns into a failure.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langchain_core.runnables.config import ContextThreadPoolExecutor

_local = threading.local()
_installed = False

#: Threads a run may use at once: checkpoint and write saves, plus a node and a stream waiter
#: when a client streams custom events (served graphs); more are queued.
WORKERS = 4


def _pool() -> ContextThreadPoolExecutor:
    pool: ContextThreadPoolExecutor | None = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = ContextThreadPoolExecutor(
            max_workers=WORKERS, thread_name_prefix=f"graph-{threading.get_ident()}")
    return pool


def install() -> bool:
    """Make LangGraph's sync runs use the calling thread's kept pool. Idempotent."""
    global _installed
    if _installed:
        return True
    try:
        from langgraph.pregel import _executor
    except ImportError:  # pragma: no cover - a LangGraph that moved the module
        return False
    fresh = getattr(_executor, "get_executor_for_config", None)
    if fresh is None or not hasattr(_executor, "BackgroundExecutor"):
        return False

    @contextmanager
    def kept(config: Any) -> Iterator[ContextThreadPoolExecutor]:
        if (config or {}).get("max_concurrency") is not None:
            with fresh(config) as pool:
                yield pool
        else:
            yield _pool()  # not shut down on exit: BackgroundExecutor waits for its own tasks

    setattr(_executor, "get_executor_for_config", kept)  # noqa: B010 (a private name)
    _installed = True
    return True
