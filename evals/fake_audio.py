"""The fake endpoint's ``POST /v1/audio/transcriptions`` (OpenAI's shape): a multipart upload
with ``file`` and ``model`` in, ``{"text": ...}`` out.

It cannot hear anything. It checks the upload the way a real server would (a ``file`` part that
is not empty, a ``model``), answers with :data:`TRANSCRIPT`, and logs what it received (never
the audio itself): its size, content type, file name, model and whether it starts like a
WebM/Ogg/WAV/MP4 file, so tests can tell a real browser recording arrived.
"""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

#: What every recording "says".
TRANSCRIPT = "I would start by asking who the customer is and what latency they have promised."

_MAGIC = {b"\x1aE\xdf\xa3": "webm", b"OggS": "ogg", b"RIFF": "wav", b"fLaC": "flac"}


def container(data: bytes) -> str | None:
    """The audio container ``data`` starts like, if any."""
    for magic, name in _MAGIC.items():
        if data.startswith(magic):
            return name
    if data[4:8] == b"ftyp":
        return "mp4"
    return None


def parse_form(content_type: str, raw: bytes) -> dict[str, tuple[str | None, str | None, bytes]]:
    """multipart/form-data parts by name: (file name, content type, bytes)."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw)
    parts: dict[str, tuple[str | None, str | None, bytes]] = {}
    if not message.is_multipart():
        return parts
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        parts[name] = (part.get_filename(), part.get_content_type(),
                       payload if isinstance(payload, bytes) else b"")
    return parts


def transcribe(content_type: str, raw: bytes) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """(status, response body, log entry) for one transcription request."""
    if not content_type.startswith("multipart/form-data"):
        return 400, _error("Expected multipart/form-data."), {"error": "not multipart"}
    parts = parse_form(content_type, raw)
    filename, kind, data = parts.get("file", (None, None, b""))
    model = parts.get("model", (None, None, b""))[2].decode("utf-8", "replace")
    entry = {"route": "transcriptions", "model": model, "filename": filename,
             "content_type": kind, "bytes": len(data), "container": container(data)}
    if not data:
        return 400, _error("The 'file' field is missing or empty."), entry
    if not model:
        return 400, _error("The 'model' field is required."), entry
    return 200, {"text": TRANSCRIPT}, entry


def _error(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": "file",
                      "code": None}}
