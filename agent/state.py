"""The interview's state, as checkpointed by LangGraph after every candidate turn."""

from __future__ import annotations

import operator
from typing import Annotated, Literal, TypedDict

Role = Literal["interviewer", "candidate"]

#: Interviewer turn kinds: prompt (the case, read out), fact (a clarify answer), followup,
#: opener (a step's first question, with its transition), hint, coach, closing.
#: Candidate turn kinds: answer (counted), command (/skip, /next, /hint).
TurnKind = Literal[
    "prompt", "fact", "followup", "opener", "notice", "hint", "coach", "closing", "answer",
    "command",
]


class Turn(TypedDict):
    role: Role
    step: str
    kind: TurnKind
    text: str


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
