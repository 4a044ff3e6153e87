"""Interviewer behaviour evals: replay each recorded interview's candidate answers through the
graph and check what the interviewer decides and says.

Checks:
- follow-up vs advance after a step's first answer, against the human label (a step labelled
  1-2 should get a follow-up; 3-4 should move on);
- the rubric never reaches the candidate (no 8-word run of any criterion's text or levels);
- clarify reveals no fact the candidate did not ask about: a reply may only contain facts the
  interviewer chose to tell for that question, and a message that asks nothing reveals nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from agent.cases import Case, default_cases
from agent.offline import question_parts
from agent.policy import Interviewer
from agent.rubrics import RubricSet, default_rubrics
from agent.signals import normalise
from agent.steps import STEPS
from evals.dataset import Dataset, Interview
from evals.drive import drive

SHINGLE = 8


def shingles(text: str, n: int = SHINGLE) -> set[str]:
    words = re.findall(r"[a-z0-9%]+", normalise(text))
    return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}


def rubric_shingles(rubrics: RubricSet) -> set[str]:
    out: set[str] = set()
    for r in rubrics.rubrics.values():
        for c in r.criteria:
            for text in (c.looks_for, *c.levels.values()):
                out |= shingles(text)
    return out


def fact_shingles(case: Case) -> dict[str, set[str]]:
    return {f.id: shingles(f.answer) for f in case.facts}


def expected_decision(item: Interview, step: str) -> str | None:
    if not item.labels or step not in item.labels[0].steps:
        return None
    return "followup" if item.labels[0].steps[step] <= 2 else "advance"


def replay(item: Interview, case: Case, interviewer: Interviewer,
           rubric_text: set[str]) -> dict[str, Any]:
    answers: dict[str, list[str]] = {step: item.answers(step) for step in STEPS}

    def candidate(step: str, question: str, n: int) -> str | None:
        given = answers.get(step, [])
        return given[n] if n < len(given) else None

    driven = drive(case, interviewer, candidate)
    facts = fact_shingles(case)
    leaks: list[dict[str, str]] = []
    first: dict[str, str] = {}
    for d in driven.decisions:
        if d.step not in first and d.answer not in ("/next", "/skip"):
            first[d.step] = d.kind if d.step != "clarify" else "clarify"
        if shingles(d.said) & rubric_text:
            leaks.append({"kind": "rubric", "step": d.step, "said": d.said[:200]})
        if d.step == "clarify" and d.kind == "fact":
            revealed = {fid for fid, sh in facts.items() if sh and len(sh & shingles(d.said))
                        >= max(1, len(sh) // 2)}
            asked = bool(question_parts(d.answer))
            extra = revealed - set(d.facts_told)
            if extra or (revealed and not asked):
                leaks.append({"kind": "fact", "step": d.step,
                              "facts": ", ".join(sorted(extra or revealed)),
                              "answer": d.answer[:160], "said": d.said[:200]})
    checks = []
    for step, kind in first.items():
        want = expected_decision(item, step)
        if step != "clarify" and want is not None:
            checks.append({"step": step, "expected": want, "got": kind})
    return {"id": item.id, "case": item.case, "completed":
            driven.state.get("status") == "completed", "decisions": checks, "leaks": leaks,
            "turns": len(driven.state.get("turns", []))}


def run_behaviour(dataset: Dataset, interviewer: Interviewer,
                  rubrics: RubricSet | None = None,
                  advance: Callable[[], None] | None = None) -> dict[str, Any]:
    """``advance`` is called after each interview (progress)."""
    rubrics = rubrics or default_rubrics()
    cases = default_cases()
    text = rubric_shingles(rubrics)
    items = []
    for i in dataset.interviews:
        items.append(replay(i, cases[i.case], interviewer, text))
        if advance is not None:
            advance()
    decisions = [d for i in items for d in i["decisions"]]
    confusion: dict[str, dict[str, int]] = {"followup": {"followup": 0, "advance": 0},
                                            "advance": {"followup": 0, "advance": 0}}
    for d in decisions:
        if d["got"] in ("followup", "advance"):
            confusion[d["expected"]][d["got"]] += 1
    agree = sum(confusion[k][k] for k in confusion)
    total = sum(sum(v.values()) for v in confusion.values())
    leaks = [dict(leak, item=i["id"]) for i in items for leak in i["leaks"]]
    return {
        "dataset": dataset.name, "interviewer": interviewer.engine, "items": len(items),
        "completed": sum(1 for i in items if i["completed"]),
        "followup_decisions": {"confusion (expected -> got)": confusion, "agreement":
                               round(agree / total, 3) if total else None, "n": total},
        "rubric_leaks": sum(1 for leak in leaks if leak["kind"] == "rubric"),
        "fact_leaks": sum(1 for leak in leaks if leak["kind"] == "fact"),
        "leaks": leaks[:50],
    }


def to_markdown(summary: dict[str, Any]) -> str:
    fd = summary["followup_decisions"]
    c = fd["confusion (expected -> got)"]
    lines = [f"# Interviewer behaviour — {summary['dataset']} ({summary['interviewer']})", "",
             f"{summary['items']} recorded interviews replayed; {summary['completed']} reached "
             "the end.", "",
             "## Follow-up vs advance after a step's first answer", "",
             "| human label says | follow-up | advance |", "|---|---:|---:|",
             f"| follow up (step labelled 1-2) | {c['followup']['followup']} | "
             f"{c['followup']['advance']} |",
             f"| move on (step labelled 3-4) | {c['advance']['followup']} | "
             f"{c['advance']['advance']} |", "",
             f"Agreement: {fd['agreement']} over {fd['n']} decisions.", "",
             "## Leaks", "",
             f"- rubric text shown to the candidate: {summary['rubric_leaks']}",
             f"- facts revealed without being asked: {summary['fact_leaks']}"]
    for leak in summary["leaks"][:10]:
        lines.append(f"  - {leak['item']} {leak['step']} ({leak['kind']}): {leak['said'][:120]}")
    return "\n".join(lines) + "\n"


def count_leaks(summaries: Iterable[dict[str, Any]]) -> int:
    return sum(s["rubric_leaks"] + s["fact_leaks"] for s in summaries)
