"""A whole interview and an LLM eval against a slow server that serves one request at a time.

Issue 17's "done" figure: against a serial server taking ``--call-delay-s`` (default 2 s) per
call, a piped interview completes and its report is ready within (judge calls x call time) of
the last answer; ``eval run --scorer llm`` completes too. The server is the loopback fake
endpoint with ``--quirks`` (default llamacpp: json_schema refused with HTTP 500, no usage in
streams, serial) and the scripted interview model; the interview is the CLI's own, piped.

It prints, for the interview: wall time, model calls by purpose, how long interviewer requests
waited for the server (at most one call in flight ahead of them: judging waits for turns), the
judge calls still to run after the last answer, and the report's delay against the bound; for
the eval: wall time against calls x call time. Nothing is asserted unless ``--check`` (exit 1
when the report misses the bound or anything failed).

Run from the project root:  python bench/bench_serial.py [--help]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from a checkout
    sys.path.insert(0, str(ROOT))

ENDPOINT_ENV = (
    "INTERVIEWER_BASE_URL", "INTERVIEWER_API_KEY", "INTERVIEWER_MODEL", "INTERVIEWER_PROVIDER",
    "INTERVIEWER_API_KEY_FILE", "INTERVIEWER_FALLBACK_MODEL", "OPENAI_API_KEY",
    "FIREWORKS_API_KEY", "OPENAI_BASE_URL",
)


def purpose(body: dict[str, Any]) -> str:
    from evals.fake_responder import _schema_title

    if body.get("stream"):
        return "interviewer"
    title = _schema_title(body)
    if title is None and body.get("response_format") is None:
        title = "?"
    return {"FactSelection": "interviewer", "AssessmentOut": "assessment",
            "JudgeOut": "judge"}.get(title or "", "other")


def refused(log: list[dict[str, Any]], quirks: str) -> int:
    """Requests the server refused for their response_format (answered at once, no compute)."""
    from evals.fake_servers import QUIRKS

    return sum(1 for r in log if QUIRKS[quirks].refusal(r["body"].get("response_format")))


def cli(home: Path, *args: str, stdin: str = "", timeout: float = 1800
        ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ENDPOINT_ENV}
    env.update({"INTERVIEWER_HOME": str(home), "PYTHONUNBUFFERED": "1", "COLUMNS": "100",
                "TERM": "dumb", "NO_COLOR": "1"})
    return subprocess.run([sys.executable, "-m", "agent", *args], input=stdin, text=True,
                          capture_output=True, timeout=timeout, env=env, cwd=ROOT, check=False)


def main(argv: list[str] | None = None) -> int:
    from evals.fake_endpoint import FakeEndpoint
    from evals.fake_responder import interviewer_responder
    from evals.fake_servers import QUIRKS
    from tests.helpers import INTERVIEW_BLOCKS, stdin_of

    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quirks", choices=list(QUIRKS), default="llamacpp")
    p.add_argument("--call-delay-s", type=float, default=2.0)
    p.add_argument("--items", type=int, default=1, help="interviews in the eval run")
    p.add_argument("--check", action="store_true")
    args = p.parse_args(argv)
    d = args.call_delay_s
    print(f"load average {os.getloadavg()[0]:.1f}; server: --quirks {args.quirks} (serial: "
          f"{QUIRKS[args.quirks].serial}), {d:g} s per call")
    ok = True
    with tempfile.TemporaryDirectory() as tmp, FakeEndpoint(
            responder=interviewer_responder, quirks=args.quirks, call_delay_s=d) as ep:
        home = Path(tmp) / "home"
        began = time.perf_counter()
        out = cli(home, "chat", "--case", "fintech-p99-spikes", "--base-url", ep.url,
                  "--model", "fake-model", stdin=stdin_of(INTERVIEW_BLOCKS))
        wall = time.perf_counter() - began
        log = ep.requests
        m = re.search(r"Feedback ready ([\d.]+) s after your last answer", out.stdout)
        if out.returncode != 0 or m is None:
            print("interview FAILED:", out.stdout[-2000:], out.stderr[-2000:])
            return 2
        ready = float(m.group(1))
        by: dict[str, list[dict[str, Any]]] = {}
        for r in log:
            by.setdefault(purpose(r["body"]), []).append(r)
        judge = by.get("judge", [])
        speech = by.get("interviewer", []) + by.get("assessment", [])
        last_turn = max(r["time"] for r in speech)
        after = [r for r in judge if r["time"] > last_turn]
        bound = len(judge) * d
        waits = sorted(r.get("queued_s", 0.0) for r in speech)
        print(f"interview: {wall:.1f} s wall; {len(log)} requests ("
              + ", ".join(f"{k} {len(v)}" for k, v in sorted(by.items())) + ")")
        print(f"  interviewer requests waited for the server: median {waits[len(waits) // 2]:.2f}"
              f" s, max {waits[-1]:.2f} s (one call is {d:g} s)")
        print(f"  judge calls: {len(judge)}, of which {len(after)} ran after the last answer")
        print(f"  report ready {ready:.2f} s after the last answer; bound (judge calls x call "
              f"time) {bound:.1f} s -> {ready / bound if bound else 0:.2f} of the bound")
        ok &= ready <= bound
        results = Path(tmp) / "eval.json"
        began = time.perf_counter()
        ev = cli(home, "eval", "run", str(ROOT / "evals" / "datasets" / "dev.jsonl"),
                 "--scorer", "llm", "--base-url", ep.url, "--model", "fake-model", "--limit",
                 str(args.items), "--bootstrap", "0", "--quiet", "--output", str(results))
        took = time.perf_counter() - began
        calls = len(ep.requests) - len(log)
        if ev.returncode != 0:
            print("eval FAILED:", ev.stdout[-2000:], ev.stderr[-2000:])
            return 2
        data = json.loads(results.read_text())
        computed = calls - refused(ep.requests[len(log):], args.quirks)
        scoring = float(data["timing"]["seconds"])
        print(f"eval run --scorer llm ({args.items} interview{'s' if args.items > 1 else ''}): "
              f"{took:.1f} s wall, scoring {scoring:.1f} s (the rest is start-up and the "
              f"analysis); {calls} requests, {computed} of them computed x {d:g} s = "
              f"{computed * d:.1f} s ideal on a serial server -> scoring "
              f"{scoring / (computed * d):.2f}x ideal; failed items "
              f"{data['failures']['items']}, unscored criteria "
              f"{data['metrics']['unscored_criteria']}")
        ok &= data["failures"]["items"] == 0
    if args.check and not ok:
        print("CHECK FAILED")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
