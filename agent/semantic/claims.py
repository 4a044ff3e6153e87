"""Which of a criterion's signal groups an answer's claims cover.

A signal group (agent/signals.py) names one idea with patterns; a pattern starting with ``~``
is an *exemplar*: a plain-words phrasing matched by meaning with the embedding model (a clause
at least :data:`EXEMPLAR_MATCH` similar to it covers the group), so "the slowest one in a hundred
requests" can cover the tail-latency group without saying "p99".

What counts:
- only affirmed text: negated parts of a clause are blanked before matching (reading.py);
- numbers in words are read as digits ("half a second" matches a ``ms`` pattern);
- a clause close to an exemplar of one group does not cover it when the clause matches another
  group of the same criterion's patterns: its closeness is the words they share ("keep the
  customer happy" names satisfaction, not how often the SLA held);
- claims (sentences with a verb) and sentences stating a quantity count in full; a bare noun
  string ("KV cache, p99, north star, guardrails") may cover at most one group per step,
  whatever it lists (the caller shares a :class:`StepBudget` across the step's criteria).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from agent.semantic.matcher import embed, index
from agent.semantic.reading import Sentence, negation_cue
from agent.signals import (
    JOIN,
    Candidates,
    KeyScan,
    KeySentences,
    Reach,
    candidate_sentences,
    first_match,
    first_match_planned,
    key_sentences,
    prepare,
    reach_of,
    reachable,
    search_plan,
)

#: Similarity at which a clause counts as saying what an exemplar says. Chosen by
#: leave-one-case-out cross-validation over the dev interviews (``python -m evals.scoring_cv``,
#: issue 9 round 3: of 0.35-0.6, the value with the best pooled step QWK on the other cases was
#: 0.45 for all 10 left-out cases; 0.6 before). Lower lets near-random pairs through (WordLlama
#: scores unrelated sentences 0.2-0.35), higher misses everyday paraphrases.
EXEMPLAR_MATCH = 0.45


@dataclass
class StepBudget:
    """Per-step state shared by the step's criteria: what bare noun strings have already been
    credited with, and the step's affirmed clauses embedded once (for every criterion)."""

    noun_strings_used: int = 0
    limit: int = 1
    parts: list[tuple[int, str]] | None = None
    """(sentence index, clause) of every claim"""
    vectors: np.ndarray | None = None
    joined: str | None = None
    """every sentence of the step joined (signals.JOIN): a group's patterns are searched only
    in the sentences that could hold them (signals.candidates)"""
    lowered: str = ""
    starts: list[int] = field(default_factory=list)
    groups: Sequence[Sequence[str]] = ()
    """every signal group the step's criteria look for (optional): the literal keys of all of
    them are found in each sentence in one pass (signals.KeyScan)"""
    scan: KeyScan | None = None
    sentence_keys: list[frozenset[str]] | None = None
    """the scan's keys in each sentence (for signals.candidates)"""
    key_sentences: KeySentences | None = None
    """the same the other way round: each key -> the sentences holding it"""
    reach: Reach | None = None
    """which of the groups' plans could match a text (signals.reachable), for every group of
    ``groups`` and of the criteria asked about so far"""
    reached: dict[str, frozenset[int]] = field(default_factory=dict)
    """each text searched so far -> the plans of ``reach`` that could match it"""
    can_read: list[frozenset[int]] = field(default_factory=list)
    """the plans of ``reach`` that could match each sentence's reading (``reached`` of it)"""
    can_full: list[frozenset[int]] = field(default_factory=list)
    """... and its full text"""
    anywhere: frozenset[int] | None = None
    """the plans of ``reach`` that could match some sentence's reading or full text (the
    union of ``can_read`` and ``can_full``): a group with neither plan here can be covered
    only by meaning"""


@dataclass(frozen=True)
class Covered:
    """Which groups a criterion's signals covered, the sentence for each, and what matched."""

    matched: tuple[int, ...]
    quotes: tuple[str, ...]
    phrases: tuple[str, ...]
    by_meaning: tuple[int, ...] = ()
    """groups covered only through an exemplar"""
    nouns: tuple[int, ...] = ()
    """groups not covered whose patterns matched only a bare noun string (before the budget's
    limit on crediting them)"""


@lru_cache(maxsize=4096)
def _split(group: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(patterns, patterns about rejecting something, exemplars) of one group."""
    plain = tuple(p for p in group if not p.startswith("~"))
    return (tuple(p for p in plain if not rejects(p)), tuple(p for p in plain if rejects(p)),
            tuple(p[1:].strip() for p in group if p.startswith("~")))


@lru_cache(maxsize=8192)
def rejects(pattern: str) -> bool:
    """A pattern that itself says no ("not doing", "can wait", "I wouldn't", "rule out"):
    it is matched against the whole sentence, negations included."""
    text = pattern[3:] if pattern.startswith("re:") else pattern
    text = re.sub(r"\\[bsw]|[\\()?:|*+\[\]^$]", " ", text)
    return bool(negation_cue(text))


_primed: set[tuple[tuple[str, ...], ...]] = set()
_primed_lock = threading.Lock()


def prime(groups: Sequence[Sequence[str]]) -> None:
    """Build the search plans :func:`cover` uses for these signal groups now, in a background
    thread (each is otherwise built on first use, paid by the first answer of each step; the
    phrases and expressions a plan holds are compiled on their first search); a no-op for
    groups already primed in this process.
    A daemon thread: it runs only Python's own pattern compiler, which an exit may stop at any
    point."""
    todo = tuple(tuple(g) for g in groups)
    with _primed_lock:
        if todo in _primed:
            return
        _primed.add(todo)

    def run() -> None:
        from agent.datafile import DataFileError
        from agent.prompts import scoring_words

        for g in todo:
            patterns, rejecting, _ = _split(g)
            for plan in (patterns + rejecting, patterns, rejecting):
                if plan:
                    prepare(plan)
        try:
            words = scoring_words()
        except DataFileError:
            return  # reported by the scorer itself when it first reads an answer
        for _, says in words.values():  # read beside every sentence (reading.py)
            prepare(says)

    threading.Thread(target=run, name="prime-patterns", daemon=True).start()


def is_exemplar(pattern: str) -> bool:
    return pattern.startswith("~")


@dataclass
class _Meaning:
    """Exemplar similarity of every (sentence, group), computed in one matrix product."""

    best: dict[tuple[int, int], tuple[float, str]] = field(default_factory=dict)
    sentences: dict[int, list[int]] = field(default_factory=dict)
    """each group -> the sentences with a hit for it in ``best``"""


@lru_cache(maxsize=1024)
def _plans(groups: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
    """The search plans :func:`cover` makes of these groups: each group's patterns and its
    patterns about rejecting something (the non-empty ones)."""
    return tuple(p for g in groups for p in _split(g)[:2] if p)


@lru_cache(maxsize=1024)
def _exemplars(groups: tuple[tuple[str, ...], ...]) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """(the group each exemplar belongs to, the exemplars) of these groups, in order."""
    owners: list[int] = []
    texts: list[str] = []
    for gi, g in enumerate(groups):
        for ex in _split(g)[2]:
            owners.append(gi)
            texts.append(ex)
    return tuple(owners), tuple(texts)


def _meaning(groups: Sequence[tuple[str, ...]], sents: Sequence[Sentence],
             budget: StepBudget) -> _Meaning:
    out = _Meaning()
    owners, texts = _exemplars(tuple(groups))
    if not texts:
        return out
    if budget.parts is None:
        budget.parts = [(si, p) for si, s in enumerate(sents) if s.claim for p in s.parts]
        budget.vectors = embed([p for _, p in budget.parts]) if budget.parts else None
    if not budget.parts or budget.vectors is None:
        return out
    ref = index(texts)
    sims = budget.vectors @ ref.vectors.T
    above = sims >= EXEMPLAR_MATCH
    if not above.any():  # (most criteria: no clause is close to any exemplar)
        return out
    parts = budget.parts
    literal: dict[tuple[int, int], bool] = {}

    def says_other(qi: int, gi: int) -> bool:
        """Whether clause ``qi`` says, in so many words, another thing of these groups than
        group ``gi``: then its closeness to ``gi``'s exemplar is the words they share, not a
        second idea ("keep the customer happy" names satisfaction, and is 0.64 close to "keep
        our promise to the customer", an exemplar of SLA adherence)."""
        for gj, g in enumerate(groups):
            if gj == gi:
                continue
            if (qi, gj) not in literal:
                patterns = _split(g)[0]
                literal[(qi, gj)] = bool(patterns) and first_match(patterns, parts[qi][1]) \
                    is not None
            if literal[(qi, gj)]:
                return True
        return False

    # (row-major order, as np.argwhere gives it; the same floats as float(sims[qi, ti]))
    for (qi, ti), sim in zip(np.argwhere(above).tolist(), sims[above].tolist(), strict=True):
        if says_other(qi, owners[ti]):
            continue
        key = (parts[qi][0], owners[ti])
        if sim > out.best.get(key, (0.0, ""))[0]:
            out.best[key] = (sim, texts[ti])
    for si, gi in out.best:
        out.sentences.setdefault(gi, []).append(si)
    return out


def _label(m: re.Match[str], written: int) -> str:
    """What a match found, as the words the candidate wrote: a match that stops inside a word
    ("under 3" of "under 300 ms") runs on to the word's end. A match in what the reading adds
    after the first ``written`` characters (numbers in words as digits, everyday words' trade
    terms: "GPUs" for "machines", "25%" for "a quarter") is not the candidate's words, and is
    labelled as what it was read as (shown "close in meaning to")."""
    text, end = m.string, m.end()
    if end > m.start() and text[end - 1].isalnum():
        while end < len(text) and text[end].isalnum():
            end += 1
    label = text[m.start():end]
    return label if m.start() < written else f"≈ “{label}”"


def _visits(maybe: Candidates | set[int] | None, live: set[int], meant: Sequence[int],
            n: int) -> Iterator[int]:
    """The sentences (ascending) where a group's search can end: those its patterns could
    match (``maybe``: signals.candidate_sentences; None, all), of those holding its keys (or
    all when ``maybe`` is a set or None) only the ``live`` ones, and those with a hit by
    meaning for it; any other sentence is passed over as it would be. A Candidates'
    expressions are searched only as far as the sentence reached."""
    if not isinstance(maybe, Candidates):
        yield from sorted(live.union(meant))
        return
    i = 0
    for fixed in [*sorted(live.union(meant)), n]:
        while (t := maybe.touched_in(i, fixed)) is not None:
            yield t
            i = t + 1
        if fixed < n:
            yield fixed
            i = fixed + 1


def _anywhere(reads: Sequence[frozenset[int]],
              fulls: Sequence[frozenset[int]]) -> frozenset[int]:
    """The plans that could match some sentence's reading or full text (``reads``, ``fulls``:
    signals.reachable of each): a group neither of whose plans is among them is covered, if
    at all, by meaning alone (every search of its patterns would find nothing)."""
    return frozenset().union(*reads, *fulls)


def cover(groups: Sequence[Sequence[str]], sents: Sequence[Sentence],
          budget: StepBudget | None = None, *, reasoned_rejections: bool = False) -> Covered:
    """Match each group against the sentences (see the module docstring).
    ``reasoned_rejections``: a negated mention counts when its sentence gives a reason or an
    alternative (for criteria about choosing: "no custom kernels for one account; the platform
    feature first")."""
    budget = budget if budget is not None else StepBudget()
    tgroups = [tuple(g) for g in groups]
    meaning = _meaning(tgroups, sents, budget)
    matched: list[int] = []
    quotes: list[str] = []
    phrases: list[str] = []
    by_meaning: list[int] = []
    nouns: list[int] = []
    if budget.joined is None:
        budget.joined = JOIN.join(s.full for s in sents)
        budget.lowered = budget.joined.lower()
        pos = 0
        for s in sents:
            budget.starts.append(pos)
            pos += len(s.full) + len(JOIN)
    # One automaton pass a text finds the groups' keys (signals.KeyScan) and what tells which
    # of their plans could match it at all (signals.reachable), for every criterion's groups.
    reach = budget.reach
    plans = _plans(tuple(tgroups))
    if reach is None or not all(p in reach.ids for p in plans):
        budget.reach = reach = reach_of(_plans(tuple(tuple(g) for g in budget.groups))
                                        + plans)
        budget.reached = {}
        budget.anywhere = None
        budget.scan = KeyScan(reach.strings)
        budget.sentence_keys = None
    scan = budget.scan
    assert scan is not None
    # signals.candidates reads each sentence's keys from its part of the lowered text: when
    # lower-casing changed the text's length ("İ"), every sentence is searched instead
    if budget.sentence_keys is None and len(budget.lowered) == len(budget.joined):
        budget.sentence_keys = [scan.found(budget.lowered[start:start + len(s.full)])
                                for s, start in zip(sents, budget.starts, strict=False)]
        budget.key_sentences = key_sentences(budget.sentence_keys, reach.indexed)
    reached = budget.reached
    ids = reach.ids
    offset = reach.offset
    n = len(sents)

    def can_match(text: str) -> frozenset[int]:
        """The plans of ``reach`` that could match ``text`` (signals.reachable), each text's
        worked out once a step."""
        can = reached.get(text)
        if can is None:
            can = reached[text] = reachable(reach, text, scan)
        return can

    if budget.anywhere is None:
        budget.can_read = [can_match(s.read) for s in sents]
        budget.can_full = [can_match(s.full) for s in sents]
        budget.anywhere = _anywhere(budget.can_read, budget.can_full)
    anywhere = budget.anywhere
    fulls = budget.can_full
    # what each sentence's text searched below (its full text when a reasoned rejection
    # counts) could match
    cans = ([f if s.negated and s.reasoned else r
             for s, r, f in zip(sents, budget.can_read, fulls, strict=True)]
            if reasoned_rejections else budget.can_read)

    for gi, group in enumerate(tgroups):
        patterns, rejecting, _ = _split(group)
        found: tuple[Sentence, str, bool] | None = None
        noun_hit: tuple[Sentence, str] | None = None
        plan = search_plan(patterns) if patterns else None
        rejects_plan = search_plan(rejecting) if rejecting else None
        pid = ids[patterns] if patterns else -1
        rid = ids[rejecting] if rejecting else -1
        meant = meaning.sentences.get(gi, ())
        if pid not in anywhere and rid not in anywhere:
            # No sentence can match either plan (each search below would find nothing): the
            # group is covered by the first sentence with a hit by meaning, if any.
            if meant:
                si = min(meant)
                found = (sents[si], f"≈ “{meaning.best[(si, gi)][1]}”", True)
        else:
            maybe = candidate_sentences(patterns + rejecting, budget.joined, budget.lowered,
                                        budget.starts, budget.sentence_keys,
                                        budget.key_sentences if budget.sentence_keys else None,
                                        reach.indexed)
            # The sentences where neither plan can match (signals.reachable) are passed over:
            # there each search would find nothing, and the meaning's hits are visited anyway.
            live = {si for si in (maybe.keyed if isinstance(maybe, Candidates)
                                  else maybe if maybe is not None else range(n))
                    if pid in cans[si] or rid in fulls[si]}
            for si in _visits(maybe, live, meant, n):
                s = sents[si]
                if maybe is not None and si not in maybe:
                    hit = meaning.best.get((si, gi))
                    if hit is not None:
                        found = (s, f"≈ “{hit[1]}”", True)
                        break
                    continue
                whole = s.negated and reasoned_rejections and s.reasoned
                text = s.full if whole else s.read
                m = None
                if plan is not None:
                    can = cans[si]
                    if pid in can:
                        m = first_match_planned(plan, text, scan, pid + offset in can)
                if m is None and rejects_plan is not None:
                    can = fulls[si]
                    if rid in can:
                        m = first_match_planned(rejects_plan, s.full, scan, rid + offset in can)
                if m is not None:
                    if s.claim or s.quantity:
                        found = (s, _label(m, len(s.text)), False)
                        break
                    noun_hit = noun_hit or (s, _label(m, len(s.text)))
                    continue
                hit = meaning.best.get((si, gi))
                if hit is not None:
                    found = (s, f"≈ “{hit[1]}”", True)
                    break
        if found is None and noun_hit is not None:
            nouns.append(gi)
        if found is None and noun_hit is not None \
                and budget.noun_strings_used < budget.limit:
            budget.noun_strings_used += 1
            found = (noun_hit[0], noun_hit[1], False)
        if found is None:
            continue
        s, phrase, semantic = found
        matched.append(gi)
        phrases.append(phrase)
        if semantic:
            by_meaning.append(gi)
        if s.text not in quotes:
            quotes.append(s.text)
    return Covered(tuple(matched), tuple(quotes), tuple(phrases), tuple(by_meaning),
                   tuple(nouns))
