"""Time-boxing: a suggested time per step, and where the time went against it.

A case may set its own suggestions (``minutes:`` in its YAML file, per step); otherwise each
step has the default below, sized for a 45-minute interview that spends the most time where
the framework expects the most thinking (diagnosis and solutions).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from agent.steps import STEPS, TITLES

if TYPE_CHECKING:
    from agent.cases import Case

#: Suggested minutes per step when the case sets none (45 minutes in all).
DEFAULT_MINUTES: dict[str, int] = {
    "clarify": 6, "diagnose": 9, "goals": 7, "prioritize": 7, "solutions": 10, "validate": 6,
}
#: Over or under a suggestion by less than this share counts as on time.
TOLERANCE = 0.25
#: A whole interview answered in less than this many seconds was not typed as it went (piped
#: or pasted answers): where its time went says nothing.
UNTYPED_SECONDS = 60


def suggested_minutes(case: Case | None, step: str) -> int:
    """The suggested time for ``step`` of ``case`` in minutes."""
    own = getattr(case, "minutes", None) or {}
    return int(own.get(step, DEFAULT_MINUTES[step]))


def clock(seconds: float) -> str:
    """``m:ss`` (``h:mm:ss`` from an hour)."""
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class StepTime(BaseModel):
    step: str = Field(description="a framework step id")
    seconds: float = Field(description="active time on the step: from its question on screen to "
                           "the answer that finished it, only while the session was open")
    suggested_seconds: float = Field(description="the suggested time (case file, else default)")
    verdict: str = Field(description="over, under or on time (within 25% of the suggestion); "
                         "'not reached' when the step was never reached")


def step_times(case: Case | None, seconds: Mapping[str, float],
               steps: list[str] | None = None, reached: set[str] | None = None
               ) -> list[StepTime]:
    """Time per step against its suggestion, for the steps of a session (all six, or a
    drill's one). ``reached``: the steps the session got to (default: those with time)."""
    out = []
    for step in steps or list(STEPS):
        spent = float(seconds.get(step, 0.0))
        suggested = suggested_minutes(case, step) * 60.0
        if reached is not None and step not in reached and not spent:
            verdict = "not reached"
        elif spent > suggested * (1 + TOLERANCE):
            verdict = "over"
        elif spent < suggested * (1 - TOLERANCE):
            verdict = "under"
        else:
            verdict = "on time"
        out.append(StepTime(step=step, seconds=round(spent, 1),
                            suggested_seconds=suggested, verdict=verdict))
    return out


def time_summary(times: list[StepTime]) -> str:
    """One or two sentences on where the time went against the suggestions."""
    timed = [t for t in times if t.verdict != "not reached"]
    if not timed:
        return "No time was recorded for this session."
    total = sum(t.seconds for t in timed)
    budget = sum(t.suggested_seconds for t in timed)
    text = f"You spent {clock(total)} against a suggested {clock(budget)}."
    if total < UNTYPED_SECONDS and budget >= 10 * UNTYPED_SECONDS:
        # trial 10: a piped interview read "Most under: propose solutions (0:00 of 10:00)"
        return text + (" The answers came in faster than anyone types (piped or pasted), so "
                       "this says nothing about your pacing.")
    over = sorted((t for t in timed if t.verdict == "over"),
                  key=lambda t: t.suggested_seconds - t.seconds)
    under = sorted((t for t in timed if t.verdict == "under"),
                   key=lambda t: t.seconds - t.suggested_seconds)
    if over:
        worst = over[0]
        text += (f" Most over: {TITLES[worst.step].lower()} ({clock(worst.seconds)} of "
                 f"{clock(worst.suggested_seconds)}).")
    if under:
        least = under[0]
        text += (f" Most under: {TITLES[least.step].lower()} ({clock(least.seconds)} of "
                 f"{clock(least.suggested_seconds)}).")
    if not over and not under:
        text += " Every step was within a quarter of its suggested time."
    return text
