"""Server personalities for the loopback fake endpoint (evals/fake_endpoint.py).

**Quirks** mimic the OpenAI-compatible servers people run (``--quirks NAME``): which
``response_format`` types they accept and how they refuse the others, whether streams carry
token usage, and whether they serve one request at a time (with a per-call compute delay,
``--call-delay-s``). Facts marked *measured* were seen on these machines; the rest follow each
server's documentation and issue tracker at the time of writing.

**Misbehaviours** mimic what weak models say (``--misbehave KIND``), applied to free-text
(interviewer speech) requests only: structured requests are answered normally.

Kept apart from the server's plumbing so more personalities (or routes, e.g. batches) can be
added without touching it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class Quirks:
    name: str
    json_schema: Literal["ok", "400", "500"] = "ok"
    """How ``response_format: {"type": "json_schema"}`` is answered."""
    json_object: Literal["ok", "400"] = "ok"
    """How ``{"type": "json_object"}`` (with or without a "schema") is answered."""
    stream_usage: Literal["include_usage", "never", "finish_chunk"] = "include_usage"
    """Token usage in streams: on request (stream_options.include_usage, a last chunk with no
    choices), never, or always, inside the chunk that carries the finish reason."""
    serial: bool = False
    """One request at a time; the others queue."""
    error_shape: Literal["openai", "string"] = "openai"
    """{"error": {"message": ...}} or {"error": "..."}."""
    note: str = ""

    def refusal(self, fmt: dict[str, Any] | None) -> tuple[int, str] | None:
        """(status, message) when this server refuses ``response_format``, else None."""
        kind = fmt.get("type") if isinstance(fmt, dict) else None
        if kind == "json_schema" and self.json_schema == "500":
            # llama-cpp-python's server: request validation fails inside the handler.
            return 500, ("[{'type': 'literal_error', 'loc': ('body', 'response_format', "
                         "'type'), 'msg': \"Input should be 'text' or 'json_object'\", "
                         "'input': 'json_schema', 'ctx': {'expected': \"'text' or "
                         "'json_object'\"}}]")
        if kind == "json_schema" and self.json_schema == "400":
            return 400, ("response_format json_schema is not supported by this server; use "
                         "json_object.")
        if kind == "json_object" and self.json_object == "400":
            return 400, "'response_format.type' must be 'json_schema' or 'text'"
        return None


QUIRKS: dict[str, Quirks] = {
    "openai": Quirks("openai", note="the reference: json_schema, json_object, usage on request"),
    "fireworks": Quirks("fireworks", stream_usage="finish_chunk",
                        note="usage comes with the finish chunk, asked for or not"),
    "vllm": Quirks("vllm", note="json_schema by guided decoding; serves many at once"),
    "ollama": Quirks("ollama", serial=True,
                     note="structured outputs since 0.5, stream usage since 0.5.2; one request "
                          "at a time on a small machine"),
    "llamacpp": Quirks("llamacpp", json_schema="500", stream_usage="never", serial=True,
                       note="measured (llama-cpp-python[server] 0.3.36): json_schema -> HTTP "
                            "500, json_object with a schema accepted, no usage in streams, "
                            "one request at a time"),
    "lmstudio": Quirks("lmstudio", json_object="400", error_shape="string", serial=True,
                       note="json_schema only: json_object -> HTTP 400 \"'response_format.type'"
                            " must be 'json_schema' or 'text'\""),
}

MISBEHAVIOURS = ("off_role", "echo", "tags", "loop", "slow_first_token", "empty", "truncate")
"""What a weak model does with interviewer speech:
- off_role: chatter instead of the line ("I'm glad you're excited about the interview...");
- echo: the prompt read back ("You asked the candidate to ...");
- tags: the right line with a stray prompt tag after it ("...?</followup>");
- loop: two sentences repeated until the client hangs up (the stream never ends by itself);
- slow_first_token: headers at once, then nothing for ``slow_s`` seconds;
- empty: a finished reply with no text;
- truncate: part of the line, then the body ends with no finish reason and no [DONE] (what
  llama.cpp's server does when it is stopped mid-stream; measured)."""

OFF_ROLE = ("I'm glad you're excited about the interview. I'll be here to answer your question "
            "whenever you're ready.")
LOOP = "That is a good point to raise here. We can keep going from there when you are ready. "
_PROBE = re.compile(r"<probe>\s*(.*?)\s*</probe>", re.DOTALL)
_FACTS = re.compile(r"<facts>\s*(.*?)\s*</facts>", re.DOTALL)


def misbehaving_content(kind: str, good: str, body: dict[str, Any]) -> str:
    """The reply text a misbehaving model gives where ``good`` was due."""
    text = "\n".join(str(m.get("content") or "") for m in body.get("messages") or []
                     if isinstance(m, dict))
    if kind == "off_role":
        return OFF_ROLE
    if kind == "echo":
        found = _PROBE.search(text) or _FACTS.search(text)
        topic = (found.group(1) if found else text).strip().rstrip("?.").lower()[:80]
        return f"You asked the candidate to {topic}, which is a common topic for this interview."
    if kind == "tags":
        return f"{good.strip()}</followup>"
    if kind in ("empty", "slow_first_token"):
        return "" if kind == "empty" else good
    if kind == "loop":
        return LOOP
    if kind == "truncate":
        return " ".join(good.split()[:2]) or "ok"
    raise ValueError(f"unknown misbehaviour {kind!r}")
