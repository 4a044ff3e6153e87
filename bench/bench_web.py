"""The web app's latency as a browser sees it, over HTTP on loopback.

Starts ``interviewer serve --port 0`` (offline, one worker process, a temporary
INTERVIEWER_HOME) and measures, from a client process:

1. **First streamed byte of the interviewer's reply** after an answer is submitted: from sending
   the POST to the arrival of the first ``say`` event of the SSE stream (target <= 50 ms).
   Measured on one session at a time, over the turns of full scripted interviews.
2. **20 concurrent sessions on one worker**: 20 clients (each its own cookie) hold whole
   interviews at once, each sending its next answer as soon as the previous reply is done (no
   thinking time: harsher than real candidates). Per turn: POST to the stream's ``done``
   (target p95 <= 500 ms); throughput in turns per second; the server's CPU time per turn
   (which other processes on a shared machine do not stretch). Then the same with 1-3 s of
   thinking before each answer, closer to real candidates (who think for minutes).

Prints figures; asserts nothing unless ``--check`` (exit 1 when a target is missed).

Run from the project root:  python bench/bench_web.py [--sessions 20] [--check]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent

if str(ROOT) not in sys.path:  # run as a plain script from a checkout
    sys.path.insert(0, str(ROOT))

from tests.helpers import INTERVIEW_BLOCKS  # noqa: E402  (the suites' own piped interview)

#: One offline interview, as a candidate would type it (answers and /next).
SCRIPT = INTERVIEW_BLOCKS
CASES = ["fintech-p99-spikes", "llama70b-2x-latency", "batch-inference-cost"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


class Browser:
    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=120)
        self.http.get("/")
        self.csrf = self.http.get("/api/me").json()["csrf"]
        self.seq = 0

    def start(self, case: str) -> str:
        r = self.http.post("/api/sessions", json={"case_id": case, "mode": "exam"},
                           headers={"X-CSRF-Token": self.csrf})
        r.raise_for_status()
        self.seq = 0
        sid: str = r.json()["id"]
        return sid

    def turn(self, sid: str, text: str) -> tuple[float | None, float, bool]:
        """(seconds to the first `say`, seconds to `done`, whether the interview finished)."""
        body: dict[str, Any] = ({"command": text[1:]} if text.startswith("/")
                                else {"answer": text})
        started = time.perf_counter()
        first = None
        finished = False
        event = ""
        with self.http.stream("POST", f"/api/sessions/{sid}/turn", json={**body, "seq": self.seq},
                              headers={"X-CSRF-Token": self.csrf}) as r:
            if r.status_code != 200:
                r.read()
                raise RuntimeError(f"turn refused: {r.status_code} {r.text}")
            for line in r.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                    if event == "say" and first is None:
                        first = time.perf_counter() - started
                elif line.startswith("data: ") and event == "state":
                    state = json.loads(line[6:])
                    self.seq = state["seq"]
                    finished = state["status"] == "completed"
        return first, time.perf_counter() - started, finished

    def interview(self, case: str, think: tuple[float, float] = (0, 0),
                  seed: int = 0) -> list[tuple[float | None, float]]:
        import random

        rng = random.Random(seed)
        sid = self.start(case)
        out = []
        for text in SCRIPT:
            if think[1]:
                time.sleep(rng.uniform(*think))
            first, total, finished = self.turn(sid, text)
            out.append((first, total))
            if finished:
                break
        return out


def serve(home: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "INTERVIEWER_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    for name in ("INTERVIEWER_BASE_URL", "INTERVIEWER_MODEL", "INTERVIEWER_API_KEY",
                 "OPENAI_API_KEY", "FIREWORKS_API_KEY"):
        env.pop(name, None)
    proc = subprocess.Popen([sys.executable, "-m", "agent", "serve", "--port", "0"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "serving" not in line:
        proc.kill()
        raise SystemExit(f"bench_web: the server did not start: {line!r}")
    return proc, line.split("serving ", 1)[1].split(" ", 1)[0].rstrip("/")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def concurrent(url: str, pid: int, sessions: int,
               think: tuple[float, float]) -> dict[str, float]:
    """``sessions`` whole interviews at once; per-turn figures in ms."""
    results: list[list[tuple[float | None, float]]] = []
    errors: list[BaseException] = []
    browsers = [Browser(url) for _ in range(sessions)]
    gate = threading.Barrier(sessions)

    def run(i: int) -> None:
        try:
            gate.wait()
            results.append(browsers[i].interview(CASES[i % len(CASES)], think, seed=i))
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(sessions)]
    cpu0, started = cpu_seconds(pid), time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu0
    if errors:
        raise SystemExit(f"bench_web: {len(errors)} sessions failed: {errors[0]}")
    turns = [total for r in results for _, total in r]
    firsts = [f for r in results for f, _ in r if f is not None]
    return {"turns": len(turns), "wall": wall, "median": statistics.median(turns) * 1000,
            "p95": pct(turns, 95) * 1000, "max": max(turns) * 1000,
            "first95": pct(firsts, 95) * 1000, "cpu": cpu / len(turns) * 1000}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=20, help="concurrent sessions (default 20)")
    ap.add_argument("--interviews", type=int, default=3,
                    help="sequential interviews for the first-byte figure (default 3)")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        proc, url = serve(Path(tmp))
        try:
            warm = Browser(url)
            warm.interview(CASES[0])  # first-use costs (lazy imports, caches) are not turns
            firsts: list[float] = []
            totals: list[float] = []
            for i in range(args.interviews):
                for first, total in warm.interview(CASES[i % len(CASES)]):
                    totals.append(total)
                    if first is not None:
                        firsts.append(first)
            fb50, fb95 = statistics.median(firsts) * 1000, pct(firsts, 95) * 1000
            print(f"first streamed byte of the reply, one session: median {fb50:.1f} ms, "
                  f"p95 {fb95:.1f} ms, max {max(firsts) * 1000:.1f} ms over {len(firsts)} "
                  "turns (target <= 50 ms)")
            print(f"whole turn, one session: median {statistics.median(totals) * 1000:.1f} ms")

            p95 = 0.0
            for label, think in (("back to back", (0.0, 0.0)), ("1-3 s thinking", (1.0, 3.0))):
                figures = concurrent(url, proc.pid, args.sessions, think)
                p95 = p95 or figures["p95"]
                print(f"{args.sessions} concurrent sessions on one worker, {label}: "
                      f"{figures['turns']} turns in {figures['wall']:.1f} s "
                      f"({figures['turns'] / figures['wall']:.0f} turns/s); per turn median "
                      f"{figures['median']:.0f} ms, p95 {figures['p95']:.0f} ms, max "
                      f"{figures['max']:.0f} ms (target p95 <= 500 ms); first byte p95 "
                      f"{figures['first95']:.0f} ms; server CPU {figures['cpu']:.1f} ms a turn")
            print(f"load average {os.getloadavg()[0]:.1f} after the run")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    missed = fb50 > 50 or p95 > 500
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
