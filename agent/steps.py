"""The six framework steps, in interview order, and the names shown for them."""

from __future__ import annotations

from typing import Final, Literal

Step = Literal["clarify", "diagnose", "goals", "prioritize", "solutions", "validate"]

STEPS: Final[tuple[Step, ...]] = (
    "clarify",
    "diagnose",
    "goals",
    "prioritize",
    "solutions",
    "validate",
)

#: The pseudo-step whose rubric is scored over the whole interview.
CROSS_CUTTING: Final = "cross_cutting"

TITLES: Final[dict[str, str]] = {
    "clarify": "Clarify the problem and context",
    "diagnose": "Diagnose root causes",
    "goals": "Set product and infra goals",
    "prioritize": "Prioritize and make trade-offs",
    "solutions": "Propose solutions over time",
    "validate": "Test and validate",
    "cross_cutting": "Across the interview",
}


def next_step(step: str) -> str | None:
    """The step after ``step``, or None after the last one."""
    i = STEPS.index(step)
    return STEPS[i + 1] if i + 1 < len(STEPS) else None
