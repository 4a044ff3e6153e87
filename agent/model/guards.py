"""Checks on every line a model writes for the candidate, before the candidate sees it.

Weak and small models go off the rails in a few recurring ways: chatter instead of a question
("I'm glad you're excited about the interview..."), the prompt echoed back ("You asked the
candidate to..."), a stray tag ("</followup>"), or the same sentences repeated until the token
limit. A :class:`Guard` is run by the client on the text so far after every streamed piece
(so a looping or overlong stream is stopped early, its connection closed) and once more on the
whole reply. It returns why the reply cannot be used, or None:

- a word limit per kind (a follow-up at most 60 words, a clarify reply at most 80);
- no prompt tags, fence markers or role labels;
- no talk about "the candidate", the rubric, grading or the model itself, no assistant
  chatter;
- no run of words from the rubric or from the prompt's own instructions (an echo), unless the
  material the reply may draw on has it too (the facts, the probe);
- no repetition (a sentence said twice, or the same eight words twice);
- a follow-up asks exactly one question and is addressed to the candidate;
- a clarify reply answers from the facts it was given.

:class:`Holdback` decides what the candidate sees while a reply streams: a clarify reply
sentence by sentence, each shown only once it has been checked; a follow-up (one question)
only when it is whole and checked. A reply that fails after part of it was shown is withdrawn
on screen.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from agent.policy import Speaker

Kind = Literal["fact", "followup"]


@dataclass(frozen=True)
class Rules:
    words: int
    """Most words the reply may have."""
    one_question: bool
    """It must ask exactly one question, addressed to the candidate."""
    grounded: bool
    """It must answer from the material (the facts it was given)."""


RULES: dict[str, Rules] = {
    "fact": Rules(words=80, one_question=False, grounded=True),
    "followup": Rules(words=60, one_question=True, grounded=False),
}

#: Words in a run that counts as copied from the rubric or the prompt.
SHINGLE = 6
#: Words in a run that, said twice, counts as repetition.
REPEAT = 8

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*(?:\s+|$)")
_MARKUP = re.compile(
    r"</?\s*[A-Za-z_][\w\-]*\s*/?>"          # <tag>, </followup>, <br/>
    r"|<\|[^|>]{0,40}\|>"                    # <|im_end|>
    r"|```|~~~"                              # fences
    r"|\[/?INST\]|<<\s*/?SYS\s*>>"           # chat-template markers
    r"|[\u2039\u203a]"                       # the angle marks our prompt fences show
    r"|\[\.\.\.(?:trimmed|truncated)\]"      # our own prompt-trimming markers
    r"|(?:^|\n)\s*(?:system|user|assistant|interviewer|candidate|question|follow-?up)\s*:",
    re.IGNORECASE)
_META = re.compile(
    r"\b(?:the|this|our|a|your)\s+(?:candidate|interviewee)s?\b|\bcandidate'?s\b"
    r"|\brubrics?\b|\bcriteri(?:on|a)\b|\bgrad(?:ing|er|ers|ed)\b"
    r"|\bscor(?:e|es|ed|ing)\b|\blevel\s+[1-4]\b"
    r"|\bas an ai\b|\blanguage model\b|\bai (?:model|assistant)\b"
    r"|\bsystem prompt\b|\b(?:my|the|these|your) instructions\b|\bfact sheet\b"
    r"|\bthe probe\b|\brephras(?:e|ed|ing)\b"
    r"|\bhere(?:'s| is) (?:a|the|my|one) (?:follow-?up|question|rephras\w*|answer|reply)\b",
    re.IGNORECASE)
_OFF_ROLE = re.compile(
    r"\b(?:i'?m|i am) (?:so )?(?:glad|happy|excited|delighted|here to help)\b"
    r"|\bhappy to help\b|\bi(?:'ll| will) be (?:here|happy)\b|\bfeel free\b"
    r"|\blet me know if\b|\bgood luck\b|\bi hope (?:this|that) helps\b|\bgreat question\b"
    r"|\bthanks? (?:you )?for (?:sharing|your|the|asking)\b|\bsure[,!] here\b"
    r"|\bcertainly[,!]"
    r"|\bas your interviewer\b|\bi(?:'d| would) be happy\b|\bno problem\b",
    re.IGNORECASE)
#: Cheap first looks: a pattern above can only match text holding one of these.
_MARKUP_HINTS = ("<", "`", "~", "[", "\u2039", "\u203a", ":")
_META_HINTS = ("candidate", "interviewee", "rubric", "criteri", "grad", "scor", "level",
               " ai", "language model", "system prompt", "instructions", "fact sheet", "probe",
               "rephras", "here")
_OFF_ROLE_HINTS = ("glad", "happy", "excited", "delighted", "help", "be here", "feel free",
                   "let me know", "good luck", "hope", "great question", "thank", "sure",
                   "certainly", "your interviewer", "no problem")
_SECOND_PERSON = re.compile(r"\b(?:you|your|yours|you're|you'd|you've|you'll)\b", re.IGNORECASE)
#: A question put to the listener: a question word anywhere, or one that opens with a verb
#: ("Is it...", "Could ...", "Walk me through ...").
_ASKS = re.compile(
    r"\b(?:what|which|how|why|when|where|who|whose)\b"
    r"|^\W*(?:is|are|was|were|do|does|did|can|could|would|will|should|have|has|tell|walk|"
    r"describe|explain|say|talk|give|share|suppose|imagine)\b",
    re.IGNORECASE)
_IMPERATIVE = re.compile(r"^\W*(?:tell|walk|describe|explain|say|talk|give|share|take|"
                         r"outline|sketch|name|list)\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_STOP_WORDS = """
about above after again also because been before being between both could does doing down
each from further have having here into just like more most much must only other over same
should some such than that their them then there these they this those through under until
very were what when where which while will with would your yours make reasonable assumption
assume part question questions cover covers covered facts fact tell know"""
_STOP = frozenset(_STOP_WORDS.split())


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def shingles(text: str, n: int = SHINGLE) -> set[tuple[str, ...]]:
    w = words(text)
    return {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}


def content_words(text: str) -> set[str]:
    """Words that carry meaning (4+ letters, not a stop word; a plural s dropped) and
    numbers (commas dropped)."""
    out = {w.removesuffix("s") for w in words(text) if len(w) >= 4 and w not in _STOP
           and not w.isdigit()}
    out |= {n.replace(",", "") for n in _NUMBER.findall(text)}
    return out


@lru_cache(maxsize=8)
def rubric_shingles(texts: tuple[str, ...]) -> frozenset[tuple[str, ...]]:
    """Runs of words from rubric text (what criteria look for, level descriptors)."""
    out: set[tuple[str, ...]] = set()
    for t in texts:
        out |= shingles(t)
    return frozenset(out)


@dataclass(frozen=True)
class Context:
    """What a reply is checked against."""

    kind: Kind
    material: str = ""
    """What the reply may draw on word for word: the facts, or the probe and the question."""
    instructions: str = ""
    """The prompt's own wording (persona and template), for echo detection."""
    rubric: frozenset[tuple[str, ...]] = frozenset()


@lru_cache(maxsize=16)
def _instruction_runs(instructions: str) -> frozenset[tuple[str, ...]]:
    return frozenset(shingles(instructions))


#: Characters of already-checked text re-scanned with new text, so a pattern split across
#: pieces ("</follow" + "up>") is still found; longer than any pattern's match.
_OVERLAP = 64
_BOUNDARY = re.compile(r"[^\w']")


class Guard:
    """One reply's check; call it with the text so far and whether the reply is finished.

    Incremental: each call looks only at what is new since the last one (plus a short overlap),
    so checking a reply piece by piece costs about as much as checking it once. A text that
    does not extend the last one (a restarted stream) is checked from its start."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.rules = RULES[ctx.kind]
        material = ctx.material.lower()
        self._material = material
        self._allowed = shingles(material)
        self._echo = _instruction_runs(ctx.instructions)
        self._rubric = ctx.rubric
        self._facts = content_words(ctx.material) if self.rules.grounded else set()
        self._reset("")

    def _reset(self, text: str) -> None:
        self._text = text
        self._scanned = 0        # characters the patterns have looked at
        self._final = 0          # characters whose words are all final (end at a space)
        self._words: list[str] = []
        self._runs: set[tuple[str, ...]] = set()
        self._sentence_end = 0   # characters of complete sentences checked for repeats
        self._sentences: set[str] = set()
        self._reason: str | None = None

    def __call__(self, text: str, finished: bool) -> str | None:
        return self.check(text, finished)

    def check(self, text: str, finished: bool) -> str | None:
        if not text.startswith(self._text) or self._reason:
            self._reset("")
        self._text = text
        self._reason = (self._patterns(text, finished) or self._new_words(text, finished)
                        or self._new_sentences(text, finished))
        if self._reason:
            return self._reason
        return self._whole(text, self._words) if finished else None

    def _patterns(self, text: str, finished: bool) -> str | None:
        # Every pattern ends at a word boundary: look again only once new text has one.
        if not finished and not _BOUNDARY.search(text, self._scanned):
            return None
        window = text[max(0, self._scanned - _OVERLAP):]
        self._scanned = len(text)
        low = window.lower()
        m = _MARKUP.search(window) if any(h in low for h in _MARKUP_HINTS) else None
        if m:
            return f"it contains prompt markup ({m.group(0).strip()!r})"
        if any(h in low for h in _META_HINTS):
            for m in _META.finditer(window):
                if m.group(0).lower() not in self._material:
                    return f"it talks about the interview itself ({m.group(0)!r})"
        if any(h in low for h in _OFF_ROLE_HINTS):
            for m in _OFF_ROLE.finditer(window):
                if m.group(0).lower() not in self._material:
                    return f"it is chatter, not the interviewer's line ({m.group(0)!r})"
        return None

    def _new_words(self, text: str, finished: bool) -> str | None:
        """Words that are final now (followed by a space, or the reply is finished): the word
        limit, and runs copied from the rubric or prompt, or said twice."""
        end = len(text) if finished or text[-1:].isspace() else max(
            text.rfind(" "), text.rfind("\n"), self._final)
        fresh = words(text[self._final:end]) if end > self._final else []
        self._final = max(self._final, end)
        partial = 0 if end == len(text) else len(words(text[end:]))
        for w in fresh:
            self._words.append(w)
            n = len(self._words)
            if n >= SHINGLE:
                run = tuple(self._words[n - SHINGLE:])
                if run not in self._allowed:
                    if run in self._rubric:
                        return f"it repeats the rubric (\"{' '.join(run)}\")"
                    if run in self._echo:
                        return f"it echoes the prompt (\"{' '.join(run)}\")"
            if n >= REPEAT:
                run = tuple(self._words[n - REPEAT:])
                if run in self._runs:
                    return "it repeats itself"
                self._runs.add(run)
        if len(self._words) + partial > self.rules.words:
            return f"it is longer than {self.rules.words} words"
        return None

    def _new_sentences(self, text: str, finished: bool) -> str | None:
        end = len(text) if finished else last_sentence_end(text, self._sentence_end)
        if end <= self._sentence_end:
            return None
        fresh = sentences(text[self._sentence_end:end])
        self._sentence_end = end
        for s in fresh:
            key = " ".join(words(s))
            if len(key.split()) >= 3:
                if key in self._sentences:
                    return "it repeats itself"
                self._sentences.add(key)
        return None

    def _whole(self, text: str, w: list[str]) -> str | None:
        if not w:
            return "the reply was empty"
        if self.rules.one_question:
            asks = text.count("?")
            if asks == 0 and not _IMPERATIVE.match(text):
                return "it asks nothing"
            if asks > 1:
                return "it asks more than one question"
            question = next((s for s in sentences(text) if "?" in s), text)
            if not (_SECOND_PERSON.search(question) or _ASKS.search(question)):
                return "it is not addressed to the candidate"
        if self.rules.grounded and not self.grounded(text):
            return "it does not answer from the facts"
        return None

    def grounded(self, text: str) -> bool:
        """Whether ``text`` draws on the material: two of its content words, or a number."""
        if not self.rules.grounded:
            return True
        shared = content_words(text) & self._facts
        return len(shared) >= 2 or any(_NUMBER.fullmatch(s) for s in shared)


def sentences(text: str) -> list[str]:
    out, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        out.append(text[start:m.end()].strip())
        start = m.end()
    if text[start:].strip():
        out.append(text[start:].strip())
    return [s for s in out if s]


def complete_sentences(text: str) -> list[str]:
    """The sentences of ``text`` that have ended (the last one may still be arriving)."""
    end = last_sentence_end(text)
    return sentences(text[:end]) if end else []


def last_sentence_end(text: str, start: int = 0) -> int:
    """Where the last complete sentence of ``text`` ends (looking from ``start``; ``start``
    when none ends after it)."""
    end = start
    for m in _SENTENCE_END.finditer(text, start):
        if m.end() < len(text) or text[-1:].isspace():
            end = m.end()
    return end


class Holdback:
    """Shows a streamed reply only as far as it has been checked (the client runs the guard
    before it hands over each piece): a clarify reply sentence by sentence, once what has come
    so far draws on its facts (``guard.grounded``), so chatter never reaches the screen; a
    follow-up only whole. ``withdraw`` takes back what was shown when the reply fails later."""

    def __init__(self, kind: Kind, speak: Speaker, guard: Guard | None = None,
                 whole: bool = False) -> None:
        """``whole``: show nothing until the reply is finished and checked (a second attempt,
        after the candidate has already seen one reply taken back)."""
        self.kind, self.speak, self.guard, self.whole = kind, speak, guard, whole
        self.text = ""
        self.shown = 0

    def feed(self, piece: str) -> None:
        self.text += piece
        if self.kind == "fact" and not self.whole:
            end = last_sentence_end(self.text, self.shown)
            if end > self.shown and (self.guard is None or self.guard.grounded(
                    self.text[:end])):
                self.speak(self.text[self.shown:end])
                self.shown = end

    def finish(self) -> str:
        """The reply is whole and checked: show the rest."""
        if len(self.text) > self.shown:
            self.speak(self.text[self.shown:])
            self.shown = len(self.text)
        return self.text.strip()

    def restart(self) -> None:
        """The stream broke and starts again: drop what arrived (and what was shown)."""
        if self.shown:
            self.speak.restart()
        self.text, self.shown = "", 0

    def withdraw(self, why: str) -> None:
        """The reply failed: take back whatever of it was shown."""
        if self.shown:
            self.speak.restart(why)
        self.text, self.shown = "", 0


def instruction_text(texts: Iterable[str]) -> str:
    """Prompt templates without their ``{placeholders}``: the words that are ours."""
    return "\n".join(re.sub(r"\{[a-z_]+\}", " ", t) for t in texts)
