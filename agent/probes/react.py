"""Follow-ups that react to what the candidate said (issue 10, item 3).

After each answer in steps 2-6 the interviewer chooses one of:

- **challenge** a claim: a figure from a fact the interviewer never told ("Where does the $75k
  come from?"), a figure that contradicts what it did tell, or a figure nobody gave stated as
  how our system or theirs is ("our p99 is 40 ms": :func:`invented`, once per figure).
  Checked first: a candidate quoting the fact sheet or making figures up must not sail
  through. Then a claim stated as certain with nothing behind it ("definitely the CUDA
  kernels… 100% sure, no need to check"): what would look different if it were not so
  (:func:`certainty`).
- **gap**: probe the most important criterion the answers do not meet yet, with the rubric's
  authored, non-leading probe (as before); not one the answers already answer, also under a
  heading of their own ("What could you do this week?" of "Week 1: …": :func:`under_heading`).
  An answer that only lists terms (:func:`listed_only`) is first asked which of them matters
  most and why, in both modes, and then probed on what it meets only in part.
- **deepen** a strong point: quote the candidate's own most specific sentence and ask for the
  mechanism, the number, the trade-off or how to confirm it (by step); never what the answer
  already says (:func:`answers_it`: how it would check, what it costs, a figure given), and
  deepen that instead (what result would prove the check wrong, when the cost is too high).
- **move on**: nothing to add, or the step's follow-ups are used up.

As clarify ends, the assumptions the candidate states are met the same way
(:func:`assumptions_reply`): one the fact sheet contradicts is corrected (a clue questioned,
never told), a figure nobody gave challenged.

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
from functools import lru_cache
from itertools import pairwise
from typing import Literal

from agent.cases import Case
from agent.policy import Interviewer, Speaker
from agent.prompts import script
from agent.rubrics import Rubric
from agent.semantic.facts import (
    RAW_NUMBER,
    TARGET,
    Quantity,
    Told,
    check,
    computed_share,
    derived,
    distinctive,
    key_words,
    multiplied,
    quantities,
    raw_numbers,
    same,
)
from agent.semantic.matcher import similarity
from agent.semantic.numbers import words_to_numbers
from agent.semantic.reading import Sentence, has_verb, read_answer
from agent.semantic.words import content_words
from agent.signals import LIST_ITEM, normalise
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
    """The candidate's sentence as said, without its closing punctuation: whole when it has at
    most ``words`` words, else cut after a complete clause (:func:`_clean_end`), with an
    ellipsis; a sentence with no complete clause to end at is quoted from its last complete
    clause to its end (:func:`_clean_tail`), or failing that cut at a phrase boundary. A list
    item is quoted without its bullet."""
    parts = LIST_ITEM.sub("", sentence.strip()).split()
    if _clean_end(parts, 0, words) is None:
        tail = _clean_tail(parts, words)
        if tail is not None:
            return _excerpt(parts, tail, len(parts))
    return _excerpt(parts, 0, _end(parts, 0, words))


def _clean_tail(parts: Sequence[str], words: int) -> int | None:
    """Where the sentence's last complete clause starts, for a quote of it to the end: the
    earliest clause start after a clause mark whose rest has at most ``words`` words (or
    failing that :data:`QUOTE_MAX`), at least :data:`MIN_QUOTE`, and is not opened by a
    subordinating word ("If …, the gap is probably in …": "…the gap is probably in …")."""
    for limit in (words, QUOTE_MAX):
        for i in range(1, len(parts) - MIN_QUOTE + 1):
            # not after ";": what follows is a sentence of its own, not to be quoted whole
            if len(parts) - i > limit or not (parts[i - 1].endswith((",", ":", "—", "–"))
                                               or parts[i - 1] in ("—", "–", "-")):
                continue
            first = i + 1 if _bare(parts[i]) in ("and", "but", "or", "so") else i
            if first < len(parts) and _bare(parts[first]) not in _SUBORDINATE:
                return first
    return None


def clean_quote(sentence: str, words: int = QUOTE_WORDS) -> str | None:
    """:func:`quote`, or None when the sentence is longer than ``words`` and has no complete
    clause to end a quote at (:func:`_clean_end`): a follow-up that may choose what to quote
    quotes something else rather than cut it mid-phrase."""
    parts = LIST_ITEM.sub("", sentence.strip()).split()
    end = _clean_end(parts, 0, words)
    return None if end is None else _excerpt(parts, 0, end)


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Words a quote never ends on: cut after one, a phrase is left open ("…, but a").
_OPEN = _wordset(
    "a an the of to in on at by for with from into onto over under than as like and or but nor "
    "so yet if when while because since which that who whose whom where their our its his her "
    "my your this these those is are was were be been being has have had do does did will "
    "would can could should may might must per vs versus about around within between not no "
    "very more less most least i we they it you i'd we'd i'll we'll it's that's "
    "there's whether probably likely maybe perhaps just only also still even really actually "
    "definitely certainly almost quite rather")
#: Number words: a figure is not cut from what follows it ("four | to five times").
_NUMBER_WORDS = _wordset(
    "one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty "
    "forty fifty sixty seventy eighty ninety hundred thousand million billion half quarter "
    "quarters third thirds tenth tenths twice double")
#: The shortest quote worth showing.
MIN_QUOTE = 4


def _bare(word: str) -> str:
    return word.lower().strip(".,;:!?\"“”‘’()[]").replace("’", "'")


def _numberish(word: str) -> bool:
    bare = _bare(word)
    return bare in _NUMBER_WORDS or bool(re.match(r"^[$~≈<>]?\d", bare))


def _open_at(parts: Sequence[str], end: int) -> bool:
    """Whether cutting ``parts`` before index ``end`` leaves a phrase open: the last word kept
    is a function word or a figure (its unit or the rest of a range follows)."""
    if end <= 0 or end >= len(parts):
        return False
    last = parts[end - 1]
    if last.endswith((",", ";", ":", ".", "!", "?", "—", "–", ")")):
        return False
    return _bare(last) in _OPEN or _numberish(last)


#: When no complete clause ends within :data:`QUOTE_WORDS` words, a quote may run to the end
#: of one within this many: better longer than cut mid-phrase ("…the gap is probably…").
QUOTE_MAX = 25
#: Words that open a subordinate clause: a clause starting with one is not complete on its own
#: ("If our numbers say fixed and they still feel broken…" leaves out what follows then).
_SUBORDINATE = _wordset(
    "if when unless because since although though while whereas once until before after as "
    "whether whenever wherever")


def _clause_cut(parts: Sequence[str], start: int, end: int) -> bool:
    """Whether a quote of ``parts[start:end]`` ends after a complete clause: at a clause mark
    (a comma, semicolon, colon or dash), not inside a figure ("1, 500"), and the clause it
    ends not opened by a subordinating word ("If …, then": the clause after it is needed)."""
    if end <= start or end >= len(parts):
        return False
    last = parts[end - 1]
    if not (last.endswith((",", ";", ":", "—", "–", ")")) or parts[end] in ("—", "–", "-")):
        return False
    if re.search(r"\d,$", last) and re.match(r"^\d{3}\b", parts[end]):
        return False  # "1, 500": not a clause
    heading = last.endswith((":", "—", "–")) or parts[end] in ("—", "–", "-")
    if heading and not has_verb(" ".join(parts[start:end]).rstrip(":—–- ")):
        return False  # a heading ("Three to six months:") is no clause: it asserts nothing
    return _completes(parts, start, end)


def _completes(parts: Sequence[str], start: int, end: int) -> bool:
    """Whether the last clause of ``parts[start:end]`` (after its last clause mark) is one:
    of three words or more ("What must not get worse: error rate" ends on a list item), and
    not opened by a subordinating word, alone or after "and"/"but"/"or"/"so"."""
    begin = start
    for i in range(end - 2, start - 1, -1):
        if parts[i].endswith((",", ";", ":", "—", "–", ")")) or parts[i] in ("—", "–", "-"):
            begin = i + 1
            break
    if end - begin < 3:
        return False
    if _bare(parts[begin]) in ("and", "but", "or", "so"):
        begin += 1
    return not (begin < end and _bare(parts[begin]) in _SUBORDINATE)


#: Words that open a new clause mid-sentence: a quote may end just before one ("…what
#: developers actually wait on | when they open the dashboard").
_CLAUSE_OPENERS = _wordset(
    "but however whereas while although though instead so because since which then yet "
    "otherwise unless if when where whenever")


def _before_clause(parts: Sequence[str], start: int, end: int) -> bool:
    """Whether ``parts[end]`` opens a new clause (:data:`_CLAUSE_OPENERS`) and the quote
    ``parts[start:end]`` leaves no phrase open and is not itself a subordinate clause only."""
    return (start < end < len(parts) and _bare(parts[end]) in _CLAUSE_OPENERS
            and not _open_at(parts, end) and _bare(parts[end - 1]) not in _TAKES_CLAUSE
            and _completes(parts, start, end))


#: Verbs whose object is a clause: "to see | where the seconds go" is one phrase.
_TAKES_CLAUSE = _wordset(
    "see know check tell ask find show decide understand wonder confirm learn verify test "
    "measure figure out look sure whether")


def _clean_end(parts: Sequence[str], start: int, words: int, least: int = 0) -> int | None:
    """Where a quote of ``parts`` from ``start`` of about ``words`` words ends (exclusive), no
    earlier than ``least`` (the quote must reach it), ending only after a complete clause: the
    whole rest when it has at most ``words`` words; else the last complete clause
    (:func:`_clause_cut`) or the last cut before a word opening a new clause
    (:func:`_before_clause`) within the limit, or failing that within :data:`QUOTE_MAX` words;
    None when there is none. A longer sentence is never quoted whole: an interviewer line
    that repeats a whole sentence of the answer carries it outside the candidate's fence in
    the judge's transcript (tests/test_injection.py)."""
    if len(parts) - start <= words and least <= len(parts):
        return len(parts)
    low = max(start + MIN_QUOTE, least)
    hi = min(len(parts) - 1, start + words)
    for end in range(hi, low - 1, -1):
        if _clause_cut(parts, start, end) or _before_clause(parts, start, end):
            return end
    for end in range(max(hi + 1, low), min(len(parts) - 1, start + QUOTE_MAX) + 1):
        if _clause_cut(parts, start, end) or _before_clause(parts, start, end):
            return end
    return None


def _end(parts: Sequence[str], start: int, words: int, least: int = 0) -> int:
    """:func:`_clean_end`, or when there is no complete clause to end at, the last cut at or
    before the limit that leaves no phrase open (:func:`_open_at`), and no earlier than
    ``least``; past the limit by a few words only when no such cut exists."""
    clean = _clean_end(parts, start, words, least)
    if clean is not None:
        return clean
    hi = min(len(parts), start + words)
    low = max(start + MIN_QUOTE, least)
    for end in range(hi, low - 1, -1):
        if not _open_at(parts, end):
            return end
    for end in range(hi + 1, min(len(parts), hi + 4) + 1):
        if not _open_at(parts, end):
            return end
    return hi


def _excerpt(parts: Sequence[str], start: int, end: int) -> str:
    text = " ".join(parts[start:end]).rstrip(".,;:!?—–- ")
    if end < len(parts) and text.count("(") > text.count(")"):
        # a cut inside brackets ends before them: "…5% traffic per segment (chat…" is open
        text = text[:text.rfind("(")].rstrip(".,;:!?—–- ") or text
    return ("…" if start > 0 else "") + text + ("…" if end < len(parts) else "")


#: A claim that uses a fact never told without a figure ("their regulator expects
#: deterministic outputs") shares at least this many of the fact's own key words that nothing
#: said to the candidate had...
UNTOLD_WORDS = 2
#: ...and means about the same as the fact's answer (embedding similarity)...
UNTOLD_SIMILARITY = 0.65
#: ...or, when it shares this many of them in a step that says how things are
#: (:data:`STATE_STEPS`), means something close to it: a sentence that also says something of
#: its own ("Quantization is out: their model-risk team hasn't signed off and their regulator
#: expects deterministic outputs") is further from the fact as a whole. A solution that
#: answers a fact shares its words without claiming it ("see timing broken into queue, retries
#: and error detail").
UNTOLD_MANY_WORDS = 4
UNTOLD_SIMILARITY_MANY = 0.55
#: Steps whose sentences are mostly the candidate's own targets: only a figure gives a fact away.
TARGET_STEPS = ("goals",)
#: Steps whose sentences mostly say how things are (agent.semantic.facts.STATE_STEPS).
STATE_STEPS = ("diagnose", "prioritize")
#: Where a sentence divides into clauses, each a target or a statement of its own
#: ("currently 10 to 20% per call; cap it at 10%"); not at the comma inside a number ("1,500").
_CLAUSE = re.compile(r"\s*(?:[;:—–]|,(?!\d{3}\b)|\s-\s)\s*")
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


#: A number as written, before any unit: "30" in "quit at 30", "30 s" or "thirty seconds".
_RAW = RAW_NUMBER
#: The smallest number said without a unit that a later figure with one may restate: below
#: it, bare numbers are counts and ranks ("2 options", "step 3") that a unit makes another
#: thing.
BARE_LEAST = 10


@lru_cache(maxsize=4096)
def _bare_numbers(text: str) -> frozenset[float]:
    """The numbers ``text`` says alone, without a unit (:data:`_ALONE`; numbers in words read
    as digits): "SDKs quit at 30" says 30, which a later "30 s" restates."""
    plain = words_to_numbers(text)
    out = set()
    for m in _RAW.finditer(plain):
        if _ALONE.match(plain, m.end()):
            value = float(m.group(0).replace(",", ""))
            if value >= BARE_LEAST:
                out.add(value)
    return frozenset(out)


#: What follows a number said alone, its unit left to the context: the end of a clause or a
#: word that joins ("at 30.", "at 30 and", "30 or so"), not a noun ("128 experts").
_ALONE = re.compile(r"\s*(?:$|[.,;:!?)\]—–]|(?:and|or|but|so|then|to|on|for|with|if|when)\b)",
                    re.IGNORECASE)
#: A multiplier after a figure: "128k" is not "128".
_MULTIPLIED = re.compile(r"\d\s*(?:k|mm|m|bn|thousand|million|billion)\b", re.IGNORECASE)


def _said_bare(q: Quantity, bare: Collection[float]) -> bool:
    """Whether ``q`` restates a number said before without its unit ("quit at 30", then
    "30 seconds")."""
    m = _RAW.search(q.text.replace("$", ""))
    return (m is not None and not _MULTIPLIED.search(q.text)
            and float(m.group(0).replace(",", "")) in bare)


def _telling(q: Quantity, target: bool) -> bool:
    """Whether a figure could only have come from the fact sheet: in a target or a plan a round
    figure is the candidate's own choice (agent.semantic.facts.distinctive), but not a sum of
    money; otherwise any figure with a unit, or of two digits or more."""
    if target:
        # a power of two is as round as a multiple of five where sizes are chosen ("cap
        # context at 32k", "batches of 64": trial 11's "First month: cap context at 32k" was
        # challenged as a fact never told)
        return q.unit == "$" or (distinctive(q, True) and q.digits.lstrip("0") not in _BINARY)
    return bool(q.unit) or len(q.digits) >= 2


#: Powers of two as a figure's significant digits.
_BINARY = frozenset(str(2 ** n) for n in range(1, 11))


#: A line headed by a span of time ("Over three to six months:", "Next 2 weeks:").
_HORIZON_HEADING = (
    r"^\W*(?:(?:over|in|within|for|during|by|after)\s+)?(?:the\s+)?(?:next\s+|first\s+|"
    r"coming\s+)?[\w.]+(?:\s*(?:to|-|–)\s*[\w.]+)?\s+(?:days?|weeks?|months?|quarters?|"
    r"years?)\b[^:;]{0,15}:")
#: Verbs that open an instruction, a move of the candidate's own ("Cap retries at 20%").
_IMPERATIVE = (
    r"give|compare|measure|ship|move|add|build|run|track|tag|pilot|canary|test|roll|deploy|use|"
    r"put|start|set|make|split|offer|launch|route|cap|limit|raise|lower|cut|drop|alert|watch|"
    r"check|monitor|log|expose|show|send|fix|pre-?warm|reserve|buy|hire|train|fine-tune|"
    r"migrate|switch|enable|disable|turn")
#: A step of the candidate's plan, its figures theirs to choose: a heading of time ("Weeks one
#: and two: publish the new price list, 40% higher", "Over three to six months: ...") or an
#: instruction ("Cap retries at 20%").
_PLAN_STEP = re.compile(
    r"^\W*(?:weeks?|months?|days?|quarters?|phase|step|short[- ]term|long[- ]term|"
    r"medium[- ]term)\b[^:;]{0,25}:|" + _HORIZON_HEADING
    + r"|^\W*(?:" + _IMPERATIVE + r"|publish|charge|price)\b", re.IGNORECASE)


#: Where a clause joins another with a subject of its own: "…hit their limit | and I'd want
#: that close to zero".
_JOINED = re.compile(r"\s+(?:and|but|so|while|whereas|then)\s+(?=(?:i|i'd|i'll|i'm|we|we'd|"
                     r"we'll|we're|they|they'd|it|it's|that|this|which)\b)", re.IGNORECASE)
#: How things are now: a figure said with it is a statement, whatever target word is near.
_NOW = re.compile(r"\b(?:right now|today|currently|at the moment|at present|these days|"
                  r"as of (?:now|today)|so far|as things stand|nowadays)\b", re.IGNORECASE)


def _worked_out(q: Quantity, text: str) -> bool:
    """Whether ``q`` is a share the number reader worked out from the candidate's own rate
    (agent.semantic.facts.computed_share): not one stated per hundred or per thousand ("3 in
    100" says 3%), except "1 in 100", which names the slowest requests (p99)."""
    if not computed_share(q, text):
        return False
    per = re.search(r"(\d+(?:\.\d+)?) (?:[a-z]+ )?(?:in|out of) (?:every )?(?:100|1,?000) \("
                    + re.escape(q.text), words_to_numbers(text))
    return per is None or per.group(1) == "1"


def _as_said(q: Quantity, text: str) -> str:
    """``q`` as the candidate put it: "3 in 100" rather than the 3% read from it, "six nodes"
    and "9 million dollars" rather than "6 nodes" and "9000000 dollars" (the shortest run of
    the candidate's words that reads as the figure)."""
    per = re.search(r"(\d[\d.,]* (?:[a-z]+ )?(?:in|out of) (?:every )?\d[\d,]*) \("
                    + re.escape(q.text), words_to_numbers(text))
    if per:
        return per.group(1)
    if q.text in text:
        return q.text
    words = text.split()
    for n in range(1, 6):
        for i in range(len(words) - n + 1):
            run = " ".join(words[i:i + n]).strip(",.;:!?()\"'“”")
            if q.text in words_to_numbers(run):
                # "one third of" reads as the share only with its "of": quoted without it
                return re.sub(r"\s+(?:of|the|a|an)$", "", run)
    return q.text


def untold_use(case: Case, told: Told, sentence: str, step: str,
               skip: Collection[str] = (), posed: bool = False) -> tuple[str, str] | None:
    """(fact id, figure) when ``sentence`` uses a fact the candidate was never told (figure ""
    when it uses the fact's words rather than a figure); None otherwise. ``told.heard`` is what
    was said *to* the candidate (or by them in clarify): a figure or a word in it is known.
    Facts in ``skip`` (challenged already) are not reported again.

    - a figure equal to one of an untold fact's figures (the same kind of quantity), not heard
      before, not arithmetic on given figures, and telling (:func:`_telling`; whether it is a
      target is judged clause by clause);
    - outside goals and proposals, :data:`UNTOLD_WORDS` or more of the fact's own key words
      that nothing heard had, in a sentence that means about the same as the fact
      (:data:`UNTOLD_SIMILARITY`), unless it is ``posed`` as a hypothesis to check (a cause
      the candidate reasons their way to is the point of diagnosing, not a fact used untold;
      a figure only the sheet has is still challenged).
    """
    untold = [f for f in case.facts if f.id not in told.facts and f.id not in skip]
    if not untold:
        return None
    known = [q for text in told.heard for q in quantities(text)]
    bare = frozenset().union(*(_bare_numbers(text) for text in told.heard))
    own = bool(_PLAN_STEP.search(sentence))
    for clause in _CLAUSE.split(sentence):
        if _ARITHMETIC.search(clause):
            continue
        for part in _JOINED.split(clause):
            # a target is judged by the figure's own words: "right now about 3 in 100 hit
            # their limit" states how things are, "and I'd want that close to zero" after it
            # does not make it a target
            target = own or (bool(TARGET.search(part)) and not _NOW.search(part))
            for q in quantities(part):
                if any(same(q, k) for k in known) or _said_bare(q, bare) \
                        or _worked_out(q, part) or not _telling(q, target):
                    continue
                for f in untold:
                    if any(same(q, fq) for fq in quantities(f.answer)):
                        return f.id, _as_said(q, part)
    if step in TARGET_STEPS or posed or _PROPOSES.search(sentence):
        return None
    heard = set().union(*(key_words(t) for t in told.heard)) if told.heard else set()
    said = key_words(sentence)
    for f in untold:
        shared = said & (key_words(f.answer) - heard - _EVERYDAY)
        if len(shared) >= UNTOLD_WORDS and similarity(sentence, f.answer) >= (
                UNTOLD_SIMILARITY_MANY if len(shared) >= UNTOLD_MANY_WORDS
                and step in STATE_STEPS else UNTOLD_SIMILARITY):
            return f.id, ""
    return None


#: Everyday words a fact's answer may share with any sentence ("the least recently used" and
#: "about to be used again"): they say nothing of the fact.
_EVERYDAY = key_words(
    "used using uses make made makes take takes took taken keep keeps kept give gives given "
    "goes going come comes came thing things much many very just even still again back want "
    "wants need needs know like look looks sure really quite other others every also least "
    "whole part lots")


def unasked_figure(case: Case, told: Told, sentence: str) -> str | None:
    """A figure in ``sentence`` that only a fact never told could give (:func:`untold_use`)."""
    found = untold_use(case, told, sentence, "diagnose")
    return found[1] if found and found[1] else None


#: An answer that lays out hypotheses: "Hypotheses:", "Hypothesis, ranked:", "Possible causes:".
_POSED = re.compile(r"\bhypothes[ie]s\b[^.\n]{0,20}[:\n]|\b(?:possible|likely|candidate) "
                    r"causes?\b[^.\n]{0,20}[:\n]", re.IGNORECASE)
#: A sentence that names the check that would tell: "check: per-GPU util", "to confirm, ...".
_POSES = re.compile(r"\b(?:check|confirm|verify|test)\s*:|\b(?:to|i'?d|we'?d|i would|we would) "
                    r"(?:check|confirm|verify|rule (?:it )?out)\b", re.IGNORECASE)


def challenged_facts(done: Iterable[str]) -> set[str]:
    """The untold facts already challenged, from reactions' ``about`` values."""
    return {a.split(":", 2)[1] for a in done if a.startswith("untold:")}


def challenge(case: Case, step: str, answers: Sequence[str], told: Told,
              done: Sequence[str], heard: Told | None = None,
              given: Sequence[str] | None = None) -> Reaction | None:
    """A challenge to the first sentence of the answers that uses a fact never told
    (:func:`untold_use`; each such fact once per interview), that contradicts a fact that
    was (agent/semantic/facts.py), or that states as how things are a figure nobody gave
    (:func:`invented`, when ``given`` is known: each such figure once per interview), unless
    that sentence was challenged already. ``heard``: what was said to the candidate (default
    ``told``); ``given``: where a figure may come from (:func:`figures_given`); ``done``:
    every reaction so far."""
    sents: list[Sentence] = []
    # Sentences posed as hypotheses: hedged or naming their check, or under a "Hypotheses:"
    # heading of their answer ("Hypothesis, ranked: 1. ... 2. expert imbalance ... check: ...").
    posed: set[str] = set()
    for a in answers:
        heading = bool(_POSED.search(a))
        for s in read_answer(a):
            sents.append(s)
            if heading or _HYPOTHESIS.search(s.text) or _POSES.search(s.text):
                posed.add(s.text)
    found = check(case, told, sents, step)
    lines = script()["react"]
    skip = challenged_facts(done)
    for s in sents:
        if f"challenge:{s.text}" in done or any(a.endswith(f":{s.text}") for a in done
                                                 if a.startswith("untold:")):
            continue
        use = untold_use(case, heard or told, s.text, step, skip, posed=s.text in posed)
        if use is not None:
            fid, figure = use
            text = (str(lines["unasked"]).format(figure=figure) if figure else
                    str(lines["unasked_claim"]).format(quote=quote(s.text)))
            return Reaction("challenge", text, f"untold:{fid}:{s.text}", fid)
        if any(s.text in n and n.startswith("Contradicts") for n in found.notes):
            return Reaction("challenge", str(lines["contradiction"]).format(
                quote=quote(s.text)), f"challenge:{s.text}")
        made = (invented(case, given, s.text, invented_figures(done))
                if given is not None and s.text not in posed else None)
        if made is not None:
            key, figure = made
            return Reaction("challenge", str(lines["invented"]).format(figure=figure),
                            f"invented:{key}:{s.text}")
    return None


# -- figures nobody gave ---------------------------------------------------------------------

#: A statement about how our system or theirs is: "our p99 is 40 ms", "their traffic is 2,000
#: QPS", "90% of checkpoints already deploy with us", "currently at 3%", "the deals are worth
#: 20 million dollars" (trial 10).
_STATES = re.compile(
    r"\b(?:our|their|we|we're|we are|they|they're|they are|us|its|it's|it is|currently|today|"
    r"right now|at the moment|already|now)\b|\b(?:i|we) (?:measured|saw|found|observed|counted|"
    r"profiled|benchmarked)\b|\b(?:is|are|was|were) worth\b", re.IGNORECASE)
#: A figure given as an assumption or an estimate, not as a fact: "I'd assume 40 ms", "maybe
#: 2,000 QPS", "~90%", "my guess is".
_ASSUMED = re.compile(
    r"\b(?:assum\w*|suppos\w*|let's say|say|guess\w*|estimat\w*|about|around|roughly|"
    r"approximately|maybe|perhaps|probably|likely|might|may|could|i think|i believe|"
    r"ballpark|order of|something like|call it|if|imagine|hypothetic\w*|expect\w*|a few|"
    r"a couple|several|some)\b|~|≈|\?",
    re.IGNORECASE)
#: Units of figures worth asking about: a time, a share, a rate, money, a multiple, a count of
#: machines, tokens or requests (not a bare number, nor a span of days in a plan).
_ASKED_UNITS = frozenset({"time", "%", "rate", "$", "x", "gpu", "token", "request", "replica",
                          "customer", "doc"})


def figures_given(state: InterviewState, case: Case) -> list[str]:
    """Where a figure the candidate uses may come from: the case's title and prompt (trial 10:
    "128k" of "an MoE, 128k-context model family" was challenged), the facts told, every line
    of the interviewer but its follow-ups (they quote the candidate), and what the candidate
    said in clarify as an assumption or an estimate (:data:`_ASSUMED`: "I'll assume about
    2,000 QPS")."""
    told = set(state.get("facts_told", []))
    out = [*case.shown, *(f.answer for f in case.facts if f.id in told)]
    for t in state.get("turns", []):
        if t["role"] == "interviewer" and t["kind"] != "followup":
            out.append(t["text"])
        elif t["role"] == "candidate" and t["step"] == "clarify" and t["kind"] == "answer":
            out += [x.text for x in read_answer(t["text"]) if _ASSUMED.search(x.text)]
    return out


def invented_figures(done: Iterable[str]) -> set[str]:
    """The figures already challenged as nobody's, from reactions' ``about`` values."""
    return {a.split(":", 2)[1] for a in done if a.startswith("invented:")}


def _figure_key(q: Quantity) -> str:
    return f"{q.unit or '#'}{q.value:g}"


def _derivable(q: Quantity, known: Sequence[Quantity]) -> bool:
    """Whether ``q`` is worked out from two given figures: their sum or difference (the 60 ms
    gap between 210 ms and 150 ms), or one as a share or a multiple of the other; or is the
    rest of a share given."""
    for i, a in enumerate(known):
        for b in known[i + 1:]:
            if a.unit != b.unit:
                continue
            results = []
            if a.unit == q.unit:
                results += [a.value + b.value, abs(a.value - b.value)]
            if q.unit == "%" and min(a.value, b.value) > 0:
                results += [100 * min(a.value, b.value) / max(a.value, b.value),
                            100 * abs(a.value - b.value) / max(a.value, b.value)]
            if q.unit == "x" and min(a.value, b.value) > 0:
                results.append(max(a.value, b.value) / min(a.value, b.value))
            if any(abs(r - q.value) <= 0.05 * max(abs(q.value), 1e-9) for r in results):
                return True
    # the rest of a share given: "losing 65%" of "only 35% deploy with us"
    return q.unit == "%" and any(k.unit == "%" and abs(100 - k.value - q.value) <= 0.5
                                 for k in known)


def _within_given(q: Quantity, given: Sequence[str]) -> bool:
    """Whether ``q`` is one of the figures given (about the same), or lies in a range given
    ("1.5 to 2 seconds": 1.8 s is in it)."""
    said = raw_numbers(q.text)
    for text in given:
        # a figure without a unit given is the same number written ("80" for "80 rps"), not
        # the same value read in another unit ("2,000 adapters" is no "2 s", read as 2000 ms)
        if any(same(q, k, 0.1) if k.unit == q.unit else k.value in said
               for k in quantities(text) if k.unit == q.unit or not k.unit):
            return True
        same_unit = [k.value for k in quantities(text) if k.unit == q.unit]
        if any(lo <= q.value <= hi for lo, hi in pairwise(same_unit) if lo < hi <= 4 * lo):
            return True
    return False


def _stated(text: str) -> list[Quantity]:
    """The figures of ``text`` that are neither a target or an estimate nor the size of a
    rollout or a test (:func:`figure_readings`: "10% of their traffic", "at most a fifth
    above today")."""
    parts = text.split()
    now = bool(_NOW.search(text))
    out = []
    for begin, at, reading in figure_readings(parts):
        q = _quantity_at(parts, begin, at)
        # "it's currently 12% of agent traffic" is a share of traffic now, no rollout
        if q is not None and (not reading or (reading == "rollout" and now)):
            out.append(q)
    return out


#: What makes a fact's figure a limit, not how things are: "they'd accept up to about 2
#: seconds", "a target of 150 ms", "must stay under 1%".
_LIMIT_BEFORE = re.compile(r"\b(?:accept\w*(?: up to)?|up to|under|below|targets?(?: of)?|"
                           r"at most|no more than|within|must (?:stay|be)(?: under| below)?|"
                           r"need(?:s|ed)? (?:it )?(?:to be )?(?:under|below)?)\s+(?:about |"
                           r"around |roughly |some )?$", re.IGNORECASE)


def _limit(answer: str, q: Quantity) -> bool:
    """Whether the fact sheet gives ``q`` as a limit or a target (:data:`_LIMIT_BEFORE`): a
    candidate who states it as how things are now ("our cold start is 2 s right now") did not
    take it from the sheet."""
    at = answer.find(q.text)
    return at >= 0 and bool(_LIMIT_BEFORE.search(answer[max(0, at - 40):at]))


def invented(case: Case, given: Sequence[str], sentence: str,
             skip: Collection[str] = ()) -> tuple[str, str] | None:
    """(key, figure) when ``sentence`` states as how our system or theirs is (:data:`_STATES`)
    a figure nobody gave: not in ``given`` (:func:`figures_given`), nor in a range given, nor
    worked out from given figures (:func:`_derivable`, arithmetic said), nor on the fact sheet
    at all (a fact's figure is :func:`untold_use`'s); not hedged or assumed (:data:`_ASSUMED`),
    not a target, a plan or a proposal, and with a unit worth asking about
    (:data:`_ASKED_UNITS`). ``skip``: figures (keys) challenged already."""
    if _PLAN_STEP.search(sentence):
        return None
    known = [q for text in given for q in quantities(text)]
    bare = frozenset().union(*(_bare_numbers(text) for text in given)) if given else frozenset()
    sheet = [q for f in case.facts for q in quantities(f.answer)
             if not _limit(f.answer, q)]
    for clause in _CLAUSE.split(sentence):
        if _ARITHMETIC.search(clause) or derived(clause):
            continue
        for part in _JOINED.split(clause):
            if (not _STATES.search(part) or _ASSUMED.search(part) or _PROPOSES.search(part)
                    or _OWN_MOVE.search(part) or (TARGET.search(part) and not _NOW.search(part))):
                continue
            for q in _stated(part):
                if (q.unit not in _ASKED_UNITS or _figure_key(q) in skip
                        or _within_given(q, given) or _said_bare(q, bare)
                        or _derivable(q, known) or multiplied(q, given)
                        or _worked_out(q, part)
                        or any(same(q, f, 0.02) for f in sheet if f.unit == q.unit)
                        or any(multiplied(q, [f.answer]) for f in case.facts
                               if not _limit(f.answer, q))):
                    continue
                return _figure_key(q), _as_said(q, part)
    return None


#: Certainty: "definitely", "100% sure", "no doubt", "has to be", "no need to check".
_CERTAIN = re.compile(
    r"\b(?:definitely|certainly|undoubtedly|unquestionably|without (?:a|any) doubt|no doubt|"
    r"beyond (?:a |any )?doubt|(?:100|a hundred|one hundred)\s*(?:%|percent|per cent)(?:\s|$)|"
    r"(?:i'?m|i am|we'?re|we are) (?:completely |totally |absolutely |quite |very )?(?:sure|"
    r"certain|positive|convinced)|for sure|guaranteed|obviously|has to be|must be (?:the|it|"
    r"that|them|our|their)|can only be|(?:is|it'?s|that'?s) clearly|full stop|end of story|"
    r"trust me|no need to (?:\w+ )?(?:check|verify|test|confirm|measure|look|investigate|dig|"
    r"validate|prove)|(?:nothing|no point|no reason) (?:to|in) (?:check|verify|test|confirm|"
    r"investigat|look|measur)\w*)(?!\w)", re.IGNORECASE)
#: What softens a certainty just before it: "could definitely be part of it", "not certain".
_HEDGED = re.compile(r"\b(?:could|might|may|not|n't|if|whether|almost|nearly|fairly|less)\W+"
                     r"(?:\w+\W+)?$", re.IGNORECASE)
#: What the claim rests on: a reason or an observation.
_EVIDENCE = re.compile(
    r"\b(?:because|since|given (?:that|the|how)|(?:shows?|showed|shown|showing)|"
    r"(?:we|i|they) (?:saw|see|measured|observed|profiled|benchmarked|traced|tested|checked)|"
    r"according to|evidence|measured|profil\w+|benchmark\w*|in the (?:logs?|traces?|data|"
    r"metrics|dashboards?)|\d+(?:\.\d+)?\s*%\s*of)\b", re.IGNORECASE)
#: "is definitely the CUDA kernels": what the candidate is sure of, to ask about its absence;
#: it ends at a verb ("the CUDA kernels are too old" is sure of the CUDA kernels).
_SURE_OF = re.compile(
    r"\b(?:is|are|was|were|it'?s|that'?s)\s+(?:definitely|certainly|clearly|obviously|"
    r"undoubtedly|without (?:a|any) doubt)\s+(?P<what>(?:the|a|an|our|their|its|this|"
    # (not "that" joining a clause: "is obviously that the model is too big" is sure of the
    # whole clause, asked as "if that were wrong"; trial 17 heard "if it were not that the
    # model?")
    r"that(?!\s+(?:the|a|an|our|their|its|this|these|those|we|they|it|i|you|he|she)\b))\s+"
    r"[^,.;:!?()—–]{2,40}?)(?:\s*(?:[,.;:!?()—–]|$)|\s+(?=(?:is|are|was|were|has|have|had|"
    r"will|would|can|could|do|does|did|need|needs|got|gets|keeps?|causes?|makes?)\b))",
    re.IGNORECASE)
#: A sentence that is only an assurance ("I'm 100% sure, no need to check"): what it is sure
#: of is the sentence before it.
ASSURANCE_WORDS = 8
_ASSURES = re.compile(
    r"^\W*(?:(?:i'?m|i am|we'?re|we are|i'?d be|it'?s|that'?s)\b|trust me|no need|100|"
    r"a hundred|absolutely|for sure|definitely|certainly|no doubt|full stop)", re.IGNORECASE)


#: Where a clause ends, for :func:`certainty`.
_SURE_CLAUSE_CUT = re.compile(r"[,;:—–]\s*")


def certainty(step: str, answers: Sequence[str], done: Sequence[str]) -> Reaction | None:
    """A challenge to a claim stated as certain with nothing behind it (:data:`_CERTAIN`: "The
    root cause is definitely the CUDA kernels. I'm 100% sure, no need to check"), in the
    candidate's words: what would look different if it were not so. Not for a certainty
    softened ("could definitely be part of it"), a plan or a proposal (the candidate's own
    move), or a claim with a reason or an observation in it or in the sentence after it
    (:data:`_EVIDENCE`). Once per step; ``done``: every reaction so far."""
    lines = script()["react"]
    for a in answers:
        sents = read_answer(a)
        for i, s in enumerate(sents):
            m = next((m for m in _CERTAIN.finditer(s.text)
                      if not _HEDGED.search(s.text[:m.start()])), None)
            if m is None:
                continue
            # The clause the certainty is in: a plan said with assurance ("And obviously watch
            # timeouts") is the candidate's move; a refusal to check after the claim ("..., so
            # we skip measuring") is part of the certainty, not a plan.
            cuts = [c.end() for c in _SURE_CLAUSE_CUT.finditer(s.text)]
            clause = s.text[max((c for c in cuts if c <= m.start()), default=0):
                            min((c for c in cuts if c > m.end()), default=len(s.text))]
            plain = re.sub(r"^\W*(?:and|so|but|then)\b\W*", "", _CERTAIN.sub(" ", clause).strip(),
                           flags=re.IGNORECASE)
            if _PROPOSES.search(plain) or _OWN_MOVE.search(plain):
                continue
            claim = s
            if (i > 0 and len(s.text.split()) <= ASSURANCE_WORDS and _ASSURES.match(s.text)
                    and not _SURE_OF.search(s.text)):
                claim = sents[i - 1]
            after = sents[i + 1].text if i + 1 < len(sents) else ""
            if (not claim.claim or claim.text.rstrip().endswith("?")
                    or (claim is not s and (_PROPOSES.search(claim.text)
                                            or _OWN_MOVE.search(claim.text)))
                    or any(_EVIDENCE.search(t) for t in {claim.text, s.text, after})
                    or f"certain:{claim.text}" in done):
                continue
            sure = _SURE_OF.search(claim.text)
            text = (str(lines["certain_of"]).format(quote=quote(claim.text),
                                                    what=sure.group("what").strip())
                    if sure else str(lines["certain"]).format(quote=quote(claim.text)))
            return Reaction("challenge", text, f"certain:{claim.text}")
    return None


_SPECIFIC = re.compile(r"\d|\b(?:because|since|so that|which means|by|via|instead of|rather "
                       r"than|unless|if)\b", re.IGNORECASE)
#: A sentence restates what the interviewer told when at least this share of its key words
#: are in what it told of the case (the prompt and the facts clarify revealed) and it neither
#: adds a figure of its own nor proposes anything: quoting it back as the candidate's claim
#: would ask them to defend the interviewer's own facts.
RESTATED_SHARE = 0.7
#: A sentence with fewer key words than this is too short to tell.
RESTATED_WORDS = 4


#: The candidate's own move, whatever its words: a step of a plan ("Weeks 1-2: ...", "Over three
#: to six months: ..."), a target
#: ("from 30% back to 40% within three quarters", "down by half"), a decision ("Deferred: ...")
#: or an instruction ("Compare ...", "Give the new button to ...").
_OWN_MOVE = re.compile(
    r"^\W*(?:weeks?|months?|days?|quarters?|phase|step|now|next|later|then|first|second|third|"
    r"short[- ]term|long[- ]term|medium[- ]term|deferred|headline|goal|target)\b[^:;]{0,25}:|"
    + _HORIZON_HEADING
    + r"|\bfrom\b[^,;.]{1,30}\bto\b|\b(?:down|up|cut|reduced?|drop\w*|rais\w*|increas\w*) by\b"
    r"|\bwithin (?:a|one|two|three|four|six|\d+) (?:days?|weeks?|months?|quarters?|years?)\b"
    r"|\b(?:defer\w*|deprioriti\w*|park\w*|skip\w*|instead)\b"
    r"|^\W*(?:" + _IMPERATIVE + r")\b", re.IGNORECASE)


def restates(sentence: str, told: Sequence[str]) -> bool:
    """Whether ``sentence`` (the candidate's) restates ``told``, what the interviewer told of
    the case (:data:`RESTATED_SHARE`): "Their traffic jumps four to five times in a couple of
    minutes, but a new replica takes six to seven minutes to be ready" after being told both
    in clarify. A plan, a target, a decision or a proposal in the case's words
    (:data:`_OWN_MOVE`) is the candidate's own."""
    said = key_words(sentence)
    if (not told or len(said) < RESTATED_WORDS or _PROPOSES.search(sentence)
            or _OWN_MOVE.search(sentence)):
        return False
    known = [q for t in told for q in quantities(t)]
    if any(not any(same(q, k) for k in known) for q in quantities(sentence)):
        return False  # a figure of its own: a claim, not a restatement
    heard = set().union(*(key_words(t) for t in told))
    return len(said & heard) / len(said) >= RESTATED_SHARE


_SPOKEN_WORD = re.compile(r"[a-z0-9%$']+")


@lru_cache(maxsize=4096)
def _spoken(text: str) -> str:
    """``text`` as its words alone (normalised, punctuation dropped), for comparing lines: each
    of the interviewer's lines is compared again on every turn, and read once."""
    return " ".join(_SPOKEN_WORD.findall(normalise(text)))


def repeats(text: str, said: Sequence[str]) -> bool:
    """Whether ``text`` was already said, word for word, inside one of the interviewer's lines
    ``said`` (a /hint's "Hint: ..." included)."""
    mine = _spoken(text)
    return bool(mine) and any(mine in _spoken(line) for line in said)


def deepen(step: str, answers: Sequence[str], done: Sequence[str], told: Sequence[str] = (),
           said: Sequence[str] = ()) -> Reaction | None:
    """A deepening question on the candidate's most specific claim (a figure or a reason
    beats a bare statement; longer beats shorter), once per step. A sentence restating what
    the interviewer told (:func:`restates`, ``told``) is not the candidate's claim, a question
    the interviewer already asked (``said``) is not asked again, even on another quote
    (:func:`_asking`), and nor is one the answers already answer (:func:`answers_it`: how they
    would check it, what it costs)."""
    if "deepen" in done:
        return None
    claims = [s for a in answers for s in read_answer(a) if s.claim and not s.negated
              and not s.text.rstrip().endswith("?") and len(s.text.split()) >= 5
              and not restates(s.text, told)]
    claims.sort(key=lambda s: (bool(_SPECIFIC.search(s.text)), len(s.text.split())),
                reverse=True)
    for best in claims:
        text = deepen_text(step, best.text, answers, told)
        if text is not None and not repeats(text, said) and not repeats(_asking(text), said):
            return Reaction("deepen", text, "deepen")
    return None


def _asking(text: str) -> str:
    """What a follow-up asks, without the candidate's words it quotes ("You said “…”. What
    does that choice cost you?" -> "What does that choice cost you?"): the same question on
    another quote, asked again in a later step, reads as a script (a new-user trial heard "What
    result would you need to see to go further, and what would make you stop?" in goals and
    again in validate)."""
    return text.rpartition("”")[2].lstrip(" .") or text


def deepen_text(step: str, sentence: str, answers: Sequence[str] = (),
                told: Sequence[str] = ()) -> str | None:
    """The step's deepening question on ``sentence``, or None when it has none to ask.

    Asking for a number when the sentence already sets one (a target, an estimate or a
    deadline of the candidate's own, :func:`figure_readings`: "the slowest 1 in 100 under half
    a second", "all at once in two weeks") asks why that figure instead, quoting the words
    around it; a sentence whose figure is the size of a rollout ("a tenth of their traffic")
    is asked what result it needs instead; one with a figure that is neither is not asked for a
    number at all, nor is one whose figures the candidate did not choose or already ground: a
    figure the interviewer told (``told``: "under half a second" after the contract's 500 ms)
    or an estimate that says where it comes from or how it will be checked (:func:`grounded`:
    "I'd guess ~1.5-2x, would check with a load test"). A hedged explanation with no target
    in it ("the gap is probably in what we measure") is asked how it would be confirmed. A
    question that ``answers`` (the step's answers) already answer (:func:`answers_it`) is not
    asked: None; when they already say how
    they would check the claim, what result would prove them wrong is asked of that check
    instead (``check_given``), and when they already name what their choice costs, what would
    make that price too high (``cost_given``), or of a risk they name, what early sign would
    tell them it is coming true (``risk_given``); unless they say that too. A sentence with no
    complete clause to quote (:func:`clean_quote`) is not deepened: None."""
    kind = DEEPEN_BY_STEP.get(step, "mechanism")
    parts = sentence.strip().split()
    text = clean_quote(sentence)
    if kind == "number":
        known = [q for t in told for q in quantities(t)]
        everything = figure_readings(parts)
        # a figure the interviewer told is not the candidate's to explain
        readings = [(b, a, r) for b, a, r in everything if not _told_figure(parts, b, a, known)]
        if everything and not readings:
            return None
        sets = [(b, a) for b, a, reading in readings if reading == "set"]
        found = None if grounded(sentence) else next(iter(sets), None)
        if sets and found is None:
            return None  # an estimate grounded already: no "why that figure"
        if found is not None:
            kind = "number_given"
            begin, at = found
            start = _start(parts, begin, at)
            end = _clean_end(parts, start, QUOTE_WORDS, at + 1)
            text = None if end is None else _excerpt(parts, start, end)
        elif any(reading == "rollout" for _, _, reading in readings):
            kind = "outcome"
        elif readings:
            return None  # a figure already, neither a target nor a rollout: no number to ask
        elif _HYPOTHESIS.search(sentence) and not _AIMS.search(sentence):
            kind = "confirm"
    if kind == "mechanism" and _CATCH.search(sentence):
        # a risk or a catch named is no mechanism to walk through: ask for its early sign
        # ("The catch is that they may not accept waiting for the region" was asked how it
        # would work in practice, step by step, in a new-user trial)
        if _says(_SAYS_WATCH, answers):
            return None
        kind = "risk_given"
    if kind in _GIVEN and answers:
        says, further, given = _GIVEN[kind]
        said = _sayings(says, answers)
        if said:
            # What it asks is said already: deepen what was said, unless that is said too.
            if _says(further, answers):
                return None
            kind, text = given, _quotable(said)
            if given == "cost_given" and _RISK.search(next(
                    (s for s in said if clean_quote(s) is not None), "")):
                # the price named is a risk, not a cost paid: ask for its early sign
                if _says(_SAYS_WATCH, answers):
                    return None
                kind = "risk_given"
    template = str(script()["react"]["deepen"][kind])
    if text is None or answers_it(template.replace("{quote}", ""), answers):
        return None  # nothing to quote without cutting a phrase, or answered already
    if len([w for w in content_words(text) if w not in _LIGHT_WORDS]) < QUOTE_SUBJECT_WORDS:
        return None  # "I'd check the first one first…" names nothing to ask about
    return template.format(quote=text)


#: Words that carry no subject of their own in a quote: "I'd check the first one first…".
_LIGHT_WORDS = _wordset(
    "i'd we'd i'll we'll i'm we're let's check look see try start begin get make take put "
    "first second third last next one ones thing things stuff something anything everything "
    "way bit lot kind sort part")
#: A quote deepened names at least this many words of its own besides those.
QUOTE_SUBJECT_WORDS = 2


def _told_figure(parts: Sequence[str], begin: int, at: int, known: Sequence[Quantity]) -> bool:
    """Whether the figure at words ``begin``..``at`` of ``parts`` is one the interviewer told
    (``known``); read with the few words before it ("half a second" is read at "second")."""
    q = _quantity_at(parts, begin, at)
    return q is not None and any(same(q, k) for k in known)


def _quantity_at(parts: Sequence[str], begin: int, at: int) -> Quantity | None:
    """The figure at words ``begin``..``at`` of ``parts`` (:func:`figure_readings`) as a
    quantity: the one its words add to the few words before it ("half a second" is found at
    "second"), with the word after it when its unit follows ("40 ms"); None when it is no
    quantity ("zero", a bare small number; "per thousand documents", a rate's unit)."""
    lo = max(0, begin - 3)
    before = len(quantities(" ".join(parts[lo:begin])))
    for hi in (at + 1, at + 2):
        new = quantities(" ".join(parts[lo:hi]))[before:]
        if new and (new[-1].unit or hi == at + 2):
            return new[-1]
    return None


#: An estimate the candidate owns as one: "I'd guess", "my estimate", "ballpark", "~".
_ESTIMATE = re.compile(
    r"\b(?:i'?d (?:guess|say|estimate)|i (?:guess|estimate)|(?:my|a rough|rough|best) (?:guess|"
    r"estimate)|ballpark|order of magnitude)\b|~|≈", re.IGNORECASE)
#: How an estimate would be checked: "would check with a load test", "to be confirmed by a
#: benchmark", "I'd measure it first".
_CHECKED = re.compile(
    r"\b(?:would|will|i'?d|we'?d|to|then|and|but|first) (?:\w+ )?(?:check|confirm|verify|"
    r"validate|measure|test|benchmark)\w*\b|\b(?:load[- ]?test\w*|benchmark\w*)\b",
    re.IGNORECASE)
#: Where a figure comes from: "that's the number in their contract", "based on last month's
#: logs", "from the benchmark", "what we measured".
_SOURCED = re.compile(
    r"\b(?:based on|according to|(?:as )?per (?:the|their|our) (?:contract|sla)|(?:in|from) "
    r"(?:the|their|our) (?:contract|sla)|from (?:the|their|our|last \w+'s) (?:logs?|data|"
    r"dashboards?|metrics|traces|benchmarks?|load tests?|numbers)|(?:we|i|they) (?:measured|"
    r"benchmarked|saw|observed) (?:it|that|this)|the contract)\b", re.IGNORECASE)


#: A reason that holds a figure of its own: "three times more from each GPU, because today we
#: do only one third of what we need" works the figure out in the sentence (trial 10).
_REASONED = re.compile(r"\b(?:because|since|given(?: that)?|seeing as)\b[^.;?!]*?\d",
                       re.IGNORECASE)


def grounded(sentence: str) -> bool:
    """Whether ``sentence`` already says where its figure comes from (:data:`_SOURCED`), works
    it out from a figure it gives as its reason (:data:`_REASONED`), or gives it as an
    estimate together with how it would be checked (:data:`_ESTIMATE` and :data:`_CHECKED`):
    "Why that figure?" is answered."""
    return bool(_SOURCED.search(sentence) or _REASONED.search(words_to_numbers(sentence))
                or (_ESTIMATE.search(sentence) and _CHECKED.search(sentence)))


#: A price named as a risk rather than a cost paid: "we risk the customer reading it as a no",
#: "the risk is...", "they might walk".
_RISK = re.compile(r"\b(?:risk\w*|danger|might|may|could (?:lose|walk|churn|leave|miss|"
                   r"end up)|chance (?:that|of))\b", re.IGNORECASE)
#: A sentence that names a risk or a catch rather than something to build.
_CATCH = re.compile(r"\b(?:the catch|risk\w*|danger|downside|might not|may not|could (?:lose|"
                    r"walk|churn|leave|miss|fail|break))\b", re.IGNORECASE)
#: What watching for a risk says: an early sign, a signal to act on.
_SAYS_WATCH = re.compile(
    r"\b(?:watch(?:ing)? (?:for|out for)|early (?:signs?|warnings?|signals?)|leading "
    r"indicators?|(?:the|a) signal (?:is|would be)|tripwire|we'?d (?:see|notice) it (?:in|when|"
    r"if))\b", re.IGNORECASE)


#: A hedged explanation: what the candidate thinks is the case, not a target they set.
_HYPOTHESIS = re.compile(
    r"\b(?:probably|likely|presumably|i (?:think|suspect|guess|believe|bet)|my (?:guess|hunch|"
    r"bet)|i'd (?:guess|bet)|(?:could|might|may) be)\b", re.IGNORECASE)
#: What makes a sentence a target or a plan rather than an explanation.
_AIMS = re.compile(
    r"\b(?:target\w*|goals?|aim\w*|want\w*|should|must|need to|keep|get|bring|hit|reach|hold|"
    r"cut|reduce|improve|raise|lower)\b",
    re.IGNORECASE)


# -- what an answer already answers ---------------------------------------------------------------

#: A question asking how a claim would be checked: "How would you confirm that before acting
#: on it?", "How would you find out what is actually causing it?".
_ASKS_CHECK = re.compile(
    r"\b(?:confirm|verify|find out|check|how would you know|tell (?:whether|if)|rule \w+ out)\b",
    re.IGNORECASE)
#: A question asking what a choice costs: "What would you have to give up...?", "What does
#: that choice cost you?", "What's the catch...?".
_ASKS_COST = re.compile(
    r"\b(?:give up|giving up|cost you|costs you|the catch|trade-?offs?|sacrific\w*|lose)\b",
    re.IGNORECASE)

_CHECK_VERB = (r"(?:check(?:ing|s)?|confirm(?:ing|s)?|verif(?:y|ying|ies)|validat(?:e|ing|es)|"
               r"test(?:ing|s)?|compar(?:e|ing|es)|split(?:ting|s)?|break(?:ing)? (?:\w+ )?down|"
               r"bucket(?:ing)?|segment(?:ing)?|slic(?:e|ing)|graph(?:ing)?|plot(?:ting)?|"
               r"trac(?:e|ing)|profil(?:e|ing)|inspect(?:ing)?|correlat(?:e|ing)|look(?:ing)? at|"
               r"dig(?:ging)? into|pull(?:ing)?|benchmark(?:ing)?|reproduc(?:e|ing)|"
               r"replay(?:ing)?|diff(?:ing)?|instrument(?:ing)?|measur(?:e|ing))")
#: A sentence saying how the candidate would check something: "I'd check number two first:
#: split the failure logs by...", "I would check first the load timeline", "to confirm it,
#: ...", "Compare the error rates...", "by splitting the logs", "the way to tell is...".
_SAYS_CHECK = re.compile(
    r"\b(?:i|we)(?:'d|'ll| would| will| can| could| should| need to| want to| am going to|"
    r"'m going to| are going to|'re going to)?(?: (?:first|then|also|just|probably|quickly|"
    r"start by|begin by|go and))* (?:" + _CHECK_VERB + r"|time)\b"
    r"|\b(?:to|then|first|and|by) " + _CHECK_VERB + r"\b"
    r"|^\W*(?:(?:first|then|next|step \w+)\W+)?" + _CHECK_VERB + r"\b"
    r"|\b(?:the|one|a|an easy|a quick) (?:way|test) (?:to|i'd|we'd|i would|we would) "
    r"(?:tell|know|confirm|check|verify|find out)\b"
    r"|\b(?:would|will|should) (?:tell|show) (?:us|me)\b", re.IGNORECASE)
#: What makes a check a refusal to check: "no need to check", "without testing".
_NO_CHECK = re.compile(r"(?:\b(?:no need|needn't|don't need|do not need|no point|not|never|"
                       r"without|nothing|nor|no|won't|wouldn't)\W+(?:\w+\W+){0,2}|^\W*nor\b.*)$",
                       re.IGNORECASE)
#: What makes a named cost a denial of one: "giving up nothing", "it costs us nothing".
_NO_COST = re.compile(r"^\W*(?:\w+\W+){0,2}?(?:nothing|none|zero)\b", re.IGNORECASE)
#: A cost with its limit: "I'd accept that for a few weeks, but not for a quarter", "as long
#: as it stays under 10%", "if it costs more than..., we revisit".
_SAYS_LIMIT = re.compile(
    r"\b(?:as long as|only (?:if|while|until)|until|cap(?:ped|s)?|at most|no more than|"
    r"under \d|not for (?:a|more|longer)|revisit|re-?evaluate|walk (?:it|that) back|"
    r"roll (?:it |that )?back|for (?:a|one|two|three|four|six|a few|a couple of|\d+) "
    r"(?:weeks?|months?|quarters?)|if (?:it|that|this|the \w+)\b[^.;]{0,50}\b(?:more than|"
    r"over|above|exceeds?|goes past|passes))\b", re.IGNORECASE)
#: A check with what its result would mean: "if they cluster on the shared pool, it's the
#: pool", "I'd expect...", "that would tell us...", "should show...".
_SAYS_EXPECT = re.compile(
    r"\b(?:i'?d|we'?d|i would|we would|i|we) expect\b|\bexpect(?:ing)? to see\b"
    r"|\b(?:should|would|will) (?:show|mean|tell|point|confirm|rule)\b"
    r"|\bthat (?:tells|means|points|confirms|rules)\b|\bif (?:so|not)\b"
    r"|\bif\b[^.;:]{3,80}?,?\s(?:then|it'?s|that'?s|the cause is|we know|i know)\b",
    re.IGNORECASE)
#: A sentence naming what a choice costs: "What we lose: maybe the big customer is angry",
#: "we give up...", "the cost is...", "at the expense of...", "the downside is...".
_NAMES_COST = re.compile(
    r"\bwhat (?:we|i|you|they)(?:'d| would| will|'ll)? (?:lose|give up|sacrifice|pay|risk)\b"
    r"|\b(?:we|i|you|they)(?:'d| would| will|'ll| have to| must)? (?:lose|give up|sacrifice|"
    r"risk|accept|eat|absorb|forgo|forego)\b"
    # the verb agrees ("the cost is"; not "the pain and the cost are", a cost already there)
    r"|\b(?:the|our|its|that|this|one|a|big|main|real) (?:cost|price|downside|catch|"
    r"trade-?off|sacrifice|risk) (?:is|would be|will be|here is|being|of (?:that|this|"
    r"doing))\b|\b(?:the|our|its|big|main|real) (?:costs|prices|downsides|trade-?offs|"
    r"sacrifices|risks) (?:are|would be|will be)\b"
    r"|\b(?:at the (?:expense|cost) of|in exchange for|costs? us|comes at|the price of|"
    r"downsides?|give up|giving up|trade-?offs?:|costs?:|what we lose)\b", re.IGNORECASE)


def _sayings(pattern: re.Pattern[str], answers: Sequence[str]) -> list[str]:
    """The sentences of ``answers`` that say ``pattern`` without refusing or denying it ("no
    need to check" says no check, "giving up nothing" names no cost)."""
    return [s.text for a in answers for s in read_answer(a)
            if any(not (_NO_CHECK.search(s.text[:m.start()]) or _NO_COST.match(s.text[m.end():]))
                   for m in pattern.finditer(s.text))]


#: A deepen whose question the answers already answer -> (what says so, what answers the
#: deepen of that in turn, the deepen of what was said): how they would check it is said, so
#: what result would prove them wrong (unless said too); what it costs is said, so when that
#: cost would be too high (unless a limit is said).
_GIVEN = {"confirm": (_SAYS_CHECK, _SAYS_EXPECT, "check_given"),
          "tradeoff": (_NAMES_COST, _SAYS_LIMIT, "cost_given")}


def _says(pattern: re.Pattern[str], answers: Sequence[str]) -> bool:
    return bool(_sayings(pattern, answers))


def _quotable(sentences: Sequence[str]) -> str | None:
    """The first clean quote (:func:`clean_quote`) of ``sentences``, or None."""
    return next((q for q in map(clean_quote, sentences) if q is not None), None)


#: A question asking what result goes on and what stops ("What result would you need to see
#: to go further, and what would make you stop?")...
_ASKS_OUTCOME = re.compile(r"\bwhat result would you need\b|\bwhat would make you stop\b",
                           re.IGNORECASE)
#: ...of answers that already set a pass mark ("Pass = p99 < 500 ms", "success means ...",
#: "expand only if ...")...
_SAYS_PASS = re.compile(
    r"\b(?:pass(?:es)?|passing|success|succeeds?|good enough)\s*(?:=|:|if\b|when\b|is\b|"
    r"means\b|criteri\w*)|\b(?:proceed|continue|expand|ramp (?:up|on)|go ahead|move on|widen)\s+"
    r"(?:only\s+)?(?:if|when|once)\b", re.IGNORECASE)
#: ...and a stop ("Revert in minutes if p99 regresses", "if errors rise, we roll back").
_SAYS_STOP = re.compile(
    r"\b(?:revert|roll\s*back|rollback|stop|abort|kill|pause|halt|back out|fail)\w*\b[^.;\n]{0,60}"
    r"\b(?:if|when|once|on)\b|\b(?:if|when)\b[^.;\n]{0,60}\b(?:revert|roll\s*back|stop|abort|kill|"
    r"pause|halt|back out)\w*\b|\bfail\s*(?:=|:)", re.IGNORECASE)


def answers_it(question: str, answers: Sequence[str]) -> bool:
    """Whether ``answers`` already answer what ``question`` asks: how a claim would be
    confirmed, of answers saying how they would check it (:data:`_SAYS_CHECK`); what a choice
    costs or gives up, of answers naming its cost (:data:`_NAMES_COST`); what comes first, of
    answers that already order their options (:func:`orders_options`); what result goes on and
    what stops, of answers setting both a pass mark and a stop (trial 12: asked right after
    "Pass = p99 < 500 ms" and "Revert in minutes if p99 regresses")."""
    if not answers:
        return False
    return bool((_ASKS_CHECK.search(question) and _says(_SAYS_CHECK, answers))
                or (_ASKS_COST.search(question) and _says(_NAMES_COST, answers))
                or (_ASKS_FIRST.search(question) and orders_options(answers))
                or (_ASKS_OUTCOME.search(question) and _says(_SAYS_PASS, answers)
                    and _says(_SAYS_STOP, answers)))


#: A heading in an answer: a few words then a colon, at the start of a line, a sentence or a
#: list item, with something after it ("Week 1: FP8, vLLM…", "Business: renewal signed").
_HEADING = re.compile(
    r"(?:^|\n|[.;!?]\s+|\(\s*)(?:[-*•]\s+|\d+[.)]\s+)?\W*([A-Za-z][\w'/&+ –-]{1,30}?)\s*:"
    r"(?=\s*\S+\s+\S)")
#: What a gap probe may ask for that an answer can hold under a heading of its own, in other
#: words than the probe's: (what the probe asks for, a heading that has it).
_THEMES = (
    # the near term: "What could you do this week?" of "Week 1: …", "Day one: …", "Now: …",
    # "In the first two weeks …"
    (re.compile(r"\b(?:this|next) week\b|\btoday\b|\btomorrow\b|\bright (?:now|away)\b|"
                r"\bimmediate(?:ly)?\b|\bfirst (?:week|days?)\b", re.IGNORECASE),
     re.compile(r"^(?:weeks?|days?|phase|sprint)\s*(?:0|1|one|zero)\b|^(?:now|today|"
                r"immediately|this (?:week|month)|short[- ]term|quick wins?|first "
                r"(?:\w+ )?(?:weeks?|days?))\b|^(?:0|zero)\s*(?:-|–|to)\s*\w+\s+(?:weeks?|days?)\b",
                re.IGNORECASE)),
    # the business: "How would you show the business this was worth it?" of "Business: …",
    # "Revenue: …"
    (re.compile(r"\bbusiness\b|\bworth it\b|\bmatters? to (?:us|our)\b", re.IGNORECASE),
     re.compile(r"^(?:(?:the |for the )?business|revenue|commercial(?:ly)?|money|renewal)\b",
                re.IGNORECASE)),
    # the system's health beyond its headline number: "Guardrails: …"
    (re.compile(r"\bhealthy\b|\bbeyond the headline\b", re.IGNORECASE),
     re.compile(r"^(?:guardrails?|health|counter[- ]?metrics?|must not (?:get )?worse|"
                r"don'?t break)\b", re.IGNORECASE)),
    # what to do if the change makes things worse: "Rollback: …"
    (re.compile(r"\bmakes? (?:something|things|it) worse\b|\bgoes wrong\b", re.IGNORECASE),
     re.compile(r"^(?:rollback|roll(?:ing)? back|fallback|plan b|kill switch|if it (?:fails|"
                r"goes wrong))\b", re.IGNORECASE)),
    # the catch of each option: "Catches: …", "Downsides: …", "Risks: …"
    (re.compile(r"\bthe catch\b|\bdownsides?\b", re.IGNORECASE),
     re.compile(r"^(?:catch(?:es)?|downsides?|risks?|trade-?offs?|costs?|cons)\b",
                re.IGNORECASE)),
    # the lasting fix: "…what would actually remove the cause?", "…never have this
    # conversation again…" of "Long term: …", "Root fix: …"
    (re.compile(r"\bremove the cause\b|\bnever have this\b|\blong[- ]term\b", re.IGNORECASE),
     re.compile(r"^(?:long[- ]term|root(?:-cause)? fix|permanent fix|for good|lasting fix|"
                r"in a year|next year|(?:in )?(?:(?:3|three|4|four)\s*(?:-|–|to)\s*)?"
                r"(?:6|six|9|nine|12|twelve) months|quarters? ?[2-4]|q[2-4]|phase (?:3|three)|"
                r"months? (?:3|three|6|six)\b)", re.IGNORECASE)),
    # the customer's side: "Customer side: …", "On their side: …"
    (re.compile(r"\bcustomer'?s side\b", re.IGNORECASE),
     re.compile(r"^(?:(?:on )?(?:the )?(?:customer|client|their)(?:'s)? side)\b",
                re.IGNORECASE)),
)
#: A sentence opened by a span of time, which heads what follows as a heading does ("In the
#: first two weeks I'd…").
_TIME_OPENER = re.compile(
    r"(?:^|\n|[.;!?]\s+)\W*(?:(?:in|during|over|within|for)\s+(?:the\s+)?((?:first|next|coming)\s+"
    r"(?:two |three |few |couple of |\d+ )?(?:weeks?|days?|months?)|this week|week (?:one|1))"
    # trial 17: "This week we switch ..." was asked "What could you do this week?"
    r"|(this week|today|right away|immediately)(?=\s+(?:we|i|they|you)\b))\b",
    re.IGNORECASE)
#: A question asking for an order over time, and a heading that is a time (two of them are a
#: sequence already): trial 9 was asked "How would you sequence this, from the first step
#: onward?" of "Week 1: … Month 1: … Quarter 2: …".
_ASKS_SEQUENCE = re.compile(r"\bsequence\b|\bfrom the first step\b|\bin what order\b",
                            re.IGNORECASE)
_TIME_HEAD = re.compile(
    r"^(?:weeks?|days?|months?|quarters?|q\d|phase|sprint|year|now|today|immediately|later|"
    r"then|after that|short|mid|medium|long|near|(?:this|next) (?:week|month|quarter|year)|"
    r"(?:in|within|over|first|next) (?:the )?(?:a |one |two |three |few |couple of |\d+ )?"
    r"(?:weeks?|months?|quarters?|years?|days?)|\d+\s*(?:-|–|to)\s*\d+\s*(?:weeks?|months?|wks?|"
    r"mos?))\b", re.IGNORECASE)
#: "Beyond X," in a question: X is what the answer has already, not what it asks for.
_BEYOND = re.compile(r"\b(?:beyond|besides|apart from|other than)\b[^,?]*", re.IGNORECASE)


def headings(answers: Sequence[str]) -> list[str]:
    """The headings of ``answers`` (:data:`_HEADING`: a few words with no verb, then a colon),
    and the spans of time that open a sentence (:data:`_TIME_OPENER`)."""
    out = []
    for a in answers:
        out += [m.group(1).strip() for m in _HEADING.finditer(a)
                if len(m.group(1).split()) <= 4 and not has_verb(m.group(1))]
        out += [(m.group(1) or m.group(2)).strip() for m in _TIME_OPENER.finditer(a)]
    return out


def under_heading(question: str, answers: Sequence[str]) -> bool:
    """Whether ``answers`` have what ``question`` asks for under a heading of their own, in
    other words than the question's (:data:`_THEMES`): "What could you do this week?" of
    "Week 1: FP8, vLLM…" or "In the first two weeks…", "How would you show the business this
    was worth it?" of "Business: renewal signed". What a question asks beyond ("Beyond the
    immediate relief, …") is not what it asks for."""
    heads = headings(answers)
    if not heads:
        return False
    if _ASKS_SEQUENCE.search(question) and sum(bool(_TIME_HEAD.search(h)) for h in heads) >= 2:
        return True  # "How would you sequence this?" of "Week 1: … Month 1: … Quarter 2: …"
    question = _BEYOND.sub(" ", question)
    themes = [h for q, h in _THEMES if q.search(question)]
    return any(h.search(head) for h in themes for head in heads)


#: What names a share of requests rather than sets a figure: "p99", "99th percentile", "the
#: slowest 1 in 100", "the slowest 1%" (numbers in words already read as digits).
_DESIGNATOR = re.compile(
    r"\b(?:1|one) in \d[\d,]*(?:\s*\(\d+(?:\.\d+)?%\))?"
    r"|\b\d+(?:\.\d+)?(?:st|nd|rd|th)\b(?:[- ]percentile)?"
    r"|\b\d+-(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)\b"
    r"|\bp\d+(?:\.\d+)?\b|\b(?:slowest|fastest|worst|best|top|bottom|tail)\s+\d+(?:\.\d+)?\s*%",
    re.IGNORECASE)
#: Words before a figure (in its clause) that make it a target or an estimate the candidate
#: sets: "under 500 ms", "from 98% to 99.9%", "cut it by half", "maybe 30%", "budget of $2k".
_SETS_BEFORE = re.compile(
    r"\b(?:under|below|above|over|less than|more than|fewer than|at least|at most|no more than|"
    r"within|up to|down to|down by|up by|from [^,;]{1,30} to|cut\w*|drop\w*|fall\w*|ris\w*|"
    r"reduc\w*|lower\w*|rais\w*|increas\w*|grow\w*|"
    r"improv\w*|bring\w*|get|keep\w*|hold\w*|stay\w*|hit\w*|reach\w*|target\w*|goals?|aim\w*|"
    r"budget\w*|caps?|capped|limit\w*|thresholds?|slo|about|around|roughly|approximately|maybe|"
    r"perhaps|probably|estimat\w*|expect\w*|guess\w*|ballpark|call it|tolerat\w*|accept\w*)\b"
    r"|[<>≤≥~≈]", re.IGNORECASE)
#: Words right after a figure that make it one: "30% lower", "5 ms or less", "50% off".
_SETS_AFTER = re.compile(
    r"^\W*(?:or (?:less|lower|fewer|more|better|higher|faster|under|below|above)|at (?:most|"
    r"least)|max\w*|min\w*|lower|higher|less|more|cheaper|faster|slower|better|fewer|down|up|"
    r"off|cut|drop|reduction|improvement|target|goal|budget|cap)\b", re.IGNORECASE)
#: The size of a rollout or a test, not a target: "10% of their traffic", "a quarter of the
#: fleet", "canary on 5%", "half the accounts for three weeks".
_ROLLOUT_AFTER = re.compile(
    r"^\W*(?:%\s*)?of\s+(?:the\s+|their\s+|our\s+|its\s+|all\s+|each\s+|every\s+|those\s+)?"
    r"(?:[\w-]+\s+){0,2}?(?:traffic|requests?|users?|customers?|accounts?|chats?|calls?|jobs?|"
    r"models?|fleet|tenants?|load|volume|pods?|replicas?|sessions?|queries|messages|"
    r"documents?|batch\w*|nights?|teams?|merchants?|nodes?|gpus?|capacity|cohorts?|shards?|"
    r"regions?)\b", re.IGNORECASE)
_ROLLOUT_BEFORE = re.compile(
    r"\b(?:canar\w*|pilot\w*|roll\w*|ramp\w*|slices?|rout\w*|send\w*|shift\w*|mov\w*|expos\w*|"
    r"split\w*|cohorts?|hold ?outs?|control|a/b|trial\w*)\b", re.IGNORECASE)
#: How long a test runs: "for two weeks", "for at least a week", "over the next month".
_DURATION_BEFORE = re.compile(
    r"\b(?:for|over|after)(?: at least| at most| about| roughly| around| the next| the first| an?|"
    r" the)*$", re.IGNORECASE)
#: When something is to be done: "in two weeks", "within a month", "by week 3".
_DEADLINE_BEFORE = re.compile(r"\b(?:in|by|within|inside)(?: the next| the first| about| roughly|"
                              r" around| under| less than| just)*$", re.IGNORECASE)
#: A span of time after a figure (its own word or the next): "two weeks", "3 months".
_TIME_UNIT = re.compile(r"^(?:\S*\s)?\W*(?:days?|weeks?|months?|quarters?|years?|sprints?|"
                        r"hours?)\b", re.IGNORECASE)
#: Where a clause ends: a figure's context does not reach past it.
_CLAUSE_END = re.compile(r"[,;:()]$|^[—–-]$|[—–]$")


def _plain(text: str) -> str:
    """``text`` with numbers in words as digits and share designators taken out."""
    return _DESIGNATOR.sub(" ", words_to_numbers(text))


#: A figure once numbers in words are digits: "500", "+10", "$2.5".
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")


def _figures(parts: Sequence[str]) -> list[tuple[int, int]]:
    """Each figure of the sentence ``parts`` (share designators left out, numbers in words
    read): (index of the word it starts at, index of the word it ends at)."""
    final = _NUMBER.findall(_plain(" ".join(parts)))
    out: list[tuple[int, int]] = []
    begin = 0
    for k, figure in enumerate(final):
        found = None
        for i in range(begin, len(parts)):
            seen = _NUMBER.findall(_plain(" ".join(parts[:i + 1])))
            if len(seen) > k:
                if found is None:
                    found = i
                if seen[k] == figure:
                    while found > begin and _numberish(parts[found - 1]):
                        found -= 1  # "three weeks" may be read only at "weeks"
                    out.append((found, i))
                    begin = i + 1
                    break
        else:
            break
    return out


def _clause_bounds(parts: Sequence[str], begin: int, at: int) -> tuple[int, int]:
    """The first and last word index of the clause holding words ``begin``..``at``."""
    lo = begin
    while lo > 0 and not _CLAUSE_END.search(parts[lo - 1]):
        lo -= 1
    hi = at
    while hi < len(parts) - 1 and not _CLAUSE_END.search(parts[hi]):
        hi += 1
    return lo, hi


def _context(parts: Sequence[str], begin: int, at: int) -> tuple[str, str]:
    """The words just before a figure and just after it, within its clause."""
    lo, hi = _clause_bounds(parts, begin, at)
    before = " ".join(parts[max(lo, begin - 6):begin])
    after = " ".join(parts[at + 1:min(hi + 1, at + 6)])
    if _CLAUSE_END.search(parts[at]):
        after = ""
    elif _bare(parts[at]) == "of":  # "a tenth of": the figure is read only with its "of"
        after = "of " + after
    return words_to_numbers(before), _UNIT.sub("", after, count=1)


#: A unit after a figure, left out when reading what follows it ("5 ms or less").
_UNIT = re.compile(
    r"^(?:%|percent|per cent|ms|s|secs?|seconds?|minutes?|mins?|hours?|days?|weeks?|months?|x|"
    r"times|points?|pp|k|m|million|billion|thousand|dollars?|gpus?|nodes?|tokens?|requests?)"
    r"(?!\w)\s*", re.IGNORECASE)


def _reading(parts: Sequence[str], begin: int, at: int) -> str:
    """What a figure is: "set" (a target or an estimate), "rollout" (the size of a rollout or
    a test) or "" (neither, as far as its words tell). The words nearest it decide first."""
    before, after = _context(parts, begin, at)
    near = " ".join(before.split()[-3:])
    if re.match(r"^[+−-]\d", parts[begin]):
        return "set"  # "+10 points", "-20%": a change the candidate names
    if _ROLLOUT_AFTER.match(after) or _DURATION_BEFORE.search(before):
        return "rollout"
    if _DEADLINE_BEFORE.search(before) and _TIME_UNIT.match(" ".join(parts[at:at + 2])):
        return "set"  # "all at once in two weeks", "by month 3": a deadline the candidate set
    if _SETS_BEFORE.search(near) or _SETS_AFTER.match(after):
        return "set"
    if _ROLLOUT_BEFORE.search(before):
        return "rollout"
    return "set" if _SETS_BEFORE.search(before) else ""


def figure_readings(parts: Sequence[str]) -> list[tuple[int, int, str]]:
    """Each figure of the sentence ``parts`` (first and last word index) with what it is
    (:func:`_reading`): "set", a target or an estimate the candidate set ("under 500 ms", "maybe
    30% lower"); "rollout", the size of a rollout or a test ("10% of their traffic", "for two
    weeks"); or "" (a share named, "the slowest 1 in 100" and "p99", is no figure at all)."""
    return [(b, a, _reading(parts, b, a)) for b, a in _figures(parts)]


#: Words a quote may start on mid-sentence: they open a phrase.
_OPENERS = _wordset(
    "the a an their our its this that these those we i i'd we'd they it if when because so "
    "then with for at by on in from under below over each every all and but or to keep cut "
    "get bring hold")


def _start(parts: Sequence[str], begin: int, at: int) -> int:
    """Where a quote reaching the figure at words ``begin``..``at`` starts: the sentence's
    start when the figure is near it, else the earliest clause start or phrase-opening word
    that leaves room for the figure."""
    if at < QUOTE_WORDS:
        return 0
    earliest = max(1, at - QUOTE_WORDS + 3)
    def skip_and(i: int) -> int:
        return i + 1 if _bare(parts[i]) in ("and", "but", "or", "so") and i < begin else i

    for i in range(earliest, begin + 1):
        if _CLAUSE_END.search(parts[i - 1]):
            return skip_and(i)
    for i in range(earliest, begin + 1):
        if (_bare(parts[i]) in _OPENERS and _bare(parts[i - 1]) not in ("of", "than", "per")
                and not _numberish(parts[i - 1])):
            return skip_and(i)
    return earliest


def told_before(state: InterviewState, step: str, case: Case) -> Told:
    """What the candidate had been told (and had said) before ``step``: the facts clarify
    revealed, the case's title and prompt, every line of the earlier steps and what the
    interviewer said in this one before its follow-ups (:func:`_said_in_step`)."""
    earlier = set(STEPS[:STEPS.index(step)]) if step in STEPS else set()
    heard = tuple(t["text"] for t in state.get("turns", []) if t["step"] in earlier)
    return Told(facts=frozenset(state.get("facts_told", [])),
                heard=(*case.shown, *heard, *_said_in_step(state, step)))


def said_to_candidate(state: InterviewState, step: str, case: Case) -> Told:
    """What the candidate was told before their answer in ``step``: the facts clarify revealed,
    the prompt, every interviewer line of the earlier steps and what it said in this one
    (:func:`_said_in_step`), the case's title, and the candidate's own clarify turns (their
    questions and stated assumptions). Their later answers are not in it: a fact never told
    stays untold however often the candidate repeats it."""
    earlier = set(STEPS[:STEPS.index(step)]) if step in STEPS else set()
    heard = tuple(t["text"] for t in state.get("turns", []) if t["step"] in earlier
                  and (t["role"] == "interviewer" or t["step"] == "clarify"))
    return Told(facts=frozenset(state.get("facts_told", [])),
                heard=(*case.shown, *heard, *_said_in_step(state, step)))


def _said_in_step(state: InterviewState, step: str) -> tuple[str, ...]:
    """What the interviewer said in ``step`` itself, its follow-ups left out (they quote the
    candidate): the step's opening question, a /hint, and in a drill of a later step the
    scenario and the fact sheet clarifying would have given (agent/practice/drill.py
    ``briefing``), which is said in the drilled step, not in a clarify step before it."""
    return tuple(t["text"] for t in state.get("turns", []) if t["step"] == step
                 and t["role"] == "interviewer" and t["kind"] != "followup")


def all_reactions(state: InterviewState, step: str, done: Sequence[str]) -> list[str]:
    """What the interview has reacted to so far: every step's ``probed`` and this step's."""
    out = [a for s, abouts in state.get("probed", {}).items() if s != step for a in abouts]
    return [*out, *done]


def interviewer_told(state: InterviewState, case: Case) -> list[str]:
    """What the interviewer has told the candidate of the case: the title and prompt, its clarify
    answers and the facts they revealed, and its notices (a drill's fact sheet is one); not its
    questions, nor follow-ups quoting the candidate."""
    told = set(state.get("facts_told", []))
    return [*case.shown, *(t["text"] for t in state.get("turns", [])
                           if t["role"] == "interviewer" and t["kind"] in ("fact", "notice")),
            *(f.answer for f in case.facts if f.id in told)]


def interviewer_lines(state: InterviewState) -> list[str]:
    """Every line the interviewer has said in the interview (a /hint included)."""
    return [t["text"] for t in state.get("turns", []) if t["role"] == "interviewer"]


#: A probe that asks which option comes first ("If you had to pick one thing to do first...",
#: "where would you look first").
_ASKS_FIRST = re.compile(r"\bfirst\b", re.IGNORECASE)
#: An answer that already orders its options: ordinal markers, or a stated first move.
_ORDINAL = re.compile(
    r"(?:^|[\n.;:!?]\s*|\(\s*)(?:first(?:ly)?|second(?:ly)?|third(?:ly)?|then|next|after that|"
    r"finally|last(?:ly)?|\d[.)])\b[\s,:]", re.IGNORECASE)
_FIRST_MOVE = re.compile(
    r"\b(?:the first thing (?:i|we)(?:'d| would| will|'ll)?|(?:i|we)(?:'d| would| will|'ll)"
    r" (?:start|begin|lead) (?:with|by)|(?:start|begin) with|first (?:i|we)(?:'d| would| will|"
    r"'ll)|(?:comes?|goes|go) first|before (?:anything|everything|we|i|that|doing|building|"
    r"touching)|top priority|number one|priority one|p0\b|in (?:this|that) order|in order)",
    re.IGNORECASE)


def orders_options(answers: Sequence[str]) -> bool:
    """Whether the answers already rank or order their options: "First, ... Second, ...",
    "1) ... 2) ...", "the first thing I'd do is ...", "before anything else ..."."""
    text = "\n".join(answers)
    return len(_ORDINAL.findall(text)) >= 2 or bool(_FIRST_MOVE.search(text))


def answered_already(rubric: Rubric, answers: Sequence[str], said: Sequence[str]) -> list[str]:
    """Criteria whose probe is not to be asked: its authored question was already said in the
    interview (as a follow-up or a /hint), or the answers already answer it
    (:func:`answers_it`: what comes first of answers that order their options, how to check of
    answers saying how they would check, what it costs of answers naming the cost), or have
    what it asks for under a heading of their own (:func:`under_heading`: "What could you do
    this week?" of "Week 1: …")."""
    return [c.id for c in rubric.criteria
            if repeats(c.probe, said) or answers_it(c.probe, answers)
            or under_heading(c.probe, answers)]


def respond(interviewer: Interviewer, case: Case, rubric: Rubric, step: str,
            state: InterviewState, answers: Sequence[str], done: Sequence[str],
            speak: Speaker) -> Reaction | None:
    """Choose and say the reaction to the step's answers so far (module docstring); None to
    move on. ``done``: what this step has already reacted to (``Reaction.about`` values).
    Nothing the interviewer already said in the interview is asked again word for word
    (:func:`repeats`), a gap probe asking what comes first is not put to answers that already
    order their options, and a deepen never quotes what the interviewer told as the
    candidate's claim."""
    # The assessment is made every turn (with a model it is the model's reading of the answer,
    # and its choice); a challenge, decided by the fact sheet, still goes first.
    assessment = interviewer.assess(case, rubric, answers)
    said = interviewer_lines(state)
    told = interviewer_told(state, case)
    found = challenge(case, step, answers, told_before(state, step, case),
                      all_reactions(state, step, done), said_to_candidate(state, step, case),
                      figures_given(state, case))
    if found is not None and repeats(found.text, said):
        found = None
    if found is None and not any(a.startswith("certain:") for a in done):
        found = certainty(step, answers, all_reactions(state, step, done))
        if found is not None and repeats(found.text, said):
            found = None
    listed = listed_only(answers)
    if found is None and listed and LISTED not in done:
        # An answer that is only a list of terms ("Root causes: autoscaling lag, noisy
        # neighbours, cold starts, ...") meets criteria in part by its words alone: it is asked
        # which of what it lists matters and why, rather than let through (a new-user trial's
        # keyword salad was), and later about what it leaves unmet in full.
        text = str(script()["react"]["listed"])
        if not repeats(text, said):
            found = Reaction("gap", text, LISTED)
    if found is None:
        probed = [*done, *answered_already(rubric, answers, said)]
        target = assessment.target(rubric, probed, partial=listed)
        quoted = _verified(assessment.quote, answers)
        if quoted and restates(quoted, told):
            quoted = ""
        chosen = (deepen_text(step, quoted, answers, told)
                  if assessment.reaction == "deepen" and quoted and "deepen" not in done
                  else None)
        model_deepen = Reaction("deepen", chosen, "deepen") if chosen else None
        if model_deepen is not None and not repeats(model_deepen.text, said):
            # The model chose to deepen and quoted the candidate word for word.
            found = model_deepen
        elif assessment.reaction == "move_on" and target is None:
            return None
        elif target is not None:
            asked = interviewer.followup(case, rubric, target, _opening_question(state, step),
                                         answers, speak)
            if not repeats(asked, said):
                return Reaction("gap", asked, target.id)
            speak.restart()  # the model's wording repeats a line: withdrawn, not asked again
            found = deepen(step, answers, done, told, said)
        else:
            found = deepen(step, answers, done, told, said)
    if found is not None:
        speak(found.text)
    return found


#: ``Reaction.about`` of the question put to an answer that only lists terms.
LISTED = "listed"


def listed_only(answers: Sequence[str]) -> bool:
    """Whether the answers list terms and state nothing: every sentence of them is a string of
    terms, not a claim (agent.semantic.reading.Sentence.claim), and they name
    :data:`LISTED_TERMS` things or more (separated by commas, semicolons or list lines)."""
    sents = [s for a in answers for s in read_answer(a)]
    terms = sum(len(_TERM_BREAK.split(s.text.strip(" .;,"))) for s in sents)
    return bool(sents) and not any(s.claim for s in sents) and terms >= LISTED_TERMS


#: Where one listed term ends and the next begins.
_TERM_BREAK = re.compile(r"\s*[,;]\s*|\s*\n\s*")
#: An answer lists terms when it names at least this many.
LISTED_TERMS = 3


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


# -- the candidate's assumptions, at the end of clarify ---------------------------------------

#: A figure the candidate aims for rather than assumes: "keep it at 150 ms", "target 99.9%".
_AIMED = re.compile(
    r"\b(?:target\w*|goals?|aim\w*|want\w*|keep|bring|hit|reach|cut|reduc\w*|under|below|"
    r"at most|at least|no more than|improv\w*|should|must|need to|problem|north star|"
    r"success)\b", re.IGNORECASE)
#: How close in words an assumption's clause must be to a fact to be about the same thing:
#: key words shared, and meaning (embedding similarity).
ASSUMED_WORDS = 2
ASSUMED_SIMILARITY = 0.4
#: A figure within this share of a fact's figure of the same kind agrees with it.
ASSUMED_TOLERANCE = 0.3


@dataclass(frozen=True)
class AssumptionsReply:
    """What the interviewer says to the candidate's assumptions as clarify ends."""

    text: str
    facts: tuple[str, ...] = ()
    """facts told by a correction"""
    about: tuple[str, ...] = ()
    """what it reacted to (``Reaction.about`` values: "corrected:<fact id>:<sentence>",
    "assumed:<clue id>:<sentence>", or a figure challenged, "invented:<figure>:<sentence>",
    once per figure in the interview)"""


def contradicted_fact(case: Case, given: Sequence[str], sentence: str
                      ) -> tuple[str, str, frozenset[str]] | None:
    """(fact id, clause, the figures' keys) when an assumption in ``sentence`` puts a figure on
    something the fact sheet puts another on ("90% of checkpoints already deploy with us" where the
    sheet says about 35%): a clause that shares :data:`ASSUMED_WORDS` of the fact's key words and
    means something close to it (:data:`ASSUMED_SIMILARITY`), with a figure of the same kind as the
    fact's that is further than :data:`ASSUMED_TOLERANCE` from all of them, and that is no figure
    given (by the interviewer) or on the sheet elsewhere; a sentence that also says one of the
    fact's numbers agrees with it in part. A target or an aim (:data:`_AIMED`) is the candidate's
    own."""
    known = [q for text in given for q in quantities(text)]
    sheet = [q for f in case.facts for q in quantities(f.answer)]
    for clause in _CLAUSE.split(sentence):
        if _ARITHMETIC.search(clause) or _AIMED.search(clause) or _OWN_MOVE.search(clause):
            continue
        figures = [q for q in quantities(clause) if q.unit
                   and not any(same(q, k, 0.1) for k in known)
                   and not any(same(q, s, 0.02) for s in sheet)]
        if not figures:
            continue
        said = key_words(clause)
        best: tuple[float, str, frozenset[str]] | None = None
        for f in case.facts:
            theirs = [q for q in quantities(f.answer) if q.unit]
            mine = [q for q in figures if any(t.unit == q.unit for t in theirs)]
            if not mine or len(said & (key_words(f.answer) - _EVERYDAY)) < ASSUMED_WORDS:
                continue
            if any(same(q, t, ASSUMED_TOLERANCE) for q in mine for t in theirs) \
                    or raw_numbers(sentence) & raw_numbers(f.answer):
                continue  # a figure of the fact's is said too ("pay for 24 hours, use seven")
            sim = similarity(clause, f.answer)
            if sim >= ASSUMED_SIMILARITY and (best is None or sim > best[0]):
                best = (sim, f.id, frozenset(map(_figure_key, mine)))
        if best is not None:
            return best[1], clause.strip(), best[2]
    return None


#: What denies or restricts, in a fact or a candidate's clause: "Multi-node serving only exists
#: for training today", "Per-request latency doesn't matter", "nobody outside can query it".
_DENIES = re.compile(
    r"\b(?:not|no|nobody|no one|never|none|only|cannot|can'?t|doesn'?t|don'?t|isn'?t|aren'?t|"
    r"won'?t|without|lacks?|lacking|nothing|neither|nor|yet to|irrelevant|unimportant)\b|n't\b",
    re.IGNORECASE)
#: A clause that claims how things are ("is already production-grade", "matters a lot")...
_CLAIMS_STATE = re.compile(
    r"\b(?:already|is|are|works?|supports?|handles?|ready|production|in place|exists?|has|"
    r"have|can|fits?|runs?|matters?)\b", re.IGNORECASE)
#: ...rather than a plan, a condition or a possibility ("we will build multi-node serving").
_NOT_A_STATE = re.compile(
    r"\b(?:will|would|should|could|might|may|plan\w*|need to|needs to|add|build|want|if|whether|"
    r"once|until|after|before)\b|'ll\b|'d\b", re.IGNORECASE)
#: "We can reserve capacity on our side": a lever the candidate assumes is open to us, not a
#: claim of how things are (trial 12: corrected with "no dedicated or reserved capacity"),
#: unless the clause says it is so now ("we can already split one model across nodes").
_POSSIBLE = re.compile(r"\bcan\b(?![^.;]*\b(?:already|today|currently|right now)\b)",
                       re.IGNORECASE)
#: The words that say a clause is assumed: "I will assume (that) ...", "Presumably ...".
_ASSUME_LEAD = re.compile(
    r"^\W*(?:(?:and\s+)?(?:i|we)(?:'ll|'d|’ll|’d| will| would| shall| can)?\s+(?:just\s+|also\s+)?"
    r"assum\w*|let(?:'s|’s| us) assume|assuming|presumably|my assumption is)(?:\s+that)?[\s,]+",
    re.IGNORECASE)
#: How close an assumption's clause must be to a fact's denying clause (embedding similarity,
#: with :data:`ASSUMED_WORDS` key words shared) to be about the same thing. On the dev
#: interviews' assumptions (384 sentences) it finds one, a true one ("the real issue is
#: per-request latency" where latency doesn't matter); trial 10's "multi-node serving is
#: already production-grade" is 0.474 close to "Multi-node serving only exists for training".
DENIED_SIMILARITY = 0.45


def denied_fact(case: Case, sentence: str) -> tuple[str, str] | None:
    """(fact id, clause) when an assumption in ``sentence`` affirms, with no figure, what a
    fact's clause denies or restricts (:data:`_DENIES`): "I assume multi-node serving is
    already production-grade on our stack" where the sheet says "Multi-node serving only
    exists for training today" (trial 10: accepted with "Thanks, let's work with those
    assumptions"). The clause claims how things are (:data:`_CLAIMS_STATE`), is no plan,
    condition or aim, denies nothing itself and shares :data:`ASSUMED_WORDS` key words with
    the fact's clause, at :data:`DENIED_SIMILARITY` or closer. Figures are
    :func:`contradicted_fact`'s."""
    best: tuple[float, str, str] | None = None
    for clause in _CLAUSE.split(sentence):
        clause = _ASSUME_LEAD.sub("", clause)  # "I will assume ..." plans nothing
        if (not clause.strip() or _DENIES.search(clause) or _NOT_A_STATE.search(clause)
                or _POSSIBLE.search(clause)
                or not _CLAIMS_STATE.search(clause) or _AIMED.search(clause)
                or quantities(clause)):
            continue
        said = key_words(clause)
        for f in case.facts:
            if any(q.unit for q in quantities(f.answer)):
                continue
            for theirs in (c for x in read_answer(f.answer) for c in _CLAUSE.split(x.text)):
                if not _DENIES.search(theirs) or len(said & key_words(theirs)) < ASSUMED_WORDS:
                    continue
                sim = similarity(clause, theirs)
                if sim >= DENIED_SIMILARITY and (best is None or sim > best[0]):
                    best = (sim, f.id, clause.strip())
    return None if best is None else (best[1], best[2])


def _premise_fact(case: Case, sentence: str) -> str | None:
    """The id of the fact that settles a premise ``sentence`` gets wrong
    (agent/semantic/premises.py: the traffic mode, the stage, the GPUs the replicas run on, the
    model's size...), or None. Trial 17's "I'll assume they run on 200 A100s" on a case whose
    replicas run on H100s was accepted with "Thanks, let's work with those assumptions"."""
    from agent.semantic.premises import premises

    return next((p.fact_id for p in premises(case, sentence)), None)


def assumptions_reply(case: Case, state: InterviewState, text: str,
                      said: Sequence[str] = ()) -> AssumptionsReply | None:
    """What to say to the assumptions ``text`` the candidate states as clarify ends, instead
    of accepting them ("Thanks, let's work with those assumptions."); None to accept them.
    ``said``: what the interviewer says in reply to the same message (its facts are given).

    - An assumption that contradicts the fact sheet (:func:`contradicted_fact` by a figure,
      :func:`denied_fact` in words) is corrected
      with the fact as the sheet gives it, as a clarifying question about it would have been
      answered: the candidate is not left to build the interview on a wrong premise. A clue is
      never told this way (it is told only to a question that asks for it): the assumption is
      questioned instead, without the fact.
    - A figure stated as how things are that nobody gave (:func:`invented`, unhedged) is
      challenged ("Where does the 40 ms come from?"), once per figure in the interview: the
      challenge is recorded as a reaction of clarify, so a later step does not ask again."""
    given = [*figures_given(state, case), *said]
    lines = script()["react"]
    parts: list[str] = []
    facts: list[str] = []
    about: list[str] = []
    done = set(invented_figures(all_reactions(state, "clarify", [])))
    corrected = False
    for s in read_answer(text):
        if not corrected:
            wrong = contradicted_fact(case, given, s.text)
            if wrong is None and (words := denied_fact(case, s.text)) is not None:
                wrong = (*words, frozenset())
            if wrong is None and (settled := _premise_fact(case, s.text)) is not None:
                wrong = (settled, s.text, frozenset())
            if wrong is not None:
                corrected = True
                done |= wrong[2]  # corrected, not challenged as nobody's as well
                fact = case.fact(wrong[0])
                if fact.clue:
                    parts.append(str(lines["assumed_doubt"]).format(quote=quote(wrong[1])))
                    about.append(f"assumed:{fact.id}:{s.text}")
                else:
                    parts.append(str(lines["assumed_correction"]).format(
                        answer=fact.answer.strip()))
                    facts.append(fact.id)
                    about.append(f"corrected:{fact.id}:{s.text}")
        if not any(a.startswith("invented:") for a in about):
            made = invented(case, given, s.text, done)
            if made is not None:
                line = str(lines["assumed_invented"]).format(figure=made[1])
                parts.append(f"And {line[0].lower()}{line[1:]}" if parts else line)
                about.append(f"invented:{made[0]}:{s.text}")
    if not parts:
        return None
    if not parts[0].startswith("Thanks"):
        parts.insert(0, "Thanks.")
    return AssumptionsReply(" ".join(parts), tuple(facts), tuple(about))
