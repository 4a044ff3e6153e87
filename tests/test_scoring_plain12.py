"""Round 12 of issue 9: a blunt SRE's terse lists and headings (a heading over a list carries its
meaning to each item, ...), in our own words, and adversarial answers aimed at what the round
added. Every positive test fails on the scorer before it."""

from __future__ import annotations

import pytest

from agent.cases import get_case
from tests.test_scoring_meaning import level, score

COLD = get_case("finetune-cold-starts")
FINTECH = get_case("fintech-p99-spikes")

# -- a heading over a list carries its meaning to each item ----------------------------------------

PHASED_LIST = (
    "Short term:\n"
    "- Keep the most used adapters resident on warm machines.\n"
    "Medium term:\n"
    "- Load adapter weights from local disk so a cold load takes seconds.\n"
    "Long term:\n"
    "- One base model serves many adapters on each machine, for every customer.\n")


@pytest.mark.parametrize("text", [
    PHASED_LIST,
    PHASED_LIST.replace("term:\n", "term\n").replace("Short", "## Short")
    .replace("Medium", "## Medium").replace("Long", "## Long"),
    PHASED_LIST.replace(":\n-", ":\n\n1."),
])
def test_horizon_headings_over_lists_read_as_horizons(text: str) -> None:
    assert level(score(text, "solutions", COLD), "solutions.time_horizons") == 3


def test_the_item_is_shown_as_written() -> None:
    from agent.semantic.reading import read_answer

    texts = [s.text for s in read_answer(PHASED_LIST)]
    assert "- Keep the most used adapters resident on warm machines." in texts
    assert not any(t.startswith("Short term: Keep") for t in texts)


@pytest.mark.parametrize("text", [
    # bare headings with nothing under them
    "Short term:\nMedium term:\nLong term:\n",
    "Short term:\n\nMedium term:\n\nLong term:\n- synergy leverage holistic north star\n",
    # headings over keyword lists
    "Short term:\n- p99\n- KV cache\nMedium term:\n- autoscaler\n- canary\nLong term:\n"
    "- north star\n- platform\n",
    # headings over negated items
    "Short term:\n- Nothing, we don't do anything now.\nMedium term:\n- No caching, no "
    "autoscaler.\nLong term:\n- We never build a platform.\n",
])
def test_headings_with_nothing_said_under_them_earn_one_noun_string(text: str) -> None:
    assert (level(score(text, "solutions", FINTECH), "solutions.time_horizons") or 0) <= 2
    assert score(text, "solutions", FINTECH).score <= 1.3


def test_a_heading_does_not_reach_past_its_list() -> None:
    from agent.semantic.reading import read_answer

    sents = read_answer("Short term:\n- Keep spare machines warm.\nThen we add more machines "
                        "later.\n- Keep the queue short.")
    assert "Short term" in sents[1].read
    assert all("Short term" not in s.read for s in sents[2:])


# -- time labels that lay out two horizons or more -------------------------------------------------

@pytest.mark.parametrize("text", [
    "Week 1: a script brings up spare copies twenty minutes before the rush.\n"
    "Month 1: the scaler reacts to the waiting line, not to how busy the cards look.\n"
    "Quarter: latency-aware scaling as a product for every dedicated customer.\n",
    "Days 1-3: keep two extra machines warm through the morning.\n"
    "Month 2: load weights from local disk so new machines answer sooner.\n"
    "H2: a scheduler that every team's traffic goes through.\n",
    "Wk 1 - we pin the hot adapters on warm machines.\n"
    "Mo 1 - we stream weights from local disk.\n"
    "Q3 - we ship one shared pool for every fine-tune customer.\n",
    # three units rising to a quarter read near, mid and long by their order, though "next
    # quarter" alone reads mid (stop 34's new-user trial was credited with two horizons here)
    "This week: a schedule-based pre-scale for their known peaks.\n"
    "Next month: a small reserved pool of warm replicas just for them.\n"
    "Next quarter: cut replica startup time by caching the weights on the node.\n",
])
def test_time_labels_across_horizons_read_as_horizons(text: str) -> None:
    assert level(score(text, "solutions", FINTECH), "solutions.time_horizons") == 3


@pytest.mark.parametrize("text", [
    # labels of one horizon only
    "Day 1: copy the config and point it at the new weights.\nDay 2: raise the limit to 128k.\n"
    "Day 3: launch it for everyone.\n",
    "Week 1: we add two machines.\nWeek 2: we add two more machines.\nWeek 3: we add four "
    "nodes.\n",
    # rising units that stop short of a quarter stay near and mid
    "Day 1: copy the config over.\nWeek 1: raise the limit to 128k.\nMonth 1: launch it for "
    "everyone.\n",
    # bare labels, keyword lists, negated, filler
    "Week 1:\nMonth 1:\nQuarter:\n",
    "Week 1: p99, KV cache.\nMonth 1: autoscaler, canary.\nQuarter: north star, platform.\n",
    "Week 1: we don't do anything.\nMonth 1: no caching, no autoscaler.\nQuarter: nothing, we "
    "never build a platform.\n",
    "Week 1: synergy leverage holistic north star alignment.\nMonth 1: leverage synergies "
    "holistically.\nQuarter: holistic leverage of the north star.\n",
])
def test_time_labels_that_lay_out_no_horizons_earn_nothing_new(text: str) -> None:
    assert (level(score(text, "solutions", FINTECH), "solutions.time_horizons") or 0) <= 2


# -- a margin of time is slack, not profit ---------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Replicas are ready in 7 min, so 8 min margin.",
    "That leaves a margin of 30 seconds before the deadline.",
    "We keep 2 min of margin and a safety margin on memory.",
])
def test_a_margin_of_time_is_no_money_margin(text: str) -> None:
    from agent.semantic.reading import read_sentence

    s = read_sentence(text)
    assert "margin" not in s.read.lower() and "margin" not in s.full.lower()
    assert s.text == text
    for step in ("solutions", "cross_cutting"):
        result = score(text, step, FINTECH)
        assert not any("margin" in c.rationale.lower() for c in result.criteria)


@pytest.mark.parametrize("text", [
    "Gross margin on the account must not drop.",
    "Our margin per token falls if we keep idle machines.",
])
def test_a_money_margin_still_reads(text: str) -> None:
    from agent.semantic.reading import read_sentence

    assert "margin" in read_sentence(text).read.lower()


# -- many sharp questions from one seat are a line of questioning ---------------------------------

def _interview(*answers: str):
    from agent.scorers import OfflineScorer

    turns = [t for a in answers for t in (("interviewer", "Go on."), ("candidate", a))]
    return OfflineScorer().score_step(FINTECH, "cross_cutting", turns)  # type: ignore[arg-type]


INFRA_ONLY = (
    "Which machines and which model? Shared or reserved for them?",
    "How slow is the slowest one in a hundred at the open right now?",
    "Ramp shape: how fast does it climb, and is it the same every day?",
    "Scaler: what does it watch, and how long does it wait before adding more?",
    "How long until a new copy answers its first request?",
    "Do requests wait in line during the spike, and how full are the cards?",
)


def test_many_questions_from_one_seat_earn_partial_credit() -> None:
    assert level(_interview(*INFRA_ONLY), "cross_cutting.pm_and_operator_questions") == 2


@pytest.mark.parametrize("answers", [
    # one question form over and over
    ("What about p99?", "What about the KV cache?", "What about the canary?",
     "What about rollback?", "What about the SLA?", "What about the north star?"),
    # bare keywords with question marks
    ("p99?", "KV cache?", "canary?", "rollback?", "SLA?", "north star?"),
    # musings, not questions
    ("Maybe more GPUs?", "I guess too many users at once?", "Perhaps some kind of caching?",
     "How about a bigger batch?", "What if we restart it?", "Could it be the network?"),
    # buzzword questions
    ("How do we leverage synergies holistically?", "Can we leverage the north star alignment?",
     "What synergy does the framework unlock?", "Is our posture holistic?",
     "Where is the leverage in the strategy?", "Which synergies ladder up?"),
    # fewer than five
    INFRA_ONLY[:2],
    # sharp-sounding questions about anything but the case (stop 32: they earned level 2)
    ("What color are the server racks?", "Who painted the office walls last year?",
     "How many plants are in the lobby?", "When does the cafeteria close on Fridays?",
     "Which football team does the CTO support?", "Why did they pick a blue logo?"),
    # the case's words in questions that ask nothing about it
    ("How many stickers are on each GPU?", "What color is the load balancer's cable?",
     "Who named the autoscaler?", "Does the KV cache like jazz music?",
     "When is the p99's birthday party?", "Which font does the tokenizer prefer?"),
])
def test_what_is_no_line_of_questioning_earns_nothing_new(answers: tuple[str, ...]) -> None:
    result = _interview(*answers)
    c = next(c for c in result.criteria if c.id == "cross_cutting.pm_and_operator_questions")
    assert "clarifying questions" not in c.rationale


# -- a short label names what the question after it asks about ----------------------------------

def test_a_labelled_question_about_traffic_is_no_stated_goal() -> None:
    result = score("Burst shape: how fast does it ramp, is it predictable?", "clarify", FINTECH)
    assert level(result, "clarify.optimization_target") == 1


@pytest.mark.parametrize("text", [
    "Priority: is it how fast answers come back, or what it costs?",
    "Goal: how fast do answers need to come back, and at what cost?",
])
def test_a_labelled_question_about_the_goal_still_counts(text: str) -> None:
    assert (level(score(text, "clarify", FINTECH), "clarify.optimization_target") or 0) >= 2


# -- a thing held fixed is a constraint; a heading of assumptions reaches its items --------------

ASSUMED = ("Assumptions:\n- Model fixed. No quantization, no swap.\n- We can reserve capacity on "
           "our side.\n- The fix is ours, not theirs.")


def test_a_list_under_an_assumptions_heading_reads_as_assumptions_and_a_limit() -> None:
    result = score(ASSUMED, "clarify", FINTECH)
    c = next(c for c in result.criteria if c.id == "clarify.assumption_summary")
    assert "constraint" in c.rationale and c.rationale.startswith("Covered 2")


@pytest.mark.parametrize("text,held", [
    ("Model fixed.", True),
    ("Hardware is a given: H100s only.", True),
    ("Budget locked at 40 GPUs.", True),
    ("The model is not fixed.", False),
    ("We fixed the bug in the API.", False),
    ("The API is fixed in the next release.", False),
])
def test_a_thing_held_fixed_reads_as_a_constraint(text: str, held: bool) -> None:
    from agent.semantic.reading import read_sentence

    assert ("constraint" in read_sentence(text).read) is held


@pytest.mark.parametrize("text", [
    "Assumptions:\n- None.\n- We don't assume anything.\n- No summary needed.",
    "Assumptions:\n- p99\n- cost\n- SLA\n- canary",
    "Assumptions:\nSummary:\nConstraints:\nTarget:",
])
def test_an_assumptions_heading_over_nothing_earns_at_most_a_noun_string(text: str) -> None:
    assert (level(score(text, "clarify", FINTECH), "clarify.assumption_summary") or 0) <= 2


# -- a question the interviewer answered from the fact sheet asked about that ------------------

BATCH = get_case("batch-inference-cost")


def _clarify(*pairs: tuple[str, str]):
    from agent.scorers import OfflineScorer

    turns = [("interviewer", BATCH.prompt)]
    for question, facts in pairs:
        answer = " ".join(BATCH.fact(f).answer for f in facts.split()) if facts else \
            "That isn't something I can tell you; make an assumption and state it."
        turns += [("candidate", question), ("interviewer", answer)]
    return OfflineScorer().score_step(BATCH, "clarify", turns)  # type: ignore[arg-type]


def test_plain_questions_answered_with_the_workload_facts_asked_about_the_workload() -> None:
    """Trial 13: the interviewer answered "is anyone sitting there waiting for the answers?"
    with the workload fact, and the report said "Workload type — 1/4. Nothing in the answer
    addressed this"."""
    result = _clarify(("just running the model, or teaching it new stuff?", "product_area"),
                      ("is anyone sitting there waiting for the answers?", "workload"))
    c = next(c for c in result.criteria if c.id == "clarify.workload_type")
    assert c.level == 3, c.rationale
    assert "asked about it (answered from the fact sheet)" in c.rationale
    assert "is anyone sitting there waiting for the answers?" in c.evidence


@pytest.mark.parametrize("pairs", [
    # the same questions, refused: the interviewer did not read them as asking for the facts
    (("just running the model, or teaching it new stuff?", ""),
     ("is anyone sitting there waiting for the answers?", "")),
    # a bare keyword list draws the facts, but asks nothing of substance
    (("Workload? Batch?", "product_area workload"),),
    # an answer that gave most of the sheet says nothing of what was asked
    (("Tell me everything you know about them?",
      "product_area workload user scale latency"),),
    # nor one that gave two facts: which of them was asked?
    (("What are they asking for here, exactly?", "product_area workload"),),
])
def test_what_was_not_asked_earns_nothing_through_the_answer(
        pairs: tuple[tuple[str, str], ...]) -> None:
    c = next(c for c in _clarify(*pairs).criteria if c.id == "clarify.workload_type")
    assert "answered from the fact sheet" not in c.rationale
