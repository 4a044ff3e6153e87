"""Issue 10, round 3: clarify matching judged by cross-validation on the dev bank (each case's
questions predicted with parameters fitted on the other cases only), and the typed and
shared-words signals it weighs (agent/clarify/select.py)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

import evals.clarify_cv as cv
from agent.cases import default_cases, get_case
from agent.clarify.select import PARAMS, Params, decide, gives, intents, read, shared_words
from agent.offline import question_parts
from evals.clarify_bank import SPLITS, BankQuestion, load_bank
from tests.helpers import refused_prompt_file

BATCH = "batch-inference-cost"


def _items(n_per_case: int, cases: tuple[str, ...]) -> list[cv.Item]:
    bank = load_bank(SPLITS["dev"])
    chosen: list[BankQuestion] = []
    for case in cases:
        chosen += [q for q in bank.questions if q.case == case][:n_per_case]
    return cv.prepare(chosen, default_cases(), True)


def test_each_fold_is_fitted_without_the_questions_it_predicts(
        monkeypatch: pytest.MonkeyPatch) -> None:
    items = _items(6, (BATCH, "fintech-p99-spikes", "gpu-price-shift"))
    seen: list[set[str]] = []
    real_fit = cv.fit

    def recording_fit(train: Any, grid: Any = None) -> Params:
        seen.append({i.q.case for i in train})
        return real_fit(train, grid)

    monkeypatch.setattr(cv, "fit", recording_fit)
    out = cv.cross_validate(items, {"meaning_min": (0.4, 0.5, 0.6)})
    assert seen == [{"fintech-p99-spikes", "gpu-price-shift"}, {BATCH, "gpu-price-shift"},
                    {BATCH, "fintech-p99-spikes"}]
    assert out["cv"]["all"]["questions"] == len(items)
    assert set(out["fold_params"]) == {BATCH, "fintech-p99-spikes", "gpu-price-shift"}


def test_the_search_starts_mid_grid_with_round_3s_signals_off_never_at_the_shipped_params(
        ) -> None:
    grid = {"meaning_min": (0.1, 0.2, 0.3, 0.9), "keyword_floor": (0.05, 0.07)}
    p = cv.start(grid)
    assert p.meaning_min == 0.2 and p.keyword_floor == 0.05
    assert (p.lead_min, p.override_margin, p.words_weight, p.intent_weight) == (1.0, 1.0, 0, 0)


def test_fitting_never_does_worse_on_its_own_items_than_where_it_started() -> None:
    items = _items(8, (BATCH, "llama70b-2x-latency"))
    grid = {k: v for k, v in cv.GRID.items() if k in cv.ROUND2}
    fitted = cv.fit(items, grid)
    assert cv.objective(items, fitted) >= cv.objective(items, cv.start(grid))
    # A threshold nothing can pass tells nothing at all (so the objective can fail).
    nothing = dataclasses.replace(PARAMS, meaning_min=2.0, keyword_floor=2.0, clue_min=2.0)
    assert cv.objective(items, nothing) == 0.0


@pytest.mark.slow
def test_the_cli_reads_only_dev_and_writes_its_figures(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    read_paths: list[Path] = []
    real_load = cv.load_bank

    def recording_load(path: Path, cases: Any = None) -> Any:
        read_paths.append(path)
        return real_load(path, cases)

    monkeypatch.setattr(cv, "load_bank", recording_load)
    out = tmp_path / "cv.json"
    assert cv.main(["--variant", "authored", "--grid", "round2", "--json", str(out)]) == 0
    assert read_paths == [SPLITS["dev"]]
    figures = json.loads(out.read_text(encoding="utf-8"))
    row = figures["variants"]["authored"]["round2"]["cv"]["all"]
    assert row["questions"] == figures["questions"] > 200 and 0 < row["recall"] <= 1
    text = capsys.readouterr().out
    assert "CV round2" in text and "shipped, in-sample" in text


@pytest.mark.parametrize(("question", "kinds"), [
    ("How long does the job run each night?", {"duration"}),
    ("Who raised it on their side?", {"person"}),
    ("What do they spend with us a month?", {"money", "count"}),
    ("What share of the tickets are about slow requests?", {"share", "portion"}),
    ("When does their contract renew?", {"date"}),
    ("Is it in production?", set()),
])
def test_a_questions_intent_is_read_from_its_question_words(question: str,
                                                              kinds: set[str]) -> None:
    assert intents(question) == kinds


def test_the_kinds_of_answer_a_fact_gives_come_from_its_own_words() -> None:
    case = get_case(BATCH)
    assert "duration" in gives(case.fact("runtime"))
    assert "money" in gives(case.fact("budget"))
    assert "person" in gives(case.fact("escalation"))
    assert not {"money", "duration"} & gives(case.fact("precision"))


def test_shared_words_weigh_the_words_rare_among_the_cases_facts() -> None:
    case = get_case(BATCH)
    fi, _, _ = read(case, ["Anything?"])
    pos = {f.id: i for i, f in enumerate(fi.facts)}
    row = shared_words(fi, "Who is the CFO here?")
    assert row[pos["escalation"]] == row.max() > 0
    assert shared_words(fi, "What is it?").max() == 0  # only plain words


def test_no_signal_weight_tips_a_clue_to_a_question_that_only_brushes_it() -> None:
    """"Can we change their prompts?" shares the word "prompt" with the clue that every prompt
    starts the same; heavy typed and shared-words weights must still not tell it."""
    case = get_case(BATCH)
    heavy = dataclasses.replace(PARAMS, words_weight=0.5, intent_weight=0.3,
                                override_margin=0.0, lead_min=0.0, lead_margin=0.0)
    question = "Can we change their prompts?"
    fi, named, readings = read(case, question_parts(question))
    clues = {i for i, f in enumerate(fi.facts) if f.clue}
    assert not decide(fi, named, readings, heavy) & clues
    # ...while a question asking for it directly still gets it.
    direct = "Do all the prompts begin with the same block of instructions?"
    fi, named, readings = read(case, question_parts(direct))
    told = {fi.facts[i].id for i in decide(fi, named, readings, heavy)}
    assert "prompt_shape" in told


@pytest.mark.parametrize(("text", "problem"), [
    ("count: {asks: [how many]}\n", "field 'gives' is missing"),
    ("count: {asks: [how many], gives: [x], says: [y]}\n", "unknown field 'says'"),
    ("count: {asks: [], gives: [x]}\n", "field 'asks'"),
    ("count: {asks: ['re:('], gives: [x]}\n", "not a valid pattern"),
    ("- how many\n", "expected a mapping"),
])
def test_a_bad_intents_file_is_refused_naming_the_kind_and_field(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, problem: str) -> None:
    from agent.prompts import clarify_intents

    message = refused_prompt_file(tmp_path, monkeypatch, "clarify_intents", text,
                                  clarify_intents, clarify_intents)
    assert re.search(problem, message), message
