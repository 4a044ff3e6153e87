"""python -m evals.why: per-criterion disagreements on dev, with the nearest level text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from evals import why
from evals.dataset import load_dataset


def test_under_and_over_scored_criteria_are_explained(capsys: pytest.CaptureFixture[str]) -> None:
    item = next(i for i in load_dataset(why.DEV).interviews if i.id == "dev-adv-32")
    assert why.main(["--id", "dev-adv-32", "--step", "clarify"]) == 0
    out = capsys.readouterr().out
    heads = re.findall(r"^dev-adv-32 (clarify\.\w+): gold (\d), predicted (\d)$", out, re.M)
    assert heads, out
    for cid, gold, pred in heads:  # the labels it prints are the dataset's, and they differ
        assert item.labels[0].criteria[cid] == int(gold) != int(pred)
    under = [h for h in heads if int(h[2]) < int(h[1])]
    assert under and out.count("nearest claim (") == len(under)
    assert re.search(r"nearest claim \(0\.\d\d\): “.+”\n      ~ (level [234]|example): ", out)


def test_a_larger_gap_shows_fewer(capsys: pytest.CaptureFixture[str]) -> None:
    why.main(["--tag", "plain_words_strong", "--step", "goals"])
    one = capsys.readouterr().out.count("predicted")
    why.main(["--tag", "plain_words_strong", "--step", "goals", "--gap", "2"])
    two = capsys.readouterr().out.count("predicted")
    assert one > two


@pytest.mark.parametrize(("args", "message"), [
    ([str(Path(why.DEV).with_name("heldout.jsonl"))], "never the held-out split"),
    (["--tag", "no_such_tag"], "no interview in"),
    (["--gap", "0"], "--gap: 0 is not a number of levels"),
])
def test_refusals_name_the_problem(capsys: pytest.CaptureFixture[str], args: list[str],
                                   message: str) -> None:
    assert why.main(args) == 2
    assert message in capsys.readouterr().err


def test_the_scorer_s_rationale_is_printed_for_an_over_scored_criterion(
        capsys: pytest.CaptureFixture[str]) -> None:
    """`--id dev-adv-01 --step validate` printed only "gold 1, predicted 2", no reason."""
    assert why.main(["--id", "dev-adv-01", "--step", "validate"]) == 0
    out = capsys.readouterr().out
    heads = re.findall(r"^dev-adv-01 validate\.\w+: gold \d, predicted \d$", out, re.M)
    assert heads, out
    assert out.count("    scorer: ") >= len(heads), out


def test_an_interview_labelled_per_step_only_is_said_so(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An interview with step labels and no criterion labels printed nothing and exited 0."""
    row = json.loads(why.DEV.read_text().splitlines()[0])
    for label in row["labels"]:
        label["criteria"] = {}
        label["steps"] = {s: (1 if v > 2 else 4) for s, v in label["steps"].items()}
    data = tmp_path / "steps-only.jsonl"
    data.write_text(json.dumps(row) + "\n")
    assert why.main([str(data), "--id", row["id"], "--step", "clarify"]) == 0
    out = capsys.readouterr().out
    m = re.search(rf"^{row['id']} clarify: labelled per step only \(no criterion labels\): step "
                  r"gold (\d), predicted (\d) \(score \d\.\d\d\)$", out, re.M)
    assert m, out
    assert int(m[1]) == row["labels"][0]["steps"]["clarify"] != int(m[2])
    assert re.search(r"^  clarify\.\w+: level \d$", out, re.M) and "    scorer: " in out
    # shown whatever the gap (there is nothing finer to show); an interview with criterion
    # labels and nothing off by the gap says so rather than printing nothing
    assert why.main([str(data), "--id", row["id"], "--step", "clarify", "--gap", "4"]) == 0
    assert "labelled per step only" in capsys.readouterr().out
    assert why.main(["--id", "dev-adv-01", "--step", "validate", "--gap", "4"]) == 0
    assert capsys.readouterr().out.strip() == ("dev-adv-01 validate: no labelled criterion or "
                                               "step of it is off by 4 or more levels")
