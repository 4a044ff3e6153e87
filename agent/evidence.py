"""Checking quotes against the candidate's own words.

A quote counts as evidence only if, after normalising case and whitespace (and trimming the
quotation marks and ellipses models wrap quotes in), it appears in what the candidate said in
that step. Everything else is dropped and counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from agent.signals import normalise

_TRIM = " \t\n\"'“”‘’`.…,;:-–—()[]"
_MIN_CHARS = 4


@dataclass(frozen=True)
class Checked:
    verified: list[str]
    dropped: int


def _parts(q: str) -> list[str]:
    """A quote stitched with ellipses must match piece by piece."""
    return [normalise(p.strip(_TRIM)) for p in re.split(r"\.\.\.|…", q) if p.strip(_TRIM)]


def check_quotes(quotes: Iterable[str], candidate_texts: Sequence[str]) -> Checked:
    """Split quotes into verified ones (the candidate's words) and a count of the rest."""
    haystack = normalise(" \n ".join(candidate_texts))
    verified: list[str] = []
    dropped = 0
    for q in quotes:
        parts = _parts(q)
        if parts and sum(map(len, parts)) >= _MIN_CHARS and all(p in haystack for p in parts):
            if q.strip(_TRIM) not in verified:
                verified.append(q.strip(_TRIM))
        else:
            dropped += 1
    return Checked(verified, dropped)
