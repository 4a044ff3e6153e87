"""Offline interviewing: authored probes, fact-sheet keyword matching, rubric-signal coverage.

Deterministic and instant; used when no model is configured (and as the eval baseline).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from agent.cases import Case, Fact
from agent.policy import Assessment, ClarifyReply, Speaker, Status
from agent.prompts import script
from agent.rubrics import Criterion, Rubric
from agent.signals import coverage, first_match, level_for, sentences
from agent.state import Turn

_ASSUMES = re.compile(
    r"\b(i'?ll assume|i will assume|i'?m assuming|i am assuming|let me assume|assuming that|"
    r"my assumptions?|our assumptions?|i'?d assume|working assumption|to summari[sz]e|"
    r"in summary|let me summari[sz]e|let me restate|so to recap|to recap|let me recap)\b",
    re.IGNORECASE,
)


def states_assumptions(text: str) -> bool:
    """A message that states assumptions (rather than asking) closes the clarify step."""
    return bool(_ASSUMES.search(text)) and not text.rstrip().endswith("?")


_ASKS = re.compile(
    r"^\s*(what|what's|whats|who|who's|how|is|are|was|were|do|does|did|can|could|would|will|"
    r"should|which|where|when|why|any|tell me|i'?d like to know|i want to know|i'?m curious|"
    r"could you|can you|do we|do they|have|has)\b",
    re.IGNORECASE,
)
_ASKS_ANYWHERE = re.compile(
    r"\b(like to (know|understand|clarify|confirm|check)|want to (know|understand|clarify|"
    r"confirm|check)|wondering|curious|tell me|clarify|confirm whether|understand whether|"
    r"need to know)\b",
    re.IGNORECASE,
)


def question_parts(message: str) -> list[str]:
    """The parts of a message that ask something. Statements (such as assumptions) are left
    out, so stating "I'll assume a 500 ms target" reveals nothing the candidate did not ask."""
    parts = [s for s in sentences(message)
             if "?" in s or _ASKS.match(s) or _ASKS_ANYWHERE.search(s)]
    if parts:
        return parts
    # A bare fragment ("QPS and latency target") is a question; a statement is not.
    return [] if states_assumptions(message) or len(message) > 160 else [message]


def matching_facts(case: Case, question: str) -> list[Fact]:
    """The facts a message asks about, judged by each fact's keyword patterns against only the
    parts of the message that ask something."""
    parts = question_parts(question)
    return [f for f in case.facts if any(first_match(f.keywords, p) for p in parts)]


def status_for(criterion: Criterion, answers: Sequence[str]) -> tuple[int, Status]:
    cov = coverage(criterion.signals, answers)
    level = level_for(len(cov.matched), criterion.thresholds)
    status: Status = "met" if level >= 3 else "partial" if level == 2 else "unmet"
    return level, status


class OfflineInterviewer:
    engine = "offline"

    def clarify(self, case: Case, question: str, history: Sequence[Turn],
                speak: Speaker) -> ClarifyReply:
        facts = matching_facts(case, question)
        ends = states_assumptions(question)
        if facts:
            text = " ".join(f.answer.strip() for f in facts)
        elif ends:
            text = ""
        else:
            text = str(script()["no_fact"])
        if text:
            speak(text)
        return ClarifyReply(text=text, fact_ids=[f.id for f in facts], ends_step=ends)

    def assess(self, case: Case, rubric: Rubric, answers: Sequence[str]) -> Assessment:
        return Assessment({c.id: status_for(c, answers)[1] for c in rubric.criteria})

    def followup(self, case: Case, rubric: Rubric, criterion: Criterion, step_question: str,
                 answers: Sequence[str], speak: Speaker) -> str:
        speak(criterion.probe)
        return criterion.probe
