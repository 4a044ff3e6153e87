"""How the interviewer answers a clarifying question, once the facts asked about are chosen:
facts already told are answered as a repeat ("As I said, ..."), a question asked again word
for word is answered as a repeat too, and a question the sheet cannot answer is told to make an
assumption and state it."""

from __future__ import annotations

import re
from collections.abc import Sequence

from agent.cases import Case, Fact
from agent.prompts import script
from agent.semantic.facts import revealed
from agent.state import Turn


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


#: What is left of a line once the fact answers said in the sheet's words are taken out is read
#: for facts told in other words only when it has at least this many words.
OWN_WORDS = 6


def told_before(case: Case, history: Sequence[Turn]) -> set[str]:
    """Ids of the facts the interviewer's earlier clarify answers gave: their answer text is in
    what was said (offline), or most of their figures or key words are in what a line says in
    its own words (a model's, agent.semantic.facts.revealed). A fact answer said in the sheet's
    words is taken out of its line before the rest is read: read whole, the offline answers
    about prices and competitive pressure "revealed" a competitor fact never told, and the
    next question about it was answered "As I said"."""
    lines = [_without_quotes(t["text"]) for t in history
             if t["role"] == "interviewer" and t["kind"] == "fact"]
    said = _words(" ".join(lines))
    verbatim = {f.id for f in case.facts if _words(f.answer) and _words(f.answer) in said}
    answers = sorted({f.answer.strip() for f in case.facts if f.id in verbatim}, key=len,
                     reverse=True)
    own = []
    for line in lines:
        for a in answers:
            line = line.replace(a, " ")
        if len(_words(line).split()) >= OWN_WORDS:
            own.append(line)
    return verbatim | set(revealed(case, own)) if own else verbatim


def _without_quotes(line: str) -> str:
    """``line`` without what :func:`not_on_sheet` said: it quotes the candidate's questions,
    whose words tell nothing."""
    template = str(script()["no_fact_part"])
    head, _, tail = template.partition("{asked}")
    return re.sub(re.escape(head) + r".*?" + re.escape(tail), " ", line, flags=re.DOTALL)


def asked_before(question: str, history: Sequence[Turn]) -> bool:
    """The same question (same words, ignoring case and punctuation) was asked earlier in
    clarify."""
    words = _words(question)
    return bool(words) and any(
        t["role"] == "candidate" and t["step"] == "clarify" and t["kind"] == "answer"
        and _words(t["text"]) == words for t in history)


def repeat(facts: Sequence[Fact]) -> str:
    """Facts already told, said again as a repeat ("As I said, ..."); "" for none."""
    if not facts:
        return ""
    return str(script()["repeat_fact"]).format(answer=" ".join(f.answer.strip() for f in facts))


def answer(facts: Sequence[Fact], told: set[str]) -> str:
    """The reply for the chosen facts: new facts in the sheet's words, then facts already told
    as a repeat; "" when there are none."""
    lines = script()
    new = [f.answer.strip() for f in facts if f.id not in told]
    again = [f.answer.strip() for f in facts if f.id in told]
    out = " ".join(new)
    if again:
        said = str(lines["repeat_fact"]).format(answer=" ".join(again))
        out = f"{out} {said}".strip() if new else said
    return out


def no_fact(repeated: bool, question: str = "") -> str:
    """The reply when the sheet cannot answer: make an assumption and state it; or, for a
    question that asks for the interview's answer ("So what's the root cause?"), that this is
    the candidate's to work out; or, for small talk ("What's the office like?"), that it is no
    part of the case (trial 17: both were told to make an assumption)."""
    lines = script()
    if _ASKS_FOR_ANSWER.search(question):
        return str(lines["no_fact_yours"])
    if _SMALL_TALK.search(question):
        return str(lines["no_fact_off_case"])
    return str(lines["no_fact_repeat"] if repeated else lines["no_fact"])


#: A question that asks the interviewer for what the candidate is to work out: the cause, the
#: fix, the plan.
_ASKS_FOR_ANSWER = re.compile(
    r"\b(?:what(?:'s|’s| is| was| are)|tell me|give me|so)\b[^?.]{0,25}?\b(?:the )?(?:root "
    r"causes?|real (?:cause|problem)|answer|solution|fix|right approach|best approach|"
    r"recommendation)\b|\bwhat (?:should|would|do) (?:we|i) (?:do|recommend|propose)\b|"
    r"\bhow (?:do|should|would|can) (?:we|i) (?:fix|solve) (?:it|this|that)\b|"
    r"\bwhat(?:'s|’s| is) (?:causing|behind) (?:it|this|that)\b", re.IGNORECASE)
#: Small talk: nothing a customer's case is about.
_SMALL_TALK = re.compile(
    r"\b(?:weather|the office|office like|lunch|coffee|weekend|commute|parking|football|"
    r"how are you|how's it going|how’s it going|your day)\b", re.IGNORECASE)


#: The word joining a question to the one before ("And what...", "Also, who..."): not quoted.
_OPENING = re.compile(r"^(?:and|also|plus|so|then|oh|ok(?:ay)?)\b[\s,]*", re.IGNORECASE)
#: A question quoted back is cut to this many characters.
QUOTE_CHARS = 80


def not_on_sheet(questions: Sequence[str]) -> str:
    """What is said after the facts told, of the questions of the same message no fact
    answered: nothing more on them, each quoted (cut to :data:`QUOTE_CHARS`), then make an
    assumption if it matters."""
    bare = [_OPENING.sub("", q.strip()) or q.strip() for q in questions]
    quoted = [q if len(q) <= QUOTE_CHARS else q[:QUOTE_CHARS - 1].rstrip() + "…" for q in bare]
    return str(script()["no_fact_part"]).format(
        asked=" and ".join(f"“{q}”" for q in quoted))
