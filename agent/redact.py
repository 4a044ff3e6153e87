"""Removing secrets from text that may be shown or stored.

A light module (``re`` only) so the command line can redact its error messages without
importing the OpenAI SDK; ``agent.model.client`` uses the same function for everything it records.
"""

from __future__ import annotations

import re

_SECRETISH = re.compile(
    r"(?i)(authorization|api[-_]?key|x-api-key)(['\"]?\s*[:=]\s*['\"]?)(bearer\s+)?[^\s'\",}]+"
    r"|\bsk-[A-Za-z0-9_\-]{8,}|\bfw_[A-Za-z0-9]{8,}|\bBearer\s+[A-Za-z0-9_\-.]{8,}"
)


def redact(text: str, *secrets: str | None) -> str:
    """Remove keys and header values from text that may be shown or stored."""
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "[redacted]")
    return _SECRETISH.sub(
        lambda m: f"{m.group(1)}{m.group(2)}[redacted]" if m.group(1) else "[redacted]", text
    )
