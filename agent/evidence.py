"""Checking quotes against the candidate's own words.

A quote counts as evidence only if, after normalising case, whitespace and quotation marks (and
trimming the quotation marks and ellipses models wrap quotes in), it appears on word boundaries
in one of the candidate's answers in that step. A quote stitched together with ellipses
("we ... need a warm pool") counts only if every fragment is at least three words long and the
fragments appear in that order, without overlapping, within one answer; stitching can otherwise
flip the meaning ("we do not need a warm pool"). Everything else is dropped and counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from agent.signals import normalise

_TRIM = " \t\n\"'“”‘’`.…,;:-–—()[]"
_MIN_CHARS = 4
#: Each fragment of an ellipsis-stitched quote needs this many words.
MIN_FRAGMENT_WORDS = 3
_ELLIPSIS = re.compile(r"\.\s*\.\s*\.|…")
_QUOTE_MARKS = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "`": "'"})


@dataclass(frozen=True)
class Checked:
    verified: list[str]
    dropped: int
    rejected: int = 0
    """verified quotes left out because they support nothing: every mention in them is
    negated ("we wouldn't canary it") or they talk to the grader"""


@lru_cache(maxsize=4096)
def _norm(text: str) -> str:
    """Cached: every quote of a step is checked against the same answers."""
    return normalise(text.translate(_QUOTE_MARKS))


def _word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _find(fragment: str, text: str, start: int) -> int:
    """The first occurrence of ``fragment`` in ``text`` at or after ``start`` that does not
    begin or end inside a word, or -1."""
    i = text.find(fragment, start)
    while i != -1:
        end = i + len(fragment)
        before_ok = not _word(fragment[0]) or i == 0 or not _word(text[i - 1])
        after_ok = not _word(fragment[-1]) or end == len(text) or not _word(text[end])
        if before_ok and after_ok:
            return i
        i = text.find(fragment, i + 1)
    return -1


def _in_order(fragments: Sequence[str], text: str) -> bool:
    """Every fragment found in ``text``, in order, none overlapping the one before.
    (Taking the earliest match each time finds an ordering whenever one exists.)"""
    pos = 0
    for f in fragments:
        i = _find(f, text, pos)
        if i == -1:
            return False
        pos = i + len(f)
    return True


def _fragments(quote: str) -> list[str]:
    return [_norm(p.strip(_TRIM)) for p in _ELLIPSIS.split(quote) if p.strip(_TRIM)]


def is_verified(quote: str, answers: Sequence[str]) -> bool:
    """True when ``quote`` is the candidate's own words (see the module docstring)."""
    whole = _norm(quote.strip(_TRIM))
    if len(whole) < _MIN_CHARS:
        return False
    texts = [_norm(a) for a in answers]
    if any(_find(whole, t, 0) != -1 for t in texts):
        return True  # verbatim, even if it contains an ellipsis the candidate typed
    parts = _fragments(quote)
    if len(parts) < 2 or any(len(p.split()) < MIN_FRAGMENT_WORDS for p in parts):
        return False
    return any(_in_order(parts, t) for t in texts)


_CONTENT = re.compile(r"[a-z0-9]{3,}", re.IGNORECASE)
_FILLER = ("the and but for not that this with would wouldn can don won isn aren doesn didn "
           "shouldn there we they you our their its")
_FILLER_WORDS = frozenset(_FILLER.split())


@lru_cache(maxsize=4096)
def supports(quote: str) -> bool:
    """Can this quote back a level? Not when all it says is negated ("No canary, no rollback
    plan needed.") or when it addresses the grader. (Cached: a judge often quotes the same
    words for several criteria of a step.)"""
    from agent.semantic.reading import asserted, read_sentence
    from agent.signals import is_meta, sentences

    kept = [p for p in sentences(quote) or [quote] if not is_meta(p)]
    # A sentence's read form starts with what it asserts: when that has a content word the
    # answer is yes without reading the rest (numbers as digits, the trade's words).
    if any(_content(asserted(p)) for p in kept):
        return True
    return _content(" ".join(read_sentence(p).read for p in kept))


def _content(text: str) -> bool:
    return any(w.lower() not in _FILLER_WORDS for w in _CONTENT.findall(text))


def check_quotes(quotes: Iterable[str], candidate_texts: Sequence[str], *,
                 need_support: bool = False) -> Checked:
    """Split quotes into verified ones (the candidate's words) and a count of the rest.
    ``candidate_texts`` are the candidate's answers, one per item: a quote never spans two.
    ``need_support``: also leave out verified quotes that support nothing (see supports)."""
    verified: list[str] = []
    dropped = rejected = 0
    for q in quotes:
        if is_verified(q, candidate_texts):
            shown = q.strip(_TRIM)
            if need_support and not supports(shown):
                rejected += 1
            elif shown not in verified:
                verified.append(shown)
        else:
            dropped += 1
    return Checked(verified, dropped, rejected)
