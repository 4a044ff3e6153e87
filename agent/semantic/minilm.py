"""Clarify's sentence encoder: all-MiniLM-L6-v2 (a 6-layer BERT trained for sentence
similarity, 384 dimensions, Apache-2.0 upstream), run by a forward pass in numpy, no torch.

Clarify matches a question to the facts it asks about by the mean of this model's cosine and
WordLlama's (agent/clarify/select.py, ``blend``): a trained sentence encoder ranks the right fact
first where mean-pooled word vectors do not ("what went wrong with our first try?").

The weights are not in our wheel: ``interviewer setup`` (agent/semantic/fetch.py) puts the model
directory of the sentence-transformers layout (``config.json``, ``tokenizer.json``,
``model.safetensors``, ``1_Pooling/config.json``, ``sentence_bert_config.json``) in
:func:`model_dir`: ``INTERVIEWER_MINILM_DIR``, else ``all-MiniLM-L6-v2`` in the user's cache
directory. Without it clarify reads WordLlama alone (:func:`available`). A missing or
unreadable file is a :class:`agent.semantic.model.SemanticModelError` naming it.

What it computes is what sentence-transformers computes for this model: WordPiece tokens with
``[CLS]`` and ``[SEP]`` (lower-cased, truncated to 256 tokens, ``max_seq_length`` of
``sentence_bert_config.json``), word + position + token-type embeddings and LayerNorm, then per
layer 12-head self-attention (padding masked out), residual and LayerNorm, a GELU (exact, erf)
feed-forward, residual and LayerNorm; the last layer's token vectors averaged over the real
tokens (padding excluded) and scaled to unit length.

Texts are batched by token length (a batch pads to its longest text), so a text's vector does
not depend on what it was batched with beyond float rounding (``tests/test_minilm.py``). The
products run on one BLAS thread: with its default threads on a busy 2-core machine a sentence
took 75-184 ms instead of 7-11. A reference set's vectors (a case's fact index: 3 s to compute)
are kept on disk beside the model, keyed by the model file and the texts (:class:`Index`).

    enc = encoder()                       # loaded once per process
    enc.embed(["How fast must it answer?", "p99 latency target"])   # (2, 384) unit rows
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from agent.semantic.model import SemanticModelError

ENV = "INTERVIEWER_MINILM_DIR"
#: Texts longer than this many tokens (with [CLS] and [SEP]) are cut, as sentence-transformers
#: does for this model.
MAX_TOKENS = 256
#: Texts embedded per forward pass (sorted by length first, so little padding)...
BATCH = 32
#: ...and at most this many tokens, padding included (the attention scores of a batch grow with
#: the square of its longest text: this keeps a batch of long references to tens of MB).
BATCH_TOKENS = 2048
#: Distinct texts kept embedded (1.5 KB each).
CACHE_SIZE = 50_000

Vectors = npt.NDArray[np.float32]


def _erf(x: np.ndarray) -> np.ndarray:
    """erf, Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7; numpy has no erf and
    scipy is no runtime dependency)."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027
                                                                          + t * 1.061405429))))
    return np.asarray(sign * (1.0 - poly * np.exp(-a * a)), dtype=x.dtype)


def _gelu(x: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * x * (1.0 + _erf(x * np.float32(1 / np.sqrt(2)))), dtype=x.dtype)


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return np.asarray((x - mean) / np.sqrt(var + eps) * w + b, dtype=np.float32)


class MiniLM:
    """The encoder: tokenizer, weights and config of one model directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        need = ("config.json", "tokenizer.json", "model.safetensors")
        for rel in need:
            if not (directory / rel).is_file():
                raise SemanticModelError(f"{directory / rel}: missing (set {ENV} to the "
                                         "all-MiniLM-L6-v2 model directory)")
        try:
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer

            cfg = json.loads((directory / "config.json").read_text(encoding="utf-8"))
            pooling = directory / "1_Pooling" / "config.json"
            if pooling.is_file() and not json.loads(
                    pooling.read_text(encoding="utf-8")).get("pooling_mode_mean_tokens", True):
                raise SemanticModelError(f"{pooling}: this encoder does mean pooling only")
            sbert = directory / "sentence_bert_config.json"
            self.max_tokens = int(json.loads(sbert.read_text(encoding="utf-8"))
                                  .get("max_seq_length", MAX_TOKENS)) if sbert.is_file() \
                else MAX_TOKENS
            tok = Tokenizer.from_file(str(directory / "tokenizer.json"))
            tok.no_padding()  # the file pads every text to 128: batches pad here instead
            tok.enable_truncation(self.max_tokens)
            self.tokenizer = tok
            w = load_file(str(directory / "model.safetensors"))
        except SemanticModelError:
            raise
        except Exception as e:  # a corrupt file (the tokenizers library raises plain Exception)
            raise SemanticModelError(f"{directory}: could not load the MiniLM model: {e}") from e
        if cfg.get("model_type") != "bert" or cfg.get("hidden_act") != "gelu" \
                or cfg.get("position_embedding_type", "absolute") != "absolute":
            raise SemanticModelError(f"{directory / 'config.json'}: not a BERT this encoder runs")
        self.hidden = int(cfg["hidden_size"])
        self.heads = int(cfg["num_attention_heads"])
        self.layers = int(cfg["num_hidden_layers"])
        self.eps = float(cfg.get("layer_norm_eps", 1e-12))
        self.dim = self.hidden

        def get(name: str) -> np.ndarray:
            if name not in w:
                raise SemanticModelError(f"{directory / 'model.safetensors'}: no {name}")
            return np.ascontiguousarray(w[name], dtype=np.float32)

        self.word = get("embeddings.word_embeddings.weight")
        self.position = get("embeddings.position_embeddings.weight")
        self.token_type = get("embeddings.token_type_embeddings.weight")
        self.emb_ln: tuple[np.ndarray, np.ndarray] = (get("embeddings.LayerNorm.weight"),
                                                      get("embeddings.LayerNorm.bias"))
        self.blocks: list[dict[str, Any]] = []
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            q, k, v = (get(p + f"attention.self.{n}.weight") for n in ("query", "key", "value"))
            qb, kb, vb = (get(p + f"attention.self.{n}.bias") for n in ("query", "key", "value"))
            self.blocks.append({
                # one product for query, key and value: (hidden, 3 * hidden)
                "qkv": np.ascontiguousarray(np.concatenate([q, k, v]).T),
                "qkv_b": np.concatenate([qb, kb, vb]),
                "out": np.ascontiguousarray(get(p + "attention.output.dense.weight").T),
                "out_b": get(p + "attention.output.dense.bias"),
                "ln1": (get(p + "attention.output.LayerNorm.weight"),
                        get(p + "attention.output.LayerNorm.bias")),
                "up": np.ascontiguousarray(get(p + "intermediate.dense.weight").T),
                "up_b": get(p + "intermediate.dense.bias"),
                "down": np.ascontiguousarray(get(p + "output.dense.weight").T),
                "down_b": get(p + "output.dense.bias"),
                "ln2": (get(p + "output.LayerNorm.weight"), get(p + "output.LayerNorm.bias")),
            })

    def token_ids(self, text: str) -> list[int]:
        """The text's WordPiece ids with [CLS] and [SEP], truncated. One by one, never
        ``encode_batch``: its thread pool must not be inherited by a later fork."""
        return list(self.tokenizer.encode(text).ids)

    def forward(self, ids: Sequence[Sequence[int]]) -> Vectors:
        """Mean-pooled, unit-length vectors of token-id sequences (padded to the longest)."""
        n, length = len(ids), max(len(s) for s in ids)
        tok = np.zeros((n, length), dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.float32)
        for r, s in enumerate(ids):
            tok[r, :len(s)] = s
            mask[r, :len(s)] = 1.0
        h = self.word[tok] + self.position[:length][None] + self.token_type[0]
        h = _layer_norm(h.reshape(n * length, self.hidden), *self.emb_ln, self.eps)
        heads, dh = self.heads, self.hidden // self.heads
        # padding keys get -inf-like scores: exp() of them is exactly 0
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(dh))
        for b in self.blocks:
            # dense layers on (tokens, hidden) 2-D arrays: one BLAS product each
            qkv = (h @ b["qkv"] + b["qkv_b"]).reshape(n, length, 3, heads, dh)
            q = np.ascontiguousarray(qkv[:, :, 0].transpose(0, 2, 1, 3))  # (n, heads, len, dh)
            k = np.ascontiguousarray(qkv[:, :, 1].transpose(0, 2, 3, 1))  # (n, heads, dh, len)
            v = np.ascontiguousarray(qkv[:, :, 2].transpose(0, 2, 1, 3))
            att = (q @ k) * scale + bias
            att -= att.max(axis=-1, keepdims=True)
            np.exp(att, out=att)
            att /= att.sum(axis=-1, keepdims=True)
            ctx = (att @ v).transpose(0, 2, 1, 3).reshape(n * length, self.hidden)
            h = _layer_norm(ctx @ b["out"] + b["out_b"] + h, b["ln1"][0], b["ln1"][1], self.eps)
            ff = _gelu(h @ b["up"] + b["up_b"]) @ b["down"] + b["down_b"]
            h = _layer_norm(ff + h, b["ln2"][0], b["ln2"][1], self.eps)
        h = h.reshape(n, length, self.hidden)
        pooled = (h * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1), 1.0)[:, None]
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.asarray(pooled / np.maximum(norms, 1e-12), dtype=np.float32)

    def encode(self, texts: Sequence[str], batch: int = BATCH) -> Vectors:
        """Unit vectors of ``texts`` (uncached), batched by token length."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = [self.token_ids(t) for t in texts]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        rows: list[int] = []
        for i in order:  # ascending length: the text joining a batch is its longest
            if rows and (len(rows) >= batch or (len(rows) + 1) * len(ids[i]) > BATCH_TOKENS):
                out[rows] = self.forward([ids[r] for r in rows])
                rows = []
            rows.append(i)
        if rows:
            out[rows] = self.forward([ids[r] for r in rows])
        return out


_lock = threading.Lock()
_encoder: MiniLM | None = None
_error: SemanticModelError | None = None
_cache: OrderedDict[str, np.ndarray] = OrderedDict()


#: The files the encoder reads (``interviewer setup`` puts exactly these in :func:`model_dir`).
FILES = ("config.json", "tokenizer.json", "model.safetensors", "1_Pooling/config.json",
         "sentence_bert_config.json")


def model_dir() -> Path:
    """``INTERVIEWER_MINILM_DIR``, else ``all-MiniLM-L6-v2`` in the user's cache directory."""
    value = os.environ.get(ENV, "").strip()
    if value:
        return Path(value).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("interviewer", appauthor=False)) / "all-MiniLM-L6-v2"


def available() -> bool:
    """Whether :func:`model_dir` holds every file the encoder reads (not whether they load)."""
    d = model_dir()
    return all((d / rel).is_file() for rel in FILES)


def encoder() -> MiniLM:
    """The process's encoder, loaded on first use (thread-safe; a failure is remembered)."""
    global _encoder, _error
    if _encoder is not None:
        return _encoder
    with _lock:
        if _encoder is None and _error is None:
            try:
                _encoder = MiniLM(model_dir())
            except SemanticModelError as e:
                _error = e
        if _error is not None:
            raise _error
        assert _encoder is not None
        return _encoder


def embed(texts: Sequence[str]) -> Vectors:
    """Unit vectors, one row per text (an empty text is the zero vector), each distinct text
    encoded once per process (white space collapsed first)."""
    from agent.semantic.matcher import through_cache

    enc = encoder()
    return through_cache([" ".join(t.split()) for t in texts], enc.dim, _cache, _lock,
                         CACHE_SIZE, lambda todo: _one_thread(enc.encode, todo))


_controller: Any = None
_encode_lock = threading.Lock()


def _one_thread(fn: Any, texts: list[str]) -> Vectors:
    """``fn(texts)`` with BLAS limited to one thread (see the module's docstring). One
    controller per process: ``threadpool_limits()`` inspects the loaded libraries on every call
    (0.5 ms; its controller's ``limit()`` 0.01 ms)."""
    global _controller
    with _encode_lock:  # the limit is process-wide: two at once could restore it wrongly
        if _controller is None:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
        with _controller.limit(limits=1, user_api="blas"):
            return np.asarray(fn(texts), dtype=np.float32)


def _stored_path(texts: Sequence[str]) -> Path:
    """Where a reference set's vectors are kept: named by the model file's identity and the
    texts, so an edited fact or a new model never reads stale vectors."""
    weights = model_dir() / "model.safetensors"
    st = weights.stat()
    h = hashlib.sha256(f"{st.st_size}:{st.st_mtime_ns}\n".encode())
    for t in texts:
        h.update(t.encode("utf-8", "surrogatepass") + b"\0")
    return model_dir() / "index-cache" / f"{h.hexdigest()[:32]}.npy"


def _stored(texts: Sequence[str]) -> Vectors:
    """:func:`embed` of a reference set, through its file on disk when it has one (written
    atomically; a file that cannot be written or read is only a slower start)."""
    try:
        path = _stored_path(texts)
    except OSError:
        return embed(texts)
    dim = encoder().dim
    try:
        v = np.load(path, allow_pickle=False)
        if v.shape == (len(texts), dim) and v.dtype == np.float32:
            return np.asarray(v)
    except (OSError, ValueError):
        pass
    v = embed(texts)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npy.tmp")
        with os.fdopen(fd, "wb") as f:
            np.save(f, v, allow_pickle=False)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return v


class Index:
    """Reference texts embedded once with MiniLM: the part of
    :class:`agent.semantic.matcher.Index` that clarify uses (``scores``)."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = tuple(texts)
        self.vectors = _stored(self.texts) if self.texts else np.zeros((0, 384), np.float32)

    def __len__(self) -> int:
        return len(self.texts)

    def scores(self, queries: Sequence[str]) -> Vectors:
        """Cosine similarity of every query (rows) to every reference text (columns)."""
        if not queries or not self.texts:
            return np.zeros((len(queries), len(self.texts)), dtype=np.float32)
        return np.asarray(embed(queries) @ self.vectors.T, dtype=np.float32)
