"""Tests for the loopback fake OpenAI endpoint, driven through the real openai SDK."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any, Literal

import httpx
import openai
import pydantic
import pytest
from pydantic import BaseModel, Field

from evals.fake_endpoint import ALL_FAULTS, FakeEndpoint

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "sk-test-SECRET-do-not-log-123"
CANDIDATE = (
    "I would start with the cache layer. Then I would shard by tenant!\n"
    "Finally, measure p99 latency?"
)
SENTENCES = {
    "I would start with the cache layer.",
    "Then I would shard by tenant!",
    "Finally, measure p99 latency?",
}
MESSAGES: list[Any] = [
    {"role": "system", "content": "You grade interview answers."},
    {"role": "user", "content": f'Grade this.\n<candidate turn="3">{CANDIDATE}</candidate>'},
]


class Grade(BaseModel):
    level: int = Field(ge=1, le=4)
    quotes: list[str]
    rationale: str
    note: str | None


@contextmanager
def client_for(ep: FakeEndpoint | str, timeout: float = 10.0) -> Iterator[openai.OpenAI]:
    """SDK client on our own httpx client (as agent code does), closed on exit."""
    url = ep if isinstance(ep, str) else ep.url
    with httpx.Client(timeout=timeout) as hc, openai.OpenAI(
        base_url=url, api_key=API_KEY, http_client=hc, max_retries=0, timeout=timeout
    ) as client:
        yield client


def chat(client: openai.OpenAI, **kw: Any) -> str:
    out = client.chat.completions.create(model="fake-model", messages=MESSAGES, **kw)
    return out.choices[0].message.content or ""


def test_plain_completion_is_deterministic() -> None:
    with FakeEndpoint() as ep, client_for(ep) as client:
        first = client.chat.completions.create(model="m-1", messages=MESSAGES)
        assert first.model == "m-1"
        assert first.choices[0].finish_reason == "stop"
        assert first.choices[0].message.content
        assert first.choices[0].message.content.endswith("?")
        assert first.usage is not None and first.usage.completion_tokens >= 1
        usage = first.usage
        assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
        second = client.chat.completions.create(model="m-1", messages=MESSAGES)
        assert second.choices[0].message.content == first.choices[0].message.content
        assert [m.id for m in client.models.list()] == ["fake-model"]
        log = ep.requests
        assert [r["index"] for r in log] == [0, 1]
        assert log[0]["has_auth"] is True and log[0]["fault"] is None
        assert log[0]["body"]["messages"] == MESSAGES


def test_streaming_matches_non_streaming_and_reports_usage() -> None:
    with FakeEndpoint() as ep, client_for(ep) as client:
        full = chat(client)
        pieces: list[str] = []
        usage = None
        with client.chat.completions.create(
            model="fake-model", messages=MESSAGES, stream=True,
            stream_options={"include_usage": True},
        ) as stream:
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    pieces.append(chunk.choices[0].delta.content)
                usage = chunk.usage or usage
        assert "".join(pieces) == full
        assert len(pieces) > 1
        assert usage is not None and usage.completion_tokens >= 1


def test_parse_with_pydantic_model_gives_in_range_ints_and_verbatim_quotes() -> None:
    with FakeEndpoint() as ep, client_for(ep) as client:
        out = client.chat.completions.parse(
            model="fake-model", messages=MESSAGES, response_format=Grade
        )
        parsed = out.choices[0].message.parsed
        assert parsed is not None
        assert 1 <= parsed.level <= 4
        assert parsed.quotes and all(q in SENTENCES for q in parsed.quotes)
        assert parsed.note is not None and parsed.rationale
        again = client.chat.completions.parse(
            model="fake-model", messages=MESSAGES, response_format=Grade
        )
        assert again.choices[0].message.parsed == parsed
        assert ep.requests[0]["body"]["response_format"]["type"] == "json_schema"


def test_json_object_mode_uses_embedded_schema() -> None:
    schema = json.dumps(Grade.model_json_schema())
    msgs = [*MESSAGES, {"role": "user", "content": f"<json_schema>{schema}</json_schema>"}]
    with FakeEndpoint() as ep, client_for(ep) as client:
        out = client.chat.completions.create(
            model="fake-model", messages=msgs, response_format={"type": "json_object"}
        )
        grade = Grade.model_validate_json(out.choices[0].message.content or "")
        assert 1 <= grade.level <= 4 and set(grade.quotes) <= SENTENCES
        bare = chat(client, response_format={"type": "json_object"})
        assert json.loads(bare) == {}


def test_json_schema_unsupported_gives_400() -> None:
    with (
        FakeEndpoint(supports_json_schema=False) as ep,
        client_for(ep) as client,
        pytest.raises(openai.BadRequestError, match="json_schema"),
    ):
        client.chat.completions.parse(model="fake-model", messages=MESSAGES, response_format=Grade)


def test_responder_overrides_default() -> None:
    def responder(body: dict[str, Any]) -> str | dict[str, Any] | None:
        return {"level": 2} if body.get("response_format") else None

    with FakeEndpoint(responder=responder) as ep, client_for(ep) as client:
        assert json.loads(chat(client, response_format={"type": "json_object"})) == {"level": 2}
        assert chat(client).endswith("?")


def test_http_error_faults() -> None:
    with FakeEndpoint(faults=["500", "429", "ok"], retry_after_s=2) as ep, client_for(ep) as client:
        with pytest.raises(openai.InternalServerError):
            chat(client)
        with pytest.raises(openai.RateLimitError) as info:
            chat(client)
        assert info.value.response.headers["retry-after"] == "2"
        assert chat(client)
        assert [r["fault"] for r in ep.requests] == ["500", "429", None]


def test_timeout_fault_times_out_without_blocking_shutdown() -> None:
    with FakeEndpoint(faults=["timeout"]) as ep:
        with client_for(ep, timeout=0.5) as client, pytest.raises(openai.APITimeoutError):
            chat(client)
        began = time.monotonic()
    assert time.monotonic() - began < 1.5


def test_timeout_fault_does_not_block_other_requests() -> None:
    with FakeEndpoint(faults=["timeout"], timeout_sleep_s=1.0) as ep:
        slow: list[str] = []
        with client_for(ep) as c1, client_for(ep) as c2:
            t = threading.Thread(target=lambda: slow.append(chat(c1)))
            t.start()
            time.sleep(0.1)
            began = time.monotonic()
            assert chat(c2)
            assert time.monotonic() - began < 0.5
            t.join()
        assert slow and slow[0]


def test_drop_fault_streaming_and_non_streaming() -> None:
    with FakeEndpoint(faults=["drop", "drop"]) as ep, client_for(ep) as client:
        got: list[str] = []
        stream = client.chat.completions.create(model="fake-model", messages=MESSAGES, stream=True)
        with stream, pytest.raises((openai.APIConnectionError, httpx.HTTPError)):
            for chunk in stream:
                got.append(chunk.choices[0].delta.content or "")
        assert len(got) >= 1
        with pytest.raises(openai.APIConnectionError):
            chat(client)


def test_content_faults() -> None:
    faults = ["malformed", "out_of_range", "empty", "malformed", "out_of_range"]
    with FakeEndpoint(faults=faults) as ep, client_for(ep) as client:
        fmt = {"type": "json_schema", "json_schema": {
            "name": "Grade", "schema": Grade.model_json_schema(), "strict": True}}
        with pytest.raises(json.JSONDecodeError):
            json.loads(chat(client, response_format=fmt))
        bad = json.loads(chat(client, response_format=fmt))
        assert bad["level"] > 4
        assert chat(client) == ""
        assert chat(client) == ""  # malformed plain text -> empty
        assert chat(client).endswith("?")  # out_of_range plain text -> normal


def test_out_of_range_via_parse_fails_validation_and_malformed_streams() -> None:
    with FakeEndpoint(faults=["out_of_range", "malformed"]) as ep, client_for(ep) as client:
        with pytest.raises(pydantic.ValidationError, match="less than or equal to 4"):
            client.chat.completions.parse(
                model="fake-model", messages=MESSAGES, response_format=Grade
            )
        text = ""
        with client.chat.completions.create(
            model="fake-model", messages=MESSAGES, stream=True,
            response_format={"type": "json_object"},
        ) as stream:
            for chunk in stream:
                text += (chunk.choices[0].delta.content or "") if chunk.choices else ""
        assert text == "{"


def test_fault_rate_is_reproducible_and_runtime_configurable() -> None:
    def run(ep: FakeEndpoint) -> list[str | None]:
        with client_for(ep) as client:
            for _ in range(12):
                with suppress(openai.APIError):
                    chat(client)
        return [r["fault"] for r in ep.requests]

    kinds = ["500", "429", "empty"]
    with FakeEndpoint(fault_rate=0.5, fault_kinds=kinds, seed=7) as a:
        first = run(a)
        httpx.post(a.url.removesuffix("/v1") + "/_reset").raise_for_status()
        assert a.requests == []
        assert run(a) == first
    with FakeEndpoint(fault_rate=0.5, fault_kinds=kinds, seed=7) as b:
        assert run(b) == first
        assert any(first) and not all(first) and set(filter(None, first)) <= set(kinds)
        base = b.url.removesuffix("/v1")
        r = httpx.post(base + "/_faults", json={"faults": ["500"], "fault_rate": 0, "seed": 1})
        assert r.status_code == 200
        assert run(b)[-12:] == ["500"] + [None] * 11
        assert httpx.post(base + "/_faults", json={"faults": ["nope"]}).status_code == 400


def test_request_log_never_contains_api_key_and_unknown_routes_404() -> None:
    with FakeEndpoint(faults=list(ALL_FAULTS[:2])) as ep, client_for(ep) as client:
        for _ in range(3):
            with suppress(openai.APIError):
                chat(client)
        base = ep.url.removesuffix("/v1")
        httpx.post(ep.url + "/chat/completions", json={"model": "m", "messages": []})
        served = httpx.get(base + "/_requests").json()
        assert [r["has_auth"] for r in served] == [True, True, True, False]
        assert [r["fault"] for r in served] == ["500", "429", None, None]
        assert API_KEY not in json.dumps(served) + json.dumps(ep.requests)
        missing = httpx.get(base + "/v1/nope")
        assert missing.status_code == 404
        assert set(missing.json()["error"]) >= {"message", "type", "code"}


def test_latency_is_parallel() -> None:
    with FakeEndpoint(latency_ms=300) as ep:
        results: list[str] = []
        with ExitStack() as stack:
            clients = [stack.enter_context(client_for(ep)) for _ in range(4)]
            threads = [threading.Thread(target=lambda c=c: results.append(chat(c)))
                       for c in clients]
            began = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert 0.3 <= time.monotonic() - began < 0.9
        assert len(results) == 4


def test_stop_cuts_idle_and_stalled_connections_and_leaks_no_threads() -> None:
    ep = FakeEndpoint(faults=["ok", "timeout"], timeout_sleep_s=30).start()
    with client_for(ep, timeout=60) as idle, client_for(ep, timeout=60) as stalled:
        chat(idle)  # leaves a keep-alive connection open
        errors: list[Exception] = []

        def call() -> None:
            try:
                chat(stalled)
            except openai.APIError as exc:
                errors.append(exc)

        t = threading.Thread(target=call)
        t.start()
        time.sleep(0.2)
        began = time.monotonic()
        ep.stop()
        assert time.monotonic() - began < 1.0
        t.join(timeout=5)
        assert errors and isinstance(errors[0], openai.APIConnectionError)
    assert not [t for t in threading.enumerate() if t.name.startswith("fake-endpoint")]


class Evidence(BaseModel):
    evidence: str
    turn: int = Field(ge=0, lt=3)


class Node(BaseModel):
    kind: Literal["a", "b"]
    score: float = Field(gt=0, lt=1)
    evidence: list[Evidence] = Field(min_length=2, max_length=2)
    child: Node | None = None
    flag: bool


def test_schema_generator_handles_refs_optional_recursion_enums_and_bounds() -> None:
    with FakeEndpoint() as ep, client_for(ep) as client:
        node = client.chat.completions.parse(
            model="fake-model", messages=MESSAGES, response_format=Node
        ).choices[0].message.parsed
    depth = 0
    while node is not None:  # recursion stops at the Optional's null branch
        assert len(node.evidence) == 2 and 0 < node.score < 1
        assert all(e.evidence in SENTENCES and 0 <= e.turn < 3 for e in node.evidence)
        node, depth = node.child, depth + 1
    assert 1 <= depth <= 3


def test_cli_prints_url_and_serves() -> None:
    cmd = [sys.executable, "-m", "evals.fake_endpoint", "--port", "0", "--faults", "ok,500"]
    with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
            with client_for(url) as client:
                assert chat(client)
                with pytest.raises(openai.InternalServerError):
                    chat(client)
        finally:
            proc.terminate()
        assert proc.wait(timeout=5) == 0
