"""The LLM judge: one structured call per step over the step's whole transcript.

Invalid output is retried within a bound; a criterion still without a valid level after that is
left unscored and says why, never defaulted. Quotes go through the evidence check: only the
candidate's own words are kept as evidence, and never a sentence that only rejects a practice.
The judge sees which facts the candidate was told and which not, and grades reasoning (see
prompts/judge_system.md); ``samples`` > 1 takes the median of several gradings.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from pydantic import BaseModel, Field

from agent import tokens
from agent.cases import Case, Fact
from agent.evidence import check_quotes
from agent.model import budgets
from agent.model.client import ModelClient, StructuredOutputError
from agent.prompts import fence, load_prompt
from agent.rubrics import Criterion, RubricSet, default_rubrics
from agent.scorer_common import (
    Turns,
    applicable,
    candidate_texts,
    case_notes,
    strong_notes,
    transcript_hash,
)
from agent.scores import CriterionScore, StepScore, missed_text, step_mean
from agent.semantic.facts import Told
from agent.steps import TITLES


class JudgedCriterion(BaseModel):
    id: str = Field(description="the criterion id exactly as written in the rubric")
    # The schema tells the model 1-4; range is checked by us so one bad criterion does not
    # throw away the others.
    level: int = Field(description="1 missing, 2 partial, 3 solid, 4 excellent",
                       json_schema_extra={"minimum": 1, "maximum": 4})
    rationale: str = Field(description="one or two sentences the candidate can act on")
    quotes: list[str] = Field(description="verbatim excerpts of the candidate's words")


class JudgeOut(BaseModel):
    """The judge's verdict on every criterion of one step."""

    criteria: list[JudgedCriterion]


def render_rubric(criteria: Sequence[Criterion]) -> str:
    out = []
    for c in criteria:
        levels = "\n".join(f"    {k}: {c.levels[k]}" for k in (1, 2, 3, 4))
        out.append(f"- id: {c.id}\n  name: {c.name}\n  looks for: {c.looks_for}\n"
                   f"  levels:\n{levels}")
    return "\n".join(out)


def render_facts(case: Case, told: Told | None) -> str:
    """The fact sheet; split into what the candidate was told and was not, when known."""
    def lines(facts: Sequence[Fact]) -> str:
        return "\n".join(f"- {f.topic}: {f.answer.strip()}" for f in facts) or "- (none)"

    if told is None:
        return lines(case.facts)
    return (f"told:\n{lines([f for f in case.facts if f.id in told.facts])}\n"
            f"not told:\n{lines([f for f in case.facts if f.id not in told.facts])}")


def render_transcript(turns: Turns) -> str:
    parts = []
    for role, text in turns:
        if role == "candidate":
            parts.append(f"<candidate>\n{fence(text)}\n</candidate>")
        else:
            # Interviewer lines can be model speech that quotes the candidate: fenced too.
            parts.append(f"<interviewer>{fence(text)}</interviewer>")
    return "\n".join(parts)


def judge_prompt_version() -> str:
    system, user = load_prompt("judge_system"), load_prompt("judge")
    return f"judge_system:{system.version}+judge:{user.version}"


class LLMJudge:
    """The LLM judge. ``samples`` > 1 asks for that many independent gradings of the step and
    keeps, per criterion, the median level (the lower middle one for an even count), with the
    rationale and quotes of a sample that gave it; every sample's level is kept in
    ``CriterionScore.samples`` so test-retest can be measured. Give the client a temperature
    above 0 for the samples to differ."""

    name = "llm"

    def __init__(self, client: ModelClient, rubrics: RubricSet | None = None, *,
                 session_id: str | None = None, attempts: int = 3, samples: int = 1) -> None:
        if samples < 1:
            raise ValueError("judge samples must be at least 1")
        self.client = client
        self.rubrics = rubrics or default_rubrics()
        self.session_id = session_id
        self.attempts = attempts
        self.samples = samples

    def version(self, step: str) -> str:
        k = f":samples={self.samples}" if self.samples > 1 else ""
        return (f"llm:{self.client.model}:{judge_prompt_version()}{k}:"
                f"rubric={self.rubrics.hashes[step]}")

    def messages(self, case: Case, step: str, turns: Turns, told: Told | None = None,
                 sample: int = 0) -> list[dict[str, str]]:
        """The judge's prompt. When it would not leave room for the reply within the model's
        context, the transcript's longest turns are clipped (their middle left out, marked);
        the instructions, rubric and facts are kept whole."""
        rubric = self.rubrics[step]
        notes = strong_notes(case, step) or ["(scored over the whole interview)"]
        criteria = [c for c, _ in applicable(case, rubric)]

        def render(said: Turns) -> list[dict[str, str]]:
            user = load_prompt("judge").render(
                case_prompt=case.prompt.strip(),
                facts=render_facts(case, told),
                strong_answer="\n".join(f"- {n}" for n in notes),
                step_title=TITLES.get(step, step),
                rubric=render_rubric(criteria),
                transcript=render_transcript(said),
            )
            if self.samples > 1:  # each pass is its own call (and its own cache entry)
                user += f"\n\n(Independent grading pass {sample + 1} of {self.samples}.)"
            return [{"role": "system", "content": load_prompt("judge_system").text},
                    {"role": "user", "content": user}]

        msgs = render(turns)
        budget = self.client.prompt_budget(budgets.judge_tokens(len(criteria)))
        if sum(len(m["content"].encode()) for m in msgs) > budget and \
                tokens.count_messages(msgs) > budget:
            room = budget - tokens.count_messages(render([(r, "") for r, _ in turns])) - 16
            texts = budgets.fit_texts([t for _, t in turns], max(room, 64))
            msgs = render([(r, t) for (r, _), t in zip(turns, texts, strict=True)])
        return msgs

    def _judge_once(self, base: list[dict[str, str]], ids: list[str]
                    ) -> tuple[dict[str, JudgedCriterion], dict[str, str]]:
        """One grading of the step, re-asked within ``attempts`` for what came back invalid."""
        msgs = list(base)
        got: dict[str, JudgedCriterion] = {}
        problems: dict[str, str] = {}

        def check(out: JudgeOut) -> str | None:
            """Every criterion once, levels 1-4: anything else is logged as an invalid reply."""
            seen = {c.id: c.level for c in out.criteria}
            bad = [f"{cid} level {lv} is outside 1-4" for cid, lv in seen.items()
                   if cid in ids and not 1 <= lv <= 4]
            bad += [f"unknown criterion {cid}" for cid in seen if cid not in ids]
            bad += [f"{cid} missing" for cid in ids if cid not in seen and cid not in got]
            return "; ".join(bad[:4]) or None

        for _ in range(self.attempts):
            try:
                out = self.client.structured(
                    msgs, JudgeOut, purpose="judge", prompt_hash=judge_prompt_version(),
                    session_id=self.session_id, attempts=1, check=check,
                    max_tokens=budgets.judge_tokens(len(ids)),
                )
            except StructuredOutputError as e:
                if e.value is None:  # not even parseable
                    for cid in ids:
                        if cid not in got:
                            problems[cid] = str(e).split("(", 1)[-1].rstrip(")")
                    msgs = [*base, {"role": "user", "content": "Your last reply was not valid "
                                    "JSON for the schema. Reply again with every criterion."}]
                    continue
                out = e.value  # parsed, but some criteria are invalid: keep the valid ones
            for item in out.criteria:
                if item.id not in ids or item.id in got:
                    continue
                if 1 <= item.level <= 4:
                    got[item.id] = item
                    problems.pop(item.id, None)
                else:
                    problems[item.id] = f"level {item.level} is outside 1-4"
            for cid in ids:
                if cid not in got and cid not in problems:
                    problems[cid] = "missing from the judge's reply"
            if len(got) == len(ids):
                break
            pending = ", ".join(f"{cid} ({problems[cid]})" for cid in ids if cid not in got)
            msgs = [*base, {"role": "user", "content": "Your last reply had problems with: "
                            f"{pending}. Reply again with every criterion, levels 1-4."}]
        return got, problems

    def score_step(self, case: Case, step: str, turns: Turns,
                   told: Told | None = None) -> StepScore:
        rubric = self.rubrics[step]
        criteria_here = applicable(case, rubric)
        ids = [c.id for c, _ in criteria_here]
        runs = [self._judge_once(self.messages(case, step, turns, told, k), ids)
                for k in range(self.samples)]
        said = candidate_texts(turns)
        criteria = []
        for c, weight in criteria_here:
            levels = [got[c.id].level for got, _ in runs if c.id in got]
            if not levels:
                why = next((p[c.id] for _, p in runs if c.id in p), "no reply")
                criteria.append(CriterionScore(
                    id=c.id, name=c.name, weight=weight, level=None,
                    rationale=f"Unscored: the judge gave no valid level after {self.attempts} "
                              f"attempts ({why}).",
                    evidence=[], unverified_quotes=0, flagged=False))
                continue
            level = statistics.median_low(levels)
            jc = next(got[c.id] for got, _ in runs if c.id in got and got[c.id].level == level)
            checked = check_quotes(jc.quotes, said, need_support=True)
            criteria.append(CriterionScore(
                id=c.id, name=c.name, weight=weight, level=level,
                rationale=jc.rationale.strip()[:600], evidence=checked.verified[:3],
                unverified_quotes=checked.dropped,
                flagged=level > 1 and not checked.verified,
                missed=missed_text(self.rubrics, step, c.id, level),
                samples=levels if self.samples > 1 else None,
            ))
        notes = case_notes(case, rubric)
        if self.samples > 1:
            agree = sum(1 for c in criteria if c.samples and len(set(c.samples)) == 1)
            notes.append(f"Median of {self.samples} judge samples; they agreed on {agree} of "
                         f"{len(criteria)} criteria.")
        return StepScore(step=step, score=step_mean(criteria), weight=rubric.weight,
                         scorer=self.name,
                         version=f"{self.version(step)}:transcript="
                                 f"{transcript_hash(turns, told)}",
                         criteria=criteria, notes=notes, strong_answer=strong_notes(case, step))
