"""The model client: the only module that talks to the network.

Every call goes through the ``openai`` SDK to an OpenAI-compatible endpoint. We always hand the
SDK an ``httpx.Client`` of our own (openai>=3 defaults to ``httpx2``): that keeps one HTTP stack,
lets tests intercept at the wire with respx, and lets our transport wrapper see every attempt.
Retries with backoff on 429/5xx/timeouts (honouring ``Retry-After``) are the SDK's own.

What the transport wrapper adds, per HTTP attempt:
- notes every failed attempt (status or exception), so the call log shows what was survived;
- an error response whose body names ``response_format``/``json_schema``/``json_object`` is a
  rejection of that parameter, not a fault: it is marked ``x-should-retry: false`` so the SDK
  does not retry it (llama.cpp's server answers json_schema with HTTP 500), and the structured
  call moves on to the next mode (agent/model/capabilities.py);
- a call with a time budget (agent/model/budgets.py ``Deadline``) has each attempt's timeouts
  clipped to what is left, and no attempt starts once it is spent; a late request is cancelled
  by closing its connection;
- whether a stream sent ``data: [DONE]``.

Every call sends ``max_tokens``; prompts are fitted to the model's context (``context_tokens``)
leaving room for the reply. A stream that ends without a finish reason or ``[DONE]`` is a
truncated reply, retried from the start and never taken as whole. Background calls (judging) go
through the endpoint's scheduler (agent/model/scheduler.py). Each logical call is recorded
(time, purpose, model, prompt hash, tokens, latency, retries, outcome) through a callback; keys
never reach a record or an error message.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, Protocol, TypeVar

import httpx
import openai
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ValidationError

from agent import tokens
from agent.cache import CacheMiss
from agent.config import Settings
from agent.model import budgets
from agent.model.budgets import Deadline
from agent.model.capabilities import (
    REJECTS_FORMAT,
    Capabilities,
    CapabilityStore,
    extract_json,
    next_mode,
    response_format,
    schema_messages,
    stamp,
)
from agent.model.errors import (
    ModelError,
    ModelRejected,
    ModelSlow,
    ModelUnavailable,
    ReplyRejected,
    StructuredOutputError,
    TruncatedReply,
    answer_text,
    clip,
)
from agent.model.scheduler import for_endpoint
from agent.redact import redact

__all__ = [
    "CallRecord", "Message", "ModelClient", "ModelError", "ModelRejected", "ModelSlow",
    "ModelUnavailable", "ReplyRejected", "Restart", "StructuredOutputError", "TruncatedReply",
    "cache_key", "redact",
]

T = TypeVar("T", bound=BaseModel)
Message = dict[str, str]
Purpose = Literal["interviewer", "assessment", "judge", "coach", "simulation", "doctor",
                  "transcription"]
#: A streamed reply's check: (text so far, finished) -> why it cannot be used, or None.
StreamCheck = Callable[[str, bool], str | None]


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
    """ok, cached, fallback (the fallback model answered), error, invalid (never a valid
    structured reply), rejected (a streamed reply failed its check), slow (missed its time
    budget), truncated (the stream kept ending mid-reply), abandoned (the caller stopped)."""
    error: str | None = None
    cached: bool = False
    first_token_ms: float | None = None
    """Streams: time to the first word (not stored in the call log; doctor reads it)."""


Recorder = Callable[[CallRecord], None]
#: Outcomes of a call that did not produce a usable reply.
FAILED_OUTCOMES = ("error", "invalid", "rejected", "slow", "truncated")


class CallCache(Protocol):
    """A model-call cache (see agent/cache.py)."""

    def lookup(self, key: str, describe: str) -> str | None: ...

    def store(self, key: str, value: str, describe: str = "") -> None: ...


class Restart:
    """Yielded by :meth:`ModelClient.stream` when a stream broke and is being retried:
    the consumer should discard the text it has shown for this utterance."""


class DeadlinePassed(openai.OpenAIError):
    """Raised by the transport when a call's time budget is spent before an attempt starts.
    An ``OpenAIError``, so the SDK neither retries nor wraps it."""


def cache_key(model: str, params: dict[str, Any], messages: Sequence[Message]) -> str:
    """Key = model + every generation parameter + messages + response schema."""
    blob = json.dumps(
        {"model": model, "params": params, "messages": list(messages)},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


class _Wire(threading.local):
    """Per-thread state of the call being made (each call runs on one thread)."""

    def __init__(self) -> None:
        self.attempts = 0
        self.failures: list[str] = []
        self.deadline: Deadline | None = None
        self.spoken = False
        self.done_seen = False


class _DoneWatcher(httpx.SyncByteStream):
    """A streamed body that notes whether ``data: [DONE]`` went by."""

    def __init__(self, inner: Any, wire: _Wire) -> None:
        self.inner, self.wire, self._tail = inner, wire, b""

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            if b"[DONE]" in self._tail + chunk:
                self.wire.done_seen = True
            self._tail = chunk[-8:]
            yield chunk

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()


class _Transport(httpx.BaseTransport):
    """Wraps the HTTP transport; see the module docstring for what it adds."""

    def __init__(self, inner: httpx.BaseTransport, wire: _Wire) -> None:
        self.inner, self.wire = inner, wire

    def _note(self, what: str) -> None:
        self.wire.failures.append(what)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        wire = self.wire
        deadline = wire.deadline
        if deadline is not None:
            left = deadline.left(wire.spoken)
            if left <= 0.05:
                raise DeadlinePassed(deadline.missed(wire.spoken) or "the time budget is spent")
            limits = dict(request.extensions.get("timeout") or {})
            for k in ("connect", "read", "write", "pool"):
                limits[k] = min(float(limits.get(k) or left), left)
            request.extensions["timeout"] = limits
        wire.done_seen = False
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
            try:
                body = response.read()
            except httpx.HTTPError:
                body = b""
            if REJECTS_FORMAT.search(body[:20_000].decode("utf-8", "replace")):
                # Refused for a parameter, not failing: asking again gets the same answer.
                response.headers["x-should-retry"] = "false"
        elif "text/event-stream" in response.headers.get("content-type", ""):
            try:  # a body already read (e.g. a test double's): look at it whole
                wire.done_seen = b"[DONE]" in response.content
            except httpx.ResponseNotRead:
                response.stream = _DoneWatcher(response.stream, wire)
        return response

    def close(self) -> None:
        self.inner.close()


class _Stop(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


class _Late(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


class _Truncated(Exception):
    pass


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
        capabilities: CapabilityStore | None = None,
    ) -> None:
        if settings.base_url is None or settings.model is None:
            raise ValueError("ModelClient needs an endpoint; offline mode uses no client")
        self.settings = settings
        self.base_url: str = settings.base_url
        self.model: str = settings.model
        self.recorder = recorder
        self.cache = cache
        self.temperature = temperature
        self.seed = seed
        self.scheduler = for_endpoint(settings.base_url, settings.max_concurrency)
        self._wire = _Wire()
        self._caps: dict[str, Capabilities] = {}
        self._caps_store = capabilities
        self._caps_lock = threading.Lock()
        # After the main model failed and the fallback answered, go straight to the fallback
        # for a while instead of paying the main model's retries on every call.
        self._fallback_until = 0.0
        self._http = http_client or httpx.Client(
            timeout=httpx.Timeout(settings.timeout_s, connect=min(10.0, settings.timeout_s))
        )
        self._http.event_hooks.setdefault("request", []).append(self._count_attempt)
        transport = getattr(self._http, "_transport", None)
        if isinstance(transport, httpx.BaseTransport):
            self._http._transport = _Transport(transport, self._wire)
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

    def _post_chat(self, body: dict[str, Any]) -> ChatCompletion:
        """``chat.completions.create(**body)`` for a body that is plain JSON already: through
        the SDK's documented ``post``, which skips re-walking every message against the
        parameter types (a millisecond a judge call, held under the GIL, that slowed every
        other call in flight at eval concurrency). Errors, retries and parsing are the SDK's."""
        return self._sdk.post("/chat/completions", cast_to=ChatCompletion, body=body)

    def close(self) -> None:
        self._http.close()

    # -- what this endpoint can do --------------------------------------------------------------

    def capabilities(self, model: str | None = None) -> Capabilities:
        """What was learned about structured output for ``model`` (default: the main one)."""
        model = model or self.model
        with self._caps_lock:
            caps = self._caps.get(model)
            if caps is None:
                data = None
                if self._caps_store is not None:
                    try:
                        data = self._caps_store.load_capabilities(self.base_url, model)
                    except Exception:  # a broken store must not stop an interview
                        data = None
                caps = self._caps[model] = Capabilities.from_json(data)
            return caps

    def _learned(self, model: str, caps: Capabilities) -> None:
        if self._caps_store is not None:
            # Remembering is an optimisation: a store that fails must not fail the call.
            with contextlib.suppress(Exception):
                self._caps_store.save_capabilities(self.base_url, model, stamp(caps).as_json())

    def prompt_budget(self, reply_tokens: int) -> int:
        """Prompt tokens that leave room for a ``reply_tokens`` reply in the context."""
        s = self.settings
        return budgets.prompt_budget(s.context_tokens, reply_tokens, s.max_prompt_tokens)

    # -- bookkeeping -------------------------------------------------------------------------

    def _count_attempt(self, request: httpx.Request) -> None:
        self._wire.attempts += 1

    def _start(self, deadline: Deadline | None = None) -> None:
        w = self._wire
        w.attempts, w.failures, w.deadline, w.spoken, w.done_seen = 0, [], deadline, False, False

    def _note(self, what: str) -> None:
        self._wire.failures.append(what)

    def _record(self, rec: CallRecord) -> None:
        # Every HTTP request after the first, whatever caused it: SDK retries, restarted
        # streams, re-asks after invalid output, a structured-output mode switch, the fallback.
        rec.retries = max(0, self._wire.attempts - 1)
        self._wire.deadline = None
        survived = self._wire.failures
        if survived and rec.outcome not in ("error", "invalid"):
            # Faults that retries or a fallback got past, in the order they happened.
            note = "recovered from: " + ", ".join(survived)
            rec.error = f"{rec.error}; {note}" if rec.error else note
        if self.recorder is not None:
            self.recorder(rec)

    def _redact(self, err: BaseException) -> str:
        return redact(describe(err), self.settings.api_key)

    def _fit(self, messages: Sequence[Message], reply_tokens: int) -> list[Message]:
        """Trim the longest message until the prompt fits the budget (the last resort: judge
        and assessment prompts clip their transcript before they get here)."""
        out = [dict(m) for m in messages]
        budget = self.prompt_budget(reply_tokens)
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

    def _cache_get(self, key: str, describe_call: str) -> dict[str, Any] | None:
        """{"content": str, "usage": {...}} or {"rejected": str}."""
        if self.cache is None:
            return None
        raw = self.cache.lookup(key, describe_call)
        if raw is None:
            return None
        try:
            entry = json.loads(raw)
            if "rejected" in entry:
                return {"rejected": str(entry["rejected"])}
            return {"content": str(entry["content"]),
                    "usage": {k: int(v) for k, v in entry["usage"].items()}}
        except (ValueError, KeyError, TypeError, AttributeError):
            return {"content": raw, "usage": {}}

    def _cache_put(self, key: str, content: str, rec: CallRecord, describe_call: str,
                   usage: dict[str, int] | None = None) -> None:
        if self.cache is not None:
            usage = usage or {"prompt": rec.prompt_tokens, "counted": rec.counted_prompt_tokens,
                              "completion": rec.completion_tokens}
            self.cache.store(key, json.dumps({"content": content, "usage": usage}),
                             describe_call)

    # -- the cheapest call ------------------------------------------------------------------------

    def list_models(self, timeout: float = 10.0) -> list[str]:
        """The model ids the endpoint lists (GET /models): the cheapest request that shows
        it is reachable and takes the key. Raises ModelUnavailable or ModelRejected."""
        with self._probe(timeout) as sdk:
            return [str(m.id) for m in sdk.models.list().data]

    def probe_chat(self, model: str | None = None, timeout: float = 10.0) -> None:
        """One chat completion of a single token, not logged or cached: does the chat path
        answer for ``model`` (this client's model by default)? For when GET /models cannot
        tell. Raises ModelUnavailable or ModelRejected, as :meth:`list_models` does."""
        with self._probe(timeout) as sdk:
            sdk.post("/chat/completions", cast_to=ChatCompletion, body={
                "model": model or self.model, "max_tokens": 1,
                "messages": [{"role": "user", "content": "Reply with OK."}]})

    @contextlib.contextmanager
    def _probe(self, timeout: float) -> Iterator[Any]:
        """The SDK for one check of the endpoint (no retries, a short timeout), its failures
        raised as ModelUnavailable, ModelRejected or ModelError."""
        self._start()
        try:
            yield self._sdk.with_options(timeout=min(timeout, self.settings.timeout_s),
                                         max_retries=0)
        except openai.APIStatusError as e:
            raise self._failure(e, retried=False) from None
        except Exception as e:
            if _fatal(e):
                raise ModelError(self._fatal_message(e)) from None
            raise self._failure(e, retried=False) from None

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
        check: StreamCheck | None = None,
        deadline: Deadline | None = None,
        fail_note: str | None = None,
        late_note: str | None = None,
    ) -> Iterator[str | Restart]:
        """Stream the reply's text.

        - A stream that breaks part-way, or ends without a finish reason or ``[DONE]``, is
          asked again from the start (yielding :class:`Restart` first if text was yielded) up
          to ``max_restarts`` times; then TruncatedReply (or ModelUnavailable).
        - ``check(text_so_far, finished)`` runs before each piece is yielded and once at the
          end; a reason it returns stops the stream there (the connection is closed) and raises
          :class:`ReplyRejected`.
        - ``deadline``: past it, the request is cancelled and :class:`ModelSlow` raised.
        - ``fail_note`` (e.g. "retrying", "fallback to the standard question"): what the caller
          does with a reply its check refuses, written before the reason in the call log.
          ``late_note``: what it does with a late or truncated reply, which is never asked for
          again (default "fallback" when a fail_note is given)."""
        late_note = late_note or ("fallback" if fail_note else None)
        max_tokens = max_tokens or budgets.max_tokens(purpose)
        msgs = self._fit(messages, max_tokens)
        params = {"temperature": self.temperature, "max_tokens": max_tokens, "seed": self.seed}
        rec = CallRecord(purpose, self.model, prompt_hash, session_id)
        key = "" if self.cache is None else cache_key(self.model, {**params, "stream": True},
                                                      msgs)
        hit = self._cache_get(key, _describe(purpose, self.model, prompt_hash, session_id))
        if hit is not None and "content" in hit:
            self._start()
            rec.cached, rec.outcome = True, "cached"
            rec.prompt_tokens = hit["usage"].get("prompt", 0)
            rec.counted_prompt_tokens = hit["usage"].get("counted", 0)
            rec.completion_tokens = hit["usage"].get("completion", 0)
            text = hit["content"]
            reason = check(text, True) if check else None
            if reason:
                rec.outcome, rec.error = "rejected", _noted(fail_note, reason)
                self._record(rec)
                raise ReplyRejected(reason, text)
            self._record(rec)
            yield text
            return
        rec.prompt_tokens = rec.counted_prompt_tokens = tokens.count_messages(msgs)
        started = time.perf_counter()
        self._start(deadline)
        parts: list[str] = []
        restarts = 0
        model = self._first_model()
        if model != self.model:
            rec.outcome = "fallback"
        usage_seen = False

        def finish(outcome: str, error: str | None) -> None:
            rec.outcome, rec.error = outcome, error
            rec.latency_ms = (time.perf_counter() - started) * 1000
            rec.model = model
            if not rec.completion_tokens:
                rec.completion_tokens = tokens.count("".join(parts))
            self._record(rec)

        while True:
            finish_reason: str | None = None
            try:
                with self.scheduler.request():
                    stream = self._create(
                        model=model, messages=msgs, stream=True,
                        stream_options={"include_usage": True},
                        **{k: v for k, v in params.items() if v is not None},
                    )
                    with stream:
                        for chunk in stream:
                            if chunk.usage is not None:
                                usage_seen = True
                                rec.prompt_tokens = chunk.usage.prompt_tokens or rec.prompt_tokens
                                rec.completion_tokens = chunk.usage.completion_tokens or 0
                            if not chunk.choices:
                                continue
                            choice = chunk.choices[0]
                            finish_reason = choice.finish_reason or finish_reason
                            piece = choice.delta.content if choice.delta else None
                            if piece:
                                if rec.first_token_ms is None:
                                    rec.first_token_ms = (time.perf_counter() - started) * 1000
                                parts.append(piece)
                                self._wire.spoken = True
                                reason = check("".join(parts), False) if check else None
                                if reason:
                                    raise _Stop(reason)
                                yield piece
                            if deadline is not None:
                                late = deadline.missed(bool(parts))
                                if late:
                                    raise _Late(late)
                if finish_reason is None and not self._wire.done_seen:
                    raise _Truncated()
                text = "".join(parts)
                reason = check(text, True) if check else None
                if reason:
                    raise _Stop(reason)
                break
            except _Stop as stop:
                finish("rejected", _noted(fail_note, stop.reason))
                raise ReplyRejected(stop.reason, "".join(parts)) from None
            except (_Late, DeadlinePassed) as late:
                why = late.reason if isinstance(late, _Late) else str(late)
                finish("slow", _noted(late_note, f"{why}; the request was cancelled and "
                                      "the late reply discarded"))
                raise ModelSlow(why) from None
            except _Truncated:
                self._note("stream ended without finishing")
                if restarts < max_restarts:
                    restarts += 1
                    if parts:
                        parts.clear()
                        yield Restart()
                    continue
                why = "the stream kept ending mid-reply (no finish reason, no [DONE])"
                finish("truncated", _noted(late_note, why))
                raise TruncatedReply(f"the model endpoint {self.base_url}: {why}") from None
            except GeneratorExit:
                finish("abandoned", None)
                raise
            except Exception as e:
                if deadline is not None and deadline.missed(bool(parts)):
                    why = deadline.missed(bool(parts)) or "too slow"
                    finish("slow", _noted(late_note, f"{why}; the request was cancelled"))
                    raise ModelSlow(why) from None
                if _fatal(e):
                    finish("error", self._redact(e))
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
                finish("error", self._redact(e))
                raise self._failure(e) from None
        text = "".join(parts)
        self._remember_usage(model, usage_seen)
        finish(rec.outcome, None)
        if text.strip() and finish_reason not in ("length",):
            self._cache_put(key, text, rec, _describe(purpose, model, prompt_hash, session_id))

    def _remember_usage(self, model: str, seen: bool) -> None:
        caps = self.capabilities(model)
        if caps.stream_usage is not seen:
            caps.stream_usage = seen
            self._learned(model, caps)

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
        deadline: Deadline | None = None,
        fail_note: str | None = None,
    ) -> T:
        """A reply validated as ``schema`` (and by ``check``, which returns a problem or None).

        Invalid replies are retried, telling the model what was wrong, up to ``attempts`` times;
        then :class:`StructuredOutputError`. Every reply is cached as it came, valid or not, and
        so is a rejection of a structured-output mode, so a replay makes the same calls. An
        endpoint that rejects a mode is asked with the next one (capabilities.py). Unreachable
        endpoints raise ModelUnavailable; a refused request ModelRejected; a spent ``deadline``
        ModelSlow. ``fail_note`` goes before the problem in the log of an invalid call."""
        max_tokens = max_tokens or self.settings.max_completion_tokens
        msgs = self._fit(messages, max_tokens)
        name = schema.__name__
        json_schema = _json_schema(schema)
        rec = CallRecord(purpose, self.model, prompt_hash, session_id)
        started = time.perf_counter()
        self._start(deadline)
        problem = ""
        model = self._first_model()
        if model != self.model:
            rec.outcome = "fallback"
        convo = list(msgs)
        attempt = 0
        parsed: T | None = None
        while attempt < attempts:
            caps = self.capabilities(model)
            mode = caps.structured
            request_msgs = schema_messages(mode, convo, json_schema)
            params: dict[str, Any] = {
                "temperature": self.temperature if attempt == 0 else 0.0,
                "max_tokens": max_tokens,
                "seed": self.seed,
                "response_format": response_format(mode, name, json_schema),
            }
            # No cache, no key: the key hashes the whole request, schema included (~5% of a
            # judge call's CPU).
            key = cache_key(model, params, request_msgs) if self.cache is not None else ""
            where = _describe(purpose, model, prompt_hash, session_id)
            try:
                hit = self._cache_get(key, where)
            except CacheMiss:
                # Replay: the recording may have learned in another task (or process) that
                # this mode is refused, and asked in a later one: try those before giving up.
                following = next_mode(mode)
                if attempt or following is None:
                    raise
                with self._caps_lock:
                    if caps.structured == mode:
                        caps.structured = following
                continue
            if hit is not None and "rejected" in hit:
                if self._leave_mode(model, caps, mode, hit["rejected"]):
                    continue
                raise self._rejected_error(rec, started, hit["rejected"])
            if hit is not None:
                raw, usage = hit["content"], hit["usage"]
                rec.cached = True
                rec.counted_prompt_tokens += usage.get("counted", 0)
                rec.prompt_tokens += usage.get("prompt", 0)
                rec.completion_tokens += usage.get("completion", 0)
            else:
                try:
                    with self.scheduler.request():
                        resp = self._post_chat({
                            "model": model, "messages": request_msgs,
                            **{k: v for k, v in params.items() if v is not None},
                        })
                except openai.APIStatusError as e:
                    said = answer_text(e.status_code, e.body, _body_text(e))
                    if params["response_format"] is not None and REJECTS_FORMAT.search(
                            _body_text(e) + " " + said):
                        if self.cache is not None:
                            self.cache.store(key, json.dumps({"rejected": said}), where)
                        if self._leave_mode(model, caps, mode, said):
                            continue
                    if e.status_code < 500 and e.status_code not in (408, 409, 429):
                        if e.status_code in (404,) and self._can_fall_back(model, e):
                            model = self.settings.fallback_model or model
                            rec.outcome = "fallback"
                            continue
                        self._fail(rec, started, e)
                        raise ModelRejected(self._rejected(e)) from None
                    if self._can_fall_back(model, e):
                        model = self.settings.fallback_model or model
                        rec.outcome = "fallback"
                        continue
                    self._fail(rec, started, e)
                    raise self._failure(e) from None
                except DeadlinePassed as e:
                    raise self._slow(rec, started, str(e), fail_note) from None
                except Exception as e:
                    if deadline is not None and deadline.missed(False):
                        raise self._slow(rec, started, deadline.missed(False) or "too slow",
                                         fail_note) from None
                    if _fatal(e):
                        self._fail(rec, started, e)
                        raise ModelError(self._fatal_message(e)) from None
                    if not _malformed(e):
                        if self._can_fall_back(model, e):
                            model = self.settings.fallback_model or model
                            rec.outcome = "fallback"
                            continue
                        self._fail(rec, started, e)
                        raise self._failure(e) from None
                    resp = None
                if not isinstance(getattr(resp, "choices", None), list):
                    # A body that is not the API's JSON (a proxy's HTML page, say): an invalid
                    # attempt like any other, re-asked within the same bound.
                    attempt += 1
                    problem = "the endpoint's response was not valid API JSON"
                    self._note("malformed response")
                    continue
                assert resp is not None
                # Counted once the reply is in, not before the request: the request goes out
                # sooner (the first count loads the tokenizer, ~0.2 s) and the count is only
                # needed with the usage.
                counted = tokens.count_messages(request_msgs)
                rec.counted_prompt_tokens += counted
                raw = (resp.choices[0].message.content or "") if resp.choices else ""
                usage = {"counted": counted}
                if resp.usage is not None:
                    usage["prompt"] = resp.usage.prompt_tokens or counted
                    usage["completion"] = resp.usage.completion_tokens or 0
                else:
                    usage["prompt"], usage["completion"] = counted, tokens.count(raw)
                rec.prompt_tokens += usage["prompt"]
                rec.completion_tokens += usage["completion"]
                # Cached as it came, valid or not: a replay then makes the same calls.
                self._cache_put(key, raw, rec, where, usage)
            try:
                text = raw if mode == "json_schema" else extract_json(raw)
                value = schema.model_validate_json(text)
                parsed = value
                problem = (check(value) if check else None) or ""
            except ValidationError as e:
                problem = _describe_validation(e, raw)
            attempt += 1
            if problem:
                self._note(f"invalid reply ({clip(problem, 60)})")
            if not problem:
                if not caps.updated:  # the first reply in this mode: remember what works
                    self._learned(model, caps)
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
        rec.outcome, rec.error = "invalid", _noted(fail_note, clip(problem, 500))
        rec.latency_ms = (time.perf_counter() - started) * 1000
        self._record(rec)
        raise StructuredOutputError(f"{name}: no valid reply in {attempts} attempts ({problem})",
                                    parsed)

    def _leave_mode(self, model: str, caps: Capabilities, mode: str, said: str) -> bool:
        """Move ``model`` to the structured mode after ``mode`` (remembered); False when there
        is none left to try."""
        following = next_mode(mode)
        if following is None:
            return False
        with self._caps_lock:
            if caps.structured == mode:
                caps.rejected[mode] = clip(said, 160)
                caps.structured = following
        self._note(f"{mode} rejected")
        self._learned(model, caps)
        return True

    def _rejected_error(self, rec: CallRecord, started: float, said: str) -> ModelRejected:
        rec.outcome, rec.error = "error", said
        rec.latency_ms = (time.perf_counter() - started) * 1000
        self._record(rec)
        return ModelRejected(f"the model endpoint {self.base_url} rejected the request ({said})")

    def _slow(self, rec: CallRecord, started: float, why: str, fail_note: str | None
              ) -> ModelSlow:
        rec.outcome = "slow"
        rec.error = _noted(fail_note, f"{why}; the request was cancelled")
        rec.latency_ms = (time.perf_counter() - started) * 1000
        self._record(rec)
        return ModelSlow(why)

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

    # -- speech to text -------------------------------------------------------------------------

    def transcribe(self, audio: bytes, *, filename: str, content_type: str, model: str,
                   session_id: str | None = None, language: str | None = None) -> str:
        """The text of a recorded answer, from the endpoint's OpenAI-compatible
        ``/audio/transcriptions``. Logged like every call (purpose "transcription", the audio's
        hash as its prompt hash); scheduled and retried (429/5xx/timeouts) as chat is. Raises
        ModelRejected when the endpoint refuses the recording, ModelUnavailable when it cannot
        be reached."""
        digest = hashlib.sha256(audio).hexdigest()[:12]
        rec = CallRecord("transcription", model, f"audio:{digest}", session_id)
        started = time.perf_counter()
        self._start()
        # Typed loosely like chat's create: optional parameters go through as keywords.
        create: Any = self._sdk.audio.transcriptions.create
        extra = {"language": language} if language else {}
        try:
            with self.scheduler.request():
                result = create(model=model, file=(filename, audio, content_type), **extra)
        except Exception as e:
            self._fail(rec, started, e)
            if not isinstance(e, openai.APIStatusError) and _fatal(e):
                raise ModelError(self._fatal_message(e)) from None
            raise self._failure(e) from None
        rec.latency_ms = (time.perf_counter() - started) * 1000
        text = str(getattr(result, "text", "") or "")
        rec.completion_tokens = tokens.count(text)
        self._record(rec)
        return text

    def _fail(self, rec: CallRecord, started: float, err: BaseException) -> None:
        rec.outcome, rec.error = "error", self._redact(err)
        rec.latency_ms = (time.perf_counter() - started) * 1000
        self._record(rec)

    def _fatal_message(self, err: BaseException) -> str:
        if isinstance(err, UnicodeError):
            return ("the API key or another request header holds a character that cannot be "
                    "sent; check the key for stray characters")
        return self._redact(err)

    def _rejected(self, err: openai.APIStatusError) -> str:
        return redact(f"the model endpoint {self.base_url} rejected the request "
                      f"({describe(err)})", self.settings.api_key)

    def _failure(self, err: BaseException, retried: bool = True) -> ModelError:
        """The error for a call that failed (after retries): a refusal (4xx) is "rejected", a
        server that kept answering 5xx/429 "kept failing" with what it said, and only an
        endpoint that could not be reached or never answered "not responding"."""
        where = self.settings.base_url
        after = ", after retries" if retried and self.settings.max_retries else ""
        if isinstance(err, openai.APIStatusError):
            if err.status_code < 500 and err.status_code not in (408, 409, 429):
                return ModelRejected(self._rejected(err))
            what = (f"kept failing{after.replace(',', '')} ({describe(err)})" if after
                    else f"failed ({describe(err)})")
        elif isinstance(err, openai.APITimeoutError | httpx.TimeoutException):
            what = (f"is not responding (no answer within {self.settings.timeout_s:g} s"
                    f"{after})")
        elif isinstance(err, openai.APIConnectionError | httpx.TransportError):
            what = f"is not responding (could not connect{after})"
        else:
            what = ("kept sending malformed responses" if _malformed(err)
                    else f"failed ({describe(err)})")
        return ModelUnavailable(redact(f"the model endpoint {where} {what}",
                                       self.settings.api_key))


def describe(err: BaseException) -> str:
    """What happened, for a log line or a message: the endpoint's own words for an HTTP error
    (whole, within a bound), else the exception's type and message."""
    if isinstance(err, openai.APIStatusError):
        return answer_text(err.status_code, err.body, _body_text(err))
    if isinstance(err, openai.APITimeoutError | httpx.TimeoutException):
        return "timed out"
    if isinstance(err, openai.APIConnectionError):
        cause = err.__cause__
        return clip(f"could not connect ({type(cause).__name__}: {cause})" if cause
                    else "could not connect")
    return clip(f"{type(err).__name__}: {err}")


def _body_text(err: openai.APIStatusError) -> str:
    try:
        return err.response.text
    except Exception:
        return ""


def _noted(note: str | None, reason: str) -> str:
    return f"{note}: {reason}" if note else reason

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
