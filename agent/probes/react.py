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
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from agent.cases import Case
from agent.policy import Interviewer, Speaker
from agent.prompts import script
from agent.rubrics import Rubric
from agent.semantic.facts import (
    TARGET,
    Quantity,
    Told,
    check,
    distinctive,
    key_words,
    quantities,
    same,
)
from agent.semantic.matcher import similarity
from agent.semantic.numbers import words_to_numbers
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
    """what it reacts to: a criterion id (gap), "deepen", "untold:<fact id>:<sentence>" (a fact
    never told) or "challenge:<sentence>" (a contradiction)"""
    fact: str = ""
    """the untold fact a challenge is about ("" otherwise)"""


def quote(sentence: str, words: int = QUOTE_WORDS) -> str:
    """The candidate's sentence as said, cut to ``words`` words (with an ellipsis), without
    its closing punctuation."""
    parts = sentence.strip().split()
    text = " ".join(parts[:words]).rstrip(".,;:!?")
    return text + ("…" if len(parts) > words else "")


#: A claim that uses a fact never told without a figure ("their regulator expects
#: deterministic outputs") shares at least this many of the fact's own key words that nothing
#: said to the candidate had...
UNTOLD_WORDS = 2
#: ...and means about the same as the fact's answer (embedding similarity).
UNTOLD_SIMILARITY = 0.65
#: Steps whose sentences are mostly the candidate's own targets: only a figure gives a fact away.
TARGET_STEPS = ("goals",)
#: Where a sentence divides into clauses, each a target or a statement of its own
#: ("currently 10 to 20% per call; cap it at 10%").
_CLAUSE = re.compile(r"\s*(?:[;:,—–]|\s-\s)\s*")
#: Arithmetic on figures already given ("so 16 GPUs", "= 60%", "3 x 8"): its result may equal a
#: fact's figure by chance.
_ARITHMETIC = re.compile(r"=|≈|\b\d+(?:\.\d+)?\s*(?:x|times|×)\s*\d|\b(?:so|that's|that is|"
                         r"which is|works out to|comes to|totals?)\s+(?:about\s+|roughly\s+|~)?"
                         r"\$?\d", re.IGNORECASE)
#: A proposal or a plan: its words are what the candidate means to do, not a fact they claim.
_PROPOSES = re.compile(
    r"\b(?:should|shall|will|would|could|can|let's|let us|plan\w*|propos\w*|recommend\w*|"
    r"suggest\w*|need to|want to|going to|i'd|we'd|i'll|we'll|target\w*|goals?|aim\w*|turn on|"
    r"add|build|ship|introduce|offer)\b", re.IGNORECASE)


def _telling(q: Quantity, target: bool) -> bool:
    """Whether a figure could only have come from the fact sheet: in a target or a plan a round
    figure is the candidate's own choice (agent.semantic.facts.distinctive), but not a sum of
    money; otherwise any figure with a unit, or of two digits or more."""
    if target:
        return q.unit == "$" or distinctive(q, True)
    return bool(q.unit) or len(q.digits) >= 2


def untold_use(case: Case, told: Told, sentence: str, step: str,
               skip: Collection[str] = ()) -> tuple[str, str] | None:
    """(fact id, figure) when ``sentence`` uses a fact the candidate was never told (figure ""
    when it uses the fact's words rather than a figure); None otherwise. ``told.heard`` is what
    was said *to* the candidate (or by them in clarify): a figure or a word in it is known.
    Facts in ``skip`` (challenged already) are not reported again.

    - a figure equal to one of an untold fact's figures (the same kind of quantity), not heard
      before, not arithmetic on given figures, and telling (:func:`_telling`; whether it is a
      target is judged clause by clause);
    - outside goals and proposals, :data:`UNTOLD_WORDS` or more of the fact's own key words
      that nothing heard had, in a sentence that means about the same as the fact
      (:data:`UNTOLD_SIMILARITY`).
    """
    untold = [f for f in case.facts if f.id not in told.facts and f.id not in skip]
    if not untold:
        return None
    known = [q for text in told.heard for q in quantities(text)]
    for clause in _CLAUSE.split(sentence):
        if _ARITHMETIC.search(clause):
            continue
        target = bool(TARGET.search(clause))
        for q in quantities(clause):
            if any(same(q, k) for k in known) or not _telling(q, target):
                continue
            for f in untold:
                if any(same(q, fq) for fq in quantities(f.answer)):
                    return f.id, q.text
    if step in TARGET_STEPS or _PROPOSES.search(sentence):
        return None
    heard = set().union(*(key_words(t) for t in told.heard)) if told.heard else set()
    said = key_words(sentence)
    for f in untold:
        shared = said & (key_words(f.answer) - heard)
        if len(shared) >= UNTOLD_WORDS and similarity(sentence, f.answer) >= UNTOLD_SIMILARITY:
            return f.id, ""
    return None


def unasked_figure(case: Case, told: Told, sentence: str) -> str | None:
    """A figure in ``sentence`` that only a fact never told could give (:func:`untold_use`)."""
    found = untold_use(case, told, sentence, "diagnose")
    return found[1] if found and found[1] else None


def challenged_facts(done: Iterable[str]) -> set[str]:
    """The untold facts already challenged, from reactions' ``about`` values."""
    return {a.split(":", 2)[1] for a in done if a.startswith("untold:")}


def challenge(case: Case, step: str, answers: Sequence[str], told: Told,
              done: Sequence[str], heard: Told | None = None) -> Reaction | None:
    """A challenge to the first sentence of the answers that uses a fact never told
    (:func:`untold_use`; each such fact once per interview), or that contradicts a fact that
    was (agent/semantic/facts.py), unless that sentence was challenged already. ``heard``:
    what was said to the candidate (default ``told``); ``done``: every reaction so far."""
    sents = [s for a in answers for s in read_answer(a)]
    found = check(case, told, sents, step)
    lines = script()["react"]
    skip = challenged_facts(done)
    for s in sents:
        if f"challenge:{s.text}" in done or any(a.endswith(f":{s.text}") for a in done
                                                 if a.startswith("untold:")):
            continue
        use = untold_use(case, heard or told, s.text, step, skip)
        if use is not None:
            fid, figure = use
            text = (str(lines["unasked"]).format(figure=figure) if figure else
                    str(lines["unasked_claim"]).format(quote=quote(s.text)))
            return Reaction("challenge", text, f"untold:{fid}:{s.text}", fid)
        if any(s.text in n and n.startswith("Contradicts") for n in found.notes):
            return Reaction("challenge", str(lines["contradiction"]).format(
                quote=quote(s.text)), f"challenge:{s.text}")
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
    return Reaction("deepen", deepen_text(step, best.text), "deepen")


def deepen_text(step: str, sentence: str) -> str:
    """The step's deepening question on ``sentence``. Asking for a number when the sentence
    already gives one ("the slowest 1 in 100 under half a second") asks why that figure
    instead, quoting the words up to it."""
    kind = DEEPEN_BY_STEP.get(step, "mechanism")
    if kind == "number":
        at = _first_figure(sentence)
        if at is not None:
            kind = "number_given"
            words = sentence.split()
            if at >= QUOTE_WORDS:
                sentence = "…" + " ".join(words[at - QUOTE_WORDS + 3:])
    return str(script()["react"]["deepen"][kind]).format(quote=quote(sentence))


#: A figure: a number standing on its own ("500 ms", "99.9%", "4x"), not the digits of a
#: name such as "p99" or "H100".
_FIGURE = re.compile(r"\b\d")


def _first_figure(sentence: str) -> int | None:
    """The index of the word where the sentence's first figure ends (digits, or a number in
    words: "half a second"), or None."""
    words = sentence.split()
    if not _FIGURE.search(words_to_numbers(sentence)):
        return None
    for i in range(len(words)):
        if _FIGURE.search(words_to_numbers(" ".join(words[:i + 1]))):
            return i
    return len(words) - 1


def told_before(state: InterviewState, step: str, case: Case) -> Told:
    """What the candidate had been told (and had said) before ``step``: the facts clarify
    revealed and every line of the earlier steps."""
    earlier = set(STEPS[:STEPS.index(step)]) if step in STEPS else set()
    heard = tuple(t["text"] for t in state.get("turns", []) if t["step"] in earlier)
    return Told(facts=frozenset(state.get("facts_told", [])), heard=(case.prompt, *heard))


def said_to_candidate(state: InterviewState, step: str, case: Case) -> Told:
    """What the candidate was told before ``step``: the facts clarify revealed, the prompt,
    every interviewer line, and the candidate's own clarify turns (their questions and stated
    assumptions). Their later answers are not in it: a fact never told stays untold however
    often the candidate repeats it."""
    earlier = set(STEPS[:STEPS.index(step)]) if step in STEPS else set()
    heard = tuple(t["text"] for t in state.get("turns", []) if t["step"] in earlier
                  and (t["role"] == "interviewer" or t["step"] == "clarify"))
    return Told(facts=frozenset(state.get("facts_told", [])), heard=(case.prompt, *heard))


def all_reactions(state: InterviewState, step: str, done: Sequence[str]) -> list[str]:
    """What the interview has reacted to so far: every step's ``probed`` and this step's."""
    out = [a for s, abouts in state.get("probed", {}).items() if s != step for a in abouts]
    return [*out, *done]


def respond(interviewer: Interviewer, case: Case, rubric: Rubric, step: str,
            state: InterviewState, answers: Sequence[str], done: Sequence[str],
            speak: Speaker) -> Reaction | None:
    """Choose and say the reaction to the step's answers so far (module docstring); None to
    move on. ``done``: what this step has already reacted to (``Reaction.about`` values)."""
    # The assessment is made every turn (with a model it is the model's reading of the answer,
    # and its choice); a challenge, decided by the fact sheet, still goes first.
    assessment = interviewer.assess(case, rubric, answers)
    found = challenge(case, step, answers, told_before(state, step, case),
                      all_reactions(state, step, done), said_to_candidate(state, step, case))
    if found is None:
        target = assessment.target(rubric, done)
        said = _verified(assessment.quote, answers)
        if assessment.reaction == "deepen" and said and "deepen" not in done:
            # The model chose to deepen and quoted the candidate word for word.
            found = Reaction("deepen", deepen_text(step, said), "deepen")
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
