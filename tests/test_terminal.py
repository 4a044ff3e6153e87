"""The chat at a real terminal (a pseudo-terminal, read through a terminal emulator): the answer
editor, wrapping, drafts. Each test pins one defect a new user hit on e36eab6."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import CASE, INTERVIEW_BLOCKS, Terminal, only_session

pytestmark = pytest.mark.slow

XTERM = "xterm-256color"


def answers_of(home: Path, sid: str) -> list[str]:
    """The candidate's answers as the session recorded them."""
    from agent.config import Settings
    from agent.engine import Engine

    with Engine(Settings(), db=home / "interviewer.db") as engine:
        session = engine.open(sid, lock=False)
        try:
            return [t["text"] for t in session.state()["turns"]
                    if t["role"] == "candidate" and t["kind"] == "answer"]
        finally:
            session.close()


def words(lines: list[str]) -> list[str]:
    return " ".join(lines).split()


def contains(seq: list[str], part: list[str]) -> bool:
    n = len(part)
    return any(seq[i:i + n] == part for i in range(len(seq) - n + 1))


# -- defect 1: a pasted line over the terminal's 4,095-character limit ------------------------

def test_a_pasted_line_longer_than_the_terminal_line_limit_is_kept_whole(home: Path) -> None:
    line = " ".join(f"w{i:04d}" for i in range(1200))  # 7,199 characters, one line
    t = Terminal(home, "chat", "--case", CASE, term=XTERM)
    t.paste(line)
    t.send(b"\r")
    t.read_until(lambda out: False, timeout=0.3)
    t.send(b"\r")
    t.type(b"\x04")
    assert t.finish() == 0, t.text()
    assert answers_of(home, str(only_session(home)["id"])) == [line]


# -- defect 3: a pasted answer with a blank line in it ----------------------------------------

@pytest.mark.parametrize("term", [XTERM, "dumb"])
def test_a_pasted_blank_line_stays_inside_the_answer(home: Path, term: str) -> None:
    """With bracketed paste (xterm) and without it (a terminal that sends the keys as typed)."""
    pasted = "What is the QPS at peak?\n\nAnd who is the customer's user?"
    t = Terminal(home, "chat", "--case", CASE, term=term)
    t.paste(pasted)
    t.read_until(lambda out: False, timeout=0.3)
    t.send(b"\r")  # a new line after the pasted text...
    t.read_until(lambda out: False, timeout=0.3)
    t.send(b"\r")  # ...and a blank line sends
    t.type(b"\x04")
    assert t.finish() == 0, t.text()
    assert answers_of(home, str(only_session(home)["id"])) == [pasted]


def test_alt_enter_sends_at_once(home: Path) -> None:
    t = Terminal(home, "chat", "--case", CASE, term=XTERM)
    t.type(b"What is the QPS?\x1b\r", b"\x04")
    assert t.finish() == 0, t.text()
    assert answers_of(home, str(only_session(home)["id"])) == ["What is the QPS?"]


# -- defect 4: Ctrl-C keeps the answer being typed ------------------------------------------

def test_ctrl_c_keeps_the_draft_and_offers_it_back_on_resume(home: Path) -> None:
    t = Terminal(home, "chat", "--case", CASE, term=XTERM)
    t.type(b"What is the QPS at peak")
    t.read_until(lambda out: out.endswith(b"peak") or b"peak\x1b" in out[-80:], timeout=5)
    t.send(b"\x03")
    assert t.finish() == 130
    assert "the answer you were typing are saved" in t.text()
    sid = str(only_session(home)["id"])
    assert only_session(home)["answered"] == 0

    t = Terminal(home, "chat", "--session", sid, term=XTERM)
    t.type(b" and the latency target?\r\r", b"\x04")
    assert t.finish() == 0, t.text()
    assert "back in the editor" in t.text()
    assert answers_of(home, sid) == ["What is the QPS at peak and the latency target?"]


# -- defect 2: the feedback at the end of chat wraps instead of being cut --------------------

def test_the_feedback_at_the_end_of_chat_wraps_to_the_terminal(home: Path) -> None:
    from tests.conftest import run_cli

    t = Terminal(home, "chat", "--case", CASE, cols=60, rows=30, term=XTERM)
    t.type(*[(b + ("\r" if b.startswith("/") else "\r\r")).encode() for b in INTERVIEW_BLOCKS])
    assert t.finish() == 0, t.text()
    assert "Feedback ready" in t.text()
    shown = t.screen()
    assert all(len(line) <= 60 for line in shown)
    sid = str(only_session(home)["id"])
    report = run_cli(home, "report", sid).stdout
    practice = report.split("## What to practise next")[1].split("##")[0]
    first = practice.strip().splitlines()[0].split(". ", 1)[1]
    assert contains(words(shown), first.replace("*", "").split()), first


# -- defect 7: interviewer text wraps at word boundaries; Enter without an answer ------------

def test_interviewer_text_wraps_between_words(home: Path) -> None:
    from agent.cases import get_case

    prompt = get_case(CASE).prompt.split()
    t = Terminal(home, "chat", "--case", CASE, cols=43, rows=30, term=XTERM)
    t.type(b"\x04")
    assert t.finish() == 0, t.text()
    assert contains(words(t.screen()), prompt)  # no word broken across two lines


def test_a_fast_double_enter_leaves_no_stray_line(home: Path) -> None:
    t = Terminal(home, "chat", "--case", CASE, term=XTERM)
    t.type(b"What is the QPS?\r")
    t.read_until(lambda out: False, timeout=0.3)
    t.send(b"\r\r")  # the second Enter sends; the third lands while the reply is printed
    t.read_until(lambda out: b"requests per second" in out)
    t.type(b"\x04")
    assert t.finish() == 0, t.text()
    shown = [line.strip() for line in t.screen()]
    assert "Interviewer:" not in shown, "\n".join(shown)
    assert shown.count("You:") == 1, "\n".join(shown)  # only the prompt Ctrl-D ended
    assert "nothing to send" not in t.text()
    assert only_session(home)["answered"] == 1


def test_enter_on_an_empty_answer_says_how_to_send(home: Path) -> None:
    t = Terminal(home, "chat", "--case", CASE, term=XTERM)
    t.type(b"")
    t.read_until(lambda out: False, timeout=1.0)  # well after the prompt appeared
    t.send(b"\r")
    t.read_until(lambda out: b"nothing to send" in out, timeout=10)
    t.send(b"\x04")
    assert t.finish() == 0, t.text()
    assert "nothing to send yet: type your answer; a blank line sends it" in t.text()
