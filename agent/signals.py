"""Deterministic text matching shared by offline assessment, the offline scorer and clarify.

A *pattern* is written in data files as one of:
  ``cold start``   a phrase: case-insensitive, whole words, spaces also match hyphens and an
                   optional plural ``s``/``es`` on the last word;
  ``autoscal*``    a phrase ending in ``*``: the last word is a prefix;
  ``re:p\\d{2}``    a Python regular expression (case-insensitive).
A *signal group* is a list of patterns naming one idea; it is covered when any of them matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

_WS = re.compile(r"\s+")
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")


def normalise(text: str) -> str:
    """Lower-case and collapse whitespace; the form quotes and patterns are compared in."""
    return _WS.sub(" ", text).strip().lower()


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile one data-file pattern (see module docstring). Raises ``re.error`` if invalid."""
    if pattern.startswith("re:"):
        return re.compile(pattern[3:], re.IGNORECASE)
    prefix = pattern.endswith("*")
    words = pattern.rstrip("*").strip().lower().split()
    if not words:
        raise re.error(f"empty pattern {pattern!r}")
    body = r"[\s\-/]+".join(re.escape(w) for w in words)
    tail = r"\w*" if prefix else r"(?:s|es)?\b"
    return re.compile(r"(?<![\w])" + body + tail, re.IGNORECASE)


@lru_cache(maxsize=4096)
def _combined(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """One alternation for a whole group: a single search instead of one per pattern."""
    try:
        return re.compile("|".join(f"(?:{compile_pattern(p).pattern})" for p in patterns),
                          re.IGNORECASE)
    except re.error:  # e.g. a pattern with a backreference: fall back to one at a time
        return None


def first_match(patterns: Iterable[str], text: str) -> re.Match[str] | None:
    """The earliest match of any pattern in ``text``."""
    group = tuple(patterns)
    combined = _combined(group)
    if combined is not None:
        return combined.search(text)
    best: re.Match[str] | None = None
    for p in group:
        m = compile_pattern(p).search(text)
        if m and (best is None or m.start() < best.start()):
            best = m
    return best


def sentences(text: str) -> list[str]:
    """Split into sentences, keeping each one verbatim (used as evidence quotes)."""
    return [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]


# Sentences that talk to the grader rather than about the case. The offline scorer ignores
# them so that an answer can never raise its own score by asking (see README, "Scoring").
# Kept narrow on purpose: ordinary interview talk ("the system prompt is cached", "give it four
# weeks on canary", "error rate under 4% at max load", "an LLM judge checks the JSON") must pass.
_GRADER = r"(llm[- ])?(judge|grader|evaluator|assessor|scorer|marker)"
_META = re.compile(
    r"\b(rubric|grading)s?\b"
    r"|\b(dear|hey|hi|attention|note (to|for)( the)?|message (to|for)( the)?|to the|"
    r"instructions? (to|for)( the)?|you are( now)?( the| an| a)?|as the|acting as( the)?) "
    + _GRADER + r"\b"
    r"|\b(clarify|diagnose|goals|prioritize|solutions|validate|cross_cutting)\.[a-z_]+\b"
    r"|<!--|-->"
    r"|\b(evaluator|grader|assessor|judge|reviewer|examiner)(\'s|s\')"
    r"|\blevel\s*[1-4]\s*\((met|partial|unmet|missing|solid|excellent)\)"
    r"|\bnote (to|for) (the |any |an |automated |automatic |ai |llm )*" + _GRADER + r"s?\b"
    r"|\b(the|automated|automatic|ai|any) " + _GRADER + r"s?\b[^.]{0,40}\b(should|must|will|"
    r"needs? to|has to|is to|are to|reuse|copy|accept)\b"
    r"|\b(interviewer|evaluator|grader|reviewer|assessor|examiner|judge)(\'s|s\'|s)? notes?\b"
    r"|\bre-?(score|grade)[sd]?\b|\bno further (assessment|grading|scoring|evaluation)\b"
    r"|\b(ignore|disregard|forget|override)\b[^.]{0,30}\b(instructions?|rules?|criteri(a|on)|"
    r"guidelines?|prompts?|above|previous|prior)\b"
    r"|\b(reveal|show|print|repeat|output|leak|share|list)\b[^.]{0,30}\b((system|developer) "
    r"(prompt|message|instructions?)|fact sheet|hidden|your instructions|strong[- ]answer)"
    r"|\byour (system |hidden )?(prompt|instructions)\b"
    r"|\b(give|award|assign|rate|score|grade|mark)\b[^.]{0,40}\b(full marks|top marks|"
    r"perfect score|maximum score|highest score|max score|top score|"
    r"(4|four)\s*(/\s*4|out of (4|four)|on every|everywhere|across|for (every|each|all))|"
    r"(levels?|scores?|grades?|ratings?)\s*(of\s*)?(4|four))\b"
    r"|\blevels?\s*[:=]\s*[1-4]\b"
    r"|\b(level|score)\s*(4|four)\b[^.]{0,25}\b(every|each|all|across)\b"
    r"|\b(meets?|met|covered|covers|satisf(y|ies|ied)|address(es|ed)?|hits?)\b[^.]{0,15}"
    r"\b(all|every|each)\b[^.]{0,25}\b(criteri(a|on)|requirements? of the)\b"
    r"|\b(every|each|all)\b[^.]{0,25}\bcriterion\b"
    r"|\b(assign|give|award|mark|rate|score|grade|set)\b[^.]{0,20}\b(4|four|top)\b[^.]{0,20}"
    r"\b(all|every|each)\b"
    r"|\bmark\b[^.]{0,40}\b(as )?(excellent|exceptional|outstanding|perfect|full)\b"
    r"|</?\s*[a-z_]*(candidate|answer|transcript|system|instruction|rubric|criteri|judge|"
    r"grader|grading|assessment)[a-z_]*\b[^>]*>"
    r"|[{\[,]\s*\"?(level|score|criteria|verdict|rationale|quotes|evidence)\"?\s*:"
    r"|^\s*\[?(system|assistant|developer)\]?\s*[:>]"
    r"|<\|(im_start|im_end|system)",
    re.IGNORECASE,
)


def is_meta(sentence: str) -> bool:
    """True when a sentence addresses the grader (an injection attempt), not the case."""
    return bool(_META.search(sentence))


def substantive_sentences(text: str) -> list[str]:
    """The sentences of ``text`` that may count as evidence (meta/injection ones removed)."""
    return list(_substantive(text))


@lru_cache(maxsize=2048)
def _substantive(text: str) -> tuple[str, ...]:
    # Cached: every criterion of a step looks at the same answers.
    return tuple(s for s in sentences(text) if not is_meta(s))


@dataclass(frozen=True)
class Coverage:
    """Which signal groups a text covers, with the sentence that covered each one."""

    matched: tuple[int, ...]
    quotes: tuple[str, ...]
    phrases: tuple[str, ...]


def coverage(groups: Sequence[Sequence[str]], texts: Iterable[str]) -> Coverage:
    """Match each signal group against the substantive sentences of ``texts``."""
    sents = [s for t in texts for s in substantive_sentences(t)]
    matched: list[int] = []
    quotes: list[str] = []
    phrases: list[str] = []
    for gi, group in enumerate(groups):
        for s in sents:
            m = first_match(group, s)
            if m:
                matched.append(gi)
                phrases.append(m.group(0))
                if s not in quotes:
                    quotes.append(s)
                break
    return Coverage(tuple(matched), tuple(quotes), tuple(phrases))


def level_for(n_matched: int, thresholds: Sequence[int]) -> int:
    """Map a number of covered groups to a level 1-4 using ascending thresholds for 2, 3, 4."""
    level = 1
    for i, t in enumerate(thresholds):
        if n_matched >= t:
            level = i + 2
    return level
