"""The eval harness at scale (issue 13's targets), measured for bench/bench_eval.py.

(c) analysis: ``evals.analysis.analyse()`` of 1,000 interviews with 1,000 bootstrap resamples,
    in this process with the libraries already loaded. Target <= 3 s.
(d) offline eval: ``interviewer eval run`` of a 1,000-interview dataset in a subprocess, timed
    from process start to exit (start-up, scoring, analysis, every output file). Target <= 15 s.
(e) LLM judge: ``interviewer eval run --scorer llm --cache off --concurrency 16`` of >= 1,000
    judge calls in a subprocess, against the loopback fake endpoint (served from this process)
    replying after 200 ms. Ideal = requests x latency / concurrency; target wall/ideal <= 1.2,
    process start and analysis included.

Datasets are the shipped dev and held-out interviews repeated (ids made unique) up to the size
asked for. Figures, not asserts; the machine is shared, so each section prints the load average
and the CPU time next to the wall time.
"""

from __future__ import annotations

import copy
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = [ROOT / "evals" / "datasets" / "dev.jsonl", ROOT / "evals" / "datasets" /
           "heldout.jsonl"]
TARGET_ANALYSIS_S = 3.0
TARGET_OFFLINE_S = 15.0
TARGET_JUDGE_RATIO = 1.2


def load() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "n/a"


#: A sentence's end in a candidate's answer (where a distinct copy gets its made-up word).
_SENTENCE_END = re.compile(r"([.!?])(\s|$)")


def tiled_dataset(n: int, path: Path, distinct: bool = False) -> Path:
    """The shipped interviews repeated to ``n`` lines, each copy's id suffixed -r000, -r001...
    ``distinct``: every copy after the first also ends each of its candidate sentences with a
    made-up word of its own ("zqabcd"), so no sentence is read twice in the run: what 1,000
    new interviews cost, where a plain tiling is mostly text the workers have read before."""
    lines = [line for p in SHIPPED for line in p.read_text(encoding="utf-8").splitlines()
             if line.strip()]
    out = []
    for k in range(n):
        row = json.loads(lines[k % len(lines)])
        row["id"] = f"{row['id']}-r{k // len(lines):03d}"
        if distinct and k >= len(lines):
            tag = "zq" + "".join(chr(97 + int(c)) for c in f"{k:04d}")
            for turn in row["turns"]:
                if turn["role"] == "candidate":
                    turn["text"] = _SENTENCE_END.sub(rf" {tag}\1\2", turn["text"])
        out.append(json.dumps(row))
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _cli(args: list[str], home: Path) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run ``python -m agent ARGS``; (result, wall seconds, CPU seconds of it and its workers)."""
    env = {**os.environ, "INTERVIEWER_HOME": str(home)}
    for name in ("INTERVIEWER_BASE_URL", "INTERVIEWER_MODEL", "INTERVIEWER_API_KEY",
                 "OPENAI_API_KEY", "FIREWORKS_API_KEY"):
        env.pop(name, None)
    cpu0, t0 = _children_cpu(), time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "agent", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=False)
    return res, time.perf_counter() - t0, _children_cpu() - cpu0


# -- (c) analysis ---------------------------------------------------------------------------------


def analysis(items: int = 1000, n_boot: int = 1000, repeats: int = 3) -> dict[str, Any]:
    """Score the shipped interviews once (offline), tile the results to ``items`` interviews,
    time ``analyse(results, n_boot)`` (best of ``repeats``)."""
    from evals.analysis import analyse
    from evals.runner import EvalConfig, Run

    with tempfile.TemporaryDirectory(prefix="bench-analysis-") as tmp:
        data = tiled_dataset(sum(1 for p in SHIPPED for line in p.read_text().splitlines()
                                 if line.strip()), Path(tmp) / "shipped.jsonl")
        run = Run(EvalConfig(dataset=data, output=Path(tmp) / "r.json", n_boot=0))
        try:
            base = run.execute(progress=False)
        finally:
            run.close()
    scored = base["items"]
    tiled = []
    for k in range(items):
        item = copy.deepcopy(scored[k % len(scored)])
        item["id"] = f"{item['id']}-t{k // len(scored):03d}"
        tiled.append(item)
    results = {**base, "items": tiled}
    analyse({**base, "items": tiled[:50]}, n_boot=50)  # warm: first-call costs, not timed
    best = float("inf")
    cpu = 0.0
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        metrics = analyse(results, n_boot=n_boot)
        wall = time.perf_counter() - t0
        if wall < best:
            best, cpu = wall, time.process_time() - c0
    pairs = metrics["overall"]["criteria"]["n"] + metrics["overall"]["steps"]["n"]
    return {"items": items, "n_boot": n_boot, "wall_s": best, "cpu_s": cpu, "pairs": pairs,
            "blocks": 2 + 2 * len(metrics["per_step"]) + len(metrics["per_criterion"])}


# -- (d) offline eval ------------------------------------------------------------------------------


def runner_overhead(repeats: int = 3) -> tuple[float, float]:
    """(direct, through the runner) CPU ms per task of the offline scorer on the shipped dev
    split, one process, the same warm scorer: what the runner adds of its own (best of
    ``repeats`` each)."""
    from agent.scorers import OfflineScorer
    from evals.dataset import SCORED, load_dataset
    from evals.progress import Progress
    from evals.runner import EvalConfig, Run, step_turns

    data = SHIPPED[0]
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
        run = Run(EvalConfig(dataset=data, output=Path(tmp) / "r.json", n_boot=0, workers=1))
        scorer = OfflineScorer(run.rubrics)
        run.scorers = [scorer]
        items = load_dataset(data).interviews
        jobs = [(run.cases[i.case], s, step_turns(i, s)) for i in items for s in SCORED]
        for case, step, turns in jobs:  # warm the scorer's caches
            scorer.score_step(case, step, turns)
        direct = through = float("inf")
        for _ in range(repeats):
            c0 = time.process_time()
            for case, step, turns in jobs:
                scorer.score_step(case, step, turns).model_dump()
            direct = min(direct, time.process_time() - c0)
            with (Path(tmp) / "p.jsonl").open("w") as sink:
                c0 = time.process_time()
                run._run_offline(run.tasks(), {}, {}, sink, Progress("x", 1, quiet=True))
                through = min(through, time.process_time() - c0)
        run.close()
    return direct * 1000 / len(jobs), through * 1000 / len(jobs)


def offline(items: int = 1000, distinct: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-offline-") as tmp:
        data = tiled_dataset(items, Path(tmp) / "big.jsonl", distinct)
        out = Path(tmp) / "out.json"
        res, wall, cpu = _cli(["eval", "run", str(data), "--output", str(out), "--quiet"],
                              Path(tmp) / "home")
        if res.returncode != 0:
            raise RuntimeError(f"offline eval failed ({res.returncode}): {res.stderr[-500:]}")
        timing = json.loads(out.read_text())["timing"]
    return {"items": items, "tasks": timing["tasks"], "wall_s": wall, "cpu_s": cpu,
            "scoring_s": timing["seconds"], "analysis_s": timing.get("analysis_seconds")}


# -- (e) LLM judge ---------------------------------------------------------------------------------


def judge(calls: int = 1000, latency_ms: float = 200.0, concurrency: int = 16) -> dict[str, Any]:
    from evals.fake_endpoint import FakeEndpoint
    from evals.fake_responder import interviewer_responder

    items = -(-calls // 7)
    with tempfile.TemporaryDirectory(prefix="bench-judge-") as tmp:
        data = tiled_dataset(items, Path(tmp) / "judge.jsonl")
        out = Path(tmp) / "out.json"
        with FakeEndpoint(latency_ms=latency_ms, responder=interviewer_responder) as ep:
            t0 = time.time()
            res, wall, cpu = _cli(["eval", "run", str(data), "--output", str(out), "--scorer",
                                   "llm", "--cache", "off", "--base-url", ep.url, "--model",
                                   "fake-model", "--concurrency", str(concurrency), "--quiet"],
                                  Path(tmp) / "home")
            log = ep.requests
        if res.returncode != 0:
            raise RuntimeError(f"judge eval failed ({res.returncode}): {res.stderr[-500:]}")
        results = json.loads(out.read_text())
    requests = len(log)
    ideal = requests * latency_ms / 1000 / concurrency
    first = min(r["time"] for r in log) - t0 if log else float("nan")
    last = max(r["time"] for r in log) - t0 + latency_ms / 1000 if log else float("nan")
    return {"items": items, "tasks": results["timing"]["tasks"], "requests": requests,
            "calls": results["usage"]["calls"], "retries": results["usage"]["retries"],
            "failed_items": results["failures"]["items"], "latency_ms": latency_ms,
            "concurrency": concurrency, "wall_s": wall, "cpu_s": cpu, "ideal_s": ideal,
            "ratio": wall / ideal if ideal else float("nan"),
            "to_first_request_s": first, "after_last_reply_s": wall - last,
            "scoring_s": results["timing"]["seconds"],
            "analysis_s": results["timing"].get("analysis_seconds")}


def met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report(sections: list[str], *, analysis_items: int, offline_items: int,
           judge_calls: int, judge_latency_ms: float, judge_concurrency: int) -> list[str]:
    """Run the chosen sections, print their figures; return the names of missed targets."""
    missed: list[str] = []
    if "analysis" in sections:
        before = load()
        a = analysis(analysis_items)
        ok = a["wall_s"] <= TARGET_ANALYSIS_S
        print(f"(c) analysis: {a['items']:,} interviews ({a['pairs']:,} level pairs, "
              f"{a['blocks']} blocks, every metric with intervals) x {a['n_boot']:,} resamples")
        print(f"  wall {a['wall_s']:.2f} s (best of 3), CPU {a['cpu_s']:.2f} s; load "
              f"{before} -> {load()}")
        print(f"  ratio to target  {a['wall_s'] / TARGET_ANALYSIS_S:.2f}   (target <= "
              f"{TARGET_ANALYSIS_S:g} s: {met(ok)})")
        print()
        if not ok:
            missed.append("analysis")
    if "offline" in sections:
        direct, through = runner_overhead()
        print(f"(d) the runner's own cost: the offline scorer takes {direct:.2f} ms CPU per task "
              f"called directly and {through:.2f} ms through Run (one process, warm scorer, "
              f"best of 3): {through - direct:+.2f} ms")
        for distinct in (False, True):
            before = load()
            o = offline(offline_items, distinct)
            ok = o["wall_s"] <= TARGET_OFFLINE_S
            kind = ("every sentence new (each copy's sentences carry a made-up word of its own)"
                    if distinct else "the shipped interviews repeated, so most text is read "
                    "again")
            print(f"    offline eval end to end: interviewer eval run, {o['items']:,} interviews "
                  f"({o['tasks']:,} scoring tasks), subprocess start to exit; {kind}")
            print(f"  wall {o['wall_s']:.1f} s, CPU {o['cpu_s']:.1f} s (the command and its "
                  f"worker processes); scoring {o['scoring_s']:.1f} s, analysis "
                  f"{o['analysis_s'] or float('nan'):.2f} s; "
                  f"{o['scoring_s'] * 1000 / o['tasks']:.2f} ms wall per task; load {before} -> "
                  f"{load()}")
            print(f"  ratio to target  {o['wall_s'] / TARGET_OFFLINE_S:.2f}   (target <= "
                  f"{TARGET_OFFLINE_S:g} s: {met(ok)})")
            print()
            if not ok:
                missed.append("offline eval" + (" (new text)" if distinct else ""))
    if "judge" in sections:
        before = load()
        j = judge(judge_calls, judge_latency_ms, judge_concurrency)
        ok = j["ratio"] <= TARGET_JUDGE_RATIO
        print(f"(e) LLM judge end to end: interviewer eval run --scorer llm --cache off, "
              f"{j['items']} interviews, {j['requests']:,} requests ({j['calls']:,} judge calls, "
              f"{j['retries']} retries, {j['failed_items']} failed items), {j['latency_ms']:g} ms "
              f"latency, concurrency {j['concurrency']}")
        print(f"  wall {j['wall_s']:.2f} s (CPU {j['cpu_s']:.1f} s), ideal {j['ideal_s']:.2f} s "
              f"= {j['requests']} x {j['latency_ms']:g} ms / {j['concurrency']}; start to first "
              f"request {j['to_first_request_s']:.2f} s, last reply to exit "
              f"{j['after_last_reply_s']:.2f} s (analysis {j['analysis_s'] or float('nan'):.2f}"
              f" s); load {before} -> {load()}")
        print(f"  ratio wall/ideal {j['ratio']:.2f}   (target <= {TARGET_JUDGE_RATIO:g}: "
              f"{met(ok)})")
        print()
        if not ok:
            missed.append("judge end-to-end ratio")
    return missed
