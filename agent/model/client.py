"""The model client: the only module that talks to the network.

Every call goes through the ``openai`` SDK to an OpenAI-compatible endpoint. We always hand the
SDK an ``httpx.Client`` of our own (openai>=3 defaults to ``httpx2``): that keeps one HTTP stack,
lets tests intercept at the wire with respx, and lets us count the SDK's retries with an event
hook. Retries with backoff on 429/5xx/timeouts (honouring ``Retry-After``) are the SDK's own.

Structured outputs ask for ``json_schema``; an endpoint that rejects it is switched to JSON mode
with the schema in the prompt, and every reply is validated by pydantic with a bounded number of
attempts. Each logical call is recorded (time, purpose, model, prompt hash, tokens, latency,
retries, outcome) through a callback; keys never reach a record or an error message.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, Protocol, TypeVar

import httpx
import openai
from pydantic import BaseModel, ValidationError

from agent import tokens
from agent.config import Settings
from agent.redact import redact

T = TypeVar("T", bound=BaseModel)
Message = dict[str, str]
Purpose = Literal["interviewer", "assessment", "judge", "coach", "simulation", "transcription"]


@dataclass
class CallRecord:
    """One logical model call, as stored in the call log."""

    purpose: str
    model: str
    prompt_hash: str
    session_id: str | None = None
    ts: float = field(default_factory=time.time)
    prompt_tokens: int = 0
    """As reported by the endpoint when it reports usage, else our tiktoken count."""
    completion_tokens: int = 0
    counted_prompt_tokens: int = 0
    """Our own tiktoken count of what was sent (for budgets, and to check reported usage)."""
    latency_ms: float = 0.0
    retries: int = 0
    outcome: str = "ok"
    error: str | None = None
    cached: bool = False


Recorder = Callable[[CallRecord], None]


class CallCache(Protocol):
    """A model-call cache (see agent/cache.py)."""

    def lookup(self, key: str, describe: str) -> str | None: ...

    def store(self, key: str, value: str, describe: str = "") -> None: ...


class ModelError(RuntimeError):
    """A model call that failed; the message is redacted and fit to show the user."""


class ModelUnavailable(ModelError):
    """The endpoint could not be reached or kept failing after retries (and any fallback)."""


class StructuredOutputError(ModelError):
    """The model's replies never validated against the schema within the attempt budget.
    ``value`` holds the last reply that parsed but failed the caller's check, if any, so a
    caller can keep its valid parts."""

    def __init__(self, message: str, value: Any = None) -> None:
        super().__init__(message)
        self.value = value


class Restart:
    """Yielded by :meth:`ModelClient.stream` when a stream broke and is being retried:
    the consumer should discard the text it has shown for this utterance."""


def cache_key(model: str, params: dict[str, Any], messages: Sequence[Message]) -> str:
    """Key = model + every generation parameter + messages + response schema."""
    blob = json.dumps(
        {"model": model, "params": params, "messages": list(messages)},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


class _TracingTransport(httpx.BaseTransport):
    """Wraps the HTTP transport to note every failed attempt (status or exception), including
    the ones the SDK retries by itself, so the call log shows what was survived."""

    def __init__(self, inner: httpx.BaseTransport, failures: threading.local) -> None:
        self.inner = inner
        self.failures = failures

    def _note(self, what: str) -> None:
        if not hasattr(self.failures, "list"):
            self.failures.list = []
        self.failures.list.append(what)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = self.inner.handle_request(request)
        except httpx.TimeoutException:
            self._note("timeout")
            raise
        except httpx.TransportError as e:
            self._note(f"connection error ({type(e).__name__})")
            raise
        if response.status_code >= 400:
            self._note(f"HTTP {response.status_code}")
        return response

    def close(self) -> None:
        self.inner.close()


class ModelClient:
    """Chat completions against one OpenAI-compatible endpoint."""

    def __init__(
        self,
        settings: Settings,
        *,
        recorder: Recorder | None = None,
        cache: CallCache | None = None,
        http_client: httpx.Client | None = None,
        temperature: float = 0.3,
        seed: int | None = None,
    ) -> None:
        if settings.base_url is None or settings.model is None:
            raise ValueError("ModelClient needs an endpoint; offline mode uses no client")
        self.settings = settings
        self.model: str = settings.model
        self.recorder = recorder
        self.cache = cache
        self.temperature = temperature
        self.seed = seed
        self._attempts = threading.local()
        self._json_schema_ok = True
        # After the main model failed and the fallback answered, go straight to the fallback
        # for a while instead of paying the main model's retries on every call.
        self._fallback_until = 0.0
        self._http = http_client or httpx.Client(
            timeout=httpx.Timeout(settings.timeout_s, connect=min(10.0, settings.timeout_s))
        )
        self._http.event_hooks.setdefault("request", []).append(self._count_attempt)
        self._failures = threading.local()
        transport = getattr(self._http, "_transport", None)
        if isinstance(transport, httpx.BaseTransport):
            self._http._transport = _TracingTransport(transport, self._failures)
        self._sdk = openai.OpenAI(
            base_url=settings.base_url,
            api_key=settings.api_key or "not-needed",
            http_client=self._http,  # type: ignore[arg-type]  # httpx.Client, see module doc
            max_retries=settings.max_retries,
            timeout=settings.timeout_s,
        )
        # Typed loosely: we forward generation parameters as keyword arguments, which the
        # SDK's per-literal overloads cannot express.
        self._create: Any = self._sdk.chat.completions.create

    def close(self) -> None:
        self._http.close()

    # -- bookkeeping -------------------------------------------------------------------------

    def _count_attempt(self, request: httpx.Request) -> None:
        self._attempts.n = getattr(self._attempts, "n", 0) + 1

    def _start(self) -> None:
        self._attempts.n = 0
        self._failures.list = []

    def _note(self, what: str) -> None:
        if not hasattr(self._failures, "list"):
            self._failures.list = []
        self._failures.list.append(what)

    def _record(self, rec: CallRecord) -> None:
        # Every HTTP request after the first, whatever caused it: SDK retries, restarted
        # streams, re-asks after invalid output, the JSON-mode switch, the fallback model.
        rec.retries = max(0, getattr(self._attempts, "n", 0) - 1)
        survived = getattr(self._failures, "list", [])
        if survived and rec.outcome not in ("error", "invalid"):
            # Faults that retries or a fallback got past, in the order they happened.
            rec.error = "recovered from: " + ", ".join(survived)
        if self.recorder is not None:
            self.recorder(rec)

    def _redact(self, err: BaseException) -> str:
        name = type(err).__name__
        return redact(f"{name}: {err}", self.settings.api_key)[:500]

    def _fit(self, messages: Sequence[Message]) -> list[Message]:
        """Trim the longest message until the prompt fits the token budget."""
        out = [dict(m) for m in messages]
        budget = self.settings.max_prompt_tokens
        # A token is at least one byte, so a prompt with fewer bytes than the budget fits
        # without being counted (the common case; counting a judge prompt costs ~1 ms).
        size = sum(len(m["content"].encode()) + tokens.MESSAGE_OVERHEAD for m in out) + 3
        if size <= budget:
            return out
        while tokens.count_messages(out) > budget:
            longest = max(out, key=lambda m: len(m["content"]))
            over = tokens.count_messages(out) - budget
            keep = max(0, tokens.count(longest["content"]) - over - 16)
            if keep == 0:
                break
            longest["content"] = tokens.truncate(longest["content"], keep) + " [...trimmed]"
        return out

    # -- the cache: replies are stored with their token counts, so a replay counts nothing --

    def _cache_get(self, key: str, describe: str) -> tuple[str, dict[str, int]] | None:
        if self.cache is None:
            return None
        raw = self.cache.lookup(key, describe)
        if raw is None:
            return None
        try:
            entry = json.loads(raw)
            return str(entry["content"]), {k: int(v) for k, v in entry["usage"].items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            return raw, {}

    def _cache_put(self, key: str, content: str, rec: CallRecord, describe: str) -> None:
        if self.cache is not None:
            usage = {"prompt": rec.prompt_tokens, "counted": rec.counted_prompt_tokens,
                     "completion": rec.completion_tokens}
            self.cache.store(key, json.dumps({"content": content, "usage": usage}), describe)

    # -- plain text -----------------------------------------------------------------------------

    def stream(
        self,
        messages: Sequence[Message],
        *,
        purpose: Purpose,
        prompt_hash: str,
        session_id: str | None = None,
        max_tokens: int | None = None,
        max_restarts: int = 2,
    ) -> Iterator[str | Restart]:
        """Stream the reply's text. A stream that breaks part-way is retried from the start
        (yielding :class:`Restart` first) up to ``max_restarts`` times."""
        msgs = self._fit(messages)
        params = {"temperature": self.temperature, "max_tokens": max_tokens, "seed": self.seed}
        rec = CallRecord(purpose, self.model, prompt_hash, session_id)
        key = cache_key(self.model, {**params, "stream": True}, msgs)
        hit = self._cache_get(key, _describe(purpose, self.model, prompt_hash, session_id))
        if hit is not None:
            rec.cached, rec.outcome = True, "cached"
            rec.prompt_tokens = hit[1].get("prompt", 0)
            rec.counted_prompt_tokens = hit[1].get("counted", 0)
            rec.completion_tokens = hit[1].get("completion", 0)
            self._record(rec)
            yield hit[0]
            return
        rec.prompt_tokens = rec.counted_prompt_tokens = tokens.count_messages(msgs)
        started = time.perf_counter()
        self._start()
        parts: list[str] = []
        restarts = 0
        model = self._first_model()
        if model != self.model:
            rec.outcome = "fallback"
        while True:
            try:
                for chunk in self._stream_once(msgs, model, params, rec):
                    parts.append(chunk)
                    yield chunk
                break
            except Exception as e:
                if _fatal(e):
                    self._fail(rec, started, e)
                    raise ModelError(self._fatal_message(e)) from None
                mid_stream = bool(parts)
                if (mid_stream or _malformed(e)) and restarts < max_restarts:
                    restarts += 1
                    self._note("stream broke mid-reply" if mid_stream else "malformed response")
                    if mid_stream:
                        parts.clear()
                        yield Restart()
                    continue
                if not mid_stream and self._can_fall_back(model, e):
                    model = self.settings.fallback_model or model
                    rec.outcome = "fallback"
                    continue
                rec.outcome, rec.error = "error", self._redact(e)
                rec.latency_ms = (time.perf_counter() - started) * 1000
                self._record(rec)
                raise self._unavailable(e) from None
        text = "".join(parts)
        rec.latency_ms = (time.perf_counter() - started) * 1000
        rec.model = model
        if not rec.completion_tokens:
            rec.completion_tokens = tokens.count(text)
        if not text.strip():
            rec.outcome = "empty"
            self._note("empty reply")
        self._record(rec)
        if text.strip():
            self._cache_put(key, text, rec, _describe(purpose, model, prompt_hash, session_id))

    def _stream_once(
        self, msgs: list[Message], model: str, params: dict[str, Any], rec: CallRecord
    ) -> Iterator[str]:
        stream = self._create(
            model=model,
            messages=msgs,
            stream=True,
            stream_options={"include_usage": True},
            **{k: v for k, v in params.items() if v is not None},
        )
        with stream:
            for chunk in stream:
                if chunk.usage is not None:
                    rec.prompt_tokens = chunk.usage.prompt_tokens or rec.prompt_tokens
                    rec.completion_tokens = chunk.usage.completion_tokens or 0
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content

    def text(self, messages: Sequence[Message], **kw: Any) -> str:
        """The whole reply as one string (a stream, gathered)."""
        out: list[str] = []
        for piece in self.stream(messages, **kw):
            if isinstance(piece, Restart):
                out.clear()
            else:
                out.append(piece)
        return "".join(out)

    # -- structured -----------------------------------------------------------------------------

    def structured(
        self,
        messages: Sequence[Message],
        schema: type[T],
        *,
        purpose: Purpose,
        prompt_hash: str,
        session_id: str | None = None,
        check: Callable[[T], str | None] | None = None,
        attempts: int = 3,
        max_tokens: int | None = None,
    ) -> T:
        """A reply validated as ``schema`` (and by ``check``, which returns a problem or None).

        Invalid replies are retried, telling the model what was wrong, up to ``attempts`` times;
        then :class:`StructuredOutputError`. Unreachable endpoints raise ModelUnavailable."""
        msgs = self._fit(messages)
        name = schema.__name__
        json_schema = _json_schema(schema)
        rec = CallRecord(purpose, self.model, prompt_hash, session_id)
        started = time.perf_counter()
        self._start()
        problem = ""
        model = self._first_model()
        if model != self.model:
            rec.outcome = "fallback"
        convo = list(msgs)
        attempt = 0
        parsed: T | None = None
        while attempt < attempts:
            use_schema = self._json_schema_ok
            request_msgs = convo if use_schema else self._json_mode_messages(convo, json_schema)
            params: dict[str, Any] = {
                "temperature": self.temperature if attempt == 0 else 0.0,
                "max_tokens": max_tokens or self.settings.max_completion_tokens,
                "seed": self.seed,
                "response_format": (
                    {"type": "json_schema", "json_schema": {"name": name, "schema": json_schema}}
                    if use_schema
                    else {"type": "json_object"}
                ),
            }
            key = cache_key(model, params, request_msgs)
            hit = self._cache_get(key, _describe(purpose, model, prompt_hash, session_id))
            if hit is not None:
                raw, usage = hit
                rec.cached = True
                rec.counted_prompt_tokens += usage.get("counted", 0)
                rec.prompt_tokens += usage.get("prompt", 0)
                rec.completion_tokens += usage.get("completion", 0)
            else:
                counted = tokens.count_messages(request_msgs)
                try:
                    resp = self._create(
                        model=model,
                        messages=request_msgs,
                        **{k: v for k, v in params.items() if v is not None},
                    )
                except openai.BadRequestError as e:
                    if use_schema and re.search(r"response_format|json_schema", str(e), re.I):
                        self._json_schema_ok = False  # this endpoint: JSON mode from now on
                        continue
                    self._fail(rec, started, e)
                    raise ModelError(self._redact(e)) from None
                except Exception as e:
                    if _fatal(e):
                        self._fail(rec, started, e)
                        raise ModelError(self._fatal_message(e)) from None
                    if not _malformed(e):
                        if self._can_fall_back(model, e):
                            model = self.settings.fallback_model or model
                            rec.outcome = "fallback"
                            continue
                        self._fail(rec, started, e)
                        raise self._unavailable(e) from None
                    resp = None
                if not isinstance(getattr(resp, "choices", None), list):
                    # A body that is not the API's JSON (a proxy's HTML page, say): an invalid
                    # attempt like any other, re-asked within the same bound.
                    attempt += 1
                    problem = "the endpoint's response was not valid API JSON"
                    self._note("malformed response")
                    continue
                assert resp is not None
                rec.counted_prompt_tokens += counted
                raw = (resp.choices[0].message.content or "") if resp.choices else ""
                if resp.usage is not None:
                    rec.prompt_tokens += resp.usage.prompt_tokens or counted
                    rec.completion_tokens += resp.usage.completion_tokens or 0
                else:
                    rec.prompt_tokens += counted
                    rec.completion_tokens += tokens.count(raw)
            try:
                value = schema.model_validate_json(raw)
                parsed = value
                problem = (check(value) if check else None) or ""
            except ValidationError as e:
                problem = _describe_validation(e, raw)
            attempt += 1
            if problem:
                self._note(f"invalid reply ({problem[:60]})")
            if not problem:
                if not rec.cached:
                    self._cache_put(key, raw, rec,
                                    _describe(purpose, model, prompt_hash, session_id))
                rec.model = model
                rec.latency_ms = (time.perf_counter() - started) * 1000
                if rec.outcome != "fallback":
                    rec.outcome = "cached" if rec.cached else "ok"
                self._record(rec)
                return value
            convo = [
                *msgs,
                {"role": "assistant", "content": raw[:2000]},
                {"role": "user", "content": f"That reply was invalid: {problem}. Reply again "
                 "with JSON that follows the schema exactly."},
            ]
        rec.outcome, rec.error = "invalid", problem[:500]
        rec.latency_ms = (time.perf_counter() - started) * 1000
        self._record(rec)
        raise StructuredOutputError(f"{name}: no valid reply in {attempts} attempts ({problem})",
                                    parsed)

    @staticmethod
    def _json_mode_messages(msgs: list[Message], json_schema: dict[str, Any]) -> list[Message]:
        note = (
            "Reply with a single JSON object and nothing else. It must validate against this "
            f"JSON schema:\n<json_schema>\n{json.dumps(json_schema)}\n</json_schema>"
        )
        if msgs and msgs[0]["role"] == "system":
            return [{"role": "system", "content": msgs[0]["content"] + "\n\n" + note}, *msgs[1:]]
        return [{"role": "system", "content": note}, *msgs]

    # -- failures -------------------------------------------------------------------------------

    def _first_model(self) -> str:
        if self.settings.fallback_model and time.monotonic() < self._fallback_until:
            return self.settings.fallback_model
        return self.model

    def _can_fall_back(self, model: str, err: BaseException) -> bool:
        fb = self.settings.fallback_model
        if not fb or fb == model:
            return False
        if isinstance(err, openai.APIStatusError) and not (
                err.status_code >= 500 or err.status_code in (404, 429)):
            return False
        self._fallback_until = time.monotonic() + 300
        return True

    def _fail(self, rec: CallRecord, started: float, err: BaseException) -> None:
        rec.outcome, rec.error = "error", self._redact(err)
        rec.latency_ms = (time.perf_counter() - started) * 1000
        self._record(rec)

    def _fatal_message(self, err: BaseException) -> str:
        if isinstance(err, UnicodeError):
            return ("the API key or another request header holds a character that cannot be "
                    "sent; check the key for stray characters")
        return self._redact(err)

    def _unavailable(self, err: BaseException) -> ModelUnavailable:
        where = self.settings.base_url
        if isinstance(err, openai.APIStatusError):
            what = f"HTTP {err.status_code}"
        elif isinstance(err, openai.APITimeoutError | httpx.TimeoutException):
            what = "timed out"
        elif isinstance(err, openai.APIConnectionError):
            what = "could not connect"
        else:
            what = "malformed responses" if _malformed(err) else type(err).__name__
        return ModelUnavailable(
            redact(f"the model endpoint {where} is not responding ({what}, after retries)",
                   self.settings.api_key)
        )

    # -- speech to text -------------------------------------------------------------------------

    def transcribe(self, audio: bytes, *, filename: str, content_type: str, model: str,
                   session_id: str | None = None, language: str | None = None) -> str:
        """The text of a recorded answer, from the endpoint's OpenAI-compatible
        ``/audio/transcriptions``. Logged like every call (purpose "transcription", the audio's
        hash as its prompt hash); the SDK retries 429/5xx/timeouts as for chat."""
        digest = hashlib.sha256(audio).hexdigest()[:12]
        rec = CallRecord("transcription", model, f"audio:{digest}", session_id)
        started = time.perf_counter()
        self._start()
        # Typed loosely like chat's create: optional parameters go through as keywords.
        create: Any = self._sdk.audio.transcriptions.create
        extra = {"language": language} if language else {}
        try:
            result = create(model=model, file=(filename, audio, content_type), **extra)
        except openai.APIStatusError as e:
            self._fail(rec, started, e)
            if e.status_code < 500 and e.status_code != 429:
                raise ModelError(redact(
                    f"the endpoint refused the recording (HTTP {e.status_code}: "
                    f"{str(e.message)[:200]})", self.settings.api_key)) from None
            raise self._unavailable(e) from None
        except Exception as e:
            self._fail(rec, started, e)
            if _fatal(e):
                raise ModelError(self._fatal_message(e)) from None
            raise self._unavailable(e) from None
        rec.latency_ms = (time.perf_counter() - started) * 1000
        text = str(getattr(result, "text", "") or "")
        rec.completion_tokens = tokens.count(text)
        self._record(rec)
        return text


@lru_cache(maxsize=64)
def _json_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """A response model's JSON schema, built once per model (pydantic rebuilds it per call)."""
    return schema.model_json_schema()


_TRANSIENT = (openai.APIConnectionError, openai.APIStatusError, httpx.HTTPError)


def _malformed(err: BaseException) -> bool:
    """A response that arrived but was not the API's JSON: a non-JSON body, a broken SSE
    event, an error event in the middle of a stream. Worth another attempt."""
    return (isinstance(err, ValueError | openai.APIError) and not isinstance(err, UnicodeError)
            and not isinstance(err, _TRANSIENT))


def _fatal(err: BaseException) -> bool:
    """Not worth retrying: a header that cannot be encoded, or anything unexpected. Still
    recorded and shown redacted, never raw (an exception's text can hold request headers)."""
    return not (isinstance(err, _TRANSIENT) or _malformed(err))


def _describe(purpose: str, model: str, prompt_hash: str, context: str | None) -> str:
    where = f"; {context}" if context else ""
    return f"{purpose} call to {model} (prompts {prompt_hash}{where})"


def _describe_validation(err: ValidationError, raw: str) -> str:
    if not raw.strip():
        return "the reply was empty"
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    if first["type"] == "json_invalid":
        return "the reply was not valid JSON"
    return f"field {loc!r}: {first['msg']}" if loc else first["msg"]
