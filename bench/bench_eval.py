"""The eval runner against a loopback model endpoint with injected latency.

(a) Concurrency: the LLM judge scores ``--items`` interviews (seven judge tasks each) through
    ``evals.runner.Run`` with ``--concurrency`` workers against evals/fake_endpoint.py replying
    after ``--latency-ms``. The ideal wall time is requests x latency / concurrency; the ratio
    wall / ideal shows what the runner adds (target <= 1.2).
(b) Replay vs live: the same run recorded to a call cache (``cache_mode="record"``), then
    replayed (``cache_mode="replay"``) with the endpoint stopped, so replay cannot touch the
    network. Prints the speed-up (target >= 100x) and whether every item's predicted step and
    criterion levels are identical.

Timed: ``Run.execute()``'s scoring phase (its own ``results["timing"]["seconds"]``: from the
start of execute() until every task is done), which leaves out building the Run (dataset, rubrics)
and the results assembly and metrics analysis after scoring; the whole execute() is printed too.
The tiktoken encoder is loaded before anything is timed. Prints figures; asserts nothing about
timing unless ``--check`` is given (exit 1 when a target is missed). Exit 2 on a real error:
scoring failures, or a replay whose levels differ from the recording.

(c)-(e) The harness at scale (bench/eval_targets.py): analysis of 1,000 interviews x 1,000
    resamples (target <= 3 s), an offline eval of 1,000 interviews end to end (<= 15 s), and an
    LLM-judge eval of >= 1,000 calls at 200 ms latency and concurrency 16 end to end, process
    start and analysis included (wall/ideal <= 1.2). ``--only`` picks sections.

Run from the project root:  python bench/bench_eval.py [--help]
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.cache import CacheMode
    from agent.config import Settings

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from a checkout
    sys.path.insert(0, str(ROOT))

TARGET_RATIO = 1.2
TARGET_SPEEDUP = 100.0
SECTIONS = ("live", "analysis", "offline", "judge")
DEFAULT_DATASET = ROOT / "evals" / "datasets" / "dev.jsonl"


@dataclass
class Timed:
    label: str
    results: dict[str, Any]
    scoring_s: float
    """Run.execute()'s scoring phase (results["timing"]["seconds"])."""
    execute_s: float
    """The whole Run.execute() call, results assembly and metrics analysis included."""
    requests: int
    """Chat requests the endpoint served during the run."""

    @property
    def usage(self) -> dict[str, Any]:
        usage: dict[str, Any] = self.results["usage"]
        return usage


def run_timed(label: str, *, dataset: Path, output: Path, settings: Settings,
              cache_mode: CacheMode, cache_file: Path | None, concurrency: int, items: int,
              served: Any = None) -> Timed:
    """One eval run; ``served()`` returns the endpoint's request count (or None: no endpoint)."""
    from evals.runner import EvalConfig, Run

    cfg = EvalConfig(dataset=dataset, output=output, scorer="llm", settings=settings,
                     cache_mode=cache_mode, cache_file=cache_file, concurrency=concurrency,
                     n_boot=0, limit=items)
    before = served() if served else 0
    run = Run(cfg)  # untimed: dataset, rubrics, cases, clients
    try:
        t0 = time.perf_counter()
        results = run.execute(progress=False)
        execute_s = time.perf_counter() - t0
    finally:
        run.close()
    after = served() if served else 0
    return Timed(label, results, float(results["timing"]["seconds"]), execute_s, after - before)


class Stopwatch:
    """Patches module attributes with timed versions (total seconds per label) while in use."""

    def __init__(self, targets: dict[str, list[tuple[Any, str]]]) -> None:
        self.targets = targets
        self.seconds: dict[str, float] = dict.fromkeys(targets, 0.0)
        self._saved: list[tuple[Any, str, Any]] = []
        self._active = threading.local()

    def _timed(self, label: str, fn: Any) -> Any:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if getattr(self._active, "on", False):  # nested (count_messages -> count)
                return fn(*args, **kwargs)
            self._active.on = True
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - t0
                self._active.on = False

        return timed

    def __enter__(self) -> Stopwatch:
        for label, places in self.targets.items():
            for owner, name in places:
                fn = getattr(owner, name)
                self._saved.append((owner, name, fn))
                setattr(owner, name, self._timed(label, fn))
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, name, fn in reversed(self._saved):
            setattr(owner, name, fn)


def replay_breakdown(common: dict[str, Any], output: Path, cache_file: Path) -> tuple[
        Timed, dict[str, float]]:
    """One more replay, on one worker, with token counting, cache keys and cache lookups
    timed (one worker, so no time is spent waiting for the GIL inside the timed calls)."""
    from agent import cache, tokens
    from agent.model import client as llm

    targets: dict[str, list[tuple[Any, str]]] = {
        "token counting (tiktoken)": [(tokens, "count"), (tokens, "count_messages"),
                                      (tokens, "truncate")],
        "cache key (json + sha256)": [(llm, "cache_key")],
        "cache lookup (sqlite)": [(cache.CallCache, "lookup")],
    }
    with Stopwatch(targets) as watch:
        t = run_timed("replay (1 worker)", output=output, cache_mode="replay",
                      cache_file=cache_file, **{**common, "concurrency": 1})
    return t, watch.seconds


def predicted_levels(results: dict[str, Any]) -> dict[str, Any]:
    """Every item's predicted step and criterion levels."""
    return {item["id"]: {
        "steps": {k: v["predicted"] for k, v in item["steps"].items()},
        "criteria": {k: v["predicted"] for k, v in item["criteria"].items()},
    } for item in results["items"]}


def failures(t: Timed) -> list[str]:
    out = []
    if t.results["failures"]["items"]:
        ids = ", ".join(t.results["failures"]["ids"][:5])
        out.append(f"{t.label}: {t.results['failures']['items']} item(s) failed to score ({ids})")
    if t.usage["failed_calls"]:
        out.append(f"{t.label}: {t.usage['failed_calls']} model call(s) failed")
    return out


def load() -> str:
    """The 1-minute load average (other work on the machine skews the timings)."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "n/a"


def live_and_replay(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """(a) concurrency and (b) replay vs live; returns (errors, missed targets)."""
    import evals.analysis  # noqa: F401  # its heavy imports (scipy, sklearn) load untimed
    from agent import tokens
    from agent.config import Settings
    from agent.judge import judge_prompt_version
    from evals.fake_endpoint import FakeEndpoint
    from evals.fake_responder import interviewer_responder

    tokens.count("warm up")  # loads the tiktoken encoder before anything is timed
    judge_prompt_version()
    latency, conc = args.latency_ms, args.concurrency
    load_before = load()
    errors: list[str] = []

    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp:
        out = Path(tmp)
        ep = FakeEndpoint(latency_ms=latency, responder=interviewer_responder).start()
        try:
            settings = Settings(base_url=ep.url, api_key="bench", model="fake-model",
                                max_retries=0)

            def served() -> int:
                return len(ep.requests)

            common: dict[str, Any] = {"dataset": args.dataset, "settings": settings,
                                      "concurrency": conc, "items": args.items}
            live = run_timed("live (cache off)", output=out / "a.json", cache_mode="off",
                             cache_file=None, served=served, **common)
            record = run_timed("live (record)", output=out / "record.json",
                               cache_mode="record", cache_file=out / "cache.sqlite",
                               served=served, **common)
        finally:
            ep.stop()
        # The endpoint is stopped: replay must answer from the recording alone. Replays are
        # short, so the best of a few is kept (each one's levels are compared).
        replays = [run_timed("replay", output=out / f"replay{i}.json", cache_mode="replay",
                             cache_file=out / "cache.sqlite", **common)
                   for i in range(args.replay_repeats)]
        replay = min(replays, key=lambda t: t.scoring_s)
        single, parts = replay_breakdown(common, out / "replay-1.json", out / "cache.sqlite")

    tasks = live.results["timing"]["tasks"]
    n_items = len(live.results["items"])
    where = args.dataset.resolve()
    shown = where.relative_to(ROOT) if where.is_relative_to(ROOT) else where
    print(f"bench_eval: {shown}, {n_items} items x 7 steps = {tasks} judge tasks; latency "
          f"{latency:g} ms; concurrency {conc}; n_boot=0")
    print("timed: Run.execute() scoring phase (Run setup, results assembly and metrics "
          "analysis excluded); 'execute' = the whole execute() call")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s), load average "
          f"{load_before} before, {load()} after")
    print()

    # -- (a) concurrency ----------------------------------------------------------------------
    calls = live.usage["calls"]
    retries = live.usage["retries"]
    ideal = live.requests * latency / 1000 / conc
    ratio = live.scoring_s / ideal if ideal else float("nan")
    print("(a) concurrency: LLM judge, cache off")
    print(f"  requests served      {live.requests}   (judge calls {calls}, retries {retries}, "
          f"failed calls {live.usage['failed_calls']})")
    if live.requests != calls + retries:
        print(f"  NOTE requests served ({live.requests}) != calls + retries ({calls + retries})")
    if calls != tasks:
        print(f"  NOTE {calls} judge calls for {tasks} tasks: the judge re-asked "
              f"{calls - tasks} time(s) (a reply it could not use: see 'levels compared')")
    print(f"  wall (scoring)       {live.scoring_s:.3f} s   (execute {live.execute_s:.3f} s)")
    print(f"  ideal                {ideal:.3f} s   = {live.requests} x {latency:g} ms / {conc}")
    waves = -(-tasks // conc) * (live.requests / tasks if tasks else 0) * latency / 1000
    print(f"  (whole waves: ceil({tasks} / {conc}) x {live.requests / tasks:g} request(s) per "
          f"task x {latency:g} ms = {waves:.3f} s)")
    ratio_ok = ratio <= TARGET_RATIO
    print(f"  ratio wall/ideal     {ratio:.2f}      target <= {TARGET_RATIO:g}: "
          f"{'met' if ratio_ok else 'MISSED'}")
    print()

    # -- (b) replay vs live -------------------------------------------------------------------
    speedup = record.scoring_s / replay.scoring_s if replay.scoring_s else float("inf")
    speedup_exec = record.execute_s / replay.execute_s if replay.execute_s else float("inf")
    identical = all(predicted_levels(record.results) == predicted_levels(t.results)
                    for t in (*replays, single))
    print("(b) replay vs live: record to a call cache, then replay with the endpoint stopped "
          f"(best of {len(replays)} replays)")
    head = f"  {'run':<16}{'requests':>9}{'calls':>7}{'cached':>8}{'retries':>9}" \
           f"{'scoring s':>11}{'execute s':>11}{'per task ms':>13}"
    print(head)
    print("  " + "-" * (len(head) - 2))
    for t in (record, replay):
        print(f"  {t.label:<16}{t.requests:>9}{t.usage['calls']:>7}{t.usage['cached_calls']:>8}"
              f"{t.usage['retries']:>9}{t.scoring_s:>11.3f}{t.execute_s:>11.3f}"
              f"{t.scoring_s * 1000 / tasks:>13.2f}")
    speed_ok = speedup >= TARGET_SPEEDUP
    print(f"  speed-up (scoring)   {speedup:.1f}x   target >= {TARGET_SPEEDUP:g}x: "
          f"{'met' if speed_ok else 'MISSED'}   (whole execute(): {speedup_exec:.1f}x)")
    print(f"  identical: {'yes' if identical else 'no'}   (every item's predicted step and "
          "criterion levels, replay vs record)")
    levels = [lv for item in predicted_levels(record.results).values()
              for group in item.values() for preds in group.values() for lv in preds]
    spread = ", ".join(f"{lv}: {levels.count(lv)}" for lv in (1, 2, 3, 4, None)
                       if levels.count(lv))
    print(f"  levels compared      {len(levels)} ({spread})")
    if replay.requests == 0 and replay.scoring_s and live.requests:
        # Per-request latency at which live would take TARGET_SPEEDUP x the replay time.
        even = TARGET_SPEEDUP * replay.scoring_s * conc / live.requests * 1000
        print(f"  the {TARGET_SPEEDUP:g}x target needs live model calls of >= {even:.0f} ms "
              f"each at concurrency {conc} (replay costs {replay.scoring_s * 1000 / tasks:.2f} "
              "ms per task)")
    for t in (*replays, single):
        if t.usage["cached_calls"] != t.usage["calls"]:
            errors.append(f"replay: only {t.usage['cached_calls']} of {t.usage['calls']} "
                          "calls came from the cache")
    if not identical:
        errors.append("replay: predicted levels differ from the recorded run")
    per_task = single.scoring_s * 1000 / tasks
    print(f"  where a replayed task's time goes (one more replay, 1 worker: {per_task:.2f} ms "
          "per task)")
    for label, secs in parts.items():
        ms = secs * 1000 / tasks
        print(f"    {label:<40}{ms:>7.2f} ms  {ms / per_task:>4.0%}")
    rest = per_task - sum(parts.values()) * 1000 / tasks
    print(f"    {'the rest (prompts, pydantic, asyncio)':<40}{rest:>7.2f} ms  "
          f"{rest / per_task:>4.0%}")
    print()

    for t in (live, record, *replays, single):
        errors.extend(failures(t))
    missed = [name for name, ok in (("concurrency ratio", ratio_ok),
                                    ("replay speed-up", speed_ok)) if not ok]
    return errors, missed


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="bench/bench_eval.py",
        description="The eval runner (LLM judge) against a loopback endpoint with injected "
                    f"latency: concurrency efficiency (target wall/ideal <= {TARGET_RATIO:g}) "
                    f"and cache replay vs live (target >= {TARGET_SPEEDUP:g}x faster, identical "
                    "levels). Prints figures.")
    # 1 s is conservative for a judge call that writes ~700 tokens of JSON (real endpoints
    # take 2-10 s); replay's fixed cost per task (~1 ms) makes the speed-up scale with it.
    p.add_argument("--latency-ms", type=float, default=1000.0, metavar="MS",
                   help="endpoint delay before every reply (default: %(default)g)")
    p.add_argument("--concurrency", type=int, default=8, metavar="N",
                   help="eval runner concurrency (default: %(default)s)")
    p.add_argument("--items", type=int, default=10, metavar="N",
                   help="interviews to score, 7 judge tasks each (default: %(default)s)")
    p.add_argument("--dataset", type=Path, default=DEFAULT_DATASET, metavar="JSONL",
                   help="dataset (default: evals/datasets/dev.jsonl)")
    p.add_argument("--replay-repeats", type=int, default=3, metavar="N",
                   help="replays of the recording; the fastest is reported (default: "
                        "%(default)s)")
    p.add_argument("--only", default=",".join(SECTIONS), metavar="SECTIONS",
                   help=f"comma-separated sections to run, of {','.join(SECTIONS)} (default: "
                        "all). live = (a) concurrency and (b) replay; analysis, offline, judge = "
                        "(c), (d), (e)")
    p.add_argument("--analysis-items", type=int, default=1000, metavar="N",
                   help="(c) interviews analysed (default: %(default)s)")
    p.add_argument("--offline-items", type=int, default=1000, metavar="N",
                   help="(d) interviews in the offline eval (default: %(default)s)")
    p.add_argument("--judge-calls", type=int, default=1000, metavar="N",
                   help="(e) at least this many judge calls (default: %(default)s)")
    p.add_argument("--judge-latency-ms", type=float, default=200.0, metavar="MS",
                   help="(e) endpoint latency (default: %(default)g)")
    p.add_argument("--judge-concurrency", type=int, default=16, metavar="N",
                   help="(e) eval runner concurrency (default: %(default)s)")
    p.add_argument("--check", action="store_true",
                   help="exit 1 if a target is missed")
    args = p.parse_args(argv)
    sections = [x.strip() for x in args.only.split(",") if x.strip()]
    if not sections or set(sections) - set(SECTIONS):
        p.error(f"--only: choose from {','.join(SECTIONS)}")
    if min(args.analysis_items, args.offline_items, args.judge_calls,
           args.judge_concurrency) < 1 or args.judge_latency_ms <= 0:
        p.error("the --analysis-items, --offline-items, --judge-* values must be positive")
    if args.latency_ms < 0 or min(args.concurrency, args.items, args.replay_repeats) < 1:
        p.error("need --latency-ms >= 0, and --concurrency, --items, --replay-repeats >= 1")
    if not args.dataset.is_file():
        p.error(f"--dataset: no file {args.dataset}")

    errors: list[str] = []
    missed: list[str] = []
    if "live" in sections:
        errors, missed = live_and_replay(args)
    rest = [x for x in sections if x != "live"]
    if rest:
        from eval_targets import report  # bench/ is on sys.path when run as a script

        missed += report(rest, analysis_items=args.analysis_items,
                         offline_items=args.offline_items, judge_calls=args.judge_calls,
                         judge_latency_ms=args.judge_latency_ms,
                         judge_concurrency=args.judge_concurrency)
    for e in errors:
        print(f"ERROR {e}")
    print("targets: " + (f"missed: {', '.join(missed)}" if missed else "all met"))
    if errors:
        return 2
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
