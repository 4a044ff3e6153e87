"""Round 9 of issue 9: strong answers in plain words (a pick, a deferral and an accepted downside
said plainly; platform levers in everyday words), a rollback trigger that is not an accepted
loss, and adversarial sentences aimed at the new words. Every answer here is in our own words,
not a probe's (evals/probes/plain9.yaml). The tests of what this round added fail on the scorer
before it; the guards (a loss still accepted, the new words negated, listed or used in nonsense)
pass on it too and hold the new words to earning nothing there."""

from __future__ import annotations

import pytest

from agent.cases import get_case
from agent.semantic.calls import bad_call, wrong_call
from tests.test_scoring_meaning import FINTECH, level, score

BATCH = get_case("batch-inference-cost")


# -- a loss named as the condition for going back is a trigger, not a loss accepted ------------

@pytest.mark.parametrize("text", [
    "If timeouts rise or accuracy falls, we switch everyone back to the old setup within the hour.",
    "When accuracy drops by 5 points we turn the new format off.",
    # a condition of two losses (stop 34's new-user trial: the second loss began 67
    # characters after "If", past the 60 the condition could run to)
    "If we're still breaking it in more than 5% of peak minutes, or the cost goes up more "
    "than 30%, I'd stop and rethink.",
])
def test_a_loss_that_triggers_going_back_is_no_bad_call(text: str) -> None:
    assert bad_call(text) is None


@pytest.mark.parametrize("text", [
    "We accept that quality drops a bit for the speed.",
    "If quality drops 5 points, we do not roll back.",
    "Even if accuracy falls 8 points, we ship it and never go back.",
])
def test_a_loss_accepted_stays_a_bad_call(text: str) -> None:
    assert bad_call(text) == "accepts a large quality drop"


def test_a_validation_plan_with_a_quality_trigger_earns_its_guardrails() -> None:
    result = score("We compare the new setup with the old one on half of the traffic for two "
                   "weeks, across the morning peaks. If timeouts rise or accuracy falls, we "
                   "switch everyone back to the old setup within the hour.", "validate")
    assert (level(result, "validate.guardrails_and_rollback") or 0) >= 3
    assert not any("confidently wrong" in c.rationale for c in result.criteria)


# -- a choice said plainly ----------------------------------------------------------------------

PLAIN_CHOICE = ("My top pick is keeping spare copies running ahead of the busy hour, because it "
                "is quick to set up and goes at the likely cause. Faster loading comes second. "
                "The price is paying for copies that sit idle at night, and I'm fine with that "
                "for now.")


def test_a_plain_pick_deferral_and_acceptance_make_a_level_four_choice() -> None:
    assert level(score(PLAIN_CHOICE, "prioritize"), "prioritize.explicit_choice") == 4


@pytest.mark.parametrize("text", [
    "I'm not fine with that, and nothing comes second.",
    "Pick: comes second, it waits, the price is, my top pick.",
])
def test_the_choice_words_negated_or_listed_earn_nothing(text: str) -> None:
    assert level(score(text, "prioritize"), "prioritize.explicit_choice") == 1


def test_a_deferral_alone_is_not_an_effort_versus_value_comparison() -> None:
    result = score("Cheaper number formats would come after, because they risk accuracy.",
                   "prioritize", BATCH)
    assert (level(result, "prioritize.effort_vs_strategic_value") or 0) <= 2


# -- levers in everyday words -------------------------------------------------------------------

def test_levers_in_everyday_words() -> None:
    result = score("We bring copies up before the morning rush so nobody waits, and we make new "
                   "copies start faster so surprises hurt less.", "prioritize")
    assert (level(result, "prioritize.platform_levers") or 0) >= 3


def test_a_scaler_is_a_platform_investment() -> None:
    result = score("Later this year we build a scaler that learns each customer's busy hours "
                   "and adds copies ahead of them.", "solutions")
    assert (level(result, "solutions.long_term_platform") or 0) >= 2


def test_the_rush_and_a_freshly_started_copy_refine_a_tail_metric() -> None:
    result = score("We track the slowest one in a hundred calls during the morning rush, and "
                   "separately for calls served by a freshly started copy.", "goals")
    assert (level(result, "goals.latency_metrics") or 0) >= 3


# -- confident nonsense in the new words stays a wrong call ---------------------------------------

@pytest.mark.parametrize("text", [
    "My first pick is whatever the angriest merchant asks for.",
    "The loudest developers go to the top of the roadmap.",
])
def test_picking_by_the_loudest_group_is_a_wrong_call(text: str) -> None:
    assert wrong_call(text, "prioritize") == "ranks the work by who complains loudest"


def test_talking_to_loud_customers_is_no_wrong_call() -> None:
    assert wrong_call("First we talk to the loudest customers to understand the pain.",
                      "prioritize") is None


def test_accepting_a_share_of_timeouts_is_a_wrong_call() -> None:
    assert bad_call("I'm fine with that, even with 20% of requests timing out.") is not None
    assert bad_call("Today 12% of requests time out at peak; we want that under 1%.") is None


@pytest.mark.parametrize("step,text", [
    ("prioritize", "My top pick is turning the scaler off before the rush, because it only adds "
                   "cost; I'm fine with that, even with 30% of requests timing out."),
    ("prioritize", "My first pick is whatever the loudest merchant wants; everything else comes "
                   "second and I'm fine with that."),
    ("solutions", "Comes second: scaler. It waits. Start faster. Before the rush."),
    ("goals", "Freshly started, the morning rush, start faster, scaler, the price is."),
])
def test_new_words_in_salad_or_nonsense_stay_low(step: str, text: str) -> None:
    result = score(text, step, FINTECH)
    assert result.score is not None and result.score <= 1.5, [
        (c.id, c.level, c.rationale) for c in result.criteria if c.level and c.level > 1]


def test_spare_copies_and_machines_doing_nothing_name_the_latency_cost_mechanism() -> None:
    result = score("Keeping spare copies on standby before the busy hour cuts the wait for the "
                   "slowest calls, but we pay for machines that do nothing at night.", "prioritize")
    assert (level(result, "prioritize.latency_vs_cost") or 0) >= 3


def test_spare_copies_negated_earn_no_mechanism() -> None:
    result = score("No spare copies on standby, no machines doing nothing.", "prioritize")
    assert (level(result, "prioritize.latency_vs_cost") or 0) <= 1


@pytest.mark.parametrize("text", [
    "Spare copies before the busy hour fix the slowest calls, but we pay nothing extra, giving "
    "up nothing.",
    "Fast, but we pay, spare copies, standby, doing nothing.",
])
def test_spare_copies_with_no_cost_or_as_a_list_earn_no_trade_off(text: str) -> None:
    assert (level(score(text, "prioritize"), "prioritize.latency_vs_cost") or 0) <= 1


PHASED = ("In the first two weeks we add spare copies for the busy hour. Over the next two months "
          "we make loading faster. Later this year we build the scheduler for every customer. "
          "{}")


def test_each_stage_feeding_the_next_is_phasing() -> None:
    plain = score(PHASED.format("Each stage feeds the next."), "solutions")
    assert level(plain, "solutions.time_horizons") == 4


def test_phasing_words_negated_add_nothing() -> None:
    bare = score(PHASED.format(""), "solutions")
    negated = score(PHASED.format("No stage feeds the next."), "solutions")
    assert level(bare, "solutions.time_horizons") == 3
    assert (level(negated, "solutions.time_horizons") or 0) <= 3
