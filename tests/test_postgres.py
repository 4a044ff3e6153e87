"""The terminal chat over PostgreSQL, as a user runs it (``interviewer`` in subprocesses, piped
stdin): the same interview and report as on SQLite, kill -9 mid-turn, two processes on one
session, the server restarted or gone in the middle of an interview. Only the model endpoint
is fake (evals/fake_endpoint.py on loopback); the database is a real server."""

from __future__ import annotations

import difflib
import json
import random
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from evals.fake_endpoint import FakeEndpoint
from evals.fake_responder import interviewer_responder
from tests.conftest import run_cli
from tests.helpers import INTERVIEW_BLOCKS, stdin_of
from tests.postgres import Cluster
from tests.test_crashes import (
    CASE,
    CRASH_BLOCKS,
    LATENCY_MS,
    Chat,
    Stall,
    busy_with,
    chat_argv,
    endpoint_args,
    first_call,
    refused_one_of,
    report_json,
    wait_until,
    where,
)


def listed(home: Path, url: str) -> list[dict[str, Any]]:
    out = run_cli(home, "sessions", "--json", "--database-url", url)
    assert out.returncode == 0, out.stderr
    rows: list[dict[str, Any]] = json.loads(out.stdout)
    return rows


def saved(url: str, sid: str) -> tuple[list[str], tuple[int, str] | None, Any]:
    """(candidate blocks in the checkpoint, the journaled answer, the snapshot), read the way
    the product reads them."""
    from agent.config import Settings
    from agent.engine import Engine

    with Engine(Settings(), db=url) as engine:
        snap = engine.open(sid, lock=False).snapshot()
        journal = engine.store.journaled(sid)
    return [t["text"] for t in snap.values.get("turns", []) if t["role"] == "candidate"], \
        journal, snap


def newest_session(url: str) -> str | None:
    from agent.storage import open_storage

    with open_storage(url) as store:
        rows = store.list_sessions()
    return rows[0].id if rows else None


@pytest.mark.slow
def test_an_interview_on_postgres_is_the_same_as_on_sqlite(home: Path, pg_url: str) -> None:
    """sessions, report and trace read the same from either backend; nothing lands in
    INTERVIEWER_HOME when the sessions live in PostgreSQL."""
    lite, pg = home.parent / "lite", home.parent / "pg"
    blocks = stdin_of(INTERVIEW_BLOCKS)
    with FakeEndpoint(responder=interviewer_responder) as ep:
        a = run_cli(lite, "chat", "--case", CASE, *endpoint_args(ep), stdin=blocks, timeout=120)
        b = run_cli(pg, "chat", "--case", CASE, *endpoint_args(ep), "--database-url", pg_url,
                    stdin=blocks, timeout=120)
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    lite_sid = json.loads(run_cli(lite, "sessions", "--json").stdout)[0]["id"]
    [row] = listed(pg, pg_url)
    assert row["status"] == "completed" and row["engine"] == "llm:fake-model"
    # The transcripts differ only in the session id (and how long the endpoint check and the
    # feedback took, and so how many steps were still being judged when the report was asked).

    def shown(out: str, sid: str) -> str:
        out = re.sub(r"reachable in \d+ ms", "reachable", out.replace(sid, "SID"))
        out = re.sub(r"\(judging step \d+ of \d+ \([^()]*\), ~\d+ s each…\)\s*", "", out)
        # that progress line shows only when judging is slow: the blank lines around it too
        out = re.sub(r"\n(?:[ \t]*\n){2,}", "\n\n", out)
        return re.sub(r"ready \d+\.\d+ s after", "ready after", out)

    left, right = shown(a.stdout, lite_sid), shown(b.stdout, row["id"])
    assert left == right, "\n".join(difflib.unified_diff(
        left.splitlines(), right.splitlines(), "sqlite", "postgres", lineterm="", n=1))
    assert report_json(lite, lite_sid) == report_json(pg, row["id"], "--database-url", pg_url)
    trace = json.loads(run_cli(pg, "trace", row["id"], "--json", "--database-url",
                               pg_url).stdout)
    assert {c["purpose"] for c in trace["calls"]} >= {"interviewer", "assessment", "judge"}
    lite_trace = json.loads(run_cli(lite, "trace", lite_sid, "--json").stdout)
    assert trace["summary"]["calls"] == lite_trace["summary"]["calls"]
    assert not (pg / "interviewer.db").exists()


@pytest.mark.slow
def test_a_second_process_on_a_postgres_session_is_refused(home: Path, pg_url: str,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setenv("INTERVIEWER_DATABASE_URL", pg_url)
    first = run_cli(home, "chat", "--case", CASE, stdin=stdin_of(INTERVIEW_BLOCKS[:2]))
    assert first.returncode == 0, first.stderr
    sid = str(newest_session(pg_url))
    a = Chat(home, chat_argv("--session", sid), "a")
    b = Chat(home, chat_argv("--session", sid), "b")
    try:
        winner, loser = refused_one_of(a, b)
        assert loser.proc.returncode == 1
        assert loser.stderr().count("\n") == 1
        assert f"session {sid} is open in another interviewer process" in loser.stderr()
        winner.send(INTERVIEW_BLOCKS[2:], close=True)
        assert winner.wait(60) == 0, winner.stdout()[-2000:] + winner.stderr()
    finally:
        a.kill()
        b.kill()
    assert listed(home, pg_url)[0]["status"] == "completed"


#: Kill points aimed at a phase, by the kill's index modulo 4; the others are random.
AIMED = {1: "reply streaming", 3: "background scoring"}


@pytest.mark.slow
def test_kill_9_mid_turn_on_postgres_loses_nothing(home: Path, pg_cluster: Any) -> None:
    """kill -9 at random moments (some aimed at a streaming reply and at background scoring);
    each resume, against the same PostgreSQL database, restores every answered turn, and the
    finished interview's report equals an uninterrupted run's."""
    rng = random.Random(12)
    with FakeEndpoint(latency_ms=LATENCY_MS, responder=interviewer_responder) as ep:
        ref_url = pg_cluster.create_database()
        ref_home = home.parent / "reference"
        ref = run_cli(ref_home, "chat", "--case", CASE, *endpoint_args(ep), "--database-url",
                      ref_url, stdin=stdin_of(CRASH_BLOCKS), timeout=120)
        assert ref.returncode == 0, ref.stdout[-2000:] + ref.stderr
        ref_sid = str(newest_session(ref_url))
        expected = report_json(ref_home, ref_sid, "--database-url", ref_url)
        pg_cluster.drop_database(ref_url)

        kills: list[tuple[str, str]] = []
        rounds = 0
        deadline = time.time() + 90
        while len(kills) < 10:
            assert time.time() < deadline, f"only {len(kills)} kill points in time"
            rounds += 1
            url = pg_cluster.create_database()
            run_home = home.parent / f"round{rounds}"
            sid: str | None = None
            db = ["--database-url", url]
            for attempt in range(40):
                if sid is None:
                    pending, argv = CRASH_BLOCKS, chat_argv("--case", CASE, *endpoint_args(ep),
                                                            *db)
                else:
                    sent, journal, _ = saved(url, sid)
                    pending = CRASH_BLOCKS[len(sent):]
                    if journal is not None and journal[0] == len(sent):
                        pending = pending[1:]  # journaled: the resumed process replays it
                    argv = chat_argv("--session", sid, *endpoint_args(ep), *db)
                since = len(ep.requests)
                chat = Chat(run_home, argv, f"run{attempt}")
                chat.send(pending, close=True)
                if len(kills) >= 10:
                    rc = chat.wait(60)
                elif (aim := AIMED.get(len(kills) % 4)) is not None:
                    aim_until = time.time() + 30
                    while chat.proc.poll() is None and not any(
                            busy_with(r["body"]) == aim for r in ep.requests[since:]):
                        assert time.time() < aim_until, f"no {aim} call came"
                        time.sleep(0.002)
                    rc = chat.proc.poll()
                else:
                    first_call(ep, since, chat)
                    rc = chat.wait(rng.uniform(0.0, 1.0))
                if rc is None:
                    killed_at = time.time()
                    chat.kill()
                    landed = where(ep.requests, since, killed_at)
                else:
                    assert rc == 0, chat.stdout()[-2000:] + chat.stderr()
                if sid is None:
                    sid = newest_session(url)
                if sid is not None:
                    sent, journal, _ = saved(url, sid)
                    assert sent == CRASH_BLOCKS[:len(sent)], sent  # in order, none doubled
                    if rc is None:
                        kills.append((landed, f"{len(sent)} saved" + (
                            " + 1 journaled" if journal and journal[0] == len(sent) else "")))
                if rc == 0:
                    break
            else:
                raise AssertionError("the interview never completed")
            assert sid is not None
            rows = listed(run_home, url)
            assert len(rows) == 1 and rows[0]["status"] == "completed", rows
            sent, journal, _ = saved(url, sid)
            assert sent == CRASH_BLOCKS and journal is None
            assert report_json(run_home, sid, *db) == expected
            pg_cluster.drop_database(url)
    kinds = Counter(k[0] for k in kills)
    print(f"\n[kill -9, PostgreSQL] {len(kills)} kill points over {rounds} interviews; landed: "
          + ", ".join(f"{k} x{n}" for k, n in kinds.most_common()))
    for phase in AIMED.values():
        assert any(phase in landed for landed, _ in kills), (phase, kinds)


# -- the server restarted, or gone, in the middle of an interview -------------------------------


@pytest.mark.slow
def test_a_server_restart_mid_interview_is_waited_out(home: Path, own_cluster: Cluster) -> None:
    """The server stops while a turn is in flight (the model call held), stays down for a few
    seconds, comes back: the chat says so once, waits, and finishes the turn and the interview
    with every answer exactly once."""
    url = own_cluster.create_database()
    at = 6
    stall = Stall(CRASH_BLOCKS[at], 30)
    with FakeEndpoint(responder=stall) as ep:
        chat = Chat(home, chat_argv("--case", CASE, *endpoint_args(ep), "--database-url", url),
                    "chat")
        try:
            chat.send(CRASH_BLOCKS[:at + 1])
            assert stall.hit.wait(60), chat.stdout()[-2000:] + chat.stderr()
            own_cluster.server_stop("fast")          # every connection dropped mid-turn
            stall.release.set()                      # the reply arrives; saving it fails
            wait_until("the notice", lambda: "waiting up to" in chat.stderr(), timeout=30)
            down_for = 3.0
            time.sleep(down_for)
            assert chat.proc.poll() is None, chat.stderr()
            own_cluster.server_start()
            chat.send(CRASH_BLOCKS[at + 1:], close=True)
            rc = chat.wait(120)
        finally:
            chat.kill()
            if not own_cluster.started:
                own_cluster.server_start()
    err = chat.stderr()
    assert rc == 0, chat.stdout()[-2000:] + err
    assert "Traceback" not in err and "Traceback" not in chat.stdout()
    assert err.count("is unreachable") == 1 and err.count("the database is back") == 1, err
    sid = str(newest_session(url))
    sent, journal, _ = saved(url, sid)
    assert sent == CRASH_BLOCKS and journal is None
    assert chat.stdout().count("You: " + CRASH_BLOCKS[at]) == 1
    own_cluster.drop_database(url)


@pytest.mark.slow
def test_a_server_restart_between_turns_goes_unnoticed(home: Path, own_cluster: Cluster) -> None:
    """Restarted while the candidate is typing: the dead pooled connections are replaced and
    the session lock taken again before the next answer is written; nothing to say."""
    url = own_cluster.create_database()
    chat = Chat(home, chat_argv("--case", CASE, "--database-url", url), "chat")

    def answered(n: int) -> bool:
        sid = newest_session(url)
        return sid is not None and len(saved(url, sid)[0]) == n

    def clarify_scored() -> bool:  # in the background once clarify ends (the 2nd answer)
        from agent.storage import open_storage

        with open_storage(url) as store:
            return bool(store.scores_for(str(newest_session(url)), "clarify"))

    try:
        chat.send(INTERVIEW_BLOCKS[:2])
        wait_until("two answers", lambda: answered(2))
        # The restart comes while the candidate types the next answer, after the background
        # score of the step just finished is saved (a save during the outage waits and says so).
        wait_until("the clarify score", clarify_scored)
        own_cluster.server_stop("fast")
        own_cluster.server_start()
        time.sleep(1.5)  # the candidate typing
        chat.send(INTERVIEW_BLOCKS[2:], close=True)
        rc = chat.wait(120)
    finally:
        chat.kill()
    assert rc == 0, chat.stdout()[-2000:] + chat.stderr()
    assert chat.stderr() == ""
    sid = str(newest_session(url))
    assert [b for b in saved(url, sid)[0] if not b.startswith("/")] == [
        b for b in INTERVIEW_BLOCKS if not b.startswith("/")]
    own_cluster.drop_database(url)


@pytest.mark.slow
def test_a_server_gone_for_good_is_one_message_and_the_session_resumes(
        home: Path, own_cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    url = own_cluster.create_database()
    db = ["--database-url", url]
    monkeypatch.setenv("INTERVIEWER_DATABASE_WAIT", "2")
    chat = Chat(home, chat_argv("--case", CASE, *db), "chat")

    def two_answers() -> bool:
        sid = newest_session(url)
        return sid is not None and len(saved(url, sid)[0]) == 2

    try:
        chat.send(INTERVIEW_BLOCKS[:2])
        wait_until("two answers", two_answers)
        sid = str(newest_session(url))
        own_cluster.server_stop("fast")
        chat.send(INTERVIEW_BLOCKS[2:3], close=True)
        rc = chat.wait(90)
    finally:
        chat.kill()
        own_cluster.server_start()
    err = chat.stderr()
    assert rc == 4, chat.stdout()[-2000:] + err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[0].startswith("(") and "waiting up to 2 s for it to come back)" in lines[0], err
    assert lines[1].startswith("interviewer: cannot connect to the database "
                               "postgresql://postgres@"), err
    assert "gave up after waiting 2 s" in lines[1]
    assert "Your session is saved up to your previous answer" in lines[1]
    assert lines[2].startswith(f"Resume with: interviewer chat --session {sid}")
    assert len(lines) == 3, err
    # Back up: the session resumes where it stopped; the lost answer is sent again.
    sent, journal, _ = saved(url, sid)
    # The third answer is journaled or not; a journal row of the second one (checkpointed, but
    # the server stopped before the row was cleared) is stale, and the resume clears it.
    lost = 0 if journal is not None and journal[1] == INTERVIEW_BLOCKS[2] else 1
    assert sent == INTERVIEW_BLOCKS[:2]
    resumed = run_cli(home, "chat", "--session", sid, *db,
                      stdin=stdin_of(INTERVIEW_BLOCKS[3 - lost:]), timeout=120)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr
    sent, journal, _ = saved(url, sid)
    assert [b for b in sent if not b.startswith("/")] == [
        b for b in INTERVIEW_BLOCKS if not b.startswith("/")]
    assert listed(home, url)[0]["status"] == "completed"
    own_cluster.drop_database(url)


@pytest.mark.slow
def test_a_server_down_at_start_is_one_line(home: Path, own_cluster: Cluster) -> None:
    url = own_cluster.create_database()
    own_cluster.server_stop("fast")
    try:
        out = run_cli(home, "chat", "--case", CASE, "--database-url", url, stdin="Hi\n")
    finally:
        own_cluster.server_start()
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith("interviewer: cannot connect to the database postgresql://")
    assert "check that the server is running and --database-url" in out.stderr
    own_cluster.drop_database(url)


@pytest.mark.slow
def test_the_documented_backup_restores_every_session(home: Path, pg_cluster: Any,
                                                      tmp_path: Path) -> None:
    """README's backup commands, run: pg_dump while a session is open, lose the tables,
    pg_restore, and the session resumes and reports as before."""
    import subprocess

    import psycopg

    if not isinstance(pg_cluster, Cluster) or pg_cluster.bindir is None:
        pytest.skip("needs the server's own pg_dump / pg_restore")
    url = pg_cluster.create_database()
    db = ["--database-url", url]
    first = run_cli(home, "chat", "--case", CASE, *db, stdin=stdin_of(INTERVIEW_BLOCKS[:4]))
    assert first.returncode == 0, first.stderr
    sid = str(newest_session(url))
    before = report_json(home, sid, *db)
    dump = tmp_path / "interviewer.dump"
    for argv in ([str(pg_cluster.bindir / "pg_dump"), "--format=custom", "--file", str(dump),
                  url],):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
    with psycopg.connect(url, autocommit=True) as conn:  # the disaster
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    assert run_cli(home, "sessions", *db).returncode == 0
    assert listed(home, url) == []
    done = subprocess.run([str(pg_cluster.bindir / "pg_restore"), "--clean", "--if-exists",
                           "--dbname", url, str(dump)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert report_json(home, sid, *db) == before
    resumed = run_cli(home, "chat", "--session", sid, *db,
                      stdin=stdin_of(INTERVIEW_BLOCKS[4:]))
    assert resumed.returncode == 0, resumed.stderr
    assert "(3 answers so far)" in resumed.stdout  # the fourth block is a command
    assert listed(home, url)[0]["status"] == "completed"
    pg_cluster.drop_database(url)
