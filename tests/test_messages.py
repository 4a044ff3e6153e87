"""Messages a new user hit (defects 5 and 6 of issue 14): evidence cut at abbreviations, session
ids, commands with words after them, a reopened session, pending answers in the listing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.helpers import CASE, INTERVIEW_BLOCKS, only_session, sessions, stdin_of

# -- defect 5: evidence quotes break at abbreviations ---------------------------------------

def test_sentences_do_not_end_at_abbreviations() -> None:
    from agent.signals import sentences

    text = ("We miss the deadline SLA (e.g. at peak) by 2x vs. the target. U.S. customers "
            "pay more, i.e. the enterprise tier. Latency, cost, etc. Then we act.\nA new line. "
            "The p99 is 500 ms. That is the target.")
    assert sentences(text) == [
        "We miss the deadline SLA (e.g. at peak) by 2x vs. the target.",
        "U.S. customers pay more, i.e. the enterprise tier.",
        "Latency, cost, etc.",
        "Then we act.",
        "A new line.",
        "The p99 is 500 ms.",
        "That is the target.",
    ]


def test_an_evidence_quote_keeps_the_whole_sentence_past_e_g() -> None:
    from agent.cases import get_case
    from agent.scorers import OfflineScorer

    answer = ("We keep missing the p99 deadline SLA (e.g. at market open) because cold starts "
              "hit when autoscaling adds replicas.")
    score = OfflineScorer().score_step(get_case(CASE), "diagnose",
                                       [("interviewer", "Why?"), ("candidate", answer)])
    quotes = [q for c in score.criteria for q in c.evidence]
    assert quotes and all(q == answer.rstrip(".") for q in quotes), quotes


# -- defect 6: messages --------------------------------------------------------------------

def test_report_of_a_missing_session_names_no_flag_report_does_not_have(home: Path) -> None:
    run_cli(home, "chat", "--case", CASE, stdin="What is the QPS?\n")
    out = run_cli(home, "report", "deadbeef")
    assert out.returncode == 1
    assert out.stderr == ("interviewer: no session 'deadbeef' (see 'interviewer sessions' for "
                          "the saved ones)\n")
    assert "--session" not in out.stderr


@pytest.mark.parametrize("db", [False, True])
def test_an_invalid_id_gets_one_message_everywhere(home: Path, db: bool) -> None:
    if db:
        run_cli(home, "chat", "--case", CASE, stdin="What is the QPS?\n")
    said = {}
    for args, flag in ((["chat", "--session", "BAD!"], "--session"),
                       (["report", "BAD!"], "SESSION"), (["trace", "BAD!"], "SESSION")):
        out = run_cli(home, *args)
        assert out.returncode == 1, args
        assert out.stderr.startswith(f"interviewer: {flag}: "), out.stderr
        said[args[0]] = out.stderr.split(f"{flag}: ", 1)[1]
    assert len(set(said.values())) == 1, said
    assert "'BAD!' is not a session id (ids look like 1f3a9c2e" in said["chat"]
    said = {}
    for args in (["chat", "--session", "feedfeed"], ["report", "feedfeed"],
                 ["trace", "feedfeed"]):
        out = run_cli(home, *args)
        assert out.returncode == 1
        said[args[0]] = out.stderr.split("no session", 1)[1]
    assert len(set(said.values())) == 1, said


def test_an_upper_case_id_names_the_same_session(home: Path) -> None:
    run_cli(home, "chat", "--case", CASE, stdin="What is the QPS?\n")
    sid = str(only_session(home)["id"])
    out = run_cli(home, "chat", "--session", sid.upper(), stdin="Who is the user?\n")
    assert out.returncode == 0, out.stderr
    assert f"Resuming session {sid}" in out.stdout
    assert only_session(home)["answered"] == 2
    for args in (["report", sid.upper()], ["trace", sid.upper()]):
        out = run_cli(home, *args)
        assert out.returncode == 0, out.stderr


def test_help_with_words_after_it_is_help_not_an_answer(home: Path) -> None:
    out = run_cli(home, "chat", "--case", CASE, stdin="/help me\n\nWhat is the QPS?\n")
    assert out.returncode == 0, out.stderr
    assert "/repeat" in out.stdout and "show these commands" in out.stdout
    assert only_session(home)["answered"] == 1


def test_a_state_changing_command_with_words_is_refused_and_nothing_sent(home: Path) -> None:
    out = run_cli(home, "chat", "--case", CASE, stdin="/next please\n\nWhat is the QPS?\n")
    assert out.returncode == 0, out.stderr
    assert "Nothing was sent: /next is a command and takes nothing after it" in out.stdout
    assert "Step 2 of 6" not in out.stdout
    row = only_session(home)
    assert row["answered"] == 1 and row["step"] == "clarify"


def test_reopening_a_completed_session_does_not_time_the_feedback(home: Path) -> None:
    out = run_cli(home, "chat", "--case", CASE, stdin=stdin_of(INTERVIEW_BLOCKS))
    assert "Feedback ready" in out.stdout
    sid = str(only_session(home)["id"])
    out = run_cli(home, "chat", "--session", sid)
    assert out.returncode == 0, out.stderr
    assert f"Session {sid} is already complete" in out.stdout
    assert "Feedback ready" not in out.stdout and "after your last answer" not in out.stdout


def test_sessions_counts_an_answer_saved_and_waiting_to_replay(home: Path) -> None:
    from agent.cases import get_case
    from agent.config import Settings
    from agent.engine import Engine

    with Engine(Settings(), db=home / "interviewer.db") as engine:
        session = engine.start(get_case(CASE))
        engine.store.journal(session.id, 0, "What is the QPS at peak?")  # killed mid-turn
        sid = session.id
    [row] = sessions(home)
    assert row["answered"] == 1 and row["pending_answer"] is True
    text = run_cli(home, "sessions").stdout
    assert f"{sid}" in text and " 1*" in text and "replays when you resume" in text
    run_cli(home, "chat", "--session", sid)  # replays it
    [row] = sessions(home)
    assert row["answered"] == 1 and row["pending_answer"] is False


def test_sessions_shows_overall_and_band(home: Path) -> None:
    run_cli(home, "chat", "--case", CASE, stdin=stdin_of(INTERVIEW_BLOCKS))
    run_cli(home, "chat", "--case", "gpu-price-shift", stdin="What changed in GPU prices?\n")
    report = json.loads(run_cli(home, "report", str(sessions(home)[1]["id"]),
                                "--format", "json").stdout)
    done, _ = sorted(sessions(home), key=lambda r: r["status"])
    assert done["status"] == "completed"
    assert done["overall"] == report["overall"] and done["band"] == report["band"]
    text = run_cli(home, "sessions").stdout
    line = next(line for line in text.splitlines() if line.startswith(str(done["id"])))
    assert f"{report['overall']:.2f}" in line and report["band"] in line


def test_a_completed_session_without_a_stored_summary_is_summarised_offline(home: Path) -> None:
    """Sessions finished before summaries were kept (or killed while the report was made)."""
    import sqlite3

    run_cli(home, "chat", "--case", CASE, stdin=stdin_of(INTERVIEW_BLOCKS))
    [before] = sessions(home)
    conn = sqlite3.connect(home / "interviewer.db")
    with conn:
        conn.execute("DELETE FROM results")
    conn.close()
    [after] = sessions(home)
    assert after["overall"] == before["overall"] is not None and after["band"] == before["band"]
