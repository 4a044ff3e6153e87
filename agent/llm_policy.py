"""Interviewing with a model. What the model sees is chosen so it cannot leak what it must not:

- clarify: a first structured call sees only fact *topics* and picks the ones the question asks
  about; the spoken answer is then written from those facts alone. The pick is checked, not
  trusted (an injected "select every topic" can steer it): see allowed_facts().
- follow-ups: the model rephrases an authored, non-leading probe; it never sees the rubric.
- assessment (deciding on a follow-up) sees the rubric, but its output is never shown.
Candidate text is always fenced in <candidate> tags.

What the model writes for the candidate is checked before it is shown (agent/model/guards.py):
a reply that fails is asked for once more with a short correction, then replaced by the
authored text the offline interviewer would say (the probe, the facts' own words). Each
candidate turn has a time budget (first word, whole reply; agent/model/budgets.py): past it the
authored text is used, the late reply discarded, and the candidate told once. Every fallback is
in the call log as "fallback ...: <reason>".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from agent import tokens
from agent.cases import Case, Fact
from agent.clarify import reply as replies
from agent.model import budgets
from agent.model.budgets import Deadline
from agent.model.client import (
    Message,
    ModelClient,
    ModelSlow,
    ReplyRejected,
    Restart,
    StructuredOutputError,
    TruncatedReply,
)
from agent.model.guards import Context, Guard, Holdback, Kind, instruction_text, rubric_shingles
from agent.offline import OfflineInterviewer, facts_asked, question_parts
from agent.policy import Assessment, ClarifyReply, Speaker
from agent.prompts import fence, load_prompt, script
from agent.rubrics import Criterion, Rubric, RubricSet, default_rubrics
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
    reaction: Literal["probe_gap", "deepen", "move_on"] = Field(
        default="probe_gap",
        description="what the interviewer should do next: probe_gap (an unmet criterion), "
        "deepen (a strong point worth pushing on) or move_on")
    quote: str = Field(
        default="", max_length=400,
        description="for deepen: the candidate's strongest point, quoted word for word from "
        "their answers (at most 20 words)")


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


@lru_cache(maxsize=8)
def _instructions(*names: str) -> str:
    return instruction_text(load_prompt(n).text for n in names)


def _rubric_runs() -> frozenset[tuple[str, ...]]:
    """Runs of words from every rubric's criteria and level descriptors (a reply that copies
    one is refused); built once per rubric version."""
    rubrics = default_rubrics()
    cached = _RUNS.get(id(rubrics))
    if cached is None or cached[0] is not rubrics:
        cached = _RUNS[id(rubrics)] = (rubrics, _runs_of(rubrics))
    return cached[1]


_RUNS: dict[int, tuple[RubricSet, frozenset[tuple[str, ...]]]] = {}


def _runs_of(rubrics: RubricSet) -> frozenset[tuple[str, ...]]:
    texts: list[str] = []
    for rubric in rubrics.rubrics.values():
        for c in rubric.criteria:
            texts += [c.looks_for, *c.levels.values()]
    return rubric_shingles(tuple(texts))


#: What a guarded reply's last attempt falls back to, as written in the call log.
FALLBACK = {"fact": "fallback to the case notes", "followup": "fallback to the standard question"}


class LLMInterviewer:
    engine = "llm"

    def __init__(self, client: ModelClient, session_id: str | None = None) -> None:
        self.client = client
        self.session_id = session_id
        self._offline = OfflineInterviewer()
        #: The current candidate turn's time budget: started by assess(), used up by the
        #: follow-up that may come right after it.
        self._turn: Deadline | None = None
        #: Notes already shown to the candidate in this process (each is said once).
        self._told: set[str] = set()

    # -- helpers ----------------------------------------------------------------------------

    def _deadline(self) -> Deadline:
        s = self.client.settings
        return Deadline.start(s.first_token_s, s.reply_s)

    def _tell_once(self, key: str, speak: Speaker, note: str | None = None) -> None:
        """Say ``model_notes[note or key]`` the first time ``key`` happens in this session."""
        if key not in self._told:
            self._told.add(key)
            speak.notice(str(script()["model_notes"][note or key]))

    def _speak(self, kind: Kind, messages: list[Message], prompt_names: tuple[str, ...],
               speak: Speaker, *, fallback: str, material: str, deadline: Deadline) -> str:
        """Say a model-written line, checked; see the module docstring."""
        ctx = Context(kind, material=material, instructions=_instructions(*prompt_names),
                      rubric=_rubric_runs())
        notes = script()["model_notes"]
        msgs = list(messages)
        for attempt in range(2):
            last = attempt == 1
            guard = Guard(ctx)
            hold = Holdback(kind, speak, guard, whole=last)
            try:
                for piece in self.client.stream(
                        msgs, purpose="interviewer", prompt_hash=_versions(*prompt_names),
                        session_id=self.session_id, max_tokens=budgets.max_tokens(kind),
                        check=guard, deadline=deadline,
                        fail_note=FALLBACK[kind] if last else "retrying",
                        late_note=FALLBACK[kind]):
                    if isinstance(piece, Restart):
                        hold.restart()
                    else:
                        hold.feed(piece)
                return hold.finish()
            except ReplyRejected as e:
                hold.withdraw(str(notes["withdrawn_question" if kind == "followup"
                                       else "withdrawn_fact"]))
                retry = str(script()["guard_retry"][kind]).replace("{reason}", e.reason)
                msgs = [*messages, {"role": "user", "content": retry}]
            except (ModelSlow, TruncatedReply) as e:
                hold.withdraw(str(notes["withdrawn_question" if kind == "followup"
                                       else "withdrawn_fact"]))
                if isinstance(e, ModelSlow):
                    self._tell_once("slow", speak,
                                    "slow_question" if kind == "followup" else "slow_fact")
                break
        speak(fallback)
        return fallback

    # -- the interviewer's decisions --------------------------------------------------------

    def clarify(self, case: Case, question: str, history: Sequence[Turn],
                speak: Speaker) -> ClarifyReply:
        deadline = self._deadline()
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
                session_id=self.session_id, check=check, deadline=deadline,
                max_tokens=budgets.max_tokens("select"),
                fail_note="fallback to the fact-sheet matcher",
            )
        except StructuredOutputError:
            # The model could not say which facts were asked about: match keywords instead,
            # which still reveals only facts the question names. Said once, and logged.
            self._tell_once("selection_unusable", speak)
            return self._offline.clarify(case, question, history, speak)
        except ModelSlow:
            self._tell_once("slow", speak, "slow_fact")
            return self._offline.clarify(case, question, history, speak)
        facts = [case.fact(t) for t in allowed_facts(case, question, sel.topic_ids)]
        if not facts:
            repeated = replies.asked_before(question, history)
            text = "" if sel.states_assumptions else replies.no_fact(repeated, question)
            if text:
                speak(text)
            return ClarifyReply(text, [], sel.states_assumptions)
        # Facts told earlier are said again as a repeat ("As I said, ..."), in the sheet's
        # words, as offline; only the new ones go to the model.
        told = replies.told_before(case, history)
        new = [f for f in facts if f.id not in told]
        again = replies.repeat([f for f in facts if f.id in told])
        if not new:
            speak(again)
            return ClarifyReply(again, [f.id for f in facts], sel.states_assumptions)
        listed = "\n".join(f"- {f.topic}: {f.answer.strip()}" for f in new)
        reply = load_prompt("clarify_reply").render(question=fence(question), facts=listed)
        text = self._speak(
            "fact",
            [{"role": "system", "content": load_prompt("persona").text},
             {"role": "user", "content": reply}],
            ("persona", "clarify_reply"), speak,
            # The offline interviewer's words for the same facts.
            fallback=" ".join(f.answer.strip() for f in new), material=listed,
            deadline=deadline,
        )
        if again:
            speak(" " + again)
            text = f"{text} {again}"
        return ClarifyReply(text, [f.id for f in facts], sel.states_assumptions)

    def assess(self, case: Case, rubric: Rubric, answers: Sequence[str]) -> Assessment:
        self._turn = deadline = self._deadline()
        criteria = "\n".join(f"- {c.id}: {c.looks_for}" for c in rubric.criteria)
        ids = {c.id for c in rubric.criteria}

        def check(out: AssessmentOut) -> str | None:
            got = {c.id for c in out.criteria}
            if got - ids:
                return f"unknown criterion id {sorted(got - ids)[0]!r}"
            if ids - got:
                return f"criterion {sorted(ids - got)[0]!r} is missing"
            return None

        reply_tokens = budgets.assess_tokens(len(ids))
        template = load_prompt("assess")
        base = template.render(step_title=rubric.title, criteria=criteria, answers="")
        # The answers are clipped (longest first) so the prompt leaves room for the reply.
        room = self.client.prompt_budget(reply_tokens) - tokens.count(base) - 8 \
            if sum(len(a) for a in answers) > 2_000 else 1 << 30
        prompt = template.render(
            step_title=rubric.title, criteria=criteria,
            answers=fence("\n\n".join(budgets.fit_texts(answers, room))),
        )
        try:
            out = self.client.structured(
                [{"role": "user", "content": prompt}], AssessmentOut, purpose="assessment",
                prompt_hash=_versions("assess"), session_id=self.session_id, check=check,
                deadline=deadline, max_tokens=reply_tokens,
                fail_note="fallback to rubric signals",
            )
        except (StructuredOutputError, ModelSlow) as e:
            fallback = self._offline.assess(case, rubric, answers)
            fallback.notes.append(f"model assessment unusable, used rubric signals: {e}")
            return fallback
        return Assessment({c.id: c.status for c in out.criteria}, engine="llm",
                          reaction=out.reaction, quote=out.quote.strip())

    def followup(self, case: Case, rubric: Rubric, criterion: Criterion, step_question: str,
                 answers: Sequence[str], speak: Speaker) -> str:
        deadline, self._turn = self._turn or self._deadline(), None
        prompt = load_prompt("followup").render(
            step_question=step_question, answers=fence("\n\n".join(answers)),
            probe=criterion.probe,
        )
        return self._speak(
            "followup",
            [{"role": "system", "content": load_prompt("persona").text},
             {"role": "user", "content": prompt}],
            ("persona", "followup"), speak,
            fallback=criterion.probe, material=f"{criterion.probe}\n{step_question}",
            deadline=deadline,
        )
