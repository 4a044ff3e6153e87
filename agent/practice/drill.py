"""Single-step drills: one framework step practised on several cases in a row.

A drill is a session whose interview is that one step (see ``drill`` in agent/state.py). For a
step after clarify, the candidate is told what clarifying questions would have brought out (the
case's fact sheet), since there was no clarify dialogue to learn it from.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent.prompts import script
from agent.steps import STEPS, TITLES

if TYPE_CHECKING:
    from agent.cases import Case
    from agent.report import Report

DEFAULT_COUNT = 3
MAX_COUNT = 10


def briefed(case: Case) -> list[str]:
    """The ids of the facts a drill's briefing tells: every fact but the clues (those give away
    a root cause the candidate is meant to find by asking). The session records them as told,
    so the scorer and the follow-ups count them as given, as clarify's answers are."""
    return [f.id for f in case.facts if not f.clue]


def briefing(case: Case) -> str:
    """What the candidate would have learnt by clarifying: the facts of :func:`briefed`."""
    told = set(briefed(case))
    facts = "\n".join(f"- {f.topic}: {' '.join(f.answer.split())}" for f in case.facts
                       if f.id in told)
    return f"{script().get('drill_briefing', 'What clarifying questions would have told you:')}" \
           f"\n{facts}"


def scenario(case: Case) -> str:
    """The case prompt for a drill of a step after clarify: without its closing invitation to
    ask clarifying questions (the drill starts past that step)."""
    lines = case.prompt.strip().splitlines()
    if len(lines) > 1 and "clarify" in lines[-1].lower() and lines[-1].rstrip().endswith("?"):
        lines = lines[:-1]
    return "\n".join(lines).strip()


def closing() -> str:
    """What the interviewer says when a drill's one step is done (``drill_closing`` in
    prompts/script.yaml): the end of the one step practised, not of an interview (nor of the
    CLI's drill, which goes on to its next case)."""
    return str(script()["drill_closing"])


def opener(step: str) -> str:
    """The step's opening question, as a full interview asks it, unless it leans on a step
    the drill never had (``drill_openers``: trial 17's goals drill opened "Suppose your
    diagnosis holds" with no diagnosis made)."""
    lines = script()
    own = lines.get("drill_openers") or {}
    return str(own.get(step) or lines["openers"][step])


def check_step(step: str) -> str:
    if step not in STEPS:
        raise ValueError(f"STEP: unknown step {step!r}; choose one of {', '.join(STEPS)}")
    return step


def plan(cases: Mapping[str, Case], step: str, count: int, first: str | None = None,
         practised: Mapping[str, int] | None = None, seed: int | None = None) -> list[Case]:
    """The cases to drill ``step`` on: ``first`` (when given) then the cases this step was
    practised on least (ties in random order), never the same case twice in one drill."""
    check_step(step)
    if not 1 <= count <= MAX_COUNT:
        raise ValueError(f"--count: must be between 1 and {MAX_COUNT}")
    if first is not None and first not in cases:
        raise ValueError(f"--case: unknown case {first!r}; run 'interviewer cases' to list them")
    count = min(count, len(cases))
    done = practised or {}
    rng = random.Random(seed)
    rest = [c for c in cases if c != first]
    rng.shuffle(rest)
    rest.sort(key=lambda c: done.get(c, 0))
    chosen = ([first] if first else []) + rest
    return [cases[c] for c in chosen[:count]]


@dataclass
class DrillSummary:
    step: str
    rows: list[tuple[str, float | None]] = field(default_factory=list)
    """(case title, step score) per drilled case, in order."""
    criteria: dict[str, list[int | None]] = field(default_factory=dict)
    """criterion name -> its level on each case."""
    mean: float | None = None
    weakest: str | None = None
    """The criterion with the lowest mean level."""
    advice: str = ""


def summarize(step: str, reports: Sequence[Report]) -> DrillSummary:
    """The drill in brief: the step's score per case, each criterion's levels, the weakest."""
    out = DrillSummary(step=step)
    for r in reports:
        score = next((s for s in r.steps if s.step == step), None)
        out.rows.append((r.case_title, score.score if score else None))
        for c in score.criteria if score else []:
            out.criteria.setdefault(c.name, []).append(c.level)
    scores = [s for _, s in out.rows if s is not None]
    out.mean = round(sum(scores) / len(scores), 2) if scores else None
    means = {name: sum(v for v in levels if v) / max(1, sum(1 for v in levels if v))
             for name, levels in out.criteria.items() if any(levels)}
    if means:
        out.weakest = min(means, key=lambda n: means[n])
        out.advice = (f"Weakest across the drill: {out.weakest.lower()}. Drill "
                      f"{TITLES[step].lower()} again, or see 'interviewer progress' for the "
                      "trend over all your sessions.")
    return out
