"""Several ``interviewer serve`` workers over one PostgreSQL, against one worker on SQLite.

For each setup — one worker on SQLite, then 1, 2 and 3 workers over one PostgreSQL (a
throwaway server, as the tests start it: tests/postgres.py) — 50 candidates hold whole offline
interviews at once through a load balancer that sends each request to a random worker
(tests/workers.py), each sending the next answer as soon as the reply is done (no thinking
time: harsher than real candidates). Each worker has a home directory of its own, as on a
machine of its own. Per turn: POST to the stream's ``done``. Prints a markdown table of turns per
second, median and p95 per turn, and the workers' CPU time per turn (PostgreSQL's own CPU is
not in it). Figures, not asserts.

The machine matters: with 2 cores, a second and third worker add processes, not cores, so
their gain is the Python work they overlap with the database's, not CPU.

Run from the project root:  python bench/bench_workers.py [--interviews 50] [--workers 1,2,3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from a checkout
    sys.path.insert(0, str(ROOT))

from bench_web import cpu_seconds  # noqa: E402  (this folder is on sys.path)

from tests.helpers import INTERVIEW_BLOCKS  # noqa: E402
from tests.postgres import Cluster, NoPostgres  # noqa: E402
from tests.workers import Balancer, Candidate, Worker, pct  # noqa: E402

CASES = ["fintech-p99-spikes", "llama70b-2x-latency", "batch-inference-cost"]


def run(workers: list[Worker], interviews: int) -> dict[str, Any]:
    """``interviews`` whole interviews at once through the workers; figures per turn."""
    lb = Balancer(workers, seed=interviews)
    # First-use costs in each worker (lazy imports, the embedding model) are not turns.
    warm = [Candidate(lb, name=f"warm{i}") for i in range(2 * len(workers))]
    with ThreadPoolExecutor(len(warm)) as pool:
        list(pool.map(lambda c: c.interview(CASES[0], INTERVIEW_BLOCKS), warm))
    for c in warm:
        c.close()
    candidates = [Candidate(lb, name=f"candidate{i}") for i in range(interviews)]
    pids = [w.proc.pid for w in workers if w.proc is not None]
    cpu0 = sum(cpu_seconds(p) for p in pids)
    began = time.perf_counter()
    with ThreadPoolExecutor(interviews) as pool:
        finals = list(pool.map(lambda i: candidates[i].interview(
            CASES[i % len(CASES)], INTERVIEW_BLOCKS), range(interviews)))
    wall = time.perf_counter() - began
    cpu = sum(cpu_seconds(p) for p in pids) - cpu0
    unfinished = sum(1 for f in finals if f["status"] != "completed")
    turns = [t.seconds for c in candidates for t in c.turns]
    retried = sum(1 for c in candidates for t in c.turns if t.attempts > 1)
    for c in candidates:
        c.close()
    if unfinished:
        raise SystemExit(f"bench_workers: {unfinished} interviews did not finish")
    return {"turns": len(turns), "wall": wall, "rate": len(turns) / wall,
            "median": statistics.median(turns) * 1000, "p95": pct(turns, 95) * 1000,
            "cpu": cpu / len(turns) * 1000, "retried": retried}


def setup(tmp: Path, label: str, count: int, database: str | None) -> list[Worker]:
    # PostgreSQL: a home of its own per worker, as on machines of their own. SQLite: one home
    # (its database file lives there).
    workers = [Worker(tmp / (f"{label}-{i}" if database else label), database)
               for i in range(count)]
    with ThreadPoolExecutor(count) as pool:
        list(pool.map(lambda w: w.start(), workers))
    return workers


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--interviews", type=int, default=50,
                    help="concurrent interviews (default 50)")
    ap.add_argument("--workers", default="1,2,3",
                    help="worker counts over PostgreSQL (default 1,2,3)")
    args = ap.parse_args(argv)
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    print(f"{args.interviews} concurrent offline interviews of {len(INTERVIEW_BLOCKS)} turns, "
          f"back to back; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at "
          "start\n")
    try:
        cluster = Cluster().start()
    except NoPostgres as e:
        raise SystemExit(f"bench_workers: PostgreSQL cannot run here: {e}") from None
    rows: list[tuple[str, int, dict[str, Any]]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
            plan: list[tuple[str, int, str | None]] = [("SQLite", 1, None)]
            plan += [("PostgreSQL", n, "pg") for n in counts]
            for backend, count, db in plan:
                url = cluster.create_database() if db else None
                workers = setup(Path(tmp), f"{backend}{count}", count, url)
                try:
                    figures = run(workers, args.interviews)
                finally:
                    for w in workers:
                        w.stop()
                    if url:
                        cluster.drop_database(url)
                rows.append((backend, count, figures))
                print(f"  {backend}, {count} worker(s): {figures['rate']:.1f} turns/s, p95 "
                      f"{figures['p95']:.0f} ms", flush=True)
    finally:
        cluster.stop()
    print("\n| database | workers | turns | wall (s) | turns/s | median (ms) | p95 (ms) "
          "| worker CPU per turn (ms) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for backend, count, f in rows:
        print(f"| {backend} | {count} | {f['turns']} | {f['wall']:.1f} | {f['rate']:.1f} | "
              f"{f['median']:.0f} | {f['p95']:.0f} | {f['cpu']:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
