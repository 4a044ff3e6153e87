"""Driving the interview graph with scripted candidate answers, in memory.

Used by the behaviour evals (recorded answers, replayed) and by simulated candidates. Each run
compiles a fresh graph with an in-memory checkpointer and its own thread id, so runs never share
state with each other or with the user's sessions.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from agent.cases import Case
from agent.context import Context
from agent.graph import build_graph
from agent.policy import Interviewer
from agent.rubrics import RubricSet, default_rubrics
from agent.state import InterviewState
from agent.steps import STEPS

#: Given the step and the interviewer's last line, the candidate's next answer, or None to
#: move on (/next).
Candidate = Callable[[str, str, int], str | None]
MAX_TURNS_PER_STEP = 12


@dataclass
class Decision:
    step: str
    answer: str
    said: str
    kind: str
    """What the interviewer did next: fact (clarify reply), followup, advance, hint, notice."""
    facts_told: list[str] = field(default_factory=list)


@dataclass
class Driven:
    state: InterviewState
    decisions: list[Decision]


def drive(case: Case, interviewer: Interviewer, candidate: Candidate, *,
          rubrics: RubricSet | None = None, max_followups: int = 2,
          context: dict[str, Any] | None = None) -> Driven:
    graph = build_graph(checkpointer=InMemorySaver())
    ctx = Context(interviewer=interviewer, engine=interviewer.engine,
                  rubrics=rubrics or default_rubrics(), **{"scoring": None, **(context or {})})
    cfg: dict[str, Any] = {"configurable": {"thread_id": uuid.uuid4().hex}}
    graph.invoke({"case_id": case.id, "mode": "exam", "max_followups": max_followups}, cfg,
                 context=ctx)
    decisions: list[Decision] = []
    for step in STEPS:
        n = 0
        while graph.get_state(cfg).values.get("step") == step:
            values = graph.get_state(cfg).values
            before = len(values["turns"])
            told_before = len(values.get("facts_told", []))
            question = next((t["text"] for t in reversed(values["turns"])
                             if t["role"] == "interviewer"), "")
            answer = candidate(step, question, n) if n < MAX_TURNS_PER_STEP else None
            n += 1
            value: dict[str, str] = ({"command": "next"} if answer is None else
                                     {"command": answer[1:]} if answer in ("/skip", "/next")
                                     else {"answer": answer})
            graph.invoke(Command(resume=value), cfg, context=ctx)
            after = graph.get_state(cfg).values
            new = after["turns"][before:]
            said = " ".join(t["text"] for t in new if t["role"] == "interviewer")
            kinds = [t["kind"] for t in new if t["role"] == "interviewer"]
            kind = ("advance" if after.get("step") != step else
                    "followup" if "followup" in kinds else kinds[-1] if kinds else "none")
            decisions.append(Decision(step, answer or "/next", said, kind,
                                      list(after.get("facts_told", [])[told_before:])))
    return Driven(graph.get_state(cfg).values, decisions)
