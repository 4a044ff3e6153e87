"""Voice input on the server: a recorded answer, sent to the configured endpoint's
OpenAI-compatible ``/v1/audio/transcriptions``, comes back as text for the answer box (where the
candidate can edit it before sending). Browsers with their own speech recognition never call
this. Offline, there is no endpoint: the page hides voice input and says why."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, UploadFile

from agent.commands import MAX_ANSWER_CHARS, clean
from agent.web.api import owned
from agent.web.app import state_of
from agent.web.security import MAX_AUDIO_BYTES, check_csrf

router = APIRouter(prefix="/api")

#: Formats MediaRecorder produces and the transcription API accepts.
AUDIO_TYPES = ("audio/webm", "audio/ogg", "audio/mp4", "audio/mpeg", "audio/wav", "audio/x-wav",
               "audio/flac", "audio/m4a", "audio/x-m4a")
EXTENSIONS = {"audio/webm": "webm", "audio/ogg": "ogg", "audio/mp4": "mp4", "audio/mpeg": "mp3",
              "audio/wav": "wav", "audio/x-wav": "wav", "audio/flac": "flac",
              "audio/m4a": "m4a", "audio/x-m4a": "m4a"}


@router.post("/sessions/{sid}/transcribe")
async def transcribe(request: Request, sid: str, audio: UploadFile) -> dict[str, Any]:
    check_csrf(request)
    row = await owned(request, sid)
    web = state_of(request)
    client, model = web.engine.client, web.config.transcribe_model
    if client is None or model is None:
        raise HTTPException(409, detail=("voice_off", (
            "Voice input is off: this server runs offline, with no model endpoint to "
            "transcribe recordings." if client is None else
            "Transcription is turned off on this server (--no-transcription).")))
    kind = (audio.content_type or "").split(";")[0].strip().lower()
    if kind not in AUDIO_TYPES:
        raise HTTPException(415, detail=("bad_audio", (
            f"audio: {kind or 'no type'!r} is not a recording format the endpoint accepts "
            f"({', '.join(sorted(set(EXTENSIONS.values())))}).")))
    data = await audio.read(MAX_AUDIO_BYTES + 1)
    if not data:
        raise HTTPException(422, detail=("bad_audio", "audio: the recording is empty; hold the "
                                         "microphone button a little longer."))
    if len(data) > MAX_AUDIO_BYTES:
        raise HTTPException(413, detail=("too_large", "audio: the recording is over 25 MB; "
                                         "record a shorter answer."))
    from agent.model.client import ModelError

    def run() -> str:
        return client.transcribe(data, filename=f"answer.{EXTENSIONS[kind]}",
                                 content_type=kind, model=model, session_id=row.id)

    try:
        text: str = await web.runner.call(run)
    except ModelError as e:
        raise HTTPException(502, detail=("transcription_failed", (
            f"Your recording could not be transcribed: {e}. Type your answer instead, or try "
            "again."))) from None
    text = clean(text)[:MAX_ANSWER_CHARS]
    return {"text": text, "bytes": len(data)}
