"""The model-call cache (SQLite), for evals: record model replies once, replay them offline.

The key is the model, every generation parameter (temperature, seed, token limits, response
schema) and the messages, so a changed prompt or rubric misses. Modes:
  off     never read or write;
  live    answer from the cache when possible, call the endpoint otherwise, store new replies;
  record  always call the endpoint and store (overwrite) the reply;
  replay  answer only from the cache; a miss is an error naming what is missing, and the
          network is never touched.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Literal

from agent.store import StoreError

CacheMode = Literal["off", "live", "record", "replay"]
CACHE_MODES: tuple[str, ...] = ("off", "live", "record", "replay")


class CacheMiss(LookupError):
    """Replay mode found no recorded reply; ``str()`` says which call and how to record it."""


class CallCache:
    def __init__(self, path: Path, mode: CacheMode) -> None:
        if mode not in CACHE_MODES:
            raise ValueError(f"--cache: unknown mode {mode!r} (choose from {CACHE_MODES})")
        self.path, self.mode = path, mode
        self.hits = self.misses = self.stores = 0
        self._lock = threading.Lock()
        if mode == "replay" and not path.is_file():
            raise CacheMiss(f"--cache replay: no recording at {path}; run once with "
                            "--cache record against an endpoint first")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, value TEXT NOT NULL, "
                "describe TEXT, created REAL NOT NULL)")
        except (sqlite3.Error, OSError) as e:
            raise StoreError(f"cache {path}: {e}") from None

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    def lookup(self, key: str, describe: str) -> str | None:
        """The recorded reply, or None when the endpoint should be called."""
        if self.mode in ("off", "record"):
            return None
        with self._lock:
            row = self.conn.execute("SELECT value FROM replies WHERE key=?", (key,)).fetchone()
        if row is not None:
            self.hits += 1
            return str(row[0])
        self.misses += 1
        if self.mode == "replay":
            raise CacheMiss(
                f"replay: no recorded reply for the {describe} (key {key[:12]}) in {self.path}; "
                "the prompt, rubric, model or parameters changed since recording - record "
                "again with --cache record")
        return None

    def contains(self, key: str) -> bool:
        """Whether a reply is recorded for ``key`` (not counted as a hit or a miss)."""
        with self._lock:
            return self.conn.execute("SELECT 1 FROM replies WHERE key=?", (key,)).fetchone(
            ) is not None

    def store(self, key: str, value: str, describe: str = "") -> None:
        if self.mode in ("off", "replay"):
            return
        with self._lock:
            self.conn.execute("INSERT OR REPLACE INTO replies VALUES (?,?,?,?)",
                              (key, value, describe, time.time()))
            self.stores += 1

    def stats(self) -> dict[str, int | str]:
        return {"mode": self.mode, "hits": self.hits, "misses": self.misses,
                "stores": self.stores}
