"""The command line as a user runs it: piped interviews, listings, and bad input."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, cli_env, run_cli
from tests.helpers import CASE, INTERVIEW_BLOCKS, sessions, stdin_of

FULL_INTERVIEW = stdin_of(INTERVIEW_BLOCKS)


def test_a_piped_offline_interview_completes_and_says_offline(home: Path) -> None:
    out = run_cli(home, "chat", "--case", CASE, stdin=FULL_INTERVIEW)
    assert out.returncode == 0, out.stderr
    assert "OFFLINE MODE" in out.stdout and "authored" in out.stdout
    assert "Step 6 of 6" in out.stdout and "That's the end of the interview" in out.stdout
    assert out.stderr == ""
    [row] = sessions(home)
    assert row["status"] == "completed" and row["engine"] == "offline"
    assert row["answered"] == 7 and row["case"] == CASE


def test_end_of_input_saves_and_prints_the_resume_command(home: Path) -> None:
    out = run_cli(home, "chat", "--case", CASE, stdin="What is the QPS?\n\nWho is the user?\n")
    assert out.returncode == 0, out.stderr
    [row] = sessions(home)
    assert f"interviewer chat --session {row['id']}" in out.stdout
    assert row["status"] == "in_progress" and row["answered"] == 2
    out = run_cli(home, "chat", "--session", str(row["id"]), stdin=FULL_INTERVIEW)
    assert out.returncode == 0, out.stderr
    assert "Resuming session" in out.stdout
    [row] = sessions(home)
    assert row["status"] == "completed"


def test_quit_saves_and_exits(home: Path) -> None:
    out = run_cli(home, "chat", "--case", CASE, stdin="What is the QPS?\n\n/quit\n\nnever read\n")
    assert out.returncode == 0
    [row] = sessions(home)
    assert "Saved. Resume with: interviewer chat --session" in out.stdout
    assert row["answered"] == 1


def test_help_and_unknown_commands(home: Path) -> None:
    out = run_cli(home, "chat", "--case", CASE, stdin="/help\n\n/dance\n\n/repeat\n")
    assert "/skip" in out.stdout and "Unknown command /dance" in out.stdout
    assert out.stdout.count("What would you like to clarify") >= 2
    [row] = sessions(home)
    assert row["answered"] == 0


def test_cases_lists_ids_first(home: Path) -> None:
    out = run_cli(home, "cases")
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert len(lines) >= 8 and any(line.split()[0] == CASE for line in lines)
    data = json.loads(run_cli(home, "cases", "--json").stdout)
    assert CASE in [c["id"] for c in data]


def test_sessions_newest_first(home: Path) -> None:
    run_cli(home, "chat", "--case", CASE, stdin="What is the QPS?\n")
    run_cli(home, "chat", "--case", "gpu-price-shift", stdin="")
    rows = sessions(home)
    assert [r["case"] for r in rows] == ["gpu-price-shift", CASE]
    assert {"id", "case", "mode", "status", "step", "answered"} <= set(rows[0])
    text = run_cli(home, "sessions").stdout
    assert text.splitlines()[1].split()[0] == rows[0]["id"]


def test_help_does_not_import_langgraph_or_openai(home: Path) -> None:
    import subprocess

    for args in (["--help"], ["cases"], ["chat", "--help"]):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "agent", *args],
                              capture_output=True, text=True, env=cli_env(home), cwd=ROOT,
                              check=True)
        imported = proc.stderr
        assert "langgraph" not in imported and "openai" not in imported, args
        assert "agent.cli" in imported


# -- bad input ------------------------------------------------------------------------------

def test_empty_and_whitespace_answers_reprompt(home: Path) -> None:
    out = run_cli(home, "chat", "--case", CASE, stdin=b"   \t \n\x1b[2J\n\nWhat is the QPS?\n")
    assert out.returncode == 0 and "Traceback" not in out.stderr
    assert "Please type an answer" in out.stdout
    assert sessions(home)[0]["answered"] == 1


def test_a_1mb_answer_is_refused_and_the_question_stays_open(home: Path) -> None:
    huge = "latency " * (1024 * 1024 // 8)
    out = run_cli(home, "chat", "--case", CASE, stdin=huge + "\n\nWhat is the QPS?\n")
    assert out.returncode == 0, out.stderr
    assert "the limit is 20,000" in out.stdout
    assert sessions(home)[0]["answered"] == 1


def test_binary_bytes_are_cleaned_not_fatal(home: Path) -> None:
    data = b"What is the \x00QPS\xff\xfe?\x07\n\n\x1b]0;pwned\x07Who is the user?\n"
    out = run_cli(home, "chat", "--case", CASE, stdin=data)
    assert out.returncode == 0, out.stderr
    assert "\x00" not in out.stdout and "\x1b]0;" not in out.stdout
    assert sessions(home)[0]["answered"] == 2


def test_unknown_case_and_unknown_flag_are_one_line_errors(home: Path) -> None:
    out = run_cli(home, "chat", "--case", "nope")
    assert out.returncode == 1
    assert out.stderr.startswith("interviewer: unknown case 'nope'") and out.stderr.count("\n") == 1
    out = run_cli(home, "chat", "--colour")
    assert out.returncode == 2 and "unrecognized arguments: --colour" in out.stderr
    assert out.stderr.count("\n") == 1
    out = run_cli(home, "chat", "--session", "deadbeef")
    assert out.returncode == 1 and "no session 'deadbeef'" in out.stderr


@pytest.mark.parametrize("content", [b"this is not a database" * 100, b"\x00" * 4096])
def test_a_corrupt_home_database_is_a_clear_error(home: Path, content: bytes) -> None:
    home.mkdir(parents=True)
    (home / "interviewer.db").write_bytes(content)
    for args in (["sessions"], ["chat", "--case", CASE]):
        out = run_cli(home, *args, stdin="What is the QPS?\n")
        assert out.returncode == 1, out.stdout
        assert "Traceback" not in out.stderr and out.stderr.count("\n") == 1
        assert "corrupt or not an interviewer database" in out.stderr
        assert "INTERVIEWER_HOME" in out.stderr
    assert (home / "interviewer.db").read_bytes() == content  # left for the user to inspect
