"""The interviewer's decisions behind one interface, with two implementations: a model
(agent/llm_policy.py) and authored probes with rubric-signal coverage (agent/offline.py).
The graph is the same either way."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from agent.cases import Case
from agent.rubrics import Criterion, Rubric
from agent.state import Turn

Status = Literal["met", "partial", "unmet"]


class Speaker(Protocol):
    """Where interviewer speech goes as it is produced (the terminal, via the graph stream)."""

    def __call__(self, piece: str) -> None: ...

    def restart(self, reason: str = "") -> None:
        """Discard what was said so far in this utterance: a broken stream is being retried,
        or (with a ``reason`` for the candidate) the reply was withdrawn."""

    def notice(self, text: str) -> None:
        """A short note to the candidate about how a line was made ("the model is slow; using
        the standard question"), shown apart from the line itself."""


class Silent:
    """A Speaker that says nothing: for callers that want only what the method returns (the
    clarify eval, its bench)."""

    def __call__(self, piece: str) -> None:
        return None

    def restart(self, reason: str = "") -> None:
        return None

    def notice(self, text: str) -> None:
        return None


@dataclass
class ClarifyReply:
    text: str
    fact_ids: list[str]
    ends_step: bool = False


@dataclass
class Assessment:
    statuses: dict[str, Status]
    engine: str = "offline"
    notes: list[str] = field(default_factory=list)
    reaction: str | None = None
    """The model's choice of what to do next ("probe_gap", "deepen", "move_on"); None offline
    (agent/probes/react.py decides)."""
    quote: str = ""
    """With "deepen": the candidate's words to deepen on (checked against the answers)."""

    def target(self, rubric: Rubric, exclude: Sequence[str],
               partial: bool = False) -> Criterion | None:
        """The most important unmet criterion not already probed, if any; ``partial``: one met
        in part counts as unmet too."""
        short = ("unmet", "partial") if partial else ("unmet",)
        unmet = [
            c for c in rubric.criteria
            if c.important and self.statuses.get(c.id) in short and c.id not in exclude
        ]
        return max(unmet, key=lambda c: c.weight) if unmet else None


class Interviewer(Protocol):
    engine: str
    """"offline" or "llm"."""

    def clarify(self, case: Case, question: str, history: Sequence[Turn],
                speak: Speaker) -> ClarifyReply:
        """Answer a clarifying question from only the facts it asks about."""

    def assess(self, case: Case, rubric: Rubric, answers: Sequence[str]) -> Assessment:
        """Which criteria the step's answers meet, to decide on a follow-up."""

    def followup(self, case: Case, rubric: Rubric, criterion: Criterion, step_question: str,
                 answers: Sequence[str], speak: Speaker) -> str:
        """One targeted, non-leading follow-up question."""
