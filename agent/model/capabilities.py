"""What an endpoint and model can do for structured output, learned by asking and remembered.

Structured calls try, in order (``STRUCTURED_MODES``):

1. ``json_schema``: ``response_format={"type": "json_schema", ...}`` (OpenAI, vLLM, Ollama,
   LM Studio);
2. ``json_object_schema``: ``{"type": "json_object", "schema": ...}`` (llama-cpp-python's server
   answers json_schema with HTTP 500 but takes this; Fireworks too), the schema also in the
   prompt;
3. ``json_object``: plain JSON mode, the schema in the prompt;
4. ``prompt``: no ``response_format`` at all, the schema in the prompt, the JSON object read
   out of whatever the model wraps it in.

A mode is left when the endpoint rejects the request naming the parameter (any 4xx/5xx whose
body mentions ``response_format``, ``json_schema`` or ``json_object``); what worked is stored per
endpoint and model (agent/store.py), shown by ``interviewer doctor`` and ``interviewer trace``.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

STRUCTURED_MODES: tuple[str, ...] = ("json_schema", "json_object_schema", "json_object", "prompt")
MODE_LABELS = {
    "json_schema": "json_schema",
    "json_object_schema": "json_object with the schema",
    "json_object": "json_object (schema in the prompt)",
    "prompt": "plain JSON (schema in the prompt)",
}

#: An error body that names the structured-output parameter: the request was rejected for it.
REJECTS_FORMAT = re.compile(r"response_format|json_schema|json_object", re.IGNORECASE)


@dataclass
class Capabilities:
    """What one endpoint + model was seen to accept."""

    structured: str = STRUCTURED_MODES[0]
    """The structured-output mode to use (the first that was not rejected)."""
    rejected: dict[str, str] = field(default_factory=dict)
    """mode -> what the endpoint answered when it rejected that mode."""
    stream_usage: bool | None = None
    """Whether streamed replies carried token usage (None: not seen yet)."""
    updated: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Capabilities:
        if not isinstance(data, dict):
            return cls()
        mode = data.get("structured")
        rejected = data.get("rejected")
        usage = data.get("stream_usage")
        return cls(
            structured=mode if mode in STRUCTURED_MODES else STRUCTURED_MODES[0],
            rejected={str(k): str(v) for k, v in rejected.items()}
            if isinstance(rejected, dict) else {},
            stream_usage=usage if isinstance(usage, bool) else None,
            updated=float(data.get("updated") or 0.0),
        )

    def describe(self) -> str:
        """One line: the mode in use and why the earlier ones were left."""
        text = f"structured output: {MODE_LABELS[self.structured]}"
        gone = [f"{MODE_LABELS[m]} rejected ({why})" for m, why in self.rejected.items()]
        if gone:
            text += "; " + "; ".join(gone)
        if self.stream_usage is False:
            text += "; no token usage in streams (counted locally)"
        return text


class CapabilityStore(Protocol):
    """Where learned capabilities persist (agent/store.py's Store)."""

    def load_capabilities(self, base_url: str, model: str) -> dict[str, Any] | None: ...

    def save_capabilities(self, base_url: str, model: str, data: dict[str, Any]) -> None: ...


def next_mode(mode: str) -> str | None:
    i = STRUCTURED_MODES.index(mode)
    return STRUCTURED_MODES[i + 1] if i + 1 < len(STRUCTURED_MODES) else None


def response_format(mode: str, name: str, schema: dict[str, Any]) -> dict[str, Any] | None:
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema}}
    if mode == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def schema_messages(mode: str, msgs: list[dict[str, str]], schema: dict[str, Any]
                    ) -> list[dict[str, str]]:
    """The messages for ``mode``: every mode but json_schema also states the schema in the
    system message, since the server may not enforce it."""
    if mode == "json_schema":
        return msgs
    note = (
        "Reply with a single JSON object and nothing else. It must validate against this "
        f"JSON schema:\n<json_schema>\n{json.dumps(schema)}\n</json_schema>"
    )
    if msgs and msgs[0]["role"] == "system":
        return [{"role": "system", "content": msgs[0]["content"] + "\n\n" + note}, *msgs[1:]]
    return [{"role": "system", "content": note}, *msgs]


_FENCED = re.compile(r"```(?:json)?\s*(\{.*\})\s*```", re.DOTALL | re.IGNORECASE)


def extract_json(raw: str) -> str:
    """The JSON object in a reply made without a server-enforced format: inside a ```json
    fence, or from the first ``{`` to the last ``}``; the reply itself when neither applies
    (validation then says what is wrong)."""
    text = raw.strip()
    if text.startswith("{") and text.endswith("}"):
        return text
    m = _FENCED.search(text)
    if m:
        return m.group(1)
    start, end = text.find("{"), text.rfind("}")
    return text[start:end + 1] if 0 <= start < end else text


def stamp(caps: Capabilities) -> Capabilities:
    caps.updated = time.time()
    return caps
