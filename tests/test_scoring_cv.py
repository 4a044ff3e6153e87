"""python -m evals.scoring_cv: leave-one-case-out cross-validation of the offline scorer's
exemplar threshold on dev (issue 9 round 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.semantic import claims
from agent.semantic.reading import read_sentence
from evals import scoring_cv
from evals.dataset import Dataset, Interview


def _item(iid: str, case: str, levels: dict[str, int]) -> Interview:
    return Interview.model_validate({
        "id": iid, "case": case,
        "turns": [{"role": "candidate", "step": "goals", "text": "An answer."}],
        "labels": [{"rater": "r1", "steps": levels}]})


def test_a_fold_chooses_from_the_other_cases_only() -> None:
    # Case "a" alone is predicted best at 0.6; cases "b" and "c" at 0.4.
    gold = {"goals": 1, "diagnose": 4}
    items = [_item(f"{c}{k}", c, gold) for c in ("a", "b", "c") for k in (1, 2)]
    right = {(i.id, s): float(v) for i in items for s, v in gold.items()}
    wrong = {(i.id, s): float(5 - v) for i in items for s, v in gold.items()}
    by_threshold = {
        0.4: {k: (wrong if k[0].startswith("a") else right)[k] for k in right},
        0.6: {k: (right if k[0].startswith("a") else wrong)[k] for k in right},
    }
    data = Dataset(path="dev.jsonl", sha256="x", interviews=items)
    chosen, pooled = scoring_cv.cross_validate(data, by_threshold)
    assert scoring_cv.choose(by_threshold, [i for i in items if i.case == "a"]) == 0.6
    assert chosen["a"] == 0.4  # chosen on "b" and "c": never the left-out case's own best
    assert pooled[("a1", "goals")] == by_threshold[0.4][("a1", "goals")]
    assert scoring_cv.figures(items, pooled)["steps_qwk"] is not None


def test_a_tolerance_keeps_the_smallest_change_on_a_flat_curve() -> None:
    """Round 5's calibration grid lists the smallest stretch first; within the tolerance of a
    fold's best QWK the first one is kept, not the steepest one noise favours."""
    gold = {"goals": 1, "diagnose": 4, "validate": 3}
    items = [_item(f"{c}{k}", c, gold) for c in ("a", "b") for k in (1, 2)]
    exact = {(i.id, s): float(v) for i in items for s, v in gold.items()}
    near = dict(exact) | {("a1", "validate"): 4.0}  # one step off: a slightly lower QWK
    by_setting = {3.5: near, 3.3: exact}
    assert scoring_cv.choose(by_setting, items) == 3.3
    assert scoring_cv.choose(by_setting, items, tolerance=0.2) == 3.5
    chosen, _ = scoring_cv.cross_validate(
        Dataset(path="dev.jsonl", sha256="x", interviews=items), by_setting, 0.2)
    assert set(chosen.values()) == {3.5}


@pytest.mark.slow  # scores every dev interview once (about 20 s)
def test_the_calibration_mode_reports_each_setting_and_the_folds(
        capsys: pytest.CaptureFixture[str]) -> None:
    from agent import scorers

    shipped = scorers.EXCELLENT_MEAN
    assert scoring_cv.main(["--calibration", "--variant", "words"]) == 0
    out = capsys.readouterr().out
    assert shipped == scorers.EXCELLENT_MEAN  # restored
    for top in scoring_cv.CALIBRATION_GRID:
        assert f"all of dev at {top:.2f}: step QWK" in out
    assert "chosen per left-out case" in out and "leave-one-case-out: step QWK" in out


def test_settings_are_restored_and_no_words_reads_without_the_words_file() -> None:
    sentence = "The slowest one in a hundred calls waits in line."
    before = claims.EXEMPLAR_MATCH
    with scoring_cv.settings(0.5, words=False):
        assert claims.EXEMPLAR_MATCH == 0.5
        assert "p99" not in read_sentence(sentence).read
    assert before == claims.EXEMPLAR_MATCH
    assert "p99" in read_sentence(sentence).read and "queue" in read_sentence(sentence).read


def test_premise_settings_change_the_score_and_are_restored() -> None:
    """The clarify penalty for a contradicted premise is what the grid sets, then restored."""
    from agent import scorers
    from agent.cases import get_case
    from agent.semantic import premises

    case = get_case("batch-inference-cost")
    turns = [("interviewer", "Go on."), ("candidate",
              "Let me play it back: nightly batch of 400 thousand claims on three reserved "
              "8xH100 nodes, cost is the goal and accuracy the constraint, in production. I'll "
              "assume a user is waiting on each request. I'll assume it's a prototype too.")]
    shipped = scorers.MAX_PREMISE_PENALTY, scorers.CARRIED_PENALTY, premises.FIGURE_TOPIC
    scores = {}
    for cap in (1, 2):
        with scoring_cv.premise_settings((cap, 0, 0.45)):
            assert cap == scorers.MAX_PREMISE_PENALTY
            scores[cap] = scorers.OfflineScorer().score_step(case, "clarify", turns).score
    assert scores[2] is not None and scores[1] is not None and scores[2] < scores[1]
    assert shipped == (scorers.MAX_PREMISE_PENALTY, scorers.CARRIED_PENALTY,
            premises.FIGURE_TOPIC)


def test_it_refuses_the_held_out_split(capsys: pytest.CaptureFixture[str]) -> None:
    heldout = Path(scoring_cv.DEV).with_name("heldout.jsonl")
    assert scoring_cv.main([str(heldout)]) == 2
    assert "never on the held-out split" in capsys.readouterr().err


def test_a_bad_dataset_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "mine.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    assert scoring_cv.main([str(bad)]) == 2
    assert f"{bad}:1: invalid JSON" in capsys.readouterr().err
