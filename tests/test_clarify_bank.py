"""The clarifying-question bank: the shipped splits meet the brief, and bad lines are refused
naming the file, the line and the field."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from agent.cases import default_cases
from evals.clarify_bank import KINDS, SPLITS, load_bank, load_splits, summary
from evals.dataset import DatasetError
from tests.conftest import ROOT


def test_the_shipped_splits_load_and_meet_the_brief() -> None:
    banks = load_splits()
    assert set(banks) == {"dev", "heldout"}
    questions = [q for b in banks.values() for q in b.questions]
    assert len(questions) >= 150
    per_case = Counter(q.case for q in questions)
    assert set(per_case) == set(default_cases()), "every case has questions"
    assert min(per_case.values()) >= 12, per_case
    share = len(banks["heldout"].questions) / len(questions)
    assert 0.27 <= share <= 0.33, f"held-out share {share:.2f}, about 30% wanted"
    for bank in banks.values():
        # Both splits cover every case and every kind, so held-out figures exist per kind.
        assert set(bank.by_case()) == set(default_cases()), bank.name
        assert set(Counter(q.kind for q in bank.questions)) == set(KINDS), bank.name


def test_the_kind_mix_is_similar_in_both_splits() -> None:
    banks = load_splits()
    shares = {name: {k: n / len(b.questions)
                     for k, n in Counter(q.kind for q in b.questions).items()}
              for name, b in banks.items()}
    for kind in KINDS:
        dev, held = shares["dev"][kind], shares["heldout"][kind]
        assert abs(dev - held) <= 0.06, (kind, round(dev, 2), round(held, 2))


def test_every_case_is_probed_for_clue_leaks_and_off_sheet_questions() -> None:
    questions = [q for b in load_splits().values() for q in b.questions]
    for case_id in default_cases():
        kinds = Counter(q.kind for q in questions if q.case == case_id)
        for kind in ("clue_side", "clue_direct", "off_sheet", "compound", "statement"):
            assert kinds[kind] >= 1, (case_id, kind)
    statements = [q for q in questions if q.kind == "statement"]
    assert any(q.ends_clarify for q in statements)
    assert any(not q.ends_clarify for q in statements)  # acknowledgements end nothing


def test_the_issues_examples_are_labelled_by_meaning() -> None:
    by_text = {q.question: q for b in load_splits().values() for q in b.questions}
    residency = by_text["Do they have any data-residency or compliance constraints, e.g. must "
                        "the claims stay in an EU region?"]
    assert residency.expect == [] and residency.kind == "off_sheet"
    prompts = by_text["Can we change their prompts?"]
    assert "prompt_shape" not in prompts.expect and prompts.touches == ["prompt_shape"]
    # Issue 19 item 5: "their own users" beside another topic is not a question about them.
    trap = by_text["How many transactions do their own users push through at peak, and what "
                   "GPUs are we serving them on?"]
    assert trap.expect == ["scale", "hardware"]


def test_a_case_losing_its_clue_flag_breaks_the_bank() -> None:
    # The loader checks clue kinds against the case files, not against a list of its own.
    cases = dict(default_cases())
    batch = cases["batch-inference-cost"]
    facts = [f.model_copy(update={"clue": False}) if f.id == "prompt_shape" else f
             for f in batch.facts]
    cases["batch-inference-cost"] = batch.model_copy(update={"facts": facts})
    with pytest.raises(DatasetError, match="'prompt_shape' is not a clue of case"):
        load_bank(SPLITS["dev"], cases)


GOOD: dict[str, Any] = {"id": "cq-x-001", "case": "batch-inference-cost",
                        "question": "How many documents a night?", "expect": ["scale"],
                        "kind": "direct"}


def _line(**change: Any) -> str:
    data = {**GOOD, **change}
    return json.dumps({k: v for k, v in data.items() if v is not None})


@pytest.mark.parametrize(("line", "message"), [
    ("{not json", "invalid JSON"),
    ("[1, 2]", "expected a JSON object per line"),
    (_line(case="nope"), "field 'case': unknown case 'nope'"),
    (_line(expect=["scale", "qps"]),
     "field 'expect': 'qps' is not a fact of case 'batch-inference-cost'"),
    (_line(expect=["scale", "scale"]), "field 'expect': 'scale' is listed twice"),
    (_line(expect=None), "missing field 'expect'"),
    (_line(kind="leading"), "field 'kind'"),
    (_line(colour="red"), "unknown field 'colour'"),
    (_line(question="   "), "field 'question': blank question"),
    (_line(question="x" * 20_001), "field 'question': String should have at most 20000"),
    (_line(id="CQ 1"), "field 'id'"),
    (_line(kind="off_sheet"), "field 'expect': kind 'off_sheet' expects no fact"),
    (_line(kind="statement", expect=["scale"]), "kind 'statement' expects no fact"),
    (_line(expect=[]), "field 'expect': kind 'direct' asks about at least one fact"),
    (_line(expect=["caching"]), "field 'kind': the question asks for clue 'caching'"),
    (_line(kind="clue_direct"), "field 'expect': kind 'clue_direct' expects a clue fact"),
    (_line(kind="clue_side", touches=["caching"], expect=["caching"]),
     "kind 'clue_side' never expects a clue, got 'caching'"),
    (_line(kind="clue_side"), "field 'touches': kind 'clue_side' names the clue"),
    (_line(kind="clue_side", touches=["budget"]),
     "field 'touches': 'budget' is not a clue of case"),
    (_line(touches=["caching"]), "field 'touches': only kind 'clue_side'"),
    (_line(ends_clarify=True), "field 'ends_clarify': only kind 'statement' ends clarify"),
    (_line(kind="statement", expect=[], ends_clarify="yes"), "field 'ends_clarify'"),
    (_line(id="cq-batch-001", question="Another question?"), "duplicate id 'cq-batch-001'"),
    (_line(question="how many DOCUMENTS do they process, each night"),
     "field 'question': the same question as 'cq-batch-001'"),
])
def test_bad_lines_name_file_line_and_field(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bank.jsonl"
    good = SPLITS["dev"].read_text(encoding="utf-8").splitlines()[0]
    assert json.loads(good)["id"] == "cq-batch-001"
    path.write_text(good + "\n\n" + line + "\n", encoding="utf-8")
    with pytest.raises(DatasetError) as info:
        load_bank(path)
    assert str(info.value).startswith(f"{path}:3: "), str(info.value)
    assert message in str(info.value)


def test_a_good_line_loads(tmp_path: Path) -> None:
    path = tmp_path / "bank.jsonl"
    path.write_text(_line() + "\n" + _line(id="cq-x-002", kind="clue_side", touches=["caching"],
                                           question="What's the setup?",
                                           expect=["current_setup"]) + "\n")
    bank = load_bank(path)
    assert [q.id for q in bank.questions] == ["cq-x-001", "cq-x-002"]
    assert bank.questions[1].touches == ["caching"] and len(bank.sha256) == 64


def test_empty_and_missing_files_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(DatasetError, match=r"empty\.jsonl: no questions"):
        load_bank(empty)
    with pytest.raises(DatasetError, match=r"absent\.jsonl: no such file$"):
        load_bank(tmp_path / "absent.jsonl")


@pytest.mark.parametrize("change", [
    {},  # the same id in both splits
    {"id": "cq-x-999", "question": "How many documents do they process each night?!"},
])
def test_splits_share_no_id_and_no_question(tmp_path: Path, change: dict[str, Any]) -> None:
    dev_first = json.loads(SPLITS["dev"].read_text(encoding="utf-8").splitlines()[0])
    held = tmp_path / "held.jsonl"
    held.write_text(json.dumps({**dev_first, **change}) + "\n")
    with pytest.raises(DatasetError) as info:
        load_splits({"dev": SPLITS["dev"], "heldout": held})
    assert str(info.value).startswith(f"{held}: ")
    assert "cq-batch-001" in str(info.value) and "dev split" in str(info.value)


def test_the_summary_counts_every_split_case_and_kind() -> None:
    banks = load_splits()
    lines = summary(banks).splitlines()
    dev, held = len(banks["dev"].questions), len(banks["heldout"].questions)
    assert lines[-2].split() == ["questions", str(dev), str(held), str(dev + held)]
    batch = next(line for line in lines if line.startswith("batch-inference-cost"))
    n_dev = sum(q.case == "batch-inference-cost" for q in banks["dev"].questions)
    assert batch.split()[1] == str(n_dev)
    assert [line.split()[0] for line in lines if line.split()[0] in KINDS] == list(KINDS)
    assert lines[-1] == f"share: dev {dev / (dev + held):.0%}, heldout {held / (dev + held):.0%}"


def test_the_readmes_bank_figures_are_true() -> None:
    banks = load_splits()
    dev, held = len(banks["dev"].questions), len(banks["heldout"].questions)
    clues = sum(f.clue for c in default_cases().values() for f in c.facts)
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert f"bank: {dev + held} questions" in readme and f"({dev} dev, {held} held out)" in readme
    assert f"`clue: true` in a case file ({clues} over the ten cases)" in readme
    evals_readme = " ".join((ROOT / "evals" / "README.md").read_text(encoding="utf-8").split())
    assert f"{dev} dev and {held} held-out questions ({held / (dev + held):.0%})" in evals_readme


@pytest.mark.parametrize("probe", sorted((ROOT / "evals" / "probes").glob("clarify*.jsonl")),
                         ids=lambda p: p.name)
def test_the_sealed_probes_load_and_share_no_question_with_the_bank(probe: Path) -> None:
    """Each probe of fresh questions (evals/README.md) is in the bank's format, names facts its
    case has, and asks nothing the bank asks (a probe only tells something if it is new)."""
    questions = load_bank(probe, default_cases()).questions
    assert len(questions) >= 30
    bank = {" ".join(q.question.lower().split()) for b in load_splits().values()
            for q in b.questions}
    assert not [q.id for q in questions if " ".join(q.question.lower().split()) in bank]
