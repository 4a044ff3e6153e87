"""Bad calls stated confidently: targets and trade-offs no serious answer would set.

A sentence that accepts a large loss on a counter-metric (cost per request up by half, a
double-digit error or timeout rate, quality down by several points, losing a quarter of the
customers), or that makes the mean the latency goal, earns no credit and is named in the
step's notes. Small, bounded concessions ("a few percent more cost for the warm pool") are the
trade-offs the rubric asks for and are left alone.
"""

from __future__ import annotations

import re
from functools import lru_cache

from agent.semantic.numbers import words_to_numbers

_ACCEPT = (r"\b(?:accept\w*|allow\w*|tolerat\w*|comfortable|fine with|ok(?:ay)? with|"
           r"can flex|let (?:it|them|cost|costs|quality)|happy to|willing to|even if|"
           r"rising|rise|go(?:es)? up|increas\w*|doubl\w*|tripl\w*|up to|drop\w*|los\w*|fall\w*)")
#: (what goes wrong, pattern): each pattern looks for a large loss accepted or aimed at.
_BAD: tuple[tuple[str, re.Pattern[str]], ...] = tuple((why, re.compile(p, re.IGNORECASE)) for
                                                       why, p in (
    ("accepts a much higher cost", _ACCEPT + r"[^.;]{0,50}\b(?:cost|price|spend|bill)\w*[^.;]{0,30}"
     r"(?:\b(?:[3-9]\d|\d{3,})\s*%|\bdoubl\w*|\btripl\w*|\b[2-9]x\b)"),
    ("accepts a much higher cost", r"\b(?:cost|price|spend|bill)\w*(?: per \w+)?[^.;]{0,25}\b"
     r"(?:ris\w*|go(?:es|ing)? up|increas\w*|grow\w*)\b[^.;]{0,15}(?:\b(?:[3-9]\d|\d{3,})\s*%|"
     r"\bdoubl\w*|\b[2-9]x\b)"),
    ("accepts a much higher cost", r"\b(?:cost|price|spend|bill)\w*(?: per \w+)?\s+doubl\w*"),
    ("sets an error or timeout rate no customer accepts",
     r"\b(?:error|timeout|time-out|failure|failed|drop)\w*(?: rate)?[^.;]{0,40}"
     r"(?:\bup to|\bunder|\bbelow|\bof|\bat|\baround|\babout|\bbe|\bstay\w*)\s+"
     r"(?:[5-9]|[1-9]\d)(?:\.\d+)?\s*%"),
    ("accepts a large quality drop", r"\b(?:quality|accuracy|precision|eval\w*|score)\w*[^.;]{0,40}"
     r"\b(?:drop|fall|flex|slip|lose|loss|decline|degrad)\w*[^.;]{0,25}(?:\b(?:[3-9]|[1-9]\d)"
     r"(?:\.\d+)?\s*(?:points?|%|pp)\b|\b(?:a few|several|some|many) points\b)"),
    ("accepts a large quality drop", _ACCEPT + r"[^.;]{0,30}\b(?:quality|accuracy)\b[^.;]{0,30}"
     r"\b(?:drop|fall|flex|loss|lower|worse)\w*\b(?![^.;]{0,20}\b(?:[0-2](?:\.\d+)?\s*(?:points?|"
     r"%)|a point|one point|half a point))"),
    ("accepts losing many customers", r"\b(?:accept\w*|fine with|ok(?:ay)? with|happy to)\b"
     r"[^.;]{0,30}\b(?:los\w*|churn\w*)\b[^.;]{0,30}(?:\b(?:[2-9]\d)\s*%|quarter|third|half)"),
    ("makes the mean the latency goal", r"\b(?:average|mean)\b[^.;]{0,30}\b(?:latency|response "
     r"time|processing time|end-to-end)\b[^.;]{0,60}\b(?:goal|target|success|measure\w*|track|"
     r"metric|north star|bring|down|halve|cut|is what)\b"),
    ("dismisses the tail", r"\b(?:p9\d|tail|percentiles?)\b[^.;]{0,40}\b(?:noise|pathological|"
     r"outliers? (?:only|don't)|misleading|vanity|doesn't matter|don't matter)"),
))


@lru_cache(maxsize=8192)
def bad_call(sentence: str) -> str | None:
    """Why this sentence is a bad call (see the module docstring), or None."""
    text = words_to_numbers(sentence)
    for why, pattern in _BAD:
        if pattern.search(text):
            return why
    return None
