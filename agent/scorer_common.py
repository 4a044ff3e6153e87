"""What both scorers share: the step's turns, the criteria a case applies, its notes.

The offline scorer (agent/scorers.py) and the LLM judge (agent/judge.py) both use these. They
live apart from the offline scorer so that the judge does not import its reading modules
(agent/semantic/claims.py, calls.py, premises.py) just for them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from agent.steps import CROSS_CUTTING

if TYPE_CHECKING:
    from agent.cases import Case
    from agent.rubrics import Criterion, Rubric
    from agent.scores import StepScore
    from agent.semantic.facts import Told

#: (role, text) pairs: "interviewer" or "candidate".
Turns = Sequence[tuple[str, str]]


def candidate_texts(turns: Turns) -> list[str]:
    return [text for role, text in turns if role == "candidate" and not text.startswith("/")]


def transcript_hash(turns: Turns, told: Told | None = None) -> str:
    """The step's turns (and what had been told before it, which fact checks depend on)."""
    text = "\x1e".join(f"{r}\x1f{t}" for r, t in turns)
    if told is not None:
        text += "\x1d" + ",".join(sorted(told.facts)) + "\x1d" + "\x1e".join(told.heard)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class Scorer(Protocol):
    name: str
    """"offline" or "llm"."""

    def version(self, step: str) -> str:
        """The versions of everything that shapes this scorer's output for a step."""

    def score_step(self, case: Case, step: str, turns: Turns,
                   told: Told | None = None) -> StepScore:
        """Score one step. ``told``: what the candidate had been told before it (facts revealed
        in clarify, earlier lines), for checking claims against the fact sheet; None skips
        those checks."""


def applicable(case: Case, rubric: Rubric) -> list[tuple[Criterion, float]]:
    """The rubric's criteria that apply to this case, each with its weight for the case."""
    out = []
    for c in rubric.criteria:
        use = case.criteria.get(c.id)
        if use is None:
            out.append((c, c.weight))
        elif use.applies:
            out.append((c, use.weight if use.weight is not None else c.weight))
    return out


def case_notes(case: Case, rubric: Rubric) -> list[str]:
    """What the case leaves out of this step's score, or reweights, and why."""
    notes = []
    for c in rubric.criteria:
        use = case.criteria.get(c.id)
        if use is None:
            continue
        why = f" ({use.why})" if use.why else ""
        if not use.applies:
            notes.append(f"{c.name} does not apply to this case and is not scored{why}.")
        elif use.weight is not None:
            notes.append(f"{c.name} weighs {use.weight:g} in this case instead of "
                         f"{c.weight:g}{why}.")
    return notes


def strong_notes(case: Case, step: str) -> list[str]:
    return list(case.strong_answer.get(step, [])) if step != CROSS_CUTTING else []
