"""The web app on loopback for tests and the benchmark: uvicorn serving ``create_app`` in a
thread (or ``interviewer serve`` as a process), and an httpx client that keeps its cookie,
sends its CSRF token and parses the SSE stream of a turn."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from agent.config import Settings


class Served:
    """``create_app`` under uvicorn in a background thread, on a free loopback port."""

    def __init__(self, settings: Settings | None = None, *, token: str | None = None,
                 host: str = "127.0.0.1", transcribe_model: str | None = "whisper-1",
                 db: Path | None = None, lock_wait_s: float = 20.0,
                 secret: str | None = None) -> None:
        import uvicorn

        from agent.paths import home
        from agent.web.app import WebConfig, create_app
        from agent.web.security import load_secret
        from agent.web.serve import bind

        config = WebConfig(settings=settings or Settings(), secret=secret or load_secret(home()),
                           host=host, token=token, transcribe_model=transcribe_model, db=db,
                           lock_wait_s=lock_wait_s)
        self.app = create_app(config)
        self.sock = bind("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning",
                                                    lifespan="on", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       name="uvicorn-test", daemon=True)

    def start(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the web app did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()

    @property
    def web(self) -> Any:
        """The app's WebState (engine, runner) for white-box checks."""
        return self.app.state.web

    def client(self, **kw: Any) -> Client:
        return Client(self.url, **kw)


@contextmanager
def served(settings: Settings | None = None, **kw: Any) -> Iterator[Served]:
    s = Served(settings, **kw).start()
    try:
        yield s
    finally:
        s.stop()


Event = tuple[str, dict[str, Any]]


class TurnRefused(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body}")
        self.status, self.body = status, body
        self.code = body.get("error", {}).get("code")


def parse_sse(lines: Iterator[str]) -> Iterator[Event]:
    """Events of an SSE stream, data parsed as JSON."""
    event, data = "message", []
    for line in lines:
        if not line:
            if data:
                yield event, json.loads("\n".join(data))
            event, data = "message", []
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:
        yield event, json.loads("\n".join(data))


class Client:
    """One browser's worth of cookie, CSRF token and requests."""

    def __init__(self, url: str, **kw: Any) -> None:
        self.http = httpx.Client(base_url=url, timeout=60, **kw)
        self.http.get("/")  # the owner cookie
        self.csrf = self.http.get("/api/me").json()["csrf"]

    def close(self) -> None:
        self.http.close()

    def post(self, path: str, **kw: Any) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf, **kw.pop("headers", {})}
        return self.http.post(path, headers=headers, **kw)

    def start(self, case: str = "fintech-p99-spikes", mode: str = "exam") -> str:
        r = self.post("/api/sessions", json={"case_id": case, "mode": mode})
        assert r.status_code == 201, r.text
        sid: str = r.json()["id"]
        return sid

    def view(self, sid: str) -> dict[str, Any]:
        r = self.http.get(f"/api/sessions/{sid}")
        assert r.status_code == 200, r.text
        view: dict[str, Any] = r.json()
        return view

    def turn(self, sid: str, seq: int | None = None, path: str = "turn",
             **body: Any) -> list[Event]:
        """Send an answer or command; the stream's events (TurnRefused if refused)."""
        if seq is None and path == "turn":
            seq = self.view(sid)["seq"]
        payload = {**body, "seq": seq} if path == "turn" else None
        with self.http.stream("POST", f"/api/sessions/{sid}/{path}", json=payload,
                              headers={"X-CSRF-Token": self.csrf}) as r:
            if r.headers.get("content-type", "").startswith("application/json"):
                r.read()
                raise TurnRefused(r.status_code, r.json())
            assert r.status_code == 200, r.status_code
            return list(parse_sse(r.iter_lines()))

    def say(self, sid: str, text: str) -> list[Event]:
        """An answer, or a /command sent as one (as typed into the box)."""
        return self.turn(sid, answer=text)


def spoken(events: list[Event]) -> list[tuple[str, str]]:
    """(kind, text) of each utterance streamed in ``events``."""
    out: list[tuple[str, str]] = []
    kind, parts = "", []
    for name, data in events:
        if name == "begin":
            kind, parts = data["kind"], []
        elif name == "say":
            parts.append(data["text"])
        elif name == "restart":
            parts = []
        elif name == "end":
            out.append((kind, "".join(parts)))
    return out
