"""Bounds on every model call: how many tokens a reply may have (per purpose), how big a prompt
may be so the reply still fits the model's context, and how long the candidate may wait.

- ``max_tokens`` is sent on every call. Interviewer speech is short by design (a follow-up is
  one question of at most 60 words), so its bound is a little above what the guards allow:
  enough to see a reply run over, never enough to stream for minutes.
- A prompt leaves room for its reply within ``context_tokens``: prompts are planned against
  ``context_tokens - max_tokens - margin`` (the margin covers the server's tokenizer counting
  differently from ours). Judge and assessment prompts clip the transcript's longest turns
  (:func:`clip_turns`) instead of cutting the prompt's tail.
- :class:`Deadline`: the time budget of one interviewer utterance (its first word, the whole
  reply), shared by the calls that make it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from agent import tokens

#: max_tokens per kind of call. "fact" is a clarify reply, "select" the clarify fact selection.
MAX_TOKENS: dict[str, int] = {
    "fact": 200,
    "followup": 150,
    "hint": 150,
    "coach": 300,
    "select": 200,
    "interviewer": 200,
    "assessment": 500,
    "simulation": 700,
    "doctor": 200,
}
#: Tokens a judge reply needs per criterion (level, rationale, quotes) and in all besides.
JUDGE_PER_CRITERION, JUDGE_BASE = 250, 200
#: Tokens an assessment reply needs per criterion ({"id": ..., "status": ...}).
ASSESS_PER_CRITERION, ASSESS_BASE = 40, 60


def max_tokens(kind: str) -> int:
    return MAX_TOKENS.get(kind, MAX_TOKENS["interviewer"])


def judge_tokens(criteria: int) -> int:
    return JUDGE_PER_CRITERION * criteria + JUDGE_BASE


def assess_tokens(criteria: int) -> int:
    return ASSESS_PER_CRITERION * criteria + ASSESS_BASE


def margin(context_tokens: int) -> int:
    """Tokens kept free for the difference between our count (cl100k) and the server's."""
    return max(64, context_tokens // 10)


def prompt_budget(context_tokens: int, reply_tokens: int, cap: int) -> int:
    """The largest prompt that still leaves ``reply_tokens`` for the reply (at least 256)."""
    return max(256, min(cap, context_tokens - reply_tokens - margin(context_tokens)))


def clip_text(text: str, keep_tokens: int) -> str:
    """``text`` cut to about ``keep_tokens``: its beginning and its end, whole words only,
    with a marker saying how many words were left out between them."""
    words = text.split()
    have = tokens.count(text)
    if have <= keep_tokens or len(words) < 12:
        return text
    keep = max(8, math.floor(len(words) * keep_tokens / have))
    head, tail = (keep * 2) // 3, keep - (keep * 2) // 3
    gone = len(words) - head - tail
    if gone <= 0:
        return text
    return f"{' '.join(words[:head])} [… {gone:,} words left out …] {' '.join(words[-tail:])}"


def clip_turns(texts: Sequence[str], excess: int, floor: int = 80) -> list[str]:
    """Shorten the longest texts, none below ``floor`` tokens, so that together they lose
    about ``excess`` tokens: every text longer than a common cap is cut to that cap."""
    out = list(texts)
    if excess <= 0 or not out:
        return out
    counts = [tokens.count(t) for t in out]
    total = sum(counts)
    target = total - excess
    lo, hi = floor, max(counts)
    if sum(min(c, lo) for c in counts) > target:
        cap = lo  # cannot reach the target without going under the floor: cut to the floor
    else:
        while lo < hi:  # the largest cap that meets the target
            mid = (lo + hi + 1) // 2
            if sum(min(c, mid) for c in counts) <= target:
                lo = mid
            else:
                hi = mid - 1
        cap = lo
    return [clip_text(t, cap) if c > cap else t for t, c in zip(out, counts, strict=True)]


def fit_texts(texts: Sequence[str], room: int) -> list[str]:
    """``texts`` (the candidate's turns, a transcript's lines) clipped so that together they
    take at most about ``room`` tokens; untouched when they fit (checked by size first: a
    token is at least one byte, so small texts are never counted)."""
    out = list(texts)
    if sum(len(t.encode()) for t in out) <= room:
        return out
    total = sum(tokens.count(t) for t in out)
    if total <= room:
        return out
    return clip_turns(out, total - room + 16)


@dataclass
class Deadline:
    """The time budget of one utterance: its first word by ``first_word``, all of it by
    ``end`` (``time.monotonic()`` values)."""

    first_token_s: float
    reply_s: float
    started: float
    first_word: float
    end: float

    @classmethod
    def start(cls, first_token_s: float, reply_s: float) -> Deadline:
        now = time.monotonic()
        return cls(first_token_s, reply_s, now, now + first_token_s, now + reply_s)

    def left(self, spoken: bool) -> float:
        """Seconds left: to the first word while nothing is spoken, else to the end."""
        return (self.end if spoken else min(self.first_word, self.end)) - time.monotonic()

    def missed(self, spoken: bool) -> str | None:
        """Why the budget is spent, or None while time is left."""
        now = time.monotonic()
        if now >= self.end:
            return f"the reply was not finished within {self.reply_s:g} s"
        if not spoken and now >= self.first_word:
            return f"no first word within {self.first_token_s:g} s"
        return None
