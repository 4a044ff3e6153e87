"""Numbers written as words, read as numbers: "under half a second" is "under 500 ms",
"ninety-nine point nine percent" is "99.9%", "two weeks" is "2 weeks", "three times" is "3x".

Used on the text the offline scorer matches its signals against; evidence quotes still show
the candidate's own words.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TypeVar

from agent.signals import (
    caseless_form,
    found_in,
    lowered_if_simple,
    sub_caseless,
)

_T = TypeVar("_T")

_ONE_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
              "fourteen fifteen sixteen seventeen eighteen nineteen")
_ONES = {w: i for i, w in enumerate(_ONE_WORDS.split())}
_TEN_WORDS = "twenty thirty forty fifty sixty seventy eighty ninety"
_TENS = {w: 10 * (i + 2) for i, w in enumerate(_TEN_WORDS.split())}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_NUMBER_WORD = "|".join(sorted([*_ONES, *_TENS, *_SCALES, "dozen"], key=len, reverse=True))
#: A run of number words: "one hundred and twenty", "ninety-nine", "a thousand", "1.5 million".
_RUN = re.compile(
    r"(?<![\w.])(?:(?:an?|\d+(?:\.\d+)?)[\s-]+(?=(?:hundred|thousand|million|billion|dozen)\b))?"
    r"(?:" + _NUMBER_WORD + r")(?:(?:[\s-]+|\s+and\s+)(?:" + _NUMBER_WORD + r"))*\b"
    r"(?:\s+point(?:\s+(?:" + "|".join(_ONES) + r"|oh))+\b)?",
    re.IGNORECASE)
_DIGITS = {**{w: str(i) for w, i in _ONES.items() if i < 10}, "oh": "0"}


def _value(words: list[str]) -> float | None:
    """The value of a run of number words, or None if it does not read as one number."""
    total, current, seen = 0.0, 0.0, False
    for w in words:
        if w in ("a", "an"):
            current = 1
        elif re.fullmatch(r"\d+(\.\d+)?", w):
            current += float(w)
        elif w in _ONES:
            if current % 10 and current >= 1 and w != "zero":  # "two three": not one number
                return None
            current += _ONES[w]
        elif w in _TENS:
            if current % 100:
                return None
            current += _TENS[w]
        elif w == "dozen":
            current = (current or 1) * 12
        elif w == "hundred":
            current = (current or 1) * 100
        elif w in _SCALES:
            total += (current or 1) * _SCALES[w]
            current = 0
        else:
            return None
        seen = True
    return total + current if seen else None


def _fmt(x: float) -> str:
    return str(int(x)) if x == int(x) else f"{x:g}"


def _replace_run(m: re.Match[str]) -> str:
    text = m.group(0)
    if text.lower() == "one":  # "no one", "one of the issues": not a quantity
        return text
    whole, _, decimals = text.lower().partition(" point ")
    words = [w for w in re.split(r"[\s-]+", whole) if w and w != "and"]
    value = _value(words)
    if value is None:
        return text
    if decimals:
        digits = "".join(_DIGITS.get(w, "") for w in decimals.split())
        return f"{_fmt(value)}.{digits}" if digits else _fmt(value)
    return _fmt(value)


_UNIT_MS = {"second": 1000, "sec": 1000}
_FRACTION = {"half": 0.5, "quarter": 0.25, "third": 1 / 3, "tenth": 0.1, "fifth": 0.2}
#: "half a second", "a quarter of a second", "a tenth of a second", "half an hour".
_FRACTION_OF = re.compile(
    r"\b(?:an?\s+|one\s+)?(half|quarter|third|tenth|fifth)\s+(?:of\s+)?an?\s+"
    r"(second|minute|hour|day|percent)\b", re.IGNORECASE)
#: "a second and a half", "2 hours and a half".
_AND_A_HALF = re.compile(r"\b(an?|\d+(?:\.\d+)?)\s+(seconds?|minutes?|hours?|days?|weeks?|"
                         r"months?)\s+and\s+a\s+half\b", re.IGNORECASE)
#: "1 and a half seconds", "one and a half seconds" (a lone "one" stays a word above).
_N_AND_A_HALF = re.compile(r"\b(\d+|one)\s+and\s+a\s+half\b", re.IGNORECASE)
#: "3 and a half thousand" reads "3.5 1000" after the rewrites above: the scale multiplies.
_HALF_SCALED = re.compile(r"\b(\d+\.5)\s+(1000|1000000|1000000000)\b")
_PERCENT = re.compile(r"(\d)\s*(?:percent|per cent|pct)\b", re.IGNORECASE)
_TIMES = re.compile(r"\b(\d+(?:\.\d+)?)\s+times\b(?!\s+(?:a|an|per|every|each)\b)",
                    re.IGNORECASE)
#: "seen this a hundred times", "asked them 3 times": how often something happened, not a
#: multiple (a new user's trial: "I've seen this a hundred times" read as "100x").
_HOW_OFTEN = re.compile(r"\b(?:seen|see|saw|heard|hear|done|did|asked|tried|told|said|happened|"
                        r"been|gone|called|rang|met|watched|read|ran|restarted|rebooted|"
                        r"fixed|debugged|hit)\b(?:\s+(?:this|that|it|them|him|her|these|those|one|before|"
                        r"already))?\s*$", re.IGNORECASE)
_MULTIPLE = re.compile(r"\b(twice|double|triple|quadruple)\b", re.IGNORECASE)
_MULTIPLES = {"twice": "2x", "double": "2x", "triple": "3x", "quadruple": "4x"}
_MILLIS = re.compile(r"\b(\d+)\s+milliseconds?\b", re.IGNORECASE)
_FRACTIONS = {"half": 0.5, "halves": 0.5, "third": 1 / 3, "thirds": 1 / 3, "quarter": 0.25,
              "quarters": 0.25, "fifth": 0.2, "fifths": 0.2, "tenth": 0.1, "tenths": 0.1}
#: "4 tenths of a second" (after the run above turned "four" into 4).
_N_FRACTION_OF = re.compile(r"\b(\d+)\s+(thirds|quarters|fifths|tenths)\s+of\s+an?\s+"
                            r"(second|minute|hour|day)\b", re.IGNORECASE)
#: A share in words: "a tenth of their traffic", "a fifth more", "2 thirds of the time",
#: "half of the requests" (not "half a second", read above, nor "half the size"; a share).
_SHARE = re.compile(r"\b(an?|one|\d+)\s+(half|third|thirds|quarter|quarters|fifth|fifths|tenth|"
                    r"tenths)\b(?=\s+(?:of|more|less|above|below|extra|fewer|lower|higher|over|"
                    r"under)\b)", re.IGNORECASE)
_DIGIT_RATE = re.compile(r"(?:\d|\bone)\s+(?:[a-z]+\s+)?(?:in|out of)\s+(?:every\s+)?\d",
                         re.IGNORECASE)
#: A rate in words: "1 in 100", "99 out of 100", "1 chat in 10".
_RATE = re.compile(r"(?<!\bno )\b(\d+(?:\.\d+)?|one)\s+(?:([a-z]+)\s+)?(?:in|out of)\s+"
                   r"(?:every\s+)?(\d+)\b"
                   r"(?!\s*(?:ms|s|seconds?|minutes?|hours?|days?|weeks?|months?)\b)",
                   re.IGNORECASE)


def _word(matched: str, table: dict[str, _T]) -> str:
    """The key of ``table`` that a case-insensitive match read: its lower case, or for a
    lookalike that matched it ("twıce" with a dotless i) the key it matched."""
    key = matched.lower()
    if key in table:
        return key
    return next(k for k in table if re.fullmatch(re.escape(k), matched, re.IGNORECASE))


def _fraction_of(m: re.Match[str]) -> str:
    frac = _FRACTION[_word(m.group(1), _FRACTION)]
    unit = m.group(2).lower()
    if unit == "second":
        return f"{_fmt(round(frac * 1000, 3))} ms"
    if unit == "percent":
        return f"{_fmt(round(frac, 3))}%"
    return f"{_fmt(round(frac, 3))} {unit}s"


def _and_a_half(m: re.Match[str]) -> str:
    n = 1.0 if m.group(1).lower() in ("a", "an") else float(m.group(1))
    unit = m.group(2).lower().rstrip("s")
    return f"{_fmt(n + 0.5)} {unit}s"


#: Anything the rewrites below could act on: text without it comes back as it is, at the cost
#: of one search instead of nine substitutions.
_ANY = re.compile(r"\b(?:" + _NUMBER_WORD + r"|half|quarters?|thirds?|tenths?|fifths?|percent|"
                  r"per cent|pct|times|twice|double|triple|quadruple|milliseconds?)\b",
                  re.IGNORECASE)


#: The rewrites' forms for lower-cased simple text (signals.sub_caseless: the same result).
_FRACTION_OF_LOW = caseless_form(_FRACTION_OF)
_AND_A_HALF_LOW = caseless_form(_AND_A_HALF)
_N_FRACTION_OF_LOW = caseless_form(_N_FRACTION_OF)
_SHARE_LOW = caseless_form(_SHARE)
_RATE_LOW = caseless_form(_RATE)


def _runs_rewritten(text: str) -> str:
    """``_RUN.sub(_replace_run, text)``, its matches found through its form for lower-cased
    simple text (signals.sub_caseless: the same result, about twice as fast; a run is never
    empty)."""
    return sub_caseless(_RUN, _run_caseless(), _replace_run, text)


@lru_cache(maxsize=1)
def _run_caseless() -> re.Pattern[str] | None:
    return caseless_form(_RUN)


@lru_cache(maxsize=8192)
def has_number_words(text: str) -> bool:
    """Whether :func:`words_to_numbers` could rewrite anything in ``text``: a word its rewrites
    act on, or a rate in digits ("1 in 100"). When not, it returns ``text`` as it is, and so it
    does for any part of ``text`` cut where a word neither starts nor ends (both expressions
    hold ``\b`` as their only look around the text, so a match in such a part is one in
    ``text`` too)."""
    low = lowered_if_simple(text)
    # (a rate ends in a digit, and simple text's digits are ASCII ones)
    return found_in(_ANY, text, low) or (
        (low is None or _A_DIGIT.search(low) is not None) and found_in(_DIGIT_RATE, text, low))


_A_DIGIT = re.compile(r"[0-9]")


@lru_cache(maxsize=8192)
def words_to_numbers(text: str) -> str:
    """``text`` with numbers written in words rewritten as digits (see the module docstring).
    Text without number words comes back unchanged."""
    if not has_number_words(text):
        return text
    low = lowered_if_simple(text)
    if not found_in(_ANY, text, low):
        return sub_caseless(_RATE, _RATE_LOW, _rate, text)

    def has(*words: str) -> bool:
        """A rewrite can act only if one of its words is there (on simple text, where
        lower-casing is exact; otherwise every rewrite runs)."""
        return low is None or any(w in low for w in words)

    fractions = has("half", "quarter", "third", "tenth", "fifth")
    # (the units these two read: no rewrite below brings one in that was not there)
    fraction_of = fractions and has("second", "minute", "hour", "day", "percent")
    fraction_of_time = fractions and has("second", "minute", "hour", "day")
    out = sub_caseless(_FRACTION_OF, _FRACTION_OF_LOW, _fraction_of, text) if fraction_of else text
    out = _runs_rewritten(out)
    if fraction_of:
        out = sub_caseless(_FRACTION_OF, _FRACTION_OF_LOW, _fraction_of, out)
    if has("half"):
        out = sub_caseless(_AND_A_HALF, _AND_A_HALF_LOW, _and_a_half, out)
        out = _N_AND_A_HALF.sub(lambda m: _fmt(
            (1.0 if m.group(1).lower() == "one" else float(m.group(1))) + 0.5), out)
        out = _HALF_SCALED.sub(lambda m: _fmt(float(m.group(1)) * int(m.group(2))), out)
    if has("percent", "per cent", "pct"):
        out = _PERCENT.sub(r"\1%", out)
    if has("times"):
        out = _TIMES.sub(lambda m: m.group(0) if _HOW_OFTEN.search(
            m.string, max(0, m.start() - 40), m.start()) else f"{m.group(1)}x", out)
    if has("twice", "double", "triple", "quadruple"):
        out = _MULTIPLE.sub(lambda m: _MULTIPLES[_word(m.group(1), _MULTIPLES)], out)
    out = _MILLIS.sub(r"\1 ms", out) if has("millisecond") else out
    if fraction_of_time:
        out = sub_caseless(_N_FRACTION_OF, _N_FRACTION_OF_LOW, _n_fraction_of, out)
    if fractions:
        out = sub_caseless(_SHARE, _SHARE_LOW, _share, out)
    return (sub_caseless(_RATE, _RATE_LOW, _rate, out) if " in " in out or " out of " in out
            else out)


def _n_fraction_of(m: re.Match[str]) -> str:
    value = int(m.group(1)) * _FRACTIONS[m.group(2).lower()]
    unit = m.group(3).lower()
    if unit == "second":
        return f"{_fmt(round(value * 1000))} ms"
    return f"{_fmt(round(value, 2))} {unit}s"


def _share(m: re.Match[str]) -> str:
    """A share as a percentage: "a tenth of" is "10% of", "2 thirds of" is "67% of"."""
    n = m.group(1).lower()
    count = 1 if n in ("a", "an", "one") else int(n)
    value = count * _FRACTIONS[m.group(2).lower()]
    return f"{_fmt(round(value * 100))}%" if value <= 1 else m.group(0)


def _rate(m: re.Match[str]) -> str:
    """A rate as a percentage, kept beside its words: "1 in 100" reads "1 in 100 (1%)"."""
    part = 1.0 if m.group(1).lower() == "one" else float(m.group(1))
    whole = float(m.group(3))
    if not 0 < part < whole:
        return m.group(0)
    noun = f" of {m.group(2)}" if m.group(2) else ""
    return f"{m.group(0)} ({_fmt(round(100 * part / whole, 3))}%{noun})"
