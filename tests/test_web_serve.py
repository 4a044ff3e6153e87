"""``interviewer serve`` as a user runs it: what it refuses, the token, several workers over one
database, and a worker killed in the middle of a turn."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, cli_env, run_cli
from tests.webapp import Client, TurnRefused, parse_sse, served, spoken

pytestmark = pytest.mark.slow

TOKEN = "correct-horse-battery-staple-42"


def test_serve_refuses_what_it_cannot_serve_safely(home: Path) -> None:
    out = run_cli(home, "serve", "--host", "0.0.0.0")
    assert out.returncode == 1 and "INTERVIEWER_WEB_TOKEN" in out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""
    out = run_cli(home, "serve", "--host", "0.0.0.0", INTERVIEWER_WEB_TOKEN="short")
    assert out.returncode == 1 and "at least 16" in out.stderr and "short" not in out.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = run_cli(home, "serve", "--port", str(port))
    assert out.returncode == 1 and f"--port {port}: already in use" in out.stderr
    out = run_cli(home, "serve", "--port", "70000")
    assert out.returncode == 1 and "not a port" in out.stderr


def test_serve_without_the_web_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str],
                                                          home: Path) -> None:
    import importlib.util

    from agent.cli import main

    real = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name in ("sse_starlette", "wordllama") else real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert main(["serve", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "needs the [web] extra (missing: sse_starlette, wordllama)" in err, err
    assert "pip install -e '.[web]'" in err and "Traceback" not in err


@contextmanager
def serve_process(home: Path, *args: str,
                  **env: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "serve", "--port", "0", *args], cwd=ROOT,
        env=cli_env(home, **env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("interviewer: serving http://127.0.0.1:"), line
        url = line.split("serving ", 1)[1].split(" ", 1)[0].rstrip("/")
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_prints_its_address_and_stops_on_ctrl_c_or_sigterm(home: Path,
                                                                 stop: signal.Signals) -> None:
    with serve_process(home) as (proc, url):
        assert httpx.get(url + "/healthz").json() == {"ok": True}
        page = httpx.get(url + "/")
        assert page.status_code == 200 and "Choose a case" in page.text
        proc.send_signal(stop)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "stopped; every answer is saved" in err
        assert "Traceback" not in err
    assert (home / "web-secret").stat().st_mode & 0o777 == 0o600


def test_a_token_guards_every_page_and_call(home: Path) -> None:
    with served(token=TOKEN, host="0.0.0.0") as app:
        anon = httpx.Client(base_url=app.url)
        page = anon.get("/sessions")
        assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fsessions"
        api = anon.get("/api/me")
        assert api.status_code == 401 and api.json()["error"]["code"] == "token_required"
        login = anon.get("/login")
        assert login.status_code == 200 and "Access token" in login.text
        csrf = login.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        wrong = anon.post("/login", data={"token": "x" * 20, "csrf": csrf, "next": "/sessions"})
        assert wrong.status_code == 401 and "not the token" in wrong.text
        evil = anon.post("/login", data={"token": TOKEN, "csrf": csrf,
                                         "next": "https://evil.example/"})
        assert evil.status_code == 303 and evil.headers["location"] == "/"
        assert anon.get("/api/me").status_code == 200  # logged in: the cookie says so
        assert TOKEN not in str(anon.cookies.jar) and TOKEN not in evil.text
        anon.close()
        script = httpx.Client(base_url=app.url, headers={"Authorization": f"Bearer {TOKEN}"})
        assert script.get("/api/cases").status_code == 200
        script.close()


def _cookie_client(url: str, cookies: httpx.Cookies, csrf: str) -> Client:
    c = Client.__new__(Client)
    c.http = httpx.Client(base_url=url, timeout=60, cookies=cookies)
    c.csrf = csrf
    return c


def test_any_worker_takes_the_next_turn_and_a_killed_one_loses_nothing(home: Path) -> None:
    """Two `serve` processes over one database; the worker running a turn is killed -9 after
    the answer was accepted, mid-reply; the other shows the answer pending and finishes it."""
    from evals.fake_endpoint import FakeEndpoint

    with FakeEndpoint(latency_ms=1500) as ep:
        model = ("--base-url", ep.url, "--model", "fake-model")
        with serve_process(home, *model) as (a, url_a), serve_process(home, *model) as (_, url_b):
            first = Client(url_a)
            sid = first.start()
            assert spoken(first.say(sid, "Is this inference? What is the QPS?"))
            second = _cookie_client(url_b, first.http.cookies, first.csrf)
            assert second.view(sid)["seq"] == 1  # worker B reads what worker A wrote
            assert spoken(second.say(sid, "What latency do they promise?"))
            # A turn on A, killed once the answer is accepted (the model takes 1.5 s).
            seq = first.view(sid)["seq"]
            with first.http.stream("POST", f"/api/sessions/{sid}/turn", json={
                    "answer": "How spiky is their traffic?", "seq": seq},
                    headers={"X-CSRF-Token": first.csrf}) as r:
                events = parse_sse(r.iter_lines())
                assert next(events)[0] == "accepted"
                a.send_signal(signal.SIGKILL)
                a.wait(timeout=30)
            view = second.view(sid)
            assert view["pending"] == "How spiky is their traffic?" and view["needs_recovery"], (
                view["seq"], view["waiting"], [t["text"][:30] for t in view["turns"]][-4:])
            with pytest.raises(TurnRefused):
                second.say(sid, "a new answer before recovering")
            events_b = second.turn(sid, path="recover")
            assert spoken(events_b) and events_b[-1][0] == "done"
            answers = [t["text"] for t in second.view(sid)["turns"] if t["kind"] == "answer"]
            assert answers == ["Is this inference? What is the QPS?",
                               "What latency do they promise?", "How spiky is their traffic?"]
            assert spoken(second.say(sid, "I'll assume a 500 ms p99 target."))
            first.close()
            second.close()
