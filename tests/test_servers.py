"""Whole interviews and evals through the servers people run and the ways weak models fail
(issues 15 and 17), on the loopback fake endpoint's quirk and misbehaviour modes
(evals/fake_servers.py), through the real CLI.

Each misbehaviour yields a clean interview (the candidate sees the standard text, never what
the model said) and an honest trace (every replaced line is a "fallback ...: <reason>" entry).
Each quirk mode holds a whole piped interview and an ``eval run --scorer llm``. Run with ``-s``
to see what the candidate saw and the trace lines."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from agent.rubrics import default_rubrics
from evals.fake_endpoint import FakeEndpoint
from evals.fake_responder import interviewer_responder
from evals.fake_servers import LOOP, OFF_ROLE, QUIRKS
from tests.conftest import ROOT, run_cli
from tests.helpers import INTERVIEW_BLOCKS, only_session, stdin_of

CASE = "fintech-p99-spikes"
DEV = ROOT / "evals" / "datasets" / "dev.jsonl"
#: A clarifying question (a model-written fact reply), the assumptions, a diagnose answer
#: (drawing a model-written follow-up), then /next: both kinds of model speech, kept short.
BLOCKS = INTERVIEW_BLOCKS[:4]
PROBES = {c.probe for c in default_rubrics()["diagnose"].criteria}

#: What each misbehaviour would have put on screen (none of it may appear).
LEAKS = {
    "off_role": [OFF_ROLE[:30]],
    "echo": ["You asked the candidate", "common topic for this interview"],
    "tags": ["</followup>", "</"],
    "loop": [LOOP.split(".")[0]],
    "slow_first_token": [],
    "empty": [],
    "truncate": [],
}


def trace(home: Path, sid: str) -> tuple[list[dict[str, Any]], str]:
    data = run_cli(home, "trace", sid, "--json")
    text = run_cli(home, "trace", sid)
    assert data.returncode == 0 and text.returncode == 0, data.stderr + text.stderr
    return json.loads(data.stdout)["calls"], text.stdout


def interviewer_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("Interviewer: ")]


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(LEAKS))
def test_a_misbehaving_model_yields_a_clean_interview_and_an_honest_trace(
        home: Path, mode: str) -> None:
    env = {"INTERVIEWER_FIRST_TOKEN_S": "4", "INTERVIEWER_REPLY_S": "8"} \
        if mode == "slow_first_token" else {}
    with FakeEndpoint(responder=interviewer_responder, misbehave=mode, slow_s=30) as ep:
        began = time.monotonic()
        out = run_cli(home, "chat", "--case", CASE, "--base-url", ep.url, "--model",
                      "fake-model", stdin=stdin_of(BLOCKS), timeout=120, **env)
        took = time.monotonic() - began
        requests = ep.requests
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr
    sid = str(only_session(home)["id"])
    said = "\n".join(interviewer_lines(out.stdout))
    for leak in LEAKS[mode]:
        assert leak not in out.stdout, (mode, leak)
    # The candidate heard the standard text: the fact sheet's words and an authored probe.
    followups = [line.removeprefix("Interviewer: ") for line in interviewer_lines(out.stdout)
                 if line.removeprefix("Interviewer: ") in PROBES]
    assert followups, said
    assert "Purely inference." in said  # the fact's own words answered the question

    calls, text = trace(home, sid)
    speech = [c for c in calls if c["purpose"] == "interviewer" and "clarify_select" not in
              c["prompt_hash"]]
    # The fact reply and the follow-up each fell back once (a fact selection that was itself
    # too slow on a busy machine falls back before any speech is asked for: it counts too).
    fell = [c for c in calls if c["purpose"] == "interviewer" and (c["error"] or "").startswith(
        "fallback")]
    assert len(fell) == 2, [(c["outcome"], c["error"]) for c in calls]
    assert all(c["outcome"] in ("rejected", "slow", "truncated") for c in speech)
    if mode == "slow_first_token":
        assert took < 60 and out.stdout.count("(the model is slow;") == 1  # said once
        assert all(c["outcome"] == "slow" for c in speech)
        assert any(r.get("cancelled") for r in requests)  # the late request was cut off
    elif mode == "loop":  # stopped early: the server saw the client hang up
        assert [r.get("cancelled") for r in requests if r["body"].get("stream")] == [True] * 4
        assert all(c["completion_tokens"] < 40 for c in speech)
    if mode == "truncate":
        assert all(c["outcome"] == "truncated" for c in speech)
    elif mode != "slow_first_token":
        assert all(c["outcome"] == "rejected" for c in speech) and len(speech) == 4
        assert [c["error"].split(":")[0] for c in speech] == [
            "retrying", "fallback to the case notes", "retrying",
            "fallback to the standard question"]
    excerpt = "\n".join(line for line in out.stdout.splitlines()
                        if line.startswith(("Interviewer:", "You:", "(")))
    lines = "\n".join(line for line in text.splitlines() if "↳" in line)
    print(f"\n[{mode}] {took:.1f} s; what the candidate saw:\n{excerpt}\ntrace:\n{lines}")


def completed_interview(home: Path, url: str, **env: str) -> tuple[str, str, float]:
    """A whole piped interview; (session id, stdout, seconds from the last answer to the
    report)."""
    out = run_cli(home, "chat", "--case", CASE, "--base-url", url, "--model", "fake-model",
                  stdin=stdin_of(INTERVIEW_BLOCKS), timeout=600, **env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr
    assert "not responding" not in out.stdout + out.stderr
    m = re.search(r"Feedback ready ([\d.]+) s after your last answer", out.stdout)
    assert m and "Overall:" in out.stdout, out.stdout[-2000:]
    row = only_session(home)
    assert row["status"] == "completed" and row["engine"] == "llm:fake-model"
    return str(row["id"]), out.stdout, float(m.group(1))


EXPECTED_MODE = {"llamacpp": "json_object_schema", "lmstudio": "json_schema"}


@pytest.mark.slow
@pytest.mark.parametrize("quirks", list(QUIRKS))
def test_each_server_holds_a_whole_interview_and_an_llm_eval(
        home: Path, tmp_path: Path, quirks: str) -> None:
    with FakeEndpoint(responder=interviewer_responder, quirks=quirks) as ep:
        sid, _, _ = completed_interview(home, ep.url)
        results = tmp_path / "eval.json"
        ev = run_cli(home, "eval", "run", str(DEV), "--scorer", "llm", "--base-url", ep.url,
                     "--model", "fake-model", "--limit", "2", "--bootstrap", "0", "--quiet",
                     "--output", str(results), timeout=600)
        requests = ep.requests
    assert ev.returncode == 0, ev.stdout + ev.stderr
    data = json.loads(results.read_text())
    assert data["failures"]["items"] == 0 and data["metrics"]["unscored_criteria"] == 0
    calls, text = trace(home, sid)
    assert {c["purpose"] for c in calls} >= {"interviewer", "assessment", "judge"}
    assert not [c for c in calls if c["outcome"] in ("error", "invalid")]
    # The structured-output mode the server takes was found and remembered (and shown).
    mode = EXPECTED_MODE.get(quirks, "json_schema")
    from agent.store import Store

    store = Store(home / "interviewer.db")
    try:
        caps = store.load_capabilities(ep.url, "fake-model")
    finally:
        store.close()
    assert caps is not None and caps["structured"] == mode
    assert "endpoint: fake-model at" in text and "structured output:" in text
    refused = [r for r in requests if (r["body"].get("response_format") or {}).get("type")
               == "json_schema"] if quirks == "llamacpp" else []
    if quirks == "llamacpp":  # one refusal per process (chat, report, eval), never retried
        assert 1 <= len(refused) <= 3 and caps["stream_usage"] is False
        assert "json_schema rejected (HTTP 500" in text
    print(f"\n[{quirks}] {len(requests)} requests; {text.splitlines()[-1]}")


@pytest.mark.slow
def test_an_eval_against_a_model_that_never_follows_the_schema_replays_and_counts(
        home: Path, tmp_path: Path) -> None:
    """Issue 17.5: every judge reply invalid. The run counts every criterion unscored (failed
    items included), and its invalid replies are cached as they came, so --cache replay with
    the endpoint gone gives the same results instead of "prompt or model changed"."""
    def never_json(body: dict[str, Any]) -> Any:
        if "JudgeOut" in json.dumps(body.get("response_format") or {}):
            return "I think the candidate did fine overall."
        return interviewer_responder(body)

    cache = tmp_path / "cache.sqlite"
    common = [str(DEV), "--scorer", "llm", "--model", "fake-model", "--limit", "2",
              "--bootstrap", "0", "--quiet", "--cache-file", str(cache)]
    with FakeEndpoint(responder=never_json, quirks="llamacpp") as ep:
        live = run_cli(home, "eval", "run", *common, "--cache", "record", "--base-url", ep.url,
                       "--output", str(tmp_path / "live.json"), timeout=600)
        calls = len(ep.requests)
    replay = run_cli(home, "eval", "run", *common, "--cache", "replay",
                     "--output", str(tmp_path / "replay.json"), timeout=600)
    assert live.returncode == replay.returncode == 1, live.stdout + live.stderr + replay.stderr
    first = json.loads((tmp_path / "live.json").read_text())
    again = json.loads((tmp_path / "replay.json").read_text())
    assert first["failures"] == again["failures"] == {
        "items": 2, "of": 2, "ids": first["failures"]["ids"]}
    criteria = sum(len(i["criteria"]) for i in first["items"])
    assert first["metrics"]["unscored_criteria"] == criteria == again["metrics"][
        "unscored_criteria"]
    assert [i["errors"] for i in first["items"]] == [i["errors"] for i in again["items"]]
    assert "no valid level" in first["items"][0]["errors"][0]
    assert again["usage"]["cache"]["hits"] > 0 and calls > 0
    assert f"{criteria} criterion scores were unscored" in (tmp_path / "live.md").read_text()
