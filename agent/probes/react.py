"""Follow-ups that react to what the candidate said (issue 10, item 3).

After each answer in steps 2-6 the interviewer chooses one of:

- **challenge** a claim: a figure from a fact the interviewer never told ("Where does the $75k
  come from?"), or a figure that contradicts what it did tell. Checked first: a candidate
  quoting the fact sheet must not sail through.
- **gap**: probe the most important criterion the answers do not meet yet, with the rubric's
  authored, non-leading probe (as before).
- **deepen** a strong point: quote the candidate's own most specific sentence and ask for the
  mechanism, the number, the trade-off or how to confirm it (by step).
- **move on**: nothing to add, or the step's follow-ups are used up.

With a model, the assessment call (agent/llm_policy.py) chooses between a gap probe, a deepen
(quoting the candidate; the quote is checked to be their words) and moving on; it sees the
criteria, never the rubric's exemplars or the case's strong-answer notes. A gap probe it speaks
goes through the guards (agent/model/guards.py). Challenges are decided by the fact sheet, in
both modes (the model never sees the facts not told).

Offline, a challenge and a deepen are built only from the candidate's own words and a neutral
question (prompts/script.yaml ``react``): they never name anything the rubric looks for that
the candidate did not say. The gap probe is the rubric's authored probe, written not to lead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from agent.cases import Case
from agent.policy import Interviewer, Speaker
from agent.prompts import script
from agent.rubrics import Rubric
from agent.semantic.facts import Told, check, quantities
from agent.semantic.reading import read_answer
from agent.signals import normalise
from agent.state import InterviewState
from agent.steps import STEPS

Kind = Literal["gap", "deepen", "challenge"]
#: The most words of the candidate's own sentence quoted back.
QUOTE_WORDS = 14
#: What to deepen by step: how it works, what number, what it costs, how to confirm it.
DEEPEN_BY_STEP = {"diagnose": "confirm", "goals": "number", "prioritize": "tradeoff",
                  "solutions": "mechanism", "validate": "number"}


@dataclass(frozen=True)
class Reaction:
    kind: Kind
    text: str
    about: str
    """what it reacts to: a criterion id (gap), "deepen", or "challenge:<sentence>\""""


def quote(sentence: str, words: int = QUOTE_WORDS) -> str:
    """The candidate's sentence as said, cut to ``words`` words (with an ellipsis), without
    its closing punctuation."""
    parts = sentence.strip().split()
    text = " ".join(parts[:words]).rstrip(".,;:!?")
    return text + ("…" if len(parts) > words else "")


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 0.02 * max(abs(a), abs(b), 1e-9)


def unasked_figure(case: Case, told: Told, sentence: str) -> str | None:
    """A figure in ``sentence`` that only a fact never told could give: it equals a figure of
    an untold fact's answer and nothing said so far (the prompt, clarify, earlier steps) has
    it. Small bare numbers are not figures (agent.semantic.facts.quantities)."""
    known = [q for text in told.heard for q in quantities(text)]
    untold = [q for f in case.facts if f.id not in told.facts for q in quantities(f.answer)]
    for q in quantities(sentence):
        if any(_same(q.value, k.value) for k in known):
            continue
        if any(_same(q.value, u.value) and (q.unit == u.unit or "" in (q.unit, u.unit))
               for u in untold):
            return q.text
    return None


def challenge(case: Case, step: str, answers: Sequence[str], told: Told,
              done: Sequence[str]) -> Reaction | None:
    """A challenge to the first sentence of the answers that uses a figure from a fact never
    told, or that contradicts a fact that was (agent/semantic/facts.py), unless that sentence
    was challenged already."""
    sents = [s for a in answers for s in read_answer(a)]
    found = check(case, told, sents, step)
    lines = script()["react"]
    for s in sents:
        about = f"challenge:{s.text}"
        if about in done:
            continue
        figure = unasked_figure(case, told, s.text)
        if figure is not None:
            return Reaction("challenge", str(lines["unasked"]).format(figure=figure), about)
        if any(s.text in n and n.startswith("Contradicts") for n in found.notes):
            return Reaction("challenge", str(lines["contradiction"]).format(
                quote=quote(s.text)), about)
    return None


_SPECIFIC = re.compile(r"\d|\b(?:because|since|so that|which means|by|via|instead of|rather "
                       r"than|unless|if)\b", re.IGNORECASE)


def deepen(step: str, answers: Sequence[str], done: Sequence[str]) -> Reaction | None:
    """A deepening question on the candidate's most specific claim (a figure or a reason
    beats a bare statement; longer beats shorter), once per step."""
    if "deepen" in done:
        return None
    claims = [s for a in answers for s in read_answer(a) if s.claim and not s.negated
              and not s.text.rstrip().endswith("?") and len(s.text.split()) >= 5]
    if not claims:
        return None
    best = max(claims, key=lambda s: (bool(_SPECIFIC.search(s.text)), len(s.text.split())))
    ask = script()["react"]["deepen"][DEEPEN_BY_STEP.get(step, "mechanism")]
    return Reaction("deepen", str(ask).format(quote=quote(best.text)), "deepen")


def told_before(state: InterviewState, step: str, case: Case) -> Told:
    """What the candidate had been told (and had said) before ``step``: the facts clarify
    revealed and every line of the earlier steps."""
    earlier = set(STEPS[:STEPS.index(step)]) if step in STEPS else set()
    heard = tuple(t["text"] for t in state.get("turns", []) if t["step"] in earlier)
    return Told(facts=frozenset(state.get("facts_told", [])), heard=(case.prompt, *heard))


def respond(interviewer: Interviewer, case: Case, rubric: Rubric, step: str,
            state: InterviewState, answers: Sequence[str], done: Sequence[str],
            speak: Speaker) -> Reaction | None:
    """Choose and say the reaction to the step's answers so far (module docstring); None to
    move on. ``done``: what this step has already reacted to (``Reaction.about`` values)."""
    # The assessment is made every turn (with a model it is the model's reading of the answer,
    # and its choice); a challenge, decided by the fact sheet, still goes first.
    assessment = interviewer.assess(case, rubric, answers)
    found = challenge(case, step, answers, told_before(state, step, case), done)
    if found is None:
        target = assessment.target(rubric, done)
        said = _verified(assessment.quote, answers)
        if assessment.reaction == "deepen" and said and "deepen" not in done:
            # The model chose to deepen and quoted the candidate word for word.
            ask = script()["react"]["deepen"][DEEPEN_BY_STEP.get(step, "mechanism")]
            found = Reaction("deepen", str(ask).format(quote=quote(said)), "deepen")
        elif assessment.reaction == "move_on" and target is None:
            return None
        elif target is not None:
            asked = interviewer.followup(case, rubric, target, _opening_question(state, step),
                                         answers, speak)
            return Reaction("gap", asked, target.id)
        else:
            found = deepen(step, answers, done)
    if found is not None:
        speak(found.text)
    return found


def _verified(said: str, answers: Sequence[str]) -> str:
    """``said`` if it is the candidate's own words (normalised, within one answer), else ""."""
    text = normalise(said).strip(" .\"“”'")
    if len(text.split()) < 3:
        return ""
    return said.strip(" \"“”'") if any(text in normalise(a) for a in answers) else ""


def _opening_question(state: InterviewState, step: str) -> str:
    for t in state.get("turns", []):
        if t["role"] == "interviewer" and t["step"] == step and t["kind"] in ("opener", "prompt"):
            return t["text"]
    return ""
