"""Issue 10, clarify by meaning (offline): facts chosen by meaning and the keyword rules, clue
facts only to a direct question, repeats answered as repeats, off-sheet questions told to make
an assumption, the compound-question split (issue 19, item 5), and how the bank measures it."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from agent.cases import Case, get_case
from agent.clarify.select import PARAMS, fact_index, select, split_questions
from agent.config import Settings
from agent.engine import Engine
from agent.offline import OfflineInterviewer, matching_facts, question_parts
from agent.policy import ClarifyReply
from agent.prompts import script
from agent.state import Turn
from evals.clarify_bank import load_bank
from evals.clarify_eval import measure
from evals.gate import GateError, check_behaviour, load_behaviour_gates
from tests.conftest import run_cli
from tests.helpers import refused_prompt_file, refused_script_without

BATCH = "batch-inference-cost"
FINTECH = "fintech-p99-spikes"


def told(case_id: str, question: str) -> set[str]:
    return {f.id for f in matching_facts(get_case(case_id), question)}


@pytest.mark.parametrize(("case_id", "question", "expected"), [
    # The examples: "constraints" no longer pulls in the cost goal; the job's size
    # does not volunteer a batch fact.
    (BATCH, "Do they have any data-residency or compliance constraints, e.g. must the claims "
            "stay in an EU region?", set()),
    (BATCH, "How big is the job in tokens?", {"scale"}),
    # Plain words, none of the fact's keywords.
    (FINTECH, "Is somebody sitting there waiting for each reply?", {"workload"}),
    (BATCH, "Is anybody waiting on each result, or does it run while they sleep?",
     {"workload"}),
])
def test_facts_are_chosen_by_meaning(case_id: str, question: str, expected: set[str]) -> None:
    assert told(case_id, question) == expected


def test_a_clue_is_told_only_to_a_question_that_asks_for_it() -> None:
    case = get_case(BATCH)
    assert case.fact("prompt_shape").clue
    # Touches the prompts, asks about changing them: the shared-prefix clue stays hidden.
    assert "prompt_shape" not in told(BATCH, "Can we change their prompts?")
    assert told(BATCH, "Do the prompts all share a long common prefix?") == {"prompt_shape"}
    assert told(BATCH, "What do the prompts look like?") == {"prompt_shape"}


def test_a_clue_never_comes_from_meaning_alone_when_a_keyword_finds_another_fact() -> None:
    # "How long does the job run each night?" asks for the runtime; the idle-GPU clue
    # (utilization) is close in meaning but not asked.
    assert told(BATCH, "How long does the job run each night?") == {"runtime"}


def test_a_compound_question_around_an_assumption_keeps_both_questions() -> None:
    """Issue 19, item 5: the question before the stated assumption was dropped."""
    q = "Who are their own users, and — assuming it's real-time — what's the peak QPS?"
    assert question_parts(q) == ["Who are their own users, and what's the peak QPS?"]
    assert told(FINTECH, q) == {"end_users", "scale"}
    assert split_questions("Who are their own users, and what's the peak QPS?") == [
        "Who are their own users", "what's the peak QPS?"]
    # A leading assumption still asks only what follows it.
    assert question_parts("Assuming it's real-time, what's the QPS?") == [" what's the QPS?"]


def test_an_either_or_question_is_one_question() -> None:
    """Round 7: a question that offers two answers is not split at "or" (each half alone said
    too little to be matched, so the long either-or questions of an outsider got nothing)."""
    q = ("Forgive me if this is basic: is somebody sitting there waiting for each answer, or "
         "does it all just run while they sleep?")
    assert split_questions(q) == [q]
    assert told(BATCH, q) == {"workload"}
    # Read whole, this one is closest to the latency fact, 0.041 ahead of the next: told at the
    # margin fitted before stop 33, refused (asked to assume) at stop 33's 0.06, a loss taken
    # for the near misses the wider margin refuses on the probes (evals/README.md, "Stop 33").
    slower = (
        "Did the service really get slower for people, or is it only that they feel it is slow?")
    assert split_questions(slower) == [slower]
    before = dataclasses.replace(PARAMS, meaning_margin=0.04)
    assert {f.id for f in select(get_case("devx-observability-gap"), question_parts(slower),
                                 before)} == {"latency"}
    # Two questions joined by "and" are still two.
    assert len(split_questions("Who are their users, and is it real-time or batch?")) == 2


def test_fact_embeddings_are_computed_once_per_case() -> None:
    case = get_case(FINTECH)
    assert fact_index(case) is fact_index(case)
    assert len(fact_index(case).index) >= len(case.facts)


class _Said:
    def __init__(self) -> None:
        self.text = ""

    def __call__(self, piece: str) -> None:
        self.text += piece

    def restart(self, reason: str = "") -> None:
        self.text = ""

    def notice(self, text: str) -> None:
        return None


def _ask(case: Case, question: str, history: list[Turn]) -> ClarifyReply:
    reply = OfflineInterviewer().clarify(case, question, history, _Said())
    history += [Turn(role="candidate", step="clarify", kind="answer", text=question),
                Turn(role="interviewer", step="clarify", kind="fact", text=reply.text)]
    return reply


def test_a_repeated_question_is_answered_as_a_repeat() -> None:
    case = get_case(FINTECH)
    history: list[Turn] = []
    first = _ask(case, "Which GPUs?", history)
    assert first.fact_ids == ["hardware"] and not first.text.startswith("As I said")
    again = _ask(case, "Which GPUs are they on?", history)
    assert again.fact_ids == ["hardware"]
    assert again.text == str(script()["repeat_fact"]).format(
        answer=case.fact("hardware").answer.strip())
    # A new fact and a repeated one together: the new one plainly, then the repeat.
    both = _ask(case, "Which GPUs, and what's the peak QPS?", history)
    assert set(both.fact_ids) == {"hardware", "scale"}
    assert both.text.startswith(case.fact("scale").answer.strip())
    assert "As I said" in both.text


def test_as_i_said_only_for_what_was_said() -> None:
    """A trial: seven questions at once got ten facts in the sheet's words; read whole by
    meaning, their prices and "competitive prices" counted the competitor fact as told, so the
    question about competitors got "As I said: ..." for a fact never said. The sheet's words
    are taken out of a line before the rest is read; a model's own words are still read."""
    from agent.clarify.reply import told_before

    case = get_case("moe-long-context-onboarding")
    ids = ["product_area", "workload", "long_context_share", "models", "precision",
           "internal_results", "internal_ttft", "hardware", "multi_node", "price_pressure"]
    line = " ".join(case.fact(i).answer.strip() for i in ids)
    history = [Turn(role="candidate", step="clarify", kind="answer", text="Lots of questions"),
               Turn(role="interviewer", step="clarify", kind="fact", text=line)]
    assert told_before(case, history) == set(ids)
    reply = OfflineInterviewer().clarify(case, "Who else already serves it?", history, _Said())
    assert reply.fact_ids == ["competition"] and "As I said" not in reply.text
    # A model's words for the same fact still count as telling it.
    history.append(Turn(role="interviewer", step="clarify", kind="fact", text=(
        "Two rival inference platforms and the vendor's own API had it live on launch day, "
        "and one already advertises 128k.")))
    assert "competition" in told_before(case, history)


def test_a_list_of_questions_asks_every_item() -> None:
    """A trial asked seven things as a bulleted list; the items without a question mark
    ("- tokens/day expected, and latency need (TTFT, tok/s) per context size") were read as
    statements and silently left unanswered. In a list where an item asks, an item that states
    nothing asks too, each thing it names; assumptions listed as bullets still ask nothing."""
    case = get_case("moe-long-context-onboarding")
    msg = ("- serving first or fine-tune also?\n"
           "- tokens/day expected, and latency need (TTFT, tok/s) per context size\n"
           "- deadline + how customer compare us")
    parts = question_parts(msg)
    assert "tokens/day expected" in parts and "deadline" in parts
    assert "latency need (TTFT, tok/s) per context size" in parts
    asked = {f.id for f in matching_facts(case, msg)}
    assert {"product_area", "scale", "latency", "timeline", "price_pressure"} <= asked
    assert question_parts("Assumptions:\n- real-time chat\n- 500 ms p99\nWhich GPUs?") == [
        "Which GPUs?"]
    # a played-back list with a check-in is no list of questions: its items are not split up
    played = question_parts("- real-time chat, streaming\n- 500 ms p99 target\n- is that right?")
    assert "streaming" not in played and "real-time chat" not in played


def test_an_off_sheet_question_asks_for_an_assumption_and_a_repeat_says_so() -> None:
    case = get_case(BATCH)
    history: list[Turn] = []
    q = "How many engineers do they have on the data team?"
    first = _ask(case, q, history)
    assert first.fact_ids == [] and first.text == script()["no_fact"]
    assert "assumption" in first.text.lower()
    second = _ask(case, q, history)
    assert second.text == script()["no_fact_repeat"] and "assumption" in second.text.lower()


def test_a_session_says_as_i_said_on_a_repeat() -> None:
    case = get_case(FINTECH)
    with Engine(Settings()) as engine:
        session = engine.start(case)
        session.answer("Which GPUs?")
        session.answer("Which GPUs?")
        state = session.state()
        facts = [t["text"] for t in state["turns"] if t["kind"] == "fact"]
        assert facts[-1].startswith("As I said")
        assert state["facts_told"] == ["hardware", "hardware"]


# -- the measure ---------------------------------------------------------------------------------

def _bank(tmp_path: Path, rows: list[dict[str, Any]]) -> Path:
    path = tmp_path / "bank.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


class _TellsEverything:
    """An interviewer that tells every fact: what the measure must catch."""

    engine = "test"

    def clarify(self, case: Case, question: str, history: Any, speak: Any) -> ClarifyReply:
        return ClarifyReply("all of it", [f.id for f in case.facts])


def test_the_measure_counts_precision_recall_and_clue_leaks(tmp_path: Path) -> None:
    rows = [
        {"id": "q1", "case": BATCH, "question": "Which model?", "expect": ["models"],
         "kind": "direct"},
        {"id": "q2", "case": BATCH, "question": "Can we change their prompts?", "expect": [],
         "kind": "clue_side", "touches": ["prompt_shape"]},
        {"id": "q3", "case": BATCH, "question": "How many engineers maintain it?",
         "expect": [], "kind": "off_sheet"},
    ]
    bank = load_bank(_bank(tmp_path, rows))
    good = measure(OfflineInterviewer(), {"t": bank})["t"]
    assert good["precision"] == 1.0 and good["recall"] == 1.0 and good["clue_leaks"] == 0
    assert good["assumption_asked"] == 1.0
    assert good["by_kind"]["direct"]["questions"] == 1
    bad = measure(_TellsEverything(), {"t": bank})["t"]  # type: ignore[arg-type]
    case = get_case(BATCH)
    clues = sum(f.clue for f in case.facts)
    assert bad["recall"] == 1.0
    assert bad["precision"] == round(1 / (3 * len(case.facts)), 3)
    assert bad["clue_leaks"] == 3 * clues
    assert bad["assumption_asked"] == 0.0


def test_behaviour_gates_pass_fail_and_known(tmp_path: Path) -> None:
    path = tmp_path / "gates.toml"
    path.write_text('[[behaviour]]\nname = "p"\nmetric = "clarify.dev.precision"\nmin = 0.9\n'
                    '[[behaviour]]\nname = "r"\nmetric = "clarify.dev.recall"\nmin = 0.9\n'
                    'enforce = false\n'
                    '[[behaviour]]\nname = "l"\nmetric = "clarify.dev.clue_leaks"\nmax = 0\n',
                    encoding="utf-8")
    gates = load_behaviour_gates(path)
    ok, text = check_behaviour({"clarify": {"dev": {"precision": 0.95, "recall": 0.5,
                                                    "clue_leaks": 0}}}, gates)
    assert ok and "pass: p" in text and "known: r" in text and "pass: l" in text
    ok, text = check_behaviour({"clarify": {"dev": {"precision": 0.95, "recall": 0.95,
                                                    "clue_leaks": 1}}}, gates)
    assert not ok and "FAIL: l" in text
    path.write_text('[[behaviour]]\nname = "x"\nmetric = "a.b"\n', encoding="utf-8")
    with pytest.raises(GateError, match="needs min or max"):
        load_behaviour_gates(path)


def test_the_shipped_gates_load() -> None:
    gates = load_behaviour_gates(Path(__file__).resolve().parents[1] / "evals" / "gates.toml")
    assert {g.metric for g in gates} >= {"clarify.heldout.precision", "clarify.heldout.recall",
                                         "clarify.heldout.clue_leaks"}
    assert all(g.enforce for g in gates if g.metric.endswith("clue_leaks"))
    # met since stop 32 (the blend with MiniLM), so CI holds it
    assert next(g for g in gates if g.metric == "clarify.heldout.recall").enforce


def test_eval_behaviour_refuses_a_bad_gates_file_before_any_work(home: Path,
                                                                tmp_path: Path) -> None:
    bad = tmp_path / "g.toml"
    bad.write_text("[[behaviour]]\nname = 1\n", encoding="utf-8")
    r = run_cli(home, "eval", "behaviour", "evals/datasets/dev.jsonl", "--gates", str(bad))
    assert r.returncode == 2 and str(bad) in r.stderr and "name" in r.stderr


# -- issue 10 round 2, item 4: a repeated question is answered as a repeat with a model too ----

def _paraphrasing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake model speaks each fact in its own words (figures kept, wording changed), as a
    real model would: the repeat must be recognised from what it said, not from the sheet's
    exact words."""
    import tests.wire as wire
    from evals.fake_responder import interviewer_responder

    def reworded(body: dict[str, Any]) -> str | dict[str, Any] | None:
        out = interviewer_responder(body)
        if isinstance(out, str) and wire.schema_name(body) is None:
            return "Sure. " + out.replace("About", "Roughly").replace("peaking around",
                                                                      "topping out near")
        return out
    monkeypatch.setattr(wire, "interviewer_responder", reworded)


def test_a_repeated_question_is_answered_as_a_repeat_on_the_model_path(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx
    import respx

    from tests.wire import URL, FakeModel, schema_name

    _paraphrasing(monkeypatch)
    fake = FakeModel()
    case = get_case(FINTECH)
    question = "What's the request rate on average and at peak?"
    with respx.mock:
        respx.post(f"{URL}/chat/completions").mock(side_effect=fake)
        with Engine(Settings(base_url=URL, api_key="k", model="m", max_retries=0),
                    http_client=httpx.Client()) as engine:
            s = engine.start(case)
            s.answer(question)
            first = s.state()["turns"][-1]["text"]
            speech = [b for b in fake.bodies if schema_name(b) is None]
            s.answer(question)
            second = s.state()["turns"][-1]["text"]
            spoken_again = [b for b in fake.bodies if schema_name(b) is None][len(speech):]
            s.answer("And the request rate, average and peak, once more?")
            third = s.state()["turns"][-1]["text"]
    assert "scale" in s.state()["facts_told"]
    assert first.startswith("Sure.") and "Roughly 300" in first  # the model's own words
    repeat = str(script()["repeat_fact"]).split("{")[0]
    assert second.startswith(repeat) and case.fact("scale").answer.strip() in second
    assert third.startswith(repeat)
    # The repeat is said from the sheet: the model is not asked to speak the fact again.
    assert not spoken_again


def test_a_repeated_off_sheet_question_on_the_model_path_says_so(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx
    import respx

    from tests.wire import URL, FakeModel

    fake = FakeModel()
    question = "What colour is their office carpet?"
    with respx.mock:
        respx.post(f"{URL}/chat/completions").mock(side_effect=fake)
        with Engine(Settings(base_url=URL, api_key="k", model="m", max_retries=0),
                    http_client=httpx.Client()) as engine:
            s = engine.start(get_case(FINTECH))
            s.answer(question)
            first = s.state()["turns"][-1]["text"]
            s.answer(question)
            second = s.state()["turns"][-1]["text"]
    assert first == script()["no_fact"] and second == script()["no_fact_repeat"]


# -- issue 10 round 2, item 2: meaning that generalises ------------------------------------------

def test_an_everyday_phrase_reaches_its_fact_through_the_concept_words(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import agent.clarify.select as select

    question = "Do developers stop using us over this?"
    assert "churn" in select.gloss(question) and "(" in select.gloss(question)
    assert told("devx-observability-gap", question) == {"churn"}
    # Without the concept words the small embedding model does not make the connection.
    monkeypatch.setattr(select, "clarify_words", dict)
    assert select.gloss(question) == question
    assert "churn" not in told("devx-observability-gap", question)


def test_a_facts_authored_questions_are_matched_and_a_clues_are_not() -> None:
    from agent.clarify.select import references

    case = get_case(FINTECH)
    region = case.fact("region")
    assert region.asks and set(region.asks) <= set(references(region))
    clue = next(f for f in case.facts if f.clue)
    with_asks = clue.model_copy(update={"asks": ["Anything at all about the platform?"]})
    assert "Anything at all about the platform?" not in references(with_asks)
    # An authored question in other words than the fact's keywords still finds it.
    assert told(FINTECH, "Where geographically do their requests get served?") == {"region"}


@pytest.mark.parametrize(("case_id", "fid", "question"), [
    # Plain-words questions sharing no keyword with the fact: its everyday-words description
    # (Fact.plainly) is what they match.
    ("strategic-custom-ask", "displaced_work", "What would we have to stop working on to do this?"),
    ("gpu-price-shift", "margin", "How much do we keep out of every dollar these days?"),
    (FINTECH, "admission", "Do some calls get to skip the line?"),
])
def test_a_facts_plain_words_description_is_matched_and_only_with_the_authored_lists(
        case_id: str, fid: str, question: str) -> None:
    from agent.clarify.select import references

    case = get_case(case_id)
    fact = case.fact(fid)
    assert fact.plainly and fact.plainly in references(fact)
    assert fact.plainly not in references(fact, authored=False)
    assert told(case_id, question) == {fid}
    # Without its authored questions (clarify6 wrote more of them, some near the description),
    # the description alone still finds it...
    no_asks = case.model_copy(update={"facts": [f.model_copy(update={"asks": []})
                                                for f in case.facts]})
    assert fid in {f.id for f in matching_facts(no_asks, question)}
    # ...and the same sheet without the descriptions too does not: the description does the work.
    bare = no_asks.model_copy(update={"facts": [f.model_copy(update={"plainly": None})
                                                for f in no_asks.facts]})
    assert fid not in {f.id for f in matching_facts(bare, question)}


@pytest.mark.parametrize(("question", "expected"), [
    ("Their users are developers in the IDE, I assume, so what latency target do they need?",
     {"latency"}),
    ("How much traffic do they expect and, assuming most of it is short chat, what time to "
     "first token do users need?", {"scale", "latency"}),
])
def test_an_assumption_inside_a_question_is_not_asked_about(question: str,
                                                            expected: set[str]) -> None:
    from agent.clarify.select import unassumed

    assert "assum" not in unassumed(question).lower()
    case = "strategic-custom-ask" if "IDE" in question else "moe-long-context-onboarding"
    assert told(case, question) == expected


@pytest.mark.parametrize(("text", "problem"), [
    ("churn: {means: leave}\n", "field 'says' is missing"),
    ("churn: {says: [walk away], mean: leave}\n", "unknown field 'mean'"),
    ("churn: {means: '', says: [walk away]}\n", "field 'means'"),
    ("churn: {means: leave, says: ['re:(']}\n", "not a valid pattern"),
    ("- walk away\n", "expected a mapping"),
])
def test_a_bad_concept_file_is_refused_naming_the_concept_and_field(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, problem: str) -> None:
    from agent.prompts import clarify_words

    message = refused_prompt_file(tmp_path, monkeypatch, "clarify_words", text, clarify_words,
                                  clarify_words)
    assert re.search(problem, message), message


def test_a_question_is_matched_in_a_few_milliseconds() -> None:
    """Not a timing assert (benchmarks print figures): the matcher embeds each question once
    and reuses the case's fact index, so asking the same question again embeds nothing new."""
    from agent.clarify import select
    from agent.semantic import matcher

    case = get_case(FINTECH)
    select.fact_index(case)
    question = "Roughly how many calls give up at the busiest times?"
    matching_facts(case, question)
    cached = len(matcher._cache)
    matching_facts(case, question)
    assert len(matcher._cache) == cached


@pytest.mark.parametrize(("part", "pieces"), [
    ("QPS and latency target", ["QPS", "latency target"]),
    # A longer question's "and" joins one question.
    ("Do teams come back and fine-tune their models again every month?",
     ["Do teams come back and fine-tune their models again every month?"]),
    # A lead-in stays with the question it leads into.
    ("Of all the requests, how many hit the cache?",
     ["Of all the requests, how many hit the cache?"]),
    ("Who pays for it, and how much do they pay?", ["Who pays for it", "how much do they pay?"]),
    # A clause of time or condition is a lead-in too, though "when" can open a question...
    ("When the queue backs up, what do the engineers look at first?",
     ["When the queue backs up, what do the engineers look at first?"]),
    ("If a replica dies, how long until traffic moves?",
     ["If a replica dies, how long until traffic moves?"]),
    # ...which it does when a verb of asking follows.
    ("When do they need it, and what is the budget?",
     ["When do they need it", "what is the budget?"]),
])
def test_a_part_splits_only_where_another_question_starts(part: str, pieces: list[str]) -> None:
    assert split_questions(part) == pieces


def test_a_question_of_several_the_sheet_cannot_answer_is_said_to_be_so() -> None:
    # Before, "Which GPUs? And what colour is the office carpet?" was told the GPUs and the
    # second question passed over in silence.
    case = get_case(FINTECH)
    history: list[Turn] = []
    reply = _ask(case, "Which GPUs? And what colour is the office carpet?", history)
    assert reply.fact_ids == ["hardware"]
    assert reply.text.startswith(case.fact("hardware").answer.strip())
    assert reply.text.endswith(str(script()["no_fact_part"]).format(
        asked="“what colour is the office carpet?”"))
    # every question answered: nothing more is said
    both = _ask(case, "Which GPUs? Which region?", [])
    assert set(both.fact_ids) == {"hardware", "region"} and "assumption" not in both.text
    # a fragment is no question of its own ("Two things." heads what follows)
    heads = _ask(case, "Two things. Which GPUs?", [])
    assert heads.fact_ids == ["hardware"] and "“" not in heads.text
    # one question alone keeps the plain reply (small talk its own: "not part of this case")
    alone = _ask(case, "How many engineers are on their team?", [])
    assert alone.text == script()["no_fact"]
    assert _ask(case, "What colour is the office carpet?", []).text == script()["no_fact_off_case"]


def test_a_question_quoted_back_is_cut_and_tells_no_fact() -> None:
    # The quoted question is the candidate's words: a fact's answer quoted in it was not told.
    from agent.clarify.reply import QUOTE_CHARS, not_on_sheet, told_before

    case = get_case(FINTECH)
    answer = max((f.answer.strip() for f in case.facts if f.id != "hardware"), key=len)
    assert len(answer) > QUOTE_CHARS
    line = not_on_sheet([f"Is it true that {answer}"])
    assert "…" in line and max(len(q) for q in re.findall(r"“([^”]*)”", line)) == QUOTE_CHARS
    short = case.fact("region").answer.strip()
    assert len(short) <= QUOTE_CHARS
    said = f"{case.fact('hardware').answer.strip()} {not_on_sheet([short])}"
    history = [Turn(role="interviewer", step="clarify", kind="fact", text=said)]
    assert told_before(case, history) == {"hardware"}


def test_a_script_without_the_line_for_a_question_left_over_is_refused_at_load(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A designer's copy of prompts/ from before this line existed fails at load, naming it,
    # not with a KeyError in the middle of an interview.
    message = refused_script_without(tmp_path, monkeypatch, "no_fact_part:")
    assert "missing field 'no_fact_part'" in message
