"""What went wrong with a model call, in words fit to show: the exceptions the client raises,
and how an endpoint's answer is described (whole, within a length bound, never cut mid-word).

Light on purpose (no SDK import): the trace and the command line use it too.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Longest description of an endpoint's answer kept in an error or the call log.
MAX_REASON_CHARS = 300

_WS = re.compile(r"\s+")


class ModelError(RuntimeError):
    """A model call that failed; the message is redacted and fit to show the user."""


class ModelUnavailable(ModelError):
    """The endpoint could not be reached, timed out, or kept failing after retries (and any
    fallback model)."""


class ModelRejected(ModelError):
    """The endpoint answered, and refused the request (HTTP 4xx): it is responding, but will
    not do this. Never reported as "not responding"."""


class ModelSlow(ModelError):
    """The reply missed its time budget (first word or whole reply); the request was cancelled
    (connection closed) and whatever came late is discarded."""


class ReplyRejected(ModelError):
    """A streamed reply failed the caller's check (agent/model/guards.py); the stream was
    stopped there. ``reason`` says why, ``text`` is what had arrived."""

    def __init__(self, reason: str, text: str) -> None:
        super().__init__(reason)
        self.reason, self.text = reason, text


class TruncatedReply(ModelError):
    """A stream ended without a finish reason or ``[DONE]`` (the server stopped mid-reply),
    and asking again did not help: the fragment is never taken as a whole reply."""


class StructuredOutputError(ModelError):
    """The model's replies never validated against the schema within the attempt budget.
    ``value`` holds the last reply that parsed but failed the caller's check, if any, so a
    caller can keep its valid parts."""

    def __init__(self, message: str, value: Any = None) -> None:
        super().__init__(message)
        self.value = value


def clip(text: str, limit: int = MAX_REASON_CHARS) -> str:
    """``text`` on one line, whole when it fits in ``limit`` characters; otherwise cut at the
    last space before the limit (never inside a word) and marked with how much was left out."""
    text = _WS.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit - 20)
    cut = cut if cut > limit // 2 else limit - 20
    return f"{text[:cut].rstrip()} … [{len(text) - cut:,} more characters]"


def answer_text(status: int | None, body: Any, raw: str = "") -> str:
    """What the endpoint said, for a message: ``HTTP 500: <its error message>``. The message
    is taken from the usual error shapes ({"error": {"message": ...}}, {"error": "..."},
    {"detail": ...}, {"message": ...}), else the raw body."""
    said = _message_of(body) or raw.strip()
    head = f"HTTP {status}" if status else "the endpoint"
    return clip(f"{head}: {said}" if said else head)


def _message_of(body: Any) -> str:
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return str(body)
    if isinstance(body, dict):
        for key in ("error", "detail", "message"):
            value = body.get(key)
            if isinstance(value, dict):
                inner = value.get("message") or value.get("msg") or value.get("detail")
                if inner:
                    return str(inner)
                return json.dumps(value, ensure_ascii=False)
            if isinstance(value, list) and value:
                return "; ".join(str(v.get("msg", v)) if isinstance(v, dict) else str(v)
                                 for v in value[:3])
            if value:
                return str(value)
        # The SDK hands over the "error" object itself as the body.
        if "message" not in body and "msg" in body:
            return str(body["msg"])
    if isinstance(body, list) and body:
        return "; ".join(str(v.get("msg", v)) if isinstance(v, dict) else str(v)
                         for v in body[:3])
    return ""
