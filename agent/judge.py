"""The LLM judge: one structured call per step over the step's whole transcript.

Invalid output is retried within a bound; a criterion still without a valid level after that is
left unscored and says why, never defaulted. Quotes go through the evidence check: only the
candidate's own words are kept as evidence.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from agent import tokens
from agent.cases import Case
from agent.evidence import check_quotes
from agent.model import budgets
from agent.model.client import ModelClient, StructuredOutputError
from agent.prompts import fence, load_prompt
from agent.rubrics import Rubric, RubricSet, default_rubrics
from agent.scorers import Turns, candidate_texts, strong_notes, transcript_hash
from agent.scores import CriterionScore, StepScore, missed_text, step_mean
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


def render_rubric(rubric: Rubric) -> str:
    out = []
    for c in rubric.criteria:
        levels = "\n".join(f"    {k}: {c.levels[k]}" for k in (1, 2, 3, 4))
        out.append(f"- id: {c.id}\n  name: {c.name}\n  looks for: {c.looks_for}\n"
                   f"  levels:\n{levels}")
    return "\n".join(out)


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
    name = "llm"

    def __init__(self, client: ModelClient, rubrics: RubricSet | None = None, *,
                 session_id: str | None = None, attempts: int = 3) -> None:
        self.client = client
        self.rubrics = rubrics or default_rubrics()
        self.session_id = session_id
        self.attempts = attempts

    def version(self, step: str) -> str:
        return (f"llm:{self.client.model}:{judge_prompt_version()}:"
                f"rubric={self.rubrics.hashes[step]}")

    def messages(self, case: Case, step: str, turns: Turns) -> list[dict[str, str]]:
        """The judge's prompt. When it would not leave room for the reply within the model's
        context, the transcript's longest turns are clipped (their middle left out, marked);
        the instructions, rubric and facts are kept whole."""
        rubric = self.rubrics[step]
        notes = strong_notes(case, step) or ["(scored over the whole interview)"]

        def render(said: Turns) -> list[dict[str, str]]:
            user = load_prompt("judge").render(
                case_prompt=case.prompt.strip(),
                facts="\n".join(f"- {f.topic}: {f.answer.strip()}" for f in case.facts),
                strong_answer="\n".join(f"- {n}" for n in notes),
                step_title=TITLES.get(step, step),
                rubric=render_rubric(rubric),
                transcript=render_transcript(said),
            )
            return [{"role": "system", "content": load_prompt("judge_system").text},
                    {"role": "user", "content": user}]

        msgs = render(turns)
        budget = self.client.prompt_budget(budgets.judge_tokens(len(rubric.criteria)))
        if sum(len(m["content"].encode()) for m in msgs) > budget and \
                tokens.count_messages(msgs) > budget:
            room = budget - tokens.count_messages(render([(r, "") for r, _ in turns])) - 16
            texts = budgets.fit_texts([t for _, t in turns], max(room, 64))
            msgs = render([(r, t) for (r, _), t in zip(turns, texts, strict=True)])
        return msgs

    def score_step(self, case: Case, step: str, turns: Turns) -> StepScore:
        rubric = self.rubrics[step]
        ids = [c.id for c in rubric.criteria]
        base = self.messages(case, step, turns)
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
        said = candidate_texts(turns)
        criteria = []
        for c in rubric.criteria:
            jc = got.get(c.id)
            if jc is None:
                criteria.append(CriterionScore(
                    id=c.id, name=c.name, weight=c.weight, level=None,
                    rationale=f"Unscored: the judge gave no valid level after {self.attempts} "
                              f"attempts ({problems.get(c.id, 'no reply')}).",
                    evidence=[], unverified_quotes=0, flagged=False))
                continue
            checked = check_quotes(jc.quotes, said)
            criteria.append(CriterionScore(
                id=c.id, name=c.name, weight=c.weight, level=jc.level,
                rationale=jc.rationale.strip()[:600], evidence=checked.verified[:3],
                unverified_quotes=checked.dropped,
                flagged=jc.level > 1 and not checked.verified,
                missed=missed_text(self.rubrics, step, c.id, jc.level),
            ))
        return StepScore(step=step, score=step_mean(criteria), weight=rubric.weight,
                         scorer=self.name,
                         version=f"{self.version(step)}:transcript={transcript_hash(turns)}",
                         criteria=criteria, strong_answer=strong_notes(case, step))

