"""Round 11 of issue 9: misses a new-user trial left (a cost that falls read as a higher cost
accepted, a time heading over a short imperative, ...), each in our own words, and adversarial
sentences aimed at what the round added. Every positive test fails on the scorer before it."""

from __future__ import annotations

import pytest

from agent.cases import get_case
from agent.semantic.calls import wrong_call
from tests.test_scoring_meaning import level, score

BATCH = get_case("batch-inference-cost")
FINTECH = get_case("fintech-p99-spikes")


# -- a cost that goes down is no higher cost accepted ---------------------------------------------

@pytest.mark.parametrize("text", [
    "Cost per GPU-hour falls by a third, and cost per million tokens drops 3x from today.",
    "The bill falls as the volume rises 3x.",
])
def test_a_cost_that_falls_is_no_bad_call(text: str) -> None:
    assert wrong_call(text, "goals") is None


def test_a_falling_cost_target_earns_cost_credit() -> None:
    result = score("Cost per GPU-hour falls by a third, and cost per million tokens drops 3x "
                   "from today.", "goals", BATCH)
    assert (level(result, "goals.cost_efficiency") or 0) >= 3


@pytest.mark.parametrize("text", [
    "We accept that cost per request goes up 3x.",
    "Even if the bill doubles, we keep the warm pool.",
    "I am fine with the cost per token rising 50%.",
    "Throughput drops a bit but cost goes up 40%.",
    "Latency falls, and the cost per request rises 3x, which is fine.",
])
def test_a_higher_cost_accepted_is_still_a_bad_call(text: str) -> None:
    assert wrong_call(text, "goals") == "accepts a much higher cost"


# -- machine time in other spellings --------------------------------------------------------------

def test_a_single_gpu_hour_names_the_unit_cost() -> None:
    result = score("We watch the GPU-hour bill every night and want it a third lower.", "goals",
                   BATCH)
    assert level(result, "goals.cost_efficiency") == 3


def test_gpu_hrs_read_as_gpu_hours() -> None:
    result = score("Success is fewer GPU hrs for the same nightly run.", "goals", BATCH)
    assert (level(result, "goals.cost_efficiency") or 0) >= 2


@pytest.mark.parametrize("text", [
    "No GPU hrs, no GPU-hour bill, nothing like that matters here.",
    "We never count GPU hrs; the GPU-hour figure is not worth tracking.",
])
def test_the_spellings_negated_earn_nothing(text: str) -> None:
    assert level(score(text, "goals", BATCH), "goals.cost_efficiency") == 1
