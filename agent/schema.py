"""The interview graph's interface for clients (the LangGraph SDK, Studio, the web app): the input
that starts an interview, the payload of every interrupt, and the errors a bad start gets.

The JSON schema of the payload is shipped as docs/interrupt.schema.json; the README explains both
for client authors.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.state import NoticeKind
from agent.steps import STEPS

Mode = Literal["exam", "coach"]
MODES: tuple[Mode, ...] = ("exam", "coach")
MAX_FOLLOWUPS = 5


class InputError(ValueError):
    """A start input the graph cannot use. ``str()`` is one line naming each bad field and the
    values it takes. (A ValueError, so ``langgraph dev`` passes the message to the client.)"""


class StartInput(BaseModel):
    """What a client sends as the run's input to start an interview on a new thread. Sent to a
    thread that already holds an interview, it is ignored: the run returns the interview as it
    is (its current interrupt, with a ``start_ignored`` notice), never a restart."""

    model_config = ConfigDict(extra="forbid", title="Start an interview")

    case_id: str = Field(description="the case to interview: an id from `interviewer cases`, "
                         "e.g. fintech-p99-spikes")
    mode: Mode = Field(default="exam", description="exam: feedback at the end; coach: brief "
                       "feedback after each step, and /hint")
    max_followups: int = Field(default=2, ge=0, le=MAX_FOLLOWUPS,
                               description="follow-up questions allowed per step")
    drill: str | None = Field(default=None, description="practise one step only (clarify, "
                              "diagnose, goals, prioritize, solutions or validate): the "
                              "interview starts at that step and ends after it")


def check_start(values: Mapping[str, Any], cases: Iterable[str]) -> StartInput:
    """The start input, validated; InputError naming every bad field otherwise. ``cases``: the
    valid case ids (an unknown id is refused with the list)."""
    known = sorted(cases)
    problems: list[str] = []
    try:
        start = StartInput.model_validate(dict(values))
    except ValidationError as e:
        for err in e.errors():
            field = ".".join(str(p) for p in err["loc"]) or "input"
            problems.append(_problem(field, err, known))
        raise InputError("; ".join(problems)) from None
    if start.drill is not None and start.drill not in STEPS:
        raise InputError(f"drill: {_shown(start.drill)} is not a step; use one of: "
                         f"{', '.join(STEPS)}")
    if start.case_id not in known:
        raise InputError(f"case_id: unknown case {_shown(start.case_id)}; choose one of: "
                         f"{', '.join(known)} (see `interviewer cases`)")
    return start


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:60] + "…"


def _problem(field: str, err: Any, cases: list[str]) -> str:
    kind, got = err["type"], err.get("input")
    if field == "case_id":
        if kind == "missing":
            return (f"case_id: missing; the input needs the case to interview, one of: "
                    f"{', '.join(cases)} (see `interviewer cases`)")
        return f"case_id: must be a case id (text), not {_shown(got)}; one of: {', '.join(cases)}"
    if field == "mode":
        return f"mode: {_shown(got)} is not a mode; use \"exam\" or \"coach\""
    if field == "max_followups":
        return (f"max_followups: {_shown(got)} is not allowed; a whole number from 0 to "
                f"{MAX_FOLLOWUPS} (default 2)")
    if kind == "extra_forbidden":
        return (f"{field}: unknown field; the input takes case_id, mode (exam or coach), "
                "max_followups and drill")
    return f"{field}: {err['msg']}"


class Utterance(BaseModel):
    kind: str = Field(description="prompt (the case, read out), fact (a clarify answer), "
                      "followup, opener (a step's first question), hint, coach, notice")
    text: str


class Notice(BaseModel):
    kind: NoticeKind = Field(description="refused: the input was not accepted (the text says "
                             "why and what to do); help; repeat; quit (stopped here, resumable); "
                             "start_ignored: a start input sent to a thread that already holds "
                             "an interview")
    text: str


class Waiting(BaseModel):
    """The payload of every interrupt: what a client needs to show while the interview waits for
    the candidate. Resume the run with the candidate's input: text, ``{"answer": text}`` or
    ``{"command": name}``."""

    model_config = ConfigDict(title="Interview interrupt payload")

    step: str = Field(description="the step being interviewed: clarify, diagnose, goals, "
                      "prioritize, solutions or validate")
    title: str = Field(description="the step's title, e.g. 'Diagnose root causes'")
    number: int = Field(description="the step's position, 1-based (e.g. 2 of 6)")
    total: int = Field(description="how many steps there are (6)")
    last: Utterance = Field(description="the interviewer's most recent line")
    question: str = Field(description="the question the candidate is answering: the case "
                          "prompt, the step's opening question or the latest follow-up (never a "
                          "clarify fact, hint or coach note)")
    commands: list[str] = Field(description="the commands that do something now, without the "
                                "slash (hint only in coach mode)")
    clarify_left: int | None = Field(description="clarifying questions left before the step "
                                     "ends by itself; null outside clarify")
    mode: Mode = Field(description="exam or coach")
    engine: str = Field(description="who interviews: offline (authored questions, rubric-signal "
                        "scoring) or llm:<model>")
    notice: Notice | None = Field(description="the reply to the previous input when it was "
                                     "not stored (refused, /help, /repeat, /quit, an ignored "
                                     "start); null after an accepted input")
    answered: int = Field(description="answers the candidate has given so far")


def interrupt_schema() -> dict[str, Any]:
    """The payload's JSON schema, as shipped in docs/interrupt.schema.json."""
    return Waiting.model_json_schema()
