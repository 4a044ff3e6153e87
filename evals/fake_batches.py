"""Batch APIs on the loopback fake endpoint (evals/fake_endpoint.py), for tests and benchmarks.

- OpenAI: ``POST /v1/files`` (multipart, purpose ``batch``), ``GET /v1/files/{id}`` and
  ``/content``, ``POST /v1/batches``, ``GET /v1/batches[/{id}]``, ``POST /v1/batches/{id}/cancel``.
- Fireworks, under ``/v1/accounts/{account}``: ``POST datasets`` (refused without
  ``exampleCount``, as the real API does), ``POST datasets/{id}:upload`` (multipart),
  ``GET datasets/{id}``, ``POST batchInferenceJobs?batchInferenceJobId=``,
  ``GET batchInferenceJobs/{id}``, ``DELETE`` it (Fireworks' cancel), and
  ``GET datasets/{id}:getDownloadEndpoint``, whose "signed" URLs (``/_signed/...``) serve the
  output files and record whether a request carried an Authorization header (it must not).

Each line is answered as the chat route would answer it (the endpoint's responder, or its echo
model), with no fault injected. A batch's progress is computed from the clock when it is read
(no worker thread): it validates, runs for ``seconds``, then completes. ``configure`` makes
lines fail (``fail_every``, ``fail_ids``: an HTTP 500 line in the error file), makes the batch
expire after some lines (the rest go to the error file as ``batch_expired``; Fireworks:
``JOB_STATE_EXPIRED``), or rejects the whole batch at validation (``reject``). ``POST
/_batches`` with the same fields configures it over HTTP; ``GET /_batches`` returns the log.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
import time
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from evals.fake_endpoint import _message_texts, _request_seed, _structured

if TYPE_CHECKING:
    from evals.fake_endpoint import FakeEndpoint, _Handler


@dataclass
class BatchBehaviour:
    seconds: float = 0.3
    """From creation to the last line answered."""
    fail_every: int = 0
    """Every k-th line (1-based) fails with HTTP 500; 0 = none."""
    fail_ids: tuple[str, ...] = ()
    expire_after: int | None = None
    """Answer this many lines, then expire: the rest are never run."""
    reject: str | None = None
    """Fail the whole batch at validation with this message."""


@dataclass
class _Batch:
    id: str
    provider: str
    lines: list[dict[str, Any]]
    created: float
    behaviour: BatchBehaviour
    model: str | None = None
    input_file_id: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    cancelled: float | None = None
    finished: str | None = None  # the terminal state, once the output is written
    output_file: str | None = None
    error_file: str | None = None
    output_dataset: str = ""
    succeeded: int = 0
    failed: int = 0


class FakeBatches:
    """The batch routes of one FakeEndpoint; ``configure`` sets how the next batches behave."""

    def __init__(self, endpoint: FakeEndpoint) -> None:
        self.ep = endpoint
        self.behaviour = BatchBehaviour()
        self.files: dict[str, dict[str, Any]] = {}
        self.contents: dict[str, bytes] = {}
        self.batches: dict[str, _Batch] = {}
        self.datasets: dict[str, dict[str, Any]] = {}
        self.log: list[dict[str, Any]] = []
        self._lock = threading.RLock()
        self._n = 0

    def configure(self, **changes: Any) -> None:
        known = {f.name for f in fields(BatchBehaviour)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown batch behaviour: {sorted(unknown)}")
        with self._lock:
            values = {**self.behaviour.__dict__, **changes}
            values["fail_ids"] = tuple(values["fail_ids"] or ())
            self.behaviour = BatchBehaviour(**values)

    @staticmethod
    def handles(path: str) -> bool:
        return path.startswith(("/v1/files", "/v1/batches", "/v1/accounts/", "/_signed/",
                                "/_batches"))

    def _id(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n:04d}"

    # -- routing --------------------------------------------------------------------------------

    def handle(self, h: _Handler, route: tuple[str, str], raw: bytes) -> None:
        method, path = route
        with self._lock:
            self.log.append({"time": time.time(), "method": method, "path": path,
                             "has_auth": bool(h.headers.get("Authorization"))})
            parts = path.strip("/").split("/")
            try:
                if path == "/_batches":
                    return self._control(h, method, raw)
                if parts[0] == "_signed":
                    return self._signed(h, parts[1])
                if parts[:2] == ["v1", "files"]:
                    return self._files(h, method, parts[2:], raw)
                if parts[:2] == ["v1", "batches"]:
                    return self._openai_batches(h, method, parts[2:], raw)
                if parts[:2] == ["v1", "accounts"] and len(parts) >= 4:
                    return self._fireworks(h, method, parts[2], parts[3:], raw)
            except _Refused as e:
                return h.send_error_json(e.status, e.message, "invalid_request_error", e.code)
        h.send_error_json(404, f"Unknown route: {method} {path}", "invalid_request_error",
                          "not_found")

    def _control(self, h: _Handler, method: str, raw: bytes) -> None:
        if method == "GET":
            return h.send_json(200, {"log": self.log, "behaviour": self.behaviour.__dict__})
        try:
            self.configure(**_json(raw))
        except (ValueError, TypeError) as e:
            raise _Refused(400, str(e)) from None
        h.send_json(200, {"ok": True})

    # -- OpenAI ---------------------------------------------------------------------------------

    def _files(self, h: _Handler, method: str, rest: list[str], raw: bytes) -> None:
        if method == "POST" and not rest:
            form = _multipart(h.headers.get("Content-Type", ""), raw)
            if "file" not in form:
                raise _Refused(400, "missing the 'file' part", "missing_file")
            purpose = form.get("purpose", (None, b""))[1].decode()
            if purpose != "batch":
                raise _Refused(400, f"purpose must be 'batch', got {purpose!r}")
            name, data = form["file"]
            fid = self._id("file-")
            self.contents[fid] = data
            self.files[fid] = {"id": fid, "object": "file", "bytes": len(data),
                               "created_at": int(time.time()), "filename": name or "upload",
                               "purpose": purpose, "status": "processed", "expires_at": None,
                               "status_details": None}
            return h.send_json(200, self.files[fid])
        if method == "GET" and rest and rest[0] in self.files:
            if rest[1:] == ["content"]:
                return h.send_text(200, self.contents[rest[0]].decode(), "application/jsonl")
            if not rest[1:]:
                return h.send_json(200, self.files[rest[0]])
        raise _Refused(404, f"No such file: {'/'.join(rest)}", "not_found")

    def _openai_batches(self, h: _Handler, method: str, rest: list[str], raw: bytes) -> None:
        if method == "POST" and not rest:
            req = _json(raw)
            fid = str(req.get("input_file_id", ""))
            if fid not in self.files:
                raise _Refused(400, f"No file with id {fid!r}", "invalid_file")
            if req.get("endpoint") != "/v1/chat/completions":
                raise _Refused(400, f"unsupported endpoint {req.get('endpoint')!r}")
            lines = _jsonl(self.contents[fid])
            new = _Batch(self._id("batch_"), "openai", lines, time.time(), self.behaviour,
                         input_file_id=fid, metadata=req.get("metadata") or {})
            self.batches[new.id] = new
            return h.send_json(200, self._openai_view(new))
        if method == "GET" and not rest:
            return h.send_json(200, {"object": "list", "data": [
                self._openai_view(b) for b in self.batches.values() if b.provider == "openai"],
                "has_more": False})
        batch = self.batches.get(rest[0]) if rest else None
        if batch is None or batch.provider != "openai":
            raise _Refused(404, f"No batch with id {rest[0] if rest else ''!r}", "not_found")
        if method == "POST" and rest[1:] == ["cancel"]:
            batch.cancelled = batch.cancelled or time.time()
            return h.send_json(200, self._openai_view(batch))
        if method == "GET" and not rest[1:]:
            return h.send_json(200, self._openai_view(batch))
        raise _Refused(404, f"Unknown batch route {'/'.join(rest)}", "not_found")

    def _openai_view(self, b: _Batch) -> dict[str, Any]:
        state, done, failed = self._advance(b)
        errors = None
        if state == "failed":
            errors = {"object": "list", "data": [{"code": "invalid_request", "line": None,
                                                  "message": b.behaviour.reject, "param": None}]}
        now = int(time.time())
        return {
            "id": b.id, "object": "batch", "endpoint": "/v1/chat/completions",
            "errors": errors, "input_file_id": b.input_file_id, "completion_window": "24h",
            "status": state, "output_file_id": b.output_file, "error_file_id": b.error_file,
            "created_at": int(b.created), "in_progress_at": int(b.created),
            "expires_at": int(b.created) + 86400, "finalizing_at": None,
            "completed_at": now if state == "completed" else None,
            "failed_at": now if state == "failed" else None,
            "expired_at": now if state == "expired" else None,
            "cancelling_at": None, "cancelled_at": int(b.cancelled) if b.cancelled else None,
            "request_counts": {"total": len(b.lines), "completed": done, "failed": failed},
            "metadata": b.metadata,
        }

    # -- Fireworks ------------------------------------------------------------------------------

    def _fireworks(self, h: _Handler, method: str, account: str, rest: list[str],
                   raw: bytes) -> None:
        if not h.headers.get("Authorization"):
            raise _Refused(403, "The API key you provided is invalid.", "UNAUTHORIZED")
        head, _, verb = rest[0].partition(":") if len(rest) == 1 else (rest[0], "", "")
        if head == "datasets" and method == "POST" and len(rest) == 1 and not verb:
            req = _json(raw)
            did, spec = str(req.get("datasetId", "")), req.get("dataset") or {}
            if not did or did in self.datasets:
                raise _Refused(400, f"bad or existing datasetId {did!r}")
            if not spec.get("exampleCount"):
                raise _Refused(400, "example_count is required for uploaded datasets")
            self.datasets[did] = {"name": f"accounts/{account}/datasets/{did}",
                                  "state": "UPLOADING", "exampleCount": spec["exampleCount"],
                                  "lines": []}
            return h.send_json(200, _public(self.datasets[did]))
        if rest[0] == "datasets" and len(rest) == 2:
            did, _, verb = rest[1].partition(":")
            ds = self.datasets.get(did)
            if ds is None:
                raise _Refused(404, "resource not found", "5")
            if method == "POST" and verb == "upload":
                form = _multipart(h.headers.get("Content-Type", ""), raw)
                if "file" not in form:
                    raise _Refused(400, "missing the 'file' part")
                ds["lines"], ds["state"] = _jsonl(form["file"][1]), "READY"
                return h.send_json(200, {"id": ds["name"], "object": "file", "bytes": len(
                    form["file"][1]), "filename": form["file"][0], "purpose": "dataset"})
            if method == "GET" and not verb:
                return h.send_json(200, _public(ds))
            if method == "GET" and verb == "getDownloadEndpoint":
                files = ds.get("files")
                if not files:
                    raise _Refused(404, "resource not found", "5")
                base = f"http://{self.ep.host}:{self.ep.port}/_signed"
                return h.send_json(200, {"filenameToSignedUrls": {
                    f"dataset/{did}/{name}": f"{base}/{token}?X-Goog-Signature=fake"
                    for name, token in files.items()}})
        if rest[0].startswith("batchInferenceJobs"):
            if method == "POST" and len(rest) == 1:
                query = parse_qs(urlsplit(h.path).query)
                job_id = (query.get("batchInferenceJobId") or [self._id("job-")])[0]
                req = _json(raw)
                did = str(req.get("inputDatasetId", "")).rsplit("/", 1)[-1]
                ds = self.datasets.get(did)
                if ds is None or ds["state"] != "READY":
                    raise _Refused(400, f"input dataset {did!r} is not ready")
                if not req.get("model"):
                    raise _Refused(400, "model is required")
                job = _Batch(job_id, "fireworks", ds["lines"], time.time(), self.behaviour,
                             model=str(req["model"]), output_dataset=f"bij-{self._id('out')}")
                self.batches[job_id] = job
                return h.send_json(200, self._fireworks_view(job, account))
            batch = self.batches.get(rest[1]) if len(rest) == 2 else None
            if batch is None or batch.provider != "fireworks":
                raise _Refused(404, "resource not found", "5")
            if method == "DELETE":
                batch.cancelled = batch.cancelled or time.time()
                return h.send_json(200, {})
            if method == "GET":
                return h.send_json(200, self._fireworks_view(batch, account))
        raise _Refused(404, f"Unknown route {'/'.join(rest)}", "not_found")

    def _fireworks_view(self, b: _Batch, account: str) -> dict[str, Any]:
        state, done, failed = self._advance(b)
        raw_state = {"validating": "JOB_STATE_VALIDATING", "in_progress": "JOB_STATE_RUNNING",
                     "completed": "JOB_STATE_COMPLETED", "failed": "JOB_STATE_FAILED",
                     "expired": "JOB_STATE_EXPIRED",
                     "cancelled": "JOB_STATE_DELETING_CLEANING_UP"}[state]
        return {
            "name": f"accounts/{account}/batchInferenceJobs/{b.id}", "model": b.model,
            "state": raw_state,
            "status": {"code": "INVALID_ARGUMENT" if state == "failed" else "OK",
                       "message": b.behaviour.reject if state == "failed" else ""},
            "inputDatasetId": "", "outputDatasetId": f"accounts/{account}/datasets/"
                                                      f"{b.output_dataset}",
            "jobProgress": {"totalInputRequests": len(b.lines),
                            "totalProcessedRequests": done + failed,
                            "successfullyProcessedRequests": done, "failedRequests": failed,
                            "percent": int(100 * (done + failed) / max(1, len(b.lines)))},
        }

    def _signed(self, h: _Handler, token: str) -> None:
        data = self.contents.get(token)
        if data is None:
            raise _Refused(404, "NoSuchKey", "404")
        h.send_text(200, data.decode(), "application/octet-stream")

    # -- running a batch ------------------------------------------------------------------------

    def _advance(self, b: _Batch) -> tuple[str, int, int]:
        """(state, lines answered, lines failed) now; writes the output once it is over."""
        if b.finished:
            return b.finished, b.succeeded, b.failed
        beh, n = b.behaviour, len(b.lines)
        elapsed = (b.cancelled or time.time()) - b.created
        if beh.reject:
            if elapsed < beh.seconds / 2 and not b.cancelled:
                return "validating", 0, 0
            self._finish(b, "failed", 0)
            return "failed", 0, 0
        limit = n if beh.expire_after is None else min(n, beh.expire_after)
        ran = n if beh.seconds <= 0 else min(n, int(n * elapsed / beh.seconds))
        if b.cancelled or elapsed >= beh.seconds:
            state = "cancelled" if b.cancelled else "completed" if limit == n else "expired"
            self._finish(b, state, min(ran, limit))
            return state, b.succeeded, b.failed
        if elapsed < min(0.1 * beh.seconds, 0.05):
            return "validating", 0, 0
        running = min(ran, limit)
        fails = sum(1 for i in range(running) if self._fails(b, i))
        return "in_progress", running - fails, fails

    def _fails(self, b: _Batch, index: int) -> bool:
        beh = b.behaviour
        cid = str(b.lines[index].get("custom_id", ""))
        return (beh.fail_every > 0 and (index + 1) % beh.fail_every == 0) or cid in beh.fail_ids

    def _finish(self, b: _Batch, state: str, ran: int) -> str:
        out: list[dict[str, Any]] = []
        err: list[dict[str, Any]] = []
        for i, line in enumerate(b.lines):
            cid = line.get("custom_id")
            if state == "failed":
                break
            if i >= ran:
                code = "batch_expired" if state == "expired" else "batch_cancelled"
                err.append({"id": f"batch_req_{i}", "custom_id": cid, "response": None,
                            "error": {"code": code, "message": "This request could not be "
                                      f"executed before the batch {state}."}})
                continue
            body = dict(line.get("body") or {})
            if b.model:
                body.setdefault("model", b.model)
            if self._fails(b, i):
                error = {"message": "The server had an error processing your request "
                         "(injected batch line failure).", "type": "server_error",
                         "code": "internal_error"}
                err.append({"id": f"batch_req_{i}", "custom_id": cid, "error": error}
                           if b.provider == "fireworks" else
                           {"id": f"batch_req_{i}", "custom_id": cid, "error": None,
                            "response": {"status_code": 500, "request_id": f"req_{i}",
                                         "body": {"error": error}}})
                continue
            completion = self._completion(body)
            out.append({"custom_id": cid, "response": completion} if b.provider == "fireworks"
                       else {"id": f"batch_req_{i}", "custom_id": cid, "error": None,
                             "response": {"status_code": 200, "request_id": f"req_{i}",
                                          "body": completion}})
        b.succeeded, b.failed = len(out), len(err)
        names = ("BIJOutputSet.jsonl", "error-data") if b.provider == "fireworks" else (
            "output.jsonl", "errors.jsonl")
        saved: dict[str, str] = {}
        for name, rows in zip(names, (out, err), strict=True):
            if not rows and b.provider == "openai":
                continue
            fid = self._id("file-")
            data = "".join(json.dumps(r) + "\n" for r in rows).encode()
            self.contents[fid] = data
            self.files[fid] = {"id": fid, "object": "file", "bytes": len(data),
                               "created_at": int(time.time()), "filename": name,
                               "purpose": "batch_output", "status": "processed"}
            saved[name] = fid
        if b.provider == "openai":
            b.output_file, b.error_file = saved.get("output.jsonl"), saved.get("errors.jsonl")
        elif state != "failed":
            self.datasets[b.output_dataset] = {"name": b.output_dataset, "state": "READY",
                                               "exampleCount": str(len(out)), "files": saved}
        b.finished = state
        return state

    def _completion(self, body: dict[str, Any]) -> dict[str, Any]:
        """A chat completion for one line, as the chat route answers (no faults)."""
        kind = _structured(body)[0]
        content = self.ep._content(body, None, kind is not None)
        prompt = sum(map(len, _message_texts(body))) // 4
        completion = max(1, len(content) // 4)
        return {"id": f"chatcmpl-fake{_request_seed(body):x}", "object": "chat.completion",
                "created": int(time.time()), "model": str(body.get("model") or "fake-model"),
                "system_fingerprint": "fake",
                "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                             "message": {"role": "assistant", "content": content,
                                         "refusal": None}}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                          "total_tokens": prompt + completion}}


class _Refused(Exception):
    def __init__(self, status: int, message: str, code: str = "invalid_request") -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def _public(dataset: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in dataset.items() if k not in ("lines", "files")}


def _json(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise _Refused(400, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise _Refused(400, "the body is not a JSON object")
    return data


def _jsonl(data: bytes) -> list[dict[str, Any]]:
    lines = []
    for n, raw in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except ValueError:
            raise _Refused(400, f"line {n} of the input is not JSON") from None
        if not isinstance(row, dict) or "custom_id" not in row or "body" not in row:
            raise _Refused(400, f"line {n} of the input lacks custom_id or body")
        lines.append(row)
    ids = [str(r["custom_id"]) for r in lines]
    if len(set(ids)) != len(ids):
        raise _Refused(400, "custom_id values must be unique within a batch")
    return lines


def _multipart(content_type: str, raw: bytes) -> dict[str, tuple[str | None, bytes]]:
    """{field: (filename, bytes)} of a multipart/form-data body (stdlib email parser)."""
    if not content_type.startswith("multipart/form-data"):
        raise _Refused(400, f"expected multipart/form-data, got {content_type or 'nothing'}")
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    out: dict[str, tuple[str | None, bytes]] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            out[name] = (part.get_filename(), payload)
    return out
