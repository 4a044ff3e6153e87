"""The engine's own time per candidate turn, with the model's time taken out.

Drives full scripted interviews through ``agent.engine`` (Engine / Session.answer / command) and,
for every candidate turn, measures the wall time of the call minus the time the turn spent inside
model calls. What is left is the engine's own work: the graph step, checkpoint reads and writes,
our own SQLite writes, prompt assembly and token counting. Two rows:

- llm-loopback: a model endpoint on loopback (evals/fake_endpoint.py, no injected latency, the
  scripted interview responder), served by its own process as a real model server would be (in
  this process its threads would take the interpreter from the turn and count as engine time).
  Model-call time = time inside the OpenAI SDK call (``ModelClient._create`` for speech,
  ``ModelClient._post_chat`` for structured calls, plus reading a streamed reply), recorded
  per thread: the step node runs on the calling thread, checkpoint saves on LangGraph's kept
  worker threads, so the model-call time subtracted is that of those threads; background
  scoring (judge calls on finished steps, ``scoring`` threads) is never subtracted and never
  timed.
- offline: no endpoint, no HTTP at all.

By default the benchmark waits, untimed, for background scoring to finish before each turn, as a
candidate's thinking time would; ``--back-to-back`` sends the next answer at once instead, so
scoring threads compete with the turn for the GIL.

Then it times the command line as a user starts it: ``interviewer --help``, ``interviewer
cases`` and a whole piped offline interview (``python -m agent chat``). It prints figures; it
asserts nothing about timing unless ``--check`` is given (exit 1 when the median > 5 ms).

Run from the project root:  python bench/bench_engine.py [--help]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

if TYPE_CHECKING:
    from agent.engine import Engine, Session

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from a checkout
    sys.path.insert(0, str(ROOT))

P = ParamSpec("P")
R = TypeVar("R")
Key = tuple[str, int, str]  # category, thread id, thread name

TARGET_MEDIAN_MS = 5.0
DEFAULT_CASES = ("fintech-p99-spikes", "llama70b-2x-latency", "batch-inference-cost")
MAX_TURNS = 60
PIPED_CASE = "fintech-p99-spikes"
ENDPOINT_ENV = (
    "INTERVIEWER_BASE_URL", "INTERVIEWER_API_KEY", "INTERVIEWER_MODEL", "INTERVIEWER_PROVIDER",
    "INTERVIEWER_API_KEY_FILE", "INTERVIEWER_FALLBACK_MODEL", "OPENAI_API_KEY",
    "FIREWORKS_API_KEY", "OPENAI_BASE_URL",
)

# -- the scripted candidate ---------------------------------------------------------------------
# Clarifying questions, then an assumption statement that closes clarify; in later steps,
# medium answers (under the fake model's 250-character "met" bar, so they draw follow-ups), one
# long answer that moves straight on, and /next.

SCRIPT: dict[str, list[str]] = {
    "clarify": [
        "Is this training or inference? What's the QPS and the latency target?",
        "Who is the customer, and is the workload real time or batch?",
        "How many GPUs serve this today, and what does it cost per month?",
        "I'll assume real-time inference for a strategic customer with a strict p99 target at "
        "peak; to summarise, latency matters more than cost here.",
    ],
    "diagnose": [
        "I'd split the latency into queueing time and model time first, because spikes at "
        "peak usually mean requests queue while autoscaling lags the traffic.",
        "Then cold starts: new replicas take minutes to load weights, so the fleet is short of "
        "capacity exactly at the peak.",
    ],
    "goals": [
        "Goal: p99 under the contracted target at peak, error rate flat, and GPU cost per "
        "request within ten percent of today.",
        "/next",
    ],
    "prioritize": [
        "Latency matters more than cost for this customer, so I would pay for a warm pool of "
        "replicas sized for the peak before anything else, accept a higher GPU bill for a "
        "quarter, and defer the kernel work and quantisation experiments, because they take "
        "longer to land and carry quality risk that a payments customer will not accept.",
    ],
    "solutions": [
        "This week: a dedicated warm pool sized for peak, and admission control so bursts "
        "queue briefly instead of timing out.",
        "Next quarter: an SLA-aware autoscaler that scales on queue depth rather than GPU "
        "utilisation.",
        "Longer term: speculative decoding and a smaller distilled model for the risk score.",
    ],
    "validate": [
        "A/B test on a slice of traffic, watch p99 against GPU utilisation, and roll back "
        "automatically on an SLA breach.",
        "/next",
    ],
}


# -- instrumentation ----------------------------------------------------------------------------

#: Categories timed inside a turn, in the order the breakdown prints them. Each is exclusive
#: (self time): time in a nested category (or a model call) is counted there, not here too.
PARTS: dict[str, str] = {
    "ckpt_write": "checkpoint writes (saver.put / put_writes)",
    "ckpt_read": "checkpoint reads (saver.get_tuple)",
    "state": "state snapshots (graph.get_state, less reads)",
    "db_write": "session db writes (journal, session row, call log)",
    "tokens": "token counting (agent.tokens)",
    "policy": "interviewer policy (clarify/assess/follow-up, prompts)",
    "scoring": "queueing background scoring (scoring.submit)",
}


class Probe:
    """Accumulates exclusive perf_counter time and call counts per (category, thread id, thread
    name); the name is part of the key because thread ids are reused once a thread ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds: dict[Key, float] = defaultdict(float)
        self.calls: dict[Key, int] = defaultdict(int)
        self._local = threading.local()

    def _stack(self) -> list[list[Any]]:
        stack: list[list[Any]] = self._local.__dict__.setdefault("stack", [])
        return stack

    @contextmanager
    def timing(self, cat: str, count: bool = True) -> Iterator[None]:
        """Time the block under ``cat``, less any nested timed block; a block nested in the
        same category is part of the outer one."""
        stack = self._stack()
        if stack and stack[-1][0] == cat:
            yield
            return
        frame: list[Any] = [cat, 0.0]  # category, time spent in nested blocks
        stack.append(frame)
        t0 = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - t0
            stack.pop()
            if stack:
                stack[-1][1] += elapsed
            key = (cat, threading.get_ident(), threading.current_thread().name)
            with self._lock:
                self.seconds[key] += elapsed - frame[1]
                self.calls[key] += int(count)

    def wrap(self, cat: str, fn: Callable[P, R]) -> Callable[P, R]:
        """``fn``, timed under ``cat``."""

        @functools.wraps(fn)  # keeps the signature (LangGraph inspects put_writes')
        def timed(*args: P.args, **kwargs: P.kwargs) -> R:
            with self.timing(cat):
                return fn(*args, **kwargs)

        return timed

    def snapshot(self) -> tuple[dict[Key, float], dict[Key, int]]:
        with self._lock:
            return dict(self.seconds), dict(self.calls)


class _TimedStream:
    """A streamed SDK reply whose reads count as model-call time."""

    def __init__(self, inner: Any, probe: Probe) -> None:
        self._inner, self._probe = inner, probe

    def __enter__(self) -> _TimedStream:
        return self

    def __exit__(self, *exc: object) -> None:
        with self._probe.timing("http", count=False):
            self._inner.__exit__(*exc)

    def __iter__(self) -> Iterator[Any]:
        it = iter(self._inner)
        while True:
            with self._probe.timing("http", count=False):
                chunk = next(it, _END)
            if chunk is _END:
                return
            yield chunk


_END = object()


def instrument_engine(engine: Engine, probe: Probe) -> None:
    """Time the engine's checkpointer, state reads, its own db writes and its model calls."""
    saver: Any = engine.saver
    for name, cat in (("put", "ckpt_write"), ("put_writes", "ckpt_write"),
                      ("get_tuple", "ckpt_read")):
        setattr(saver, name, probe.wrap(cat, getattr(saver, name)))
    graph: Any = engine.graph
    graph.get_state = probe.wrap("state", graph.get_state)
    store: Any = engine.store
    for name in ("journal", "clear_journal", "update_session"):
        setattr(store, name, probe.wrap("db_write", getattr(store, name)))
    client = engine.client
    if client is None:
        return
    if client.recorder is not None:
        client.recorder = probe.wrap("db_write", client.recorder)
    create, post = client._create, client._post_chat

    def timed_create(*args: Any, **kwargs: Any) -> Any:
        with probe.timing("http"):
            result = create(*args, **kwargs)
        return _TimedStream(result, probe) if kwargs.get("stream") else result

    def timed_post(body: dict[str, Any]) -> Any:
        with probe.timing("http"):
            return post(body)

    client._create = timed_create
    client._post_chat = timed_post  # type: ignore[method-assign]  # structured calls


def instrument_session(session: Session, probe: Probe) -> None:
    """Time the session's interviewer policy and the queueing of background scoring."""
    interviewer: Any = session.interviewer
    for name in ("clarify", "assess", "followup"):
        setattr(interviewer, name, probe.wrap("policy", getattr(interviewer, name)))
    scoring: Any = session.scoring
    scoring.submit = probe.wrap("scoring", scoring.submit)


class patched_tokens:
    """Times agent.tokens' counting functions (module-wide) while in use."""

    NAMES = ("count", "count_messages", "truncate")

    def __init__(self, probe: Probe) -> None:
        self.probe = probe
        self.saved: dict[str, Any] = {}

    def __enter__(self) -> None:
        from agent import tokens

        for name in self.NAMES:
            self.saved[name] = getattr(tokens, name)
            setattr(tokens, name, self.probe.wrap("tokens", self.saved[name]))

    def __exit__(self, *exc: object) -> None:
        from agent import tokens

        for name, fn in self.saved.items():
            setattr(tokens, name, fn)


# -- driving interviews -------------------------------------------------------------------------


@dataclass
class Turn:
    case: str
    kind: str
    wall_ms: float
    model_ms: float
    model_calls: int
    cpu_ms: float
    """CPU time of the whole process during the turn (all threads)."""
    turn_cpu_ms: float = 0.0
    """CPU time of the threads that serve the turn (see :func:`turn_cpu`)."""
    parts_ms: dict[str, float] = field(default_factory=dict)

    @property
    def engine_ms(self) -> float:
        return self.wall_ms - self.model_ms

    @property
    def other_ms(self) -> float:
        return self.engine_ms - sum(self.parts_ms.values())


@dataclass
class RowResult:
    label: str
    turns: list[Turn]
    interviews: int
    seconds: float
    model_ms_by_thread: dict[str, float] = field(default_factory=dict)
    """Model-call time over the whole row (warm-up included) by kind of thread."""


def kind_of(step: str, text: str) -> str:
    if text.startswith("/"):
        return text
    if step == "clarify":
        return "clarify: assumptions" if "assume" in text else "clarify: question"
    return "answer"


def _is_turn_thread(name: str) -> bool:
    """Threads that serve the turn: the main thread and LangGraph's executor (the step node,
    checkpoint writes); not background scoring, not the fake endpoint's server threads."""
    return not name.startswith(("scoring", "prime-patterns", "semantic"))


def wait_for_scoring(session: Session) -> None:
    """Let background scoring of finished steps finish (the candidate's thinking time)."""
    futures = list(session.scoring._futures.values())
    if futures:
        wait(futures)


def turn_cpu() -> float:
    """CPU seconds used so far by the threads that serve a turn: the main thread and LangGraph's
    worker threads, not background scoring, the embedding warm-up or the fake endpoint. Unlike
    wall time it is not stretched when other processes take the CPU, so it compares two builds
    on a busy machine."""
    total = 0.0
    for t in threading.enumerate():
        if t.ident is None or not _is_turn_thread(t.name):
            continue
        try:
            total += time.clock_gettime(time.pthread_getcpuclockid(t.ident))
        except (OSError, ProcessLookupError):  # the thread ended meanwhile
            continue
    return total


def thread_kind(name: str) -> str:
    if name == threading.main_thread().name:
        return "main thread"
    if name.startswith("scoring"):
        return "background scoring threads (not subtracted)"
    return "graph executor threads (running the step node)"


def run_interview(engine: Engine, case_id: str, probe: Probe, *, think: bool,
                  keep: list[Turn] | None) -> None:
    """One scripted interview; appends a Turn per candidate turn to ``keep`` (if given)."""
    from agent.cases import get_case

    plan = {step: list(answers) for step, answers in SCRIPT.items()}
    session = engine.start(get_case(case_id))
    instrument_session(session, probe)
    try:
        for _ in range(MAX_TURNS):
            if session.finished():
                break
            if think:
                wait_for_scoring(session)
            step = session.step()
            text = plan[step].pop(0) if plan.get(step) else "/next"
            sec0, calls0 = probe.snapshot()
            c0 = time.process_time()
            tc0 = turn_cpu()
            t0 = time.perf_counter()
            if text.startswith("/"):
                session.command(text[1:])
            else:
                session.answer(text)
            wall = time.perf_counter() - t0
            cpu = time.process_time() - c0
            tcpu = turn_cpu() - tc0
            sec1, calls1 = probe.snapshot()
            model = 0.0
            ncalls = 0
            parts = {cat: 0.0 for cat in PARTS}
            for key, secs in sec1.items():
                cat, _, name = key
                secs -= sec0.get(key, 0.0)
                if not secs or not _is_turn_thread(name):
                    continue
                if cat == "http":
                    model += secs
                    ncalls += calls1[key] - calls0.get(key, 0)
                elif cat in parts:
                    parts[cat] += secs * 1000
            if keep is not None:
                keep.append(Turn(case_id, kind_of(step, text), wall * 1000, model * 1000,
                                 ncalls, cpu * 1000, turn_cpu_ms=tcpu * 1000, parts_ms=parts))
        else:
            raise RuntimeError(f"{case_id}: the scripted interview did not finish in "
                               f"{MAX_TURNS} turns")
    finally:
        session.close()


def run_row(label: str, offline: bool, cases: Sequence[str], rounds: int, warmup: int,
            think: bool, database_url: str | None = None) -> RowResult:
    """Warm-up interviews (untimed), then ``rounds`` interviews per case."""
    from agent.config import Settings
    from agent.engine import Engine

    probe = Probe()
    turns: list[Turn] = []
    with tempfile.TemporaryDirectory(prefix=f"bench-engine-{label.replace('/', '-')}-") as tmp:
        home = Path(tmp)
        saved_home = os.environ.get("INTERVIEWER_HOME")
        os.environ["INTERVIEWER_HOME"] = str(home)
        ep = None if offline else subprocess.Popen(
            [sys.executable, "-m", "evals.fake_endpoint", "--scripted"], cwd=ROOT,
            stdout=subprocess.PIPE, text=True)
        try:
            if ep is not None:
                assert ep.stdout is not None
                url = ep.stdout.readline().strip()
                if not url.startswith("http"):
                    raise RuntimeError("the fake endpoint did not start (no URL on its stdout)")
                settings = Settings(base_url=url, api_key="bench", model="fake-model",
                                    max_retries=0)
            else:
                settings = Settings()
            started = time.perf_counter()
            db = database_url or home / "interviewer.db"
            with Engine(settings, db=db) as engine, patched_tokens(probe):
                instrument_engine(engine, probe)
                for i in range(warmup):
                    run_interview(engine, cases[i % len(cases)], probe, think=think, keep=None)
                for _ in range(rounds):
                    for case_id in cases:
                        run_interview(engine, case_id, probe, think=think, keep=turns)
            seconds = time.perf_counter() - started
        finally:
            if ep is not None:
                ep.terminate()
                ep.wait(10)
            if saved_home is None:
                os.environ.pop("INTERVIEWER_HOME", None)
            else:
                os.environ["INTERVIEWER_HOME"] = saved_home
    by_thread: dict[str, float] = {}
    for (cat, _, name), secs in probe.snapshot()[0].items():
        if cat == "http":
            kind = thread_kind(name)
            by_thread[kind] = by_thread.get(kind, 0.0) + secs * 1000
    return RowResult(label, turns, rounds * len(cases), seconds, by_thread)


# -- the command line as a user runs it ---------------------------------------------------------


def cli_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENDPOINT_ENV}
    env.update({"INTERVIEWER_HOME": str(home), "TERM": "dumb", "NO_COLOR": "1",
                "COLUMNS": "100", "PYTHONUNBUFFERED": "1"})
    return env


def interviewer_cmd() -> list[str]:
    script = Path(sys.executable).with_name("interviewer")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "agent"]


def time_cli(args: Sequence[str], home: Path, repeats: int, stdin: str = "",
             expect: str | None = None) -> list[float]:
    """Wall seconds of each run; a failing run is an error."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        proc = subprocess.run(list(args), input=stdin.encode(), capture_output=True,
                              env=cli_env(home), cwd=ROOT, timeout=120, check=False)
        times.append(time.perf_counter() - t0)
        out = proc.stdout.decode("utf-8", "replace")
        if proc.returncode != 0 or (expect is not None and expect not in out):
            err = proc.stderr.decode("utf-8", "replace").strip()[-500:]
            raise RuntimeError(f"{' '.join(args)} exited {proc.returncode}: {err or out[-500:]}")
    return times


# -- reporting ----------------------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    """Percentile with linear interpolation (q in 0..100)."""
    xs = sorted(values)
    if not xs:
        return float("nan")
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def typical(turns: Sequence[Turn]) -> Turn:
    """The turn whose engine time is the median (the lower middle one for an even count)."""
    ordered = sorted(turns, key=lambda t: t.engine_ms)
    return ordered[(len(ordered) - 1) // 2]


def print_rows(rows: Sequence[RowResult]) -> None:
    print("Engine time per candidate turn (wall of Session.answer/command minus the turn's "
          "model-call time), ms")
    head = f"{'row':<18}{'turns':>7}{'median':>9}{'p90':>9}{'p99':>9}{'max':>9}" \
           f"{'model ms/turn':>15}{'calls/turn':>12}{'cpu median':>12}{'turn cpu':>10}"
    print(head)
    print("-" * len(head))
    for r in rows:
        eng = [t.engine_ms for t in r.turns]
        model = statistics.fmean(t.model_ms for t in r.turns)
        calls = statistics.fmean(t.model_calls for t in r.turns)
        cpu = statistics.median(t.cpu_ms for t in r.turns)
        tcpu = statistics.median(t.turn_cpu_ms for t in r.turns)
        print(f"{r.label:<18}{len(eng):>7}{statistics.median(eng):>9.2f}{pct(eng, 90):>9.2f}"
              f"{pct(eng, 99):>9.2f}{max(eng):>9.2f}{model:>15.2f}{calls:>12.2f}{cpu:>12.2f}"
              f"{tcpu:>10.2f}")
    print("turn cpu: CPU time of the threads serving the turn (main thread, LangGraph's workers), "
          "median; the figure to compare builds with on a busy machine")
    print("cpu median: CPU time of the whole process per turn, all threads (background scoring "
          "included; the fake endpoint runs in a process of its own); unlike wall time, it is "
          "not stretched when other processes take the CPU")
    print()


def print_breakdown(rows: Sequence[RowResult]) -> None:
    print("Where the engine time goes, ms: the typical (median) turn, and the mean over all turns")
    width = 57
    head = f"{'':<{width}}" + "".join(f"{r.label + ' typ':>18}{'mean':>9}" for r in rows)
    print(head)
    print("-" * len(head))
    typ = [typical(r.turns) for r in rows]
    for cat, label in PARTS.items():
        cells = "".join(
            f"{t.parts_ms[cat]:>18.2f}{statistics.fmean(x.parts_ms[cat] for x in r.turns):>9.2f}"
            for t, r in zip(typ, rows, strict=True))
        print(f"{label:<{width}}{cells}")
    cells = "".join(f"{t.other_ms:>18.2f}{statistics.fmean(x.other_ms for x in r.turns):>9.2f}"
                    for t, r in zip(typ, rows, strict=True))
    print(f"{'graph + everything else (the rest)':<{width}}{cells}")
    cells = "".join(f"{t.engine_ms:>18.2f}{statistics.fmean(x.engine_ms for x in r.turns):>9.2f}"
                    for t, r in zip(typ, rows, strict=True))
    print(f"{'= engine time':<{width}}{cells}")
    cells = "".join(f"{t.model_ms:>18.2f}{statistics.fmean(x.model_ms for x in r.turns):>9.2f}"
                    for t, r in zip(typ, rows, strict=True))
    print(f"{'(model-call time, subtracted)':<{width}}{cells}")
    print("typical turn: " + "; ".join(f"{r.label} = {t.case} '{t.kind}', {t.model_calls} model "
                                       "call(s)" for t, r in zip(typ, rows, strict=True)))
    print("(checkpoint writes run on LangGraph's executor thread while the main thread waits; "
          "'the rest' is engine time minus the timed parts)")
    print()


def print_kinds(rows: Sequence[RowResult]) -> None:
    kinds = list(dict.fromkeys(t.kind for r in rows for t in r.turns))
    print("Median engine ms by turn kind")
    head = f"{'kind':<24}" + "".join(f"{r.label + ' (n)':>22}" for r in rows)
    print(head)
    print("-" * len(head))
    for kind in kinds:
        cells = ""
        for r in rows:
            xs = [t.engine_ms for t in r.turns if t.kind == kind]
            cell = f"{statistics.median(xs):.2f} ({len(xs)})" if xs else "-"
            cells += f"{cell:>22}"
        print(f"{kind:<24}{cells}")
    print()


@contextmanager
def postgres_database(args: argparse.Namespace) -> Iterator[str | None]:
    """The PostgreSQL database for the /pg rows, or None without --postgres."""
    if not args.postgres:
        yield None
        return
    if args.database_url:
        yield args.database_url
        return
    from tests.postgres import Cluster

    cluster = Cluster().start()
    try:
        yield cluster.create_database()
    finally:
        cluster.stop()


def load() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "n/a"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="bench/bench_engine.py",
        description="The engine's own time per candidate turn (target: median <= "
                    f"{TARGET_MEDIAN_MS:g} ms), over a loopback model endpoint and offline; "
                    "then CLI start-up and a piped offline interview. Prints figures.")
    p.add_argument("--cases", default=",".join(DEFAULT_CASES),
                   help="comma-separated case ids to interview on (default: %(default)s)")
    p.add_argument("--rounds", type=int, default=5, metavar="N",
                   help="timed interviews per case and row (default: %(default)s)")
    p.add_argument("--warmup", type=int, default=1, metavar="N",
                   help="untimed interviews first, per row (default: %(default)s)")
    p.add_argument("--back-to-back", action="store_true",
                   help="send each answer at once instead of first letting background scoring "
                        "finish (as a candidate's thinking time would)")
    p.add_argument("--postgres", action="store_true",
                   help="also run each row on PostgreSQL: a throwaway server started here "
                   "(needs the server binaries, as the tests do; see tests/postgres.py), or "
                   "the database given by --database-url")
    p.add_argument("--database-url", metavar="URL",
                   help="with --postgres: an existing PostgreSQL database to use instead")
    p.add_argument("--rows", choices=["both", "llm", "offline"], default="both",
                   help="which rows to run (default: both)")
    p.add_argument("--cli-repeats", type=int, default=5, metavar="N",
                   help="runs per CLI timing; the best is reported (default: %(default)s; "
                        "0 skips the CLI timings)")
    p.add_argument("--check", action="store_true",
                   help=f"exit 1 if a row's median engine time exceeds {TARGET_MEDIAN_MS:g} ms")
    args = p.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    if not cases or args.rounds < 1 or args.warmup < 0 or args.cli_repeats < 0:
        p.error("need at least one case, --rounds >= 1, --warmup >= 0, --cli-repeats >= 0")
    from agent.cases import default_cases

    unknown = [c for c in cases if c not in default_cases()]
    if unknown:
        p.error(f"unknown case {unknown[0]!r} (see 'interviewer cases')")

    for name in ENDPOINT_ENV:  # a developer's endpoint must not leak into the offline row
        os.environ.pop(name, None)
    think = not args.back_to_back
    print(f"bench_engine: cases {', '.join(cases)}; {args.rounds} timed interview(s) per case "
          f"per row after {args.warmup} warm-up; "
          + ("background scoring finishes before each turn (untimed)" if think
             else "back to back (background scoring overlaps turns)"))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s), load average "
          f"{load()} (other work on the machine skews the timings)")
    print()

    rows: list[RowResult] = []
    plan: list[tuple[str, bool, str | None]] = [("llm-loopback", False, None),
                                                ("offline", True, None)]
    with postgres_database(args) as url:
        if url is not None:
            plan += [("llm-loopback/pg", False, url), ("offline/pg", True, url)]
        for label, offline, database in plan:
            if args.rows in ("both", label.split("-")[0].split("/")[0]):
                rows.append(run_row(label, offline, cases, args.rounds, args.warmup, think,
                                    database))
    print_rows(rows)
    print_breakdown(rows)
    print_kinds(rows)
    for r in rows:
        print(f"{r.label}: {r.interviews} timed interviews, {r.seconds:.1f} s in all "
              "(warm-up and untimed waits included)")
        for kind, ms in sorted(r.model_ms_by_thread.items()):
            print(f"  model-call time in {kind}: {ms:.0f} ms")
    print()

    if args.cli_repeats:
        # The piped interview the test suite runs (tests/helpers.py), as a terminal reads it.
        from tests.helpers import INTERVIEW_BLOCKS, stdin_of

        piped = stdin_of(INTERVIEW_BLOCKS)
        with tempfile.TemporaryDirectory(prefix="bench-engine-cli-") as tmp:
            home = Path(tmp)
            cmd = interviewer_cmd()
            chat = [sys.executable, "-m", "agent", "chat", "--case", PIPED_CASE]
            timings = [
                (" ".join([Path(cmd[0]).name, *cmd[1:], "--help"]),
                 time_cli([*cmd, "--help"], home, args.cli_repeats)),
                (" ".join([Path(cmd[0]).name, *cmd[1:], "cases"]),
                 time_cli([*cmd, "cases"], home, args.cli_repeats)),
                ("python -m agent chat --case " + PIPED_CASE + " < piped offline interview",
                 time_cli(chat, home, args.cli_repeats, piped,
                          expect="end of the interview")),
            ]
        print(f"Command-line wall time, s (subprocess; best and median of {args.cli_repeats})")
        head = f"{'command':<78}{'best':>8}{'median':>8}"
        print(head)
        print("-" * len(head))
        for label, times in timings:
            print(f"{label:<78}{min(times):>8.3f}{statistics.median(times):>8.3f}")
        print()

    print(f"load average at the end: {load()}")
    missed = [r.label for r in rows
              if statistics.median(t.engine_ms for t in r.turns) > TARGET_MEDIAN_MS]
    verdict = "missed by " + ", ".join(missed) if missed else "met by every row"
    print(f"target: median engine time <= {TARGET_MEDIAN_MS:g} ms per turn: {verdict}")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
