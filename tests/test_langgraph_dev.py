"""``langgraph dev`` serves the graph from langgraph.json: a run stops at the first question and
resumes with the candidate's answer (offline interviewer; loopback only)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, cli_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(url: str, body: dict[str, Any]) -> Any:
    req = urllib.request.Request(url, json.dumps(body).encode(),
                                 {"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


@pytest.mark.slow
def test_langgraph_dev_serves_the_interview(home: Path) -> None:
    exe = shutil.which("langgraph")
    assert exe, "langgraph-cli is a dev dependency (pip install -e '.[dev]')"
    port = free_port()
    proc = subprocess.Popen([exe, "dev", "--no-reload", "--no-browser", "--port", str(port)],
                            cwd=ROOT, env=cli_env(home), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/ok", timeout=2).close()
                break
            except OSError:
                assert proc.poll() is None, "langgraph dev exited"
                assert time.time() < deadline, "langgraph dev did not start in 90 s"
                time.sleep(0.5)
        thread = post(f"{base}/threads", {})["thread_id"]
        first = post(f"{base}/threads/{thread}/runs/wait", {
            "assistant_id": "interviewer",
            "input": {"case_id": "fintech-p99-spikes", "mode": "exam", "max_followups": 2}})
        assert [t["kind"] for t in first["turns"]] == ["prompt"]
        second = post(f"{base}/threads/{thread}/runs/wait", {
            "assistant_id": "interviewer", "command": {"resume": "What is the QPS?"}})
        said = second["turns"][-1]
        assert second["turns"][-2]["text"] == "What is the QPS?"
        assert said["kind"] == "fact" and "requests per second" in said["text"]
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
