"""The local sentence-embedding model: WordLlama 0.4 (``l2_supercat``, 256 dimensions).

Its 16 MB of weights and its tokenizer ship inside the ``wordllama`` wheel, laid out as
WordLlama's own cache expects (``tokenizers/``, ``weights/``), so the package directory is the
cache directory and downloads are disabled: nothing is ever fetched at run time. (WordLlama
looks for weights in its own package first, then ``<cache_dir>/weights``; for the tokenizer only
``<cache_dir>/tokenizers``.) A missing or corrupt file is a :class:`SemanticModelError` that names
it.

Loaded lazily, once per process (about 0.5 s including the import); :func:`warm` starts that in
the background so the first scored answer does not wait for it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

CONFIG = "l2_supercat"
DIM = 256
TOKENIZER_FILE = "tokenizers/l2_supercat_tokenizer_config.json"
WEIGHTS_FILE = f"weights/{CONFIG}_{DIM}.safetensors"

Vectors = npt.NDArray[np.float32]


class SemanticModelError(RuntimeError):
    """The embedding model's files are missing or unreadable."""


class Embedder(Protocol):
    def embed(self, texts: list[str], norm: bool = ...) -> Any: ...


_lock = threading.Lock()
_model: Embedder | None = None
_error: SemanticModelError | None = None


def package_dir() -> Path:
    """Where the wordllama package (and so its weights and tokenizer) is installed."""
    import importlib.util

    spec = importlib.util.find_spec("wordllama")
    if spec is None or spec.origin is None:
        raise SemanticModelError(
            "the wordllama package is not installed (pip install -e . installs it)")
    return Path(spec.origin).parent


def _import_wordllama() -> Any:
    """Import wordllama without letting it configure logging: its ``__init__`` calls
    ``logging.basicConfig(level=INFO)``, which would add a handler to the root logger of
    whatever program imports us."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        import wordllama
    finally:
        for h in root.handlers[:]:
            if h not in handlers:
                root.removeHandler(h)
        root.setLevel(level)
    return wordllama


def load(cache_dir: Path | None = None) -> Embedder:
    """Load the model from ``cache_dir`` (default: the installed package), never downloading."""
    directory = cache_dir or package_dir()
    for rel in (TOKENIZER_FILE, WEIGHTS_FILE):
        if not (directory / rel).is_file():
            raise SemanticModelError(
                f"{directory / rel}: missing; the semantic matcher needs it and never "
                "downloads (reinstall wordllama>=0.4,<0.5)")
    wordllama = _import_wordllama()
    try:
        return wordllama.WordLlama.load(  # type: ignore[no-any-return]
            config=CONFIG, dim=DIM, cache_dir=directory, disable_download=True)
    except Exception as e:  # a corrupt file (the tokenizers library raises plain Exception)
        raise SemanticModelError(f"{directory}: could not load the embedding model: {e}") \
            from e


def model() -> Embedder:
    """The process's model, loaded on first use (thread-safe; a failure is remembered)."""
    global _model, _error
    if _model is not None:
        return _model
    with _lock:
        if _model is None and _error is None:
            try:
                _model = load()
            except SemanticModelError as e:
                _error = e
        if _error is not None:
            raise _error
        assert _model is not None
        return _model


def warm() -> None:
    """Start loading the model in the background (a no-op once loaded).

    Not a daemon thread: a daemon killed at interpreter exit while inside the tokenizers library
    aborts the whole process ("FATAL: exception not rethrown", exit -6) after a clean run. Exit
    waits for the load instead (a fraction of a second).
    """
    if _model is None and _error is None:
        threading.Thread(target=_warm, name="semantic-warm", daemon=False).start()


def _warm() -> None:
    with contextlib.suppress(SemanticModelError):  # reported by the first real use
        model()
