"""Word-level soft matching: the words that carry a short text's subject, each matched on its own.

A sentence embedding is the mean of its token vectors, so in "How much people are using the app
every week?" the two words that say what is asked ("people", "week") weigh no more than "how",
"much", "are", "the" and "every": a true paraphrase of a fact scores low. Here each **content
word** of a query (function words, question words and the words every question uses dropped) is
embedded alone (with :func:`agent.semantic.matcher.embed`, so cached like any text) and compared
with each content word of a reference group (a fact's subject words, say); the group's score for
that query word is the best of those similarities (max-sim, not a pooled mean).

:meth:`WordGroups.scores` turns that into one figure per group: for each query word, how much
better the group matches it than the next best group does (only the group a word points to
gets credit for it: a word several groups match alike, such as "customers" in a case where
several facts speak of customers, counts for none of them), summed over the query's content
words and divided by the square root of their number (round 7: dividing by the number itself,
a mean, let the filler of a long question, "I'm trying to understand ... like if we said ...",
drown the one word that says what is asked; the square root keeps a long question's subject
words counting without letting a pile of weak words add up to a match). Only similarities of
at least ``floor`` count: unrelated words still score 0.0-0.2 with this model, and summed over
many words that noise would swamp the one word that matters.

    groups = WordGroups([["weekly", "active", "users"], ["requests", "second", "peak"]])
    groups.scores("How many people use the app each week?")   # [0.64, 0.0]
    groups.scores("Weekly?")                                   # [0.0, 0.0]: one word
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from agent.semantic.matcher import embed
from agent.semantic.model import Vectors

#: Words that say nothing about what a question asks for: function words, question words and the
#: words every clarifying question uses.
_PLAIN_TEXT = """a an the and or but so of to in on at by for with from as is are was
were be been being do does did doing have has had having it its it's this that these those there
their they them we our us you your i me my he she his her what what's which who whose whom how
when where why whether if than then can could would will should may might must shall any some
all each every much many more most very really just also too not no yes about into over under
out up down off again only own same such both few other like get got make made know tell say
said give let please thanks sorry ok okay question questions thing things right now today them
exactly actually even still ever kind sort lot bit way anything something someone"""
PLAIN_WORDS = frozenset(_PLAIN_TEXT.split())
_WORD = re.compile(r"[a-z][a-z0-9'-]*[a-z0-9]|[a-z]")
#: The similarity below which two words count as unrelated (see the module docstring).
FLOOR = 0.3
#: A text with fewer content words scores nothing: one word alone says too little about what is
#: asked ("Where do I start?" is not about the fact that replies are slow "at the start").
MIN_WORDS = 2


def content_words(text: str) -> list[str]:
    """The words of ``text`` that can carry its subject, lower-cased, in order, each once:
    letters (a number says which answer is wanted, not what about), not in
    :data:`PLAIN_WORDS`, at least three letters long."""
    out: list[str] = []
    for w in _WORD.findall(text.lower()):
        w = w.strip("'-")
        if w.endswith("'s"):
            w = w[:-2]
        if len(w) >= 3 and w not in PLAIN_WORDS and w not in out:
            out.append(w)
    return out


#: Words a keyword phrase may leave out of the question it names: articles and the modifiers
#: that say "more than one kind" without changing what is asked ("the price of the GPU" is the
#: "price of gpu*" of a fact's keywords, "how many different adapters" its "how many adapters").
FILLERS = frozenset({"the", "a", "an", "different", "distinct", "various", "separate",
                     "individual", "unique"})
_FILLER = re.compile(r"\b(?:" + "|".join(sorted(FILLERS)) + r")\s+", re.IGNORECASE)


def without_fillers(text: str) -> str:
    """``text`` with the :data:`FILLERS` before a word left out (what keyword rules are also
    matched against: agent.clarify.select.read); ``text`` itself when it has none."""
    return _FILLER.sub("", text)


class WordGroups:
    """Groups of reference words (one group per fact, say), embedded once."""

    def __init__(self, groups: Sequence[Sequence[str]], floor: float = FLOOR) -> None:
        self.floor = floor
        vocab: list[str] = []
        where: dict[str, int] = {}
        members: list[list[int]] = []
        for group in groups:
            ids = []
            for w in group:
                if w not in where:
                    where[w] = len(vocab)
                    vocab.append(w)
                ids.append(where[w])
            members.append(sorted(set(ids)))
        self.vocab = tuple(vocab)
        self.members = tuple(tuple(m) for m in members)
        self.vectors: Vectors = embed(self.vocab) if vocab else np.zeros((0, 1), np.float32)
        # The columns of every non-empty group side by side, and where each group starts: one
        # gather and one segmented max per query instead of a loop over the groups.
        self._filled = np.array([g for g, m in enumerate(self.members) if m], dtype=np.intp)
        self._order = np.array([i for m in self.members for i in m], dtype=np.intp)
        sizes = [len(m) for m in self.members if m]
        self._starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.intp)

    def __len__(self) -> int:
        return len(self.members)

    def best(self, words: Sequence[str]) -> Vectors:
        """For each query word (rows) and group (columns), the similarity of the group's closest
        word, 0.0 when below the floor (or for an empty group)."""
        out = np.zeros((len(words), len(self.members)), dtype=np.float32)
        if not words or not self.vocab:
            return out
        # One matrix-vector product per word: a matrix product of a few rows goes to a
        # multi-threaded BLAS kernel that costs ten times more on a busy machine (measured).
        sims = np.stack([self.vectors @ v for v in embed(words)])
        sims[sims < self.floor] = 0.0
        if len(self._filled):
            out[:, self._filled] = np.maximum.reduceat(sims[:, self._order], self._starts, axis=1)
        return out

    def scores(self, text: str) -> Vectors:
        """One figure per group: over the content words of ``text``, how much more closely the
        group matches each word than the next best group does (module docstring), summed and
        divided by the square root of the number of content words.
        Zeros when the text has fewer than :data:`MIN_WORDS` content words."""
        words = content_words(text)
        if len(words) < MIN_WORDS or not self.members:
            return np.zeros(len(self.members), dtype=np.float32)
        best = self.best(words)
        if len(self.members) > 1:
            second = np.partition(best, -2, axis=1)[:, -2:-1]
            best = np.clip(best - second, 0.0, None)
        return np.asarray(best.sum(axis=0) / np.sqrt(len(words)), dtype=np.float32)


#: Chat-box shorthand, read as the words it stands for before a question is matched ("how long
#: r the prompts on avg? also what hw are they on rn"): only a whole word standing alone, never
#: part of "r&d", "w/e" or a figure.
SHORTHAND = {
    "r": "are", "u": "you", "ur": "your", "rn": "right now", "ppl": "people", "hw": "hardware",
    "avg": "average", "tix": "tickets", "n": "and", "bc": "because", "b/c": "because",
    "cuz": "because", "coz": "because", "w/": "with", "w/o": "without", "abt": "about",
    "reqs": "requests", "req": "request", "approx": "approximately", "wanna": "want to",
    "gonna": "going to", "dunno": "don't know", "thru": "through", "tho": "though",
    "msgs": "messages", "msg": "message", "govt": "government", "prod": "production",
    "infra": "infrastructure", "mgmt": "management", "hrs": "hours",
    "hr": "hour", "mins": "minutes", "secs": "seconds", "yr": "year", "yrs": "years",
    "mo": "month", "mos": "months", "wk": "week", "wks": "weeks", "nite": "night",
}
_SHORTHAND = re.compile(
    r"(?<![\w&/.'-])(" + "|".join(re.escape(k) for k in sorted(SHORTHAND, key=len, reverse=True))
    + r")(?![\w&'-]|/\w|\.\w|\s*[=<>~])", re.IGNORECASE)


def unabbreviated(text: str) -> str:
    """``text`` with its chat shorthand (:data:`SHORTHAND`) written out."""
    return _SHORTHAND.sub(lambda m: SHORTHAND[m.group(1).lower()], text)
