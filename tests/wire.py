"""Helpers for faking a model endpoint at the HTTP wire with respx.

The fake reads each request body like a model would and answers through
evals/fake_responder.py (the same scripted behaviour the loopback server uses), so the client,
the SDK and our prompts all run for real.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import httpx

from evals.fake_endpoint import default_content
from evals.fake_responder import interviewer_responder

URL = "http://model.test/v1"


def completion(content: str) -> dict[str, Any]:
    return {"id": "c", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}


def sse(text: str) -> bytes:
    chunks = [{"role": "assistant", "content": ""}, *({"content": w + " "}
                                                     for w in text.split())]
    events = [json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 0,
                          "model": "m", "choices": [{"index": 0, "delta": d,
                                                     "finish_reason": None}]}) for d in chunks]
    events.append("[DONE]")
    return "".join(f"data: {e}\n\n" for e in events).encode()


def schema_name(body: dict[str, Any]) -> str | None:
    fmt = body.get("response_format") or {}
    return (fmt.get("json_schema") or {}).get("name") if fmt.get("type") == "json_schema" else None


class FakeModel:
    """A respx side effect. ``judge`` overrides replies to judge calls; ``gate`` blocks judge
    calls until set (a slow judge)."""

    def __init__(self, judge: Callable[[dict[str, Any]], str] | None = None,
                 gate: threading.Event | None = None) -> None:
        self.judge = judge
        self.gate = gate
        self.bodies: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        with self.lock:
            self.bodies.append(body)
        name = schema_name(body)
        if name == "JudgeOut":
            if self.gate is not None:
                self.gate.wait(10)
            content = self.judge(body) if self.judge else default_content(body)
            return httpx.Response(200, json=completion(content))
        reply = interviewer_responder(body)
        content = reply if isinstance(reply, str) else json.dumps(reply) if reply else (
            default_content(body))
        if body.get("stream"):
            return httpx.Response(200, content=sse(content),
                                  headers={"content-type": "text/event-stream"})
        return httpx.Response(200, json=completion(content))

    def judge_bodies(self) -> list[dict[str, Any]]:
        return [b for b in self.bodies if schema_name(b) == "JudgeOut"]
