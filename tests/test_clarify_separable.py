"""evals/clarify_separable.py: the told facts' signals, the veto fitted leaving a group out,
and the table of precision and recall after it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from agent.cases import default_cases
from agent.offline import OfflineInterviewer
from evals.clarify_bank import SPLITS, load_bank
from evals.clarify_eval import ask
from evals.clarify_separable import SIGNALS, Told, collect, main, table, vetoes


def told(group: str, right: bool, signal: float) -> Told:
    return Told(group, "q", "f", right, (signal,) + (0.0,) * (len(SIGNALS) - 1))


def test_table_counts_what_a_cut_vetoes() -> None:
    rows = [told("a", True, 0), told("a", True, 0), told("a", False, 0), told("b", True, 0)]
    chance = np.array([0.9, 0.4, 0.2, 0.8])
    out = table(rows, wanted=5, chances={"m": chance}, cuts=[0.3, 0.5])
    assert [(t["cut"], t["precision"], t["recall"], t["wrong_vetoed"], t["right_vetoed"])
            for t in out] == [(0.0, 0.75, 0.6, 0, 0), (0.3, 1.0, 0.6, 1, 0),
                              (0.5, 1.0, 0.4, 1, 1)]


@pytest.mark.parametrize("model", ["logistic", "boosting"])
def test_a_signal_that_separates_is_found_leaving_each_group_out(model: str) -> None:
    rng = np.random.default_rng(0)
    rows = [told(g, right, (1.0 if right else -1.0) + rng.normal(0, 0.2))
            for g in "abc" for right in [True] * 12 + [False] * 6]
    chance = vetoes(rows, model)
    right = np.array([r.right for r in rows])
    assert chance[right].min() > 0.5 > chance[~right].max()


def test_a_group_with_nothing_to_learn_from_keeps_every_fact() -> None:
    rows = [told("a", True, 1.0), told("b", True, 1.0)]
    assert list(vetoes(rows, "logistic")) == [1.0, 1.0]


def test_collect_reads_every_fact_the_interviewer_told(tmp_path: Path) -> None:
    path = tmp_path / "probe.jsonl"
    lines = [{"id": "p-1", "case": "batch-inference-cost", "kind": "direct",
              "question": "How many documents do they process each night?", "expect": ["scale"]},
             # labelled as if it asked the model only: the count it is told is "wrong"
             {"id": "p-2", "case": "batch-inference-cost", "kind": "compound",
              "question": "Which model do they run, and how many documents a night?",
              "expect": ["models"]}]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    cases = default_cases()
    rows, wanted = collect([path], cases)
    expected = [ask(OfflineInterviewer(), cases[q.case], q)
                for q in load_bank(path, cases).questions]
    assert wanted == 2
    assert [(r.question, r.fact, r.right) for r in rows] == [
        (q["question"], f, f in q["expect"]) for q in lines
        for e in expected if e["id"] == q["id"] for f in e["told"]]
    assert {(r.fact, r.right) for r in rows} == {("scale", True), ("models", True),
                                                 ("scale", False)}
    assert all(len(r.signals) == len(SIGNALS) for r in rows)
    first = next(r for r in rows if r.question == lines[0]["question"])
    assert dict(zip(SIGNALS, first.signals, strict=True))["told"] == 1.0


@pytest.mark.parametrize("path", [SPLITS["heldout"],
                                  Path("evals/probes/clarify-recorded-heldout.jsonl")])
def test_a_held_out_file_is_refused(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main([str(SPLITS["dev"]), str(path)])
    assert e.value.code == 2
    assert f"{path}: a held-out file" in capsys.readouterr().err


@pytest.mark.parametrize("cuts", ["0.5,x", "0", "1.5"])
def test_bad_cuts_name_the_flag(cuts: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--cuts", cuts])
    assert e.value.code == 2
    assert "--cuts" in capsys.readouterr().err
