"""Premises stated against the fact sheet: a clarify statement that assumes what the case
contradicts, and the same wrong premise carried into later steps.

Two kinds of finding, both wrong calls (agent/scorers.py reports them and marks the step down):

- **a contradicted premise**: a statement (not a question) that gives a dimension the case
  settles (prompts/premises.yaml: traffic mode, lifecycle stage, the leading objective, the
  account, production or pilot, whether latency is what hurts) a value the case's facts deny, or
  one they never affirm while affirming another ("I'll assume real-time, with adjusters waiting"
  on a nightly batch case), unless the same statement also gives the value the facts affirm
  ("nobody is waiting on these in real time"). Told or not: an assumption is the candidate's to
  make, but not one the sheet contradicts.
- **a contradicted figure**: a clarify statement whose figure disagrees with a fact the
  interviewer gave in that step ("so 18,000 tickets a month" after being told 1,800), off by more
  than :data:`FIGURE_TOLERANCE`.

In later steps a sentence that affirms a premise the candidate got wrong earlier (read from what
was said before the step) rests on it: it earns no credit, and the criteria it would have
counted for are marked down.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

from agent.cases import Case, Fact
from agent.datafile import DataFileError, read_yaml
from agent.paths import data_dir
from agent.prompts import _phrases
from agent.semantic.facts import TARGET, Quantity, derived, key_words, quantities, revealed, same
from agent.semantic.matcher import similarity
from agent.semantic.numbers import words_to_numbers
from agent.semantic.reading import Sentence, affirmed_text, clauses
from agent.signals import first_match, lowered_if_simple, substantive_sentences

#: A figure counts as contradicting a told fact when it is off by more than this share.
FIGURE_TOLERANCE = 0.3
#: A count within this share of a told share of a told count ("45% of 1,800 tickets" is 810, and
#: "about 800 of them" says it) is the candidate's arithmetic, not a misquote.
WORKED_OUT_TOLERANCE = 0.05
#: How alike (WordLlama cosine) a sentence and a told fact must be to be about the same thing.
FIGURE_TOPIC = 0.45


@dataclass(frozen=True)
class Value:
    name: str
    label: str
    says: tuple[str, ...]


@dataclass(frozen=True)
class Dimension:
    name: str
    facts: tuple[str, ...]
    values: tuple[Value, ...]
    first_clause: bool = False
    claim: tuple[str, ...] = ()
    exclusive: bool = True
    """one value rules out the others (else only a denial contradicts a value)"""


@dataclass(frozen=True)
class Premise:
    """A value a statement gives a dimension, and why the case contradicts it."""

    dimension: str
    value: str
    label: str
    fact: str
    """the contradicting fact's answer, quoted in the rationale"""
    fact_id: str
    """its id (what a correction tells)"""

    @property
    def why(self) -> str:
        return f"assumes {self.label}; the case says: {self.fact}"


@cache
def dimensions() -> tuple[Dimension, ...]:
    """``prompts/premises.yaml``, validated; DataFileError names the file and the field."""
    path = data_dir("prompts") / "premises.yaml"
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise DataFileError(f"{path}: expected a mapping of dimension to its facts and values")
    out = []
    for name, entry in data.items():
        where = f"{path}: dimension {name!r}"
        if not isinstance(entry, dict) or not isinstance(entry.get("values"), dict) \
                or not entry["values"]:
            raise DataFileError(f"{where}: expected 'facts' and a mapping 'values'")
        unknown = sorted(set(entry) - {"facts", "values", "first_clause", "claim", "exclusive"})
        if unknown:
            raise DataFileError(f"{where}: unknown field {unknown[0]!r}")
        facts = entry.get("facts")
        if not isinstance(facts, list) or not facts or not all(isinstance(f, str) for f in facts):
            raise DataFileError(f"{where}: field 'facts': expected a list of fact ids")
        values = []
        for vname, v in entry["values"].items():
            vwhere = f"{where}: value {vname!r}"
            if not isinstance(v, dict) or not isinstance(v.get("label"), str) \
                    or set(v) != {"label", "says"}:
                raise DataFileError(f"{vwhere}: expected exactly 'label' and 'says'")
            values.append(Value(str(vname), v["label"].strip(),
                                _phrases(vwhere, "says", v["says"])))
        claim = _phrases(where, "claim", entry["claim"]) if "claim" in entry else ()
        out.append(Dimension(str(name), tuple(facts), tuple(values),
                             bool(entry.get("first_clause", False)), claim,
                             bool(entry.get("exclusive", True))))
    return tuple(out)




_FIRST = re.compile(r"[.:;,]|\s+(?:first|then|while|because|but)\b", re.IGNORECASE)


#: "Batch jobs can wait" says the work is deferrable; it dismisses nothing.
_DEFERRABLE = re.compile(r"\bcan wait\b", re.IGNORECASE)


#: Denied after it is named: "training isn't in scope", "latency is not the issue".
_DENIED_AFTER = re.compile(r"[\s\w-]{0,25}?\b(?:is|are|was|were)(?:n't|n’t| not| out of scope)\b",
                           re.IGNORECASE)


#: A clause whose subject is nobody ("nobody here is training from scratch", "none of them
#: run it overnight") denies what it goes on to say; a value whose own words take in that
#: subject ("nobody is waiting": batch) is still said.
_NOBODY = re.compile(r"^\W*(?:(?:and|but|so|since|because)\s+)?(?:nobody|no one|no-one|"
                     r"none of (?:us|them|these|those|the \w+|our \w+|their \w+))\b",
                     re.IGNORECASE)


def _nobody_spans(text: str) -> list[tuple[int, int]]:
    """Where clauses led by a nobody subject go on, after the subject."""
    if not re.search(r"\b(?:nobody|no[- ]one|none of)\b", text, re.IGNORECASE):
        return []
    return [(c.start + m.end(), c.start + len(c.text)) for c in clauses(text)
            if (m := _NOBODY.match(c.text))]


def _said(values: Sequence[Value], text: str) -> tuple[set[str], set[str]]:
    """(values ``text`` affirms, values it mentions only negated)."""
    low = lowered_if_simple(text)
    if low is None or "can wait" in low:  # (what any match holds)
        text = _DEFERRABLE.sub("are deferrable", text)
    yes: set[str] = set()
    no: set[str] = set()
    if not any(first_match(v.says, text) for v in values):
        return yes, no
    affirmed = affirmed_text(text)
    denied = _nobody_spans(text)
    for v in values:
        m = first_match(v.says, affirmed)
        if m is not None and any(a <= m.start() < b for a, b in denied):
            m = None
        if m is not None and not _DENIED_AFTER.match(text, m.end()):
            yes.add(v.name)
        elif first_match(v.says, text):
            no.add(v.name)
    return yes, no


@dataclass(frozen=True)
class Settled:
    """What a case's facts say about one dimension."""

    affirmed: dict[str, tuple[str, str]]
    denied: dict[str, tuple[str, str]]
    """value -> (the id, the answer) of the fact that affirms (denies) it"""


@lru_cache(maxsize=64)
def _settled_facts(facts: tuple[tuple[str, str], ...]) -> tuple[tuple[Dimension, Settled], ...]:
    """What the facts ((id, answer) pairs) settle, per dimension."""
    out = []
    for dim in dimensions():
        affirmed: dict[str, tuple[str, str]] = {}
        denied: dict[str, tuple[str, str]] = {}
        for fid in dim.facts:
            fact = next((answer.strip() for i, answer in facts if i == fid), None)
            if fact is None:
                continue
            text = fact
            if dim.first_clause:
                text = _FIRST.split(text, maxsplit=1)[0]
            yes, no = _said(dim.values, text)
            for v in yes:
                affirmed.setdefault(v, (fid, fact))
            for v in no:
                denied.setdefault(v, (fid, fact))
        if affirmed or denied:
            out.append((dim, Settled(affirmed, denied)))
    return tuple(out)


class FactsKey(tuple[tuple[str, str], ...]):
    """A case's (fact id, answer) pairs, hashed once: the key of the per-sentence caches."""

    _hash: int

    def __new__(cls, facts: Iterable[tuple[str, str]]) -> FactsKey:
        key = super().__new__(cls, facts)
        key._hash = tuple.__hash__(key)
        return key

    def __hash__(self) -> int:
        return self._hash


#: id(case) -> (the case, its key): a case's key is built once (the case is kept, so its id
#: cannot be reused while the entry lives).
_KEYS: dict[int, tuple[Case, FactsKey]] = {}


def facts_key(case: Case) -> FactsKey:
    """The case's facts as a cache key (see FactsKey)."""
    hit = _KEYS.get(id(case))
    if hit is not None and hit[0] is case:
        return hit[1]
    key = FactsKey((f.id, f.answer) for f in case.facts)
    if len(_KEYS) > 256:
        _KEYS.clear()
    _KEYS[id(case)] = (case, key)
    return key


@lru_cache(maxsize=64)
def _contradictable(facts: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """The patterns of every value these facts contradict (denied, or one of an exclusive
    dimension they never affirm), for one quick look at whether a sentence names any."""
    return tuple(p for dim, settled in _settled_facts(facts) for v in dim.values
                 if v.name in settled.denied
                 or (dim.exclusive and settled.affirmed and v.name not in settled.affirmed)
                 for p in v.says) or ("re:(?!)",)


def _claimed(dim: Dimension, text: str) -> str:
    """The part of ``text`` that can give this dimension a value: the clauses naming a claim
    cue for dimensions that need one ("the goal is speed"), else the whole sentence."""
    if not dim.claim:
        return text
    if not first_match(dim.claim, text):
        return ""
    cut = clauses(text)
    out = []
    for i, c in enumerate(cut):
        if first_match(dim.claim, affirmed_text(c.text)):
            out.append(c.text)
            # a cue set off on its own ("So, above all, they want it sooner", "Fundamentally,
            # it's about cost") claims the clause after it
            if len(c.text.split()) <= 3 and i + 1 < len(cut):
                out.append(cut[i + 1].text)
    return " ".join(out)


def premises(case: Case, sentence: str) -> list[Premise]:
    """The premises this statement gives that the case contradicts (module docstring)."""
    return list(_premises(facts_key(case), sentence))


@lru_cache(maxsize=16384)
def _premises(facts: tuple[tuple[str, str], ...], sentence: str) -> tuple[Premise, ...]:
    if not first_match(_contradictable(facts), sentence):
        return ()  # names no value the case contradicts
    out = []
    for dim, settled in _settled_facts(facts):
        text = _claimed(dim, sentence)
        if not text:
            continue
        yes, _ = _said(dim.values, text)
        # A statement that also gives the case's own value ("nobody waits on these in real
        # time": batch, and real time named in passing) is not a wrong premise for the other
        # value it names; only a value the facts deny still is.
        agrees = any(n in settled.affirmed and n not in settled.denied for n in yes)
        for v in dim.values:
            if v.name not in yes or (v.name in settled.affirmed and v.name not in settled.denied):
                continue
            fact = settled.denied.get(v.name) or (
                next(iter(settled.affirmed.values()), None)
                if dim.exclusive and not agrees else None)
            if fact is not None:
                out.append(Premise(dim.name, v.name, v.label, fact[1], fact[0]))
    return tuple(out)


def _statement(sentence: Sentence) -> bool:
    return _states(sentence.text)


@lru_cache(maxsize=16384)
def _states(text: str) -> bool:
    from agent.offline import asks_something

    return not text.rstrip().endswith("?") and not asks_something(text)


def _counted(text: str, figure: str) -> str:
    """The word a bare figure counts ("18,000 tickets" -> "ticke"), or ""."""
    m = re.search(re.escape(figure) + r"\s+([a-z]{4,})", words_to_numbers(text), re.IGNORECASE)
    return m.group(1).lower()[:5] if m else ""


def _share_of(text: str, figure: str) -> str:
    """What a percentage is a share of ("2% of adapters" -> "adapt"), or ""."""
    m = re.search(re.escape(figure) + r"\s+of\s+(?:the\s+|all\s+|our\s+|their\s+|its\s+)?"
                  r"([a-z]{4,})", words_to_numbers(text), re.IGNORECASE)
    return m.group(1).lower()[:5] if m else ""


def _alike(q: Quantity, k: Quantity, text: str, fact: str) -> bool:
    """The same kind of figure: the same unit (a share of the same thing, when the statement
    says what its percentage is of), or bare numbers counting the same thing."""
    if q.unit == k.unit == "%" and (of := _share_of(text, q.text)):
        return of == _share_of(fact, k.text)  # "2% of adapters" is not "70% of the traffic"
    if q.unit or k.unit:
        return q.unit == k.unit
    return _counted(text, q.text) == _counted(fact, k.text) != ""


def _worked_out(q: Quantity, known: Sequence[Quantity]) -> bool:
    """``q`` is a count worked out from two figures anyone gave: a share of a count ("around 45%
    of 1,800 tickets" told; "about 800 tickets are why-slow" said)."""
    if q.unit:
        return False
    shares = {k.value / 100 for k in known if k.unit == "%" and 0 < k.value < 100}
    counts = {k.value for k in known if not k.unit}
    return any(same(q, Quantity(share * count, "", ""), WORKED_OUT_TOLERANCE)
               for share in shares for count in counts)


def _figure(told: Iterable[Fact], known: Sequence[Quantity], sentence: Sentence) -> str | None:
    """Why this clarify statement's figure contradicts a fact told in the step, or None.
    ``known``: the figures anyone had said (the prompt, the interviewer's lines); a figure
    among them is a quote, whichever fact it belongs to."""
    qs = [q for q in quantities(sentence.text) if q.unit != "days" and "hour" not in q.text
          and not any(same(q, k, 0.02) for k in known) and not _worked_out(q, known)
          and (q.unit or _counted(sentence.text, q.text))]
    if not qs or derived(sentence.text) or TARGET.search(sentence.text):
        return None
    about = key_words(sentence.text)
    best: tuple[float, Fact] | None = None
    for f in told:
        fq = [q for q in quantities(f.answer) if q.unit not in ("days",)]
        if len(about & key_words(f.answer)) < 2:
            continue
        clash = any(any(_alike(q, k, sentence.text, f.answer) for k in fq)
                    and not any(same(q, k, FIGURE_TOLERANCE) for k in fq
                                if _alike(q, k, sentence.text, f.answer))
                    for q in qs)
        if not clash:
            continue
        sim = similarity(sentence.text, f.answer)
        if sim >= FIGURE_TOPIC and (best is None or sim > best[0]):
            best = sim, f
    if best is None:
        return None
    return f"misquotes a figure the interviewer gave; the case says: {best[1].answer.strip()}"


def clarify_calls(case: Case, sents: Sequence[Sentence], interviewer: Sequence[str]
                  ) -> list[tuple[Sentence, str]]:
    """The clarify statements that contradict the case: a premise (told or not) or a figure
    the interviewer gave in the step (``interviewer``: the interviewer's lines)."""
    told: list[Fact] | None = None  # worked out only for a statement with a figure
    known: list[Quantity] = []
    out = []
    for s in sents:
        found = premises(case, s.text)
        if (not found and not (interviewer and s.quantity)) or not _statement(s):
            continue
        if found:
            out.append((s, found[0].why))
            continue
        if told is None:
            told_ids = revealed(case, interviewer)
            told = [f for f in case.facts if f.id in told_ids]
            known = [q for text in (*case.shown, *interviewer) for q in quantities(text)]
        why = _figure(told, known, s) if told else None
        if why is not None:
            out.append((s, why))
    return out


def wrong_premises(case: Case, heard: Sequence[str]) -> tuple[Premise, ...]:
    """The contradicted premises stated before a step (``heard``: the candidate's earlier
    lines, or every earlier line when they are not known apart: the interviewer's own lines
    never contradict the sheet they come from)."""
    facts = facts_key(case)
    out: dict[tuple[str, str], Premise] = {}
    for line in heard:
        for p in _line_premises(facts, line):
            out.setdefault((p.dimension, p.value), p)
    return tuple(out.values())


@lru_cache(maxsize=4096)
def _line_premises(facts: tuple[tuple[str, str], ...], line: str) -> tuple[Premise, ...]:
    """The contradicted premises one earlier line states (each line read once per interview:
    every later step hears it again)."""
    if not first_match(_contradictable(facts), line):
        return ()
    return tuple(p for s in substantive_sentences(line) for p in _premises(facts, s)
                 if _states(s))


def carried(case: Case, sents: Sequence[Sentence], earlier: Sequence[str]
            ) -> list[tuple[Sentence, Premise]]:
    """The sentences of a later step that affirm a premise the candidate got wrong earlier
    (``earlier``: the lines before the step, see :func:`wrong_premises`; read only when a
    sentence of this step gives a premise the case contradicts)."""
    found = [(s, ps) for s in sents if not s.text.rstrip().endswith("?")
             for ps in (premises(case, s.text),) if ps]
    if not found:
        return []
    keys = {(p.dimension, p.value) for p in wrong_premises(case, earlier)}
    out = []
    for s, ps in found:
        hit = [p for p in ps if (p.dimension, p.value) in keys]
        if hit:
            out.append((s, hit[0]))
    return out
