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
from tests.helpers import DEV, first_lines, predictions, results_of

HELDOUT = ROOT / "evals" / "datasets" / "heldout.jsonl"








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


def test_a_misspelt_case_or_criterion_gets_a_did_you_mean(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    good = json.loads(DEV.read_text().splitlines()[0])
    for change, message in (
            (lambda d: d.__setitem__("case", d["case"][:-1]),
             f"unknown case {good['case'][:-1]!r}; did you mean {good['case']!r}?"),
            (lambda d: d["labels"][0].__setitem__("criteria", {"goals.latency_metric": 2}),
             "unknown criterion 'goals.latency_metric'; did you mean "
             "'goals.latency_metrics'?")):
        data = json.loads(json.dumps(good))
        change(data)
        path.write_text(json.dumps(data) + "\n")
        with pytest.raises(DatasetError) as info:
            load_dataset(path)
        assert str(info.value).startswith(f"{path}:1: ") and str(info.value).endswith(message)


def test_a_missing_dataset_is_worded_as_a_missing_results_file(home: Path,
                                                              tmp_path: Path) -> None:
    """"PATH: no such file" for both (eval gate says it of a missing results file)."""
    missing = tmp_path / "missing.jsonl"
    with pytest.raises(DatasetError) as info:
        load_dataset(missing)
    assert str(info.value) == f"{missing}: no such file"
    behaviour = run_cli(home, "eval", "behaviour", str(missing))
    gate = run_cli(home, "eval", "gate", str(tmp_path / "missing.json"))
    assert behaviour.returncode == 1 and gate.returncode == 2
    assert behaviour.stderr == f"interviewer: {missing}: no such file\n"
    assert gate.stderr == f"interviewer: {tmp_path / 'missing.json'}: no such file\n"


def _mutated_first_line(change: Any) -> str:
    data = json.loads(DEV.read_text().splitlines()[0])
    change(data)
    return json.dumps(data)


def _set_level(value: Any) -> Any:
    return lambda d: d["labels"][0]["steps"].__setitem__("clarify", value)


def _first_candidate(d: dict[str, Any]) -> int:
    return next(k for k, t in enumerate(d["turns"]) if t["role"] == "candidate")


@pytest.mark.parametrize(("change", "message"), [
    (_set_level("3"), "field 'labels.0.steps.clarify': Input should be a valid integer"),
    (_set_level(3.0), "field 'labels.0.steps.clarify': Input should be a valid integer"),
    (_set_level(True), "field 'labels.0.steps.clarify': Input should be a valid integer"),
    (lambda d: d["labels"][0]["criteria"].__setitem__("clarify.scale", False),
     "field 'labels.0.criteria.clarify.scale': Input should be a valid integer"),
    (lambda d: d["turns"][_first_candidate(d)].__setitem__("text", ""),
     "empty candidate text"),
    (lambda d: d["turns"][_first_candidate(d)].__setitem__("text", " \n\t "),
     "empty candidate text"),
    (lambda d: d.__setitem__("turns", [t for t in d["turns"] if t["role"] != "candidate"]),
     "field 'turns': no candidate turn"),
    (lambda d: d.__setitem__("labels", []), "field 'labels': no rater's labels"),
    (lambda d: d.pop("labels"), "field 'labels': no rater's labels"),
    (lambda d: d["labels"].append({"rater": "r9"}),
     "rater 'r9' labels no step and no criterion"),
], ids=["level-string", "level-float", "level-true", "criterion-false", "empty-text",
        "blank-text", "no-candidate-turn", "labels-empty", "labels-missing", "rater-empty"])
def test_dataset_values_are_strict(tmp_path: Path, change: Any, message: str) -> None:
    path = tmp_path / "strict.jsonl"
    good = DEV.read_text().splitlines()[0]
    path.write_text(good + "\n" + _mutated_first_line(change).replace('"dev-', '"x-', 1) + "\n")
    with pytest.raises(DatasetError) as info:
        load_dataset(path)
    assert str(info.value).startswith(f"{path}:2: ") and message in str(info.value), info.value


def test_strict_levels_still_accept_plain_integers(tmp_path: Path) -> None:
    path = tmp_path / "ok.jsonl"
    path.write_text(_mutated_first_line(_set_level(1)) + "\n")
    assert load_dataset(path).interviews[0].labels[0].steps["clarify"] == 1


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
    md = out.with_suffix(".md").read_text()
    assert md.startswith("# Eval results") and "## Agreement by answer tag" in md
    assert item["profile"]["clarify"] in md.split("## Agreement by answer tag")[1]
    page = out.with_suffix(".html").read_text()
    assert "<table>" in page and "<h2>Per criterion</h2>" in page
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
    # 2, not 1: "these runs cannot be compared" is not "the new run regressed".
    assert res.returncode == 2 and "refusing to compare runs over different datasets" in (
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
        assert resumed["usage"]["earlier"]["calls"] >= done_before - 1
        full = tmp_path / "full.json"
        res = subprocess.run([*args[:7], str(full), *args[8:], "--base-url", ep.url],
                             env=cli_env(home), cwd=ROOT, capture_output=True, text=True,
                             check=False)
        assert res.returncode == 0, res.stderr
    assert predictions(resumed) == predictions(results_of(full))
    # Usage covers the whole run, not only the part after the resume (the call cut off by the
    # kill is lost with its process; at most one per worker).
    assert 0 <= results_of(full)["usage"]["calls"] - resumed["usage"]["calls"] <= 1


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


# -- compare: coverage ------------------------------------------------------------------------


def test_compare_fails_when_the_runs_cover_different_interviews(home: Path,
                                                                tmp_path: Path) -> None:
    data = first_lines(6, tmp_path)
    full, lim = tmp_path / "full.json", tmp_path / "lim.json"
    for out, extra in ((full, []), (lim, ["--limit", "2"])):
        res = run_cli(home, "eval", "run", str(data), "--output", str(out), "--bootstrap", "0",
                      *extra)
        assert res.returncode == 0, res.stderr
    res = run_cli(home, "eval", "compare", str(full), str(lim), "--fail-on-regression",
                  "--bootstrap", "50", "--output", str(tmp_path / "cmp.json"))
    assert res.returncode == 1, res.stdout
    out = res.stdout
    # Flagged before the metrics table, and again in the verdict.
    warning = out.index("**WARNING: the runs cover different interviews: 4 unpaired (base 6, "
                        "new 2, shared 2; base is a full run, new is a --limit 2 run)")
    assert warning < out.index("| metric |")
    assert "Base is a full run and new is a --limit 2 run" in out
    missing = [i["id"] for i in results_of(full)["items"]][2:]
    assert f"- only in base (missing from new) (4): {', '.join(missing)}" in out
    assert "- NOT COMPARABLE: the runs cover different interviews" in out.split("## Verdict")[1]
    assert "No regression" not in out
    cmp = results_of(tmp_path / "cmp.json")
    assert cmp["coverage"]["only_in_base"] == missing and cmp["unpaired_items"] == missing
    # Without the gate it reports but exits 0; the other way round it is flagged the same.
    assert run_cli(home, "eval", "compare", str(full), str(lim), "--bootstrap", "0"
                   ).returncode == 0
    res = run_cli(home, "eval", "compare", str(lim), str(full), "--fail-on-regression",
                  "--bootstrap", "0")
    assert res.returncode == 1 and "- only in new (missing from base) (4)" in res.stdout


def test_compare_fails_on_interviews_that_newly_failed(home: Path, tmp_path: Path) -> None:
    data = first_lines(4, tmp_path)
    base = tmp_path / "base.json"
    assert run_cli(home, "eval", "run", str(data), "--output", str(base),
                   "--bootstrap", "0").returncode == 0
    new = results_of(base)
    broken = new["items"][1]
    broken["failed"], broken["errors"] = True, ["clarify: HTTP 500"]
    (tmp_path / "new.json").write_text(json.dumps(new))
    res = run_cli(home, "eval", "compare", str(base), str(tmp_path / "new.json"),
                  "--fail-on-regression", "--bootstrap", "50")
    assert res.returncode == 1, res.stdout
    assert (f"1 interviews failed to score in new only, so they are missing from its metrics: "
            f"{broken['id']}") in res.stdout
    assert f"- failed to score in new only (1): {broken['id']}" in res.stdout
    # The same failure in both runs is reported, not gated (nothing got worse).
    res = run_cli(home, "eval", "compare", str(tmp_path / "new.json"), str(tmp_path / "new.json"),
                  "--fail-on-regression", "--bootstrap", "50")
    assert res.returncode == 0, res.stdout
    assert f"- failed to score in both (1): {broken['id']}" in res.stdout
    # Fixed in the new run: reported, not a failure.
    res = run_cli(home, "eval", "compare", str(tmp_path / "new.json"), str(base),
                  "--fail-on-regression", "--bootstrap", "50")
    assert f"- failed to score in base only (1): {broken['id']}" in res.stdout


# -- usage across a resume --------------------------------------------------------------------


def test_a_resumed_run_reports_the_usage_of_the_whole_run(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    from agent.config import Settings
    from evals.runner import EvalConfig, Run, run_eval

    data = first_lines(2, tmp_path)
    with FakeEndpoint(responder=interviewer_responder) as ep:
        settings = Settings(base_url=ep.url, api_key="test", model="fake-model")

        def cfg(out: Path) -> EvalConfig:
            return EvalConfig(dataset=data, output=out, scorer="llm", settings=settings,
                              cache_mode="off", concurrency=2, n_boot=0)

        full, _ = run_eval(cfg(tmp_path / "full.json"), progress=False)
        # The first half of the tasks, as if the run had been stopped there ...
        out = tmp_path / "resumed.json"
        first = Run(cfg(out))
        half = first.tasks()[:7]
        monkeypatch.setattr(first, "tasks", lambda: half)
        try:
            first.execute(progress=False)
        finally:
            first.close()
        partial = out.with_name(out.name + ".partial.jsonl")
        rows = [json.loads(line) for line in partial.read_text().splitlines()[1:]]
        assert len(rows) == 7 and all(r["usage"]["calls"] >= 1 for r in rows)
        # ... then resumed by the same command.
        resumed, _ = run_eval(cfg(out), progress=False)
    assert resumed["timing"]["resumed"] == 7
    u, f = resumed["usage"], full["usage"]
    assert f["calls"] == 2 * 7 and f["earlier"] is None
    for key in ("calls", "prompt_tokens_reported", "prompt_tokens_tiktoken", "completion_tokens",
                "cost_usd"):
        assert u[key] == f[key], key
    assert u["completion_tokens"] > 0
    assert u["earlier"]["calls"] == sum(r["usage"]["calls"] for r in rows) == 7
    md = out.with_suffix(".md").read_text()
    assert "Includes 7 calls made before the run was resumed" in md


def test_replay_without_an_endpoint_needs_the_model_name(home: Path, tmp_path: Path) -> None:
    res = run_cli(home, "eval", "run", str(first_lines(1, tmp_path)), "--output",
                  str(tmp_path / "r.json"), "--scorer", "llm", "--cache", "replay",
                  "--cache-file", str(tmp_path / "c.sqlite"))
    assert res.returncode == 1
    assert "--cache replay without an endpoint needs --model NAME" in res.stderr


@pytest.mark.slow
def test_ctrl_c_says_how_to_resume(home: Path, tmp_path: Path) -> None:
    data = first_lines(3, tmp_path)
    out = tmp_path / "run.json"
    with FakeEndpoint(latency_ms=80, responder=interviewer_responder) as ep:
        args = [sys.executable, "-m", "agent", "eval", "run", str(data), "--output", str(out),
                "--scorer", "llm", "--cache", "off", "--model", "fake-model",
                "--concurrency", "1", "--bootstrap", "0", "--quiet", "--base-url", ep.url]
        proc = subprocess.Popen(args, env=cli_env(home), cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        partial = out.with_name(out.name + ".partial.jsonl")
        deadline = time.time() + 30
        while time.time() < deadline:
            if partial.exists() and len(partial.read_text().splitlines()) >= 3:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err
        assert f"tasks saved in {partial}; rerun the same command to resume" in err
        assert "interviewer: interrupted" in err and "Traceback" not in err
        res = subprocess.run(args, env=cli_env(home), cwd=ROOT, capture_output=True,
                             text=True, check=False)
        assert res.returncode == 0, res.stderr
    assert results_of(out)["timing"]["resumed"] >= 2


# -- analysis and summaries on a hand-made results file ------------------------------------------


def _entry(gold: dict[str, int], predicted: list[int]) -> dict[str, Any]:
    return {"gold": gold, "predicted": predicted}


def _hand_results() -> dict[str, Any]:
    items = [
        {"id": "a", "failed": False, "errors": [],
         "profile": {"clarify": "long-empty", "diagnose": "strong"},
         "steps": {"clarify": _entry({"r1": 1, "r2": 2}, [3, 3]),
                   "diagnose": _entry({"r1": 4, "r2": 4}, [3, 4])},
         "criteria": {"clarify.scale": _entry({"r1": 1, "r2": 1}, [2, 2]),
                      "diagnose.ranked_hypotheses": _entry({"r1": 4}, [4, 4])}},
        {"id": "b", "failed": False, "errors": [], "profile": {"clarify": "long-empty"},
         "steps": {"clarify": _entry({"r1": 2}, [2, 2])},
         "criteria": {"clarify.scale": _entry({"r1": 2}, [3, 3])}},
        # Failed: left out of agreement and by-tag (its levels would change every number).
        {"id": "c", "failed": True, "errors": ["clarify: boom"], "profile": {"clarify": "weak"},
         "steps": {"clarify": _entry({"r1": 1}, [4, 4])},
         "criteria": {"clarify.scale": _entry({"r1": 1}, [4, 4])}},
    ]
    knobs = {"scorer": "llm", "model": "m", "prompt_hashes": "p", "rubric_version": "v",
             "repeats": 2, "seed": 0,
             "dataset": {"name": "hand", "items": 3, "sha256": "f" * 64}}
    usage = {"calls": 12, "cached_calls": 2, "failed_calls": 1, "retries": 3,
             "prompt_tokens_reported": 1000, "prompt_tokens_tiktoken": 990,
             "completion_tokens": 200, "cost_usd": 0.0123,
             "earlier": {"calls": 5}, "earlier_tasks_without_usage": 0, "cache": None}
    return {"knobs": knobs, "items": items, "usage": usage,
            "failures": {"items": 1, "of": 3, "ids": ["c"]}}


def test_analysis_by_tag_ceiling_per_step_and_step_levels_hand_computed() -> None:
    from evals.analysis import analyse

    m = analyse(_hand_results(), n_boot=0)
    tags = m["by_tag"]
    assert list(tags) == ["strong", "long-empty"]  # strong/medium/weak first; "c" failed
    # long-empty holistic (gold -> predicted): 1 -> 3, 2 -> 2: exact 1/2, signed (+2 + 0) / 2.
    assert tags["long-empty"]["holistic"] == {"n": 2, "exact": 0.5, "mean_signed_error": 1.0,
                                              "mae": 1.0}
    # long-empty criteria: 1 -> 2, 2 -> 3: never exact, always one level too high.
    assert tags["long-empty"]["criteria"] == {"n": 2, "exact": 0.0, "mean_signed_error": 1.0,
                                              "mae": 1.0}
    assert tags["strong"]["holistic"]["mean_signed_error"] == -1.0  # 4 -> 3
    assert tags["strong"]["criteria"]["exact"] == 1.0
    hh = m["human_human"]
    assert hh["items"] == 1 and hh["of"] == 3 and hh["ids"] == ["a"]
    assert hh["per_step"]["clarify"]["holistic"]["n"] == 1
    assert hh["per_step"]["clarify"]["holistic"]["exact"] == 0.0   # r1 1 vs r2 2
    assert hh["per_step"]["diagnose"]["holistic"]["exact"] == 1.0  # 4 vs 4
    assert hh["per_step"]["diagnose"]["criteria"]["n"] == 0        # one rater only
    # Step levels: predicted (first repeat, scored items) 3, 3, 2; gold 1, 4, 2.
    steps = m["level_distribution_steps"]
    assert (steps["predicted"]["2"], steps["predicted"]["3"]) == (1, 2)
    assert [steps["gold"][k] for k in "1234"] == [1, 1, 0, 1]
    # Test-retest: steps (3,3) (3,4) (2,2) -> exact 2/3; criteria all repeat exactly.
    assert m["test_retest_steps"]["exact"] == round(2 / 3, 4)
    assert m["test_retest_steps"]["n"] == 3 and m["test_retest"]["exact"] == 1.0


def test_html_and_markdown_show_every_section() -> None:
    from evals.analysis import analyse
    from evals.outputs import to_html, to_markdown

    results = _hand_results()
    results["metrics"] = analyse(results, n_boot=0)
    md, page = to_markdown(results), to_html(results)
    for title in ("Overall", "Per step", "Agreement by answer tag", "Human–human ceiling",
                  "Scale use", "Test–retest", "Per criterion", "Usage"):
        assert f"## {title}" in md, title
        assert f"<h2>{title}</h2>" in page, title
    for text in ("long-empty", "+1.000", "clarify.scale", "step (holistic) · predicted",
                 "12", "$0.0123", "Includes 5 calls made before the run was resumed"):
        assert text in md and text in page, text
    assert "| long-empty | 2 | 0.500 | +1.000 | 1.000 | 2 | 0.000 | +1.000 | 1.000 |" in md
    assert "http" not in page.lower().replace("http-equiv", "")  # standalone: nothing fetched


def test_the_ceiling_pools_double_rated_interviews_over_datasets() -> None:
    from evals.analysis import ceiling

    per = [sum(1 for i in load_dataset(p).interviews if len(i.labels) >= 2)
           for p in (DEV, HELDOUT)]
    both = ceiling([DEV, HELDOUT], n_boot=0)
    assert both is not None and both["items"] == sum(per) and both["of"] == sum(
        len(load_dataset(p).interviews) for p in (DEV, HELDOUT))
    assert both["steps"]["n"] > 0 and set(both["per_step"]) >= {"clarify", "cross_cutting"}
    res = subprocess.run([sys.executable, "-m", "evals.analysis", str(DEV), str(HELDOUT)],
                         capture_output=True, text=True, cwd=ROOT, check=False)
    assert res.returncode == 0, res.stderr
    assert f"on the {sum(per)} double-rated interviews of" in res.stdout


# -- judge calls in flight ---------------------------------------------------------------------


def test_judge_requests_in_flight_stay_within_concurrency_while_more_threads_work(
        tmp_path: Path) -> None:
    """Prompts are built and replies checked on more threads than --concurrency, but the
    endpoint never has more than --concurrency requests at once (the scheduler's slots)."""
    import threading

    from agent.config import Settings
    from agent.model.scheduler import for_endpoint
    from evals.runner import EvalConfig, Run, run_eval

    data = first_lines(3, tmp_path)
    with FakeEndpoint(latency_ms=40, responder=interviewer_responder) as ep:
        settings = Settings(base_url=ep.url, api_key="test", model="fake-model")
        cfg = EvalConfig(dataset=data, output=tmp_path / "out.json", scorer="llm",
                         settings=settings, cache_mode="off", concurrency=3, n_boot=0)
        threads = Run(cfg).workers_for_calls()
        scheduler = for_endpoint(ep.url, 3)
        scheduler.peak_background = 0
        seen: set[str] = set()
        orig = Run._score_counted

        def counted(self: Run, task: tuple[str, str, int]) -> Any:
            seen.add(threading.current_thread().name)
            return orig(self, task)

        Run._score_counted = counted  # type: ignore[method-assign]
        try:
            results, _ = run_eval(cfg, progress=False)
        finally:
            Run._score_counted = orig  # type: ignore[method-assign]
        log = ep.requests
    assert threads > 3
    assert len(seen) > 3  # more threads than slots did the work ...
    assert scheduler.peak_background == 3  # ... and at most 3 requests were ever in flight
    assert len(log) == results["usage"]["calls"] == 3 * 7
    assert not results["failures"]["items"]


def test_results_record_the_case_and_prompt_data_files_the_offline_scorer_read(
        home: Path, tmp_path: Path) -> None:
    """Two offline runs over different case or prompt data files (INTERVIEWER_CASES /
    INTERVIEWER_PROMPTS) never show identical headers, `eval compare` names the files that
    differ, and a results file written before these were recorded still compares ("unknown")."""
    data = first_lines(3, tmp_path)
    base, new = tmp_path / "base.json", tmp_path / "new.json"
    res = run_cli(home, "eval", "run", str(data), "--output", str(base), "--bootstrap", "0",
                  "--quiet")
    assert res.returncode == 0, res.stderr
    prompts, cases = tmp_path / "prompts", tmp_path / "cases"
    shutil.copytree(ROOT / "prompts", prompts)
    shutil.copytree(ROOT / "cases", cases)
    premises = prompts / "premises.yaml"
    premises.write_text(premises.read_text().replace("nightly, overnight,", "nightly,"))
    case = cases / "fintech-p99-spikes.yaml"
    case.write_text(case.read_text() + "\n# an edit\n")
    res2 = run_cli(home, "eval", "run", str(data), "--output", str(new), "--bootstrap", "0",
                   "--quiet", INTERVIEWER_PROMPTS=str(prompts), INTERVIEWER_CASES=str(cases))
    assert res2.returncode == 0, res2.stderr
    kb, kn = results_of(base)["knobs"], results_of(new)["knobs"]
    assert set(kb["prompt_data_hashes"]) == {"premises.yaml", "scoring_words.yaml"}
    assert kb["prompt_data_hashes"]["scoring_words.yaml"] == (
        kn["prompt_data_hashes"]["scoring_words.yaml"])
    assert kb["prompt_data_hashes"]["premises.yaml"] != kn["prompt_data_hashes"]["premises.yaml"]
    assert len(kb["case_hashes"]) >= 8
    assert [c for c in kb["case_hashes"] if kb["case_hashes"][c] != kn["case_hashes"][c]] == [
        "fintech-p99-spikes"]
    # The printed headers differ, and say that offline scoring ignores level text.
    head = [line for line in res.stdout.splitlines() if line.startswith("cases ")]
    head2 = [line for line in res2.stdout.splitlines() if line.startswith("cases ")]
    assert len(head) == len(head2) == 1 and head != head2
    assert "premises.yaml" in head[0] and "not its level text" in head[0]
    cmp = run_cli(home, "eval", "compare", str(base), str(new), "--bootstrap", "0")
    assert cmp.returncode == 0, cmp.stderr
    differs = next(line for line in cmp.stdout.splitlines() if line.startswith("- differs:"))
    assert "case fintech-p99-spikes (" in differs and "prompt data premises.yaml (" in differs
    assert "scoring_words" not in differs and "rubric" not in differs
    assert "not its level text" in cmp.stdout
    # A results file from before these knobs: still read, the difference "unknown".
    old = results_of(base)
    del old["knobs"]["case_hashes"], old["knobs"]["prompt_data_hashes"]
    del old["knobs"]["offline_rules"]
    (tmp_path / "old.json").write_text(json.dumps(old))
    cmp = run_cli(home, "eval", "compare", str(tmp_path / "old.json"), str(new),
                  "--bootstrap", "0")
    assert cmp.returncode == 0, cmp.stderr
    assert "cases unknown" in cmp.stdout
    assert "case files: unknown in base" in cmp.stdout
    assert f"offline_rules (unknown → {kn['offline_rules']})" in cmp.stdout


def test_the_offline_scorer_reads_no_prompt_data_file_its_knobs_leave_out(
        tmp_path: Path) -> None:
    """evals.runner.OFFLINE_PROMPT_FILES is what offline scoring opens under prompts/ (a fresh
    process, so no loader's cache hides a file)."""
    data = first_lines(6, tmp_path)
    script = f"""
import sys
from pathlib import Path
opened = set()
prompts = str(Path({str(ROOT / 'prompts')!r}).resolve())
sys.addaudithook(lambda ev, args: opened.add(str(args[0])) if ev == "open" and str(
    args[0]).startswith(prompts) else None)
from evals.runner import EvalConfig, OFFLINE_PROMPT_FILES, Run
run = Run(EvalConfig(dataset=Path({str(data)!r}), output=Path({str(tmp_path / 'x.json')!r}),
                     workers=1, n_boot=0))
for task in run.tasks():
    run._score(task)
import json
print(json.dumps([sorted({{Path(p).name for p in opened}}), sorted(OFFLINE_PROMPT_FILES)]))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    opened, declared = json.loads(proc.stdout.strip().splitlines()[-1])
    # fact_asks.yaml (and premises.yaml) are also read by the fact-id check as the cases load.
    assert set(opened) - {"fact_asks.yaml"} == set(declared)


def test_a_bad_data_file_leaves_no_partial_and_a_stale_one_is_replaced(home: Path,
                                                                      tmp_path: Path) -> None:
    """A bad regex in prompts/scoring_words.yaml failed the run after its partial file was made
    (holding only the fingerprint); the fixed rerun was then refused as "a partial run with
    different settings", without saying which."""
    data = first_lines(1, tmp_path)
    out = tmp_path / "x.json"
    partial = out.with_name(out.name + ".partial.jsonl")
    prompts = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts", prompts)
    words = prompts / "scoring_words.yaml"
    good = words.read_text()
    words.write_text(good.replace("'re:\\bslowest (\\d+|one|few)\\b'",
                                  "'re:\\bslowest (\\d+|one|few\\b'", 1))
    assert words.read_text() != good
    args = ("eval", "run", str(data), "--output", str(out), "--bootstrap", "0", "--quiet")
    res = run_cli(home, *args, INTERVIEWER_PROMPTS=str(prompts))
    assert res.returncode != 0
    assert "scoring_words.yaml: concept 'tail': field 'says'" in res.stderr
    assert "not a valid pattern" in res.stderr
    assert not partial.exists()
    # a partial that saved no task (an older run's leftover) is replaced silently
    partial.write_text(json.dumps({"fingerprint": "0123456789abcdef"}) + "\n")
    words.write_text(good)
    res = run_cli(home, *args, INTERVIEWER_PROMPTS=str(prompts))
    assert res.returncode == 0, res.stderr
    assert not partial.exists() and out.exists()
    # one that saved tasks under other settings is refused, naming what differs
    out.unlink()
    res = run_cli(home, *args, "--limit", "1", INTERVIEWER_PROMPTS=str(prompts))
    assert res.returncode == 0, res.stderr
    knobs = {k: v for k, v in results_of(out)["knobs"].items()
             if k not in ("concurrency", "rpm", "cache", "bootstrap_resamples", "batch")}
    knobs["limit"] = 2
    knobs["prompt_data_hashes"] = {**knobs["prompt_data_hashes"], "premises.yaml": "x"}
    rows = [json.dumps({"fingerprint": "0123456789abcdef", "settings": knobs}),
            json.dumps({"item": "a", "step": "clarify", "repeat": 0, "result": {}})]
    partial.write_text("\n".join(rows) + "\n")
    res = run_cli(home, *args, "--limit", "1", INTERVIEWER_PROMPTS=str(prompts))
    assert res.returncode != 0
    assert "is a partial run with different settings (" in res.stderr
    assert "limit: 2 then, 1 now" in res.stderr
    assert "prompt_data_hashes.premises.yaml: 'x' then, " in res.stderr
    assert "dataset" not in res.stderr.split("settings (")[1]  # only what differs


def test_the_run_summary_prints_a_dash_for_a_figure_it_cannot_compute(home: Path,
                                                                      tmp_path: Path) -> None:
    """The stdout summary printed "QWK None" where the tables print "—"."""
    row = json.loads(DEV.read_text().splitlines()[0])
    for label in row["labels"]:
        label.pop("steps", None)
    assert any(label.get("criteria") for label in row["labels"])
    data = tmp_path / "criteria-only.jsonl"
    data.write_text(json.dumps(row) + "\n")
    out = tmp_path / "r.json"
    res = run_cli(home, "eval", "run", str(data), "--output", str(out), "--bootstrap", "0",
                  "--quiet")
    assert res.returncode == 0, res.stderr
    steps = next(line for line in res.stdout.splitlines() if line.startswith("steps "))
    assert "None" not in res.stdout and "QWK —" in steps, steps


def _run_of(levels: dict[str, tuple[int, int]]) -> dict[str, Any]:
    """A results file: item id -> (gold, predicted) of its clarify step."""
    return {"knobs": {"dataset": {"name": "t", "sha256": "a" * 64}, "scorer": "offline",
                      "rubric_version": "r", "limit": None},
            "items": [{"id": i, "failed": False, "criteria": {},
                       "steps": {"clarify": {"gold": {"r1": g}, "predicted": [p]}}}
                      for i, (g, p) in levels.items()]}


def test_compare_says_which_way_changed_levels_moved_against_gold() -> None:
    """The changed-levels table had no toward/away column, and the verdict said "No
    regression" when most changed levels moved away from gold."""
    from evals.compare import compare, to_markdown

    gold = {f"i{n}": (1 + n % 4, 1 + n % 4) for n in range(12)}
    base = _run_of(gold)
    moved = dict(gold)
    moved["i0"] = (1, 3)  # away
    moved["i1"] = (2, 4)  # away
    moved["i2"] = (3, 1)  # away
    new = _run_of(moved)
    cmp = compare(base, new, n_boot=0)
    assert cmp["moved"] == {"toward": 0, "away": 3, "same distance": 0, "unlabelled": 0}
    text = to_markdown(cmp)
    assert "| item | what | gold | base | new | vs gold |" in text
    assert "| i0 | clarify | 1 | 1 | 3 | away |" in text
    assert "No regression" not in text
    assert ("MOSTLY AWAY FROM GOLD" in text and "3 moved away from gold, 0 toward it, 0 the "
            "same distance from it") in text
    # the other way round: toward gold is no regression, and the counts are given
    text = to_markdown(compare(new, base, n_boot=0))
    assert "| i0 | clarify | 1 | 3 | 1 | toward |" in text
    assert "No regression" in text and "0 moved away from gold, 3 toward it" in text


def test_the_clarify_bank_figures_are_broken_down_per_case(tmp_path: Path) -> None:
    """`eval behaviour` gave the clarify bank's precision and recall per split and per kind,
    not per case: a designer adding a case could not see how it alone did."""
    from agent.cases import Case
    from agent.policy import ClarifyReply
    from evals.clarify_bank import load_bank
    from evals.clarify_eval import measure, to_markdown

    class TellsModels:
        engine = "test"

        def clarify(self, case: Case, question: str, history: Any, speak: Any
                    ) -> ClarifyReply:
            return ClarifyReply("the models", ["models"])

    rows = [{"id": "q1", "case": "batch-inference-cost", "question": "Which model?",
             "expect": ["models"], "kind": "direct"},
            {"id": "q2", "case": "fintech-p99-spikes", "question": "Who is the user?",
             "expect": ["user"], "kind": "direct"},
            {"id": "q3", "case": "fintech-p99-spikes", "question": "What model is it?",
             "expect": ["models"], "kind": "direct"}]
    path = tmp_path / "bank.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    figures = measure(TellsModels(), {"t": load_bank(path)})  # type: ignore[arg-type]
    by_case = figures["t"]["by_case"]
    assert by_case["batch-inference-cost"] == {**by_case["batch-inference-cost"],
                                               "questions": 1, "precision": 1.0, "recall": 1.0}
    fin = by_case["fintech-p99-spikes"]
    assert (fin["questions"], fin["precision"], fin["recall"]) == (2, 0.5, 0.5)
    text = to_markdown(figures)
    assert "| split | case | questions | precision | recall | clue leaks | exact |" in text
    assert "| t | fintech-p99-spikes | 2 | 0.5 | 0.5 | 0 | 0.5 |" in text
