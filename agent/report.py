"""The feedback report: scores per step and criterion, the candidate's own words as evidence,
what was missed, the band, what to practise next. Rendered as Markdown, JSON or HTML."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from agent.scores import BANDS, StepScore, band, overall
from agent.steps import CROSS_CUTTING, TITLES

SCHEMA_VERSION = 1


class ScorerInfo(BaseModel):
    type: Literal["llm", "offline"]
    model: str | None = None
    prompts: str | None = Field(default=None, description="judge prompt hashes")
    rubrics: str = Field(description="hash over every rubric file")


class Report(BaseModel):
    """A session's feedback report (the JSON output of ``interviewer report --format json``)."""

    schema_version: int = SCHEMA_VERSION
    session: str
    case: str
    case_title: str
    mode: str
    status: Literal["completed", "in_progress"]
    scorer: ScorerInfo
    overall: float | None = Field(description="weighted mean of step scores, 1-4")
    band: str | None = Field(description="recommendation band from the overall score")
    bands: dict[str, float] = Field(description="band name -> lowest overall score for it")
    steps: list[StepScore]
    practice: list[str] = Field(description="what to practise next, most useful first")
    unscored_criteria: int
    flagged_criteria: int = Field(description="levels above 1 without a verified quote")
    unverified_quotes: int
    generated_at: str


def practice_next(steps: Sequence[StepScore], limit: int = 3) -> list[str]:
    out: list[str] = []
    for s in steps:
        if s.status == "skipped":
            out.append(f"The {TITLES[s.step].lower()} step: you skipped it; practise giving at "
                       "least a structured first answer.")
    gaps = [(c.level or 0, -c.weight, s.step, c) for s in steps if s.status != "skipped"
            for c in s.criteria if c.level is not None and c.level <= 2]
    for _, _, step, c in sorted(gaps, key=lambda g: (g[0], g[1])):
        if len(out) >= limit:
            break
        out.append(f"{c.name} ({TITLES[step].lower()}): {c.missed or c.rationale}")
    return out[:limit] if out else ["Keep practising full interviews on harder cases."]


def build_report(*, session: str, case: str, case_title: str, mode: str, completed: bool,
                 scorer: ScorerInfo, steps: Sequence[StepScore]) -> Report:
    ov = overall(steps)
    crit = [c for s in steps for c in s.criteria]
    return Report(
        session=session, case=case, case_title=case_title, mode=mode,
        status="completed" if completed else "in_progress", scorer=scorer, overall=ov,
        band=band(ov), bands=dict(BANDS), steps=list(steps), practice=practice_next(steps),
        unscored_criteria=sum(1 for c in crit if c.level is None),
        flagged_criteria=sum(1 for c in crit if c.flagged),
        unverified_quotes=sum(c.unverified_quotes for c in crit),
        generated_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )


def to_json(report: Report) -> str:
    return json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def json_schema() -> dict[str, Any]:
    return Report.model_json_schema()


def _fmt(score: float | None) -> str:
    return "—" if score is None else f"{score:.2f}"


def to_markdown(report: Report) -> str:
    r = report
    sc = r.scorer
    scorer = (f"LLM judge ({sc.model}; prompts {sc.prompts})" if sc.type == "llm"
              else "offline rubric-signal scoring (deterministic keyword coverage)")
    lines = [
        f"# Interview feedback — {r.case_title}",
        "",
        f"Session `{r.session}` · case `{r.case}` · {r.mode} mode · {r.status.replace('_', ' ')}",
        f"Scored by: {scorer} · rubrics {sc.rubrics}",
        "",
        f"**Overall: {_fmt(r.overall)} / 4 — {r.band or 'not enough answers to band'}**",
        "",
        "| Step | Score | |",
        "|---|---:|---|",
    ]
    for s in r.steps:
        bar = "█" * round((s.score or 0) * 4) + "░" * (16 - round((s.score or 0) * 4))
        note = {"skipped": " (skipped)", "not_reached": " (not reached)",
                "in_progress": " (in progress)"}.get(s.status, "")
        lines.append(f"| {TITLES[s.step]}{note} | {_fmt(s.score)} | `{bar}` |")
    lines += ["", "## What to practise next", ""]
    lines += [f"{i}. {p}" for i, p in enumerate(r.practice, 1)]
    if r.unscored_criteria or r.flagged_criteria or r.unverified_quotes:
        lines += ["", "## Scoring notes", ""]
        if r.unscored_criteria:
            lines.append(f"- {r.unscored_criteria} criteria are **unscored** (see below); they "
                         "are left out of the step scores, not counted as zero.")
        if r.flagged_criteria:
            lines.append(f"- {r.flagged_criteria} criteria scored above 1 have **no verified "
                         "quote** from you; treat those levels with caution.")
        if r.unverified_quotes:
            lines.append(f"- {r.unverified_quotes} quotes offered by the scorer were not your "
                         "words and were dropped.")
    for s in r.steps:
        lines += ["", f"## {TITLES[s.step]} — {_fmt(s.score)}"]
        if s.status == "not_reached":
            lines += ["", "Not reached in this session."]
            continue
        for c in s.criteria:
            level = "unscored" if c.level is None else f"{c.level}/4"
            flag = " ⚠ no verified quote" if c.flagged else ""
            lines += ["", f"**{c.name}** — {level}{flag}", "", c.rationale]
            for q in c.evidence:
                lines.append(f"> “{q}”")
            if c.missed:
                lines.append(f"- *To go further:* {c.missed}")
        if s.strong_answer and s.step != CROSS_CUTTING:
            lines += ["", "*A strong answer would have covered:*"]
            lines += [f"- {n}" for n in s.strong_answer]
    lines += ["", "Bands: " + ", ".join(f"{name} ≥ {floor}" for name, floor in BANDS), ""]
    return "\n".join(lines)
