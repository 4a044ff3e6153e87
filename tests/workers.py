"""Several ``interviewer serve`` worker processes over one database, and candidates driving
whole interviews through them over HTTP the way a browser page behind a load balancer does.
Used by tests/test_web_workers.py and bench/bench_workers.py.

- :class:`Worker`: one ``interviewer serve --port 0`` process with a home directory of its own
  (as on a machine of its own: nothing but the database and the environment is shared). It can
  be killed (SIGKILL) and started again on a new port.
- :class:`Balancer`: the workers as a load balancer sees them: each request goes to a random
  live one; a worker that refuses connections is skipped, as a balancer's health check would.
- :class:`Candidate`: one browser (one cookie jar, one CSRF token) holding one interview. It
  follows the page's rules (agent/web/static/interview.js): a reply cut off (the worker died)
  is caught up with ``/recover`` when the answer was saved, and the answer is sent again when
  it was not; a 409 ``busy`` or a 503 is waited out and tried again.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
_ENDPOINT_ENV = ("INTERVIEWER_BASE_URL", "INTERVIEWER_MODEL", "INTERVIEWER_API_KEY",
                 "INTERVIEWER_PROVIDER", "INTERVIEWER_API_KEY_FILE", "OPENAI_API_KEY",
                 "FIREWORKS_API_KEY", "OPENAI_BASE_URL", "INTERVIEWER_WEB_SECRET")


class Worker:
    """One ``interviewer serve`` process. ``database``: a PostgreSQL URL, or None for the
    SQLite file in the worker's home."""

    def __init__(self, home: Path, database: str | None, *args: str, **env: str) -> None:
        self.home, self.database, self.args = home, database, args
        self.extra_env = env
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.starts = 0
        self.log = home / "serve.log"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _ENDPOINT_ENV}
        env.pop("INTERVIEWER_DATABASE_URL", None)
        env.update({"INTERVIEWER_HOME": str(self.home), "PYTHONUNBUFFERED": "1"})
        if self.database is not None:
            env["INTERVIEWER_DATABASE_URL"] = self.database
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 90) -> Worker:
        self.url = ""  # not in the balancer until it says where it serves
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.log, "a", encoding="utf-8") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "agent", "serve", "--port", "0", *self.args], cwd=ROOT,
                env=self.env(), stdout=subprocess.PIPE, stderr=log, text=True)
        assert self.proc.stdout is not None
        line = _readline(self.proc, timeout)
        if "serving http://" not in line:
            self.kill()
            raise RuntimeError(f"the worker did not start: {line!r}\n{self.stderr()[-2000:]}")
        self.url = line.split("serving ", 1)[1].split(" ", 1)[0].rstrip("/")
        self.starts += 1
        return self

    @property
    def alive(self) -> bool:
        """Serving: started, not dead."""
        return bool(self.url) and self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """kill -9: no shutdown, no cleanup; the database server frees its locks."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.url = ""
        self._reap()

    def stop(self) -> None:
        """A service manager's stop (SIGTERM), then SIGKILL if it hangs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._reap()

    def _reap(self) -> None:
        if self.proc is not None:
            self.proc.wait(timeout=30)
            if self.proc.stdout is not None:
                self.proc.stdout.close()

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""


def _readline(proc: subprocess.Popen[str], timeout: float) -> str:
    """The process's first stdout line, or "" after ``timeout`` seconds."""
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.readline()  # type: ignore[union-attr]
                                                        ), daemon=True)
    reader.start()
    reader.join(timeout)
    return out[0] if out else ""


class Balancer:
    """Round-robin over the live workers, picking at random (seeded)."""

    def __init__(self, workers: list[Worker], seed: int = 0) -> None:
        self.workers = workers
        self._rng = random.Random(seed)
        self._mu = threading.Lock()

    def pick(self, avoid: Worker | None = None) -> Worker:
        deadline = time.monotonic() + 120
        while True:
            with self._mu:
                live = [w for w in self.workers if w.alive and w is not avoid]
                if not live and avoid is not None and avoid.alive:
                    live = [avoid]
                if live:
                    return self._rng.choice(live)
            if time.monotonic() > deadline:
                raise RuntimeError("no worker alive for 120 s")
            time.sleep(0.05)


class Refused(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.code = str(body.get("error", {}).get("code", ""))
        self.message = str(body.get("error", {}).get("message", ""))


#: Called in the candidate's thread for each SSE event of a turn: (candidate, worker, event,
#: data). A test's kill plan acts here (the worker streaming the turn, at that moment).
Hook = Callable[["Candidate", Worker, str, dict[str, Any]], None]


@dataclass
class Turn:
    """One answer or command, as the candidate saw it through."""

    text: str
    seconds: float = 0.0
    """From the first POST to the stream's ``done`` (retries included)."""
    attempts: int = 0
    cut_off: int = 0
    """Streams that broke (the worker died) before ``done``."""
    refusals: list[str] = field(default_factory=list)
    recovered: bool = False


class Candidate:
    """One browser holding one interview through a balancer."""

    def __init__(self, balancer: Balancer, hook: Hook | None = None, name: str = "") -> None:
        self.lb = balancer
        self.hook = hook
        self.name = name
        self.http = httpx.Client(timeout=httpx.Timeout(120, connect=5))
        self.csrf = ""
        self.sid = ""
        self.turns: list[Turn] = []
        self.seq = 0
        self.step = "clarify"
        self.status = "in_progress"
        self.messages: list[str] = []
        """What the candidate was told when something went wrong (refusals, notices)."""

    def close(self) -> None:
        self.http.close()

    # -- requests through the balancer ----------------------------------------------------------

    def _send(self, method: str, path: str, **kw: Any) -> tuple[Worker, httpx.Response]:
        """A plain request on a live worker; a worker that died (connection refused or reset
        before an answer) is skipped, as a balancer retries an idempotent request."""
        for _ in range(50):
            worker = self.lb.pick()
            try:
                r = self.http.request(method, worker.url + path, **kw)
            except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError):
                time.sleep(0.05)
                continue
            if r.status_code == 503:  # the database is away: the page says so, and tries again
                self.messages.append(r.text[:500])
                time.sleep(0.5)
                continue
            return worker, r
        raise RuntimeError(f"{method} {path}: no worker answered")

    def get(self, path: str) -> Any:
        _, r = self._send("GET", path)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        return r.json()

    def begin(self, case: str, mode: str = "exam") -> str:
        _, page = self._send("GET", "/")          # the owner cookie, from any worker
        assert page.status_code == 200
        self.csrf = self.get("/api/me")["csrf"]   # read back through (maybe) another worker
        _, r = self._send("POST", "/api/sessions", json={"case_id": case, "mode": mode},
                          headers={"X-CSRF-Token": self.csrf})
        assert r.status_code == 201, r.text
        self.sid = str(r.json()["id"])
        self._seen(self.view())
        return self.sid

    def view(self) -> dict[str, Any]:
        view: dict[str, Any] = self.get(f"/api/sessions/{self.sid}")
        return view

    def _stream(self, path: str, body: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
        """POST a turn (or /recover) to one worker and read its stream: ("done", state),
        ("error", data), ("cut", {}) when the stream broke, or raise Refused."""
        worker = self.lb.pick()
        state: dict[str, Any] = {}
        try:
            with self.http.stream("POST", f"{worker.url}/api/sessions/{self.sid}/{path}",
                                  json=body, headers={"X-CSRF-Token": self.csrf}) as r:
                if r.headers.get("content-type", "").startswith("application/json"):
                    r.read()
                    raise Refused(r.status_code, r.json())
                event = "message"
                for line in r.iter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        data = json.loads(line[5:].strip())
                        if self.hook is not None:
                            self.hook(self, worker, event, data)
                        if event == "notice" and data.get("text"):
                            self.messages.append(str(data["text"]))
                        if event == "state":
                            state = data
                        elif event == "done":
                            return "done", state
                        elif event == "error":
                            self.messages.append(str(data.get("message", "")))
                            return "error", data
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError):
            pass
        return "cut", {}

    # -- the page's rules -----------------------------------------------------------------------

    def _seen(self, view: dict[str, Any]) -> None:
        """What the page keeps of the session's latest state."""
        self.seq = int(view["seq"])
        self.step = str(view["step"]["id"])
        self.status = str(view["status"])

    def say(self, text: str) -> Turn:
        """Send one answer (or ``/command``) and see it through, whatever happens to the worker
        serving it: returns once the interviewer has replied to it (on some worker). Timed from
        the first POST to the ``done`` of the stream that carried the reply, retries included."""
        turn = Turn(text)
        body: dict[str, Any] = ({"command": text[1:]} if text.startswith("/")
                                else {"answer": text})
        started = time.perf_counter()
        seq = self.seq
        view: dict[str, Any] | None = None  # read again only when something went wrong
        for _ in range(200):
            path, payload = "turn", {**body, "seq": seq}
            if view is not None:
                if view["status"] == "completed" or (int(view["seq"]) > seq
                                                     and not view["needs_recovery"]):
                    self._seen(view)  # replied to, although the stream carrying it was cut
                    break
                if view["needs_recovery"]:
                    path, payload = "recover", None
                    turn.recovered = True
            turn.attempts += 1
            try:
                outcome, state = self._stream(path, payload)
            except Refused as e:
                turn.refusals.append(e.code)
                if e.status == 503 or e.code == "busy":
                    self.messages.append(e.message)
                    time.sleep(0.3)
                elif e.code not in ("stale", "pending"):
                    raise AssertionError(f"{self.name}: {text!r} refused: {e}") from None
                view = self.view()
                continue
            if outcome == "done" and path == "turn":
                self._seen(state)
                break
            if outcome == "cut":
                turn.cut_off += 1
            elif outcome == "error":
                time.sleep(0.3)
            view = self.view()
        else:
            assert view is not None
            raise AssertionError(
                f"{self.name}: {text!r} never went through: {turn}; the session now: seq "
                f"{view['seq']} (was {seq}), waiting {view['waiting']}, pending "
                f"{view['pending']!r}, needs_recovery {view['needs_recovery']}; told "
                f"{self.messages[-3:]}")
        turn.seconds = time.perf_counter() - started
        self.turns.append(turn)
        return turn

    def interview(self, case: str, blocks: list[str],
                  think: Callable[[], float] | None = None) -> dict[str, Any]:
        """A whole interview; returns the final view."""
        self.begin(case)
        for text in blocks:
            if think is not None:
                time.sleep(think())
            self.say(text)
            if self.status == "completed":
                break
        return self.view()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]
