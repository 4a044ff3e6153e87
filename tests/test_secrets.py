"""The API key is used, never kept: it reaches the endpoint only in the Authorization header and
is written nowhere: not in INTERVIEWER_HOME (SQLite databases and WAL files read as raw bytes),
not in reports, traces, eval results or the model-call cache, not on stdout or stderr, and not
in errors the SDK builds from an endpoint's reply.

The endpoint is the loopback FakeEndpoint (its request log records has_auth, never header
values); the product runs as a user runs it, in subprocesses.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from evals.fake_endpoint import FakeEndpoint
from evals.fake_responder import interviewer_responder
from tests.conftest import run_cli
from tests.helpers import INTERVIEW_BLOCKS, stdin_of

KEY = "sk-test-CANARY-7f3a9c1e5b2d4f60a8c3e9d7b1f2a4c6"
#: The key's distinctive middle: caught even if something trims a prefix or a suffix.
MIDDLE = "CANARY-7f3a9c1e5b2d"
NEEDLES = (KEY.encode(), MIDDLE.encode(), MIDDLE.encode("utf-16-le"))
CASE = "fintech-p99-spikes"
INTERVIEW = stdin_of(INTERVIEW_BLOCKS)


def responder(body: dict[str, Any]) -> str | dict[str, Any] | None:
    """The scripted interview model, plus a judge that returns every criterion."""
    fmt = body.get("response_format") or {}
    if (fmt.get("json_schema") or {}).get("name") == "JudgeOut":
        text = "\n".join(str(m.get("content") or "") for m in body["messages"])
        ids = dict.fromkeys(re.findall(r"^- id: (\S+)$", text, re.M))
        return {"criteria": [{"id": cid, "level": 3, "rationale": "Solid.", "quotes": []}
                             for cid in ids]}
    return interviewer_responder(body)


class AuthCheckingEndpoint(FakeEndpoint):
    """Checks, per request, that the key arrives as exactly ``Authorization: Bearer <key>`` and
    nowhere else in the request line or headers. Only the verdicts are kept, never values."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.verdicts: list[tuple[bool, bool]] = []

    def _chat(self, h: Any, body: Any, has_auth: bool) -> None:
        bearer = h.headers.get("Authorization") == f"Bearer {KEY}"
        elsewhere = [f"{k}: {v}" for k, v in h.headers.items() if k.lower() != "authorization"]
        leaked = any(MIDDLE in x for x in [h.requestline, *elsewhere])
        self.verdicts.append((bearer, leaked))
        super()._chat(h, body, has_auth)


class EchoingErrorEndpoint(FakeEndpoint):
    """Refuses every chat request with ``status`` and a body that echoes the request's
    credentials back, as some gateways and proxies do."""

    def __init__(self, status: int, **kw: Any) -> None:
        super().__init__(**kw)
        self.status = status

    def _chat(self, h: Any, body: Any, has_auth: bool) -> None:
        self._record(body, has_auth, False)
        h.send_error_json(
            self.status,
            f"Incorrect API key provided: {KEY}. Request headers were: Authorization: Bearer "
            f"{KEY}; x-api-key: {KEY}; api_key={KEY}",
            "invalid_request_error", "invalid_api_key")


def endpoint_env(url: str) -> dict[str, str]:
    return {"INTERVIEWER_BASE_URL": url, "INTERVIEWER_MODEL": "fake-model",
            "INTERVIEWER_API_KEY": KEY}


def hits(data: bytes) -> list[str]:
    return [n.decode("utf-8", "replace") for n in NEEDLES if n in data]


def assert_clean(out: subprocess.CompletedProcess[str]) -> None:
    for stream in (out.stdout, out.stderr):
        assert KEY not in stream and MIDDLE not in stream
    assert "Traceback" not in out.stderr


def test_a_full_run_writes_the_key_nowhere(home: Path, tmp_path: Path,
                                           request: pytest.FixtureRequest) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    captured: list[tuple[str, str]] = []
    # SQLite deletes a WAL file when the last connection closes. Holding an idle connection
    # to each database keeps the -wal/-shm files (and every frame written) for the scan.
    home.mkdir(parents=True)
    holders = [sqlite3.connect(home / name, isolation_level=None)
               for name in ("interviewer.db", "eval-cache.sqlite")]
    for conn in holders:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
    request.addfinalizer(lambda: [conn.close() for conn in holders])
    with AuthCheckingEndpoint(responder=responder) as ep:
        env = endpoint_env(ep.url)

        def cli(*args: str, stdin: str = "", ok: int = 0) -> subprocess.CompletedProcess[str]:
            out = run_cli(home, *args, stdin=stdin, timeout=120, **env)
            captured.append((" ".join(args), out.stdout + out.stderr))
            assert out.returncode == ok, (args, out.stdout[-2000:], out.stderr)
            return out

        chat = cli("chat", "--case", CASE, stdin=INTERVIEW)
        assert "Step 6 of 6" in chat.stdout and "fake-model at " in chat.stdout
        sid = json.loads(cli("sessions", "--json").stdout)[0]["id"]
        assert f"Session {sid} completed" in chat.stdout
        for fmt in ("md", "html", "json"):
            cli("report", sid, "--format", fmt, "--output", str(out_dir / f"report.{fmt}"))
        cli("report", sid)  # to stdout as well
        trace = cli("trace", sid, "--json")
        calls = json.loads(trace.stdout)["calls"]
        assert {c["purpose"] for c in calls} >= {"interviewer", "assessment", "judge"}
        cli("trace", sid)
        cli("sessions", "--json")
        ev = cli("eval", "run", "evals/datasets/heldout.jsonl", "--scorer", "llm", "--cache",
                 "record", "--limit", "2", "--bootstrap", "20", "--quiet", "--output",
                 str(out_dir / "results.json"))
        assert "wrote" in ev.stdout
        requests = ep.requests
        verdicts = list(ep.verdicts)

    # The key reached the endpoint on every request, only as the bearer token.
    assert len(requests) >= 20 and len(verdicts) == len(requests)
    assert all(r["has_auth"] for r in requests)
    assert all(bearer for bearer, _ in verdicts), "a request without 'Bearer <key>'"
    assert not any(leaked for _, leaked in verdicts), "the key in another header or the URL"
    assert not hits(json.dumps(requests).encode()), "the key in a request body"

    # Every file written, read as raw bytes, and everything printed.
    files = sorted(p for root in (home, out_dir) for p in root.rglob("*") if p.is_file())
    names = {p.name for p in files}
    assert {"interviewer.db", "interviewer.db-wal", "interviewer.db-shm", "eval-cache.sqlite",
            "eval-cache.sqlite-wal", "report.md", "report.html", "report.json", "results.json",
            "results.md", "results.html", "results.junit.xml"} <= names, names
    assert (home / "interviewer.db-wal").stat().st_size > 0
    cache_rows = _count(home / "eval-cache.sqlite", "replies")
    assert cache_rows >= 14  # 2 interviews x 7 steps were recorded
    found = {str(p): hits(p.read_bytes()) for p in files}
    found.update({f"output of '{cmd}'": hits(text.encode()) for cmd, text in captured})
    found = {where: h for where, h in found.items() if h}
    print(f"secret scan: {len(files)} files + {len(captured)} command outputs scanned, "
          f"{len(found)} hits")
    assert found == {}


def _count(db: Path, table: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def test_the_scan_would_find_a_key(tmp_path: Path) -> None:
    """The scanner sees the key in SQLite pages, in UTF-16 and with its prefix cut."""
    db = tmp_path / "x.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE t (v TEXT)")
    conn.execute("INSERT INTO t VALUES (?)", (KEY[8:],))
    conn.commit()
    conn.close()
    assert hits(db.read_bytes())
    assert hits(("key=" + KEY[:30]).encode("utf-16-le"))


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_key_file_others_can_read_is_refused(home: Path, tmp_path: Path, mode: int) -> None:
    key_file = tmp_path / "api.key"
    key_file.write_text(KEY + "\n")
    os.chmod(key_file, mode)
    with FakeEndpoint() as ep:
        out = run_cli(home, "chat", "--case", CASE, "--base-url", ep.url, "--model",
                      "fake-model", "--api-key-file", str(key_file), stdin="What is the QPS?\n")
        assert ep.requests == []  # refused before any call
    assert out.returncode == 1, out.stdout
    assert f"chmod 600 {key_file}" in out.stderr
    assert "let others read it" in out.stderr and out.stderr.count("\n") == 1
    assert_clean(out)
    assert not (home / "interviewer.db").exists()  # refused before anything was started


def test_a_private_key_file_is_used_and_not_written(home: Path, tmp_path: Path) -> None:
    key_file = tmp_path / "api.key"
    key_file.write_text(KEY + "\n")
    os.chmod(key_file, 0o600)
    with AuthCheckingEndpoint(responder=responder) as ep:
        out = run_cli(home, "chat", "--case", CASE, "--base-url", ep.url, "--model",
                      "fake-model", "--api-key-file", str(key_file),
                      stdin="What is the QPS and the latency target?\n")
        verdicts = list(ep.verdicts)
    assert out.returncode == 0, out.stderr
    assert verdicts and all(bearer and not leaked for bearer, leaked in verdicts)
    assert_clean(out)
    for p in home.rglob("*"):
        if p.is_file():
            assert not hits(p.read_bytes()), p


@pytest.mark.parametrize("status", [401, 400])
def test_sdk_errors_that_echo_the_key_are_redacted(home: Path, status: int) -> None:
    with EchoingErrorEndpoint(status) as ep:
        env = endpoint_env(ep.url)
        chat = run_cli(home, "chat", "--case", CASE, stdin="What is the QPS?\n", **env)
        assert ep.requests, "the endpoint was never called"
    assert_clean(chat)
    # Either way: one message on stderr, the session kept with the resume command, exit 3.
    assert chat.returncode == 3, chat.stdout + chat.stderr
    assert "Your session is saved" in chat.stderr
    # A refused request is "rejected" (never "not responding"), with what the endpoint said
    # and the key redacted.
    assert f"rejected the request (HTTP {status}: " in chat.stderr, chat.stderr
    assert "not responding" not in chat.stderr and "[redacted]" in chat.stderr
    if status == 400:
        assert "Authorization: [redacted]" in chat.stderr
    sessions = json.loads(run_cli(home, "sessions", "--json").stdout)
    sid = sessions[0]["id"]
    trace = run_cli(home, "trace", sid, "--json")
    text = run_cli(home, "trace", sid)
    for out in (trace, text):
        assert out.returncode == 0, out.stderr
        assert_clean(out)
    errors = [c["error"] for c in json.loads(trace.stdout)["calls"] if c["outcome"] == "error"]
    assert errors and all("[redacted]" in e for e in errors), errors
    # The text trace lists the failed call, its reason whole on the line below it.
    assert re.search(r"  error\n +↳ .*\[redacted\]", text.stdout), text.stdout
    for p in home.rglob("*"):
        if p.is_file():
            assert not hits(p.read_bytes()), p


def test_eval_errors_that_echo_the_key_are_redacted_in_the_results(home: Path,
                                                                  tmp_path: Path) -> None:
    with EchoingErrorEndpoint(400) as ep:
        out = run_cli(home, "eval", "run", "evals/datasets/heldout.jsonl", "--scorer", "llm",
                      "--cache", "off", "--limit", "1", "--bootstrap", "0", "--quiet",
                      "--output", str(tmp_path / "results.json"), **endpoint_env(ep.url))
    assert out.returncode == 1, out.stderr  # every item failed to score
    assert_clean(out)
    results = json.loads((tmp_path / "results.json").read_text())
    errors = [e for item in results["items"] for e in item["errors"]]
    assert errors and all("[redacted]" in e for e in errors), errors[:2]
    for p in tmp_path.rglob("*"):
        if p.is_file():
            assert not hits(p.read_bytes()), p


def test_a_key_in_the_config_file_is_refused_without_echoing_it(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text(f'base_url = "http://127.0.0.1:9/v1"\napi_key = "{KEY}"\n')
    out = run_cli(home, "chat", "--case", CASE, stdin="What is the QPS?\n")
    assert out.returncode == 1
    assert "config.toml" in out.stderr and "api_key" in out.stderr
    assert_clean(out)


def test_a_key_in_the_config_file_says_where_keys_belong(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text(f'api_key = "{KEY}"\ncolour = "blue"\n')
    out = run_cli(home, "chat", "--case", CASE, stdin="What is the QPS?\n")
    assert out.returncode == 1
    assert "keys do not belong in config files; use api_key_file" in out.stderr
    assert_clean(out)


def test_a_stream_error_event_that_echoes_the_key_is_redacted(home: Path) -> None:
    """Every stream breaks with an error event quoting the request's Authorization header, and
    every plain request gets an HTML page: the chat gives up with one message, and neither the
    message nor anything saved holds the key."""
    with FakeEndpoint(fault_rate=1.0, fault_kinds=["sse_error"], responder=responder) as ep:
        chat = run_cli(home, "chat", "--case", CASE, stdin=stdin_of(INTERVIEW_BLOCKS[:5]),
                       **endpoint_env(ep.url))
        assert ep.requests and {r["fault"] for r in ep.requests} == {"sse_error"}
        assert any(r["body"].get("stream") for r in ep.requests)  # a stream broke, too
    assert_clean(chat)
    # The interviewer carries on from the fact sheet where it can, or stops with one message.
    assert chat.returncode in (0, 3), chat.stdout + chat.stderr
    if chat.returncode == 3:
        assert "malformed responses" in chat.stderr and "Your session is saved" in chat.stderr
    sid = json.loads(run_cli(home, "sessions", "--json").stdout)[0]["id"]
    trace = run_cli(home, "trace", sid, "--json")
    assert_clean(trace)
    errors = [c["error"] or "" for c in json.loads(trace.stdout)["calls"]]
    assert any("not valid API JSON" in e for e in errors), errors  # the HTML pages
    # The error event itself, kept in the trace with its echoed header redacted.
    assert any("Authorization: [redacted]" in e for e in errors), errors
    for p in home.rglob("*"):
        if p.is_file():
            assert not hits(p.read_bytes()), p


@pytest.mark.parametrize("stray", ["\u200b", "\u043a", " x"])
def test_a_key_with_stray_characters_is_refused_and_never_saved(home: Path,
                                                                stray: str) -> None:
    """A key pasted with an invisible or non-ASCII character cannot go into an HTTP header;
    the error says so without echoing the key, and nothing written holds it."""
    with FakeEndpoint(responder=responder) as ep:
        env = {**endpoint_env(ep.url), "INTERVIEWER_API_KEY": KEY + stray}
        chat = run_cli(home, "chat", "--case", CASE, stdin="What is the QPS?\n", **env)
    assert chat.returncode != 0, chat.stdout + chat.stderr
    assert_clean(chat)
    assert "key" in chat.stderr.lower(), chat.stderr
    if home.exists():
        for p in home.rglob("*"):
            if p.is_file():
                assert not hits(p.read_bytes()), p
