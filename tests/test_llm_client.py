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
    ModelRejected,
    ModelUnavailable,
    ReplyRejected,
    Restart,
    StructuredOutputError,
    TruncatedReply,
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


# -- structured-output negotiation (issue 17.1) ---------------------------------------------------

LLAMACPP_500 = {"error": {"message": "[{'type': 'literal_error', 'loc': ('body', "
                          "'response_format', 'type'), 'msg': \"Input should be 'text' or "
                          "'json_object'\", 'input': 'json_schema'}]",
                          "type": "internal_server_error"}}


class MemoryCaps:
    """A capability store like agent/store.py's, in memory."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str], dict[str, Any]] = {}

    def load_capabilities(self, base_url: str, model: str) -> dict[str, Any] | None:
        return self.data.get((base_url, model))

    def save_capabilities(self, base_url: str, model: str, data: dict[str, Any]) -> None:
        self.data[(base_url, model)] = data


@respx.mock
def test_a_500_that_names_response_format_is_a_rejection_not_an_outage() -> None:
    """llama-cpp-python's server answers json_schema with HTTP 500. That is not retried by the
    SDK (it would get the same answer), the next mode is tried at once, and it is remembered."""
    route = respx.post(f"{URL}/chat/completions").mock(side_effect=[
        httpx.Response(500, json=LLAMACPP_500),
        httpx.Response(200, json=completion('{"level": 2, "quotes": []}')),
        httpx.Response(200, json=completion('{"level": 3, "quotes": []}')),
    ])
    caps = MemoryCaps()
    records: list[CallRecord] = []
    client = make(records, retries=3, capabilities=caps)
    assert client.structured(MSGS, Verdict, purpose="judge", prompt_hash="h").level == 2
    client.close()
    assert route.call_count == 2  # no SDK retries of the 500
    bodies = [json.loads(c.request.content) for c in route.calls]
    assert bodies[1]["response_format"]["type"] == "json_object"
    assert bodies[1]["response_format"]["schema"]["properties"]["level"]["maximum"] == 4
    assert "<json_schema>" in bodies[1]["messages"][0]["content"]
    [rec] = records
    assert rec.outcome == "ok" and "json_schema rejected" in (rec.error or "")
    stored = caps.data[(URL, "m")]
    assert stored["structured"] == "json_object_schema"
    assert "Input should be 'text' or 'json_object'" in stored["rejected"]["json_schema"]
    # A new client (another process) starts where this one left off.
    again = make([], capabilities=caps)
    assert again.structured(MSGS, Verdict, purpose="judge", prompt_hash="h").level == 3
    again.close()
    assert json.loads(route.calls[2].request.content)["response_format"]["type"] == "json_object"
    assert "json_schema rejected (HTTP 500" in again.capabilities().describe()


@respx.mock
def test_every_mode_rejected_ends_at_plain_json_read_out_of_a_fence() -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        fmt = json.loads(request.content).get("response_format")
        if fmt is not None:
            return httpx.Response(400, json={"error": "'response_format.type' must be "
                                                      "'json_schema' or 'text'"}
                                  if fmt["type"] == "json_object" else
                                  {"error": {"message": "json_schema is not supported"}})
        return httpx.Response(200, json=completion(
            'Sure! Here it is:\n```json\n{"level": 4, "quotes": ["p99"]}\n```'))

    route = respx.post(f"{URL}/chat/completions").mock(side_effect=reply)
    client = make([], retries=2)
    assert client.structured(MSGS, Verdict, purpose="judge", prompt_hash="h").level == 4
    client.close()
    modes = [(json.loads(c.request.content).get("response_format") or {}).get("type")
             for c in route.calls]
    assert modes == ["json_schema", "json_object", "json_object", None]
    assert client.capabilities().structured == "prompt"


@respx.mock
def test_a_refused_request_says_rejected_and_what_the_endpoint_answered() -> None:
    message = "model 'm' does not exist: [Errno 1] see https://example.test/docs " + "x" * 400
    respx.post(f"{URL}/chat/completions").mock(return_value=httpx.Response(
        400, json={"error": {"message": message}}))
    records: list[CallRecord] = []
    client = make(records)
    with pytest.raises(ModelRejected) as info:
        client.structured(MSGS, Verdict, purpose="judge", prompt_hash="h")
    client.close()
    text = str(info.value)
    assert "rejected the request (HTTP 400: model 'm' does not exist: [Errno 1] see" in text
    assert "not responding" not in text and "more characters]" in text
    assert len(text) < 420 and records[0].error and "[Errno 1] see" in records[0].error


@respx.mock
def test_a_server_that_keeps_failing_is_quoted_whole_not_called_silent() -> None:
    respx.post(f"{URL}/chat/completions").mock(return_value=httpx.Response(
        502, json={"error": {"message": "bad gateway: [Errno 111] Connection refused"}}))
    client = make([], retries=1)
    with pytest.raises(ModelUnavailable) as info:
        client.structured(MSGS, Verdict, purpose="judge", prompt_hash="h")
    client.close()
    assert "kept failing after retries (HTTP 502: bad gateway: [Errno 111] Connection " \
           "refused)" in str(info.value)
    assert "not responding" not in str(info.value)


def test_clip_keeps_whole_words_and_says_what_it_left_out() -> None:
    from agent.model.errors import answer_text, clip

    assert clip("short  text\nhere") == "short text here"
    long = " ".join(f"word{i}" for i in range(200))
    out = clip(long, 100)
    assert len(out) <= 130 and out.endswith("more characters]")
    assert all(w.startswith("word") and w[4:].isdigit() for w in out.split(" … ")[0].split())
    assert answer_text(502, {"message": "bad gateway: [Errno 1] Operation not permitted"}) == \
        "HTTP 502: bad gateway: [Errno 1] Operation not permitted"
    assert answer_text(400, "'response_format.type' must be 'json_schema'") == \
        "HTTP 400: 'response_format.type' must be 'json_schema'"
    assert answer_text(422, {"detail": [{"msg": "field required"}]}) == \
        "HTTP 422: field required"


# -- bounded calls (17.2) and streams (17.3) ---------------------------------------------------


@respx.mock
def test_every_call_sends_max_tokens() -> None:
    route = respx.post(f"{URL}/chat/completions").mock(side_effect=[
        httpx.Response(200, content=sse("Hi?"), headers={"content-type": "text/event-stream"}),
        httpx.Response(200, json=completion('{"level": 1, "quotes": []}')),
    ])
    client = make([])
    assert client.text(MSGS, purpose="interviewer", prompt_hash="p") == "Hi?"
    client.structured(MSGS, Verdict, purpose="judge", prompt_hash="h")
    client.close()
    sent = [json.loads(c.request.content) for c in route.calls]
    assert sent[0]["max_tokens"] == 200 and sent[1]["max_tokens"] == 700


@respx.mock
def test_prompts_leave_room_for_the_reply_within_the_context() -> None:
    route = respx.post(f"{URL}/chat/completions").mock(
        return_value=httpx.Response(200, json=completion('{"level": 1, "quotes": []}')))
    settings = Settings(base_url=URL, api_key=KEY, model="m", context_tokens=2_048)
    client = ModelClient(settings, http_client=httpx.Client())
    client.structured([{"role": "user", "content": "latency " * 5000}], Verdict,
                      purpose="judge", prompt_hash="h", max_tokens=600)
    client.close()
    from agent import tokens

    sent = json.loads(route.calls[0].request.content)
    assert tokens.count_messages(sent["messages"]) + 600 <= 2_048


@respx.mock
def test_a_stream_that_ends_without_finishing_is_asked_again_never_taken_whole() -> None:
    cut = sse("ok", stop=False)  # SIGTERM on llama.cpp's server: no finish_reason, no [DONE]
    route = respx.post(f"{URL}/chat/completions").mock(side_effect=[
        httpx.Response(200, content=cut, headers={"content-type": "text/event-stream"}),
        httpx.Response(200, content=sse("What ", "is ", "the ", "p99?"),
                       headers={"content-type": "text/event-stream"}),
    ])
    records: list[CallRecord] = []
    client = make(records)
    pieces = list(client.stream(MSGS, purpose="interviewer", prompt_hash="p"))
    client.close()
    assert route.call_count == 2
    assert pieces[0] == "ok" and isinstance(pieces[1], Restart)
    assert "".join(p for p in pieces[2:] if isinstance(p, str)) == "What is the p99?"
    assert records[0].outcome == "ok"
    assert "stream ended without finishing" in (records[0].error or "")


@respx.mock
def test_a_stream_that_always_ends_mid_reply_raises_truncated() -> None:
    respx.post(f"{URL}/chat/completions").mock(return_value=httpx.Response(
        200, content=sse("ok", stop=False), headers={"content-type": "text/event-stream"}))
    records: list[CallRecord] = []
    client = make(records)
    with pytest.raises(TruncatedReply, match="kept ending mid-reply"):
        client.text(MSGS, purpose="interviewer", prompt_hash="p", fail_note="fallback")
    client.close()
    assert records[0].outcome == "truncated"
    assert (records[0].error or "").startswith("fallback: the stream kept ending mid-reply")


@respx.mock
def test_a_check_stops_the_stream_and_the_call_log_says_why() -> None:
    respx.post(f"{URL}/chat/completions").mock(return_value=httpx.Response(
        200, content=sse("Tell", "me", "</followup>", "more"),
        headers={"content-type": "text/event-stream"}))
    records: list[CallRecord] = []
    client = make(records)
    seen: list[str] = []

    def check(text: str, finished: bool) -> str | None:
        return "a prompt tag" if "</" in text else None

    with pytest.raises(ReplyRejected) as info:
        for piece in client.stream(MSGS, purpose="interviewer", prompt_hash="p", check=check,
                                   fail_note="retrying"):
            seen.append(str(piece))
    client.close()
    assert seen == ["Tell", "me"]  # the tag never reached the caller
    assert info.value.reason == "a prompt tag"
    assert (records[0].outcome, records[0].error) == ("rejected", "retrying: a prompt tag")


# -- evals against failing models (17.5): every reply is cached as it came ----------------------


@respx.mock
def test_invalid_replies_and_rejections_are_cached_so_replay_repeats_the_run(
        tmp_path: Any) -> None:
    from agent.cache import CallCache

    replies = [httpx.Response(500, json=LLAMACPP_500)] + [
        httpx.Response(200, json=completion("I cannot grade this.")) for _ in range(3)]
    route = respx.post(f"{URL}/chat/completions").mock(side_effect=replies)
    recorded = CallCache(tmp_path / "c.sqlite", "record")
    client = make([], cache=recorded)
    with pytest.raises(StructuredOutputError) as live:
        client.structured(MSGS, Verdict, purpose="judge", prompt_hash="h")
    client.close()
    recorded.close()
    assert route.call_count == 4

    replay = CallCache(tmp_path / "c.sqlite", "replay")
    records: list[CallRecord] = []
    again = make(records, cache=replay)  # a fresh client: it starts at json_schema again
    with pytest.raises(StructuredOutputError) as replayed:
        again.structured(MSGS, Verdict, purpose="judge", prompt_hash="h")
    again.close()
    assert route.call_count == 4  # nothing reached the network
    assert str(replayed.value) == str(live.value)
    assert records[0].outcome == "invalid" and records[0].cached
