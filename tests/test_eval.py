"""The eval harness: dataset validation, runs, resume, record/replay, compare, behaviour."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from evals.dataset import DatasetError, load_dataset
from evals.fake_endpoint import FakeEndpoint
from evals.fake_responder import interviewer_responder
from tests.conftest import ROOT, cli_env, run_cli

DEV = ROOT / "evals" / "datasets" / "dev.jsonl"
HELDOUT = ROOT / "evals" / "datasets" / "heldout.jsonl"


def first_lines(n: int, tmp: Path) -> Path:
    path = tmp / "small.jsonl"
    path.write_text("".join(DEV.read_text().splitlines(keepends=True)[:n]))
    return path


def results_of(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def predictions(results: dict[str, Any]) -> dict[str, Any]:
    return {i["id"]: ({k: v["predicted"] for k, v in i["steps"].items()},
                      {k: v["predicted"] for k, v in i["criteria"].items()})
            for i in results["items"]}


def test_shipped_datasets_meet_the_brief() -> None:
    dev, held = load_dataset(DEV), load_dataset(HELDOUT)
    items = dev.interviews + held.interviews
    assert len(items) >= 40 and len({i.case for i in items}) >= 6
    assert sum(1 for i in items if len(i.labels) >= 2) >= 10
    assert {i.id for i in dev.interviews}.isdisjoint({i.id for i in held.interviews})
    injections = sum(len(i.meta.get("injections", [])) for i in items)
    assert injections >= 20
    tags = {p for i in items for p in i.meta.get("profile", {}).values()}
    assert {"strong", "weak", "off-topic", "rambling", "long-empty", "injection"} <= tags


@pytest.mark.parametrize(("line", "message"), [
    ("{not json", "invalid JSON"),
    ('{"id": "x", "case": "nope", "turns": [{"role": "candidate", "step": "clarify", '
     '"text": "hi"}]}', "unknown case 'nope'"),
    ('{"id": "x", "case": "gpu-price-shift"}', "missing field 'turns'"),
    ('{"id": "x", "case": "gpu-price-shift", "turns": [{"role": "candidate", "step": "clarify",'
     ' "text": "hi"}], "labels": [{"rater": "a", "steps": {"clarify": 5}}]}',
     "field 'labels.0.steps.clarify'"),
    ('{"id": "x", "case": "gpu-price-shift", "turns": [{"role": "robot", "step": "clarify", '
     '"text": "hi"}]}', "field 'turns.0.role'"),
    ('{"id": "x", "case": "gpu-price-shift", "turns": [{"role": "candidate", "step": "clarify",'
     ' "text": "hi"}], "labels": [{"rater": "a", "criteria": {"goals.nope": 2}}]}',
     "unknown criterion 'goals.nope'"),
])
def test_bad_dataset_lines_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    good = DEV.read_text().splitlines()[0]
    path.write_text(good + "\n\n" + line + "\n")
    with pytest.raises(DatasetError) as info:
        load_dataset(path)
    assert str(info.value).startswith(f"{path}:3: ") and message in str(info.value)


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.jsonl"
    good = DEV.read_text().splitlines()[0]
    path.write_text(good + "\n" + good + "\n")
    with pytest.raises(DatasetError, match=r"dup\.jsonl:2: duplicate id .* \(first on line 1\)"):
        load_dataset(path)


def test_offline_run_writes_results_summaries_and_junit(home: Path, tmp_path: Path) -> None:
    data = first_lines(4, tmp_path)
    out = tmp_path / "base.json"
    res = run_cli(home, "eval", "run", str(data), "--output", str(out), "--bootstrap", "50")
    assert res.returncode == 0, res.stderr
    assert "QWK" in res.stdout
    results = results_of(out)
    k = results["knobs"]
    assert k["scorer"] == "offline" and k["dataset"]["items"] == 4
    assert len(k["dataset"]["sha256"]) == 64 and set(k["rubric_hashes"]) >= {"clarify"}
    item = results["items"][0]
    assert {"gold", "predicted"} <= set(item["steps"]["diagnose"])
    assert item["criteria"]["diagnose.ranked_hypotheses"]["gold"]["r1"] in (1, 2, 3, 4)
    m = results["metrics"]
    assert m["overall"]["criteria"]["n"] == 4 * 40 and "ci95" in m["overall"]["criteria"]
    assert set(m["per_step"]) == {"clarify", "diagnose", "goals", "prioritize", "solutions",
                                  "validate", "cross_cutting"}
    assert m["level_distribution"]["predicted"]["levels_used"] >= 2
    assert out.with_suffix(".md").read_text().startswith("# Eval results")
    assert "<table>" in out.with_suffix(".html").read_text()
    junit = out.with_suffix(".junit.xml").read_text()
    assert '<testsuite name="eval small (offline)" tests="6"' in junit
    assert not out.with_name(out.name + ".partial.jsonl").exists()

    # Compared with itself: no changes, exit 0 even with the gate on.
    res = run_cli(home, "eval", "compare", str(out), str(out), "--fail-on-regression",
                  "--bootstrap", "50")
    assert res.returncode == 0, res.stderr
    assert "No item's level changed." in res.stdout and "No regression" in res.stdout


def test_repeats_report_test_retest(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    res = run_cli(home, "eval", "run", str(first_lines(2, tmp_path)), "--output", str(out),
                  "--repeats", "2", "--bootstrap", "0")
    assert res.returncode == 0, res.stderr
    tr = results_of(out)["metrics"]["test_retest"]
    assert tr["k"] == 2 and tr["exact"] == 1.0  # the offline scorer is deterministic


def test_compare_flags_regressions_and_refuses_other_datasets(home: Path,
                                                              tmp_path: Path) -> None:
    data = first_lines(6, tmp_path)
    base = tmp_path / "base.json"
    assert run_cli(home, "eval", "run", str(data), "--output", str(base),
                   "--bootstrap", "0").returncode == 0
    worse = results_of(base)
    for item in worse["items"]:       # a scorer that says 1 to everything
        for entry in (*item["steps"].values(), *item["criteria"].values()):
            entry["predicted"] = [1]
    new = tmp_path / "worse.json"
    new.write_text(json.dumps(worse))
    res = run_cli(home, "eval", "compare", str(base), str(new), "--fail-on-regression",
                  "--bootstrap", "200")
    assert res.returncode == 1, res.stdout
    assert "REGRESSION: qwk" in res.stdout and "| gold | base | new |" in res.stdout
    res = run_cli(home, "eval", "compare", str(base), str(new), "--bootstrap", "50")
    assert res.returncode == 0  # without the gate it only reports
    other = results_of(base)
    other["knobs"]["dataset"]["sha256"] = "0" * 64
    (tmp_path / "other.json").write_text(json.dumps(other))
    res = run_cli(home, "eval", "compare", str(base), str(tmp_path / "other.json"))
    assert res.returncode == 1 and "refusing to compare runs over different datasets" in (
        res.stderr)


def test_record_then_replay_with_the_endpoint_stopped(home: Path, tmp_path: Path) -> None:
    data = first_lines(3, tmp_path)
    cache = tmp_path / "cache.sqlite"
    with FakeEndpoint(responder=interviewer_responder) as ep:
        res = run_cli(home, "eval", "run", str(data), "--output", str(tmp_path / "live.json"),
                      "--scorer", "llm", "--cache", "record", "--cache-file", str(cache),
                      "--base-url", ep.url, "--model", "fake-model", "--bootstrap", "50")
        assert res.returncode == 0, res.stderr
        served = len(ep.requests)
        url = ep.url
    assert served >= 3 * 7
    live = results_of(tmp_path / "live.json")
    res = run_cli(home, "eval", "run", str(data), "--output", str(tmp_path / "replay.json"),
                  "--scorer", "llm", "--cache", "replay", "--cache-file", str(cache),
                  "--base-url", url, "--model", "fake-model", "--bootstrap", "50")
    assert res.returncode == 0, res.stderr
    replay = results_of(tmp_path / "replay.json")
    assert predictions(replay) == predictions(live)
    assert replay["metrics"]["overall"] == live["metrics"]["overall"]
    assert replay["usage"]["cache"]["hits"] == served and replay["usage"]["cache"]["misses"] == 0

    # A changed judge prompt misses under replay, with a message that says so.
    prompts = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts", prompts)
    (prompts / "judge.md").write_text((prompts / "judge.md").read_text() + "\nBe strict.\n")
    res = run_cli(home, "eval", "run", str(data), "--output", str(tmp_path / "x.json"),
                  "--scorer", "llm", "--cache", "replay", "--cache-file", str(cache),
                  "--base-url", url, "--model", "fake-model", INTERVIEWER_PROMPTS=str(prompts))
    assert res.returncode == 1
    assert "replay: no recorded reply for the judge call to fake-model" in res.stderr
    assert "record again with --cache record" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.slow
def test_an_interrupted_run_resumes(home: Path, tmp_path: Path) -> None:
    data = first_lines(4, tmp_path)
    out = tmp_path / "run.json"
    args = [sys.executable, "-m", "agent", "eval", "run", str(data), "--output", str(out),
            "--scorer", "llm", "--cache", "off", "--model", "fake-model", "--concurrency", "1",
            "--bootstrap", "0", "--quiet"]
    with FakeEndpoint(latency_ms=60, responder=interviewer_responder) as ep:
        proc = subprocess.Popen([*args, "--base-url", ep.url], env=cli_env(home), cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        partial = out.with_name(out.name + ".partial.jsonl")
        deadline = time.time() + 30
        while time.time() < deadline:
            if partial.exists() and len(partial.read_text().splitlines()) >= 8:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        done_before = len(partial.read_text().splitlines()) - 1
        assert 0 < done_before < 4 * 7
        res = subprocess.run([*args, "--base-url", ep.url], env=cli_env(home), cwd=ROOT,
                             capture_output=True, text=True, check=False)
        assert res.returncode == 0, res.stderr
        resumed = results_of(out)
        assert resumed["timing"]["resumed"] >= done_before - 1
        full = tmp_path / "full.json"
        res = subprocess.run([*args[:7], str(full), *args[8:], "--base-url", ep.url],
                             env=cli_env(home), cwd=ROOT, capture_output=True, text=True,
                             check=False)
        assert res.returncode == 0, res.stderr
    assert predictions(resumed) == predictions(results_of(full))


def test_behaviour_eval_finds_no_leaks_offline(home: Path) -> None:
    res = run_cli(home, "eval", "behaviour", str(DEV))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "rubric text shown to the candidate: 0" in res.stdout
    assert "facts revealed without being asked: 0" in res.stdout


def test_simulated_candidates_separate(home: Path) -> None:
    res = run_cli(home, "eval", "simulate", "--cases", "fintech-p99-spikes,gpu-price-shift")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "strong > average > weak: yes" in res.stdout
    adv = float(res.stdout.split("adversarial minus average:")[1].split()[0])
    assert adv <= 0.0
