"""evals/progress.py: counts, failures and an ETA on stderr -- a bar on a terminal, a plain line
every few seconds elsewhere, nothing with --quiet."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from evals import progress as prog
from evals.fake_endpoint import FakeEndpoint
from evals.fake_responder import interviewer_responder
from tests.conftest import ROOT, run_cli

DEV = ROOT / "evals" / "datasets" / "dev.jsonl"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(prog.time, "monotonic", c)
    return c


def test_eta_counts_only_work_done_by_this_process(clock: Clock) -> None:
    out = io.StringIO()
    # 40 of 100 tasks were done by an earlier, interrupted run: they took no time here.
    with prog.Progress("eval run", 100, completed=40, stream=out, interval=3600) as bar:
        assert bar.eta() is None and "ETA unknown" in bar.text()
        clock.now += 10
        bar.advance(5)
        bar.advance(5, failed=1)
        # 10 tasks in 10 s here, 50 left -> 50 s (not 60 tasks in 10 s -> 8 s).
        assert bar.eta() == pytest.approx(50.0)
        assert bar.text() == ("eval run: 50/100 tasks (50%), 1 failed, 10 s elapsed, "
                              "ETA 50 s")
        clock.now += 50
        bar.advance(50)
    lines = out.getvalue().splitlines()
    assert lines[0] == "eval run: 40/100 tasks (40%), 0 failed, 0 s elapsed, ETA unknown"
    assert lines[-1] == "eval run: done: 100/100 tasks (100%), 1 failed, 1 min 00 s elapsed"


def test_plain_lines_come_every_interval_without_any_progress(clock: Clock) -> None:
    """A stalled run still says it is alive (and how far it got)."""
    out = io.StringIO()
    with prog.Progress("eval run", 7, stream=out, interval=0.02, unit="requests") as bar:
        bar.update(status="batch in_progress", completed=3, failed=1)
        for _ in range(200):
            if len(out.getvalue().splitlines()) >= 3:
                break
            prog.threading.Event().wait(0.01)
    text = out.getvalue()
    assert "eval run: batch in_progress, 3/7 requests (42%), 1 failed" in text
    assert len(text.splitlines()) >= 3


def test_a_terminal_gets_a_bar_and_quiet_gets_nothing(clock: Clock) -> None:
    tty = Tty()
    with prog.Progress("eval run", 20, stream=tty, unit="scoring tasks") as bar:
        assert bar.bar
        bar.advance(7, failed=2)
    shown = tty.getvalue()
    assert "7/20" in shown and "2 failed" in shown and "ETA" in shown
    quiet = Tty()
    with prog.Progress("eval run", 20, stream=quiet, quiet=True) as bar:
        bar.advance(20)
    assert quiet.getvalue() == ""


def test_paused_stops_the_thread_and_resumes_it(clock: Clock) -> None:
    out = io.StringIO()
    with prog.Progress("x", 3, stream=out, interval=0.01) as bar:
        with bar.paused():
            assert bar._ticker is None
            # (other tests' threads may still be alive in this process: look for ours)
            assert not [t for t in prog.threading.enumerate() if t.name == "eval-progress"]
        assert bar._ticker is not None and bar._ticker.is_alive()


@pytest.mark.parametrize(("env", "want"), [("", 5.0), ("0.5", 0.5), ("-1", 5.0), ("x", 5.0),
                                           ("nan", 5.0)])
def test_interval_from_the_environment(monkeypatch: pytest.MonkeyPatch, env: str,
                                       want: float) -> None:
    monkeypatch.setenv("INTERVIEWER_PROGRESS_INTERVAL", env)
    assert prog.interval_from_env() == want


def test_duration_reads_well() -> None:
    assert [prog.duration(s) for s in (0.4, 59, 61, 3599, 3725)] == [
        "0 s", "59 s", "1 min 01 s", "59 min 59 s", "1 h 02 min"]


# -- the CLI, with stderr a pipe as in CI ------------------------------------------------------

LINE = re.compile(r"^eval run: (?:[^,]+, )?(?:done: )?(\d+)/(\d+) scoring tasks \(llm\) "
                  r"\(\d+%\), (\d+) failed, .* elapsed", re.M)


def test_eval_run_prints_progress_lines_when_not_a_terminal(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "three.jsonl"
    data.write_text("".join(DEV.read_text().splitlines(keepends=True)[:3]))
    args = ["eval", "run", str(data), "--scorer", "llm", "--cache", "off", "--model",
            "fake-model", "--concurrency", "1", "--bootstrap", "0"]
    with FakeEndpoint(latency_ms=40, responder=interviewer_responder) as ep:
        res = run_cli(home, *args, "--output", str(tmp_path / "r.json"), "--base-url", ep.url,
                      INTERVIEWER_PROGRESS_INTERVAL="0.2")
        assert res.returncode == 0, res.stderr
        seen = [tuple(map(int, m)) for m in LINE.findall(res.stderr)]
        assert len(seen) >= 3, res.stderr           # start, at least one tick, the end
        assert seen[0] == (0, 21, 0) and seen[-1] == (21, 21, 0)
        assert any(0 < done < 21 for done, _, _ in seen), res.stderr
        assert "ETA" in res.stderr and "\x1b[" not in res.stderr  # plain text, no escapes
        assert "scoring tasks" not in res.stdout    # stdout keeps only the summary
        quiet = run_cli(home, *args, "--output", str(tmp_path / "q.json"), "--quiet",
                        "--base-url", ep.url, INTERVIEWER_PROGRESS_INTERVAL="0.2")
    assert quiet.returncode == 0, quiet.stderr
    assert not LINE.search(quiet.stderr) and "eval run:" not in quiet.stderr


def test_behaviour_and_simulate_show_progress_too(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "two.jsonl"
    data.write_text("".join(DEV.read_text().splitlines(keepends=True)[:2]))
    res = run_cli(home, "eval", "behaviour", str(data))
    assert res.returncode == 0, res.stderr
    assert res.stderr.splitlines()[0].startswith("eval behaviour: 0/2 interviews replayed (0%)")
    assert "eval behaviour: done: 2/2 interviews replayed (100%), 0 failed" in res.stderr
    assert "eval behaviour:" not in run_cli(home, "eval", "behaviour", str(data),
                                            "--quiet").stderr
    res = run_cli(home, "eval", "simulate", "--cases", "fintech-p99-spikes", "--quiet")
    assert res.returncode == 0 and res.stderr == "", res.stderr
    res = run_cli(home, "eval", "simulate", "--cases", "fintech-p99-spikes")
    assert "eval simulate: done: 4/4 interviews (100%), 0 failed" in res.stderr
