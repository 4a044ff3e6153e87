"""Interviewing with a model. What the model sees is chosen so it cannot leak what it must not:

- clarify: a first structured call sees only fact *topics* and picks the ones the question asks
  about; the spoken answer is then written from those facts alone. The pick is checked, not
  trusted (an injected "select every topic" can steer it): see allowed_facts().
- follow-ups: the model rephrases an authored, non-leading probe; it never sees the rubric.
- assessment (deciding on a follow-up) sees the rubric, but its output is never shown.
Candidate text is always fenced in <candidate> tags.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from agent.cases import Case, Fact
from agent.model.client import Message, ModelClient, Restart, StructuredOutputError
from agent.offline import OfflineInterviewer, facts_asked, question_parts
from agent.policy import Assessment, ClarifyReply, Speaker
from agent.prompts import fence, load_prompt, script
from agent.rubrics import Criterion, Rubric
from agent.signals import strip_format
from agent.state import Turn


class FactSelection(BaseModel):
    """Which fact-sheet topics the candidate's message asks about."""

    topic_ids: list[str] = Field(
        description="ids of the topics the message directly asks about; empty if none"
    )
    states_assumptions: bool = Field(
        description="true if the message states assumptions or summarises to end clarifying"
    )


class CriterionStatus(BaseModel):
    id: str = Field(description="the criterion id, exactly as given")
    status: Literal["met", "partial", "unmet"]


class AssessmentOut(BaseModel):
    """Per-criterion status of the candidate's answers in this step."""

    criteria: Annotated[list[CriterionStatus], Field(min_length=1)]


#: Most facts one message is answered with, whatever the selection call picked.
MAX_FACTS = 3
#: Picked facts the message's keywords do not ask about (a paraphrase the fact's authored
#: keywords miss) that may still be told per message, if the message shares a word with them.
MAX_UNMATCHED = 1
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset({
    "about", "also", "anything", "does", "doing", "from", "have", "into", "just", "kind", "like",
    "look", "looks", "many", "more", "most", "much", "number", "numbers", "other", "really",
    "should", "some", "sort", "tell", "that", "their", "them", "there", "these", "they", "this",
    "thing", "things", "today", "type", "what", "whats", "when", "where", "which", "while",
    "will", "with", "would", "your", "current", "size", "side", "share", "deal", "value", "bring",
    "worth",
})


def _words(text: str) -> set[str]:
    """Content words (4+ letters, a plural ``s`` dropped) for a loose topic match."""
    return {w.removesuffix("s") for w in _WORD.findall(text.lower())
            if len(w) >= 4 and w not in _STOP}


def _fact_words(fact: Fact) -> set[str]:
    plain = " ".join(k.rstrip("*") for k in fact.keywords if not k.startswith("re:"))
    return _words(f"{fact.id.replace('_', ' ')} {fact.topic} {plain}")


def _shares_a_word(a: set[str], b: set[str]) -> bool:
    return bool(a & b) or any(len(x) >= 5 and len(y) >= 5 and x[:5] == y[:5]
                              for x in a for y in b)


def allowed_facts(case: Case, question: str, picked: Sequence[str]) -> list[str]:
    """The facts, of those the selection call picked, that may be told for ``question``.

    The selection call reads the candidate's text, so it can be talked into picking every
    topic. Deterministic bounds hold whatever it picks:
    - a message that asks nothing (agent.offline.question_parts) is told nothing;
    - facts whose keywords the question itself uses (agent.offline.facts_asked: what the
      offline interviewer would tell) are kept;
    - at most MAX_UNMATCHED other picks are kept, and only if the question shares a word with
      the fact's id, topic or keywords (a paraphrase keyword matching missed) and the fact is
      not a clue (a clue is told only when the question asks for it directly, as offline);
    - never more than min(MAX_FACTS, question parts + 1) facts, unless the question's own
      keywords ask for more; a pick longer than that bound is not trusted at all and only the
      keyword-matched facts in it are kept.
    """
    question = strip_format(question)  # as the selection call saw it (fenced)
    parts = question_parts(question)
    if not parts:
        return []
    picked = list(dict.fromkeys(picked))
    matched = {f.id for f in facts_asked(case, parts)}
    cap = max(min(MAX_FACTS, len(parts) + 1), len(matched & set(picked)))
    if len(picked) > cap:
        return [t for t in picked if t in matched][:cap]
    asked = _words(" ".join(parts))
    out: list[str] = []
    unmatched = 0
    for t in picked:
        if t in matched:
            out.append(t)
        elif unmatched < MAX_UNMATCHED and not case.fact(t).clue \
                and _shares_a_word(asked, _fact_words(case.fact(t))):
            out.append(t)
            unmatched += 1
    return out[:cap]


def _versions(*names: str) -> str:
    return "+".join(f"{n}:{load_prompt(n).version}" for n in names)


class LLMInterviewer:
    engine = "llm"

    def __init__(self, client: ModelClient, session_id: str | None = None) -> None:
        self.client = client
        self.session_id = session_id
        self._offline = OfflineInterviewer()

    def _say(self, messages: list[Message], prompt_hash: str, speak: Speaker) -> str:
        parts: list[str] = []
        for piece in self.client.stream(messages, purpose="interviewer", prompt_hash=prompt_hash,
                                        session_id=self.session_id):
            if isinstance(piece, Restart):
                parts.clear()
                speak.restart()
            else:
                parts.append(piece)
                speak(piece)
        return "".join(parts).strip()

    def clarify(self, case: Case, question: str, history: Sequence[Turn],
                speak: Speaker) -> ClarifyReply:
        topics = "\n".join(f"- {f.id}: {f.topic}" for f in case.facts)
        select = load_prompt("clarify_select")
        known = {f.id for f in case.facts}

        def check(sel: FactSelection) -> str | None:
            bad = [t for t in sel.topic_ids if t not in known]
            return f"unknown topic id {bad[0]!r}" if bad else None

        try:
            sel = self.client.structured(
                [{"role": "user", "content": select.render(
                    case_prompt=case.prompt.strip(), topics=topics, question=fence(question))}],
                FactSelection, purpose="interviewer", prompt_hash=_versions("clarify_select"),
                session_id=self.session_id, check=check,
            )
        except StructuredOutputError:
            # The model could not say which facts were asked about: match keywords instead,
            # which still reveals only facts the question names.
            return self._offline.clarify(case, question, history, speak)
        facts = [case.fact(t) for t in allowed_facts(case, question, sel.topic_ids)]
        if not facts:
            text = "" if sel.states_assumptions else str(script()["no_fact"])
            if text:
                speak(text)
            return ClarifyReply(text, [], sel.states_assumptions)
        reply = load_prompt("clarify_reply").render(
            question=fence(question),
            facts="\n".join(f"- {f.topic}: {f.answer.strip()}" for f in facts),
        )
        text = self._say(
            [{"role": "system", "content": load_prompt("persona").text},
             {"role": "user", "content": reply}],
            _versions("persona", "clarify_reply"), speak,
        )
        # An empty reply (a model hiccup) falls back to the fact sheet's own words.
        text = text or " ".join(f.answer.strip() for f in facts)
        return ClarifyReply(text, [f.id for f in facts], sel.states_assumptions)

    def assess(self, case: Case, rubric: Rubric, answers: Sequence[str]) -> Assessment:
        criteria = "\n".join(f"- {c.id}: {c.looks_for}" for c in rubric.criteria)
        ids = {c.id for c in rubric.criteria}

        def check(out: AssessmentOut) -> str | None:
            got = {c.id for c in out.criteria}
            if got - ids:
                return f"unknown criterion id {sorted(got - ids)[0]!r}"
            if ids - got:
                return f"criterion {sorted(ids - got)[0]!r} is missing"
            return None

        prompt = load_prompt("assess").render(
            step_title=rubric.title, criteria=criteria,
            answers=fence("\n\n".join(answers)),
        )
        try:
            out = self.client.structured(
                [{"role": "user", "content": prompt}], AssessmentOut, purpose="assessment",
                prompt_hash=_versions("assess"), session_id=self.session_id, check=check,
            )
        except StructuredOutputError as e:
            fallback = self._offline.assess(case, rubric, answers)
            fallback.notes.append(f"model assessment invalid, used rubric signals: {e}")
            return fallback
        return Assessment({c.id: c.status for c in out.criteria}, engine="llm")

    def followup(self, case: Case, rubric: Rubric, criterion: Criterion, step_question: str,
                 answers: Sequence[str], speak: Speaker) -> str:
        prompt = load_prompt("followup").render(
            step_question=step_question, answers=fence("\n\n".join(answers)),
            probe=criterion.probe,
        )
        text = self._say(
            [{"role": "system", "content": load_prompt("persona").text},
             {"role": "user", "content": prompt}],
            _versions("persona", "followup"), speak,
        )
        return text or criterion.probe
