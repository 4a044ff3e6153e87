"""``interviewer eval run``: score every recorded interview, then measure agreement.

LLM scoring runs on asyncio with a concurrency limit and a requests-per-minute limit. Offline
scoring runs in this process, and over worker processes (evals/parallel.py) when the first tasks
show the rest would take longer than starting them. Each finished (item, step, repeat) is
appended to ``<output>.partial.jsonl`` so an interrupted run resumes where it stopped (rerun the
same command). Each row carries the model usage of its task (calls, tokens, cost), so a resumed
run's usage is the earlier rows' sum plus this process's calls, not only what this process
spent. Every knob that shapes the result is recorded with it. The analysis libraries (scipy,
scikit-learn) are imported on a background thread while scoring runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import math
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from agent.cache import CacheMiss, CacheMode, CallCache
from agent.cases import Case, default_cases, warn_broken
from agent.config import Settings
from agent.paths import data_dir
from agent.prices import cost, load_prices
from agent.rubrics import default_rubrics
from agent.scorer_common import Scorer
from agent.semantic.facts import Told, told_from
from agent.steps import STEPS
from evals.dataset import SCORED, Dataset, Interview, load_dataset
from evals.progress import Progress

if TYPE_CHECKING:  # the SDK takes a second to import: offline runs never load it
    from agent.model.client import CallRecord, ModelClient

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
    workers: int | None = None
    """Processes for offline scoring; None = as many as CPUs, when the work is worth it."""
    batch: str | None = None
    """Send the judge's calls through a batch API: "openai", "fireworks" or "auto"."""
    batch_poll_s: float = 30.0
    batch_failures: str = "live"
    """Failed or expired batch lines: "live" (call the endpoint) or "report" (fail the task)."""
    batch_account: str | None = None
    """Fireworks account id (its batch API paths need it)."""


#: Offline: after the scorer's warm-up, score in-process at least this long before deciding
#: whether a process pool pays off (see Run._run_offline). Not shorter for a large run: the
#: probe's tasks compile the expressions they meet first once, here, for every forked worker
#: (deciding after 7 warm tasks measured 0.3 s sooner to the pool and +0.9 s of workers' CPU).
PROBE_S = 0.3
#: The interpreter's thread switch interval while judge calls run (see Run._run_tasks).
SWITCH_INTERVAL_S = 0.001
#: Offline rows are flushed to the partial file at most this often (they are cheap to redo).
FLUSH_S = 0.5


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


#: The prompt data files (prompts/) the offline scorer reads: the everyday words for the trade's
#: terms (agent/semantic/reading.py) and the premises a case settles (agent/semantic/premises.py).
#: Their hashes are knobs of an offline run. tests/test_eval.py checks that scoring reads no
#: other file of prompts/.
OFFLINE_PROMPT_FILES = ("premises.yaml", "scoring_words.yaml")


def file_hashes(directory: Path, names: list[str]) -> dict[str, str]:
    """The first 12 hex digits of the SHA-256 of each file (``"missing"`` for one that is not
    there), by name."""
    out = {}
    for name in names:
        try:
            out[name] = hashlib.sha256((directory / name).read_bytes()).hexdigest()[:12]
        except OSError:
            out[name] = "missing"
    return out


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


def check_offline_data() -> None:
    """Load the prompt data files the offline scorer reads (OFFLINE_PROMPT_FILES) now, so a bad
    one (a regular expression that does not compile in prompts/scoring_words.yaml) stops the
    run before its partial file exists, not at the first scoring task after it was created:
    EvalError names the file and the field."""
    from agent.datafile import DataFileError
    from agent.prompts import scoring_words
    from agent.semantic.premises import dimensions

    try:
        scoring_words()
        dimensions()
    except DataFileError as e:
        raise EvalError(str(e)) from None


def _row(line: str) -> dict[str, Any] | None:
    """One row of a partial file (None for a line cut short by a kill)."""
    try:
        row = json.loads(line)
    except ValueError:
        return None
    return row if isinstance(row, dict) else None


def _differences(old: Any, new: Any, at: str = "") -> list[str]:
    """The settings that differ between two knob dicts, as dotted names with both values."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            name = f"{at}.{key}" if at else str(key)
            if key not in old or key not in new:
                side = "only in this run" if key in new else "only in the partial"
                out.append(f"{name} ({side})")
            else:
                out.extend(_differences(old[key], new[key], name))
        return out
    return [] if old == new else [f"{at}: {old!r} then, {new!r} now"]


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
        if cfg.workers is not None and cfg.workers < 1:
            raise EvalError(f"--workers: {cfg.workers} is not a number of processes (at least 1)")
        if cfg.batch is not None:
            if cfg.scorer != "llm":
                raise EvalError("--batch sends the LLM judge's calls; it needs --scorer llm")
            if cfg.cache_mode in ("off", "replay"):
                raise EvalError(f"--batch stores the batch's replies in the call cache, so it "
                                f"needs --cache live or record (not {cfg.cache_mode})")
            if not cfg.batch_poll_s > 0:
                raise EvalError("--batch-poll: must be a positive number of seconds")
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
        self._by_id = {item.id: item for item in self.items}
        self.rubrics = default_rubrics()
        self.cases = default_cases()
        warn_broken()  # a broken case file is left out (an interview of it failed to load)
        self.calls: list[CallRecord] = []
        self.prices = load_prices()  # once: every task's usage is priced with it
        # Each scoring task runs wholly on one worker thread, so a thread-local list collects
        # exactly that task's calls (the scorers are shared between concurrent tasks).
        self._task_calls = threading.local()
        self.earlier_usage: dict[str, Any] | None = None  # from the partial file, on resume
        self._preload: _Preload | None = None
        self._batch_rows: list[dict[str, Any]] = []  # batches an earlier run submitted
        self._batch: Any = None  # evals.batch_run.BatchPhase, with --batch
        self.earlier_rows_without_usage = 0
        self.cache: CallCache | None = None
        self.scorers: list[Scorer] = []
        self.clients: list[ModelClient] = []
        self._errors: tuple[type[Exception], ...] = (OSError,)  # a task's own failure
        if cfg.scorer == "offline":
            # Imported here: the judge's runs never load the offline scorer's reading modules.
            from agent.scorers import OfflineScorer

            check_offline_data()
            self.scorers = [OfflineScorer(self.rubrics)] * cfg.repeats
        else:
            self._llm_scorers()

    def _llm_scorers(self) -> None:
        from agent.judge import LLMJudge
        from agent.model.client import ModelClient, ModelError
        from agent.paths import home

        self._errors = (ModelError, OSError)
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
        cfg = self.cfg
        llm = cfg.scorer == "llm"
        if llm:  # the judge imports the SDK, which an offline run never needs
            from agent.judge import judge_prompt_version
        else:  # and an LLM run never needs the offline scorer
            from agent.scorers import EXCELLENT_MEAN, RULES
        return {
            "scorer": cfg.scorer,
            "model": self.clients[0].model if llm else None,
            "base_url": cfg.settings.base_url if llm else None,
            "temperature": cfg.temperature if llm else None,
            "prompt_hashes": judge_prompt_version() if llm else None,
            "rubric_hashes": dict(self.rubrics.hashes),
            "rubric_version": self.rubrics.version,
            # What else shapes the scores: the case files (facts, notes, criteria) both
            # scorers read, and the prompt data files the offline scorer reads, from the
            # folders in use (INTERVIEWER_CASES / INTERVIEWER_PROMPTS honoured).
            "case_hashes": self.case_hashes(),
            "prompt_data_hashes": None if llm else file_hashes(
                data_dir("prompts"), list(OFFLINE_PROMPT_FILES)),
            # The offline scorer's own rules version and calibration (agent/scorers.py).
            "offline_rules": None if llm else f"{RULES}:excellent={EXCELLENT_MEAN}",
            "dataset": {"path": str(cfg.dataset), "name": self.dataset.name,
                        "sha256": self.dataset.sha256, "items": len(self.items)},
            "repeats": cfg.repeats, "seed": cfg.seed, "concurrency": cfg.concurrency,
            "rpm": cfg.rpm, "cache": cfg.cache_mode if llm else None, "limit": cfg.limit,
            "judge_samples": cfg.judge_samples if llm else None,
            "bootstrap_resamples": cfg.n_boot, "batch": self.batch_provider(),
        }

    def case_hashes(self) -> dict[str, str]:
        """Each case file's hash, by case id (a case's file is ``<id>.yaml``)."""
        hashes = file_hashes(data_dir("cases"), [f"{cid}.yaml" for cid in sorted(self.cases)])
        return {name.removesuffix(".yaml"): h for name, h in hashes.items()}

    def fingerprint_knobs(self) -> dict[str, Any]:
        """The knobs a resumed run must share with the partial file (not the pace settings)."""
        return {key: v for key, v in self.knobs().items()
                if key not in ("concurrency", "rpm", "cache", "bootstrap_resamples", "batch")}

    def fingerprint(self) -> str:
        k = self.fingerprint_knobs()
        return hashlib.sha256(json.dumps(k, sort_keys=True).encode()).hexdigest()[:16]

    def batch_provider(self) -> str | None:
        """The batch API --batch uses ("auto": Fireworks for its hosts, else OpenAI's)."""
        if self.cfg.batch in (None, "auto"):
            if self.cfg.batch is None:
                return None
            from agent.model.batch import guess_provider

            return guess_provider(self.clients[0].settings.base_url if self.clients else None)
        return self.cfg.batch

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
            rows = [r for r in (_row(line) for line in lines[1:]) if r is not None]
            if not any("result" in r or "batch" in r or "batch_done" in r for r in rows):
                # Nothing was saved (a run that failed before its first task, e.g. on a bad
                # data file): nothing to resume and nothing to lose, so start over.
                path.unlink()
                return {}
            saved = header.get("settings")
            diffs = _differences(saved, self.fingerprint_knobs()) if isinstance(
                saved, dict) else ["the partial file does not record its settings"]
            what = "; ".join(diffs[:6]) + (f"; {len(diffs) - 6} more" if len(diffs) > 6 else "")
            raise EvalError(f"{path} is a partial run with different settings ({what}); delete "
                            "it or rerun with the same settings to resume")
        done: dict[Task, dict[str, Any]] = {}
        earlier = dict(ZERO_USAGE)
        without = 0
        for line in lines[1:]:
            row = _row(line)
            if row is None:
                continue  # a line cut short by a kill: that task runs again
            if "batch" in row or "batch_done" in row:
                self._batch_rows.append(row)
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
        item = self._by_id[item_id]
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
            if self._batch is None or self._batch.failures != "report":
                raise
            why = self._batch.failure_of(task) or "the judge's reply needed a re-ask, which "\
                "is a live call"
            return None, f"batch: {why} (--batch-failures report)", usage_of(mine, self.prices)
        except self._errors as e:
            return None, str(e), usage_of(mine, self.prices)
        finally:
            self._task_calls.calls = None

    def _record_row(self, task: Task, result: dict[str, Any] | None, error: str | None,
                    usage: dict[str, Any], done: dict[Task, dict[str, Any]],
                    failed: dict[Task, str], sink: IO[str]) -> None:
        row: dict[str, Any] = {"item": task[0], "step": task[1], "repeat": task[2]}
        if result is None:
            failed[task] = row["error"] = error or "failed"
        else:
            done[task] = row["result"] = result
        row["usage"] = usage
        sink.write(json.dumps(row) + "\n")

    def workers_for_calls(self) -> int:
        """Threads scoring with the judge: --concurrency requests are in flight at once (the
        endpoint's scheduler holds the rest back), and a few more threads build prompts and
        check replies meanwhile, so a request slot is never kept waiting on that work."""
        return self.cfg.concurrency + max(2, self.cfg.concurrency // 4)

    def _score_in_background(self, task: Task) -> tuple[dict[str, Any] | None, str | None,
                                                        dict[str, Any]]:
        """:meth:`_score_counted` with each HTTP request taking one of the --concurrency
        slots of the endpoint's scheduler (agent/model/scheduler.py). Every client of a run
        has the same endpoint, so they share that one scheduler."""
        with self.clients[0].scheduler.background():
            return self._score_counted(task)

    async def _run_tasks(self, todo: list[Task], done: dict[Task, dict[str, Any]],
                         failed: dict[Task, str], sink: IO[str], bar: Progress) -> None:
        threads = self.workers_for_calls()
        self.clients[0].scheduler.set_max_concurrency(self.cfg.concurrency)
        sem = asyncio.Semaphore(threads)
        limiter = RateLimiter(self.cfg.rpm)
        loop = asyncio.get_running_loop()
        pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="eval")

        async def one(task: Task) -> None:
            async with sem:
                await limiter.wait()
                result, error, usage = await loop.run_in_executor(pool,
                                                                  self._score_in_background,
                                                                  task)
                self._record_row(task, result, error, usage, done, failed, sink)
                sink.flush()  # a model call is worth keeping the moment it is paid for
                bar.advance(failed=result is None)
                self._start_preload()  # with a cache, the first task may call no one

        async def preload_once_sent() -> None:
            # The one-off loads hold the interpreter for ~0.3 s: once every slot holds a
            # request they run while the replies are awaited, not while the first replies
            # wait for them (and never before the first requests are out).
            scheduler = self.clients[0].scheduler
            want = min(self.cfg.concurrency, len(todo))
            while self._preload is None and scheduler.peak_background < want:
                await asyncio.sleep(0.005)
            self._start_preload()

        # Many threads each waiting on a reply, each needing the interpreter for a few
        # milliseconds when it comes: a shorter switch interval than Python's 5 ms lets a
        # thread whose reply is in take over sooner (measured: ~0.4 s of 14 in bench_eval's
        # judge section).
        switch = sys.getswitchinterval()
        sys.setswitchinterval(min(switch, SWITCH_INTERVAL_S))
        try:
            await asyncio.gather(preload_once_sent(), *(one(t) for t in todo))
        finally:
            sys.setswitchinterval(switch)
            pool.shutdown(wait=True, cancel_futures=True)

    def _batch_phase(self, todo: list[Task], sink: IO[str], progress: bool) -> None:
        """With --batch, fill the call cache through the provider's batch API first."""
        provider = self.batch_provider()
        if provider is None:
            if any("batch" in row for row in self._batch_rows):
                sys.stderr.write("eval run: note: the partial results name a batch submitted "
                                 "with --batch; it is not collected without --batch (calling "
                                 "the endpoint live instead)\n")
            return
        from agent.model.batch import BatchError
        from evals.batch_run import BatchPhase

        try:
            self._batch = BatchPhase(self, provider, poll_s=self.cfg.batch_poll_s,
                                     failures=self.cfg.batch_failures,
                                     account=self.cfg.batch_account)
            self._batch.resume_from(self._batch_rows)
            if todo or self._batch.pending:
                self._batch.execute(todo, sink, progress)
        except (BatchError, ValueError) as e:
            raise EvalError(str(e)) from None

    def workers(self) -> int:
        """Processes offline scoring may use (--workers, else one per CPU)."""
        from evals.parallel import cpu_count

        return self.cfg.workers or cpu_count()

    def _run_offline(self, todo: list[Task], done: dict[Task, dict[str, Any]],
                     failed: dict[Task, str], sink: IO[str], bar: Progress) -> None:
        """Score in this process; hand the rest to a process pool when the first tasks show it
        would save more than starting one costs (straight away with an explicit --workers N).

        The first interview's tasks warm the scorer up (its lazy caches make them many times
        slower than the rest), so the estimate uses the tasks after them."""
        from evals import parallel

        workers = self.workers()
        explicit = self.cfg.workers is not None and self.cfg.workers > 1
        warm = len(SCORED) * self.cfg.repeats
        started = last_flush = time.perf_counter()
        warmed_at: float | None = None
        queue = list(todo)
        scored = 0
        use_pool = explicit and len(queue) > 1
        while queue and not use_pool:
            task = queue.pop(0)
            result, error, usage = self._score_counted(task)
            self._record_row(task, result, error, usage, done, failed, sink)
            bar.advance(failed=result is None)
            scored += 1
            now = time.perf_counter()
            if now - last_flush > FLUSH_S:
                sink.flush()
                last_flush = now
            if scored == warm:
                warmed_at = now
            if workers < 2 or warmed_at is None or scored < warm + 7 or now - warmed_at < (
                    PROBE_S):
                continue
            rate = (now - warmed_at) / (scored - warm)  # seconds per warm task
            startup = 0.2 if sys.platform.startswith("linux") else 0.6 + (warmed_at - started)
            use_pool = rate * len(queue) * (1 - 1 / workers) > 2 * startup
            break
        if not use_pool:
            self._start_preload()
            for task in queue:
                result, error, usage = self._score_counted(task)
                self._record_row(task, result, error, usage, done, failed, sink)
                bar.advance(failed=result is None)
                now = time.perf_counter()
                if now - last_flush > FLUSH_S:
                    sink.flush()
                    last_flush = now
            return
        per_task = (time.perf_counter() - (warmed_at or started)) / max(1, scored - warm)
        # Chunks of about a quarter second of work: smooth progress, little lost on Ctrl-C.
        size = 7 * self.cfg.repeats if not scored else int(min(200, max(
            7, 0.25 / max(per_task, 1e-6))))
        jobs = [(t, self._by_id[t[0]].case, self._by_id[t[0]]) for t in queue]
        no_usage = usage_of([], self.prices)
        sink.flush()  # a forked child must not inherit unwritten rows
        sys.stderr.flush()
        with bar.paused(), self._preload_paused():
            pool = parallel.Pool(workers, self.scorers[0], self.rubrics, self.cases)
        self._start_preload()  # only now: a thread running at the fork would have stopped it
        bar.update(status=f"{workers} processes")
        with pool, collector_paused():
            for task, result, error in pool.run(parallel.chunked(jobs, size)):
                self._record_row(task, result, error, no_usage, done, failed, sink)
                bar.advance(failed=result is None)
                now = time.perf_counter()
                if now - last_flush > FLUSH_S:
                    sink.flush()
                    last_flush = now

    # -- the analysis libraries load on a background thread while scoring runs ---------------

    def _start_preload(self) -> None:
        """The analysis and the output writers' imports, on a background thread; for the
        judge, what its replies load on first use before them (:func:`warm_judge`)."""
        if self._preload is None:
            self._preload = _Preload("evals.analysis", "evals.outputs", warm=(
                warm_judge if self.cfg.scorer == "llm" else None))

    @contextmanager
    def _preload_paused(self) -> Iterator[None]:
        """No import thread runs inside (it is started after the offline pool forks; this
        only waits for one started earlier)."""
        if self._preload is not None:
            self._preload.wait()
        yield

    def _analysis(self) -> Any:
        self._start_preload()
        assert self._preload is not None
        return self._preload.module()

    def execute(self, progress: bool = True) -> dict[str, Any]:
        """Score everything not already in the partial file, then build the results.
        ``progress``: show progress on stderr (a bar on a terminal, else a line every few
        seconds)."""
        started = time.perf_counter()
        # The analysis imports load on a background thread: for the judge once its first
        # replies are in (see _run_tasks), offline after a process pool forks (_run_offline).
        done = self.load_partial()
        tasks = self.tasks()
        todo = [t for t in tasks if t not in done]
        failed: dict[Task, str] = {}
        path = self.partial_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.is_file()
        with path.open("a", encoding="utf-8") as sink:
            if fresh:
                sink.write(json.dumps({"fingerprint": self.fingerprint(),
                                       "settings": self.fingerprint_knobs()}) + "\n")
            try:
                self._batch_phase(todo, sink, progress)
                bar = Progress("eval run", len(tasks), completed=len(tasks) - len(todo),
                               unit=f"scoring tasks ({self.cfg.scorer})", quiet=not progress)
                with bar:
                    if self.cfg.scorer == "offline":
                        self._run_offline(todo, done, failed, sink, bar)
                    else:
                        asyncio.run(self._run_tasks(todo, done, failed, sink, bar))
            except CacheMiss as e:
                raise EvalError(str(e)) from None
            except KeyboardInterrupt:
                sink.flush()
                if self._batch is not None and self._batch.pending:
                    sys.stderr.write(f"eval run: stopped; {self._batch.interrupted()}\n")
                else:
                    sys.stderr.write(
                        f"eval run: stopped with {len(done)} of {len(tasks)} scoring "
                        f"tasks saved in {path}; rerun the same command to resume from there "
                        "(delete that file to start over)\n")
                raise
        elapsed = time.perf_counter() - started
        with collector_paused():
            results = self.assemble(done, failed)
            analysis = self._analysis()
            t0 = time.perf_counter()
            results["metrics"] = analysis.analyse(results, n_boot=self.cfg.n_boot,
                                                  seed=self.cfg.seed)
        results["timing"] = {"seconds": round(elapsed, 3), "tasks": len(tasks),
                             "resumed": len(tasks) - len(todo),
                             "analysis_seconds": round(time.perf_counter() - t0, 3)}
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
                # each run's criteria by id, the first of an id (None: the task failed)
                by_id = [{x["id"]: x for x in reversed(run["criteria"])} if run else None
                         for run in runs]
                for c in self.rubrics[step].criteria:
                    if runs and all(got is not None and c.id not in got for got in by_id):
                        continue  # the case leaves it out (criteria: {id: {applies: false}})
                    found = [got.get(c.id) if got is not None else None for got in by_id]
                    criteria[c.id] = {
                        "gold": {r: g[c.id] for r, g in gold_crit.items() if c.id in g},
                        "predicted": [x["level"] if x else None for x in found],
                    }
                    samples = [x.get("samples") if x else None for x in found]
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
                "batch": self._batch.usage if self._batch is not None and self._batch.usage[
                    "batches"] else None,
                "earlier": earlier if earlier and earlier["calls"] else None,
                "earlier_tasks_without_usage": self.earlier_rows_without_usage,
                "cache": self.cache.stats() if self.cache else None}


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic collector off around work that makes many objects and no reference cycles:
    storing the offline workers' results (plain dicts and lists), assembling the results and
    the analysis (numpy arrays). Each full collection inside walked every result stored so
    far: 0.1-0.2 s apiece, four in an offline run of 7,000 tasks (in the main process, whose
    CPU the workers need). Cycles made inside, if any, are collected once it is back on."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def warm_judge() -> None:
    """Load what the LLM judge's first replies would otherwise load, each on first use: the
    tokenizer (the usage counts, ~0.15 s) and the quote check's word lists and compiled
    expressions (agent/evidence.py ``supports``, ~0.05 s). Both hold the interpreter, so every
    reply that came in behind the first waited for them. Nothing is computed that a call
    would not compute: ``supports`` is a pure function, cached per quote."""
    from agent import tokens
    from agent.evidence import supports

    tokens.exact()
    supports("We would cap the queue at 200 requests and watch p99 latency per tenant.")


class _Preload:
    """Import a module on a background thread; ``module()`` waits for it (and re-raises an
    import error in the caller's thread). ``warm`` runs first on that thread, and ``also``
    (more modules) after it; their errors are left to the code that uses them (it meets them
    again when it loads them itself)."""

    def __init__(self, name: str, *also: str, warm: Callable[[], None] | None = None) -> None:
        import importlib

        self.name = name
        self._also = also
        self._warm = warm
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._load, args=(importlib,), daemon=True,
                                        name=f"import {name}")
        self._thread.start()

    def _load(self, importlib: Any) -> None:
        if self._warm is not None:
            with contextlib.suppress(Exception):  # the task that needs it fails with it
                self._warm()
        try:
            importlib.import_module(self.name)
        except BaseException as e:  # surfaced by module(), in the caller's thread
            self._error = e
            return
        for name in self._also:
            with contextlib.suppress(Exception):  # raised again where it is imported for use
                importlib.import_module(name)

    def wait(self) -> None:
        self._thread.join()

    def module(self) -> Any:
        import importlib

        self._thread.join()
        if self._error is not None:
            raise self._error
        return importlib.import_module(self.name)


def results_json(results: dict[str, Any]) -> str:
    """The results as JSON that reads in an editor and diffs well: one top-level key per line,
    and each item, failure and metric on a line of its own.

    Each piece goes through the json module's C encoder (``indent`` would switch it to the
    pure-Python one: 0.1 s for the 1 MB of a 1,000-call judge run, against 0.015 s)."""
    def one(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    def block(value: Any) -> str:
        if isinstance(value, list) and value:
            return "[\n  " + ",\n  ".join(one(v) for v in value) + "\n ]"
        if isinstance(value, dict) and value:
            return "{\n  " + ",\n  ".join(f"{one(k)}: {one(v)}" for k, v in value.items()) \
                + "\n }"
        return one(value)

    return "{\n" + ",\n".join(f" {one(k)}: {block(v)}" for k, v in results.items()) + "\n}\n"


def write_results(results: dict[str, Any], output: Path) -> list[Path]:
    """results JSON plus Markdown, HTML and JUnit XML beside it; returns the paths written."""
    from evals.outputs import to_html, to_junit, to_markdown

    output.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for path, text in ((output, results_json(results)),
                       (output.with_suffix(".md"), to_markdown(results)),
                       (output.with_suffix(".html"), to_html(results)),
                       (output.with_suffix(".junit.xml"), to_junit(results))):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return written


def run_eval(cfg: EvalConfig, progress: bool = True, *,
             ready: Callable[[], None] | None = None) -> tuple[dict[str, Any], Dataset]:
    """Run, write the results, remove the partial file. ``ready`` is called once the run is
    built (data files, dataset, scorers loaded) and before it scores anything."""
    run = Run(cfg)
    if ready is not None:
        ready()
    try:
        results = run.execute(progress)
    finally:
        run.close()
    write_results(results, cfg.output)
    run.partial_path().unlink(missing_ok=True)
    return results, run.dataset
