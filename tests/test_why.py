"""python -m evals.why: per-criterion disagreements on dev, with the nearest level text."""

from __future__ import annotations

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
