"""Scores: per criterion, per step, overall, and the recommendation band.

Levels are 1 (missing), 2 (partial), 3 (solid), 4 (excellent). A criterion the scorer could not
score is ``level=None`` and says why; it is left out of its step's mean, never defaulted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from agent.rubrics import RubricSet

#: Recommendation bands by overall score (a weighted mean of 1-4 levels), highest first.
BANDS: tuple[tuple[str, float], ...] = (
    ("strong hire", 3.25),
    ("hire", 2.75),
    ("lean no hire", 2.0),
    ("no hire", 1.0),
)


class CriterionScore(BaseModel):
    id: str = Field(description="criterion id from rubrics/")
    name: str = Field(description="the criterion's name, as shown in the report")
    weight: float = Field(description="the criterion's weight within its step")
    level: int | None = Field(ge=1, le=4, description="1 missing, 2 partial, 3 solid, "
                              "4 excellent; null when the criterion is unscored")
    rationale: str = Field(description="why this level (or, when unscored, why not)")
    evidence: list[str] = Field(description="quotes verified against the candidate's words")
    unverified_quotes: int = Field(ge=0, description="quotes dropped: not the candidate's words")
    flagged: bool = Field(description="level above 1 with no verified quote")
    missed: str | None = Field(default=None, description="what the next level up looks for")
    samples: list[int] | None = Field(default=None, description="every level the LLM judge "
                                      "gave when asked for several samples (the level is "
                                      "their median)")


class StepScore(BaseModel):
    step: str = Field(description="a framework step id, or cross_cutting (the whole interview)")
    score: float | None = Field(description="weighted mean of the scored criteria, 1-4; null "
                                "when not reached or nothing could be scored")
    weight: float = Field(description="the step's weight in the overall score")
    status: Literal["scored", "unscored", "in_progress", "skipped", "not_reached"] = Field(
        default="scored",
        description="scored; unscored (answered, but no criterion got a valid level); "
        "in_progress (the step being interviewed); skipped (moved past with no answer: every "
        "criterion is level 1); not_reached (not started yet)")
    scorer: str = Field(description="what scored the step: llm or offline")
    fallback: str | None = Field(
        default=None,
        description="set when a model judge was configured but the step was scored another "
        "way, and why (e.g. 'scored offline: the model's replies were invalid'); null when "
        "it was scored the usual way")
    version: str = Field(description="prompt/rubric/transcript versions that made this score")
    criteria: list[CriterionScore] = Field(description="one entry per rubric criterion")
    notes: list[str] = Field(default_factory=list,
                             description="what the scorer noticed beyond the levels: claims "
                             "that contradict the case's facts, facts never revealed in "
                             "clarify, invented numbers, criteria left out for this case")
    strong_answer: list[str] = Field(default_factory=list,
                                     description="what a strong answer would have added: the "
                                     "case's notes for this step that the answers missed")
    strong_missing: dict[str, list[str]] = Field(
        default_factory=dict,
        description="of the strong_answer notes the answers made in part, the points not "
        "made: each note's own words, as written in it (a note not listed was missed whole)")

    @property
    def unscored(self) -> int:
        return sum(1 for c in self.criteria if c.level is None)

    @model_validator(mode="after")
    def _no_level_is_unscored(self) -> StepScore:
        """A "scored" step without a single valid level is unscored, whatever made it."""
        if self.status == "scored" and self.criteria and all(
                c.level is None for c in self.criteria):
            self.status = "unscored"
        return self


def step_mean(criteria: Sequence[CriterionScore]) -> float | None:
    scored = [(c.level, c.weight) for c in criteria if c.level is not None]
    if not scored:
        return None
    total = sum(w for _, w in scored)
    return round(sum(lv * w for lv, w in scored) / total, 2)


def overall(steps: Sequence[StepScore]) -> float | None:
    """Weighted mean of step scores. Skipped steps count (at 1); steps not reached yet or
    with nothing scored are left out."""
    scored = [(s.score, s.weight) for s in steps if s.score is not None]
    if not scored:
        return None
    total = sum(w for _, w in scored)
    return round(sum(sc * w for sc, w in scored) / total, 2)


def band(score: float | None) -> str | None:
    if score is None:
        return None
    for name, floor in BANDS:
        if score >= floor:
            return name
    return BANDS[-1][0]


def missed_text(rubrics: RubricSet, step: str, cid: str, level: int | None) -> str | None:
    """The actionable gap for the report: what a solid answer (level 3) does, or for a solid
    one what an excellent answer (level 4) adds."""
    if level is None or level >= 4:
        return None
    return without_examples(rubrics[step].criterion(cid).levels[max(level + 1, 3)])


#: A level text's example: "(e.g. p99 < 500 ms, 99.9% availability)" or ", e.g. pre-scale
#: before market open ..." to the end of its sentence.
_EXAMPLE = re.compile(r"\s*\((?:e\.g\.|for example|such as)[^)]*\)|[,:;]?\s+(?:e\.g\.|for "
                      r"example)\s[^.]*?(?=\.\s|\.$|$)", re.IGNORECASE)


@lru_cache(maxsize=1024)
def without_examples(text: str) -> str:
    """A level text without its examples. The rubrics' examples come from one case or another
    (market open, audit logging, 500 ms p99), so shown as feedback on another case they point
    at facts that case does not have; the case's own strong-answer notes give the concrete
    version."""
    return _EXAMPLE.sub("", text).strip()
