"""Scorers: turn one step's transcript into a StepScore.

Two implementations behind one interface: the offline scorer (deterministic signal coverage)
and the LLM judge (agent/judge.py). Both see the same input: the step's turns, in order. What
they share (the interface, the criteria a case applies, its notes) is in agent/scorer_common.py,
which does not import the offline scorer's reading modules (``Scorer`` is re-exported here).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

from agent.cases import Case
from agent.evidence import check_quotes
from agent.rubrics import Criterion, RubricSet, default_rubrics
from agent.scorer_common import Scorer as Scorer  # re-exported
from agent.scorer_common import (
    Turns,
    applicable,
    candidate_texts,
    case_notes,
    strong_notes,
    transcript_hash,
)
from agent.scores import CriterionScore, StepScore, missed_text, step_mean
from agent.semantic.calls import dismisses_clue, wrong_call, wrong_in_a_step
from agent.semantic.claims import StepBudget, cover
from agent.semantic.facts import Told, revealed
from agent.semantic.facts import check as check_facts
from agent.semantic.matcher import Index
from agent.semantic.premises import carried, clarify_calls
from agent.semantic.reading import (
    Sentence,
    asked_in_depth,
    question_of_substance,
    read_answer,
)
from agent.signals import level_for
from agent.steps import STEPS


def read_answers(answers: Sequence[str]) -> list[Sentence]:
    """Every substantive sentence of the answers, read for meaning (agent/semantic)."""
    return [s for a in answers for s in read_answer(a)]


def _phrases_text(phrases: Sequence[str]) -> str:
    """What a criterion was credited for: the words found, then what was recognised by meaning
    (claims.cover marks those "≈ “exemplar”"), said as such so that a rubric's example is not
    read as a quote of the candidate."""
    # A span of words inside another span found ("GPU now, up or down?" in "the price of the
    # GPU now, up or down?") is the same words answering a second thing: counted on the longer
    # one. A keyword inside a longer phrase ('p99' in 'p99 under 500 ms') stays its own.
    # A match in a sentence's reading can run past the candidate's words into what the reading
    # adds after " | " (numbers as digits, the trade's words for everyday ones): only the
    # candidate's words are shown ("target they promised, p99 of what number? | SLA").
    phrases = [_own_words(p) for p in phrases]
    said_words = [p for p in phrases if not p.startswith(("≈", ASKED))]
    counts = Counter(next((q for q in said_words if p != q and p in q), p)
                     if p in said_words and len(p.split()) >= 3 else p for p in phrases)

    def times(p: str) -> str:  # one phrase can answer two of the things looked for
        n = counts[p]
        return "" if n == 1 else " (counts for two)" if n == 2 else f" (counts for {n})"

    said = [f"'{p}'{times(p)}" for p in counts if p in said_words]
    meant = [p.removeprefix("≈").strip() + times(p) for p in counts if p.startswith("≈")]
    asked = [f"“{p.removeprefix(ASKED)}”{times(p)}" for p in counts if p.startswith(ASKED)]
    parts = [", ".join(said)] if said else []
    if meant:
        parts.append("close in meaning to " + ", ".join(meant))
    if asked:
        parts.append("asked about it (answered from the fact sheet): " + ", ".join(asked))
    return "; ".join(parts)

def _own_words(phrase: str) -> str:
    """``phrase`` up to the first " | " of a reading (agent.semantic.reading.Sentence.read),
    or what follows the last one when nothing comes before it."""
    if phrase.startswith(("≈", ASKED)) or "|" not in phrase:
        return phrase
    head, _, _ = phrase.removeprefix("|").partition(" | ")
    return head.strip() or phrase.rpartition(" | ")[2].strip() or phrase


#: At most this many levels are taken off a step's criteria for its confidently wrong calls.
MAX_WRONG_PENALTY = 2


def wrong_calls(case: Case, step: str, sents: Sequence[Sentence]) -> list[tuple[Sentence, str]]:
    """The step's sentences that make a bad call (agent/semantic/calls.py), each with why: in
    diagnose and prioritize also those that dismiss outright a cause the case's clue facts
    point to ("caching won't help" when every prompt shares a long prefix)."""
    clues = [(*f.keywords, *f.dismissed) for f in case.facts if f.clue]
    out = []
    for n, s in enumerate(sents):
        why = wrong_call(s.text, step)
        if why is None and step in ("diagnose", "prioritize") and clues \
                and dismisses_clue(s.full, clues, sents[n - 1].full if n else ""):
            why = "dismisses a cause the facts point to"
        if why is not None:
            out.append((s, why))
    return out


#: The weighted criteria mean that reads as an excellent step (3.5, which rounds to level 4).
#: A level-4 criterion text asks for everything at once, so a step graders call excellent has
#: most criteria at 4 and the rest at 3, which rightly leave something aside: its mean sits
#: below 3.5. Means between 3 and 4 are stretched so that this one reads 3.5 (below 3 nothing
#: changes, so weak, salad, negated and wrong answers keep their scores). Chosen by leave-one-
#: case-out cross-validation on dev (``python -m evals.scoring_cv --calibration``); 3.5 would
#: leave every score as it is.
EXCELLENT_MEAN = 3.3

#: The reading rules written in code (negation, wrong calls, fact and premise checks), in the
#: scorer's version so that scores cached under older rules are scored again: bump it with any
#: change to what the offline scorer reads. 2: issue 9 round 7's wrong-call families and the
#: denied states ("it isn't queueing"). 3: a pasted block of over 250 words is no claim.
#: 4: a practice waved off as for lesser people ("rollback is for people who make mistakes");
#: "nothing to miss" denies a need, it sets no target; across the interview, a sentence that
#: is a wrong call in a step earns nothing. 5: a loss named as the if-condition of going back is
#: a rollback trigger, not a loss accepted; picking whatever the loudest group wants, and a share
#: of requests timing out accepted, are wrong calls (issue 9 round 9). 6: a figure or two in a
#: list of six or more names states no quantity, and a long list of names with a few longer ones
#: is no claim; a test or a way back said to be never needed, everything moved over at once in
#: validate, and every metric many times better at once, are bad calls (stop salad2).
#: 7: a line announcing one's own summary or assumptions ("So summary, my assumption:") is a
#: claim; rationales say what the next level needs and show a span inside another once.
#: 8: an option said to cost nothing ("zero quality loss on every model", "no downside") is a
#: bad call, unless a check is to show it; "no quality loss on their evals" is not "no evals";
#: "seen this a hundred times" says how often, not "100x" (stop 29).
#: 9: a cost said to fall ("cost per token drops 3x") is no higher cost accepted (round 11).
#: 10: a clause taken back by the next ("It could go wrong, but it can't") says nothing, and a
#: risk so taken back presents the option as free; "it won't if we check the evals" names a
#: check, it skips none (round 11). 11: a premise cue set off on its own ("So, above all, they
#: want it sooner") claims the clause after it (round 11). 12: a customer that must not go ("they
#: don't churn at renewal", "doesn't leave us") is a retention target, not a negated metric.
#: 13: "the work that can wait" describes work; it dismisses nothing (round 11). 14: a cost that
#: rose in the past ("doubled last year", "increased 40% last quarter") is no higher cost accepted.
#: 15: a heading over a list ("Short term:" then bulleted lines) carries its meaning to each item
#: (round 12). 16: time labels that lay out two horizons or more ("Week 1: ... Month 1: ...
#: Quarter: ...") read each with its horizon; labels of one horizon only say nothing of horizons.
#: 17: a margin of time ("8 min margin", "a margin of 30 seconds", "safety margin") is slack,
#: not the money sense the rubrics' "margin" means. 18: across the interview, five distinct
#: questions of substance or more (not musings, not one form repeated) read as clarifying
#: questions: many sharp questions from one seat earn partial credit, not "only touched on".
#: 19: a short label over a question ("Burst shape: how fast does it ramp?") is read with each
#: of its clauses when matching by meaning: it names what is asked about. 20: those many
#: questions count only when they are about the case (stop 32); a dismissal that names nothing
#: and points ("so I'd skip that", "not worth it") waves away the clue named before it in the
#: sentence or in the question just before ("Caching the prompt prefix? ... I'd skip that").
#: 21: in clarify, a question the interviewer answered with a fact asked about that fact's
#: subject (the rubric's ``asked``; :func:`asked_facts`). 22: the if-condition of going back
#: or stopping may run to 160 characters (a condition of two or more losses: "If we're still
#: breaking it in more than 5% of peak minutes, or the cost goes up more than 30%, I'd stop").
#: 23: time labels rising through three units up to a quarter or more ("This week: ... Next
#: month: ... Next quarter: ...") read near, mid and long by their order.
#: 24: a clause that says one thing of a criterion in so many words is not also another thing
#: of it by meaning ("keep the customer happy" is satisfaction, not SLA adherence).
#: 25: a link's words are an address, not a claim ("https://wiki/canary-rollback-guardrails").
RULES = 25


def calibrated(mean: float | None, excellent: float | None = None) -> float | None:
    """A step's score from its weighted criteria mean: the same up to 3, and between 3 and 4
    stretched piecewise-linearly so that ``excellent`` (default :data:`EXCELLENT_MEAN`) is 3.5
    and 4 stays 4."""
    top = EXCELLENT_MEAN if excellent is None else excellent
    if mean is None or mean <= 3 or top == 3.5:
        return mean
    if mean < top:
        return round(3 + (mean - 3) * 0.5 / (top - 3), 2)
    return round(3.5 + (mean - top) * 0.5 / (4 - top), 2)


#: At most this many of those levels for clarify premises the case contradicts (chosen by
#: ``python -m evals.scoring_cv --premises``).
MAX_PREMISE_PENALTY = 1
#: Levels taken off each criterion a later step's sentence speaks to when the sentence rests on
#: a premise the candidate got wrong earlier (chosen by ``python -m evals.scoring_cv --premises``).
CARRIED_PENALTY = 2


Calls = list[tuple[Sentence, str]]


def premise_calls(case: Case, step: str, turns: Turns, sents: Sequence[Sentence],
                  told: Told | None) -> tuple[Calls, Calls]:
    """(clarify statements that contradict the case, later-step sentences that rest on a
    premise the candidate got wrong before the step), each with why (agent/semantic/premises.py).
    """
    if step == "clarify":
        lines = [text for role, text in turns if role == "interviewer"]
        return clarify_calls(case, sents, lines), []
    if told is None or step not in STEPS:
        return [], []
    earlier = told.said if told.said is not None else told.heard
    return [], [(s, p.why) for s, p in carried(case, sents, earlier)]


class OfflineScorer:
    """Deterministic coverage of each criterion's signals; the matched sentences are evidence.

    Sentences that address the grader (see agent/signals.py) never count, so an answer cannot
    raise its own score by asking."""

    name = "offline"

    def __init__(self, rubrics: RubricSet | None = None) -> None:
        self.rubrics = rubrics or default_rubrics()

    def version(self, step: str) -> str:
        from agent.prompts import concepts_version

        return (f"offline:rubric={self.rubrics.hashes[step]}"
                f":words={concepts_version('scoring_words')}"
                f":premises={concepts_version('premises')}:excellent={EXCELLENT_MEAN}"
                f":rules={RULES}")

    def score_step(self, case: Case, step: str, turns: Turns,
                   told: Told | None = None) -> StepScore:
        rubric = self.rubrics[step]
        said = candidate_texts(turns)
        sents = read_answers(said)
        notes = case_notes(case, rubric)
        invented: Calls = []
        if told is not None and step in STEPS and step != "clarify":
            found = check_facts(case, told, sents, step)
            sents = [s for s in sents if s.text not in found.discredited]
            notes += found.notes
            invented = [(s, "splits a figure into parts nobody measured")
                        for s in found.breakdowns]
        wrong = 0
        contradicted = ""
        rests: Calls = []
        if step not in STEPS:  # across the interview: a call judged wrong in its step earns
            sents = [s for s in sents  # nothing here either (it is marked down there)
                     if not wrong_in_a_step(s.text)]
            # many questions about the case are a line of questioning
            sents = asked_in_depth(sents, about=lambda qs: about_the_case(case, qs))
        if step in STEPS:
            bad = invented + wrong_calls(case, step, sents)
            premised, rests = premise_calls(case, step, turns, sents, told)
            premised = [(s, why) for s, why in premised if not any(s is b for b, _ in bad)]
            notes += [f"A bad call, stated as a plan ({why}): “{s.text}” — no credit for it."
                      for s, why in bad[:3]]
            notes += [f"A premise the case contradicts ({why}): “{s.text}” — no credit for it."
                      for s, why in premised[:3]]
            notes += [f"Rests on a premise the case contradicts ({why}): “{s.text}” — no credit "
                      "for it, and what it speaks to is marked down." for s, why in rests[:3]]
            if premised:
                contradicted = f" ({premised[0][1]})"
            gone = bad + premised + rests
            sents = [s for s in sents if not any(s is b for b, _ in gone)]
            wrong = min(len(bad) + min(len(premised), MAX_PREMISE_PENALTY), MAX_WRONG_PENALTY)
            bad += premised
            if wrong:
                notes.append(f"{len(bad)} confidently wrong call{'s' if len(bad) > 1 else ''} "
                             f"in this step: every criterion is marked down {wrong} level"
                             f"{'s' if wrong > 1 else ''}, since the reasoning rests on "
                             f"{'them' if len(bad) > 1 else 'it'}.")
        looked_for = applicable(case, rubric)
        budget = StepBudget(groups=[g for c, _ in looked_for for g in c.signals])
        elicited = asked_facts(case, turns) if step == STEPS[0] else {}
        criteria = []
        for c, weight in looked_for:
            cov = cover(c.signals, sents, budget, reasoned_rejections=c.reasoned_rejections)
            # a question the interviewer answered with a fact asked about that fact's subject
            by_answer = {g - 1: elicited[f] for f, g in c.asked.items()
                         if f in elicited and g - 1 not in cov.matched}
            if by_answer:
                cov = dataclasses.replace(
                    cov, matched=(*cov.matched, *sorted(by_answer)),
                    quotes=(*cov.quotes, *dict.fromkeys(by_answer.values())),
                    phrases=(*cov.phrases, *(ASKED + q for q in by_answer.values())))
            earned = level_for(len(cov.matched), c.thresholds)
            resting = next((why for s, why in rests if cover(
                c.signals, [s], StepBudget(), reasoned_rejections=c.reasoned_rejections).matched),
                None)
            level = max(1, earned - wrong - (CARRIED_PENALTY if resting else 0))
            checked = check_quotes(cov.quotes, said)  # always verified; kept for symmetry
            if cov.matched:
                phrases = _phrases_text(cov.phrases)
                covered = (f"{len(cov.matched)} of {len(c.signals)} things this criterion "
                           f"looks for")
                why = (f"Covered {covered} ({phrases})." if earned > 1 else
                       f"Only touched on this ({phrases}): {covered}, and a partial answer "
                       f"needs {c.thresholds[0]}.")
                if 1 < earned < 4 and earned - 1 < len(c.thresholds):
                    why += f" Level {earned + 1} needs {c.thresholds[earned - 1]}."
                if level < earned and wrong:
                    why += (f" Marked down from level {earned} to {level}: the step rests on "
                            f"a confidently wrong call{contradicted}.")
                elif level < earned:
                    why += (f" Marked down from level {earned} to {level}: it rests on a premise "
                            f"the case contradicts ({resting}).")
            else:
                why = "Nothing in the answer addressed this."
            criteria.append(CriterionScore(
                id=c.id, name=c.name, weight=weight, level=level, rationale=why,
                evidence=checked.verified[:3], unverified_quotes=checked.dropped,
                flagged=level > 1 and not checked.verified,
                missed=missed_text(self.rubrics, step, c.id, level),
            ))
        return StepScore(step=step, score=calibrated(step_mean(criteria)), weight=rubric.weight,
                         scorer=self.name,
                         version=f"{self.version(step)}:transcript="
                                 f"{transcript_hash(turns, told)}",
                         criteria=criteria, notes=notes,
                         strong_answer=strong_notes(case, step))


def criterion_level(criterion: Criterion, answers: Sequence[str]) -> int:
    """One criterion's offline level for a step's answers (follow-ups and hints use it): the
    groups its signals cover in any answer, plus one group credited for a bare noun string
    (claims.cover with a fresh StepBudget over all the answers, computed answer by answer so
    that a turn reads only its new answer; the earlier ones are cached)."""
    groups = tuple(tuple(g) for g in criterion.signals)
    found: set[int] = set()
    nouns: set[int] = set()
    for answer in answers:
        f, n = _answer_cover(groups, criterion.reasoned_rejections, answer)
        found |= f
        nouns |= n
    count = len(found) + (1 if nouns - found else 0)
    return level_for(count, criterion.thresholds)


#: Marks a phrase that is a question credited through the fact its answer gave
#: (:func:`asked_facts`).
ASKED = "?asked:"


#: An answer that gave more facts than this does not tell which of them its question asked
#: ("What are they asking for, exactly?" drew the ask and, with it, the latency it names).
ASKED_MAX_FACTS = 1


def asked_facts(case: Case, turns: Turns) -> dict[str, str]:
    """In clarify, each fact an answer of the interviewer gave (agent/semantic/facts.py
    ``revealed``) and the candidate's question that drew it: the first question of substance
    (reading.question_of_substance: three words or more, not a musing or a bare list) of the
    candidate's turn just before. The interviewer's own match read that question by meaning
    (agent/clarify/), so a plain-words question about the traffic counts as asking about it."""
    out: dict[str, str] = {}
    question: str | None = None
    for role, text in turns:
        if role == "candidate":
            question = next((x.text for x in read_answer(text) if question_of_substance(x)),
                            None)
        elif question is not None:
            gave = revealed(case, [text])
            if len(gave) <= ASKED_MAX_FACTS:
                for fact in sorted(gave):
                    out.setdefault(fact, question)
            question = None
    return out


def about_the_case(case: Case, questions: list[str]) -> list[float]:
    """Each question's closeness to the case: its best cosine (the local embedding) against the
    case's prompt and its facts' topics and answers."""
    return [float(x) for x in _case_index(case.prompt, tuple(
        f"{f.topic}. {f.answer}" for f in case.facts)).scores(questions).max(axis=1)]


@lru_cache(maxsize=32)
def _case_index(prompt: str, facts: tuple[str, ...]) -> Index:
    return Index([prompt, *facts])


@lru_cache(maxsize=16384)
def _answer_cover(groups: tuple[tuple[str, ...], ...], reasoned_rejections: bool,
                  answer: str) -> tuple[frozenset[int], frozenset[int]]:
    """(groups covered, groups with only a bare noun string) in one answer."""
    cov = cover(groups, read_answer(answer), StepBudget(limit=0),
                reasoned_rejections=reasoned_rejections)
    return frozenset(cov.matched), frozenset(cov.nouns)
