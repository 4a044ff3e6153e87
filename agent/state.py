"""The interview's state, as checkpointed by LangGraph after every candidate turn."""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict

Role = Literal["interviewer", "candidate"]

#: Interviewer turn kinds: prompt (the case, read out), fact (a clarify answer), followup,
#: opener (a step's first question, with its transition), hint, coach, closing.
#: Candidate turn kinds: answer (counted), command (/skip, /next, /hint: the commands that change
#: the interview; /help, /repeat, /quit and refused inputs are never stored as turns).
TurnKind = Literal[
    "prompt", "fact", "followup", "opener", "notice", "hint", "coach", "closing", "answer",
    "command",
]


class Turn(TypedDict):
    role: Role
    step: str
    kind: TurnKind
    text: str


NoticeKind = Literal["refused", "help", "repeat", "quit", "start_ignored"]


class Notice(TypedDict):
    """The interviewer's reply to an input that was not stored (see agent/commands.py)."""

    kind: NoticeKind
    """refused (with why), help, repeat, quit, or start_ignored (a start input sent to a thread
    that already holds an interview)."""
    text: str


class StartedWith(TypedDict, total=False):
    case_id: str
    mode: Literal["exam", "coach"]
    max_followups: int
    drill: str
    """Set only for a single-step drill."""


class InterviewState(TypedDict, total=False):
    case_id: str
    """Which case is being interviewed (cases/<id>.yaml)."""
    mode: Literal["exam", "coach"]
    """exam: no feedback until the end; coach: feedback after each step and /hint."""
    max_followups: int
    """Follow-up questions allowed per step."""
    step: str
    """The step being interviewed, then "wrap_up"; replaced on each transition."""
    status: Literal["in_progress", "completed"]
    turns: Annotated[list[Turn], operator.add]
    """Every line spoken, in order. The reducer appends: nodes return only new turns."""
    followups: dict[str, int]
    """Follow-ups asked per step. Replaced whole by the node that changes it."""
    probed: dict[str, list[str]]
    """Criterion ids already probed per step, so one is never asked about twice."""
    facts_told: Annotated[list[str], operator.add]
    """Fact ids the interviewer has revealed in clarify (appended)."""
    skipped: Annotated[list[str], operator.add]
    """Steps the candidate skipped with /skip (appended)."""
    drill: str
    """Set for a single-step drill: the one step practised (the interview starts there and ends
    after it). Absent for a full interview."""
    started_with: StartedWith
    """The start input the interview was opened with. Written once; a later start input on the
    same thread is ignored and case_id, mode and max_followups are restored from it."""
    notice: Notice | None
    """The reply to the last input when that input was not stored (a refusal, /help, /repeat,
    /quit, an ignored start), shown in the next interrupt; None after an accepted input."""
    engine: str
    """Who interviews: "offline" or "llm:<model>" (as in the sessions list)."""
    report: dict[str, Any]
    """The feedback report, set when the interview completes: the same data as
    ``interviewer report --format json`` (docs/report.schema.json)."""


def answers_in(state: InterviewState, step: str) -> list[str]:
    """The candidate's answers (not commands) in one step, in order."""
    return [
        t["text"] for t in state.get("turns", [])
        if t["role"] == "candidate" and t["kind"] == "answer" and t["step"] == step
    ]


def answered_count(state: InterviewState) -> int:
    return sum(
        1 for t in state.get("turns", []) if t["role"] == "candidate" and t["kind"] == "answer"
    )


def last_question(state: InterviewState) -> str:
    """The interviewer's most recent line (what the candidate is answering)."""
    for t in reversed(state.get("turns", [])):
        if t["role"] == "interviewer" and t["kind"] not in ("coach", "notice"):
            return t["text"]
    return ""


#: Interviewer turns a candidate answers: the case prompt, a step's opener, a follow-up. A clarify
#: fact, a hint, coach feedback or a notice is not a question.
QUESTION_KINDS = ("prompt", "opener", "followup")


def current_question(state: InterviewState) -> str:
    """What the candidate is answering: the case prompt, the step's question or the latest
    follow-up (never a clarify fact, hint, coach note or notice)."""
    for t in reversed(state.get("turns", [])):
        if t["role"] == "interviewer" and t["kind"] in QUESTION_KINDS:
            return t["text"]
    return last_question(state)
