"""``interviewer eval run``: score every recorded interview, then measure agreement.

Scoring runs on asyncio with a concurrency limit and a requests-per-minute limit; each finished
(item, step, repeat) is appended to ``<output>.partial.jsonl`` so an interrupted run resumes where
it stopped (rerun the same command). Each row carries the model usage of its task (calls,
tokens, cost), so a resumed run's usage is the earlier rows' sum plus this process's calls, not
only what this process spent. Every knob that shapes the result is recorded with it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.cache import CacheMiss, CacheMode, CallCache
from agent.cases import Case, default_cases
from agent.config import Settings
from agent.model.client import CallRecord, ModelClient, ModelError
from agent.prices import cost, load_prices
from agent.rubrics import default_rubrics
from agent.scorers import OfflineScorer, Scorer
from agent.semantic.facts import Told, told_from
from agent.steps import STEPS
from evals.dataset import SCORED, Dataset, Interview, load_dataset

RESULTS_SCHEMA_VERSION = 1
Task = tuple[str, str, int]  # item id, step, repeat
USAGE_SUMS = ("calls", "cached_calls", "failed_calls", "retries", "prompt_tokens_reported",
              "prompt_tokens_tiktoken", "completion_tokens")


def usage_of(calls: list[CallRecord], prices: dict[str, tuple[float, float]]
             ) -> dict[str, Any]:
    """Sums over call records; cost_usd None when an uncached call's model has no price."""
    costs = [cost(prices, c.model, c.prompt_tokens, c.completion_tokens) for c in calls
             if not c.cached]
    return {
        "calls": len(calls),
        "cached_calls": sum(1 for c in calls if c.cached),
        "failed_calls": sum(1 for c in calls if c.outcome in ("error", "invalid")),
        "retries": sum(c.retries for c in calls),
        "prompt_tokens_reported": sum(c.prompt_tokens for c in calls),
        "prompt_tokens_tiktoken": sum(c.counted_prompt_tokens for c in calls),
        "completion_tokens": sum(c.completion_tokens for c in calls),
        "cost_usd": None if any(x is None for x in costs) else round(
            sum(x for x in costs if x is not None), 6),
    }


def add_usage(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """a + b for usage_of() dicts (cost unknown if either is)."""
    out: dict[str, Any] = {k: int(a.get(k, 0)) + int(b.get(k, 0)) for k in USAGE_SUMS}
    ca, cb = a.get("cost_usd"), b.get("cost_usd")
    out["cost_usd"] = None if ca is None or cb is None else round(float(ca) + float(cb), 6)
    return out


ZERO_USAGE: dict[str, Any] = {**dict.fromkeys(USAGE_SUMS, 0), "cost_usd": 0.0}


@dataclass(kw_only=True)
class EvalConfig:
    dataset: Path
    output: Path
    scorer: str = "offline"
    settings: Settings = field(default_factory=Settings)
    cache_mode: CacheMode = "live"
    cache_file: Path | None = None
    concurrency: int = 4
    rpm: float | None = None
    repeats: int = 1
    seed: int = 0
    temperature: float = 0.0
    limit: int | None = None
    n_boot: int = 1000
    judge_samples: int = 1


class EvalError(RuntimeError):
    """The run cannot go on (bad settings, a replay miss); ``str()`` is one line."""


class RateLimiter:
    """Spaces call starts at least 60/rpm seconds apart (no bursts)."""

    def __init__(self, rpm: float | None) -> None:
        self.interval = 60.0 / rpm if rpm else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
        if delay > 0:
            await asyncio.sleep(delay)


def told_before(item: Interview, step: str, case: Case) -> Told | None:
    """What the candidate had heard and said before ``step`` (facts revealed in clarify are
    read from the interviewer's lines); None for clarify and cross_cutting."""
    if step not in STEPS or step == STEPS[0]:
        return None
    earlier = STEPS[:STEPS.index(step)]
    return told_from(case, [(t.role, t.text) for t in item.turns if t.step in earlier])


def step_turns(item: Interview, step: str) -> list[tuple[str, str]]:
    return [(t.role, t.text) for t in item.turns
            if t.step == step or (step == "cross_cutting" and t.step != "wrap_up")]


class Run:
    """One evaluation run: the scorers, the cache, the call log, the partial file."""

    def __init__(self, cfg: EvalConfig) -> None:
        if cfg.scorer not in ("llm", "offline"):
            raise EvalError(f"--scorer: unknown scorer {cfg.scorer!r} (llm or offline)")
        if cfg.concurrency < 1 or cfg.repeats < 1:
            raise EvalError("--concurrency and --repeats must be at least 1")
        if cfg.limit is not None and cfg.limit < 1:
            raise EvalError(f"--limit: {cfg.limit} is not a number of interviews (at least 1)")
        if cfg.rpm is not None and cfg.rpm <= 0:
            raise EvalError("--rpm: must be a positive number of calls a minute")
        if cfg.n_boot < 0:
            raise EvalError("--bootstrap: must be 0 or more")
        if cfg.judge_samples < 1:
            raise EvalError("--judge-samples: must be at least 1")
        if cfg.judge_samples > 1 and cfg.scorer != "llm":
            raise EvalError("--judge-samples: only the LLM judge (--scorer llm) takes samples")
        self.cfg = cfg
        out = cfg.output
        if out.is_dir() or not out.parent.is_dir() or out.suffix != ".json":
            raise EvalError(f"--output: {out} must be a .json file in an existing directory")
        try:
            self.dataset = load_dataset(cfg.dataset)
        except ValueError as e:
            raise EvalError(str(e)) from None
        self.items = self.dataset.interviews[: cfg.limit] if cfg.limit else (
            self.dataset.interviews)
        self.rubrics = default_rubrics()
        self.cases = default_cases()
        self.calls: list[CallRecord] = []
        self.prices = load_prices()  # once: every task's usage is priced with it
        # Each scoring task runs wholly on one worker thread, so a thread-local list collects
        # exactly that task's calls (the scorers are shared between concurrent tasks).
        self._task_calls = threading.local()
        self.earlier_usage: dict[str, Any] | None = None  # from the partial file, on resume
        self.earlier_rows_without_usage = 0
        self.cache: CallCache | None = None
        self.scorers: list[Scorer] = []
        self.clients: list[ModelClient] = []
        if cfg.scorer == "offline":
            self.scorers = [OfflineScorer(self.rubrics)] * cfg.repeats
        else:
            self._llm_scorers()

    def _llm_scorers(self) -> None:
        from agent.judge import LLMJudge
        from agent.paths import home

        cfg = self.cfg
        settings = cfg.settings
        if cfg.cache_mode == "replay" and settings.offline:
            # Replay never touches the network; the model name must match the recording, and
            # is recorded in the results, so it is required rather than guessed.
            if not settings.model:
                raise EvalError("--cache replay without an endpoint needs --model NAME (or "
                                "INTERVIEWER_MODEL): the model the recording was made with")
            settings = Settings(base_url="http://replay.invalid/v1", api_key="replay",
                                model=settings.model)
        if settings.offline:
            raise EvalError("--scorer llm needs a model endpoint (--base-url/--provider or "
                            "INTERVIEWER_BASE_URL), or --cache replay with a recording")
        if cfg.cache_mode != "off":
            path = cfg.cache_file or home() / "eval-cache.sqlite"
            self.cache = CallCache(path, cfg.cache_mode)
        for r in range(cfg.repeats):
            client = ModelClient(settings, recorder=self._record, cache=self.cache,
                                 temperature=cfg.temperature, seed=cfg.seed + r)
            self.clients.append(client)
            self.scorers.append(LLMJudge(client, self.rubrics, samples=cfg.judge_samples))

    def _record(self, rec: CallRecord) -> None:
        self.calls.append(rec)
        mine = getattr(self._task_calls, "calls", None)
        if mine is not None:
            mine.append(rec)

    def close(self) -> None:
        for c in self.clients:
            c.close()
        if self.cache is not None:
            self.cache.close()

    # -- knobs and resume ---------------------------------------------------------------------

    def knobs(self) -> dict[str, Any]:
        from agent.judge import judge_prompt_version

        cfg = self.cfg
        llm = cfg.scorer == "llm"
        return {
            "scorer": cfg.scorer,
            "model": self.clients[0].model if llm else None,
            "base_url": cfg.settings.base_url if llm else None,
            "temperature": cfg.temperature if llm else None,
            "prompt_hashes": judge_prompt_version() if llm else None,
            "rubric_hashes": dict(self.rubrics.hashes),
            "rubric_version": self.rubrics.version,
            "dataset": {"path": str(cfg.dataset), "name": self.dataset.name,
                        "sha256": self.dataset.sha256, "items": len(self.items)},
            "repeats": cfg.repeats, "seed": cfg.seed, "concurrency": cfg.concurrency,
            "rpm": cfg.rpm, "cache": cfg.cache_mode if llm else None, "limit": cfg.limit,
            "judge_samples": cfg.judge_samples if llm else None,
            "bootstrap_resamples": cfg.n_boot,
        }

    def fingerprint(self) -> str:
        k = {key: v for key, v in self.knobs().items()
             if key not in ("concurrency", "rpm", "cache", "bootstrap_resamples")}
        return hashlib.sha256(json.dumps(k, sort_keys=True).encode()).hexdigest()[:16]

    def partial_path(self) -> Path:
        return self.cfg.output.with_name(self.cfg.output.name + ".partial.jsonl")

    def load_partial(self) -> dict[Task, dict[str, Any]]:
        path = self.partial_path()
        if not path.is_file():
            return {}
        lines = path.read_text(encoding="utf-8").splitlines()
        try:
            header = json.loads(lines[0]) if lines else {}
        except ValueError:
            header = {}
        if header.get("fingerprint") != self.fingerprint():
            raise EvalError(f"{path} is a partial run with different settings; delete it or "
                            "rerun with the same settings to resume")
        done: dict[Task, dict[str, Any]] = {}
        earlier = dict(ZERO_USAGE)
        without = 0
        for line in lines[1:]:
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a line cut short by a kill: that task runs again
            if not isinstance(row, dict):
                continue
            # Failed tasks run again, but their calls were made (and paid for): count them too.
            if isinstance(row.get("usage"), dict):
                earlier = add_usage(earlier, row["usage"])
            else:
                without += 1
            if "result" in row:
                done[(row["item"], row["step"], row["repeat"])] = row["result"]
        self.earlier_usage = earlier
        self.earlier_rows_without_usage = without
        return done

    # -- scoring ------------------------------------------------------------------------------

    def tasks(self) -> list[Task]:
        return [(item.id, step, r) for item in self.items for step in SCORED
                for r in range(self.cfg.repeats)]

    def _score(self, task: Task) -> dict[str, Any]:
        item_id, step, r = task
        item = next(i for i in self.items if i.id == item_id)
        scorer = self.scorers[r]
        if hasattr(scorer, "session_id"):
            scorer.session_id = f"{item_id}/{step}"  # names the call in logs and replay misses
        case = self.cases[item.case]
        result = scorer.score_step(case, step, step_turns(item, step),
                                   told_before(item, step, case))
        return result.model_dump()

    def _score_counted(self, task: Task) -> tuple[dict[str, Any] | None, str | None,
                                                  dict[str, Any]]:
        """(result, error, usage) of one task, on the worker thread; CacheMiss propagates."""
        mine: list[CallRecord] = []
        self._task_calls.calls = mine
        try:
            return self._score(task), None, usage_of(mine, self.prices)
        except CacheMiss:
            raise
        except (ModelError, OSError) as e:
            return None, str(e), usage_of(mine, self.prices)
        finally:
            self._task_calls.calls = None

    async def _run_tasks(self, todo: list[Task], done: dict[Task, dict[str, Any]],
                         failed: dict[Task, str], sink: Any,
                         advance: Callable[[], None]) -> None:
        sem = asyncio.Semaphore(self.cfg.concurrency)
        limiter = RateLimiter(self.cfg.rpm)
        loop = asyncio.get_running_loop()
        pool = ThreadPoolExecutor(max_workers=self.cfg.concurrency, thread_name_prefix="eval")

        async def one(task: Task) -> None:
            async with sem:
                await limiter.wait()
                result, error, usage = await loop.run_in_executor(pool, self._score_counted,
                                                                  task)
                row: dict[str, Any] = {"item": task[0], "step": task[1], "repeat": task[2]}
                if result is None:
                    failed[task] = row["error"] = error or "failed"
                else:
                    done[task] = row["result"] = result
                row["usage"] = usage
                sink.write(json.dumps(row) + "\n")
                sink.flush()
                advance()

        try:
            await asyncio.gather(*(one(t) for t in todo))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def execute(self, progress: bool = True) -> dict[str, Any]:
        """Score everything not already in the partial file, then build the results."""
        from evals.analysis import analyse

        started = time.perf_counter()
        done = self.load_partial()
        todo = [t for t in self.tasks() if t not in done]
        failed: dict[Task, str] = {}
        path = self.partial_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.is_file()
        with path.open("a", encoding="utf-8") as sink:
            if fresh:
                sink.write(json.dumps({"fingerprint": self.fingerprint()}) + "\n")
            with _progress(progress, len(self.tasks()), len(self.tasks()) - len(todo),
                           self.cfg.scorer) as advance:
                try:
                    asyncio.run(self._run_tasks(todo, done, failed, sink, advance))
                except CacheMiss as e:
                    raise EvalError(str(e)) from None
                except KeyboardInterrupt:
                    sys.stderr.write(
                        f"eval run: stopped with {len(done)} of {len(self.tasks())} scoring "
                        f"tasks saved in {path}; rerun the same command to resume from there "
                        "(delete that file to start over)\n")
                    raise
        elapsed = time.perf_counter() - started
        results = self.assemble(done, failed)
        results["metrics"] = analyse(results, n_boot=self.cfg.n_boot, seed=self.cfg.seed)
        results["timing"] = {"seconds": round(elapsed, 3), "tasks": len(self.tasks()),
                             "resumed": len(self.tasks()) - len(todo)}
        return results

    def assemble(self, done: dict[Task, dict[str, Any]], failed: dict[Task, str]
                 ) -> dict[str, Any]:
        repeats = self.cfg.repeats
        items = []
        for item in self.items:
            errors = [f"{s}: {failed[(item.id, s, r)]}" for s in SCORED for r in range(repeats)
                      if (item.id, s, r) in failed]
            # A step the scorer could not score at all (every criterion unscored after the
            # judge's retries) fails the item: it is counted and left out, never half-used.
            errors += [f"{s}: no valid level for any criterion ({run['criteria'][0]['rationale']})"
                       for s in SCORED for r in range(repeats)
                       if (run := done.get((item.id, s, r))) and run["criteria"]
                       and all(c["level"] is None for c in run["criteria"])]
            gold_steps = {lab.rater: lab.steps for lab in item.labels}
            gold_crit = {lab.rater: lab.criteria for lab in item.labels}
            steps: dict[str, Any] = {}
            criteria: dict[str, Any] = {}
            for step in SCORED:
                runs = [done.get((item.id, step, r)) for r in range(repeats)]
                scores = [run["score"] if run else None for run in runs]
                steps[step] = {
                    "gold": {r: g[step] for r, g in gold_steps.items() if step in g},
                    "predicted": [None if s is None else math.floor(s + 0.5)
                                  for s in scores],
                    "score": scores,
                }
                for c in self.rubrics[step].criteria:
                    if runs and all(run is not None and all(x["id"] != c.id
                                                            for x in run["criteria"])
                                    for run in runs):
                        continue  # the case leaves it out (criteria: {id: {applies: false}})
                    levels = []
                    for run in runs:
                        found = next((x for x in run["criteria"] if x["id"] == c.id),
                                     None) if run else None
                        levels.append(found["level"] if found else None)
                    criteria[c.id] = {
                        "gold": {r: g[c.id] for r, g in gold_crit.items() if c.id in g},
                        "predicted": levels,
                    }
                    samples = [next((x.get("samples") for x in run["criteria"]
                                     if x["id"] == c.id), None) if run else None
                               for run in runs]
                    if any(samples):
                        criteria[c.id]["samples"] = samples
            profile = item.meta.get("profile")
            items.append({"id": item.id, "case": item.case, "failed": bool(errors),
                          "errors": errors, "tags": item.meta.get("tags", []),
                          # several adversarial tags step by step: left out of tag rows
                          "mixed": item.meta.get("mixed") is True,
                          # per-step answer tags (strong, long-empty, injection, ...)
                          "profile": {k: v for k, v in profile.items() if isinstance(v, str)}
                          if isinstance(profile, dict) else {},
                          "steps": steps, "criteria": criteria})
        n_failed = sum(1 for i in items if i["failed"])
        return {
            "schema_version": RESULTS_SCHEMA_VERSION,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "knobs": self.knobs(),
            "gold_rater": "the first rater listed in each interview's labels",
            "items": items,
            "failures": {"items": n_failed, "of": len(items),
                         "ids": [i["id"] for i in items if i["failed"]]},
            "usage": self.usage(),
        }

    def usage(self) -> dict[str, Any]:
        """Totals over the whole run: earlier (resumed) partial rows plus this process's calls.
        ``earlier`` is the resumed part alone; ``cache`` counts this process's lookups only."""
        here = usage_of(self.calls, self.prices)
        earlier = self.earlier_usage
        total = add_usage(earlier, here) if earlier else here
        return {**total,
                "earlier": earlier if earlier and earlier["calls"] else None,
                "earlier_tasks_without_usage": self.earlier_rows_without_usage,
                "cache": self.cache.stats() if self.cache else None}


class _progress:
    """A rich progress bar on stderr (silent when not wanted)."""

    def __init__(self, show: bool, total: int, completed: int, label: str) -> None:
        self.show, self.total, self.completed, self.label = show, total, completed, label
        self._bar: Any = None

    def __enter__(self) -> Callable[[], None]:
        if not self.show:
            return lambda: None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self._bar = Progress("[progress.description]{task.description}", BarColumn(),
                             MofNCompleteColumn(), TimeElapsedColumn(),
                             console=Console(stderr=True), transient=False)
        self._bar.start()
        task = self._bar.add_task(f"scoring ({self.label})", total=self.total,
                                  completed=self.completed)
        return lambda: self._bar.advance(task)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def write_results(results: dict[str, Any], output: Path) -> list[Path]:
    """results JSON plus Markdown, HTML and JUnit XML beside it; returns the paths written."""
    from evals.outputs import to_html, to_junit, to_markdown

    output.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for path, text in ((output, json.dumps(results, indent=1, ensure_ascii=False) + "\n"),
                       (output.with_suffix(".md"), to_markdown(results)),
                       (output.with_suffix(".html"), to_html(results)),
                       (output.with_suffix(".junit.xml"), to_junit(results))):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return written


def run_eval(cfg: EvalConfig, progress: bool = True) -> tuple[dict[str, Any], Dataset]:
    run = Run(cfg)
    try:
        results = run.execute(progress)
    finally:
        run.close()
    write_results(results, cfg.output)
    run.partial_path().unlink(missing_ok=True)
    return results, run.dataset
