"""Evals at scale: offline scoring over processes (evals/parallel.py) and its interruption."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from evals import parallel
from evals.runner import EvalConfig, Run, run_eval
from tests.conftest import ROOT, cli_env

DEV = ROOT / "evals" / "datasets" / "dev.jsonl"


def first_lines(n: int, tmp: Path, name: str = "small.jsonl") -> Path:
    path = tmp / name
    path.write_text("".join(DEV.read_text().splitlines(keepends=True)[:n]))
    return path


def levels(results: dict[str, Any]) -> dict[str, Any]:
    return {i["id"]: ({k: v["predicted"] for k, v in i["steps"].items()},
                      {k: v["predicted"] for k, v in i["criteria"].items()})
            for i in results["items"]}


@pytest.mark.parametrize("fork", [True, False], ids=["forked", "fork-server"])
def test_offline_scoring_over_processes_equals_one_process(tmp_path: Path, fork: bool,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    data = first_lines(2, tmp_path)
    one, _ = run_eval(EvalConfig(dataset=data, output=tmp_path / "one.json", n_boot=0,
                                 workers=1), progress=False)
    pools: list[parallel.Pool] = []
    real = parallel.Pool.__init__

    def spy(self: parallel.Pool, *args: Any, **kwargs: Any) -> None:
        real(self, *args, **kwargs)
        pools.append(self)

    monkeypatch.setattr(parallel.Pool, "__init__", spy)
    monkeypatch.setattr(parallel, "can_fork", lambda: fork)
    two, _ = run_eval(EvalConfig(dataset=data, output=tmp_path / "two.json", n_boot=0,
                                 workers=2), progress=False)
    assert [p.forked for p in pools] == [fork]  # --workers 2 uses a pool straight away
    assert levels(two) == levels(one)
    assert [i["failed"] for i in two["items"]] == [False] * 2
    assert two["metrics"]["overall"] == one["metrics"]["overall"]
    # The partial file had every task (it is removed once the results are written).
    assert not (tmp_path / "two.json.partial.jsonl").exists()


def test_a_dataset_of_copies_scores_the_same_over_processes(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in DEV.read_text().splitlines()[:2]]
    copies = [dict(rows[k % 2], id=f"{rows[k % 2]['id']}-{k}") for k in range(6)]
    data = tmp_path / "copies.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in copies))
    one, _ = run_eval(EvalConfig(dataset=data, output=tmp_path / "one.json", n_boot=0,
                                 workers=1), progress=False)
    two, _ = run_eval(EvalConfig(dataset=data, output=tmp_path / "two.json", n_boot=0,
                                 workers=2), progress=False)
    assert [i["id"] for i in two["items"]] == [r["id"] for r in copies]
    assert levels(two) == levels(one)
    assert len({json.dumps(v, sort_keys=True) for k, v in levels(two).items()
                if k.startswith(rows[0]["id"])}) == 1


def test_a_chunk_ends_only_where_an_interview_does() -> None:
    # one worker scores all of an interview's steps (the later ones read the earlier answers)
    jobs: list[Any] = [((f"i{n}", step, r), "case", None) for n in range(5)
                       for step in ("a", "b", "c") for r in range(2)]
    chunks = parallel.chunked(jobs, 4)
    assert [len(c) for c in chunks] == [6, 6, 6, 6, 6]
    assert [job for c in chunks for job in c] == jobs
    assert all(len({job[0][0] for job in c}) == 1 for c in chunks)
    assert [len(c) for c in parallel.chunked(jobs, 13)] == [18, 12]
    assert parallel.chunked(jobs[:1], 0) == [jobs[:1]] and parallel.chunked([], 7) == []


def test_a_pool_leaves_no_worker_running(tmp_path: Path) -> None:
    import multiprocessing

    run = Run(EvalConfig(dataset=first_lines(2, tmp_path), output=tmp_path / "r.json",
                         n_boot=0, workers=2))
    try:
        run.execute(progress=False)
    finally:
        run.close()
    # Forked workers are joined when the pool closes (a fork server, if one was used by an
    # earlier test, is not a worker and lives with this process).
    live = [p for p in multiprocessing.active_children() if "ForkServer" not in p.name]
    assert live == []


def test_workers_must_be_a_number_of_processes(home: Path, tmp_path: Path) -> None:
    from tests.conftest import run_cli

    res = run_cli(home, "eval", "run", str(first_lines(1, tmp_path)), "--output",
                  str(tmp_path / "r.json"), "--workers", "0")
    assert res.returncode == 1
    assert "--workers: 0 is not a number of processes (at least 1)" in res.stderr


@pytest.mark.slow
def test_ctrl_c_during_a_process_pool_saves_and_resumes(home: Path, tmp_path: Path) -> None:
    # 12 interviews (84 tasks) on two worker processes, stopped part-way with Ctrl-C.
    data = first_lines(12, tmp_path)
    out = tmp_path / "run.json"
    args = [sys.executable, "-m", "agent", "eval", "run", str(data), "--output", str(out),
            "--workers", "2", "--bootstrap", "0", "--quiet"]
    proc = subprocess.Popen(args, env=cli_env(home), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    partial = out.with_name(out.name + ".partial.jsonl")
    deadline = time.time() + 120
    while time.time() < deadline:
        if partial.exists() and len(partial.read_text().splitlines()) >= 8:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "rerun the same command to resume" in err and "Traceback" not in err
    rows = [json.loads(line) for line in partial.read_text().splitlines()[1:]]
    assert 0 < len(rows) < 84 and all("result" in r for r in rows)
    res = subprocess.run(args, env=cli_env(home), cwd=ROOT, capture_output=True, text=True,
                         check=False)
    assert res.returncode == 0, res.stderr
    resumed = json.loads(out.read_text())
    assert resumed["timing"]["resumed"] >= len(rows)
    fresh, _ = run_eval(EvalConfig(dataset=data, output=tmp_path / "fresh.json", n_boot=0,
                                   workers=1), progress=False)
    assert levels(resumed) == levels(fresh)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers fork on Linux only")
def test_workers_are_forked_when_the_run_has_no_other_thread(tmp_path: Path) -> None:
    """The run pauses its progress thread and starts its import thread only after the fork,
    so the workers are forked (warm, in milliseconds) rather than started from scratch."""
    code = (
        "import sys; from pathlib import Path\n"
        "from evals import parallel\n"
        "from evals.runner import EvalConfig, run_eval\n"
        "made = []\n"
        "real = parallel.Pool.__init__\n"
        "def spy(self, *a, **k):\n"
        "    real(self, *a, **k); made.append(self.forked)\n"
        "parallel.Pool.__init__ = spy\n"
        f"run_eval(EvalConfig(dataset=Path({str(first_lines(2, tmp_path))!r}), "
        f"output=Path({str(tmp_path / 'r.json')!r}), n_boot=0, workers=2), progress=True)\n"
        "print(made)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=False, env=cli_env(tmp_path / "home",
                                                            INTERVIEWER_PROGRESS_INTERVAL="0.05"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[True]"
    assert "eval run: 2 processes, done: 14/14 scoring tasks" in out.stderr


def test_the_results_file_holds_the_results_one_item_a_line(tmp_path: Path) -> None:
    data = first_lines(3, tmp_path)
    out = tmp_path / "r.json"
    results, _ = run_eval(EvalConfig(dataset=data, output=out, n_boot=0, workers=1),
                          progress=False)
    text = out.read_text(encoding="utf-8")
    assert json.loads(text) == json.loads(json.dumps(results))  # nothing lost or changed
    lines = text.splitlines()
    # Each item is one line of its own (greppable, diffable), as is each metric block.
    for item in results["items"]:
        own = [line for line in lines if f'"id": "{item["id"]}"' in line]
        assert len(own) == 1 and '"criteria": {' in own[0] and '"steps": {' in own[0]
    assert lines[0] == "{" and lines[-1] == "}"
    assert any(line.startswith(' "items": [') for line in lines)
    # Candidate text with quotes and non-ASCII stays as written (escaped only as JSON needs).
    weird = {"items": [{"id": "x", "said": 'naïve "quoted"\nline'}], "n": 1, "empty": {}}
    from evals.runner import results_json
    assert json.loads(results_json(weird)) == weird
    assert "naïve" in results_json(weird)


# -- process-level costs of a judge run (issue 13 (e)) ---------------------------------------


def test_a_judge_run_does_not_import_the_offline_scorer(tmp_path: Path) -> None:
    """The judge shares only light helpers with the offline scorer (agent/scorer_common.py):
    building an LLM run imports none of the offline scorer's reading modules; building an
    offline run does."""
    data = first_lines(1, tmp_path)
    heavy = ("agent.scorers", "agent.semantic.claims", "agent.semantic.calls",
             "agent.semantic.premises")
    code = (
        "import sys; from pathlib import Path\n"
        "from agent.config import Settings\n"
        "from evals.runner import EvalConfig, Run\n"
        f"scorer = sys.argv[1]\n"
        f"run = Run(EvalConfig(dataset=Path({str(data)!r}), output=Path({str(tmp_path)!r}) / "
        "'r.json', scorer=scorer, cache_mode='off', settings=Settings(base_url="
        "'http://127.0.0.1:9/v1', api_key='x', model='m')))\n"
        "run.fingerprint()\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n")
    for scorer, want in (("llm", []), ("offline", sorted(heavy))):
        out = subprocess.run([sys.executable, "-c", code, scorer], capture_output=True,
                             text=True, cwd=ROOT, check=False)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == str(want), scorer


def test_a_judge_run_loads_its_first_use_costs_while_the_first_requests_are_out(
        tmp_path: Path) -> None:
    """The tokenizer, the quote check's data and the analysis imports load on a thread once
    every slot holds a request, before any reply is in (not behind the first replies)."""
    from agent import tokens
    from agent.config import Settings
    from evals.fake_endpoint import FakeEndpoint
    from evals.fake_responder import interviewer_responder

    data = first_lines(1, tmp_path)
    with FakeEndpoint(latency_ms=400, responder=interviewer_responder) as ep:
        run = Run(EvalConfig(dataset=data, output=tmp_path / "r.json", scorer="llm",
                             cache_mode="off", concurrency=2, n_boot=0,
                             settings=Settings(base_url=ep.url, api_key="x", model="m")))
        seen: list[tuple[int, int]] = []
        start = run._start_preload

        def noted() -> None:
            if run._preload is None:
                seen.append((len(run.calls), run.clients[0].scheduler.peak_background))
            start()

        run._start_preload = noted  # type: ignore[method-assign]
        try:
            results = run.execute(progress=False)
        finally:
            run.close()
    assert results["usage"]["calls"] == 7 and not results["failures"]["items"]
    assert seen == [(0, 2)]  # both slots taken by a request, no reply in yet
    assert tokens._loaded


def test_the_preload_thread_keeps_the_errors_where_they_belong() -> None:
    from evals.runner import _Preload

    order: list[str] = []

    def warm() -> None:
        order.append("warm")
        raise ValueError("a bad data file")  # met again by the task that needs it

    pre = _Preload("json", "no_such_module_for_this_test", warm=warm)
    assert pre.module().__name__ == "json" and order == ["warm"]
    with pytest.raises(ModuleNotFoundError):
        _Preload("another_missing_module_for_this_test").module()


def test_an_eval_command_leaves_its_start_up_out_of_the_collector(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from agent import cli

    with cli._start_up_uncollected() as ready:  # a test's process: nothing changes
        assert ready is None and gc.isenabled()
    monkeypatch.setattr(cli, "_OWN_PROCESS", True)
    frozen = gc.get_freeze_count()
    try:
        with cli._start_up_uncollected() as ready:
            assert ready is not None and not gc.isenabled()
            ready()
            assert gc.isenabled() and gc.get_freeze_count() > frozen
        assert gc.isenabled()
        with pytest.raises(RuntimeError), cli._start_up_uncollected():  # a failed start-up
            raise RuntimeError("no dataset")
        assert gc.isenabled()
    finally:
        gc.unfreeze()


def test_the_collector_pause_restores_what_it_found() -> None:
    import gc

    from evals.runner import collector_paused

    assert gc.isenabled()
    with pytest.raises(KeyError), collector_paused():
        assert not gc.isenabled()
        raise KeyError("a failed analysis")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # off before: left off
    finally:
        gc.enable()
