"""Claims checked against the case's fact sheet and what the candidate was actually told.

Three findings, reported as notes on the step's score:
- **unasked fact**: a figure from a fact the interviewer never revealed in clarify (the
  candidate could only know it by guessing or by leaking the fact sheet); the sentence earns
  no credit.
- **contradiction**: a statement of how things are today whose figure disagrees with a fact
  the interviewer did reveal (the same kind of quantity, the sentence about the same thing);
  the sentence earns no credit.
- **invented figure**: a statement of how things are today with a figure nobody gave (not in
  the prompt, the facts, the interviewer's lines or the candidate's own assumptions), stated as
  fact rather than assumed or estimated; noted, not penalised (a derived figure looks the same).
- **breakdown nobody measured**: a statement of how things are today that splits a figure into
  parts of one unit (:data:`BREAKDOWN_PARTS` or more figures), at least two of them never given
  by the interviewer, stated as fact ("of the 900 ms, 420 is the load balancer, 310 the network
  and 170 the model"); the sentence earns no credit and the scorer counts it a wrong call.

Targets ("under 500 ms", "cut it to 38k", "we want 99.9%") are the candidate's to choose and are
never checked against the facts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from agent.cases import Case
from agent.semantic.matcher import similarity
from agent.semantic.numbers import words_to_numbers
from agent.semantic.reading import Sentence
from agent.signals import found_in, lowered_if_simple

#: (role, text) turns, as scorers take them.
Turns = Sequence[tuple[str, str]]

_MULT = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mm": 1e6, "million": 1e6, "bn": 1e9,
         "billion": 1e9}
_UNITS: dict[str, tuple[str, float]] = {
    "ms": ("time", 1), "msec": ("time", 1), "millisecond": ("time", 1),
    "s": ("time", 1000), "sec": ("time", 1000), "second": ("time", 1000),
    "min": ("time", 60_000), "minute": ("time", 60_000),
    "h": ("time", 3_600_000), "hr": ("time", 3_600_000), "hour": ("time", 3_600_000),
    "%": ("%", 1), "percent": ("%", 1),
    "x": ("x", 1), "×": ("x", 1),
    "qps": ("rate", 1), "rps": ("rate", 1),
    "gpu": ("gpu", 1), "node": ("gpu", 8), "h100": ("gpu", 1), "a100": ("gpu", 1),
    "token": ("token", 1), "request": ("request", 1), "doc": ("doc", 1), "document": ("doc", 1),
    "claim": ("doc", 1), "customer": ("customer", 1), "replica": ("replica", 1),
    "dollar": ("$", 1), "usd": ("$", 1),
    "day": ("days", 1), "week": ("days", 7), "month": ("days", 30), "year": ("days", 365),
}
_QTY = re.compile(
    r"(?=\$|\d)"  # (what every match starts with: elsewhere no lookbehind is tried)
    r"(?<![\w.])(?<!per )(\$\s?)?(\d[\d,]*(?:\.\d+)?)\s*(k|mm|m|bn|thousand|million|billion)?\b\s*"
    r"(ms|msec|milliseconds?|seconds?|secs?|s|minutes?|mins?|hours?|hrs?|h|%|percent|x|×|"
    r"qps|rps|gpus?|nodes?|h100s?|a100s?|tokens?|requests?|docs?|documents?|claims?|"
    r"customers?|replicas?|dollars?|usd|days?|weeks?|months?|years?)?(?![\w])",
    re.IGNORECASE)


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str
    """a unit class ("time" in ms, "%", "$", "gpu", ...) or "" for a bare number"""
    text: str
    digits: str = ""
    """the significant digits as written ("38" for "$38k", "15" for "1,500")"""


@lru_cache(maxsize=8192)
def quantities(text: str) -> tuple[Quantity, ...]:
    """The figures in ``text`` (numbers in words included), each in a comparable unit.
    Bare small numbers ("2 options", "step 3") are left out: they say nothing checkable."""
    out = []
    for m in _QTY.finditer(words_to_numbers(text)):
        dollar, num, mult, unit = m.groups()
        try:
            value = float(num.replace(",", ""))
        except ValueError:
            continue
        value *= _MULT.get((mult or "").lower(), 1)
        digits = num.replace(",", "").replace(".", "").strip("0")
        u = (unit or "").lower()
        u = u[:-1] if u.endswith("s") and u[:-1] in _UNITS else u
        if dollar or u in ("dollar", "usd"):
            out.append(Quantity(value, "$", m.group(0).strip(), digits))
        elif u in _UNITS:
            kind, scale = _UNITS[u]
            out.append(Quantity(value * scale, kind, m.group(0).strip(), digits))
        elif value >= 100 or mult:
            out.append(Quantity(value, "", m.group(0).strip(), digits))
    return tuple(out)


def _same(a: Quantity, b: Quantity, tolerance: float = 0.02) -> bool:
    if a.unit != b.unit and "" not in (a.unit, b.unit):
        return False
    return abs(a.value - b.value) <= tolerance * max(abs(a.value), abs(b.value), 1e-9)


def _distinctive(q: Quantity, target: bool) -> bool:
    """A figure unlikely to be guessed. In a target ("under 500 ms", "in six weeks") round
    figures are the candidate's own choice: only an odd one ("under $38k") gives a fact away."""
    d = q.digits
    if q.unit == "days" or len(d) < 2:
        return False
    if q.unit == "%" and q.value in (25, 50, 75, 90, 95, 99, 99.9, 99.95, 99.99):
        return False
    return len(d) >= 3 or not target or int(d) % 5 != 0


#: A sentence that sets a target or a limit: its figures are the candidate's choice.
_TARGET = re.compile(
    r"\b(?:target\w*|goal\w*|aim\w*|want\w*|should|must|need(?:s|ed)? to|get (?:it |this |them )?"
    r"(?:to|under|below|down)|bring\w* (?:it |this )?(?:to|down)|reduce\w*|cut\w*|lower\w*|"
    r"improv\w*|under|below|above|at least|at most|less than|more than|no more than|fewer than|"
    r"within|up to|down to|by (?:end|q\d)|would|will|could|'d|'ll|plan\w*|propos\w*|"
    r"budget\w*|cap\w*|limit\w*|threshold\w*|alert\w*|if|when|until|expect\w*|hope\w*|"
    r"success|pass\w*|ceiling|floor|hold|keep|stay\w*|from .{1,25} to)\b|[<>≤≥]",
    re.IGNORECASE)
#: Hedged: an assumption or an estimate, not a claim of fact.
_HEDGE = re.compile(r"\b(?:assum\w*|about|around|roughly|approximately|maybe|perhaps|probably|"
                    r"guess\w*|estimat\w*|say|suppose|likely|might|may|could|i think|"
                    r"ballpark|order of|something like|call it)\b|~|≈", re.IGNORECASE)
#: Arithmetic on figures already given: "so 16 GPUs", "that's 2.4k a day", "= 60%".
_DERIVED = re.compile(r"\b(?:so|that's|that is|which is|means|equals|works out to|comes to|"
                      r"total(?:s|ling)?|or)\s+(?:about\s+|roughly\s+|~)?\$?\d|=|"
                      r"\b\d+\s*(?:x|times)\s+\d|\bper\b", re.IGNORECASE)


#: Public names for other modules (agent/probes/react.py).
TARGET = _TARGET
DERIVED = _DERIVED


def derived(text: str) -> bool:
    """``text`` works a figure out ("so about 540", "that's roughly five hundred"): read after
    numbers in words become digits, so a figure spelled out is derived exactly as one in digits."""
    return bool(_DERIVED.search(words_to_numbers(text)))


def computed_share(q: Quantity, text: str) -> bool:
    """``q`` is a percentage the number reader worked out from the candidate's own rate ("2,000
    out of 90,000" reads "(2.222% of ...)"), not a figure anyone stated."""
    return q.unit == "%" and f"({q.text}" in words_to_numbers(text)


def same(a: Quantity, b: Quantity, tolerance: float = 0.02) -> bool:
    """The same quantity: the same kind (or one bare) and within ``tolerance``."""
    return _same(a, b, tolerance)


def distinctive(q: Quantity, target: bool) -> bool:
    """A figure unlikely to be guessed (round figures in a target are the candidate's)."""
    return _distinctive(q, target)


def key_words(text: str) -> set[str]:
    """The words of ``text`` that carry meaning (first five letters, stop words left out)."""
    return _key_words(text) - _FACT_STOP


@dataclass(frozen=True)
class Told:
    """What the candidate had been told (and had said) before the step being scored."""

    facts: frozenset[str]
    """ids of the facts the interviewer revealed in clarify"""
    heard: tuple[str, ...] = ()
    """everything said before this step by either side: figures in it are known"""
    said: tuple[str, ...] | None = None
    """what the candidate said before this step (None: not known apart, read ``heard``)"""


@dataclass
class FactCheck:
    notes: list[str] = field(default_factory=list)
    discredited: set[str] = field(default_factory=set)
    """sentences (verbatim) that earn no credit"""
    breakdowns: list[Sentence] = field(default_factory=list)
    """sentences splitting a figure into parts nobody measured (module docstring)"""


def _key_words(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"[a-z][a-z0-9-]{3,}", text.lower())}


_FACT_STOP = _key_words("their they them with have that this what about there which would "
                        "every some into from than when were been only also more most")


def revealed(case: Case, interviewer_lines: Iterable[str]) -> frozenset[str]:
    """The facts the interviewer's clarify answers gave away: most of a fact's figures, or
    (for a fact without figures) most of its key words, appear in what the interviewer said.
    Each line and each fact is read once (cached), and which of the facts' figures a line
    says is kept per line (_line_hits): a recorded interview asks this again for every step,
    with the lines of the steps before it."""
    facts = tuple(f.answer for f in case.facts)
    said_hits: set[tuple[int, int]] = set()
    said_w: set[str] = set()
    for line in interviewer_lines:
        hits, w = _line_hits(facts, line)
        said_hits |= hits
        said_w |= w
    out = set()
    for fi, f in enumerate(case.facts):
        fq, words = _fact_marks(f.answer)
        if fq:
            hit = sum(1 for qi in range(len(fq)) if (fi, qi) in said_hits)
            if hit * 2 >= len(fq):
                out.add(f.id)
                continue
        if words and len(words & said_w) >= 0.7 * len(words):
            out.add(f.id)
    return frozenset(out)


@lru_cache(maxsize=4096)
def _line_hits(facts: tuple[str, ...], line: str
               ) -> tuple[frozenset[tuple[int, int]], frozenset[str]]:
    """(each (fact, figure) of ``facts``' answers that one of ``line``'s figures is the same
    as, by their indices; the line's key words): a fact's figure is said when some line
    says it."""
    said_q, words = _line_marks(line)
    hits = frozenset((fi, qi) for fi, answer in enumerate(facts)
                     for qi, q in enumerate(_fact_marks(answer)[0])
                     if any(_same(q, s) for s in said_q))
    return hits, words


@lru_cache(maxsize=4096)
def _line_marks(line: str) -> tuple[tuple[Quantity, ...], frozenset[str]]:
    """A line's figures and key words (what :func:`revealed` looks for)."""
    return quantities(line), frozenset(_key_words(line))


@lru_cache(maxsize=4096)
def _fact_marks(answer: str) -> tuple[tuple[Quantity, ...], frozenset[str]]:
    """A fact's figures worth matching (with a unit, or 100 and over) and its key words."""
    return (tuple(q for q in quantities(answer) if q.unit or q.value >= 100),
            frozenset(_key_words(answer) - _FACT_STOP))


def told_from(case: Case, earlier: Turns, facts: Iterable[str] | None = None) -> Told:
    """A :class:`Told` from the turns before the step (every step's, clarify first). ``facts``:
    the fact ids the engine recorded as told; without it, derived from the interviewer's lines
    (recorded interviews)."""
    lines = tuple(text for _, text in earlier)
    ids = frozenset(facts) if facts is not None else revealed(
        case, (text for role, text in earlier if role == "interviewer"))
    said = tuple(text for role, text in earlier if role == "candidate")
    return Told(facts=ids, heard=lines, said=said)


#: A sentence with this many figures of one unit is a breakdown (see the module docstring).
BREAKDOWN_PARTS = 3


def breakdown(text: str, given: Sequence[Quantity]) -> bool:
    """``text`` splits a figure into parts nobody measured: :data:`BREAKDOWN_PARTS` or more
    figures of one unit, two or more of them not among ``given`` (the prompt's and the
    interviewer's), neither hedged nor worked out."""
    qs = quantities(text)
    if len(qs) < BREAKDOWN_PARTS or _HEDGE.search(text) or derived(text):
        return False
    for unit in {q.unit for q in qs if q.unit}:
        parts = [q for q in qs if q.unit == unit]
        if len(parts) >= BREAKDOWN_PARTS and \
                sum(1 for q in parts if not any(_same(q, g) for g in given)) >= 2:
            return True
    return False


#: A number as written, without its unit (small ones too: "six nodes of eight").
RAW_NUMBER = re.compile(r"(?<![\w.$])\d[\d,]*(?:\.\d+)?")


@lru_cache(maxsize=4096)
def raw_numbers(text: str) -> frozenset[float]:
    """Every number ``text`` says, small ones and numbers in words included."""
    return frozenset(float(m.group(0).replace(",", ""))
                     for m in RAW_NUMBER.finditer(words_to_numbers(text)))


def multiplied(q: Quantity, given: Sequence[str]) -> bool:
    """Whether the number ``q`` says is the product of two numbers given ("48 H100s" of "six
    nodes of eight H100s")."""
    m = RAW_NUMBER.search(words_to_numbers(q.text))
    if m is None:
        return False
    said = float(m.group(0).replace(",", ""))
    numbers = sorted(frozenset().union(*(raw_numbers(t) for t in given))) if given else []
    return any(abs(a * b - said) <= 1e-9 * max(said, 1) for i, a in enumerate(numbers)
               for b in numbers[i + 1:] if a > 1 and b > 1)


#: Steps whose figures describe how things are (checked for contradictions and invention);
#: elsewhere figures are mostly targets and plans.
STATE_STEPS = ("diagnose", "prioritize")


def check(case: Case, told: Told, sents: Sequence[Sentence], step: str = "diagnose"
          ) -> FactCheck:
    """Check a step's sentences against the fact sheet and what was told (module docstring)."""
    out = FactCheck()
    known_texts = (*case.shown, *told.heard)
    known = [q for text in known_texts for q in quantities(text)]
    facts_told = [f for f in case.facts if f.id in told.facts]
    facts_not = [f for f in case.facts if f.id not in told.facts]
    unasked: dict[str, str] = {}
    contradicted: list[str] = []
    invented: list[str] = []
    said = set(told.said or ())
    given = [q for text in (*case.shown, *(h for h in told.heard if h not in said))
             for q in quantities(text)]
    for s in sents:
        qs = quantities(s.text)
        if not qs:
            continue
        target = found_in(_TARGET, s.text, lowered_if_simple(s.text))
        if step in STATE_STEPS and not target and breakdown(s.text, given):
            out.breakdowns.append(s)
            out.discredited.add(s.text)
            continue
        for q in qs:
            if any(_same(q, k) for k in known):
                continue
            fact = next((f for f in facts_not for fq in quantities(f.answer)
                         if _same(q, fq) and (q.unit or fq.unit)), None)
            if fact is not None and _distinctive(q, target):
                unasked.setdefault(fact.id, s.text)
                out.discredited.add(s.text)
                break
            if target or q.unit in ("", "days") or step not in STATE_STEPS:
                continue
            about = _key_words(s.text) - _FACT_STOP
            rival = next((f for f in facts_told
                          if len(about & (_key_words(f.answer) - _FACT_STOP)) >= 3
                          and similarity(s.text, f.answer) >= 0.45
                          and any(fq.unit == q.unit for fq in quantities(f.answer))
                          and not any(_same(q, fq, 0.3) for fq in quantities(f.answer)
                                      if fq.unit == q.unit)), None)
            if rival is not None and not _HEDGE.search(s.text) and not derived(s.text):
                contradicted.append(f"“{s.text}” (the interviewer said: {rival.answer.strip()})")
                out.discredited.add(s.text)
                break
            if fact is None and _distinctive(q, False) and "hour" not in q.text \
                    and not computed_share(q, s.text) and not multiplied(q, known_texts) \
                    and not _HEDGE.search(s.text) and not derived(s.text) \
                    and not any(_same(q, fq, 0.3) for f in case.facts
                                for fq in quantities(f.answer)):
                invented.append(s.text)
                break
    for fid, text in unasked.items():
        out.notes.append(f"Uses a fact the interviewer never gave in clarify "
                         f"({case.fact(fid).topic.lower()}): “{text}” — no credit for it.")
    for c in contradicted[:3]:
        out.notes.append(f"Contradicts the facts given: {c} — no credit for it.")
    if invented:
        shown = "; ".join(f"“{t}”" for t in invented[:2])
        out.notes.append(f"States figures nobody gave, as fact: {shown}. Say when a figure is "
                         "an assumption or an estimate.")
    return out
