"""Provider batch APIs: many chat requests sent as one job, answered within hours, at about half
the price of live calls. This module and ``client`` are the only ones that touch the network.

- **OpenAI** (and OpenAI-compatible servers that implement it): the JSONL input goes up with
  ``files.create(purpose="batch")``, ``batches.create`` starts the job on
  ``/v1/chat/completions``, ``batches.retrieve`` polls it, ``files.content`` downloads the output
  and error files. Each input line is ``{"custom_id", "method", "url", "body"}``; each output
  line ``{"custom_id", "response": {"status_code", "body"}, "error"}``.
- **Fireworks** (REST, under ``/v1/accounts/{account}``): create a dataset
  (``exampleCount`` is required), upload the JSONL to it (``:upload``, multipart), create a
  ``batchInferenceJobs`` job with the model, poll it (``JOB_STATE_*``, ``jobProgress``), ask
  ``:getDownloadEndpoint`` of its output dataset for signed URLs and download every file
  (``BIJOutputSet.jsonl``, ``error-data``) *without* the API key (the URLs are signed for
  another host). Input lines are ``{"custom_id", "body"}`` without ``model`` (the model is the
  job's); output lines ``{"custom_id", "response": <chat completion>}``.

Both return the same ``BatchStatus`` and ``BatchLine`` shapes, so the eval runner does not care
which provider answered. ``first_request`` builds exactly the request (and cache key) that
``ModelClient.structured`` would send first for the same messages, so a batch reply is stored
where a live call would have stored it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import httpx
import openai
from pydantic import BaseModel

from agent.model.capabilities import response_format, schema_messages
from agent.model.client import ModelClient, ModelError, _json_schema, cache_key
from agent.redact import redact

#: Normalised batch states. Terminal: completed, failed, expired, cancelled.
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
#: OpenAI's limits per batch: 50,000 requests and a 200 MB input file; Fireworks' direct upload
#: takes 150 MB. Larger runs are split into several batches.
MAX_LINES = 50_000
MAX_BYTES = {"openai": 190_000_000, "fireworks": 145_000_000}
PROVIDERS = ("openai", "fireworks")


@dataclass(frozen=True)
class BatchRequest:
    custom_id: str
    body: dict[str, Any]
    """The chat completion request, ``model`` included."""


@dataclass
class BatchStatus:
    id: str
    state: str
    """validating, in_progress, finalizing, completed, failed, expired, cancelling, cancelled."""
    total: int = 0
    completed: int = 0
    failed: int = 0
    error: str | None = None
    """Why the whole batch failed, when it did."""
    raw_state: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    """What ``results`` needs (output file ids, the output dataset)."""

    @property
    def done(self) -> bool:
        return self.state in TERMINAL


@dataclass(frozen=True)
class BatchLine:
    custom_id: str
    response: dict[str, Any] | None
    """The chat completion, for a line that succeeded."""
    error: str | None = None


class BatchAPI(Protocol):
    provider: str

    def submit(self, requests: Sequence[BatchRequest], *, label: str) -> str: ...

    def status(self, batch_id: str) -> BatchStatus: ...

    def results(self, status: BatchStatus) -> list[BatchLine]: ...


class BatchError(ModelError):
    """A batch API call failed; the message says which call and what the endpoint answered."""


# -- the request a live call would send ---------------------------------------------------------


def first_request(client: ModelClient, messages: Sequence[dict[str, str]],
                  schema: type[BaseModel], *, max_tokens: int | None) -> tuple[str, dict[str, Any]]:
    """(cache key, request body) of ``client.structured(messages, schema, max_tokens=...)``'s
    first attempt: the same trimming, parameters, response format and key, so a batch reply
    can be cached where the live reply would have been."""
    max_tokens = max_tokens or client.settings.max_completion_tokens
    msgs = client._fit(messages, max_tokens)
    json_schema = _json_schema(schema)
    model = client._first_model()
    mode = client.capabilities(model).structured  # what a live call would try first
    request_msgs = schema_messages(mode, list(msgs), json_schema)
    params: dict[str, Any] = {
        "temperature": client.temperature,
        "max_tokens": max_tokens,
        "seed": client.seed,
        "response_format": response_format(mode, schema.__name__, json_schema),
    }
    body = {"model": model, "messages": request_msgs,
            **{k: v for k, v in params.items() if v is not None}}
    return cache_key(model, params, request_msgs), body


class Captured(BaseException):
    """Raised by ``RequestCapture.structured`` to hand back the request instead of sending it.
    A BaseException, so a caller's ``except Exception`` cannot swallow it."""

    def __init__(self, key: str, body: dict[str, Any]) -> None:
        super().__init__(key)
        self.key, self.body = key, body


class RequestCapture:
    """Stands in for a ModelClient where code such as the LLM judge calls ``structured``: the
    first call raises ``Captured`` with the request it would have sent."""

    def __init__(self, client: ModelClient) -> None:
        self.client = client
        self.model = client.model

    def structured(self, messages: Sequence[dict[str, str]], schema: type[BaseModel],
                   *, max_tokens: int | None = None, **_: Any) -> Any:
        key, body = first_request(self.client, messages, schema, max_tokens=max_tokens)
        raise Captured(key, body)

    def __getattr__(self, name: str) -> Any:
        # Everything else a caller reads before its call (prompt_budget, settings...) is the
        # real client's.
        return getattr(self.client, name)


# -- shared -------------------------------------------------------------------------------------


def jsonl(lines: Sequence[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()


def split(requests: Sequence[BatchRequest], line: Any, max_bytes: int,
          max_lines: int = MAX_LINES) -> list[list[BatchRequest]]:
    """Requests in groups that each fit one batch (``line(request)`` is its input line)."""
    groups: list[list[BatchRequest]] = [[]]
    size = 0
    for req in requests:
        n = len(json.dumps(line(req), ensure_ascii=False).encode()) + 1
        if groups[-1] and (len(groups[-1]) >= max_lines or size + n > max_bytes):
            groups.append([])
            size = 0
        groups[-1].append(req)
        size += n
    return [g for g in groups if g]


def parse_lines(text: str, where: str) -> list[dict[str, Any]]:
    """JSONL from a provider; a line that is not a JSON object is reported, not skipped."""
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except ValueError:
            raise BatchError(f"{where}: line {n} is not JSON ({raw[:80]!r})") from None
        if not isinstance(row, dict):
            raise BatchError(f"{where}: line {n} is not a JSON object")
        out.append(row)
    return out


def _error_text(err: Any) -> str:
    """A provider's error object (or anything) as one bounded line."""
    if isinstance(err, dict):
        inner = err.get("error", err)
        if isinstance(inner, dict):
            code, msg = inner.get("code"), inner.get("message")
            text = f"{code}: {msg}" if code and msg else str(msg or code or inner)
        else:
            text = str(inner)
    else:
        text = str(err)
    return " ".join(text.split())[:300]


def line_of(row: dict[str, Any]) -> BatchLine | None:
    """One output or error line, OpenAI's wrapper or Fireworks' flat shape; None without a
    custom_id (nothing to match it to)."""
    cid = row.get("custom_id")
    if not isinstance(cid, str):
        return None
    response = row.get("response")
    if isinstance(response, dict) and "status_code" in response:  # OpenAI: {status_code, body}
        body = response.get("body")
        status = response.get("status_code")
        if status == 200 and isinstance(body, dict) and isinstance(body.get("choices"), list):
            return BatchLine(cid, body)
        return BatchLine(cid, None, f"HTTP {status}: {_error_text(body)}")
    if row.get("error"):
        return BatchLine(cid, None, _error_text(row["error"]))
    if isinstance(response, dict) and isinstance(response.get("choices"), list):
        return BatchLine(cid, response)
    return BatchLine(cid, None, f"no response in the line ({_error_text(row)[:120]})")


# -- OpenAI -------------------------------------------------------------------------------------

_OPENAI_STATES = {"validating": "validating", "in_progress": "in_progress",
                  "finalizing": "finalizing", "completed": "completed", "failed": "failed",
                  "expired": "expired", "cancelling": "cancelling", "cancelled": "cancelled"}


class OpenAIBatches:
    """OpenAI's Batch API through the SDK of ``client`` (its base URL, key, HTTP client)."""

    provider = "openai"

    def __init__(self, client: ModelClient) -> None:
        self.client = client
        self._sdk: openai.OpenAI = client._sdk  # same package: one HTTP stack, one key

    def _fail(self, what: str, err: Exception) -> BatchError:
        where = self.client.settings.base_url
        if isinstance(err, openai.APIStatusError):
            answer = f"HTTP {err.status_code}: {_error_text(err.body) if err.body else err}"
        elif isinstance(err, openai.APIConnectionError):
            answer = f"could not connect ({type(err.__cause__ or err).__name__})"
        else:
            answer = f"{type(err).__name__}: {err}"
        return BatchError(redact(f"batch API at {where}: {what} failed ({answer[:400]})",
                                 self.client.settings.api_key))

    def line(self, req: BatchRequest) -> dict[str, Any]:
        return {"custom_id": req.custom_id, "method": "POST", "url": "/v1/chat/completions",
                "body": req.body}

    def submit(self, requests: Sequence[BatchRequest], *, label: str) -> str:
        data = jsonl([self.line(r) for r in requests])
        try:
            uploaded = self._sdk.files.create(file=(f"{label}.jsonl", data, "application/jsonl"),
                                              purpose="batch")
        except (openai.OpenAIError, httpx.HTTPError) as e:
            raise self._fail("uploading the input file (POST /files)", e) from None
        try:
            batch = self._sdk.batches.create(input_file_id=uploaded.id,
                                             endpoint="/v1/chat/completions",
                                             completion_window="24h",
                                             metadata={"description": label[:500]})
        except (openai.OpenAIError, httpx.HTTPError) as e:
            raise self._fail("creating the batch (POST /batches)", e) from None
        return batch.id

    def status(self, batch_id: str) -> BatchStatus:
        try:
            b = self._sdk.batches.retrieve(batch_id)
        except (openai.OpenAIError, httpx.HTTPError) as e:
            raise self._fail(f"checking batch {batch_id} (GET /batches/{batch_id})", e) from None
        counts = b.request_counts
        error = None
        if b.errors is not None and b.errors.data:
            error = "; ".join(_error_text({"code": e.code, "message": e.message})
                              for e in b.errors.data[:3])
        return BatchStatus(id=b.id, state=_OPENAI_STATES.get(b.status, "in_progress"),
                           total=counts.total if counts else 0,
                           completed=counts.completed if counts else 0,
                           failed=counts.failed if counts else 0, error=error,
                           raw_state=b.status,
                           detail={"output_file_id": b.output_file_id,
                                   "error_file_id": b.error_file_id})

    def results(self, status: BatchStatus) -> list[BatchLine]:
        out: list[BatchLine] = []
        for kind in ("output_file_id", "error_file_id"):
            file_id = status.detail.get(kind)
            if not file_id:
                continue
            try:
                text = self._sdk.files.content(file_id).text
            except (openai.OpenAIError, httpx.HTTPError) as e:
                raise self._fail(f"downloading {kind.split('_')[0]} file {file_id}", e) from None
            for row in parse_lines(text, f"batch {status.id} {kind.split('_')[0]} file"):
                line = line_of(row)
                if line is not None:
                    out.append(line)
        return out


# -- Fireworks ----------------------------------------------------------------------------------

_FW_STATES = {
    "JOB_STATE_UNSPECIFIED": "validating", "JOB_STATE_VALIDATING": "validating",
    "JOB_STATE_CREATING_INPUT_DATASET": "in_progress", "JOB_STATE_PENDING": "in_progress",
    "JOB_STATE_CREATING": "in_progress", "JOB_STATE_RUNNING": "in_progress",
    "JOB_STATE_RE_QUEUEING": "in_progress", "JOB_STATE_IDLE": "in_progress",
    "JOB_STATE_PAUSED": "in_progress", "JOB_STATE_WRITING_RESULTS": "finalizing",
    "JOB_STATE_COMPLETED": "completed", "JOB_STATE_FAILED": "failed",
    "JOB_STATE_EARLY_STOPPED": "expired", "JOB_STATE_EXPIRED": "expired",
    "JOB_STATE_CANCELLING": "cancelling", "JOB_STATE_CANCELLED": "cancelled",
    "JOB_STATE_DELETING": "cancelled", "JOB_STATE_DELETING_CLEANING_UP": "cancelled",
    "JOB_STATE_DELETED": "cancelled", "JOB_STATE_ARCHIVED": "cancelled",
}


def fireworks_root(base_url: str) -> str:
    """The REST root beside a chat base URL: https://api.fireworks.ai/inference/v1 ->
    https://api.fireworks.ai/v1 (any other URL is used as it is)."""
    url = base_url.rstrip("/")
    return url[: -len("/inference/v1")] + "/v1" if url.endswith("/inference/v1") else url


class FireworksBatches:
    """Fireworks' batch inference REST API, with the client's HTTP client and key."""

    provider = "fireworks"

    def __init__(self, client: ModelClient, account: str) -> None:
        if not account:
            raise BatchError("--batch fireworks needs the account id (--batch-account or "
                             "FIREWORKS_ACCOUNT_ID): it is part of every batch API path")
        self.client = client
        self.account = account
        base = client.settings.base_url or ""
        self.root = f"{fireworks_root(base)}/accounts/{quote(account, safe='')}"
        self._http: httpx.Client = client._http  # same package: one HTTP stack

    def _headers(self) -> dict[str, str]:
        key = self.client.settings.api_key
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _call(self, what: str, method: str, path: str, **kw: Any) -> dict[str, Any]:
        url = self.root + path
        try:
            resp = self._http.request(method, url, headers=self._headers(), **kw)
        except httpx.HTTPError as e:
            raise self._error(what, f"could not connect ({type(e).__name__})") from None
        if resp.status_code >= 400:
            try:
                detail = _error_text(resp.json())
            except ValueError:
                detail = resp.text[:200]
            raise self._error(what, f"HTTP {resp.status_code}: {detail}")
        try:
            data = resp.json()
        except ValueError:
            raise self._error(what, "the answer was not JSON") from None
        return data if isinstance(data, dict) else {}

    def _error(self, what: str, answer: str) -> BatchError:
        return BatchError(redact(f"Fireworks batch API at {self.root}: {what} failed "
                                 f"({answer[:400]})", self.client.settings.api_key))

    @staticmethod
    def line(req: BatchRequest) -> dict[str, Any]:
        return {"custom_id": req.custom_id,
                "body": {k: v for k, v in req.body.items() if k != "model"}}

    def submit(self, requests: Sequence[BatchRequest], *, label: str) -> str:
        if not requests:
            raise BatchError("nothing to submit")
        tag = uuid.uuid4().hex[:10]
        dataset, job = f"interviewer-in-{tag}", f"interviewer-{tag}"
        self._call("creating the input dataset", "POST", "/datasets", json={
            "datasetId": dataset,
            "dataset": {"userUploaded": {}, "exampleCount": str(len(requests)),
                        "displayName": label[:60]}})
        data = jsonl([self.line(r) for r in requests])
        self._call("uploading the input", "POST", f"/datasets/{dataset}:upload",
                   files={"file": (f"{dataset}.jsonl", data, "application/jsonl")})
        self._wait_ready(dataset)
        model = str(requests[0].body.get("model", self.client.model))
        created = self._call("creating the batch inference job", "POST",
                             f"/batchInferenceJobs?batchInferenceJobId={job}", json={
                                 "model": model, "displayName": label[:60],
                                 "inputDatasetId": f"accounts/{self.account}/datasets/{dataset}"})
        name = str(created.get("name") or job)
        return name.rsplit("/", 1)[-1]

    def _wait_ready(self, dataset: str, timeout_s: float = 120.0) -> None:
        """An uploaded dataset turns READY within seconds; a job made before may not start."""
        deadline = time.monotonic() + timeout_s
        while True:
            state = str(self._call(f"checking dataset {dataset}", "GET",
                                   f"/datasets/{dataset}").get("state") or "READY")
            if state == "READY":
                return
            if state != "UPLOADING" or time.monotonic() > deadline:
                raise self._error(f"preparing dataset {dataset}", f"its state is {state}")
            time.sleep(1.0)

    def status(self, batch_id: str) -> BatchStatus:
        job = self._call(f"checking job {batch_id}", "GET", f"/batchInferenceJobs/{batch_id}")
        raw = str(job.get("state", "JOB_STATE_UNSPECIFIED"))
        progress = job.get("jobProgress") or {}

        def count(key: str) -> int:
            try:
                return int(progress.get(key) or 0)
            except (TypeError, ValueError):
                return 0

        state = _FW_STATES.get(raw, "in_progress")
        message = (job.get("status") or {}).get("message") if isinstance(
            job.get("status"), dict) else None
        return BatchStatus(
            id=batch_id, state=state,
            # The declared exampleCount echoes into totalInputRequests; the processed count is
            # the real one once work starts.
            total=max(count("totalInputRequests"), count("totalProcessedRequests")),
            completed=count("successfullyProcessedRequests"), failed=count("failedRequests"),
            error=str(message) if state == "failed" and message else None, raw_state=raw,
            detail={"output_dataset": str(job.get("outputDatasetId") or "")})

    def results(self, status: BatchStatus) -> list[BatchLine]:
        dataset = str(status.detail.get("output_dataset") or "").rsplit("/", 1)[-1]
        if not dataset:
            return []
        urls = self._call(f"listing the output of job {status.id}", "GET",
                          f"/datasets/{dataset}:getDownloadEndpoint")
        signed = urls.get("filenameToSignedUrls") or {}
        out: list[BatchLine] = []
        # Signed URLs point at storage on another host: fetched without our headers (the key
        # must not travel there), with a client of their own.
        with httpx.Client(timeout=self.client.settings.timeout_s) as plain:
            for name, url in sorted(signed.items()):
                if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
                    continue
                try:
                    resp = plain.get(url)
                except httpx.HTTPError as e:
                    raise self._error(f"downloading {name}", f"{type(e).__name__}") from None
                if resp.status_code >= 400:
                    raise self._error(f"downloading {name}", f"HTTP {resp.status_code}")
                for row in parse_lines(resp.text, f"job {status.id} {name}"):
                    line = line_of(row)
                    if line is not None:
                        out.append(line)
        return out


def batch_api(provider: str, client: ModelClient, *, account: str | None = None) -> BatchAPI:
    if provider == "openai":
        return OpenAIBatches(client)
    if provider == "fireworks":
        return FireworksBatches(client, account or "")
    raise BatchError(f"--batch: unknown batch API {provider!r} (openai or fireworks)")


def guess_provider(base_url: str | None) -> str:
    """Fireworks for its hosts, OpenAI's API (files + batches) for anything else."""
    host = urlsplit(base_url or "").hostname or ""
    return "fireworks" if host.endswith("fireworks.ai") else "openai"
