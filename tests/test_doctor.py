"""``interviewer doctor`` (issue 15.4): a verdict and advice for the configured model, and the
cheap part of it before every chat. Through the real CLI, against the loopback endpoint."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from agent.config import Settings
from agent.model.client import ModelClient
from agent.model.doctor import preflight
from evals.fake_endpoint import FakeEndpoint
from evals.fake_responder import interviewer_responder
from tests.conftest import run_cli
from tests.helpers import stdin_of

pytestmark = pytest.mark.slow


def doctor(home: Path, url: str, *extra: str, **env: str) -> tuple[int, dict[str, Any], str]:
    as_json = run_cli(home, "doctor", "--json", "--base-url", url, "--model", "fake-model",
                      *extra, timeout=120, **env)
    text = run_cli(home, "doctor", "--base-url", url, "--model", "fake-model", *extra,
                   timeout=120, **env)
    assert "Traceback" not in as_json.stderr + text.stderr
    assert as_json.returncode == text.returncode
    return as_json.returncode, json.loads(as_json.stdout), text.stdout


def checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report["checks"]}


def test_a_good_model_is_ready(home: Path) -> None:
    with FakeEndpoint(responder=interviewer_responder) as ep:
        code, report, text = doctor(home, ep.url)
    assert code == 0 and report["verdict"] == "ready", text
    found = checks(report)
    assert {"reachable", "key", "structured", "sample follow-up", "latency"} <= set(found)
    assert found["structured"]["detail"].startswith("json_schema")
    assert "verdict: ready" in text and "✓ sample follow-up" in text


def test_llama_cpp_is_usable_and_its_structured_mode_is_remembered(home: Path) -> None:
    with FakeEndpoint(responder=interviewer_responder, quirks="llamacpp") as ep:
        code, report, text = doctor(home, ep.url)
        assert code == 0, text
        detail = checks(report)["structured"]["detail"]
        assert detail.startswith("json_object with the schema; json_schema rejected (HTTP "
                                 "500: ") and "Input should be 'text' or 'json_object'" in detail
        assert "not responding" not in text
        # Remembered: the next doctor and the next chat say so before asking anything.
        _, again, _ = doctor(home, ep.url)
        assert "structured output: json_object with the schema" in checks(again)[
            "remembered"]["detail"]
        chat = run_cli(home, "chat", "--case", "fintech-p99-spikes", "--base-url", ep.url,
                       "--model", "fake-model", stdin=stdin_of(["/quit"]), timeout=120)
    assert chat.returncode == 0, chat.stderr
    assert "(model endpoint reachable in" in chat.stdout
    assert "structured output: json_object with the schema" in chat.stdout


def test_a_model_that_fails_the_checks_is_usable_with_fallbacks_and_says_why(
        home: Path) -> None:
    def no_json(body: dict[str, Any]) -> Any:
        return "Sure! I think the answer is traffic." if body.get("response_format") else (
            interviewer_responder(body))

    with FakeEndpoint(responder=no_json, misbehave="off_role") as ep:
        code, report, text = doctor(home, ep.url)
    assert code == 1 and report["verdict"] == "degraded", text
    found = checks(report)
    assert found["structured"]["status"] == "fail"
    assert found["sample follow-up"]["status"] == "warn"
    assert "it is chatter" in found["sample follow-up"]["detail"]
    advice = " ".join(report["advice"])
    assert "failed structured output" in advice and "feedback scored offline" in advice
    assert "standard questions instead" in advice
    assert "verdict: usable, with fallbacks" in text


def test_a_slow_model_gets_advice_on_the_budgets(home: Path) -> None:
    with FakeEndpoint(responder=interviewer_responder, misbehave="slow_first_token",
                      slow_s=10) as ep:
        code, report, text = doctor(home, ep.url, INTERVIEWER_FIRST_TOKEN_S="0.5",
                                    INTERVIEWER_REPLY_S="2")
    assert code == 1, text
    assert checks(report)["latency"]["status"] == "warn"
    assert "INTERVIEWER_FIRST_TOKEN_S" in " ".join(report["advice"])


def test_an_unreachable_endpoint_or_a_refused_key_is_not_usable(home: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    code, report, text = doctor(home, dead)
    assert code == 2 and report["verdict"] == "unusable"
    assert "could not connect" in checks(report)["reachable"]["detail"]
    assert "verdict: not usable" in text and "--offline" in text
    with FakeEndpoint(responder=interviewer_responder, api_key="the-right-key") as ep:
        code, report, text = doctor(home, ep.url, INTERVIEWER_API_KEY="a-wrong-key")
        chat = run_cli(home, "chat", "--case", "fintech-p99-spikes", "--base-url", ep.url,
                       "--model", "fake-model", stdin=stdin_of(["What is the QPS?"]),
                       timeout=120, INTERVIEWER_API_KEY="a-wrong-key")
        requests = ep.requests
    assert code == 2 and checks(report)["key"]["status"] == "fail"
    assert "rejected the request (HTTP 401: Incorrect API key provided.)" in checks(report)[
        "key"]["detail"]
    assert "a-wrong-key" not in text + json.dumps(report)
    # The chat stops before the interview: nothing asked, nothing sent, nothing saved.
    assert chat.returncode == 3 and "the key was refused" in chat.stderr
    assert requests == [] and "You: " not in chat.stdout
    assert run_cli(home, "sessions", "--json").stdout.strip() == "[]"


def test_doctor_without_an_endpoint_says_there_is_nothing_to_check(home: Path) -> None:
    out = run_cli(home, "doctor")
    assert out.returncode == 2 and "nothing to check (no model is configured)" in out.stderr


def test_a_base_url_that_answers_404_to_everything_is_not_usable(home: Path) -> None:
    # The loopback server serves under /v1: without it, /models and chat both answer 404.
    with FakeEndpoint(responder=interviewer_responder) as ep:
        bare = ep.url.removesuffix("/v1")
        code, report, text = doctor(home, bare)
        chat = run_cli(home, "chat", "--case", "fintech-p99-spikes", "--base-url", bare,
                       "--model", "fake-model", stdin=stdin_of(["What is the QPS?"]),
                       timeout=120)
    assert code == 2 and report["verdict"] == "unusable", text
    failed = checks(report)["chat"]
    assert failed["status"] == "fail" and "HTTP 404" in failed["detail"]
    assert f"missing /v1 (try --base-url {bare}/v1)" in failed["detail"]
    assert "verdict: not usable" in text and "usable, with fallbacks" not in text
    # chat's pre-check agrees: it stops before the interview, naming the cause.
    assert chat.returncode == 3 and "missing /v1" in chat.stderr, chat.stderr
    assert "You: " not in chat.stdout



@respx.mock
def test_an_unknown_model_is_not_usable_and_a_server_without_a_list_is_probed() -> None:
    url = "http://models.test/v1"
    client = ModelClient(Settings(base_url=url, model="llama", max_retries=0),
                         http_client=httpx.Client())
    respx.get(f"{url}/models").mock(return_value=httpx.Response(200, json={
        "object": "list", "data": [{"id": "llama-3.1-8b", "object": "model"}]}))
    chat = respx.post(f"{url}/chat/completions").mock(return_value=httpx.Response(
        404, json={"error": {"message": "The model `llama` does not exist.",
                             "code": "model_not_found"}}))
    report = preflight(client)
    assert not report.usable and chat.call_count == 1
    detail = next(c.detail for c in report.checks if c.name == "chat")
    assert "the model 'llama' is unknown to it (it lists llama-3.1-8b)" in detail
    # No model list (404) but chat answers: usable, the key known to be taken.
    respx.get(f"{url}/models").mock(return_value=httpx.Response(404, text="Not Found"))
    chat.mock(return_value=httpx.Response(200, json={
        "id": "x", "object": "chat.completion", "created": 0, "model": "llama",
        "choices": [{"index": 0, "finish_reason": "length",
                     "message": {"role": "assistant", "content": "OK"}}]}))
    report = preflight(client)
    client.close()
    assert report.verdict == "ready" and chat.call_count == 2
    assert {c.name: c.status for c in report.checks} == {
        "reachable": "ok", "chat": "ok", "key": "ok"}
