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


# -- a risk named and taken back in one breath -------------------------------------------------

MOON = "It could go wrong, but it can't, because it finishes later only on the moon."


def test_a_risk_taken_back_earns_no_trade_off_credit() -> None:
    result = score(MOON, "solutions")
    assert level(result, "solutions.tradeoffs_per_option") == 1
    assert result.score == 1.0


@pytest.mark.parametrize("text", [
    MOON,
    "Moving them over might slow things down, though it won't.",
    "The new engine could fail on long prompts, but it can't, since nothing ever breaks there.",
])
def test_a_risk_taken_back_presents_the_option_as_free(text: str) -> None:
    assert wrong_call(text, "solutions") == "claims an option costs nothing"


def test_a_clause_taken_back_says_nothing() -> None:
    from agent.semantic.reading import read_sentence

    s = read_sentence("Their traffic could jump in the evening, but it doesn't.")
    assert "jump" not in s.read and "jump" not in s.full


@pytest.mark.parametrize("text", [
    # a risk with its remedy, or bounded, is a trade-off, not a claim that there is none
    "Quantising could hurt quality, but it won't if we check the evals first.",
    "The warm pool could cost more, but it won't be much: a few machines for the morning.",
])
def test_a_risk_with_its_remedy_is_a_trade_off(text: str) -> None:
    assert wrong_call(text, "solutions") is None
    assert (level(score(text, "solutions"), "solutions.tradeoffs_per_option") or 0) >= 2


@pytest.mark.parametrize("text", [
    "We won't run evals on it.",
    "We don't need a canary if the code is clean.",
])
def test_skipping_the_check_is_still_a_bad_call(text: str) -> None:
    assert wrong_call(text, "solutions") == "skips validation"


# Trial 17: a test said not to be needed as a noun, or waved off as a waste, was no bad call.
@pytest.mark.parametrize("text", [
    "We don't need a test.",
    "We don't need any validation.",
    "A/B tests are a waste of time.",
    "Testing is pointless here.",
    "Rollback plans are for people who aren't sure.",
])
def test_a_test_waved_off_as_a_noun_is_a_bad_call(text: str) -> None:
    assert wrong_call(text, "validate") == "skips validation"


@pytest.mark.parametrize("text", [
    "We don't need a test environment; we canary on 5% of traffic.",
    "I don't think we need a test suite rewrite, but we do need a canary.",
    "A canary is not a waste of time.",
])
def test_a_tests_setting_or_a_test_defended_is_no_bad_call(text: str) -> None:
    assert wrong_call(text, "validate") is None


# -- a wrong premise said in words at the end of clarify ------------------------------------------

def _contradicted(case, text: str) -> bool:
    result = score(text, "clarify", case)
    return any("A premise the case contradicts" in n for n in result.notes)


@pytest.mark.parametrize("text", [
    "Thanks. To play it back: this is live traffic, and that is what hurts.",
    "Got it. I'll assume each answer has someone on the other end.",
    "How many documents a night? Thanks. So, above all, they want answers back sooner.",
    "Fundamentally, it's about speed.",
    "The thing they care about most is getting each answer back quicker.",
])
def test_a_wrong_premise_in_plain_words_is_named(text: str) -> None:
    assert _contradicted(BATCH, text)


@pytest.mark.parametrize("case,text", [
    (BATCH, "So above all they want it cheaper, and nobody waits on a single request."),
    (BATCH, "Above all, they don't want it quicker, they want it cheaper."),
    (BATCH, "Above all, is speed what they care about?"),
    (BATCH, "Fundamentally, the bill is the problem, and it runs overnight."),
    (FINTECH, "So this is live traffic with a person on the other end of each payment, and speed "
              "at the busy hour is what they care about most."),
    (get_case("llama70b-2x-latency"), "Play-back: live users chatting, and above all they want "
                                      "answers to start sooner."),
    (get_case("gpu-price-shift"), "What matters most is margin, above all else; speed only for "
                                  "the live traffic part."),
])
def test_a_true_premise_or_a_question_is_not_named(case, text: str) -> None:
    assert not _contradicted(case, text)


# -- the account staying, said plainly ------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Success for us: they don't churn.",
    "The account doesn't leave us.",
    "I'd also watch whether they sign again next year.",
    "Nobody cancels, and the team keeps shipping on us.",
])
def test_the_account_staying_in_plain_words_is_a_business_metric(text: str) -> None:
    assert (level(score(text, "goals"), "goals.business_metrics") or 0) >= 2


@pytest.mark.parametrize("text", [
    "They never sign again and nobody stays with us; we don't track churn.",
    "Renewal is irrelevant here; we don't care whether they stay with us.",
    "They cancel the jobs that run long, and re-sign the request tokens each night.",
    "We don't track churn, and we don't measure whether they leave us.",
])
def test_the_new_words_negated_or_about_jobs_earn_nothing(text: str) -> None:
    assert level(score(text, "goals"), "goals.business_metrics") == 1


def test_a_negated_churn_metric_stays_negated() -> None:
    from agent.semantic.reading import affirmed_text

    assert "churn" not in affirmed_text("We don't track churn.")
    assert "churn" in affirmed_text("They don't churn at renewal.")


# -- prioritize in plain words (evals/probes/plain11.yaml): reach, levers, a downside agreed ------

PRICE = get_case("gpu-price-shift")
MOE = get_case("moe-long-context-onboarding")


@pytest.mark.parametrize("case,text", [
    (PRICE, "A discount for their account would be quick, but it only helps them; I'd rather build "
            "a cheaper tier that helps every customer."),
    (MOE, "A setup just for the legal customer can wait: running across two machines helps every "
          "customer with long inputs, so that comes first."),
])
def test_a_one_off_said_plainly_is_weighed_against_the_platform(case, text: str) -> None:
    assert level(score(text, "prioritize", case), "prioritize.general_vs_custom") == 3


def test_levers_said_plainly_are_levers() -> None:
    result = score("We fill the quiet hours with the training work that can wait, and for long "
                   "inputs we put fewer requests together on each machine.", "prioritize", MOE)
    assert (level(result, "prioritize.platform_levers") or 0) >= 2


def test_a_downside_the_customer_agreed_to_is_accepted() -> None:
    result = score("My first pick is the long-input tier, because the two big accounts need it. It "
                   "is slower per request, but they said 10 to 15 seconds is fine for these. The "
                   "fine-tuning support waits.", "prioritize", MOE)
    assert level(result, "prioritize.explicit_choice") == 4


@pytest.mark.parametrize("text", [
    # the new words as a list, negated, and in confident nonsense
    "Only helps them, just for the legal customer, per-customer deals, every new model needs it, "
    "quiet hours, fewer requests together.",
    "Nothing here is only for that customer; there are no per-customer deals, no quiet hours, and "
    "we never put fewer requests together.",
    "The quiet hours happen when the moon is full, so the customers said purple is fine.",
])
def test_the_prioritize_words_listed_negated_or_in_nonsense_earn_nothing(text: str) -> None:
    result = score(text, "prioritize", PRICE)
    for cid in ("prioritize.general_vs_custom", "prioritize.platform_levers",
                "prioritize.latency_vs_cost"):
        assert level(result, cid) == 1, cid
    assert (level(result, "prioritize.explicit_choice") or 0) <= 1


# -- a cost that rose in the past is what happened, not a plan -----------------------------------

@pytest.mark.parametrize("text", [
    "Their cost per request increased 40% last quarter.",
    "Cost per token doubled last year, so we need to act.",
    "Their bill doubled in two quarters, which is why they called.",
])
def test_a_cost_rise_told_as_history_is_no_bad_call(text: str) -> None:
    assert wrong_call(text, "diagnose") is None


@pytest.mark.parametrize("text", [
    "Cost per request increases 40% with the warm pool, and that is fine.",
    "The cost doubles but p99 halves.",
    "Costs rising 50% is fine by me.",
])
def test_a_cost_rise_as_a_plan_is_still_a_bad_call(text: str) -> None:
    assert wrong_call(text, "prioritize") == "accepts a much higher cost"


# -- trial 17: plain words for a per-phase breakdown, prefix caching and a platform default -------

LLAMA = get_case("llama70b-2x-latency")


def test_plain_words_make_the_model_answers_points() -> None:
    # The report bolded "per-phase timings" and "prefix caching" as not found after these.
    from agent.feedback import points_made

    check = ("I'd check the first one first: split the wait into time in line, time reading the "
             "input, and time writing the answer, for a sample of real requests.")
    assert points_made("Ties each hypothesis to a measurement: per-phase timings at peak",
                       [check]) == [False, True]
    plan = ("In the first two weeks, turn on reuse of the shared instructions and chat history on "
            "their machines.")
    assert points_made("turn on prefix caching for the system prompt and history", [plan]) == [True]
    # an answer that says neither makes neither
    other = ["We would add more machines at night."]
    assert points_made("per-phase timings at peak", other) == [False]


def test_a_fix_made_standard_for_every_customer_is_a_long_term_idea() -> None:
    said = ("Make the breakdown of where the time goes a standard part of the platform for every "
            "customer, and turn on the reuse of repeated instructions by default for everyone.")
    assert (level(score(said, "solutions", LLAMA), "solutions.long_term_platform") or 0) >= 2
    just_them = "Make the breakdown of where the time goes available to this customer."
    assert level(score(just_them, "solutions", LLAMA), "solutions.long_term_platform") == 1


# -- trial 17: the GPUs and the model size the sheet names, contradicted in clarify ----------------

FINTECH = get_case("fintech-p99-spikes")


def test_a_gpu_or_model_size_the_sheet_contradicts_is_a_wrong_premise() -> None:
    said = ("OK, I'll assume they run on 200 A100s at 95% utilisation, their average latency is "
            "40 ms, and the model is a 70B.")
    notes = [n for n in score(said, "clarify", FINTECH).notes
             if "A premise the case contradicts" in n]
    assert notes and "A100" in " ".join(notes) and "70B" in " ".join(notes)


@pytest.mark.parametrize(("case", "text"), [
    (FINTECH, "I'll assume they run an 8B model on H100s."),
    (FINTECH, "We could move them to A100s to save money."),
    (FINTECH, "A 1B draft model could speed up decoding."),
    (FINTECH, "H100s are faster than A100s for this."),
    (get_case("batch-inference-cost"), "They've already been burned by the 8B, so 70B it is."),
    (get_case("finetune-cold-starts"), "I'll assume most adapters sit on the 8B base."),
])
def test_a_gpu_or_size_named_as_an_option_or_on_the_sheet_is_no_wrong_premise(case, text) -> None:
    assert not _contradicted(case, text)


# Trial 17: a switch of every customer, or of everything in one release, was not read as a
# roll-out to everyone at once (and was credited as platform-wide thinking across the interview).
@pytest.mark.parametrize(("text", "bad"), [
    ("This week we switch every customer to a smaller model and new hardware at the same time, "
     "and rewrite the serving stack in the same release.", True),
    ("We swap the model and the hardware simultaneously.", True),
    ("We move every customer onto the new tier one cohort at a time.", False),
    ("We would move 5% of traffic first, then every customer over a month.", False),
])
def test_every_customer_switched_at_the_same_time_is_a_bad_call(text: str, bad: bool) -> None:
    assert (wrong_call(text, "solutions") == "rolls out to everyone at once") is bad
