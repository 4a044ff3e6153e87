"""The feedback report: scores per step and criterion, the candidate's own words as evidence,
what was missed, the band, what to practise next. Rendered as Markdown, JSON or HTML."""

from __future__ import annotations

import json
import re
import time as _time
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from agent.commands import shown
from agent.practice.timebox import StepTime, clock, time_summary
from agent.scores import BANDS, StepScore, band, overall
from agent.steps import CROSS_CUTTING, TITLES

SCHEMA_VERSION = 1


class ScorerInfo(BaseModel):
    type: Literal["llm", "offline", "mixed"] = Field(
        description="what scored the steps: the LLM judge, the offline rubric-signal scorer, "
        "or both (some steps each; see each step's scorer)")
    model: str | None = Field(default=None, description="the judge model(s), when any")
    prompts: str | None = Field(default=None, description="judge prompt hashes")
    rubrics: str = Field(description="hash over every rubric file")
    notes: list[str] = Field(default_factory=list,
                             description="where the scores came from, when not all scored now "
                             "by the current scorer (e.g. judge scores stored in the session)")
    agreement: str | None = Field(default=None,
                                  description="the scorer's measured agreement with human "
                                  "graders on the held-out split, and with what rubrics")


class TranscriptTurn(BaseModel):
    role: Literal["interviewer", "candidate"] = Field(description="who spoke")
    step: str = Field(description="the step it belongs to (wrap_up for the closing line)")
    kind: str = Field(description="prompt, fact, followup, opener, notice, hint, coach, closing "
                      "(interviewer); answer or command (candidate)")
    text: str = Field(description="what was said, verbatim (the candidate's words as sent)")


class ModelAnswer(BaseModel):
    step: str = Field(description="a framework step id")
    points: list[str] = Field(description="the case's notes on what a strong answer to this "
                              "step covers, in order")


class Report(BaseModel):
    """A session's feedback report (the JSON output of ``interviewer report --format json``)."""

    schema_version: int = Field(default=SCHEMA_VERSION, description="this format's version")
    session: str = Field(description="session id")
    case: str = Field(description="case id (cases/<id>.yaml)")
    case_title: str = Field(description="the case's title")
    mode: str = Field(description="exam or coach")
    status: Literal["completed", "in_progress"] = Field(description="the interview's status")
    scorer: ScorerInfo = Field(description="what scored the session")
    overall: float | None = Field(description="weighted mean of step scores, 1-4; skipped steps "
                                  "count as 1, steps not reached or unscored are left out; null "
                                  "when none of the answered steps could be scored")
    band: str | None = Field(description="recommendation band from the overall score")
    provisional: bool = Field(default=False, description="true while the interview is in "
                              "progress: the overall score and band can still change")
    bands: dict[str, float] = Field(description="band name -> lowest overall score for it")
    steps: list[StepScore] = Field(description="the six steps in order, then cross_cutting")
    practice: list[str] = Field(description="what to practise next, most useful first")
    unscored_criteria: int = Field(description="criteria the scorer could not score")
    flagged_criteria: int = Field(description="levels above 1 without a verified quote")
    unverified_quotes: int = Field(description="quotes dropped: not the candidate's words")
    interviewer_fallbacks: int = Field(
        default=0, description="interviewer lines (and clarify fact selections) where the "
        "model's reply was unusable or too slow and the standard text was used instead")
    generated_at: str = Field(description="when the report was made (ISO 8601)")
    drill: str | None = Field(default=None, description="for a single-step drill, the step "
                              "practised (the report covers that step only)")
    model_answers: list[ModelAnswer] = Field(
        default_factory=list, description="per step, a model answer assembled from the case's "
        "notes on strong answers")
    time: list[StepTime] = Field(default_factory=list, description="active time per step "
                                 "against the suggested time")
    time_summary: str | None = Field(default=None, description="where the time went, in brief")
    transcript: list[TranscriptTurn] = Field(default_factory=list,
                                             description="the whole interview, in order")


def _answered(steps: Sequence[StepScore]) -> list[StepScore]:
    return [s for s in steps if s.status in ("scored", "unscored", "in_progress")]


def fully_unscored(steps: Sequence[StepScore]) -> list[StepScore]:
    """Answered steps where no criterion could be scored (e.g. the endpoint was down)."""
    return [s for s in _answered(steps) if s.criteria and s.unscored == len(s.criteria)]


def unscored_reason(step: StepScore) -> str:
    for c in step.criteria:
        if c.level is None:
            return c.rationale.removeprefix("Unscored: ").strip()
    return ""


def rescore_hint(session: str) -> str:
    return (f"re-run `interviewer report {session} --offline` for offline scores, or run it "
            "again once the model endpoint is reachable")


#: A scorer's note on a bad call (agent/scorers.py): why, and the sentence.
_BAD_CALL_NOTE = re.compile(r"A bad call, stated as a plan \((.+?)\): “(.+)” — no credit")


def practice_next(steps: Sequence[StepScore], limit: int = 3, session: str = "ID") -> list[str]:
    out: list[str] = []
    skipped = [s for s in steps if s.status == "skipped" and s.step != CROSS_CUTTING]
    if skipped:
        names = ", ".join(TITLES[s.step].lower() for s in skipped)
        which = "this step" if len(skipped) == 1 else "these steps"
        out.append(f"Answer every step: you gave no answer to {names}, so {which} scored 1 / 4. "
                   "Practise giving at least a structured first answer.")
    # A bad call is the habit worth unlearning first (a trial: "No need to test" scored
    # validate 1/4, and the list named three clarify and diagnose gaps instead): the first one.
    calls = [(s.step, m) for s in steps if s.step != CROSS_CUTTING for n in s.notes
             if (m := _BAD_CALL_NOTE.match(n))]
    if calls:
        step, m = calls[0]
        out.append(f"Drop a bad call ({TITLES[step].lower()}): it {m.group(1)}: "
                   f"“{excerpt(m.group(2)).rstrip('.!?;: ')}”. No serious answer makes it; say "
                   "what you would "
                   "check or give up instead.")
    gaps = [(c.level or 0, -c.weight, s.step, c) for s in steps if s.status != "skipped"
            for c in s.criteria if c.level is not None and c.level <= 2]
    for _, _, step, c in sorted(gaps, key=lambda g: (g[0], g[1])):
        if len(out) >= limit:
            break
        out.append(f"{c.name} ({TITLES[step].lower()}): {c.missed or c.rationale}")
    if fully_unscored(steps) and len(out) < limit:
        out.append(f"Some answers could not be scored, so there is no advice on them yet: "
                   f"{rescore_hint(session)}.")
    if out:
        return out[:limit]
    if not any(c.level is not None for s in steps for c in s.criteria):
        return ["Answer a few steps first: there is nothing to give advice on yet."]
    return ["Keep practising full interviews on harder cases."]


def build_report(*, session: str, case: str, case_title: str, mode: str, completed: bool,
                 scorer: ScorerInfo, steps: Sequence[StepScore], drill: str | None = None,
                 model_answers: Sequence[ModelAnswer] = (), time: Sequence[StepTime] = (),
                 transcript: Sequence[TranscriptTurn] = (),
                 interviewer_fallbacks: int = 0) -> Report:
    # Across the interview is judged on the whole interview: until it is finished, a score on
    # the first steps alone would pull a provisional overall down (1.46 after one good step).
    ov = overall(steps if completed else [s for s in steps if s.step != CROSS_CUTTING])
    answered = _answered(steps)
    if answered and all(s.score is None for s in answered):
        ov = None  # an overall made of skipped steps alone would misrepresent the answers
    crit = [c for s in steps for c in s.criteria]
    return Report(
        session=session, case=case, case_title=case_title, mode=mode,
        status="completed" if completed else "in_progress", scorer=scorer, overall=ov,
        band=band(ov), provisional=not completed and ov is not None, bands=dict(BANDS),
        steps=list(steps), practice=practice_next(steps, session=session),
        unscored_criteria=sum(1 for c in crit if c.level is None),
        flagged_criteria=sum(1 for c in crit if c.flagged),
        unverified_quotes=sum(c.unverified_quotes for c in crit),
        interviewer_fallbacks=interviewer_fallbacks,
        generated_at=_time.strftime("%Y-%m-%dT%H:%M:%S%z"), drill=drill,
        model_answers=list(model_answers), time=list(time),
        time_summary=time_summary(list(time)) if time else None, transcript=list(transcript),
    )


def to_json(report: Report) -> str:
    return json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def json_schema() -> dict[str, Any]:
    return Report.model_json_schema()


def _fmt(score: float | None) -> str:
    return "—" if score is None else f"{score:.2f}"


def scorer_text(sc: ScorerInfo, short: bool = False) -> str:
    offline = ("offline scorer" if short
               else "offline scorer (deterministic: rubric signals read in affirmed claims, "
               "plus a local embedding matcher for paraphrases)")
    judge = f"LLM judge ({sc.model}; prompts {sc.prompts})"
    return {"llm": judge, "offline": offline,
            "mixed": f"{judge} and {offline.split(' (')[0]}, per step"}[sc.type]


def band_text(r: Report) -> str:
    if r.band is None:
        return ("nothing could be scored" if fully_unscored(r.steps)
                else "not enough answers to band")
    caveats = ["provisional: the interview is not finished"] if r.provisional else []
    dead = len(fully_unscored(r.steps))
    if dead:
        caveats.append(f"incomplete: {dead} answered step{'s' if dead > 1 else ''} could not "
                       "be scored")
    return r.band + "".join(f" ({c})" for c in caveats)


def status_note(s: StepScore) -> str:
    if s.fallback:
        return s.fallback
    if s.status in ("scored", "unscored") and s.criteria and s.unscored == len(s.criteria):
        return "unscored"
    return {"skipped": "no answer", "not_reached": "not reached",
            "in_progress": "in progress"}.get(s.status, "")


def fallback_steps(steps: Sequence[StepScore]) -> list[StepScore]:
    """Steps a configured model judge could not score, scored offline instead (marked)."""
    return [s for s in steps if s.fallback]


def scoring_notes(r: Report) -> list[str]:
    """Plain-text notes on how far to trust the scores (shared by Markdown and HTML)."""
    notes = list(r.scorer.notes)
    fell = fallback_steps(r.steps)
    if fell:
        names = ", ".join(TITLES[s.step].lower() for s in fell)
        reasons = list(dict.fromkeys(s.fallback or "" for s in fell))
        notes.append(f"The model judge could not score {names}, so "
                     f"{'it was' if len(fell) == 1 else 'they were'} scored offline by rubric "
                     f"signals ({'; '.join(reasons)}). To ask the model again: interviewer "
                     f"report {r.session} --rescore")
    if r.interviewer_fallbacks:
        n = r.interviewer_fallbacks
        notes.append(f"{n} interviewer line{'s' if n != 1 else ''} used the standard text "
                     "because the model's reply was unusable or too slow (see interviewer "
                     f"trace {r.session}).")
    dead = fully_unscored(r.steps)
    if dead:
        reasons = list(dict.fromkeys(unscored_reason(s) for s in dead))
        what = "Nothing" if len(dead) == len(_answered(r.steps)) else f"{len(dead)} steps"
        notes.append(f"{what} could be scored ({reasons[0]}{'; …' if len(reasons) > 1 else ''})"
                     f": {rescore_hint(r.session)}.")
    partly = r.unscored_criteria - sum(len(s.criteria) for s in dead)
    if partly:
        notes.append(f"{partly} criteria are unscored (see below); they are left out of the "
                     "step scores, not counted as zero.")
    if r.flagged_criteria:
        notes.append(f"{r.flagged_criteria} criteria scored above 1 have no verified quote from "
                     "you; treat those levels with caution.")
    if r.unverified_quotes:
        notes.append(f"{r.unverified_quotes} quotes offered by the scorer were not your words "
                     "and were dropped.")
    return notes


def to_markdown(report: Report, transcript: bool = True) -> str:
    """The report in Markdown; ``transcript=False`` leaves the transcript out (the chat's own
    screen, right after the interview, has it already)."""
    r = report
    sc = r.scorer
    lines = [
        f"# Interview feedback — {r.case_title}",
        "",
        f"Session `{r.session}` · case `{r.case}` · {r.mode} mode · {r.status.replace('_', ' ')}",
        "",
        f"Scored by: {scorer_text(sc)} · rubrics {sc.rubrics}",
        "",
        *([f"How far to trust it: {sc.agreement}.", ""] if sc.agreement else []),
        f"**Overall: {_fmt(r.overall)} / 4 — {band_text(r)}**",
        "",
        "| Step | Score | |",
        "|---|---:|---|",
    ]
    for s in r.steps:
        bar = "█" * round((s.score or 0) * 4) + "░" * (16 - round((s.score or 0) * 4))
        note = f" ({status_note(s)})" if status_note(s) else ""
        lines.append(f"| {TITLES[s.step]}{note} | {_fmt(s.score)} | `{bar}` |")
    lines += ["", "## What to practise next", ""]
    lines += [f"{i}. {md_inline(p)}" for i, p in enumerate(r.practice, 1)]
    notes = scoring_notes(r)
    if notes:
        lines += ["", "## Scoring notes", ""]
        lines += [f"- {n}" for n in notes]
    dead = {s.step for s in fully_unscored(r.steps)}
    for s in r.steps:
        note = (" (no answer)" if s.status == "skipped" else
                f" ({s.fallback})" if s.fallback else "")
        lines += ["", f"## {TITLES[s.step]} — {_fmt(s.score)}{note}"]
        if s.fallback:
            lines += ["", f"*{s.fallback.capitalize()}; these levels come from rubric "
                      "signals, not the model judge.*"]
        if s.status == "not_reached":
            lines += ["", "Not reached in this session."]
            continue
        if s.step in dead:
            lines += ["", f"Unscored: {unscored_reason(s)}"]
            continue
        if s.status == "skipped":
            lines += ["", s.criteria[0].rationale if s.criteria else "No answer.", ""]
            lines += [f"- **{c.name}** — 1/4" + (f". *To reach solid:* {c.missed}"
                                                  if c.missed else "") for c in s.criteria]
        else:
            for c in s.criteria:
                level = "unscored" if c.level is None else f"{c.level}/4"
                flag = " ⚠ no verified quote" if c.flagged else ""
                lines += ["", f"**{c.name}** — {level}{flag}", "", md_inline(c.rationale)]
                for q in c.evidence:
                    lines += ["", f"> “{md_inline(excerpt(q))}”"]
                if c.missed:
                    lines += ["", f"- *To go further:* {c.missed}"]
        if s.notes:
            lines += ["", "*Scorer's notes:*", ""]
            lines += [f"- {md_inline(n)}" for n in s.notes]
        model = model_answer(r, s.step)
        missed = set(s.strong_answer) if s.step != CROSS_CUTTING else set()
        if model:  # one model answer, what the answers missed in bold (not said twice)
            text = " ".join(marked(t, s.strong_missing.get(p), "**", "**", str) if p in missed
                            else t for p, t in zip(model, model_sentences(model), strict=True))
            lines += ["", f"{model_answer_intro(bool(missed & set(model)))} {text}"]
        elif missed:
            lines += ["", "*What a strong answer would have added:*", ""]
            lines += [f"- {n}" for n in s.strong_answer]
    lines += time_markdown(r)
    if transcript:
        lines += transcript_markdown(r)
    lines += ["", "Bands: " + ", ".join(f"{name} ≥ {floor}" for name, floor in BANDS), ""]
    return "\n".join(lines)


def model_answer_intro(marked: bool, em: str = "*") -> str:
    """The line before a model answer; ``marked``: some of it is what the answers missed."""
    return (f"{em}A model answer, assembled from the case's notes on strong answers"
            + (" (in bold: what the scorer did not find in yours)" if marked else "") + f":{em}")


def marked(sentence: str, missing: Sequence[str] | None, on: str, off: str,
           escape: Callable[[str], str]) -> str:
    """A missed note of a model answer (``sentence``, as :func:`as_sentence` gives it) with
    what was missed between ``on`` and ``off``: the points of ``missing`` (its own words,
    StepScore.strong_missing) when the answers made the rest of it, else all of it. Every
    piece goes through ``escape`` (html.escape for a page)."""
    spans = []
    for words in missing or ():
        at = sentence.find(" ".join(words.split()))
        if at >= 0:
            spans.append((at, at + len(" ".join(words.split()))))
    if not spans:
        return f"{on}{escape(sentence)}{off}"
    out, pos = [], 0
    for a, b in sorted(spans):
        if a < pos:
            continue
        out += [escape(sentence[pos:a]), on, escape(sentence[a:b]), off]
        pos = b
    out.append(escape(sentence[pos:]))
    return "".join(out)


def as_sentence(text: str) -> str:
    """``text`` on one line, ending as a sentence: a note that runs on gets a full stop."""
    text = " ".join(text.split())
    return text if not text or text.endswith((".", "!", "?", "…")) else text + "."


def model_sentences(points: Sequence[str]) -> list[str]:
    """The notes of a model answer, each as a sentence, in the case's order."""
    return [as_sentence(p) for p in points]


def model_answer_text(points: Sequence[str]) -> str:
    """The notes as one paragraph: each a sentence, in the case's order."""
    return " ".join(model_sentences(points))


def model_answer(r: Report, step: str) -> list[str]:
    return next((m.points for m in r.model_answers if m.step == step), [])


def time_markdown(r: Report) -> list[str]:
    if not r.time:
        return []
    lines = ["", "## Time", "", r.time_summary or "", "",
             "| Step | Spent | Suggested | |", "|---|---:|---:|---|"]
    for t in r.time:
        spent = "—" if t.verdict == "not reached" else clock(t.seconds)
        lines.append(f"| {TITLES[t.step]} | {spent} | {clock(t.suggested_seconds)} | "
                     f"{t.verdict} |")
    return lines


#: How each speaker is labelled in the transcript.
SPEAKER = {"interviewer": "Interviewer", "candidate": "You"}


def speaker(turn: TranscriptTurn) -> str:
    """Who a turn is shown as said by: coach mode's feedback is the coach's, not a question."""
    return "Coach" if turn.kind == "coach" else SPEAKER[turn.role]


def shown_text(turn: TranscriptTurn) -> str:
    """A turn's text as the transcript shows it: a candidate's command as what it did."""
    return shown(turn.role, turn.text)


def transcript_markdown(r: Report) -> list[str]:
    """The transcript: the interviewer's lines as paragraphs, the candidate's as quotes (so that
    nothing typed in an answer can pass for a heading or for the interviewer)."""
    if not r.transcript:
        return []
    lines = ["", "## Transcript"]
    step = None
    for t in r.transcript:
        if t.step != step and t.step in TITLES and t.step != CROSS_CUTTING:
            step = t.step
            lines += ["", f"### {TITLES[t.step]}"]
        shown = shown_text(t)
        if t.role == "candidate" and shown != t.text:  # a command: what it did
            lines += ["", f"**{SPEAKER[t.role]}:** *{shown}*"]
        elif t.role == "candidate":
            body = [_md_quote(line) for line in t.text.split("\n")]
            # each line of the answer stays a line: a hard break (two spaces) before the next
            body = [f"{b}  " if b != ">" and i + 1 < len(body) and body[i + 1] != ">" else b
                    for i, b in enumerate(body)]
            lines += ["", f"**{SPEAKER[t.role]}:**", "", *body]
        else:
            lines += ["", f"**{speaker(t)}:** {_md_plain(t.text)}"]
    return lines


def _md_plain(text: str) -> str:
    return " ".join(text.split())


#: Evidence is shown as an excerpt of at most this many characters: a pasted block with no full
#: stop in it is one "sentence", and quoted whole it filled screens.
QUOTE_CHARS = 300


def excerpt(quote: str, limit: int = QUOTE_CHARS) -> str:
    """``quote`` on one line, cut at a word boundary to at most ``limit`` characters (and an
    ellipsis) when longer."""
    text = " ".join(quote.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut.rstrip(" ,;:") + " …"


def md_inline(text: str) -> str:
    """Text that may hold the candidate's words (quotes, a judge's rationale, scorer notes) on
    one Markdown line, its markup shown literally: no tag, link or emphasis it holds is
    rendered by a Markdown viewer."""
    return _md_escape(_md_plain(text))


#: What a Markdown viewer would read as markup, and only that, so that text read raw (piped
#: to a file or a pager) keeps "~22%" and "p99 <150 ms" as typed: a backslash, a code tick,
#: an asterisk, brackets and a table bar anywhere; an underscore not inside a word; "<" that
#: would open a tag or an autolink; "~~" (strikethrough); ">" and "#" at the start.
_MD_SPECIAL = re.compile(r"[\\`*\[\]|]|(?<![^\W_])_|_(?![^\W_])|<(?=[A-Za-z/!?])|~(?=~)|(?<=~)~|"
                         r"^\s*[>#]")


def _md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(lambda m: m.group(0)[:-1] + "\\" + m.group(0)[-1], text)


def _md_quote(line: str) -> str:
    """One line of candidate text as a Markdown quote line, its markup shown literally."""
    escaped = _md_escape(line)
    escaped = re.sub(r"^(\s*)([-+])(?=\s)", r"\1\\\2", escaped)  # not a list item
    escaped = re.sub(r"^(\s*\d+)([.)])(?=\s)", r"\1\\\2", escaped)
    return "> " + escaped if escaped.strip() else ">"
