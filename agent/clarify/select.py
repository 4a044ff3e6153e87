"""Which facts a clarifying question asks about: the keyword rules and meaning, together.

A question part (see ``agent.offline.question_parts``) is matched two ways against the case's
fact sheet:

- **keywords**: each fact's patterns (``Fact.keywords``), as before; a hit counts only when the
  meaning agrees (the part is at least :data:`KEYWORD_FLOOR` similar to the fact and not far
  behind the best fact), so "compliance constraints" no longer pulls in the cost goal through
  the word "constraints";
- **meaning**: the part's embedding against each fact's reference texts (its topic, its answer,
  both together, its plain keywords, and the questions authored for it: ``asks`` in the case
  file and prompts/fact_asks.yaml), embedded once per case (:func:`fact_index`). Before it is
  embedded, a part that uses an everyday phrase of prompts/clarify_words.yaml ("walk away",
  "give up", "what we keep from each dollar") gets that concept's words added (:func:`gloss`),
  which the small embedding model would not connect on its own. The closest fact is told when
  it is clearly close (:data:`MEANING_MIN`) and clearly ahead of the next
  (:data:`MEANING_MARGIN`): that is what answers "Is a shopper at the checkout waiting on each
  answer?" without the word "real-time".

A part with two questions in it ("Who are their own users, and what's the peak QPS?") is also
split at the second question word, and each half is matched on its own (issue 19, item 5); an
assumption stated inside it ("..., assuming most of it is long documents, ...", "Their users
are developers, I assume, so ...") is left out (:func:`unassumed`, :func:`asks_something`).

**Clue facts** (``Fact.clue``) give away a root cause, so they are told only to a question that
asks for them directly: a keyword hit *and* a close meaning (:data:`CLUE_MIN`), or a meaning so
close it can only be that fact (:data:`CLUE_MEANING_MIN`). A broader question that merely
touches one ("Can we change their prompts?") gets nothing from it.

Thresholds were tuned on the dev split of the clarifying-question bank only
(evals/datasets/clarify-dev.jsonl); the held-out split measures them (``interviewer eval
behaviour``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agent.cases import Case, Fact
from agent.offline import asks_something
from agent.prompts import clarify_words, fact_asks
from agent.semantic.matcher import Index
from agent.signals import first_match

#: A keyword hit needs at least this similarity to its fact...
KEYWORD_FLOOR = 0.2
#: ...and may trail the best-matching fact of the part by at most this much.
KEYWORD_SLACK = 0.1
#: ...and may trail the closest fact of all (keyword hit or not) by at most this much.
KEYWORD_BEHIND = 0.3
#: Meaning alone tells the closest fact at this similarity or more...
MEANING_MIN = 0.5
#: ...when it leads the second closest by at least this much.
MEANING_MARGIN = 0.04
#: Whether meaning may add a fact to a question whose keywords already found one.
MEANING_WITH_KEYWORDS = False
#: A clue fact needs a keyword hit and at least this similarity...
CLUE_MIN = 0.25
#: ...or, by meaning alone, at least this (and the margin).
CLUE_MEANING_MIN = 0.65

#: A second question inside one part: a separator, then a question word.
_SECOND_QUESTION = re.compile(
    r"\s*(?:[,;:]\s*(?:and|or|also|plus)?|\s(?:and|or|also|plus)|\?|\s[—–-]\s)\s+"
    r"(?=(?:what|what's|who|who's|how|is|are|do|does|did|can|could|would|will|which|where|"
    r"when|why|any|have|has)\b)",
    re.IGNORECASE)
#: Things asked for in one breath: "QPS and latency target", "p99 today versus the target".
_AND = re.compile(r"\s*;\s*(?:and\s+)?|\s+(?:and|versus|vs\.?)\s+", re.IGNORECASE)
#: A list: "the QPS, the revenue, the region" (split only when every item is short).
_LIST = re.compile(r"\s*,\s*(?:and\s+)?")
#: A piece is split at "and" / "versus" only when it is this short at most.
AND_WORDS = 6
#: List items are this short at most.
NAMING_WORDS = 4
#: A list item that names a thing ("the region", "their revenue"): a fact's keywords hitting
#: it name that fact outright, whatever the embedding of two words says.
_NAMES = re.compile(r"^\s*(?:and\s+)?(?:the|their|our|its|your|any)\s+[\w-]+(?:\s+[\w-]+)?\W*$",
                    re.IGNORECASE)


def gloss(text: str) -> str:
    """``text`` with the ``means`` words of every everyday phrase it uses
    (prompts/clarify_words.yaml) added: what the meaning match reads."""
    extra = [means for means, says in clarify_words().values() if first_match(says, text)]
    return f"{text} ({'; '.join(extra)})" if extra else text


@dataclass(frozen=True)
class FactIndex:
    """A case's facts with their reference texts embedded once."""

    facts: tuple[Fact, ...]
    index: Index
    owner: np.ndarray
    """for each reference text, the position of its fact in ``facts``"""

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Similarity of each text (rows) to each fact (columns): the best of its references."""
        refs = self.index.scores([gloss(t) for t in texts])
        out = np.full((len(texts), len(self.facts)), -1.0, dtype=np.float32)
        np.maximum.at(out.T, self.owner, refs.T)
        return out


def references(fact: Fact) -> list[str]:
    """The texts a fact is recognised by: its topic, its answer, both, its plain keywords and,
    not for a clue, its own authored questions (``Fact.asks``) and the everyday questions of
    prompts/fact_asks.yaml for its id."""
    plain = [k.rstrip("*") for k in fact.keywords if not k.startswith("re:")]
    out = [fact.topic, fact.answer.strip(), f"{fact.topic}: {fact.answer.strip()}"]
    if plain:
        out.append(", ".join(plain[:20]))
    if not fact.clue:
        out.extend(fact.asks)
        out.extend(fact_asks().get(fact.id, ()))
    return out


_indexes: dict[tuple[str, ...], FactIndex] = {}
_lock = threading.Lock()


def fact_index(case: Case) -> FactIndex:
    """The case's :class:`FactIndex`, built once per process per fact sheet."""
    key = (case.id, *(f"{f.id}\0{f.topic}\0{f.answer}" for f in case.facts))
    with _lock:
        found = _indexes.get(key)
    if found is not None:
        return found
    texts: list[str] = []
    owner: list[int] = []
    for i, f in enumerate(case.facts):
        for r in references(f):
            texts.append(r)
            owner.append(i)
    built = FactIndex(tuple(case.facts), Index(texts), np.array(owner, dtype=np.intp))
    with _lock:
        _indexes[key] = built
    return built


#: An assumption stated inside a question, not asked: "Their users are developers, I assume,
#: so what ..." (the clause before the marker) and "..., assuming most of it is long, how ..."
#: (the clause the marker opens).
_ASSUMED_BEFORE = re.compile(
    r"^[^?]*?,\s*(?:i\s+assume|i'm\s+assuming|i\s+am\s+assuming|i\s+guess|i\s+take\s+it|"
    r"i\s+suppose|i\s+think)\s*,\s*(?:so\s+|and\s+|but\s+)?", re.IGNORECASE)
_ASSUMED_CLAUSE = re.compile(
    r"(?:,\s*|\s+)(?:and\s*,?\s*)?\b(?:assuming|i\s+assume|i'm\s+assuming|given\s+that|if\s+i\s+"
    r"understand\s+(?:it\s+)?(?:right|correctly))\b[^,?]*,", re.IGNORECASE)


def unassumed(part: str) -> str:
    """``part`` without the assumptions stated inside it (:data:`_ASSUMED_BEFORE`)."""
    out = _ASSUMED_CLAUSE.sub(",", _ASSUMED_BEFORE.sub("", part)).strip(" ,")
    return out if re.search(r"\w", out) else part


#: A question opens with one of these (or ends with "?").
_OPENS_QUESTION = re.compile(
    r"^\W*(?:and\s+|or\s+|also\s+|so\s+|but\s+)?(?:what|what's|who|who's|whose|how|is|are|do|"
    r"does|did|can|could|would|will|which|where|when|why|any|have|has|should|was|were)\b",
    re.IGNORECASE)


def split_questions(part: str) -> list[str]:
    """A part split where a second question starts; [part] when there is only one.

    Things asked for in one breath are split at "and" / "versus" only in a short piece ("QPS
    and latency target"): in a longer one the "and" joins the parts of one question ("Do they
    come back and retrain?"). A lead-in that is not a question ("Of all the tickets, how
    many...", "Once a run finishes, how long...") stays with the question it leads into."""
    questions = [q for q in _SECOND_QUESTION.split(part) if q.strip(" ?.,;:—–-")]
    if len(questions) > 1 and not (_OPENS_QUESTION.match(questions[0]) or "?" in questions[0]):
        questions[:2] = [f"{questions[0]}, {questions[1]}"]
    pieces = [p for q in questions
              for p in (_AND.split(q) if len(q.split()) <= AND_WORDS else [q])
              if p.strip(" ?.,;:—–-")]
    return pieces if len(pieces) > 1 else [part]


def named(case: Case, part: str) -> list[int]:
    """Facts named outright by an item of a list ("What's the QPS, the revenue, the region?"):
    the one fact whose keywords hit a short item like "the region"."""
    items = [p for i in _LIST.split(part) for p in _AND.split(i) if p.strip(" ?.,;:—–-")]
    if len(items) < 3 or any(len(i.split()) > NAMING_WORDS for i in items[1:]):
        return []
    out = []
    for item in items:
        if not _NAMES.match(item):
            continue
        hits = [i for i, f in enumerate(case.facts)
                if not f.clue and first_match(f.keywords, item)]
        if len(hits) == 1:
            out.append(hits[0])
    return out


def _confirmed(fi: FactIndex, row: np.ndarray, hits: list[int]) -> list[int]:
    """The keyword hits the meaning agrees with: each close enough to its fact, and (when
    several facts' keywords hit) not far behind the closest of them. A clue must also be the
    closest of them: a question about something else that mentions it gets nothing."""
    if not hits:
        return []
    lead = max(float(row[i]) for i in hits)
    best = float(row.max())
    out = []
    for i in hits:
        score = float(row[i])
        if fi.facts[i].clue:
            if score >= CLUE_MIN and score >= lead:
                out.append(i)
        elif (score >= KEYWORD_FLOOR and score >= lead - KEYWORD_SLACK
              and score >= best - KEYWORD_BEHIND):
            out.append(i)
    return out


def select(case: Case, parts: Sequence[str]) -> list[Fact]:
    """The facts the question parts ask about, in fact-sheet order (module docstring)."""
    if not parts:
        return []
    fi = fact_index(case)
    chosen: set[int] = set()
    for part in parts:
        part = unassumed(part)
        chosen.update(named(case, part))
        halves = split_questions(part)
        if len(halves) > 1:
            asked = [h for h in halves if asks_something(h)]
            if asked and len(asked) < len(halves):
                # A statement between the questions ("Their users are developers, so what
                # latency do they need?") is not asked about; only the questions are matched.
                part, halves = " ".join(asked), asked
        texts = [part, *halves] if len(halves) > 1 else [part]
        scores = fi.scores(texts)
        for row_no, text in enumerate(texts):
            row = scores[row_no]
            hits = [i for i, f in enumerate(fi.facts) if first_match(f.keywords, text)]
            chosen.update(_confirmed(fi, row, hits))
            if hits and not MEANING_WITH_KEYWORDS:
                continue
            if len(texts) > 1 and row_no == 0:
                continue  # meaning alone is judged on each question of a compound part
            order = np.argsort(-row)
            best = float(row[order[0]])
            second = float(row[order[1]]) if len(order) > 1 else -1.0
            top = int(order[0])
            need = CLUE_MEANING_MIN if fi.facts[top].clue else MEANING_MIN
            if best >= need and best - second >= MEANING_MARGIN:
                chosen.add(top)
    return [f for i, f in enumerate(fi.facts) if i in chosen]
