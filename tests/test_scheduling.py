"""Scheduling for slow and serial servers (issue 17.4): the interviewer's calls go first,
background judging is bounded and waits while a candidate turn is served, a request that runs
out of time is cancelled (its connection closed, so the server can stop), and prompts and
replies are bounded (17.2)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent import tokens
from agent.config import Settings
from agent.model.budgets import Deadline, clip_text, clip_turns, fit_texts, prompt_budget
from agent.model.client import ModelClient, ModelSlow, ModelUnavailable
from agent.model.scheduler import Scheduler
from evals.fake_endpoint import FakeEndpoint
from evals.fake_responder import interviewer_responder


def test_background_requests_wait_for_a_candidate_turn_and_are_bounded() -> None:
    sched = Scheduler(max_concurrency=2)
    inside, peak, started = [0], [0], threading.Event()
    lock = threading.Lock()

    def judge() -> None:
        with sched.background(), sched.request():
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            started.set()
            time.sleep(0.05)
            with lock:
                inside[0] -= 1

    with sched.foreground():
        workers = [threading.Thread(target=judge) for _ in range(6)]
        for w in workers:
            w.start()
        time.sleep(0.2)
        assert not started.is_set()  # nothing starts while the turn is served
        with sched.request():  # the interviewer's own request goes straight through
            pass
    for w in workers:
        w.join(5)
    assert started.is_set() and peak[0] == 2 == sched.peak_background
    assert sched.waited >= 6


def test_a_turn_that_waits_for_background_scores_lets_them_run() -> None:
    # The interview's last turn waits for the last steps' scores (the report is in the final
    # state): while it waits, the background requests it waits for must be able to go.
    sched = Scheduler(max_concurrency=1)
    done = threading.Event()

    def judge() -> None:
        with sched.background(), sched.request():
            done.set()

    with sched.foreground():
        worker = threading.Thread(target=judge)
        worker.start()
        assert not done.wait(0.2)  # held back while the turn is served...
        with sched.turn_waits():
            assert done.wait(5)  # ...and let go while the turn waits for it
        worker.join(5)
        # The turn is served again afterwards: the next background request waits.
        late = threading.Event()

        def again() -> None:
            with sched.background(), sched.request():
                late.set()

        other = threading.Thread(target=again)
        other.start()
        assert not late.wait(0.2)
    other.join(5)
    assert late.is_set()
    with sched.turn_waits():  # outside any turn: nothing to give up, nothing goes negative
        pass
    assert sched._foreground == 0


def serial_endpoint(delay: float, **kw: Any) -> FakeEndpoint:
    return FakeEndpoint(responder=interviewer_responder, quirks="llamacpp", call_delay_s=delay,
                        **kw)


def test_a_request_that_times_out_is_cancelled_and_the_server_moves_on() -> None:
    """On a serial server, an abandoned request that kept running would hold up every later
    one (issue 17: "requests abandoned on timeout kept running server-side")."""
    with serial_endpoint(4.0) as ep:
        slow = ModelClient(Settings(base_url=ep.url, api_key="k", model="fake-model",
                                    timeout_s=0.5, max_retries=0), http_client=httpx.Client())
        with pytest.raises(ModelUnavailable, match="not responding"):
            slow.text([{"role": "user", "content": "hi"}], purpose="interviewer",
                      prompt_hash="p")
        slow.close()
        ep.call_delay_s = 0.0
        fast = ModelClient(Settings(base_url=ep.url, api_key="k", model="fake-model"),
                           http_client=httpx.Client())
        began = time.monotonic()
        fast.text([{"role": "user", "content": "hi"}], purpose="interviewer", prompt_hash="p")
        waited = time.monotonic() - began
        fast.close()
        log = ep.requests
    assert log[0].get("cancelled") is True  # the server saw the connection close
    assert waited < 2.0, f"the next request waited {waited:.1f} s behind the abandoned one"


def test_a_deadline_cancels_a_stream_whose_first_word_is_late() -> None:
    with FakeEndpoint(responder=interviewer_responder, misbehave="slow_first_token",
                      slow_s=20) as ep:
        client = ModelClient(Settings(base_url=ep.url, api_key="k", model="fake-model"),
                             http_client=httpx.Client())
        began = time.monotonic()
        with pytest.raises(ModelSlow, match=r"no first word within 0\.5 s"):
            client.text([{"role": "user", "content": "hi"}], purpose="interviewer",
                        prompt_hash="p", deadline=Deadline.start(0.5, 5.0), fail_note="retrying")
        took = time.monotonic() - began
        client.close()
        for _ in range(40):  # the handler notices the closed connection within ~50 ms
            if ep.requests[0].get("cancelled"):
                break
            time.sleep(0.05)
        log = ep.requests
    assert took < 2.0 and log[0].get("cancelled") is True


def test_judge_prompts_clip_the_longest_turns_to_leave_room_for_the_reply() -> None:
    from agent.cases import get_case
    from agent.judge import LLMJudge, render_transcript

    settings = Settings(base_url="http://unused.test/v1", api_key="k", model="m",
                        context_tokens=8_192)
    client = ModelClient(settings, http_client=httpx.Client())
    judge = LLMJudge(client)
    rambling = "We should look at the autoscaler and the queue depth. " * 900  # ~10k tokens
    turns = [("interviewer", "What would you check first?"), ("candidate", rambling),
             ("candidate", "And GPU utilisation against p99 at peak.")]
    msgs = judge.messages(get_case("fintech-p99-spikes"), "diagnose", turns)
    client.close()
    reply = 250 * len(judge.rubrics["diagnose"].criteria) + 200
    assert tokens.count_messages(msgs) + reply <= 8_192 - 819  # room for the reply + margin
    user = msgs[1]["content"]
    assert "words left out" in user and "And GPU utilisation against p99 at peak." in user
    assert "Return every criterion id" in user  # the instructions after it are kept
    short = judge.messages(get_case("fintech-p99-spikes"), "diagnose", turns[:1])
    assert render_transcript(turns[:1]) in short[1]["content"]  # short ones are untouched


def test_clipping_keeps_whole_words_from_both_ends() -> None:
    text = " ".join(f"w{i}" for i in range(3000))
    out = clip_text(text, 300)
    assert out.startswith("w0 w1 ") and out.endswith(" w2999")
    assert "words left out" in out and tokens.count(out) <= 330
    short, long = "brief answer", "x " * 5000
    clipped = clip_turns([short, long], 4000)
    assert clipped[0] == short and tokens.count(clipped[1]) < tokens.count(long) - 3500
    assert fit_texts([short], 10_000) == [short]
    assert prompt_budget(8_192, 1_950, 16_000) == 8_192 - 1_950 - 819


# -- waiting for the report: progress, and Ctrl-C (17.4, 19.2) ----------------------------------


def slow_judge(seconds: float) -> Any:
    """The scripted model, with every judge call taking ``seconds``."""
    def respond(body: dict[str, Any]) -> Any:
        fmt = body.get("response_format") or {}
        if (fmt.get("json_schema") or {}).get("name") == "JudgeOut":
            time.sleep(seconds)
        return interviewer_responder(body)
    return respond


def interrupt_when(proc: Any, stream: Any, marker: str, limit: float = 60) -> list[str]:
    """Read ``stream`` line by line until ``marker`` shows, then send Ctrl-C (SIGINT)."""
    import signal

    lines: list[str] = []
    end = time.monotonic() + limit
    while time.monotonic() < end:
        line = stream.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            proc.send_signal(signal.SIGINT)
            return lines
    raise AssertionError(f"{marker!r} never appeared: {''.join(lines)[-2000:]}")


@pytest.mark.slow
def test_ctrl_c_while_the_report_waits_leaves_the_session_completed_and_says_how_to_finish(
        home: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT, cli_env
    from tests.helpers import only_session, stdin_of

    # (the assumptions end clarify: the first /next in diagnose is asked about, the second
    # skips it)
    blocks = ["What's the QPS at peak?",
              "I'll assume real-time inference for a payments customer, 500 ms p99.",
              "/next", "/next", "/next", "/next", "/next", "/next"]
    with FakeEndpoint(responder=slow_judge(8)) as ep:
        args = [sys.executable, "-m", "agent", "chat", "--case", "fintech-p99-spikes",
                "--base-url", ep.url, "--model", "fake-model"]
        with subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=cli_env(home),
                              cwd=ROOT) as proc:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(stdin_of(blocks))
            proc.stdin.close()
            seen = interrupt_when(proc, proc.stdout, "(judging step")  # piped progress
            rest = proc.stdout.read()
            code = proc.wait(timeout=20)
        row = only_session(home)
        sid = row["id"]
        assert code == 130 and row["status"] == "completed"
        said = "".join(seen) + rest
        assert "judging step 1 of 2 (clarify the problem and context)" in said
        assert "Resume with: interviewer chat" not in said
        assert "report is pending" in said and f"interviewer report {sid}" in said
        assert f"interviewer report {sid} --offline" in said

        # The report command: progress on stderr, then Ctrl-C again while it waits.
        args = [sys.executable, "-m", "agent", "report", sid, "--base-url", ep.url,
                "--model", "fake-model"]
        with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=cli_env(home), cwd=ROOT) as proc:
            assert proc.stderr is not None
            interrupt_when(proc, proc.stderr, "interviewer: judging step")
            began = time.monotonic()
            err = proc.stderr.read()
            code = proc.wait(timeout=20)
        assert code == 130 and time.monotonic() - began < 5  # not held up by the judge call
        assert "report is pending" in err and f"interviewer report {sid} --offline" in err
