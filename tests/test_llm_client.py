"""The model client at the HTTP wire (respx): completions, structured outputs, streaming,
retries, fallback, budgets, and keys kept out of everything it records."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx
from pydantic import BaseModel, Field

from agent.config import Settings
from agent.model.client import (
    CallRecord,
    ModelClient,
    ModelError,
    ModelUnavailable,
    Restart,
    StructuredOutputError,
    redact,
)

URL = "http://model.test/v1"
KEY = "sk-test-RECOGNISABLE-KEY-0123456789"


class Verdict(BaseModel):
    level: int = Field(ge=1, le=4)
    quotes: list[str]


def completion(content: str, prompt_tokens: int = 11, completion_tokens: int = 7) -> dict[str, Any]:
    return {
        "id": "c1", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def sse(*pieces: str, usage: bool = True, stop: bool = True) -> bytes:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        return json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 0,
                           "model": "m", "choices": [{"index": 0, "delta": delta,
                                                      "finish_reason": finish}]})
    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": p}) for p in pieces]
    if stop:
        events.append(chunk({}, "stop"))
        if usage:
            events.append(json.dumps({"id": "c", "object": "chat.completion.chunk",
                                      "created": 0, "model": "m", "choices": [],
                                      "usage": {"prompt_tokens": 5, "completion_tokens": 3,
                                                "total_tokens": 8}}))
        events.append("[DONE]")
    return "".join(f"data: {e}\n\n" for e in events).encode()


def make(records: list[CallRecord], **kw: Any) -> ModelClient:
    settings = Settings(base_url=URL, api_key=KEY, model="m", max_retries=kw.pop("retries", 2),
                        fallback_model=kw.pop("fallback", None), timeout_s=kw.pop("timeout", 5),
                        max_prompt_tokens=kw.pop("budget", 12_000))
    return ModelClient(settings, recorder=records.append, http_client=httpx.Client(), **kw)


MSGS = [{"role": "user", "content": "hello"}]


@respx.mock
def test_structured_output_by_json_schema() -> None:
    route = respx.post(f"{URL}/chat/completions").mock(return_value=httpx.Response(
        200, json=completion(json.dumps({"level": 3, "quotes": ["p99 at peak"]}))))
    records: list[CallRecord] = []
    client = make(records)
    out = client.structured(MSGS, Verdict, purpose="judge", prompt_hash="judge:abc")
    client.close()
    assert out == Verdict(level=3, quotes=["p99 at peak"])
    sent = json.loads(route.calls[0].request.content)
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"]["properties"]["level"]["maximum"] == 4
    assert route.calls[0].request.headers["authorization"] == f"Bearer {KEY}"
    [rec] = records
    assert (rec.purpose, rec.model, rec.prompt_hash, rec.outcome) == ("judge", "m", "judge:abc",
                                                                      "ok")
    assert rec.completion_tokens == 7 and rec.prompt_tokens > 0 and rec.retries == 0


@respx.mock
def test_json_mode_fallback_when_json_schema_is_rejected() -> None:
    route = respx.post(f"{URL}/chat/completions").mock(side_effect=[
        httpx.Response(400, json={"error": {"message": "response_format json_schema is not "
                                            "supported", "type": "invalid_request_error"}}),
        httpx.Response(200, json=completion('{"level": 2, "quotes": []}')),
        httpx.Response(200, json=completion('{"level": 4, "quotes": []}')),
    ])
    client = make([])
    assert client.structured(MSGS, Verdict, purpose="judge", prompt_hash="h").level == 2
    # The endpoint is remembered: the next call goes straight to JSON mode.
    assert client.structured(MSGS, Verdict, purpose="judge", prompt_hash="h").level == 4
    client.close()
    bodies = [json.loads(c.request.content) for c in route.calls]
    assert [b["response_format"]["type"] for b in bodies] == ["json_schema", "json_object",
                                                              "json_object"]
    assert "<json_schema>" in bodies[1]["messages"][0]["content"]


@respx.mock
def test_invalid_then_valid_is_retried_with_the_problem_named() -> None:
    route = respx.post(f"{URL}/chat/completions").mock(side_effect=[
        httpx.Response(200, json=completion('{"level": 9, "quotes": []}')),
        httpx.Response(200, json=completion('{"level": 4, "quo')),
        httpx.Response(200, json=completion('{"level": 4, "quotes": ["x"]}')),
    ])
    records: list[CallRecord] = []
    client = make(records)
    assert client.structured(MSGS, Verdict, purpose="judge", prompt_hash="h").level == 4
    client.close()
    retry_msg = json.loads(route.calls[1].request.content)["messages"][-1]["content"]
    assert "level" in retry_msg and "invalid" in retry_msg
    assert records[0].retries == 2 and records[0].outcome == "ok"


@respx.mock
def test_never_valid_raises_after_the_attempt_budget() -> None:
    route = respx.post(f"{URL}/chat/completions").mock(
        return_value=httpx.Response(200, json=completion("not json at all")))
    records: list[CallRecord] = []
    client = make(records)
    with pytest.raises(StructuredOutputError, match="no valid reply in 3 attempts"):
        client.structured(MSGS, Verdict, purpose="judge", prompt_hash="h", attempts=3)
    client.close()
    assert route.call_count == 3
    assert records[0].outcome == "invalid"


@respx.mock
def test_429_then_success_is_retried_by_the_sdk_and_counted() -> None:
    route = respx.post(f"{URL}/chat/completions").mock(side_effect=[
        httpx.Response(429, headers={"retry-after-ms": "10"},
                       json={"error": {"message": "rate limited"}}),
        httpx.Response(503, headers={"retry-after-ms": "10"}, json={"error": {"message": "x"}}),
        httpx.Response(200, json=completion('{"level": 1, "quotes": []}')),
    ])
    records: list[CallRecord] = []
    client = make(records, retries=3)
    assert client.structured(MSGS, Verdict, purpose="judge", prompt_hash="h").level == 1
    client.close()
    assert route.call_count == 3
    assert records[0].retries == 2 and records[0].outcome == "ok"


@respx.mock
def test_streaming_yields_pieces_and_logs_usage() -> None:
    respx.post(f"{URL}/chat/completions").mock(return_value=httpx.Response(
        200, content=sse("What ", "is ", "the ", "p99?"),
        headers={"content-type": "text/event-stream"}))
    records: list[CallRecord] = []
    client = make(records)
    pieces = list(client.stream(MSGS, purpose="interviewer", prompt_hash="p"))
    client.close()
    assert pieces == ["What ", "is ", "the ", "p99?"]
    assert records[0].completion_tokens == 3 and records[0].prompt_tokens == 5


def test_a_dropped_stream_restarts_from_the_top(fake_endpoint: Any) -> None:
    fake_endpoint.configure_faults(["drop"])
    settings = Settings(base_url=fake_endpoint.url, api_key=KEY, model="m", max_retries=0)
    client = ModelClient(settings, http_client=httpx.Client())
    pieces = list(client.stream(MSGS, purpose="interviewer", prompt_hash="p"))
    client.close()
    assert any(isinstance(p, Restart) for p in pieces)
    after = pieces[max(i for i, p in enumerate(pieces) if isinstance(p, Restart)) + 1:]
    assert "".join(str(p) for p in after).strip().endswith("?")


@respx.mock
def test_unreachable_endpoint_raises_one_clear_error_without_the_key() -> None:
    respx.post(f"{URL}/chat/completions").mock(side_effect=httpx.ConnectError("refused"))
    records: list[CallRecord] = []
    client = make(records, retries=1)
    with pytest.raises(ModelUnavailable) as info:
        client.structured(MSGS, Verdict, purpose="judge", prompt_hash="h")
    client.close()
    assert "not responding" in str(info.value) and KEY not in str(info.value)
    assert records[0].outcome == "error" and records[0].retries == 1


@respx.mock
def test_fallback_model_takes_over_after_server_errors() -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        model = json.loads(request.content)["model"]
        if model == "m":
            return httpx.Response(500, json={"error": {"message": "down"}})
        return httpx.Response(200, json=completion('{"level": 3, "quotes": []}'))

    route = respx.post(f"{URL}/chat/completions").mock(side_effect=reply)
    records: list[CallRecord] = []
    client = make(records, retries=0, fallback="backup")
    assert client.structured(MSGS, Verdict, purpose="judge", prompt_hash="h").level == 3
    client.close()
    assert [json.loads(c.request.content)["model"] for c in route.calls] == ["m", "backup"]
    assert records[0].model == "backup" and records[0].outcome == "fallback"


@respx.mock
def test_errors_that_echo_the_key_are_redacted() -> None:
    respx.post(f"{URL}/chat/completions").mock(return_value=httpx.Response(
        400, json={"error": {"message": f"bad request; headers: Authorization: Bearer {KEY}"}}))
    records: list[CallRecord] = []
    client = make(records)
    with pytest.raises(ModelError) as info:
        client.structured(MSGS, Verdict, purpose="judge", prompt_hash="h")
    client.close()
    assert KEY not in str(info.value) and "[redacted]" in str(info.value)
    assert KEY not in (records[0].error or "")


def test_redact_handles_common_key_shapes() -> None:
    text = ("Authorization: Bearer sk-abcdefghijklmnop api_key='fw_ABCDEFGHIJKLMN' "
            '{"x-api-key": "secret-value-123"}')
    out = redact(text, "secret-value-123")
    for secret in ("sk-abcdefghijklmnop", "fw_ABCDEFGHIJKLMN", "secret-value-123"):
        assert secret not in out


@respx.mock
def test_prompts_over_the_token_budget_are_trimmed() -> None:
    route = respx.post(f"{URL}/chat/completions").mock(
        return_value=httpx.Response(200, json=completion('{"level": 1, "quotes": []}')))
    client = make([], budget=300)
    long = [{"role": "system", "content": "Be brief."},
            {"role": "user", "content": "latency " * 5000}]
    client.structured(long, Verdict, purpose="judge", prompt_hash="h")
    client.close()
    from agent import tokens

    sent = json.loads(route.calls[0].request.content)["messages"]
    assert tokens.count_messages(sent) <= 300
    assert sent[0]["content"] == "Be brief." and sent[1]["content"].endswith("[...trimmed]")
