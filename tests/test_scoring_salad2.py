"""Stop "salad2": bare lists of metric names, denials and opposites quoted as credit, questions
off the case, and evidence filed under the wrong criterion. Every answer is in our own words, not
a trial's nor a probe's (evals/probes/salad2.yaml). Each test of a fix fails on the scorer
before it; the guards (real target lists, real rollback plans, real questions) pass on both."""

from __future__ import annotations

import pytest

from agent.cases import get_case
from agent.semantic.calls import wrong_call
from agent.semantic.reading import listed_figures, read_sentence
from tests.test_scoring_meaning import FINTECH, level, score

LLAMA = get_case("llama70b-2x-latency")
BATCH = get_case("batch-inference-cost")
COMPOUND = get_case("compound-ai-json-reliability")


# -- 1. a bare list of metric names is no claim, whatever figure sits in it --------------------

BARE_LISTS = [
    # one figure among names, a comma list ending in a full stop
    "Median latency, p95, tokens per second per stream, idle share, unit cost, timeout rate, "
    "99.95% uptime, renewals, CSAT, gross margin, at peak, per region.",
    # long names among short ones (four and five words), no figure at all
    "Tail latency, time to first token, throughput per GPU, GPU utilisation, cost per million "
    "tokens, error rate, availability, renewal, NPS, margin, at peak, cold vs warm.",
    # a lead-in that asks for everything at once, then the list
    "The plan is to make it all ten times better: p99, throughput, unit cost, utilisation, "
    "churn, margin, uptime 99.99%.",
]


@pytest.mark.parametrize("text", BARE_LISTS)
def test_a_bare_list_of_metric_names_scores_like_a_list(text: str) -> None:
    result = score(text, "goals", LLAMA)
    assert result.score is not None and result.score <= 2.0, [
        (c.id, c.level, c.rationale) for c in result.criteria if (c.level or 0) > 2]
    assert all((c.level or 0) <= 2 for c in result.criteria)


def test_a_figure_in_a_list_of_names_states_no_quantity() -> None:
    s = read_sentence("p95, TTFT, cost per token, error rate, 99.9% availability, churn, margin.")
    assert not s.claim and not s.quantity


@pytest.mark.parametrize("text", [
    "p99 < 500 ms, 99.9% availability, error rate < 0.1%.",
    "Targets: p99 under 800 ms, 60 tokens/s per stream, 99.9% uptime, cost per token -20%.",
    "p99 800 ms, p50 300 ms, uptime 99.9%, errors 0.1%, cost flat.",
])
def test_a_list_of_targets_still_states_quantities(text: str) -> None:
    assert not listed_figures(text)
    assert read_sentence(text).quantity


def test_a_plain_list_of_targets_keeps_its_credit() -> None:
    result = score("Targets for the next six weeks: p99 time to first token under 800 ms at "
                   "peak, down from 1.6 s today; at least 60 tokens per second per stream; 99.9% "
                   "availability with under 0.1% errors; cost per million tokens no higher than "
                   "today.", "goals", LLAMA)
    assert level(result, "goals.concrete_targets") == 4
    assert level(result, "goals.latency_metrics") >= 3


# -- 2. a way back or a test said to be never needed; everything moved at once ----------------

@pytest.mark.parametrize("text", [
    "Canaries are never needed for a driver update.",
    "Switching back will never be necessary on hardware this well known.",
    "We don't need to validate it, the vendor already benchmarked the cards.",
    "There is no point to test it, the supplier certified the machines.",
])
def test_a_test_or_a_way_back_said_never_needed_is_a_bad_call(text: str) -> None:
    assert wrong_call(text, "validate") == "skips validation"


@pytest.mark.parametrize("text", [
    "We put the entire workload on the new cards on Tuesday.",
    "We migrate everything to the new pool over the weekend.",
])
def test_moving_everything_at_once_is_a_bad_call_in_validate(text: str) -> None:
    assert wrong_call(text, "validate") == "rolls out to everyone at once"


@pytest.mark.parametrize("text", [
    "If errors pass 1% we switch everything back to the old pool within the hour.",
    "Once the canary holds for two weeks, we move all traffic to the new cards.",
    "If it is 30% cheaper and accuracy holds, we move the whole job over.",
    "We keep a way back: the old pool stays warm, so rollback takes minutes.",
    "We never ship without a canary and a tested rollback.",
])
def test_a_way_back_or_a_conditional_cut_over_is_no_bad_call(text: str) -> None:
    assert wrong_call(text, "validate") is None


def test_a_denied_way_back_is_no_evidence_for_guardrails() -> None:
    result = score("We put the entire nightly job on the new cards on Sunday. Rolling back is "
                   "never needed for a hardware swap. We don't need to compare anything, the "
                   "vendor has published the numbers.", "validate", BATCH)
    assert all(c.level == 1 for c in result.criteria), [
        (c.id, c.level, c.rationale) for c in result.criteria]
    assert sum("bad call" in n for n in result.notes) >= 2


def test_a_real_rollback_plan_keeps_its_credit() -> None:
    result = score("We run the new cards on a fifth of the nightly jobs for two weeks and compare "
                   "cost per job with the old pool. If accuracy drops more than half a point or "
                   "jobs miss the morning deadline, we switch them back to the old pool the same "
                   "day with a flag.", "validate", BATCH)
    assert level(result, "validate.guardrails_and_rollback") >= 3
    assert not any("bad call" in n for n in result.notes)


# -- 3. questions about ourselves, and words that belong to another topic ----------------------

def test_questions_about_our_own_team_and_leaders_earn_nothing_in_clarify() -> None:
    result = score("How large is our support team, and what's the annual budget? Who is the "
                   "chairman and what is her favourite framework? How long until the new servers "
                   "are shipped to us?", "clarify", BATCH)
    for cid in ("clarify.customer_profile", "clarify.optimization_target",
                "clarify.assumption_summary", "clarify.workload_type"):
        assert level(result, cid) == 1, [(c.id, c.level, c.rationale) for c in result.criteria]


def test_questions_about_the_customer_keep_their_credit() -> None:
    result = score("Who are the users of this product, and is there a budget they must stay "
                   "under? How long do their end users wait for a reply today? Is it a nightly "
                   "batch job or live traffic?", "clarify", FINTECH)
    assert level(result, "clarify.customer_profile") >= 2
    assert level(result, "clarify.optimization_target") >= 3
    assert level(result, "clarify.workload_type") >= 2


def test_failures_piling_up_is_no_queue() -> None:
    # on a case where capacity is scored (compound-ai-json-reliability leaves it out)
    result = score("Errors pile up on the very long documents, so I suspect the parser chokes "
                   "on them.", "diagnose", FINTECH)
    assert level(result, "diagnose.capacity_and_scaling") == 1


def test_requests_piling_up_is_still_a_queue() -> None:
    result = score("Requests pile up in the queue while the new copies are still loading.",
                   "diagnose", FINTECH)
    assert level(result, "diagnose.capacity_and_scaling") >= 2


def test_a_metric_per_customer_is_no_latency_condition_unless_it_is_latency() -> None:
    off = score("The key figure is the share of sessions completed, tracked per customer each "
                "month.", "goals", COMPOUND)
    assert level(off, "goals.latency_metrics") == 1
    on = score("We track p99 latency per customer at peak and split cold from warm requests.",
               "goals", FINTECH)
    assert level(on, "goals.latency_metrics") >= 3


# -- 4. a strong plain answer's evidence finds its criterion ----------------------------------

def test_a_review_with_the_customer_in_plain_words_is_a_customer_loop() -> None:
    result = score("After a bad night I sit down with them and go through every job that "
                   "broke, one by one.", "validate", COMPOUND)
    assert level(result, "validate.sla_postmortem") >= 3, [
        (c.id, c.level, c.rationale) for c in result.criteria]


def test_relief_and_a_log_only_check_this_week_are_a_quick_mitigation() -> None:
    result = score("This week we retry each failed call with the parse error attached, and we run "
                   "the new validator in log-only mode to see how often each schema breaks.",
                   "solutions", COMPOUND)
    assert level(result, "solutions.quick_mitigation") >= 3, [
        (c.id, c.level, c.rationale) for c in result.criteria]


def test_first_calls_against_the_rest_is_a_cold_warm_split_but_not_a_chain_step() -> None:
    split = score("We report p99 separately for first calls and for the calls after them.",
                  "goals", FINTECH)
    assert level(split, "goals.latency_metrics") >= 3
    chain = score("We report p99 for the first call in the chain.", "goals", COMPOUND)
    assert level(chain, "goals.latency_metrics") <= 2


# -- 5. every metric many times better at once is no target ------------------------------------

@pytest.mark.parametrize("text", [
    "Our goal: every metric fivefold better, all of them together.",
    "We want all of it 3x better within a month: latency, cost, uptime.",
])
def test_everything_many_times_better_at_once_is_a_bad_call(text: str) -> None:
    assert wrong_call(text, "goals") == "asks for everything many times better at once"


@pytest.mark.parametrize("text", [
    "We make p99 3x faster by the end of the quarter, holding cost per token flat.",
    "Everything we deploy gets 2x faster start-up from the local disk cache.",
])
def test_one_metric_many_times_better_is_no_bad_call(text: str) -> None:
    assert wrong_call(text, "goals") is None


def test_a_list_behind_everything_ten_times_better_earns_nothing_across_the_interview() -> None:
    text = ("The target is everything 10x better: p99, throughput, unit cost, utilisation, "
            "churn, margin, SLA 99.99%. All of it inside two weeks. We watch a dashboard.")
    goals = score(text, "goals", LLAMA)
    assert goals.score is not None and goals.score <= 1.5
    across = score(text, "cross_cutting", LLAMA)
    assert level(across, "cross_cutting.platform_thinking") == 1


def test_a_budget_of_our_quarter_is_no_cost_goal() -> None:
    """A second trial: "what the budget of the quarter is, I want to know first" in goals
    earned Cost efficiency 3/4 ('budget' counts for two); the first trial's "the quarter's
    budget" had been fixed in clarify only."""
    case = get_case("gpu-price-shift")

    def cost(text: str) -> int | None:
        return level(score(text, "goals", case), "goals.cost_efficiency")

    assert cost("who the CEO is and what the budget of the quarter is, I want to know "
                "first.") == 1
    assert cost("Keep cost per token within the budget, and cut the monthly bill by 20%.") >= 3


def test_versus_asks_what_to_optimise_for_only_between_objectives() -> None:
    """A second trial: "model: total vs active param" earned What to optimise for by its 'vs'.
    'versus' asks what to optimise for only with an objective on one side of it."""
    case = get_case("moe-long-context-onboarding")

    def target(text: str) -> str:
        return next(c.rationale for c in score(text, "clarify", case).criteria
                    if c.id == "clarify.optimization_target")

    assert "vs" not in target("- model: total vs active param, how many experts?")
    assert "cost vs" in target("Is it cost vs latency for them?")


def test_a_cause_taken_as_settled_with_the_check_refused_is_a_wrong_call() -> None:
    """A second trial: "Definitely the retries are what cause it, I am 100% sure, we do not
    need to check anything" was quoted as evidence for Customer behaviour 2/4, with no note."""
    for settled in ("Definitely the retries are what cause it, I am 100% sure, we do not need "
                    "to check anything.",
                    "I am certain the schema compiler is the problem, so we skip measuring."):
        assert wrong_call(settled, "diagnose") == "ranks one cause with nothing behind it"
    for checked in ("I'd check the queue first, without measuring it we are guessing.",
                    "No need to check the dashboards, the traces show it."):
        assert wrong_call(checked, "diagnose") is None
