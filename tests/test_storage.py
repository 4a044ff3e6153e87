"""The storage interface, on both backends: sessions, the journal, the call log, scores, the
session lock, migrations and the messages a broken database gives. The PostgreSQL runs use a
real server (tests/postgres.py); nothing is mocked."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from agent.config import ConfigError
from agent.storage import (
    SessionTaken,
    Storage,
    StorageUnavailable,
    StoreError,
    open_storage,
    resolve,
)
from agent.storage.migrations import LATEST, MIGRATIONS
from tests.conftest import ROOT, cli_env


@pytest.fixture
def store(backend: str) -> Any:
    with open_storage() as s:
        assert s.kind == backend
        yield s


def call(sid: str, ts: float, purpose: str = "judge", **over: Any) -> SimpleNamespace:
    rec = dict(session_id=sid, ts=ts, purpose=purpose, model="m", prompt_hash="p:1",
               prompt_tokens=10, completion_tokens=5, latency_ms=12.5, retries=1, outcome="ok",
               error=None, cached=False, counted_prompt_tokens=11)
    rec.update(over)
    return SimpleNamespace(**rec)


# -- the interface --------------------------------------------------------------------------------


def test_sessions_round_trip_newest_first(store: Storage) -> None:
    store.create_session("aaaa1111", "case-a", "exam", "offline", {"max_followups": 2,
                                                                  "note": "ünïcode ✓"})
    store.create_session("bbbb2222", "case-b", "coach", "llm:m", {})
    row = store.get_session("aaaa1111")
    assert row is not None and row.case_id == "case-a" and row.mode == "exam"
    assert row.status == "in_progress" and row.step == "clarify" and row.answered == 0
    assert row.info == {"max_followups": 2, "note": "ünïcode ✓"}
    assert isinstance(row.created, float) and row.created == row.updated
    assert [r.id for r in store.list_sessions()] == ["bbbb2222", "aaaa1111"]
    store.update_session("aaaa1111", status="completed", step="wrap_up", answered=7,
                         info={"x": 1})
    row = store.get_session("aaaa1111")
    assert row is not None and (row.status, row.step, row.answered, row.info) == (
        "completed", "wrap_up", 7, {"x": 1})
    assert row.updated > row.created
    assert store.get_session("nope0000") is None
    with pytest.raises(ValueError, match="cannot update"):
        store.update_session("aaaa1111", case_id="other")


def test_sessions_created_in_the_same_instant_list_in_creation_order(store: Storage) -> None:
    for sid in ("s001x", "s002x", "s003x"):
        store.create_session(sid, "c", "exam", "offline", {})
    store.query("UPDATE sessions SET created=1.0")  # one instant: insertion order breaks ties
    assert [r.id for r in store.list_sessions()] == ["s003x", "s002x", "s001x"]


def test_the_journal_keeps_one_pending_answer_per_session(store: Storage) -> None:
    store.create_session("aaaa1111", "c", "exam", "offline", {})
    assert store.journaled("aaaa1111") is None
    store.journal("aaaa1111", 0, "first")
    store.journal("aaaa1111", 1, "second")        # replaces: one pending answer at a time
    store.journal("bbbb2222", 4, "other session")
    assert store.journaled("aaaa1111") == (1, "second")
    store.update_session("aaaa1111", answered=2, clear_journal=True)
    assert store.journaled("aaaa1111") is None
    assert store.journaled("bbbb2222") == (4, "other session")
    store.clear_journal("bbbb2222")
    assert store.journaled("bbbb2222") is None


def test_the_call_log_reads_back_in_time_order(store: Storage) -> None:
    store.log_call(call("aaaa1111", 20.0, "assessment", cached=True))
    store.log_call(call("aaaa1111", 10.0, "interviewer", error="recovered from: HTTP 500"))
    store.log_call(call("bbbb2222", 15.0))
    calls = store.calls("aaaa1111")
    assert [c["purpose"] for c in calls] == ["interviewer", "assessment"]
    first = calls[0]
    assert set(first) == {"id", "session_id", "ts", "purpose", "model", "prompt_hash",
                          "prompt_tokens", "completion_tokens", "latency_ms", "retries",
                          "outcome", "error", "cached", "counted_prompt_tokens"}
    assert (first["prompt_tokens"], first["latency_ms"], first["cached"],
            first["counted_prompt_tokens"]) == (10, 12.5, 0, 11)
    assert first["error"] == "recovered from: HTTP 500" and calls[1]["cached"] == 1
    assert store.calls("nobody00") == []


def test_scores_upsert_and_list_newest_first(store: Storage) -> None:
    store.put_score("aaaa1111", "goals", "offline", "v1", {"score": 2.0})
    store.put_score("aaaa1111", "goals", "llm", "v2", {"score": 3.0})
    store.put_score("aaaa1111", "goals", "offline", "v1", {"score": 2.5})  # replaces
    assert store.get_score("aaaa1111", "goals", "offline", "v1") == {"score": 2.5}
    assert store.get_score("aaaa1111", "goals", "offline", "v9") is None
    assert store.scores_for("aaaa1111", "goals") == [
        ("offline", "v1", {"score": 2.5}), ("llm", "v2", {"score": 3.0})]
    store.query("UPDATE scores SET created=1.0")
    # One instant: the row written last (the replaced one keeps its place) comes first.
    assert [v for _, v, _ in store.scores_for("aaaa1111", "goals")] == ["v2", "v1"]


def test_journal_time_drafts_and_results_round_trip(store: Storage) -> None:
    store.journal("aaaa1111", 0, "an answer", ("clarify", 30.5))  # time written with it
    store.journal("aaaa1111", 1, "/next", ("clarify", 10.0))
    store.add_time("aaaa1111", "goals", 5.0)
    store.add_time("aaaa1111", "goals", -3.0)                    # a clock step never subtracts
    store.journal("bbbb2222", 2, "other")
    assert store.times("aaaa1111") == {"clarify": 40.5, "goals": 5.0}
    assert store.times("nobody00") == {}
    assert store.pending_answers() == {"aaaa1111": "/next", "bbbb2222": "other"}

    assert store.draft("aaaa1111") is None
    store.save_draft("aaaa1111", "half an answer\n\nwith a blank line ✓")
    store.save_draft("aaaa1111", "half an answer\n\nwith a blank line ✓ and more")  # replaces
    assert store.draft("aaaa1111") == "half an answer\n\nwith a blank line ✓ and more"
    store.save_draft("aaaa1111", "  \n")                       # blank forgets it
    assert store.draft("aaaa1111") is None

    store.put_result("aaaa1111", {"overall": 2.5, "band": "lean hire"})
    store.put_result("aaaa1111", {"overall": 3.0, "band": "hire"})        # the latest wins
    store.put_result("bbbb2222", {"overall": None, "provisional": True})
    assert store.results() == {"aaaa1111": {"overall": 3.0, "band": "hire"},
                               "bbbb2222": {"overall": None, "provisional": True}}


def test_judge_failures_and_endpoint_capabilities_round_trip(store: Storage) -> None:
    store.put_judge_failure("aaaa1111", "goals", "v1", "invalid", "never validated")
    store.put_judge_failure("aaaa1111", "goals", "v1", "unavailable", "HTTP 503")  # replaces
    store.put_judge_failure("bbbb2222", "goals", "v1", "invalid", "x")
    failed = store.judge_failure("aaaa1111", "goals", "v1")
    assert failed is not None and (failed["kind"], failed["reason"]) == ("unavailable", "HTTP 503")
    assert store.judge_failure("aaaa1111", "goals", "v2") is None
    store.clear_judge_failures("aaaa1111")
    assert store.judge_failure("aaaa1111", "goals", "v1") is None
    assert store.judge_failure("bbbb2222", "goals", "v1") is not None

    url = "http://127.0.0.1:9/v1"
    assert store.load_capabilities(url, "m") is None
    store.save_capabilities(url, "m", {"structured": "json_object"})
    store.save_capabilities(url, "m", {"structured": "prompt", "stream_usage": False})
    assert store.load_capabilities(url, "m") == {"structured": "prompt", "stream_usage": False}
    assert store.load_capabilities(url, "other") is None


def test_a_failed_journal_write_records_no_time(store: Storage) -> None:
    """The answer and the time that led to it are one transaction: both or neither."""
    store.add_time("aaaa1111", "clarify", 1.0)
    store.query("DROP TABLE inbox")
    with pytest.raises(StoreError):
        store.journal("aaaa1111", 0, "an answer", ("clarify", 30.0))
    assert store.times("aaaa1111") == {"clarify": 1.0}


def test_query_runs_statements_and_reads(store: Storage) -> None:
    store.create_session("aaaa1111", "c", "exam", "offline", {})
    assert store.query("SELECT id, mode FROM sessions WHERE id=?", ("aaaa1111",)) == [
        ("aaaa1111", "exam")]
    assert store.query("DELETE FROM sessions WHERE id=?", ("aaaa1111",)) == []
    assert store.get_session("aaaa1111") is None


def test_one_process_at_a_time_holds_a_session(backend: str) -> None:
    with open_storage() as a, open_storage() as b:
        first, second = a.session_lock("aaaa1111"), b.session_lock("aaaa1111")
        assert first.acquire() and first.held
        assert not second.acquire() and not second.held
        other = b.session_lock("bbbb2222")
        assert other.acquire()                               # other sessions are free
        other.release()
        first.check()                                        # still ours
        first.release()
        assert not first.held
        assert second.acquire()
        second.release()


def test_a_lock_is_released_when_its_process_dies(backend: str, home: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\n"
         "from agent.storage import open_storage\n"
         "s = open_storage(); lock = s.session_lock('aaaa1111')\n"
         "print(lock.acquire(), flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, env=cli_env(home), cwd=ROOT)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "True"
        with open_storage() as s:
            lock = s.session_lock("aaaa1111")
            assert not lock.acquire()
            holder.kill()
            holder.wait(10)
            deadline = time.time() + 10
            while not lock.acquire():
                assert time.time() < deadline, "the dead process's lock was never released"
                time.sleep(0.05)
            lock.release()
    finally:
        holder.kill()
        holder.wait(10)
        if holder.stdout is not None:
            holder.stdout.close()


def test_the_checkpointer_is_langgraphs_for_the_backend(store: Storage, backend: str) -> None:
    saver = store.checkpointer()
    assert type(saver).__name__ == {"sqlite": "SqliteSaver", "postgres": "PostgresSaver"}[backend]
    assert store.checkpointer() is saver  # one per storage


# -- migrations -------------------------------------------------------------------------------


def test_a_new_database_is_at_the_latest_schema_version(store: Storage) -> None:
    assert store.query("SELECT value FROM interviewer_meta WHERE key='schema_version'") == [
        (str(LATEST),)]


def _schema_at(backend: str, version: int, home: Path) -> None:
    """A database as an older interviewer left it: migrations up to ``version`` applied."""
    from agent.storage.base import statements

    kind = "postgres" if backend == "postgres" else "sqlite"
    if kind == "sqlite":
        import sqlite3

        home.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(home / "interviewer.db", isolation_level=None)
        run = conn.execute
    else:
        import os

        import psycopg

        conn = psycopg.connect(os.environ["INTERVIEWER_DATABASE_URL"], autocommit=True)
        run = conn.execute  # type: ignore[assignment]
    try:
        run("CREATE TABLE interviewer_meta (key TEXT PRIMARY KEY, value TEXT)")
        for m in MIGRATIONS[:version]:
            for stmt in statements(m.sql(kind)):
                run(stmt)
        run(f"INSERT INTO interviewer_meta VALUES ('schema_version', '{version}')")
        run("INSERT INTO sessions (id, case_id, mode, engine, status, step, answered, created, "
            "updated, info) VALUES ('old00001', 'c', 'exam', 'offline', 'completed', 'wrap_up', "
            "6, 1.0, 2.0, '{}')")
        run("INSERT INTO calls (session_id, ts, purpose, model, prompt_hash, prompt_tokens, "
            "completion_tokens, latency_ms, retries, outcome) VALUES ('old00001', 1.0, 'judge', "
            "'m', 'p', 1, 2, 3.0, 0, 'ok')")
    finally:
        conn.close()


@pytest.mark.parametrize("version", [2, 4])
def test_an_older_database_is_migrated_and_keeps_its_data(backend: str, home: Path,
                                                          version: int) -> None:
    _schema_at(backend, version, home)
    with open_storage() as store:
        assert store.query("SELECT value FROM interviewer_meta WHERE key='schema_version'") == [
            (str(LATEST),)]
        row = store.get_session("old00001")
        assert row is not None and row.answered == 6 and row.status == "completed"
        [old_call] = store.calls("old00001")
        assert old_call["counted_prompt_tokens"] == 0  # the column version 4 added
        store.put_score("old00001", "goals", "offline", "v", {"ok": True})  # version 3's table
        assert store.get_score("old00001", "goals", "offline", "v") == {"ok": True}
        store.save_capabilities("u", "m", {"structured": "json_schema"})  # version 8's table
        assert store.load_capabilities("u", "m") == {"structured": "json_schema"}
        # versions 5-7: drafts, time per step, report summaries
        store.save_draft("old00001", "draft")
        store.add_time("old00001", "goals", 2.0)
        store.put_result("old00001", {"overall": 1.0})
        assert (store.draft("old00001"), store.times("old00001"), store.results()) == (
            "draft", {"goals": 2.0}, {"old00001": {"overall": 1.0}})


def test_a_newer_database_is_refused_in_one_line(backend: str, home: Path) -> None:
    with open_storage() as store:
        store.query("UPDATE interviewer_meta SET value=? WHERE key='schema_version'",
                    (str(LATEST + 3),))
    with pytest.raises(StoreError) as err:
        open_storage()
    msg = str(err.value)
    assert "\n" not in msg
    assert f"was written by a newer interviewer (schema {LATEST + 3}; this one knows up to " \
           f"{LATEST})" in msg
    assert ("use another INTERVIEWER_HOME" if backend == "sqlite" else
            "point INTERVIEWER_DATABASE_URL at another database") in msg
    # and on the command line: one line, no traceback, exit 1
    out = subprocess.run([sys.executable, "-m", "agent", "sessions"], capture_output=True,
                         text=True, env=cli_env(home), cwd=ROOT, timeout=60, check=False)
    assert out.returncode == 1 and out.stderr.count("\n") == 1
    assert "newer interviewer" in out.stderr and "Traceback" not in out.stderr


def test_workers_opening_a_new_database_together_migrate_it_once(backend: str) -> None:
    errors: list[BaseException] = []
    opened: list[Storage] = []
    start = threading.Barrier(6)

    def open_one() -> None:
        try:
            start.wait()
            store = open_storage()
            store.checkpointer()
            opened.append(store)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert errors == [] and len(opened) == 6
        store = opened[0]
        store.create_session("aaaa1111", "c", "exam", "offline", {})
        assert [r.id for r in opened[-1].list_sessions()] == ["aaaa1111"]
    finally:
        for s in opened:
            s.close()


class _SwitchRefusedTwice:
    """sqlite3 answers a journal-mode switch with "database is locked", without waiting, while
    another process is switching the same new file; the third try here goes through."""

    def __init__(self, message: str) -> None:
        self.message, self.tries = message, 0

    def execute(self, sql: str) -> None:
        assert sql == "PRAGMA journal_mode=WAL"
        self.tries += 1
        if self.tries < 3:
            raise sqlite3.OperationalError(self.message)


def test_switching_a_new_database_to_wal_waits_out_another_opener() -> None:
    from agent.storage.sqlite import wal

    conn = _SwitchRefusedTwice("database is locked")
    wal(conn)  # type: ignore[arg-type]
    assert conn.tries == 3
    other = _SwitchRefusedTwice("disk I/O error")  # anything else is not waited for
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        wal(other)  # type: ignore[arg-type]
    assert other.tries == 1


# -- which database: flags, environment, config ------------------------------------------------


def test_flag_beats_environment_beats_config_beats_the_default(home: Path) -> None:
    pg = "postgresql://u@db.example:5432/interviews"
    env = {"INTERVIEWER_DATABASE_URL": "postgresql://u@env.example/envdb"}
    config = {"database_url": "postgresql://u@config.example/cfgdb"}
    assert resolve(pg, env=env, config=config).url == pg
    assert resolve(None, env=env, config=config).url == env["INTERVIEWER_DATABASE_URL"]
    target = resolve(None, env={}, config=config)
    assert target.url == config["database_url"] and target.source.endswith(": database_url")
    default = resolve(None, env={}, config={})
    assert default.kind == "sqlite" and default.path == home / "interviewer.db"
    assert resolve("sqlite:////tmp/x.db", env={}, config={}).path == Path("/tmp/x.db")


@pytest.mark.parametrize(("value", "expect"), [
    ("mysql://u@h/db", r"is not a database URL \(use postgresql://"),
    ("postgresql://u@h:99999/db", r"is not a valid database URL"),
    ("postgresql://u@h:5432/", r"names no database"),
    ("postgresql://u:hunter2@h/d b", r"contains spaces"),
    ("interviews.db", r"is not a database URL"),
])
def test_a_bad_database_url_names_its_source(value: str, expect: str) -> None:
    with pytest.raises(ConfigError, match="^INTERVIEWER_DATABASE_URL: .*" + expect) as err:
        resolve(None, env={"INTERVIEWER_DATABASE_URL": value}, config={})
    assert "hunter2" not in str(err.value)


def test_a_password_in_the_config_file_is_refused(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text('database_url = "postgresql://u:s3cret@h/db"\n')
    with pytest.raises(ConfigError, match="holds a password") as err:
        resolve(None, env={})
    assert "s3cret" not in str(err.value)


def test_offline_ignores_a_broken_config_file_but_reads_a_good_one(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text("bogus = [\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        resolve(None, env={})
    assert resolve(None, offline=True, env={}).kind == "sqlite"
    (home / "config.toml").write_text('database_url = "postgresql://u@h/db"\n')
    assert resolve(None, offline=True, env={}).url == "postgresql://u@h/db"


# -- a server that cannot be reached ------------------------------------------------------------


def test_an_unreachable_server_is_one_line_without_the_password(home: Path) -> None:
    pytest.importorskip("psycopg")
    from tests.postgres import free_port

    url = f"postgresql://me:pa55word@127.0.0.1:{free_port()}/interviews"
    started = time.monotonic()
    with pytest.raises(StorageUnavailable) as err:
        open_storage(url)
    assert time.monotonic() - started < 10
    msg = str(err.value)
    assert msg.startswith("cannot connect to the database postgresql://me:***@127.0.0.1:")
    assert "pa55word" not in msg and "\n" not in msg
    assert "refused" in msg.lower()
    out = subprocess.run([sys.executable, "-m", "agent", "sessions", "--database-url", url],
                         capture_output=True, text=True, env=cli_env(home), cwd=ROOT,
                         timeout=60, check=False)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith("interviewer: cannot connect to the database "
                                 "postgresql://me:***@")
    assert out.stderr.count("\n") == 1 and "pa55word" not in out.stderr


def test_no_postgres_is_a_skip_on_a_laptop_and_a_failure_in_ci(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """tests/postgres.py's fixture: without server binaries the Postgres tests skip, saying why,
    unless INTERVIEWER_REQUIRE_POSTGRES=1 (set by .ci/run) makes that a failure."""
    from tests import postgres

    monkeypatch.setattr(postgres, "find_bindir", lambda: None)
    monkeypatch.delenv(postgres.URL_ENV, raising=False)
    monkeypatch.delenv(postgres.REQUIRE_ENV, raising=False)

    def outcome() -> BaseException:
        # Caught as BaseException: a skip escaping this test would only skip it, not fail it.
        try:
            next(postgres.cluster_or_skip())
        except BaseException as e:
            return e
        raise AssertionError("a cluster started without server binaries")

    skipped = outcome()
    assert type(skipped) is pytest.skip.Exception, skipped
    assert "no PostgreSQL server binaries" in str(skipped)
    monkeypatch.setenv(postgres.REQUIRE_ENV, "1")
    failed = outcome()
    assert type(failed) is pytest.fail.Exception, failed
    assert "INTERVIEWER_REQUIRE_POSTGRES is set but PostgreSQL cannot run" in str(failed)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "export INTERVIEWER_REQUIRE_POSTGRES=1" in ci and "install -y -qq postgresql" in ci


def test_a_database_that_does_not_exist_is_named(pg_cluster: Any) -> None:
    with pytest.raises(StorageUnavailable, match='database "no_such_db" does not exist'):
        open_storage(pg_cluster.url("no_such_db"))


def test_the_advisory_lock_is_taken_again_after_a_server_restart(pg_url: str) -> None:
    """A restart drops every connection, and the lock with it; check() takes it again, or says
    another process has it now."""
    import psycopg

    with open_storage(pg_url) as store:
        lock = store.session_lock("aaaa1111")
        assert lock.acquire()
        # What a restart does to this process: its lock connection is terminated.
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE "
                          "locktype='advisory' AND pid <> pg_backend_pid()")
        lock.check()
        assert lock.held
        with open_storage(pg_url) as other:
            assert not other.session_lock("aaaa1111").acquire()  # ours again
        # Lost, and another process took it in the meantime.
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE "
                          "locktype='advisory' AND pid <> pg_backend_pid()")
        with open_storage(pg_url) as other:
            thief = other.session_lock("aaaa1111")
            assert thief.acquire()
            with pytest.raises(SessionTaken, match="opened by another interviewer process"):
                lock.check()
            thief.release()


def test_sessions_json_is_the_same_on_both_backends(backend: str, home: Path) -> None:
    from tests.conftest import run_cli
    from tests.helpers import INTERVIEW_BLOCKS, stdin_of

    out = run_cli(home, "chat", "--case", "fintech-p99-spikes",
                  stdin=stdin_of(INTERVIEW_BLOCKS[:3]))
    assert out.returncode == 0, out.stderr
    listed = json.loads(run_cli(home, "sessions", "--json").stdout)
    assert [(r["case"], r["status"], r["step"], r["answered"]) for r in listed] == [
        ("fintech-p99-spikes", "in_progress", "diagnose", 3)]
    assert (home / "interviewer.db").exists() == (backend == "sqlite")
