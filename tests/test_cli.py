"""The command line as a user runs it: piped interviews, listings, and bad input."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, cli_env, run_cli
from tests.helpers import CASE, INTERVIEW_BLOCKS, only_session, sessions, stdin_of

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


def test_the_offline_banner_describes_the_scorer_as_the_report_does() -> None:
    """Both say keyword rules plus a local embedding matcher: neither claims keywords alone."""
    from agent.chat import offline_banner
    from agent.config import Settings
    from agent.report import ScorerInfo, scorer_text

    banner = " ".join(offline_banner(Settings()).split())
    header = scorer_text(ScorerInfo(type="offline", rubrics="r"))
    assert "local embedding matcher for paraphrases" in banner
    assert "local embedding matcher for paraphrases" in header
    assert "keyword coverage" not in banner and "not a model's judgement" in banner


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
    assert "Saved.\nResume with: interviewer chat --session" in out.stdout
    assert row["answered"] == 1


def test_help_and_unknown_commands(home: Path) -> None:
    out = run_cli(home, "chat", "--case", CASE, stdin="/help\n\n/dance\n\n/repeat\n")
    assert "/skip" in out.stdout and "Unknown command /dance" in out.stdout
    assert out.stdout.count("What would you like to clarify") >= 2
    [row] = sessions(home)
    assert row["answered"] == 0


def test_commands_are_read_in_any_case_and_the_banner_lists_the_modes_own(
        home: Path) -> None:
    exam = run_cli(home, "chat", "--case", CASE, stdin="/Help\n\n/NEXT\n\n/Quit\n")
    assert exam.returncode == 0, exam.stderr
    assert "Commands: /help /repeat /next /skip /quit  ·" in exam.stdout
    assert "Unknown command" not in exam.stdout and "/hint" not in exam.stdout
    assert "Saved.\nResume with:" in exam.stdout
    [row] = sessions(home)
    assert row["step"] == "diagnose"  # /NEXT moved on
    coach = run_cli(home, "chat", "--case", CASE, "--mode", "coach", stdin="/quit\n")
    assert "Commands: /help /repeat /next /skip /hint /quit  ·" in coach.stdout


def test_a_home_that_is_a_file_is_reported_by_commands_that_only_read(
        home: Path, tmp_path: Path) -> None:
    not_a_dir = tmp_path / "passwd"
    not_a_dir.write_text("root:x:0:0\n")
    chat = run_cli(not_a_dir, "chat", "--case", CASE, stdin="What is the QPS?\n")
    said = f"interviewer: cannot create INTERVIEWER_HOME {not_a_dir} (File exists); set " \
        "INTERVIEWER_HOME to a writable directory\n"
    assert chat.returncode == 1 and chat.stderr == said, chat.stderr
    for args in (["sessions"], ["sessions", "--json"], ["progress"], ["report", "abcd1234"],
                 ["trace", "abcd1234"], ["chat", "--session", "abcd1234"]):
        out = run_cli(not_a_dir, *args)
        assert (out.returncode, out.stderr, out.stdout) == (1, said, ""), args
    below = run_cli(not_a_dir / "home", "sessions")
    assert below.returncode == 1 and f"{not_a_dir}/home (Not a directory)" in below.stderr
    assert not_a_dir.read_text() == "root:x:0:0\n"
    # A home not made yet is still just empty, and listing it creates nothing.
    fresh = run_cli(tmp_path / "new", "sessions")
    assert fresh.returncode == 0 and "no sessions yet" in fresh.stdout
    assert not (tmp_path / "new").exists()


def test_eval_alone_names_every_subcommand_the_parser_has(home: Path) -> None:
    from agent.cli import build_parser

    out = run_cli(home, "eval")
    assert out.returncode == 1
    parser = build_parser()
    [eval_names] = [a.choices["eval"]._subparsers._group_actions[0].choices  # type: ignore
                    for a in parser._subparsers._group_actions]  # type: ignore[union-attr]
    names = list(eval_names)
    assert {"run", "compare", "gate", "behaviour", "simulate"} <= set(names)
    assert out.stderr == (f"interviewer: eval: name a subcommand: {', '.join(names[:-1])} or "
                          f"{names[-1]} (see 'interviewer eval --help')\n")


def test_cases_lists_ids_first(home: Path) -> None:
    out = run_cli(home, "cases")
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert len(lines) >= 8 and any(line.split()[0] == CASE for line in lines)
    data = json.loads(run_cli(home, "cases", "--json").stdout)
    assert CASE in [c["id"] for c in data]


def test_sessions_newest_first(home: Path) -> None:
    run_cli(home, "chat", "--case", CASE, stdin="What is the QPS?\n")
    run_cli(home, "chat", "--case", "gpu-price-shift", stdin="Who is the user?\n")
    rows = sessions(home)
    assert [r["case"] for r in rows] == ["gpu-price-shift", CASE]
    assert {"id", "case", "mode", "status", "step", "answered"} <= set(rows[0])
    text = run_cli(home, "sessions").stdout
    assert text.splitlines()[1].split()[0] == rows[0]["id"]


def test_no_input_at_all_leaves_no_session_behind(home: Path) -> None:
    """`interviewer chat < /dev/null` (the README's first command away from a terminal) used
    to leave an empty in-progress session every time (trial 27)."""
    run_cli(home, "chat", "--case", CASE, stdin="What is the QPS?\n")
    before = sessions(home)
    for stdin in ("", "\n\n"):
        out = run_cli(home, "chat", "--case", CASE, stdin=stdin)
        assert out.returncode == 0 and "Traceback" not in out.stderr
        assert "no session was saved" in out.stdout and "Resume with" not in out.stdout
    assert sessions(home) == before


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


# -- the terminal: Ctrl-D, resuming, commands, the banner -------------------------------------

def _pty_chat(home: Path, *args: str, typed: list[bytes]) -> tuple[int, str]:
    """Run ``interviewer`` on a pseudo-terminal (so stdin is a TTY and answers are read at the
    prompt), typing each of ``typed`` once the prompt is waiting for it. Returns (exit code,
    everything the terminal showed)."""
    import os
    import select
    import subprocess
    import time

    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "agent", *args], stdin=slave, stdout=slave,
                            stderr=slave, env=cli_env(home), cwd=ROOT, close_fds=True)
    os.close(slave)
    shown = b""

    def read_until(done: Callable[[bytes], bool], timeout: float = 30) -> None:
        nonlocal shown
        deadline = time.monotonic() + timeout
        while not done(shown) and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    return
                if not data:
                    return
                shown += data

    try:
        for keys in typed:
            prompts = shown.count(b"You: ")
            read_until(lambda out, n=prompts: out.count(b"You: ") > n)  # type: ignore[misc]
            os.write(master, keys)
        read_until(lambda out: proc.poll() is not None and b"Resume with" in out)
        code = proc.wait(timeout=30)
        read_until(lambda out: False, timeout=0.5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return code, shown.decode("utf-8", "replace").replace("\r\n", "\n")


def test_ctrl_d_at_the_prompt_saves_and_prints_the_resume_command(home: Path) -> None:
    code, shown = _pty_chat(home, "chat", "--case", CASE,
                            typed=[b"What is the QPS?\n\n", b"\x04"])
    assert code == 0, shown
    assert "internal error" not in shown and "EOFError" not in shown
    row = only_session(home)
    assert row["answered"] == 1
    assert f"End of input. Session {row['id']} saved." in shown
    assert f"Resume with: interviewer chat --session {row['id']}" in shown


def test_ctrl_d_after_typing_sends_the_typed_lines_like_a_pipe(home: Path) -> None:
    code, shown = _pty_chat(home, "chat", "--case", CASE, typed=[b"Who is the user?\n", b"\x04"])
    assert code == 0, shown
    assert only_session(home)["answered"] == 1 and "Resume with" in shown


def _journal_an_answer(home: Path, text: str) -> str:
    """A session with one answer recorded and a second journaled but never run: the state a
    process killed mid-turn leaves behind."""
    from agent.cases import get_case
    from agent.config import Settings
    from agent.engine import Engine

    with Engine(Settings(), db=home / "interviewer.db") as engine:
        session = engine.start(get_case(CASE))
        session.answer("Who is the customer?")
        seq = sum(1 for t in session.state()["turns"] if t["role"] == "candidate")
        engine.store.journal(session.id, seq, text)
        return session.id


def test_resuming_replays_a_journaled_answer_once_and_shows_it(home: Path) -> None:
    asked = "What is the QPS at peak, and what is the latency target? " * 3
    sid = _journal_an_answer(home, asked.strip())
    out = run_cli(home, "chat", "--session", sid)
    assert out.returncode == 0, out.stderr
    assert "(1 answer so far)" in out.stdout  # and not "1 answers"
    preview = " ".join(asked.split())[:80]
    assert f"(replaying your saved answer: {preview}…)" in out.stdout
    reply = out.stdout.split("(replaying your saved answer:")[1]
    assert reply.count("Interviewer: ") == 1, out.stdout  # the reply once, no re-ask
    assert "300 requests per second" in reply
    assert out.stdout.count("300 requests per second") == 1
    assert only_session(home)["answered"] == 2


def test_resuming_without_a_journaled_answer_asks_the_question_again(home: Path) -> None:
    out = run_cli(home, "chat", "--case", CASE, stdin="What is the QPS?\n\nWho is the user?\n")
    sid = str(only_session(home)["id"])
    out = run_cli(home, "chat", "--session", sid)
    assert out.returncode == 0 and "(2 answers so far)" in out.stdout
    assert "replaying" not in out.stdout
    assert out.stdout.count("What would you like to clarify") == 1


def test_repeat_repeats_the_question_not_the_last_fact(home: Path) -> None:
    out = run_cli(home, "chat", "--case", CASE, stdin="What is the QPS?\n\n/repeat\n")
    after = out.stdout.split("You: /repeat")[1]
    assert "What would you like to clarify" in after and "requests per second" not in after
    # In a later step it is the follow-up being answered.
    blocks = ["What is the QPS?", "/next", "Autoscaling lags the spikes.", "/repeat"]
    out = run_cli(home, "chat", "--case", CASE, stdin=stdin_of(blocks))
    before, after = out.stdout.rsplit("You: /repeat", 1)
    last_question = before.rstrip().rsplit("Interviewer: ", 1)[1].strip()
    assert after.split("Interviewer: ", 1)[1].strip().startswith(last_question)


def test_a_command_line_inside_an_answer_sends_the_answer_then_runs(home: Path) -> None:
    out = run_cli(home, "chat", "--case", CASE,
                  stdin="What is the QPS?\nAnd the latency target?\n/next\nLogs in\n/var/log\n")
    assert out.returncode == 0, out.stderr
    assert "You: What is the QPS?\nAnd the latency target?\n" in out.stdout
    assert "Step 2 of 6" in out.stdout  # /next ran after the answer
    # A slash word that is not a command stays part of the answer it is in.
    assert "You: Logs in\n/var/log" in out.stdout and "Unknown command" not in out.stdout
    assert only_session(home)["answered"] == 2


def test_the_banner_never_cuts_the_session_id(home: Path) -> None:
    run_cli(home, "chat", "--case", CASE, stdin="What is the QPS?\n")
    sid = str(only_session(home)["id"])
    url = "http://127.0.0.1:9/" + "very-long-path/" * 12 + "v1"
    out = run_cli(home, "chat", "--session", sid, "--base-url", url, "--model", "m" * 40)
    # Nothing listens there: the check before the interview stops it (the banner came first).
    assert out.returncode == 3 and "not responding" in out.stderr, out.stderr
    assert f"interviewer chat --session {sid} --offline" in out.stderr
    panel = out.stdout.split("Commands:")[0]
    assert f"session {sid}" in panel
    assert "very-long-path/v1" in panel.replace("│", "").replace("\n", "").replace(" ", "")


def test_resume_notes_the_flags_the_saved_session_fixes(home: Path) -> None:
    run_cli(home, "chat", "--case", CASE, stdin="What is the QPS?\n")
    sid = str(only_session(home)["id"])
    out = run_cli(home, "chat", "--session", sid, "--mode", "coach", "--case", CASE)
    assert out.returncode == 0, out.stderr
    assert "Note: ignoring --mode coach: a resumed session keeps its own" in out.stdout
    assert "--case" not in out.stdout.split("Note:")[1].splitlines()[0].split(":")[0]
    out = run_cli(home, "chat", "--session", sid, "--mode", "exam", "--max-followups", "2")
    assert "Note:" not in out.stdout  # the same values are not "ignored"


def test_a_second_process_is_refused_before_the_banner(home: Path) -> None:
    from agent.storage import open_storage

    run_cli(home, "chat", "--case", CASE, stdin="What is the QPS?\n")
    sid = str(only_session(home)["id"])
    with open_storage(home / "interviewer.db") as store:
        lock = store.session_lock(sid)
        assert lock.acquire()
        try:
            out = run_cli(home, "chat", "--session", sid)
        finally:
            lock.release()
    assert out.returncode == 1
    assert f"session {sid} is open in another interviewer process" in out.stderr
    assert out.stdout == ""  # nothing printed before the refusal


def test_a_broken_data_file_is_reported_before_the_banner(home: Path, tmp_path: Path) -> None:
    import shutil

    from agent.paths import data_dir

    rubrics = tmp_path / "rubrics"
    shutil.copytree(data_dir("rubrics"), rubrics)
    (rubrics / "goals.yaml").write_text("criteria: [\n", encoding="utf-8")
    out = run_cli(home, "chat", "--case", CASE, INTERVIEWER_RUBRICS=str(rubrics))
    assert out.returncode == 1 and "goals.yaml" in out.stderr
    assert out.stdout == ""


# -- offline, home, listings ----------------------------------------------------------------

def test_offline_needs_no_config_and_says_it_was_forced(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text("bogus = 1\n")
    out = run_cli(home, "chat", "--case", CASE)
    assert out.returncode == 1 and "unknown setting 'bogus'" in out.stderr
    out = run_cli(home, "chat", "--case", CASE, "--offline",
                  INTERVIEWER_BASE_URL="http://127.0.0.1:9/v1")
    assert out.returncode == 0, out.stderr
    assert "offline (forced by --offline)" in out.stdout
    assert "no model is configured" not in out.stdout
    (home / "config.toml").unlink()
    out = run_cli(home, "chat", "--case", CASE)
    assert "no model is configured" in out.stdout
    assert "--model" in out.stdout.split("OFFLINE MODE")[1].split("Commands:")[0]


def test_listing_sessions_does_not_create_the_home(home: Path) -> None:
    out = run_cli(home, "sessions")
    assert out.returncode == 0 and "no sessions yet" in out.stdout
    assert json.loads(run_cli(home, "sessions", "--json").stdout) == []
    out = run_cli(home, "trace", "deadbeef")
    assert out.returncode == 1 and "no session 'deadbeef'" in out.stderr
    out = run_cli(home, "report", "deadbeef")
    assert out.returncode == 1 and "no session 'deadbeef'" in out.stderr
    out = run_cli(home, "chat", "--session", "deadbeef")
    assert out.returncode == 1 and "no session 'deadbeef'" in out.stderr
    assert not home.exists()


def test_an_empty_interviewer_home_is_the_documented_default(home: Path,
                                                             tmp_path: Path) -> None:
    assert "also when it is set but empty" in run_cli(home, "--help").stdout
    xdg = tmp_path / "xdg"
    out = run_cli(home, "chat", "--case", CASE, stdin="What is the QPS?\n",
                  INTERVIEWER_HOME="", XDG_DATA_HOME=str(xdg))
    assert out.returncode == 0, out.stderr
    assert (xdg / "interviewer" / "interviewer.db").exists() and not home.exists()


def test_output_never_overwrites_the_database_or_an_input(home: Path, tmp_path: Path) -> None:
    run_cli(home, "chat", "--case", CASE, stdin="What is the QPS?\n")
    sid = str(only_session(home)["id"])
    db = (home / "interviewer.db").read_bytes()
    for target in ("interviewer.db", "interviewer.db-wal", "interviewer.db-shm"):
        out = run_cli(home, "report", sid, "--output", str(home / target))
        assert out.returncode == 1 and "is the interviewer database" in out.stderr, target
        assert "refusing to overwrite it" in out.stderr
    link = tmp_path / "link.db"
    link.symlink_to(home / "interviewer.db")
    out = run_cli(home, "report", sid, "--output", str(link))
    assert out.returncode == 1 and "is the interviewer database" in out.stderr
    assert (home / "interviewer.db").read_bytes() == db
    assert only_session(home)["answered"] == 1

    dataset = tmp_path / "same.json"
    dataset.write_bytes((ROOT / "evals" / "datasets" / "dev.jsonl").read_bytes())
    before = dataset.read_bytes()
    out = run_cli(home, "eval", "run", str(dataset), "--output", str(dataset), "--bootstrap",
                  "0", "--quiet")
    assert out.returncode == 1 and "is an input of this command" in out.stderr
    assert dataset.read_bytes() == before


# -- errors: clear, one line, redacted, and light --------------------------------------------

def test_bad_session_ids_are_refused_before_the_store(home: Path) -> None:
    for args in (["chat", "--session", "\udcff"], ["trace", "\udcff"], ["report", "\udcff"]):
        out = run_cli(home, *args)
        assert out.returncode == 1, args
        assert "'\\xff' is not a session id" in out.stderr and "codec" not in out.stderr
    assert not home.exists()


def test_error_messages_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.cli import _describe

    monkeypatch.setenv("INTERVIEWER_API_KEY", "plain-key-without-a-prefix")
    for e in (ValueError("header Authorization: Bearer sk-abcdefghijklmnop"),
              TypeError("bad api_key=sk-abcdefghijklmnop in request"),
              OSError("endpoint said plain-key-without-a-prefix is wrong")):
        text = _describe(e)
        assert "abcdefghijklmnop" not in text and "plain-key-without" not in text, text
        assert "[redacted]" in text and "\n" not in text


def test_error_paths_do_not_import_the_sdk(home: Path) -> None:
    import subprocess

    for args in (["sessions"], ["chat", "--session", "BAD!"], ["trace", "deadbeef"]):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "agent", *args],
                              capture_output=True, text=True, env=cli_env(home), cwd=ROOT)
        assert "openai" not in proc.stderr and "langgraph" not in proc.stderr, args


def test_every_help_description_fits_an_80_column_terminal(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A description written as one paragraph is filled to the terminal's width; one written as
    # lines (setup's) keeps them. Before, doctor's, chat's, serve's... printed as one long line.
    import argparse

    from agent.cli import build_parser

    monkeypatch.setenv("COLUMNS", "80")

    def commands(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
        yield parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from commands(sub)

    seen = 0
    for parser in commands(build_parser()):
        text = parser.format_help()
        description = parser.description or ""
        if not description:
            continue
        seen += 1
        first = description.split()[0]
        start = text.index(first)
        shown = text[start:start + len(" ".join(description.split())) + 200].split("\n\n")[0]
        assert max(len(line) for line in shown.splitlines()) <= 80, (parser.prog, shown)
    assert seen >= 10


@pytest.mark.parametrize("module", ["evals.clarify_cv", "evals.clarify_probe",
                                    "evals.scoring_cv", "evals.why"])
def test_a_developer_tools_help_says_its_whole_first_paragraph(
        module: str, capsys: pytest.CaptureFixture[str]) -> None:
    # These printed the docstring's first line alone, cut mid-sentence ("...on a JSONL file in").
    import importlib

    tool = importlib.import_module(module)
    with pytest.raises(SystemExit):
        tool.main(["--help"])
    shown = " ".join(capsys.readouterr().out.split())
    first = " ".join(tool.__doc__.split("\n\n")[0].split())
    assert first.endswith(".") and first in shown
    assert f"usage: python -m {module}" in shown


def test_resuming_shows_the_step_so_far_with_the_facts_told(home: Path) -> None:
    # A new-user trial resumed after Ctrl-C in clarify and saw the case prompt alone: the facts
    # already told were nowhere on screen.
    out = run_cli(home, "chat", "--case", CASE, stdin="What is the QPS?\n\nWho is the user?\n")
    told = out.stdout.split("You: What is the QPS?", 1)[1].split("You: Who is the user?")[0]
    fact = told.split("Interviewer: ", 1)[1].strip()
    assert fact
    sid = str(only_session(home)["id"])
    again = run_cli(home, "chat", "--session", sid)
    assert again.returncode == 0, again.stderr
    shown = again.stdout.split("(2 answers so far)", 1)[1]
    assert "You: What is the QPS?" in shown and "You: Who is the user?" in shown
    assert " ".join(fact.split())[:60] in " ".join(shown.split())
    assert shown.count("What would you like to clarify") == 1


def test_a_mistyped_flag_names_its_command_and_the_closest_flag(
        capsys: pytest.CaptureFixture[str]) -> None:
    # Before: "interviewer: error: unrecognized arguments: --workres 2 (see 'interviewer --help')"
    from agent.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["eval", "run", "evals/datasets/dev.jsonl", "--workres", "2",
              "--output", "/tmp/never.json"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1
    assert err.startswith("interviewer eval run: error: unrecognized arguments: --workres 2; "
                          "did you mean --workers?")
    assert "(see 'interviewer eval run --help')" in err
    with pytest.raises(SystemExit):
        main(["chat", "--zzzz"])
    err = capsys.readouterr().err
    assert err.startswith("interviewer chat: error: unrecognized arguments: --zzzz (see")
