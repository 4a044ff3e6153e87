"""The rules every driver shares (agent/commands.py) and the graph's client interface
(agent/schema.py): what an input is, what is refused and why, and what a bad start says."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent import commands
from agent.cases import default_cases
from agent.commands import Answer, Command, Refused, confirm_next, read_input, reply
from agent.schema import InputError, check_start, interrupt_schema
from agent.state import InterviewState, Turn
from tests.conftest import ROOT

LIST = "Commands: /help /repeat /next /skip /hint /quit"


@pytest.mark.parametrize(("value", "expected"), [
    ("What is the QPS?", Answer("What is the QPS?")),
    ({"answer": "  What is the QPS?\r\n"}, Answer("What is the QPS?")),
    ("\x1b[31mWhat is\x07 the \u202eQPS?\x00", Answer("What is the QPS?")),
    ("p99 < 500 ms </candidate>", Answer("p99 < 500 ms </candidate>")),  # fenced at prompt time
    ("/next", Command("next")),
    ("  /skip  ", Command("skip")),
    ({"answer": "/repeat"}, Command("repeat")),  # typed text is a command whichever way it came
    ({"command": "next"}, Command("next")),
    ({"command": "/hint"}, Command("hint")),
    ({"command": " quit "}, Command("quit")),
    ("/dance", Refused(f"Unknown command /dance. {LIST}", unknown="dance")),
    ({"command": "dance"}, Refused(f"Unknown command /dance. {LIST}", unknown="dance")),
    ("/Skip", Command("skip")),  # commands are read in any case
    ("/NEXT", Command("next")),
    ({"answer": " /Repeat "}, Command("repeat")),
    ({"command": "Hint"}, Command("hint")),
    ({"command": "/QUIT"}, Command("quit")),
    ("/", Refused(f"Unknown command /. {LIST}", unknown="")),
    ("", Refused(commands.EMPTY)),
    (None, Refused(commands.EMPTY)),
    ({"answer": None}, Refused(commands.EMPTY)),
    ("   \n\t", Refused(commands.EMPTY)),
    ("\u200b\u200d\ufeff\u2800", Refused(commands.EMPTY)),
    ("\x1b[2J\x1b]0;title\x07", Refused(commands.EMPTY)),
    ("\x00" * 2**20, Refused(commands.EMPTY)),  # a megabyte of NUL is an empty answer
])
def test_read_input(value: Any, expected: commands.Input) -> None:
    assert read_input(value) == expected


def test_answers_over_the_limit_are_refused_never_cut() -> None:
    assert read_input("x" * commands.MAX_ANSWER_CHARS) == Answer("x" * commands.MAX_ANSWER_CHARS)
    got = read_input("latency " * 3_625)
    assert got == Refused("That answer is 28,999 characters; the limit is 20,000. Please "
                          "shorten it and send it again.")  # counted once cleaned (trimmed)
    huge = read_input("y" * 5_000_000)  # refused on its raw length, before any cleaning
    assert isinstance(huge, Refused) and "5,000,000 characters" in huge.text


@pytest.mark.parametrize("value", [5, ["a"], {"answer": 5}, {"command": 5}, {"answer": "a",
                                   "command": "next"}, {}, {"text": "hi"}])
def test_inputs_of_the_wrong_shape_are_refused_with_the_shapes(value: Any) -> None:
    got = read_input(value)
    assert isinstance(got, Refused)
    assert '{"answer": "..."}' in got.text and '{"command": "next"}' in got.text


def _state(mode: str) -> InterviewState:
    return {"case_id": "fintech-p99-spikes", "mode": mode, "step": "clarify",  # type: ignore[typeddict-item]
            "turns": [Turn(role="interviewer", step="clarify", kind="prompt", text="Prompt?"),
                      Turn(role="candidate", step="clarify", kind="answer", text="QPS?"),
                      Turn(role="interviewer", step="clarify", kind="fact", text="300 rps.")]}


def test_replies_to_inputs_that_change_nothing() -> None:
    exam, coach = _state("exam"), _state("coach")
    assert reply(exam, Answer("a")) is None
    assert reply(exam, Command("next")) is None and reply(exam, Command("skip")) is None
    assert reply(coach, Command("hint")) is None
    assert reply(exam, Command("hint")) == {"kind": "refused", "text": commands.HINT_IN_EXAM}
    assert reply(exam, Refused("why")) == {"kind": "refused", "text": "why"}
    # /repeat repeats the question being answered, never the last clarify fact.
    assert reply(exam, Command("repeat")) == {"kind": "repeat", "text": "Prompt?"}
    assert reply(exam, Command("quit")) == {"kind": "quit", "text": commands.QUIT}
    # /help lists what does something now: /hint only in coach mode.
    exam_help, coach_help = reply(exam, Command("help")), reply(coach, Command("help"))
    assert exam_help is not None and coach_help is not None
    assert "/next" in exam_help["text"] and "/hint" not in exam_help["text"]
    assert "/hint" in coach_help["text"]
    # An unknown command is refused with the commands of the mode.
    assert reply(exam, read_input("/Dance")) == {
        "kind": "refused", "text": "Unknown command /dance. Commands: /help /repeat /next /skip "
        "/quit"}
    unknown_in_coach = reply(coach, read_input({"command": "dance"}))
    assert unknown_in_coach is not None and "/skip /hint /quit" in unknown_in_coach["text"]
    assert commands.allowed("exam") == ["help", "repeat", "next", "skip", "quit"]
    assert commands.allowed("coach") == ["help", "repeat", "next", "skip", "hint", "quit"]


CASES = sorted(default_cases())


@pytest.mark.parametrize(("given", "says"), [
    ({}, "case_id: missing; the input needs the case to interview, one of: "),
    ({"case_id": "nope"}, 'case_id: unknown case "nope"; choose one of: '),
    ({"case_id": None}, "case_id: must be a case id (text), not null; one of: "),
    ({"case_id": CASES[0], "mode": "bad"}, 'mode: "bad" is not a mode; use "exam" or "coach"'),
    ({"case_id": CASES[0], "max_followups": -1},
     "max_followups: -1 is not allowed; a whole number from 0 to 5 (default 2)"),
    ({"case_id": CASES[0], "max_followups": "lots"},
     'max_followups: "lots" is not allowed; a whole number from 0 to 5'),
    ({"case_id": CASES[0], "case": "x"}, "case: unknown field; the input takes case_id, mode"),
])
def test_bad_starts_name_the_field_and_the_values(given: dict[str, Any], says: str) -> None:
    with pytest.raises(InputError) as e:
        check_start(given, CASES)
    assert says in str(e.value) and "\n" not in str(e.value)
    if says.startswith("case_id"):
        assert ", ".join(CASES) in str(e.value)


def test_every_bad_field_is_named_at_once() -> None:
    with pytest.raises(InputError, match=r"case_id: missing.*; mode: .*; max_followups: "):
        check_start({"mode": "x", "max_followups": 7}, CASES)


def test_a_good_start_gets_its_defaults() -> None:
    start = check_start({"case_id": CASES[0]}, CASES)
    assert (start.mode, start.max_followups) == ("exam", 2)
    assert check_start({"case_id": CASES[0], "max_followups": "3"}, CASES).max_followups == 3


def test_the_shipped_interrupt_schema_matches_the_payload_model() -> None:
    shipped = json.loads((ROOT / "docs" / "interrupt.schema.json").read_text())
    assert shipped == interrupt_schema()


def test_next_in_a_step_the_interview_moved_to_by_itself_asks_first() -> None:
    # Trial 17: stated assumptions ended clarify ("Thanks, let's work with those assumptions."
    # and the diagnose question); a /next meant for clarify then skipped diagnose unanswered.
    def turn(role: str, step: str, kind: str, text: str = "...") -> Turn:
        return Turn(role=role, step=step, kind=kind, text=text)  # type: ignore[typeddict-item]

    by_itself: InterviewState = {"step": "diagnose", "turns": [
        turn("interviewer", "clarify", "prompt"), turn("candidate", "clarify", "answer"),
        turn("interviewer", "diagnose", "opener")]}
    assert reply(by_itself, Command("next")) is None  # asked in the graph, not by the drivers
    first = confirm_next(by_itself, Command("next"))
    assert first is not None and first["kind"] == "refused"
    assert "Diagnose root causes" in first["text"] and "/next again" in first["text"]
    assert confirm_next({**by_itself, "notice": first}, Command("next")) is None  # the 2nd goes
    assert confirm_next(by_itself, Command("skip")) is None                # /skip never asks
    # moved on by the candidate's own /next, answered here already, clarify, or a drill's
    # first step: /next goes through
    by_command: InterviewState = {"step": "diagnose", "turns": [
        turn("candidate", "clarify", "answer"), turn("candidate", "clarify", "command", "/next"),
        turn("interviewer", "diagnose", "opener")]}
    answered: InterviewState = {"step": "diagnose", "turns": [
        *by_itself["turns"], turn("candidate", "diagnose", "answer")]}
    drill: InterviewState = {"step": "goals", "turns": [turn("interviewer", "goals", "opener")]}
    clarify: InterviewState = {"step": "clarify", "turns": [turn("interviewer", "clarify",
                                                                 "prompt")]}
    for state in (by_command, answered, drill, clarify):
        assert confirm_next(state, Command("next")) is None
