"""Meaning-level matching of short texts with the local embedding model.

Every distinct text is embedded once per process (cached, thread-safe), and reference texts
(rubric exemplars, strong-answer notes, fact-sheet facts) are embedded once as an :class:`Index`.
Similarity is the cosine of mean-pooled token embeddings: it sees shared and related words, not
word order, so it cannot tell "we will canary it" from "we will not canary it" (0.81 measured);
negation is handled by rules before anything reaches it (agent/semantic/reading.py).

Built for reuse: the offline scorer matches claims against rubric exemplars, feedback matches
answers against strong-answer notes, and clarify can match a question against facts::

    facts = Index(tuple(f.topic + ": " + f.answer for f in case.facts))
    hits = facts.above(question, 0.45)          # [(fact index, similarity), ...] best first
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from agent.semantic.model import DIM, Vectors, model

#: Distinct texts kept embedded (about 1 KB each).
CACHE_SIZE = 50_000

_cache: OrderedDict[str, np.ndarray] = OrderedDict()
_cache_lock = threading.Lock()


def _key(text: str) -> str:
    if text.isprintable() and "  " not in text:  # no whitespace but single spaces (the
        return text.strip()  # other whitespace characters are not printable): nothing to do
    return " ".join(text.split())  # (re.sub(r"\s+", " ", text).strip(), faster)


def embed(texts: Sequence[str]) -> Vectors:
    """Unit vectors, one row per text (an empty text is the zero vector). Texts already
    embedded in this process are not embedded again; the rest go to the model in one batch."""
    def unit(todo: list[str]) -> Vectors:
        vecs = _pooled(todo)
        return np.asarray(vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12),
                          dtype=np.float32)

    return through_cache([_key(t) for t in texts], DIM, _cache, _cache_lock, CACHE_SIZE, unit)


def through_cache(keys: Sequence[str], dim: int, cache: OrderedDict[str, np.ndarray],
                  lock: threading.Lock, limit: int,
                  compute: Callable[[list[str]], Vectors]) -> Vectors:
    """One row per key: from ``cache`` where it holds the key, else computed by ``compute``
    (each missing distinct key once, in one call, outside the lock) and kept, the oldest
    dropped past ``limit``. An empty key is the zero vector."""
    out = np.zeros((len(keys), dim), dtype=np.float32)
    todo: dict[str, None] = {}
    with lock:
        for i, k in enumerate(keys):
            v = cache.get(k)
            if v is not None:
                out[i] = v
            elif k:
                todo[k] = None
    if todo:
        fresh = dict(zip(todo, compute(list(todo)), strict=True))
        with lock:
            cache.update(fresh)
            while len(cache) > limit:
                cache.popitem(last=False)
        for i, k in enumerate(keys):
            if k in fresh:
                out[i] = fresh[k]
    return out


def _pooled(texts: list[str]) -> Vectors:
    """Mean-pooled token embeddings, one row per text: what WordLlama's ``embed`` computes,
    done text by text (no padding to the longest text of a batch; several times faster on
    the short sentences of an answer)."""
    m = model()
    table = getattr(m, "embedding", None)
    tokenizer = getattr(m, "tokenizer", None)
    if table is None or tokenizer is None:
        return np.asarray(m.embed(texts, norm=False), dtype=np.float32)
    out = np.zeros((len(texts), table.shape[1]), dtype=np.float32)
    # One gather for the whole batch; each row's mean from a segment sum. Texts are encoded one
    # by one: encode_batch starts the tokenizer's thread pool, which a later fork (worker
    # processes, servers) must not inherit.
    encoded = [_token_ids(tokenizer, text) for text in texts]
    lengths = np.fromiter((len(ids) for ids in encoded), dtype=np.int64, count=len(encoded))
    rows = np.nonzero(lengths)[0]
    if len(rows):
        flat = np.fromiter((i for ids in encoded for i in ids), dtype=np.int64,
                           count=int(lengths.sum()))
        np.clip(flat, 0, table.shape[0] - 1, out=flat)
        starts = np.concatenate(([0], np.cumsum(lengths[rows])[:-1]))
        sums = np.add.reduceat(table[flat].astype(np.float32, copy=False), starts, axis=0)
        out[rows] = sums / lengths[rows, None]
    return out


#: Words whose token ids are kept (a word is ~5 ids; a long eval meets new words throughout,
#: so the memory is emptied when full).
WORD_CACHE_SIZE = 65_536
_words: dict[str, list[int]] = {}
#: Texts whose encoding may not be the concatenation of their words' (see _token_ids): the
#: model's special tokens, which the tokenizer splits out of the raw text before anything
#: else, and its own word-start mark.
_WHOLE_ONLY = ("<s>", "</s>", "<unk>", "\u2581")


def _token_ids(tokenizer: Any, text: str) -> list[int]:
    """``tokenizer.encode(text, add_special_tokens=False).ids``, word by word with each word's
    ids remembered: most of a new sentence's words have been seen before, and the tokenizer
    (BPE over the whole text, no pre-tokenizer) costs ~40 µs a sentence.
    The same ids: the model's tokenizer turns each space into the word-start mark "▁" (and
    prepends one), and no token of its vocabulary holds "▁" after another character
    (``tests/test_semantic.py`` checks this of the shipped vocabulary), so no merge joins the
    end of one word to the next: text "a b" ("▁a▁b") is "▁a" then "▁b". Only for texts as
    :func:`_key` leaves them (single spaces, none at either end); others are encoded whole."""
    if not text or "  " in text or text[0] == " " or text[-1] == " " \
            or any(w in text for w in _WHOLE_ONLY):
        return tokenizer.encode(text, add_special_tokens=False).ids  # type: ignore[no-any-return]
    words = _words
    out: list[int] = []
    for w in text.split(" "):
        ids = words.get(w)
        if ids is None:
            ids = tokenizer.encode(w, add_special_tokens=False).ids
            if len(words) >= WORD_CACHE_SIZE:
                words = {}  # replaced in one assignment: a reader on another thread is safe
                _reset_words(words)
            words[w] = ids
        out.extend(ids)
    return out


def _reset_words(fresh: dict[str, list[int]]) -> None:
    global _words
    _words = fresh


def similarity(a: str, b: str) -> float:
    """Cosine similarity of two texts, -1..1 (unrelated sentences score about 0-0.2)."""
    v = embed([a, b])
    return float(v[0] @ v[1])


class Index:
    """Reference texts embedded once; queries are compared against all of them at once."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = tuple(texts)
        self.vectors = embed(self.texts) if self.texts else np.zeros((0, DIM), np.float32)

    def __len__(self) -> int:
        return len(self.texts)

    def scores(self, queries: Sequence[str]) -> Vectors:
        """Similarity of every query (rows) to every reference text (columns)."""
        if not queries or not self.texts:
            return np.zeros((len(queries), len(self.texts)), dtype=np.float32)
        return embed(queries) @ self.vectors.T

    def best(self, query: str) -> tuple[int, float]:
        """(index, similarity) of the reference text closest to ``query``; (-1, 0.0) if empty."""
        if not self.texts:
            return -1, 0.0
        row = self.scores([query])[0]
        i = int(row.argmax())
        return i, float(row[i])

    def above(self, query: str, threshold: float) -> list[tuple[int, float]]:
        """Reference texts at least ``threshold`` similar to ``query``, best first."""
        if not self.texts:
            return []
        row = self.scores([query])[0]
        hits = [(int(i), float(row[i])) for i in np.nonzero(row >= threshold)[0]]
        return sorted(hits, key=lambda h: -h[1])


@lru_cache(maxsize=1024)
def index(texts: tuple[str, ...]) -> Index:
    """A cached :class:`Index`: rubric and case texts are embedded once per process."""
    return Index(texts)
