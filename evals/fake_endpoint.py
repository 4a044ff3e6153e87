"""Loopback OpenAI-compatible fake chat server for tests, benchmarks and offline e2e runs.

No model endpoint is reachable from this machine, so anything speaking the OpenAI chat API talks to
this instead. Replies are deterministic, every chat request is logged (never header values), and
faults (5xx, 429, timeouts, drops, bad/empty content, non-JSON bodies, broken streams) come from
a fixed schedule or a seeded rate. ``--quirks NAME`` makes it behave like a real server
(llama.cpp, Ollama, vLLM, LM Studio, OpenAI, Fireworks; serial ones serve one request at a time,
``--call-delay-s`` each) and ``--misbehave KIND`` like a weak model: see evals/fake_servers.py.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import random
import re
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from evals.fake_responder import interviewer_responder
from evals.fake_servers import MISBEHAVIOURS, QUIRKS, Quirks, misbehaving_content

ALL_FAULTS = ("500", "429", "timeout", "drop", "malformed", "out_of_range", "empty", "garbage",
              "bad_sse", "sse_error")
"""Fault kinds. `malformed` corrupts the reply's content inside a valid envelope; `garbage` is an
HTTP 200 whose body is not the API's JSON (a proxy's HTML page); `bad_sse` breaks a stream with
an event that is not JSON; `sse_error` sends an error event mid-stream that echoes the request's
Authorization header back, as some proxies do (the client must never show or store it)."""
MODEL_ID = "fake-model"
Responder = Callable[[dict[str, Any]], str | dict[str, Any] | None]

_PLAIN = ("Thanks. What would you look at first, and why?",
          "Good. How would that design behave under ten times the load?",
          "Understood. Which trade-off worries you most here?",
          "Okay. How would you measure whether this is working?")
_NEUTRAL = ("The answer covers the main point.", "The response is reasonable.",
            "The candidate gave a partial answer.", "No further detail was provided.")
_CANDIDATE_RE = re.compile(r"<candidate\b[^>]*>(.*?)</candidate>", re.DOTALL | re.IGNORECASE)
_SCHEMA_RE = re.compile(r"<json_schema>(.*?)</json_schema>", re.DOTALL)
_SENTENCE_RE = re.compile(r"[^.!?\n]+[.!?]*")
_PIECE_RE = re.compile(r"\S+\s*|\s+")  # stream pieces; concatenating them restores the text
_MAX_DEPTH = 12


def _hash(*parts: object) -> int:
    """Process-independent hash, so replies are reproducible across runs."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return int(hashlib.sha256(blob).hexdigest()[:16], 16)


def _message_texts(body: dict[str, Any]) -> list[str]:
    """Text of every message, whether content is a string or a list of text parts."""
    texts: list[str] = []
    for msg in body.get("messages") or []:
        content = msg.get("content") if isinstance(msg, dict) else None
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.extend(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return texts


def candidate_sentences(body: dict[str, Any]) -> list[str]:
    """Sentences inside <candidate ...> tags: the only text a quote may be copied from.
    System messages are skipped: they mention the tags in prose."""
    user = {**body, "messages": [m for m in body.get("messages") or []
                                 if not (isinstance(m, dict) and m.get("role") == "system")]}
    return [s.strip() for text in _message_texts(user) for block in _CANDIDATE_RE.findall(text)
            for s in _SENTENCE_RE.findall(block) if any(ch.isalnum() for ch in s)]


class _SchemaGen:
    """Tiny generic JSON-schema instance generator (enough for pydantic / strict schemas)."""

    def __init__(self, root: dict[str, Any], seed: int, sentences: list[str], bad: bool) -> None:
        self.root, self.seed, self.sentences, self.bad = root, seed, sentences, bad

    def _resolve(self, ref: str) -> dict[str, Any]:
        node: Any = self.root
        for part in filter(None, ref.lstrip("#").split("/")):
            node = node.get(part.replace("~1", "/").replace("~0", "~"), {})
        return node if isinstance(node, dict) else {}

    def make(self, schema: Any, name: str = "", path: str = "$", refs: tuple[str, ...] = ()) -> Any:
        """Instance of `schema`; `name` is the nearest property name (decides quotes), `refs`
        the active $ref chain (recursive models stop at a null branch or an empty list)."""
        if not isinstance(schema, dict):
            return "ok"
        if "$ref" in schema:
            ref = schema["$ref"]
            if refs.count(ref) > 1 or len(refs) > _MAX_DEPTH:
                return None  # unbounded required recursion: give up on this branch
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            return self.make({**self._resolve(ref), **rest}, name, path, (*refs, ref))
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return schema["enum"][_hash(self.seed, path) % len(schema["enum"])]
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                live = [b for b in schema[key] if isinstance(b, dict) and b.get("type") != "null"]
                if live and len(live) < len(schema[key]) and live[0].get("$ref") in refs:
                    return None  # Optional[<recursive model>] -> null
                return self.make((live or schema[key])[0], name, path, refs)  # Optional[X] -> X
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        kind = kind or ("object" if "properties" in schema else "array" if "items" in schema
                        else "string")
        if kind == "object":
            props = schema.get("properties") or {}
            return {k: self.make(v, k, f"{path}.{k}", refs) for k, v in props.items()}
        if kind == "array":
            items = schema.get("items", {})
            recursive = isinstance(items, dict) and items.get("$ref") in refs
            count = max(int(schema.get("minItems", 0)), 0 if recursive else 1)
            count = min(count, int(schema.get("maxItems", count)))
            return [self.make(items, name, f"{path}[{i}]", refs) for i in range(count)]
        if kind in ("integer", "number"):
            return self._number(schema, path, kind == "integer")
        if kind == "boolean":
            return _hash(self.seed, path) % 2 == 0
        return None if kind == "null" else self._string(schema, name, path)

    def _number(self, schema: dict[str, Any], path: str, integer: bool) -> int | float:
        step = 1 if integer else 0
        lo, hi = schema.get("minimum"), schema.get("maximum")
        if isinstance(schema.get("exclusiveMinimum"), int | float):
            lo = schema["exclusiveMinimum"] + step
        if isinstance(schema.get("exclusiveMaximum"), int | float):
            hi = schema["exclusiveMaximum"] - step
        if self.bad:  # parses fine, but lies outside the declared range
            return hi + 5 if hi is not None else lo - 5 if lo is not None else 999_999
        lo = lo if lo is not None else (hi - 10 if hi is not None else 0)
        hi = hi if hi is not None else lo + 10
        h = _hash(self.seed, path)
        if integer:
            lo_i, hi_i = int(-(-lo // 1)), int(hi // 1)  # ceil / floor
            return lo_i + h % max(hi_i - lo_i + 1, 1)
        value = round(lo + (hi - lo) * ((h % 999) + 1) / 1000, 3)  # strictly inside (lo, hi)
        return value if lo < value < hi or lo == hi else (lo + hi) / 2

    def _string(self, schema: dict[str, Any], name: str, path: str) -> str:
        h = _hash(self.seed, path)
        if any(word in name.lower() for word in ("quote", "evidence")):
            text = self.sentences[h % len(self.sentences)] if self.sentences else "ok"
        else:
            text = _NEUTRAL[h % len(_NEUTRAL)]
        text = text[: int(schema.get("maxLength", len(text)))]
        return text.ljust(int(schema.get("minLength", 0)), ".")


def _structured(body: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    """The structured mode requested ("json_schema" / "json_object" / None) and its schema."""
    fmt = body.get("response_format")
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if isinstance(fmt, dict) and kind == "json_schema":
        spec = fmt.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        return kind, schema if isinstance(schema, dict) else {}
    if kind != "json_object":
        return None, None
    if isinstance(fmt, dict) and isinstance(fmt.get("schema"), dict):  # llama.cpp, Fireworks
        return kind, fmt["schema"]
    for text in _message_texts(body):  # JSON mode: the client embeds the schema in a message
        for raw in _SCHEMA_RE.findall(text):
            with contextlib.suppress(ValueError):
                if isinstance(schema := json.loads(raw), dict):
                    return kind, schema
    return kind, None


def _request_seed(body: dict[str, Any]) -> int:
    """Hash of the request minus streaming knobs, so stream and non-stream replies agree."""
    return _hash({k: v for k, v in body.items() if k not in ("stream", "stream_options")})


def default_content(body: dict[str, Any], *, bad_numbers: bool = False) -> str:
    """The echo model: a schema instance for structured requests, else a follow-up question."""
    kind, schema = _structured(body)
    seed = _request_seed(body)
    if kind is None:
        return _PLAIN[seed % len(_PLAIN)]
    if schema is None:
        return "{}"
    return json.dumps(_SchemaGen(schema, seed, candidate_sentences(body), bad_numbers).make(schema))


def _malformed(valid: str) -> str:
    """Truncate valid JSON so it no longer parses (like a model cut off mid-object)."""
    cut = valid[: max(1, len(valid) * 2 // 3)]
    with contextlib.suppress(ValueError):
        json.loads(cut)
        return '{"level": 4, "rationale": "'  # the cut happened to parse (e.g. a bare number)
    return cut


def _shutdown(conn: socket.socket) -> None:
    """Best-effort abrupt shutdown of a socket (wakes any thread blocked reading it)."""
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)


class _Server(ThreadingHTTPServer):
    """Tracks connections and handler threads so stop() can cut idle keep-alives and join."""

    daemon_threads = True  # stdlib then neither tracks nor joins them, so we do it ourselves
    request_queue_size = 1024  # the default 5 resets connections under concurrent benchmarks

    def __init__(self, addr: tuple[str, int], endpoint: FakeEndpoint) -> None:
        self.endpoint, self.closing = endpoint, False
        self.conns: set[socket.socket] = set()
        self.threads: list[threading.Thread] = []
        self.conns_lock = threading.Lock()
        super().__init__(addr, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Like ThreadingMixIn's, but remembers every handler thread for join_all()."""
        t = threading.Thread(target=self.process_request_thread, args=(request, client_address),
                             name=f"fake-endpoint-handler:{self.server_address[1]}", daemon=True)
        with self.conns_lock:
            self.threads = [*(x for x in self.threads if x.is_alive()), t]
        t.start()

    def track(self, conn: socket.socket, add: bool) -> None:
        """(Un)register a connection; one arriving after cut_all() is shut at once."""
        with self.conns_lock:
            (self.conns.add if add else self.conns.discard)(conn)
            if add and self.closing:
                _shutdown(conn)

    def cut_all(self) -> None:
        """Shut down every open connection so handler threads wake up and exit."""
        with self.conns_lock:
            self.closing = True
            for conn in self.conns:
                _shutdown(conn)

    def join_all(self) -> None:
        """Wait for handler threads (they wake quickly once connections are cut)."""
        for t in self.threads:
            t.join()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up (timeouts, drops) are expected; only real bugs get a traceback."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Routes requests to the owning FakeEndpoint."""

    protocol_version = "HTTP/1.1"  # keep-alive + chunked streams, so a dropped stream is visible
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms stalls
        self.server.track(self.connection, True)

    def finish(self) -> None:
        self.server.track(self.connection, False)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging; the request log is served at /_requests instead."""

    def do_route(self) -> None:
        """Dispatch on (method, path); every reply is JSON in OpenAI's shape."""
        ep, route = self.server.endpoint, (self.command, self.path.split("?")[0].rstrip("/"))
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            body = None
        try:
            if ep.api_key is not None and route[1].startswith("/v1/") and self.headers.get(
                    "Authorization") != f"Bearer {ep.api_key}":
                return self.send_error_json(401, "Incorrect API key provided.",
                                            "invalid_request_error", "invalid_api_key")
            if route == ("POST", "/v1/chat/completions"):
                ep._chat(self, body, bool(self.headers.get("Authorization")))
            elif route == ("POST", "/v1/audio/transcriptions"):
                ep._transcribe(self, raw)
            elif route == ("GET", "/v1/models"):
                self.send_json(200, {"object": "list", "data": [
                    {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "fake"}]})
            elif route == ("GET", "/_requests"):
                self.send_json(200, ep.requests)
            elif ep.batches.handles(route[1]):  # /v1/files, /v1/batches, Fireworks' routes
                ep.batches.handle(self, route, raw)
            elif route == ("POST", "/_reset"):
                ep.reset()
                self.send_json(200, {"ok": True})
            elif route == ("POST", "/_faults"):
                b = body if isinstance(body, dict) else {}
                try:
                    ep.configure_faults(b.get("faults", ()), float(b.get("fault_rate", 0.0)),
                                        b.get("seed"), b.get("fault_kinds"))
                except (ValueError, TypeError) as exc:
                    return self.send_error_json(400, str(exc), "invalid_request_error", "bad")
                self.send_json(200, {"ok": True})
            else:
                self.send_error_json(404, f"Unknown route: {' '.join(route)}",
                                     "invalid_request_error", "not_found")
        except OSError:
            self.close_connection = True  # the client went away (e.g. it timed out)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_route

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        """JSON with Content-Length, so the connection stays reusable."""
        data = json.dumps(payload).encode()
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", "Content-Length": str(len(data)),
                           **(headers or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def send_text(self, status: int, text: str, content_type: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_error_json(self, status: int, message: str, kind: str, code: str,
                        headers: dict[str, str] | None = None) -> None:
        """Errors in OpenAI's shape, so the SDK raises its typed exceptions."""
        error = {"message": message, "type": kind, "param": None, "code": code}
        self.send_json(status, {"error": error}, headers)

    def send_event(self, payload: str) -> None:
        """One SSE event as one HTTP chunk, flushed immediately."""
        data = f"data: {payload}\n\n".encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def drop(self) -> None:
        """Close the connection abruptly: no (further) response bytes, no [DONE]."""
        self.close_connection = True
        _shutdown(self.connection)

    def client_gone(self) -> bool:
        """Whether the client closed the connection (it timed out and cancelled, say)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def wait_or_gone(self, seconds: float, stopping: threading.Event) -> bool:
        """Wait ``seconds`` like a server computing a reply; True if the client went away (or
        the server is stopping) first: a well-behaved server stops work for a closed
        connection."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if stopping.wait(min(0.05, left)) or self.client_gone():
                return True
        return False


class FakeEndpoint:
    """In-process OpenAI-compatible chat server on loopback; use `with FakeEndpoint() as ep:`."""

    def __init__(self, *, latency_ms: float = 0, faults: Sequence[str] = (),
                 fault_rate: float = 0.0, fault_kinds: Sequence[str] = ALL_FAULTS, seed: int = 0,
                 supports_json_schema: bool = True, responder: Responder | None = None,
                 retry_after_s: float = 0, timeout_sleep_s: float = 3.0,
                 host: str = "127.0.0.1", port: int = 0, quirks: str | Quirks | None = None,
                 call_delay_s: float = 0.0, misbehave: str | None = None,
                 slow_s: float = 30.0, api_key: str | None = None) -> None:
        if isinstance(quirks, str):
            if quirks not in QUIRKS:
                raise ValueError(f"unknown quirks {quirks!r} (choose from {', '.join(QUIRKS)})")
            quirks = QUIRKS[quirks]
        if misbehave is not None and misbehave not in MISBEHAVIOURS:
            raise ValueError(f"unknown misbehaviour {misbehave!r} (choose from "
                             f"{', '.join(MISBEHAVIOURS)})")
        self.quirks, self.misbehave = quirks, misbehave
        self.api_key = api_key  # set: /v1/ requests without this bearer key get HTTP 401
        self.call_delay_s, self.slow_s = call_delay_s, slow_s
        self._serial = threading.Lock()  # held per request when the quirks are serial
        self.latency_ms, self.supports_json_schema = latency_ms, supports_json_schema
        self.responder, self.retry_after_s = responder, retry_after_s
        self.timeout_sleep_s, self.host, self.port, self.seed = timeout_sleep_s, host, port, seed
        self._lock = threading.Lock()
        self._log: list[dict[str, Any]] = []
        self._stopping = threading.Event()  # wakes latency / timeout sleeps on stop()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.configure_faults(faults, fault_rate, seed, fault_kinds)
        from evals.fake_batches import FakeBatches  # (it imports helpers from this module)

        self.batches = FakeBatches(self)

    def start(self) -> FakeEndpoint:
        """Bind (port 0 picks a free port) and serve in a daemon thread."""
        if self._server is None:
            self._stopping.clear()
            self._server = _Server((self.host, self.port), self)
            self.port = self._server.server_address[1]
            self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                            name=f"fake-endpoint:{self.port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake sleeping handlers, cut connections, close the socket, join all."""
        server, thread, self._server, self._thread = self._server, self._thread, None, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.cut_all()
        server.server_close()
        server.join_all()
        if thread is not None:
            thread.join()

    def __enter__(self) -> FakeEndpoint:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL for openai.OpenAI(base_url=...)."""
        return f"http://{self.host}:{self.port}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Copy of the chat request log."""
        with self._lock:
            return [dict(r) for r in self._log]

    def configure_faults(self, faults: Sequence[str] = (), fault_rate: float = 0.0,
                         seed: int | None = None, fault_kinds: Sequence[str] | None = None) -> None:
        """Replace the fault config at run time (also behind POST /_faults)."""
        kinds = tuple(ALL_FAULTS if fault_kinds is None else fault_kinds)
        unknown = [f for f in (*faults, *kinds) if f not in (*ALL_FAULTS, "ok")]
        if unknown or isinstance(faults, str) or not 0.0 <= fault_rate <= 1.0:
            raise ValueError(f"bad fault config: unknown={unknown} fault_rate={fault_rate}")
        with self._lock:
            self.faults, self.fault_rate, self.fault_kinds = list(faults), fault_rate, kinds
            self.seed = self.seed if seed is None else int(seed)
            self._pos, self._rng = 0, random.Random(self.seed)

    def reset(self) -> None:
        """Clear the request log and rewind the fault schedule (and the seeded RNG)."""
        with self._lock:
            self._log.clear()
            self._pos, self._rng = 0, random.Random(self.seed)

    def _record(self, body: Any, has_auth: bool, rejected: bool,
                h: _Handler | None = None) -> str | None:
        """Pick this request's fault and log it; header values are never stored. The entry
        gets "cancelled": true if the client went away before it was served (see _chat), and
        "queued_s", how long it waited for a serial server."""
        with self._lock:
            fault: str | None = None  # a json_schema 400 is no fault and consumes none
            if not rejected and self._pos < len(self.faults):
                fault, self._pos = self.faults[self._pos], self._pos + 1
            elif not rejected and self.fault_rate > 0 and self._rng.random() < self.fault_rate:
                fault = self._rng.choice(self.fault_kinds)
            fault = None if fault == "ok" else fault
            now = time.time()
            self._log.append({"index": len(self._log), "time": now, "body": body,
                              "fault": fault, "has_auth": has_auth})
            if h is not None:
                h.log_index = len(self._log) - 1  # type: ignore[attr-defined]
                self._log[-1]["queued_s"] = round(now - getattr(h, "arrived", now), 3)
            return fault

    def _transcribe(self, h: _Handler, raw: bytes) -> None:
        """Speech to text (see evals/fake_audio.py); logged beside the chat requests."""
        from evals.fake_audio import transcribe

        status, payload, entry = transcribe(h.headers.get("Content-Type", ""), raw)
        with self._lock:
            self._log.append({"index": len(self._log), "time": time.time(), "body": entry,
                              "fault": None, "has_auth": bool(h.headers.get("Authorization"))})
        h.send_json(status, payload)

    def _chat(self, h: _Handler, body: Any, has_auth: bool) -> None:
        """Serve one chat completion; a serial server serves one at a time, each taking
        ``call_delay_s``, and skips (or stops) work for a client that went away."""
        h.arrived = time.time()  # type: ignore[attr-defined]  # for the log's queued_s
        if not (self.quirks and self.quirks.serial):
            return self._serve(h, body, has_auth)
        with self._serial:
            return self._serve(h, body, has_auth)

    def _cancelled(self, h: _Handler) -> None:
        """The client went away before its reply was made: note it, and close."""
        with self._lock:
            if self._log:
                self._log[self._entry(h)]["cancelled"] = True
        h.drop()

    def _entry(self, h: _Handler) -> int:
        return int(getattr(h, "log_index", len(self._log) - 1))

    def _serve(self, h: _Handler, body: Any, has_auth: bool) -> None:
        """Serve one chat completion, applying latency and the selected fault."""
        began = time.time()
        kind = _structured(body)[0] if isinstance(body, dict) else None
        fmt = body.get("response_format") if isinstance(body, dict) else None
        refusal = self.quirks.refusal(fmt) if self.quirks else None
        rejected = (kind == "json_schema" and not self.supports_json_schema) or bool(refusal)
        fault = self._record(body, has_auth, rejected, h)
        if h.client_gone():
            return self._cancelled(h)
        # A plain reply is made first and sent once ``latency_ms`` has passed since serving
        # began (on a serial server, since its turn came), so the latency is the endpoint's
        # whole response time, as a real server's is. (Made after the wait, a judge reply's
        # own few milliseconds came on top of the latency.)
        made: tuple[str | None, Exception | None] = (None, None)
        if (fault is None and not rejected and isinstance(body, dict)
                and not self.call_delay_s):
            try:
                made = (self._content(body, None, kind is not None), None)
            except Exception as exc:  # reported below, after the latency, as before
                made = (None, exc)
        if self._stopping.wait(max(0.0, began + self.latency_ms / 1000 - time.time())):
            return h.drop()
        if refusal and self.quirks is not None:  # refused on validation, before any compute
            status, said = refusal
            if self.quirks.error_shape == "string":
                return h.send_json(status, {"error": said})
            return h.send_error_json(status, said, "invalid_request_error"
                                     if status < 500 else "internal_server_error", "bad_format")
        if self.call_delay_s and h.wait_or_gone(self.call_delay_s, self._stopping):
            return self._cancelled(h)
        if not isinstance(body, dict):
            return h.send_error_json(400, "Request body is not a JSON object.",
                                     "invalid_request_error", "invalid_json")
        if rejected:  # as some OpenAI-compatible servers do; exercises the JSON-mode fallback
            return h.send_error_json(400, "response_format json_schema is not supported by "
                                     "this server; use json_object.", "invalid_request_error",
                                     "unsupported_response_format")
        if fault == "500":
            return h.send_error_json(500, "The server had an error processing your request "
                                     "(injected fault).", "server_error", "internal_error")
        if fault == "429":
            return h.send_error_json(429, "Rate limit reached (injected fault).", "requests",
                                     "rate_limit_exceeded",
                                     {"Retry-After": f"{self.retry_after_s:g}"})
        if fault == "timeout" and self._stopping.wait(self.timeout_sleep_s):
            return h.drop()
        stream = bool(body.get("stream"))
        if fault == "drop" and not stream:
            return h.drop()
        if fault == "garbage" or (fault in ("bad_sse", "sse_error") and not stream):
            return h.send_text(200, "<html><body><h1>502 Bad Gateway</h1></body></html>",
                               "text/html")
        try:
            if made[1] is not None:
                raise made[1]
            content = made[0] if made[0] is not None else self._content(body, fault,
                                                                        kind is not None)
        except Exception as exc:  # a broken test responder should fail loudly, not hang
            return h.send_error_json(500, f"responder failed: {exc!r}", "server_error", "fake")
        prompt = sum(map(len, _message_texts(body))) // 4
        completion = max(1, len(content) // 4)
        usage = {"prompt_tokens": prompt, "completion_tokens": completion,
                 "total_tokens": prompt + completion}
        base = {"id": f"chatcmpl-fake{_request_seed(body):x}", "created": int(time.time()),
                "model": str(body.get("model") or MODEL_ID), "system_fingerprint": "fake"}
        if stream:
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            breaks = {"drop": "drop", "bad_sse": "{this is not json",
                      "sse_error": json.dumps({"error": {
                          "message": "upstream failed; request had Authorization: "
                                     + h.headers.get("Authorization", ""),
                          "type": "server_error", "code": "upstream"}})}
            usage_mode = self.quirks.stream_usage if self.quirks else "include_usage"
            if usage_mode == "never" or (usage_mode == "include_usage" and not include_usage):
                usage_mode = "never"
            shape = self.misbehave if kind is None and not fault else None
            return self._stream(h, base, content, usage if usage_mode != "never" else None,
                                breaks.get(fault or ""), usage_mode, shape)
        message = {"role": "assistant", "content": content, "refusal": None}
        choice = {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
        h.send_json(200, {**base, "object": "chat.completion", "choices": [choice],
                          "usage": usage})

    def _content(self, body: dict[str, Any], fault: str | None, structured: bool) -> str:
        """Message content: content faults first, then the responder, then the echo model."""
        if fault == "empty" or (fault == "malformed" and not structured):
            return ""
        if fault == "out_of_range" and structured:
            return default_content(body, bad_numbers=True)
        reply = self.responder(body) if self.responder is not None else None
        content = (reply if isinstance(reply, str) else json.dumps(reply)
                   if isinstance(reply, dict) else default_content(body))
        if self.misbehave and not structured and not fault:
            content = misbehaving_content(self.misbehave, content, body)
        return _malformed(content) if fault == "malformed" else content

    def _stream(self, h: _Handler, base: dict[str, Any], content: str,
                usage: dict[str, int] | None, breaks: str | None,
                usage_mode: str = "include_usage", shape: str | None = None) -> None:
        """SSE, one chunk per word. ``breaks`` interrupts it after two chunks: "drop" cuts the
        connection, anything else is sent as the next event's data. ``usage_mode``: usage in
        a last chunk of its own, or in the finish chunk. ``shape``: a streaming misbehaviour
        (loop, slow_first_token, truncate; evals/fake_servers.py)."""
        h.send_response(200)
        for key, value in (("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"),
                           ("Transfer-Encoding", "chunked")):
            h.send_header(key, value)
        h.end_headers()

        def chunk(delta: dict[str, Any], finish: str | None,
                  extra: dict[str, Any] | None = None) -> str:
            return json.dumps({**base, "object": "chat.completion.chunk", "choices": [
                {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
                **(extra or {})})

        if shape == "loop":
            return self._loop(h, chunk, content)
        if shape == "slow_first_token":
            h.send_event(chunk({"role": "assistant", "content": ""}, None))
            if h.wait_or_gone(self.slow_s, self._stopping):
                return self._cancelled(h)
        events = [chunk({"role": "assistant", "content": ""}, None)]
        events += [chunk({"content": piece}, None) for piece in _PIECE_RE.findall(content)]
        if shape == "truncate":  # the body just ends: no finish reason, no [DONE]
            for event in events:
                h.send_event(event)
            h.wfile.write(b"0\r\n\r\n")
            return None
        finish_usage = {"usage": usage} if usage is not None and usage_mode == "finish_chunk" \
            else None
        events.append(chunk({}, "stop", finish_usage))
        if usage is not None and usage_mode != "finish_chunk":
            events.append(json.dumps({**base, "object": "chat.completion.chunk", "choices": [],
                                      "usage": usage}))
        for i, event in enumerate([*events, "[DONE]"]):
            if breaks == "drop" and i == 2:
                return h.drop()
            if breaks and i == 2:
                h.send_event(breaks)
                break
            h.send_event(event)
        h.wfile.write(b"0\r\n\r\n")
        return None

    def _loop(self, h: _Handler, chunk: Callable[..., str], content: str) -> None:
        """A reply that never ends by itself: the same words until the client hangs up (or a
        safety cap of a few thousand events)."""
        h.send_event(chunk({"role": "assistant", "content": ""}, None))
        pieces = _PIECE_RE.findall(content)
        try:
            for i in range(5_000):
                if self._stopping.is_set():
                    return h.drop()
                h.send_event(chunk({"content": pieces[i % len(pieces)]}, None))
                time.sleep(0.002)
        except OSError:  # the client closed the connection: stop generating
            with self._lock:
                self._log[self._entry(h)]["cancelled"] = True
            h.close_connection = True
            return None
        return h.drop()


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: print the base URL as the first stdout line, then serve until SIGINT/SIGTERM."""
    p = argparse.ArgumentParser(prog="python -m evals.fake_endpoint", description=__doc__)
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback)")
    p.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    p.add_argument("--latency-ms", type=float, default=0,
                   help="response time of every chat reply (the reply's own making included)")
    p.add_argument("--faults", default="", help="comma-separated faults applied in order to chat "
                   f"requests, 'ok' = none; kinds: {','.join(ALL_FAULTS)}")
    p.add_argument("--fault-rate", type=float, default=0.0,
                   help="after that schedule, probability (0..1) that a request gets a fault")
    p.add_argument("--fault-kinds", default=",".join(ALL_FAULTS),
                   help="comma-separated kinds that --fault-rate draws from (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed for the --fault-rate draws")
    p.add_argument("--no-json-schema", action="store_true", help="reject response_format "
                   "json_schema with HTTP 400 (exercises the client's json_object fallback)")
    p.add_argument("--retry-after-s", type=float, default=0, help="Retry-After of 429 faults")
    p.add_argument("--timeout-sleep-s", type=float, default=3.0,
                   help="how long a 'timeout' fault stalls before answering")
    p.add_argument("--scripted", action="store_true", help="answer interviewer's own prompts "
                   "like an interview model (evals/fake_responder.py) instead of echoing")
    p.add_argument("--quirks", choices=list(QUIRKS), help="behave like this server "
                   "(evals/fake_servers.py): which response_format types it takes, usage in "
                   "streams, one request at a time")
    p.add_argument("--call-delay-s", type=float, default=0.0, help="seconds each chat request "
                   "takes (with serial --quirks: a slow server that serves one at a time)")
    p.add_argument("--misbehave", choices=list(MISBEHAVIOURS), help="answer free-text "
                   "(interviewer speech) requests like a weak model: " + ", ".join(MISBEHAVIOURS))
    p.add_argument("--slow-s", type=float, default=30.0,
                   help="how long --misbehave slow_first_token waits before the first word")
    args = p.parse_args(argv)

    def split(value: str) -> list[str]:
        return [v.strip() for v in value.split(",") if v.strip()]

    done = threading.Event()
    try:
        ep = FakeEndpoint(
            latency_ms=args.latency_ms, faults=split(args.faults), fault_rate=args.fault_rate,
            fault_kinds=split(args.fault_kinds), seed=args.seed,
            supports_json_schema=not args.no_json_schema, retry_after_s=args.retry_after_s,
            timeout_sleep_s=args.timeout_sleep_s, host=args.host, port=args.port,
            responder=interviewer_responder if args.scripted else None, quirks=args.quirks,
            call_delay_s=args.call_delay_s, misbehave=args.misbehave, slow_s=args.slow_s)
    except ValueError as exc:
        p.error(str(exc))
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: done.set())
    with ep:
        print(ep.url, flush=True)
        while not done.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
