"""Round 10 of issue 9: strong answers in plain words on cases other than fintech (a downside,
a habit of the customer's client, a check and a plan for the future said plainly), and
adversarial sentences aimed at the new words (prompts/scoring_words.yaml, "Round 10"). Every
answer here is in our own words, not a probe's (evals/probes/plain10.yaml). The tests of what
this round added fail on the scorer before it; the guards (the new words negated, listed or in
confident nonsense) hold them to earning nothing there."""

from __future__ import annotations

import pytest

from agent.cases import get_case
from tests.test_scoring_meaning import level, score

BATCH = get_case("batch-inference-cost")
COLD = get_case("finetune-cold-starts")
AGENTS = get_case("compound-ai-json-reliability")


# -- a downside said plainly --------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "This month we pack requests together, which means each one finishes a bit later. Next "
    "quarter we try a smaller number format, which could go wrong on their hardest prompts.",
    "Packing requests adds delay; the new engine takes engineering weeks.",
])
def test_downsides_in_everyday_words_are_trade_offs(text: str) -> None:
    assert level(score(text, "solutions", BATCH), "solutions.tradeoffs_per_option") == 3


@pytest.mark.parametrize("text", [
    "Nothing finishes later, nothing could go wrong, and there are no engineering weeks.",
    "It never finishes later, and it could never go wrong.",
    "No engineering weeks, no delay added, nothing could slow it down.",
])
def test_the_downside_words_negated_earn_nothing(text: str) -> None:
    assert level(score(text, "solutions", BATCH), "solutions.tradeoffs_per_option") == 1


# -- the customer's client and the shape of its requests ----------------------------------------

@pytest.mark.parametrize("case,text", [
    (BATCH, "Their traffic jumps every evening, and their client sends the requests one by one."),
    (BATCH, "Their traffic jumps every evening, and their client tries again whenever a request "
            "is slow."),
    (AGENTS, "Their traffic jumps on weekdays, and for some agents the list of tools is very "
             "long."),
])
def test_a_usage_habit_in_plain_words_is_a_second_usage_factor(case, text: str) -> None:
    assert level(score(text, "diagnose", case), "diagnose.customer_behavior") == 3


def test_a_per_request_timing_in_plain_words_names_the_measurement() -> None:
    result = score("To tell these apart, for each slow first request I'd want how long it waited "
                   "for a machine and how long the model took.", "diagnose", COLD)
    assert (level(result, "diagnose.observability_gaps") or 0) >= 3


# -- checks and plans said plainly --------------------------------------------------------------

def test_guessing_what_will_be_needed_is_a_platform_investment() -> None:
    result = score("Later this year the platform guesses which models will be needed soon from "
                   "their past use and loads them ahead.", "solutions", COLD)
    assert (level(result, "solutions.long_term_platform") or 0) >= 2


def test_a_draft_or_a_grudge_guessing_ahead_is_no_platform_investment() -> None:
    for text in ("We guess which customers will be angry next and ignore them.",
                 "A small helper model guesses the next words."):
        assert level(score(text, "solutions", COLD), "solutions.long_term_platform") == 1


def test_a_cheaper_offer_with_a_deadline_is_a_product() -> None:
    result = score("By next year we sell a night-time option to every customer at a lower price, "
                   "and a scheduler packs the jobs onto spare machines.", "solutions", BATCH)
    assert level(result, "solutions.long_term_platform") == 3
    assert level(score("A lower price fixes everything, so we will build nothing.", "solutions",
                       BATCH), "solutions.long_term_platform") == 1


def test_output_that_can_only_fit_the_format_is_an_engine_optimisation() -> None:
    result = score("Next quarter the model will only be able to write output that fits the "
                   "schema.", "solutions", AGENTS)
    assert (level(result, "solutions.medium_term_optimizations") or 0) >= 2


def test_a_log_of_what_failed_is_instrumentation() -> None:
    result = score("This week we give them their own machines, and a log that says which step "
                   "failed.", "solutions", AGENTS)
    assert level(result, "solutions.quick_mitigation") == 4


def test_going_through_the_bad_nights_with_them_is_a_review_of_misses() -> None:
    result = score("Each month we sit down with them and go through any late nights.",
                   "validate", BATCH)
    assert (level(result, "validate.sla_postmortem") or 0) >= 3


def test_a_pass_rule_with_a_figure_and_the_same_traffic_complete_the_experiment() -> None:
    result = score("We put a tenth of the traffic on the new setup for two weeks and compare. It "
                   "passes if the wait drops by half, on the same kind of traffic.", "validate",
                   BATCH)
    assert level(result, "validate.controlled_experiment") == 4


@pytest.mark.parametrize("text", [
    "It passes if the customer is happy, decided before we start, so we will not compare "
    "anything.",
    "Pass if. Same kind of traffic. Decided before we start.",
])
def test_a_pass_rule_with_nothing_to_measure_earns_nothing(text: str) -> None:
    assert level(score(text, "validate", BATCH), "validate.controlled_experiment") == 1


# -- the new words as a list ---------------------------------------------------------------------

@pytest.mark.parametrize("step,text", [
    ("solutions", "Finishes later, adds delay, engineering weeks, could go wrong, lower price, "
                  "pass if, one by one, try again."),
    ("diagnose", "One by one, try again, list of tools, bigger formats, each request, how long."),
    ("validate", "Pass if. Same kind of traffic. Late nights. A log. Decided before."),
])
def test_new_words_as_a_list_stay_low(step: str, text: str) -> None:
    result = score(text, step, BATCH)
    assert result.score is not None and result.score <= 1.5, [
        (c.id, c.level, c.rationale) for c in result.criteria if c.level and c.level > 1]


# -- the whole spend in plain words ------------------------------------------------------------

def test_total_machine_hours_beside_unit_cost_and_busyness_is_the_full_cost_picture() -> None:
    result = score("Cost per thousand requests down by half, the machines busier than 70%, and "
                   "total machine hours per night down too.", "goals", BATCH)
    assert level(result, "goals.cost_efficiency") == 4


@pytest.mark.parametrize("text,most", [
    ("Total machine hours, the whole bill, total.", 2),  # 'bill' alone earns 2 before and after
    ("There is no total machine hours figure and the whole bill does not matter.", 1),
])
def test_total_spend_words_listed_or_negated_add_nothing(text: str, most: int) -> None:
    assert (level(score(text, "goals", BATCH), "goals.cost_efficiency") or 0) <= most
