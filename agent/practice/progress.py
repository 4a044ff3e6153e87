"""Progress over sessions: each criterion's level in every completed session (interviews and
drills), the weakest criteria with the framework line each traces to, and what to practise next:
a case whose strong answers exercise those criteria, or a drill of one step.

Reads only the stored report summaries (see agent/practice/summary.py); a session scored by the
LLM judge, offline, or both is marked as such, because the two scorers' levels are not the same
instrument.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agent.signals import coverage
from agent.steps import CROSS_CUTTING, STEPS, TITLES

if TYPE_CHECKING:
    from agent.cases import Case
    from agent.rubrics import RubricSet
    from agent.storage import SessionRow

#: The weakest criteria are judged on each one's most recent levels, this many of them.
RECENT = 3
#: How many weakest criteria to name.
WEAKEST = 3
#: Marks for what scored a session (shown beside its number).
SCORER_MARK = {"offline": "", "llm": "ᴸ", "mixed": "ᴹ"}


@dataclass
class SessionPoint:
    number: int
    """1 for the oldest completed session."""
    id: str
    case: str
    started: str
    kind: str
    """interview, or drill:STEP"""
    overall: float | None
    band: str | None
    scorer: str
    """offline, llm or mixed"""


@dataclass
class CriterionTrend:
    id: str
    name: str
    step: str
    trace: str
    """The framework line the criterion traces to."""
    weight: float
    levels: list[int | None]
    """The level in each session, oldest first (None: not scored in that session)."""
    recent: float | None = None
    """Mean of the last RECENT levels."""
    trend: str = ""
    """up, down, flat, or "" with fewer than two levels."""


@dataclass
class Recommendation:
    case: str | None = None
    case_title: str | None = None
    reason: str = ""
    command: str | None = None
    drill_step: str | None = None
    drill_command: str | None = None


@dataclass
class Progress:
    sessions: list[SessionPoint] = field(default_factory=list)
    criteria: list[CriterionTrend] = field(default_factory=list)
    weakest: list[CriterionTrend] = field(default_factory=list)
    recommendation: Recommendation = field(default_factory=Recommendation)
    in_progress: int = 0
    """Sessions not finished yet (left out)."""

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["weakest"] = [{"id": c.id, "name": c.name, "step": c.step, "trace": c.trace,
                            "recent": c.recent} for c in self.weakest]
        return data


def _trend(levels: Sequence[int | None]) -> str:
    """The direction of a least-squares line through the levels (by session order)."""
    points = [(i, lv) for i, lv in enumerate(levels) if lv is not None]
    if len(points) < 2:
        return ""
    n = len(points)
    mx = sum(i for i, _ in points) / n
    my = sum(lv for _, lv in points) / n
    sxx = sum((i - mx) ** 2 for i, _ in points)
    slope = sum((i - mx) * (lv - my) for i, lv in points) / sxx if sxx else 0.0
    return "up" if slope > 0.05 else "down" if slope < -0.05 else "flat"


def build(rows: Sequence[SessionRow], results: Mapping[str, Mapping[str, Any]],
          rubrics: RubricSet, cases: Mapping[str, Case]) -> Progress:
    """Progress from the sessions (any order) and their stored report summaries."""
    done = sorted((r for r in rows if r.status == "completed" and r.id in results),
                  key=lambda r: (r.created, r.id))
    out = Progress(in_progress=sum(1 for r in rows if r.status != "completed"))
    for i, r in enumerate(done, 1):
        res = results[r.id]
        drill = res.get("drill")
        out.sessions.append(SessionPoint(
            number=i, id=r.id, case=r.case_id,
            started=datetime.fromtimestamp(r.created).strftime("%Y-%m-%d %H:%M"),
            kind=f"drill:{drill}" if drill else "interview", overall=res.get("overall"),
            band=res.get("band"), scorer=str(res.get("scorer", "offline"))))
    for step in (*STEPS, CROSS_CUTTING):
        for c in rubrics[step].criteria:
            levels: list[int | None] = []
            for r in done:
                got = results[r.id].get("steps", {}).get(step, {})
                levels.append(got.get("criteria", {}).get(c.id) if got else None)
            recent = [lv for lv in levels if lv is not None][-RECENT:]
            out.criteria.append(CriterionTrend(
                id=c.id, name=c.name, step=step, trace=c.trace, weight=c.weight, levels=levels,
                recent=round(sum(recent) / len(recent), 2) if recent else None,
                trend=_trend(levels)))
    scored = [c for c in out.criteria if c.recent is not None]
    out.weakest = sorted(scored, key=lambda c: (c.recent, -c.weight, c.id))[:WEAKEST]
    out.recommendation = recommend(out.weakest, rubrics, cases,
                                   [r.case_id for r in done])
    return out


def exercises(case: Case, criterion_id: str, rubrics: RubricSet) -> int:
    """How many of a criterion's signal groups the case's strong-answer notes cover: how much a
    strong answer to this case exercises the criterion."""
    step = criterion_id.split(".")[0]
    crit = rubrics[step].criterion(criterion_id)
    notes = ([n for s in STEPS for n in case.strong_answer[s]] if step == CROSS_CUTTING
             else list(case.strong_answer[step]))
    return len(coverage(crit.signals, notes).matched)


def recommend(weakest: Sequence[CriterionTrend], rubrics: RubricSet,
              cases: Mapping[str, Case], practised: Sequence[str]) -> Recommendation:
    """A case whose strong answers exercise the weakest criteria most, less one for each
    session already held on it (a case not practised yet teaches more), and a drill of the
    step most of them belong to."""
    rec = Recommendation()
    if not weakest:
        return rec
    times = {c: practised.count(c) for c in cases}

    def fit(cid: str) -> tuple[int, int, str]:
        covered = sum(exercises(cases[cid], w.id, rubrics) for w in weakest)
        return (covered - times[cid], -times[cid], cid)

    best = max(cases, key=fit)
    rec.case, rec.case_title = best, cases[best].title
    names = ", ".join(w.name.lower() for w in weakest)
    seen = "not practised yet" if not times[best] else \
        f"practised {times[best]} time{'s' if times[best] > 1 else ''}"
    rec.reason = f"its strong answers exercise {names} the most ({seen})"
    rec.command = f"interviewer chat --case {best}"
    steps = [w.step for w in weakest if w.step != CROSS_CUTTING]
    if steps:
        rec.drill_step = max(dict.fromkeys(steps), key=steps.count)
        rec.drill_command = f"interviewer drill {rec.drill_step}"
    return rec


# -- text -----------------------------------------------------------------------------------

_ARROW = {"up": "↑", "down": "↓", "flat": "→", "": ""}
#: Sessions shown as columns in the text view (the JSON has all of them).
COLUMNS = 12


def to_text(p: Progress) -> str:
    if not p.sessions:
        pending = (f" ({p.in_progress} in progress; finish one, or see its report with "
                   "'interviewer report ID')") if p.in_progress else ""
        return ("No completed sessions yet" + pending + ". Hold an interview with "
                "'interviewer chat' or drill one step with 'interviewer drill STEP'.\n")
    shown = p.sessions[-COLUMNS:]
    first = len(p.sessions) - len(shown)
    lines = [f"Progress over {len(p.sessions)} completed session"
             f"{'s' if len(p.sessions) != 1 else ''}"
             + (f" ({p.in_progress} in progress left out)" if p.in_progress else "") + ":", ""]
    for s in shown:
        overall = "—" if s.overall is None else f"{s.overall:.2f}"
        marks = {"llm": " (LLM judge)", "mixed": " (LLM judge and offline)"}
        lines.append(f"  #{s.number:<3} {s.started}  {s.id}  {s.case:<28} {s.kind:<18} "
                     f"{overall:>5}  {s.band or '—'}{marks.get(s.scorer, '')}")
    if any(s.scorer != "offline" for s in shown):
        lines.append("  Levels from the LLM judge are marked ᴸ (ᴹ: a session scored partly by "
                     "each); the rest are offline scores.")
    header = "".join(f"{'#' + str(s.number):>4}" for s in shown)
    width = max(len(c.name) for c in p.criteria) + 2
    for step in (*STEPS, CROSS_CUTTING):
        rows = [c for c in p.criteria if c.step == step]
        if not any(lv is not None for c in rows for lv in c.levels[first:]):
            continue
        lines += ["", f"{TITLES[step]:<{width}}{header}  trend"]
        for c in rows:
            cells = "".join(
                f"{'·' if lv is None else str(lv) + SCORER_MARK.get(s.scorer, ''):>4}"
                for lv, s in zip(c.levels[first:], shown, strict=True))
            lines.append(f"  {c.name:<{width - 2}}{cells}  {_ARROW[c.trend]}")
    lines += ["", "Weakest criteria (mean of the last "
              f"{RECENT} levels), with the framework line each traces to:"]
    for i, c in enumerate(p.weakest, 1):
        lines.append(f"  {i}. {c.name} ({TITLES[c.step].lower()}) — {c.recent:.1f}: "
                     f"“{_plain(c.trace)}”")
    rec = p.recommendation
    if rec.command:
        lines += ["", f"Next: {rec.command}  — {rec.case_title}: {rec.reason}."]
    if rec.drill_command and rec.drill_step:
        lines.append(f"Or drill the step: {rec.drill_command}  "
                     f"({TITLES[rec.drill_step].lower()})")
    return "\n".join(lines) + "\n"


#: Markdown emphasis by single underscores around words ("like a PM _and_ infra operator").
_EMPHASIS = re.compile(r"(?<![\w_])_(?=\S)([^_]+?)(?<=\S)_(?![\w_])")


def _plain(trace: str) -> str:
    """A framework line without its Markdown emphasis or its own quotation marks, a table row
    as its cells ("|**Latency vs. Cost**|Real-time ... vs. batch ...|" reads "Latency vs. Cost:
    Real-time ... vs. batch ..."), and with a quotation it opens and never closes closed
    ("always ask “How does this scale?")."""
    text = " ".join(trace.replace("**", "").replace("__", "").split())
    text = _EMPHASIS.sub(r"\1", text)
    if text.startswith("|") and text.endswith("|") and len(text) > 2:
        cells = [c.strip() for c in text[1:-1].split("|") if c.strip()]
        text = f"{cells[0]}: {'; '.join(cells[1:])}" if len(cells) > 1 else "".join(cells)
    text = text.strip("\"“”'‘’ ")
    return text + "”" * max(0, text.count("“") - text.count("”"))
