"""Several ``interviewer serve`` workers over one PostgreSQL, as a deployment runs them: each
worker a process with a home directory of its own (as on a machine of its own), candidates
driven over HTTP through a load balancer that sends each request to any live worker
(tests/workers.py), workers killed with SIGKILL mid-stream and mid-scoring and started again,
and the database server restarted in the middle of interviews.

``INTERVIEWER_TEST_WORKER_INTERVIEWS`` (default 30, the issue's number) sets how many
interviews run at once in the kill test; a smaller number is quicker while developing.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import INTERVIEW_BLOCKS
from tests.postgres import Cluster
from tests.workers import Balancer, Candidate, Worker, pct

pytestmark = pytest.mark.slow

CASES = ["fintech-p99-spikes", "llama70b-2x-latency", "batch-inference-cost"]
INTERVIEWS = int(os.environ.get("INTERVIEWER_TEST_WORKER_INTERVIEWS", "30"))
#: Where each kill is aimed, in order: the worker streaming a reply (after the answer was
#: accepted), and the worker that has just finished a step (its score computed in the
#: background after the reply).
KILLS = ["stream", "scoring"] * 3


def _scored_steps(url: str, sid: str) -> set[str]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return {str(r[0]) for r in conn.execute(
            "SELECT step FROM scores WHERE session_id = %s", (sid,)).fetchall()}


def _answers(view: dict[str, Any]) -> list[str]:
    """The candidate's turns the interview recorded (answers and commands), in order."""
    return [t["text"] for t in view["turns"] if t["role"] == "candidate"]


class KillPlan:
    """Kills the worker serving a candidate at the planned moments (one at a time, each worker
    started again at once on a new port), and records where each kill landed."""

    def __init__(self, url: str, workers: list[Worker], aims: list[str], gap_s: float) -> None:
        self.url, self.workers, self.aims, self.gap_s = url, workers, list(aims), gap_s
        self._mu = threading.Lock()
        self._last = time.monotonic()
        self.kills: list[dict[str, Any]] = []
        self._restarts: list[threading.Thread] = []
        self.restart_s: list[float] = []

    def hook(self, who: Candidate, worker: Worker, event: str, data: dict[str, Any]) -> None:
        aim = self.aims[0] if self.aims else None
        if aim == "stream":
            hit = event == "say"
        elif aim == "scoring":
            hit = (event == "state" and data["step"]["id"] != who.step
                   and who.step != "wrap_up")
        else:
            return
        if not hit:
            return
        with self._mu:
            if (not self.aims or self.aims[0] != aim
                    or time.monotonic() - self._last < self.gap_s
                    or sum(w.alive for w in self.workers) < 2):
                return
            self.aims.pop(0)
            worker.kill()
            self._last = time.monotonic()
            kill: dict[str, Any] = {"aim": aim, "sid": who.sid, "step": who.step,
                                    "text": who.turns[-1].text if who.turns else ""}
            if aim == "scoring":  # the worker is dead: its score of the step is there or not
                kill["score_missing"] = who.step not in _scored_steps(self.url, who.sid)
            self.kills.append(kill)
            restart = threading.Thread(target=self._restart, args=(worker,))
            self._restarts.append(restart)
            restart.start()

    def _restart(self, worker: Worker) -> None:
        began = time.monotonic()
        worker.start()
        self.restart_s.append(time.monotonic() - began)

    def join(self) -> None:
        for t in self._restarts:
            t.join(120)


def test_three_workers_serve_concurrent_interviews_and_a_killed_one_loses_nothing(
        tmp_path: Path, pg_cluster: Any) -> None:
    """Three workers, INTERVIEWS offline interviews at once, each request to a random live
    worker; up to six workers killed -9 (mid-stream, and just after a step ended, while its
    score is computed: at least two of each) and restarted. Every answer is recorded exactly
    once and in order, every interview finishes on the other workers, and every report is
    complete and the same as an untroubled interview's with the same answers."""
    url = pg_cluster.create_database()
    workers = [Worker(tmp_path / f"worker{i}", url) for i in range(3)]
    candidates: list[Candidate] = []
    try:
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda w: w.start(), workers))
        plan = KillPlan(url, workers, KILLS, gap_s=1.0)
        lb = Balancer(workers, seed=12)
        candidates += [Candidate(lb, plan.hook, name=f"candidate{i}") for i in range(INTERVIEWS)]

        def hold(i: int) -> dict[str, Any]:
            rng = random.Random(i)
            time.sleep(rng.uniform(0, 2))  # candidates arrive over two seconds
            return candidates[i].interview(CASES[i % len(CASES)], INTERVIEW_BLOCKS,
                                           think=lambda: rng.uniform(0.5, 2.0))

        began = time.monotonic()
        with ThreadPoolExecutor(INTERVIEWS) as pool:
            finals = list(pool.map(hold, range(INTERVIEWS)))
        took = time.monotonic() - began
        plan.join()

        for c, final in zip(candidates, finals, strict=True):
            assert final["status"] == "completed", (c.name, final["step"])
            assert _answers(final) == INTERVIEW_BLOCKS, (c.name, _answers(final))
            assert final["pending"] is None and not final["needs_recovery"]

        # Reports: complete, and the same for every interview of a case (offline scoring is
        # deterministic), whether or not a worker died before a step's score was saved.
        overall: dict[str, set[Any]] = {}
        for i, c in enumerate(candidates):
            report = c.get(f"/api/sessions/{c.sid}/report")
            assert report["status"] == "completed" and report["overall"] is not None
            assert all(s["status"] == "scored" and s["score"] is not None
                       for s in report["steps"]), [(s["step"], s["status"])
                                                   for s in report["steps"]]
            overall.setdefault(CASES[i % len(CASES)], set()).add(
                (report["overall"], tuple(s["score"] for s in report["steps"])))
        assert all(len(v) == 1 for v in overall.values()), overall

        # Each kill waits for a moment of its kind and for two workers serving; a loaded
        # machine restarts a worker in 5-15 s, so the last planned kill may find the
        # interviews over. At least two of each kind must land.
        aimed = Counter(k["aim"] for k in plan.kills)
        assert aimed["stream"] >= 2 and aimed["scoring"] >= 2, (
            plan.kills, f"the run ended after {took:.0f} s", plan.restart_s)
        missing = sum(1 for k in plan.kills if k.get("score_missing"))
        turns = [t for c in candidates for t in c.turns]
        cut = sum(t.cut_off for t in turns)
        assert cut >= aimed["stream"], "a kill mid-stream cuts that stream off"
        for w in workers:
            assert "Traceback" not in w.stderr(), w.stderr()[-3000:]
        seconds = [t.seconds for t in turns]
        print(f"\n[3 workers, PostgreSQL] {INTERVIEWS} interviews, {len(turns)} turns in "
              f"{took:.1f} s; {len(plan.kills)} kill -9 ({aimed['stream']} mid-stream, "
              f"{aimed['scoring']} after a step ended: {missing} before its score was saved); "
              f"{cut} streams cut off, {sum(t.recovered for t in turns)} turns finished by "
              f"/recover on another worker, {sum(t.attempts > 1 for t in turns)} sent more "
              f"than once; per turn p95 {pct(seconds, 95):.2f} s, max {max(seconds):.2f} s; "
              f"worker restart {max(plan.restart_s):.1f} s at most")
    finally:
        for c in candidates:
            c.close()
        for w in workers:
            w.stop()
        pg_cluster.drop_database(url)


class HeldJudge:
    """The fake endpoint's scripted replies, with judge calls held while ``holding`` is set
    (``judging`` says one is waiting) until ``release``."""

    def __init__(self) -> None:
        self.holding = threading.Event()
        self.judging = threading.Event()
        self.release = threading.Event()

    def __call__(self, body: dict[str, Any]) -> str | dict[str, Any] | None:
        import json

        from evals.fake_responder import interviewer_responder

        if self.holding.is_set() and "JudgeOut" in json.dumps(body.get("response_format")):
            self.judging.set()
            self.release.wait(60)
        return interviewer_responder(body)


def test_a_worker_killed_while_judging_a_step_leaves_the_score_to_the_next_report(
        tmp_path: Path, pg_url: str) -> None:
    """With a model judge, a finished step is judged in the background after the reply. The
    worker doing it is killed -9 while the judge call is in flight: no score is saved, the
    interview carries on on the other workers, and the report (asked of another worker) judges
    the step then, complete and by the judge."""
    from evals.fake_endpoint import FakeEndpoint

    judge = HeldJudge()
    served_by: list[Worker] = []

    def hook(who: Candidate, worker: Worker, event: str, data: dict[str, Any]) -> None:
        if event == "done":
            served_by.append(worker)

    with FakeEndpoint(responder=judge) as ep:
        model = ("--base-url", ep.url, "--model", "fake-model")
        # The database named by the flag this time, not the environment.
        workers = [Worker(tmp_path / f"worker{i}", None, "--database-url", pg_url, *model)
                   for i in range(3)]
        candidate: Candidate | None = None
        try:
            with ThreadPoolExecutor(3) as pool:
                list(pool.map(lambda w: w.start(), workers))
            candidate = Candidate(Balancer(workers, seed=5), hook, name="judged")
            candidate.begin(CASES[0])
            end = INTERVIEW_BLOCKS.index("/next")  # the turn that finishes diagnose
            for text in INTERVIEW_BLOCKS[:end]:
                candidate.say(text)
            judge.holding.set()
            candidate.say(INTERVIEW_BLOCKS[end])
            assert judge.judging.wait(60), "the finished step was never sent to the judge"
            finished = "diagnose"
            assert finished not in _scored_steps(pg_url, candidate.sid)
            served_by[-1].kill()                 # mid-scoring: the judge call in flight
            judge.holding.clear()
            judge.release.set()
            assert finished not in _scored_steps(pg_url, candidate.sid)
            for text in INTERVIEW_BLOCKS[end + 1:]:
                candidate.say(text)
                if candidate.view()["status"] == "completed":
                    break
            view = candidate.view()
            assert view["status"] == "completed" and _answers(view) == INTERVIEW_BLOCKS
            report = candidate.get(f"/api/sessions/{candidate.sid}/report")
            step = next(s for s in report["steps"] if s["step"] == finished)
            assert step["status"] == "scored" and step["scorer"] == "llm", step
            assert step["fallback"] is None and step["score"] is not None
            assert all(s["score"] is not None for s in report["steps"])
            assert finished in _scored_steps(pg_url, candidate.sid)
            for w in workers:
                assert "Traceback" not in w.stderr(), w.stderr()[-3000:]
        finally:
            judge.release.set()
            if candidate is not None:
                candidate.close()
            for w in workers:
                w.stop()


def test_workers_on_other_machines_share_the_cookie_key_through_the_database(
        tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With PostgreSQL and no INTERVIEWER_WEB_SECRET, the cookie key is kept in the database:
    workers with different home directories sign alike; the first one seeds it from its own
    home's key (browsers keep the sessions a single worker gave them); SQLite keeps the file."""
    from agent.storage import open_storage
    from agent.web.security import load_secret

    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    (first / "web-secret").write_text("the-key-this-machine-had-before\n")
    with open_storage(pg_url) as store:
        assert load_secret(first, store) == "the-key-this-machine-had-before"
    with open_storage(pg_url) as store:
        assert load_secret(second, store) == "the-key-this-machine-had-before"
    assert not (second / "web-secret").exists()
    monkeypatch.setenv("INTERVIEWER_WEB_SECRET", "from-the-environment")
    with open_storage(pg_url) as store:
        assert load_secret(second, store) == "from-the-environment"
    monkeypatch.delenv("INTERVIEWER_WEB_SECRET")
    with open_storage(tmp_path / "local.db") as store:
        local = load_secret(second, store)
    assert local == (second / "web-secret").read_text() != "the-key-this-machine-had-before"


def _refused(r: httpx.Response) -> tuple[int, str, str]:
    body = r.json()
    return r.status_code, body["error"]["code"], body["error"]["message"]


def test_a_database_restart_mid_interview_is_a_clear_message_and_the_session_resumes(
        tmp_path: Path, own_cluster: Cluster) -> None:
    """PostgreSQL stops while candidates are mid-interview on three workers: a turn sent while
    it is down is refused with a plain message (503, JSON; the page says it), nothing is
    recorded twice; a turn in flight when it stops waits for it and says so; once it is back
    every session carries on from where it was, on any worker, to a complete report."""
    from evals.fake_endpoint import FakeEndpoint
    from tests.test_crashes import Stall

    url = own_cluster.create_database()
    stall = Stall("SLOW-MARKER", 30)
    down = False
    with FakeEndpoint(responder=stall, latency_ms=5) as ep:
        model = ("--base-url", ep.url, "--model", "fake-model")
        workers = [Worker(tmp_path / f"worker{i}", url, *model,
                          INTERVIEWER_DATABASE_WAIT="45") for i in range(3)]
        try:
            with ThreadPoolExecutor(3) as pool:
                list(pool.map(lambda w: w.start(), workers))
            lb = Balancer(workers, seed=3)
            first, second = Candidate(lb, name="first"), Candidate(lb, name="second")
            first.begin(CASES[0])
            second.begin(CASES[0])
            blocks = INTERVIEW_BLOCKS
            for text in blocks[:2]:
                first.say(text)
                second.say(text)
            seq = first.view()["seq"]

            # 1. Down between turns: a turn, a view and a page are refused in plain words.
            own_cluster.server_stop("fast")
            down = True
            w = lb.pick()
            r = first.http.post(f"{w.url}/api/sessions/{first.sid}/turn",
                                json={"answer": blocks[2], "seq": seq},
                                headers={"X-CSRF-Token": first.csrf})
            status, code, message = _refused(r)
            assert (status, code) == (503, "database_unavailable"), r.text
            assert "database is not answering" in message and "saved" in message
            assert url.split("@")[1] not in message  # where the database is stays private
            page = first.http.get(f"{lb.pick().url}/s/{first.sid}")
            assert page.status_code == 503 and "database is not answering" in page.text
            assert "Traceback" not in page.text
            own_cluster.server_start()
            down = False
            first.say(blocks[2])  # the page sends it again: recorded once

            # 2. Down mid-turn: the answer is saved and the reply waits for the server.
            slow = f"{blocks[2]} SLOW-MARKER"
            done: dict[str, Any] = {}
            mid = threading.Thread(target=lambda: done.update(turn=second.say(slow)))
            mid.start()
            assert stall.hit.wait(60), "the turn never reached the model"
            own_cluster.server_stop("fast")
            down = True
            stall.release.set()          # the reply arrives; saving it finds no server
            time.sleep(3)
            own_cluster.server_start()
            down = False
            mid.join(120)
            assert "turn" in done, "the turn in flight never finished"
            assert any("not answering (restarting?); waiting for it" in m
                       for m in second.messages), second.messages

            # 3. Both sessions go on to the end, on any worker.
            for c, rest in ((first, blocks[3:]), (second, blocks[3:])):
                for text in rest:
                    c.say(text)
                    if c.view()["status"] == "completed":
                        break
            assert _answers(first.view()) == blocks
            assert _answers(second.view()) == [*blocks[:2], slow, *blocks[3:]]
            for c in (first, second):
                report = c.get(f"/api/sessions/{c.sid}/report")
                assert report["status"] == "completed" and all(
                    s["score"] is not None for s in report["steps"])
                c.close()
            for w in workers:
                assert "Traceback" not in w.stderr(), w.stderr()[-3000:]
            assert any("database" in w.stderr() for w in workers)  # said once, in the log
        finally:
            stall.release.set()
            for w in workers:
                w.stop()
            if down:
                own_cluster.server_start()
    own_cluster.drop_database(url)


def test_behind_a_load_balancer_https_pages_pass_the_same_origin_check(tmp_path: Path) -> None:
    """A load balancer ending TLS sends the browser's https Origin and its public Host over
    plain HTTP: with --forwarded-allow-ips naming it, its X-Forwarded-Proto is believed and a
    POST from the page passes; another site is still refused. Without the flag the same
    request is refused (the loopback host check), and the flag without a token refuses to
    start."""
    from tests.conftest import run_cli

    token = "correct-horse-battery-staple-42"
    out = run_cli(tmp_path / "h", "serve", "--port", "0", "--forwarded-allow-ips", "127.0.0.1")
    assert out.returncode == 1 and "needs an access token" in out.stderr, out.stderr
    proxied = Worker(tmp_path / "proxied", None, "--forwarded-allow-ips", "127.0.0.1",
                     INTERVIEWER_WEB_TOKEN=token)
    plain = Worker(tmp_path / "plain", None, INTERVIEWER_WEB_TOKEN=token)
    site = "interviews.example.com"
    headers = {"Host": site, "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7",
               "Authorization": f"Bearer {token}"}
    try:
        for w in (proxied, plain):
            w.start()
        with httpx.Client(base_url=proxied.url, headers=headers) as http:
            csrf = http.get("/api/me").json()["csrf"]
            r = http.post("/api/sessions", json={"case_id": CASES[0]},
                          headers={"X-CSRF-Token": csrf, "Origin": f"https://{site}"})
            assert r.status_code == 201, r.text
            r = http.post("/api/sessions", json={"case_id": CASES[0]},
                          headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"})
            assert r.status_code == 403 and r.json()["error"]["code"] == "csrf"
        with httpx.Client(base_url=plain.url, headers=headers) as http:
            assert http.get("/api/me").status_code == 400  # not a name of this machine
    finally:
        for w in (proxied, plain):
            w.stop()


def test_a_turn_on_a_session_busy_on_another_worker_waits_then_is_told_so(
        pg_url: str) -> None:
    """Two workers (two apps, each its own engine and connections) over one PostgreSQL: while
    one runs a turn of a session (its model call held), a turn of the same session on the other
    waits the lock's time, then gets 409 busy in plain words; once the first is done, the
    other worker takes the next turn, and both answers are recorded once."""
    from agent.config import Settings
    from evals.fake_endpoint import FakeEndpoint
    from tests.test_crashes import Stall
    from tests.test_web_serve import _cookie_client
    from tests.webapp import TurnRefused, served, spoken

    stall = Stall("HOLD-THIS-TURN", 30)
    with FakeEndpoint(responder=stall) as ep:
        settings = Settings(base_url=ep.url, model="fake-model")
        with served(settings, db=pg_url, lock_wait_s=1.0) as a, \
                served(settings, db=pg_url, lock_wait_s=1.0) as b:
            first = a.client()
            sid = first.start()
            second = _cookie_client(b.url, first.http.cookies, first.csrf)
            held = "Is this real-time inference? HOLD-THIS-TURN"
            turn = threading.Thread(target=first.say, args=(sid, held))
            try:
                turn.start()
                assert stall.hit.wait(30)
                began = time.monotonic()
                with pytest.raises(TurnRefused) as refused:
                    second.turn(sid, seq=0, answer="What latency do they promise?")
                waited = time.monotonic() - began
                assert refused.value.status == 409 and refused.value.code == "busy"
                assert "taking another turn" in refused.value.body["error"]["message"]
                assert waited >= 1.0, waited
            finally:
                stall.release.set()
                turn.join(60)
            assert spoken(second.say(sid, "What latency do they promise?"))
            answers = [t["text"] for t in second.view(sid)["turns"] if t["kind"] == "answer"]
            assert answers == [held, "What latency do they promise?"]
            first.close()
            second.close()
