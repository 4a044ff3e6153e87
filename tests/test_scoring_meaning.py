"""The offline scorer reads meaning, not vocabulary (issue 9): keyword salad, negated practices,
plain words and numbers in words, criteria a case leaves out."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agent.cases import get_case, load_case
from agent.datafile import DataFileError
from agent.scorers import OfflineScorer
from agent.scores import StepScore
from tests.helpers import refused_prompt_file

FINTECH = get_case("fintech-p99-spikes")
BATCH = get_case("batch-inference-cost")


def score(text: str, step: str, case: object = FINTECH) -> StepScore:
    return OfflineScorer().score_step(case, step, [("interviewer", "Go on."),  # type: ignore[arg-type]
                                                   ("candidate", text)])


def level(result: StepScore, cid: str) -> int | None:
    return next(c.level for c in result.criteria if c.id == cid)


SALAD = {
    "goals": "Goals: north star p99, KV cache, autoscaler lag, guardrails, canary, rollback, "
             "trade-off, SLA, NRR, cost per token, root cause, confirm.",
    "validate": "- canary\n- rollback\n- guardrails\n- p99\n- A/B\n- north star\n- trade-off",
    "diagnose": "We leverage autoscaler lag and KV cache synergies to holistically optimize the "
                "p99 north star, root cause first, then confirm.",
}


@pytest.mark.parametrize("step", sorted(SALAD))
def test_keyword_salad_scores_no_better_than_missing(step: str) -> None:
    result = score(SALAD[step], step)
    assert result.score is not None and result.score <= 1.5, [
        (c.id, c.level, c.rationale) for c in result.criteria if c.level and c.level > 1]


NEGATED_VALIDATE = (
    "We wouldn't A/B test it, there's nothing to compare against. No canary, no rollback plan "
    "needed. I don't see why we'd track p99 afterwards, and a postmortem is overkill. Cost "
    "checks aren't worth it either.")
AFFIRMED_VALIDATE = (
    "We'd A/B test it: 5% of traffic on the new autoscaling policy against the old one for two "
    "weeks. Canary first, with an automatic rollback if p99 goes above 500 ms or errors pass "
    "0.1%. We track p99 at peak afterwards and hold a postmortem on any SLA breach. We check "
    "cost per request stays flat.")


def test_a_practice_named_only_to_reject_it_never_counts_nor_is_quoted() -> None:
    neg = score(NEGATED_VALIDATE, "validate")
    pos = score(AFFIRMED_VALIDATE, "validate")
    assert neg.score is not None and pos.score is not None
    assert neg.score <= 1.25 < 2.5 <= pos.score
    quoted = [q for c in neg.criteria for q in c.evidence]
    assert not any("canary" in q.lower() or "A/B" in q for q in quoted), quoted


def test_numbers_in_words_count_as_targets() -> None:
    digits = score("p99 should come down to 500 ms at peak within 6 weeks, availability "
                   "99.9%, and cost per request within 10% of today.", "goals")
    words = score("The slowest one in a hundred requests should come down to half a second at "
                  "peak within six weeks, availability ninety-nine point nine percent, and cost "
                  "per request within ten percent of today.", "goals")
    assert level(words, "goals.concrete_targets") == level(digits, "goals.concrete_targets") >= 3


def test_plain_words_for_the_tail_get_credit() -> None:
    plain = score("I'd measure how long the slowest one in a hundred requests takes at the "
                  "busiest hour, separately for requests that wait for a fresh replica to warm "
                  "up.", "goals")
    assert level(plain, "goals.latency_metrics") is not None
    assert (level(plain, "goals.latency_metrics") or 0) >= 3


def test_a_noun_string_counts_once_per_step() -> None:
    result = score("Latency, availability, cost per token, SLA, NRR.", "goals")
    credited = [c.id for c in result.criteria if (c.level or 1) > 1]
    assert len(credited) <= 1


def test_a_criterion_the_case_leaves_out_is_not_scored_nor_practised() -> None:
    result = score("Cost per document down 50%, bill under 38 thousand dollars a month.",
                   "goals", BATCH)
    ids = [c.id for c in result.criteria]
    assert "goals.latency_metrics" not in ids and "goals.cost_efficiency" in ids
    weight = next(c.weight for c in result.criteria if c.id == "goals.cost_efficiency")
    assert weight == 3
    assert any("Latency metrics does not apply" in n for n in result.notes)
    # the same answer on a case where latency applies is scored on it
    assert "goals.latency_metrics" in [c.id for c in score("Cost down.", "goals").criteria]


def _write_case(tmp_path: Path, criteria: object) -> Path:
    data = yaml.safe_load((Path("cases") / "batch-inference-cost.yaml").read_text())
    data["criteria"] = criteria
    path = tmp_path / "batch-inference-cost.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_case_naming_an_unknown_criterion_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match=r"batch-inference-cost.yaml.*goals\.latency_metric\b"):
        load_case(_write_case(tmp_path, {"goals.latency_metric": {"applies": False}}))
    with pytest.raises(DataFileError, match="weight"):
        load_case(_write_case(tmp_path, {"goals.latency_metrics": {"weight": 0}}))


def test_a_case_cannot_leave_a_step_with_nothing_to_score(tmp_path: Path) -> None:
    ids = ["goals.latency_metrics", "goals.throughput_and_reliability", "goals.cost_efficiency",
           "goals.customer_outcomes", "goals.business_metrics", "goals.concrete_targets"]
    with pytest.raises(DataFileError, match="no criterion of step 'goals'"):
        load_case(_write_case(tmp_path, {i: {"applies": False} for i in ids}))


# -- claims against the fact sheet ------------------------------------------------------------

def test_revealed_facts_are_read_from_the_interviewers_clarify_answers() -> None:
    from agent.semantic.facts import revealed

    lines = ["About 300 requests per second on average, peaking around 1,500.",
             "That isn't something I can tell you. Make a reasonable assumption and state it."]
    assert revealed(FINTECH, lines) == {"scale"}
    assert revealed(FINTECH, []) == frozenset()


def test_a_figure_from_a_fact_never_revealed_earns_nothing_and_is_noted() -> None:
    from agent.semantic.facts import Told

    answer = ("Today they spend about 75 thousand dollars a month with us, so I'd get the bill "
              "under 38 thousand dollars with cost per document as the unit metric.")
    turns = [("interviewer", "Goals?"), ("candidate", answer)]
    blind = OfflineScorer().score_step(BATCH, "goals", turns, Told(facts=frozenset()))
    told = OfflineScorer().score_step(BATCH, "goals", turns, Told(facts=frozenset({"budget"})))
    assert any("never gave" in n and "38 thousand" in n for n in blind.notes), blind.notes
    assert not any("never gave" in n for n in told.notes)
    assert (level(blind, "goals.cost_efficiency") or 0) < (level(told, "goals.cost_efficiency")
                                                           or 0)
    assert not any(answer in q for c in blind.criteria for q in c.evidence)


def test_a_figure_contradicting_a_fact_given_is_noted() -> None:
    from agent.semantic.facts import Told

    told = Told(facts=frozenset({"latency_now"}),
                heard=("Off-peak we're at about 120 ms p50 and 350 ms p99; at peak, p99 climbs "
                       "to 1.5 to 2 seconds.",))
    wrong = "At peak their p99 latency climbs to only 600 ms, so off-peak tuning matters most."
    right = "At peak their p99 latency climbs to 2 seconds, so the peak is what matters."
    noted = OfflineScorer().score_step(FINTECH, "diagnose", [("candidate", wrong)], told).notes
    fine = OfflineScorer().score_step(FINTECH, "diagnose", [("candidate", right)], told).notes
    assert any("Contradicts" in n for n in noted), noted
    assert not any("Contradicts" in n for n in fine), fine


def test_targets_are_the_candidates_choice_not_a_contradiction() -> None:
    from agent.semantic.facts import Told

    told = Told(facts=frozenset({"latency_now"}), heard=())
    result = OfflineScorer().score_step(
        FINTECH, "diagnose", [("candidate", "We should get p99 at peak under 400 ms.")], told)
    assert not any("Contradicts" in n for n in result.notes)


def test_a_breakdown_nobody_measured_is_a_wrong_call() -> None:
    """Issue 9 round 6: a told total split into parts nobody gave, stated as fact, earns no
    credit and marks the step down; the same split as an estimate, or of figures the
    interviewer gave, does not."""
    from agent.semantic.facts import Told

    told = Told(facts=frozenset({"latency"}),
                heard=("Time to first token is about 900 ms at p50 and 2.5 seconds at p99.",))
    made_up = ("Of the 900 ms to first token, 420 ms is the load balancer, 310 ms is network "
               "transit and only 170 ms is the model. I'd check the network path first.")
    guessed = ("Of the 900 ms to first token, I'd guess maybe 420 ms is the load balancer, 310 ms "
               "network transit and 170 ms the model. I'd check the network path first.")
    wrong = OfflineScorer().score_step(LLAMA, "diagnose", [("candidate", made_up)], told)
    fine = OfflineScorer().score_step(LLAMA, "diagnose", [("candidate", guessed)], told)
    assert any("parts nobody measured" in n for n in wrong.notes), wrong.notes
    assert not any("parts nobody measured" in n for n in fine.notes), fine.notes
    assert not any("420 ms is the load balancer" in q for c in wrong.criteria for q in c.evidence)
    given = Told(facts=frozenset({"latency"}), heard=(
        "Of the 900 ms, 420 ms is queueing, 310 ms is prefill and 170 ms the first decode step.",))
    told_split = ("Of the 900 ms, 420 ms is queueing, 310 ms is prefill and 170 ms is the first "
                  "decode step, so queueing is the first thing to check.")
    notes = OfflineScorer().score_step(LLAMA, "diagnose", [("candidate", told_split)], given).notes
    assert not any("parts nobody measured" in n for n in notes), notes


@pytest.mark.parametrize("sentence", [
    "On reliability, I'd accept a timeout rate of up to 10% at peak during the transition.",
    "I'm comfortable with cost per request rising by 60% if it buys us the average.",
    "Quality I'd allow to drop by up to ten points on their eval.",
    "Success is average end-to-end response time, which I'd bring from nine seconds to four.",
    "p99 is dominated by pathological requests and only creates noise.",
])
def test_a_confident_bad_call_earns_nothing_and_is_named(sentence: str) -> None:
    result = score(sentence, "goals")
    assert any("bad call" in n for n in result.notes), result.notes
    assert all((c.level or 1) == 1 for c in result.criteria)


@pytest.mark.parametrize("sentence", [
    "I'd accept a few percent more cost per token for the warm pool, since the SLA matters more.",
    "Error and timeout rate under 0.1%, cost per request within 10% of today.",
    "Accuracy must not drop by more than one point on their eval.",
])
def test_a_bounded_trade_off_is_not_a_bad_call(sentence: str) -> None:
    assert not any("bad call" in n for n in score(sentence, "goals").notes)


LLAMA = get_case("llama70b-2x-latency")
STRONG_DIAGNOSE = (
    "Prefill likely dominates time to first token: 3,500-token prompts, and the 1,200-token "
    "system prompt is identical for every user, so prefix caching could skip most of it. "
    "I'd check the prefix-cache hit rate and queueing at peak first, then decode speed, "
    "because batch size and KV cache pressure set tokens per second. Ranked: prefill, then "
    "queueing, then decode.")


@pytest.mark.parametrize(("step", "sentence"), [
    ("diagnose", "So my ranking is model size first, with nothing close behind."),
    ("diagnose", "If I rank: underpricing first, and there is no credible second."),
    ("goals", "The headline metric should be mean latency over the day."),
    ("clarify", "The latency objective I'll work to is an average of 500 ms across the day."),
    ("solutions", "Week one: quantize and roll it out to all of their traffic at once."),
    ("validate", "I wouldn't bother with a canary for a precision change."),
    ("validate", "The customer will tell us if anything is wrong."),
    ("prioritize", "I'm giving up nothing meaningful: quantization is essentially free of risk."),
    ("solutions", "A longer roadmap would be over-engineering for a model-choice problem."),
])
def test_a_call_no_serious_answer_makes_is_named(step: str, sentence: str) -> None:
    assert any("bad call" in n for n in score(sentence, step).notes)


@pytest.mark.parametrize(("step", "sentence"), [
    ("validate", "We never ship a model change without a canary on 5% of traffic first."),
    ("clarify", "What does average and peak request volume look like?"),
    ("solutions", "Roll out to 5% of traffic behind a flag, then 25%, then everyone."),
    ("diagnose", "What I'd rule out is the model size: the GPUs are busy only seven hours."),
])
def test_sound_calls_are_not_named_bad(step: str, sentence: str) -> None:
    assert not any("bad call" in n for n in score(sentence, step, BATCH).notes)


@pytest.mark.parametrize("sentence", [
    "Short term: switch every model to FP8 this week, it has zero quality loss on every model, "
    "so cost halves immediately.",
    "Speculative decoding everywhere, it always gives 3x with no downside.",
    "FP8 quantization is lossless, zero accuracy impact, so we just turn it on.",
])
def test_an_option_said_to_cost_nothing_is_a_bad_call(sentence: str) -> None:
    """A new user's trial: "FP8 ... zero quality loss on every model" earned Trade-offs 3/4
    through "quality" and "cost"; level 1 of that criterion is "presented as free"."""
    result = score(sentence, "solutions", LLAMA)
    assert any("claims an option costs nothing" in n for n in result.notes), result.notes
    tradeoffs = next(c for c in result.criteria if c.id == "solutions.tradeoffs_per_option")
    assert tradeoffs.level == 1, tradeoffs
    # false in a diagnosis too: it earns nothing there ("FP8" is no serving lever for it)
    diagnosis = score(sentence, "diagnose", LLAMA)
    assert any("claims an option costs nothing" in n for n in diagnosis.notes), diagnosis.notes


def test_a_small_cost_named_is_no_claim_that_there_is_none() -> None:
    """A trial: "scheduling and prompt caching, which cost us little and risk nothing on
    quality" was the bad call 'claims there is no trade-off' and marked the whole step down."""
    said = ("First the wait before the first words: it's mostly scheduling and prompt caching, "
            "which cost us little and risk nothing on quality.")
    assert not any("bad call" in n for n in score(said, "prioritize", LLAMA).notes)
    assert any("bad call" in n for n in score("Honestly this costs us nothing.", "prioritize",
                                              LLAMA).notes)


@pytest.mark.parametrize("sentence", [
    "Verify FP8 has no quality loss on their evals before turning it on.",
    "As long as there's no quality drop on the golden set, we move them over in stages.",
    "There's no quality loss if we keep the attention layers in BF16.",
    "The downside is cost: about 10% more GPUs for the warm pool.",
])
def test_no_loss_as_what_a_check_is_to_show_is_no_bad_call(sentence: str) -> None:
    assert not any("bad call" in n for n in score(sentence, "solutions", LLAMA).notes)


def test_dismissing_the_cause_the_clue_points_to_is_a_wrong_call() -> None:
    """'Caching won't help' on a case whose clue fact is a shared prompt prefix."""
    wrong = score("Caching won't help: every conversation is unique.", "diagnose", LLAMA)
    assert any("dismisses a cause the facts point to" in n for n in wrong.notes), wrong.notes
    other = score("Queueing I'd rule out, since dedicated capacity doesn't queue.", "diagnose",
                  BATCH)
    assert not any("facts point to" in n for n in other.notes)


MOE = get_case("moe-long-context-onboarding")


def test_waving_away_the_clue_by_its_everyday_name_is_a_wrong_call() -> None:
    """Trial 11's fluent bluffer: "memory" is not a keyword of the KV-cache clue (it would tell
    the clue to "How much memory do the GPUs have?"), but the case file's ``dismissed`` names it
    for a dismissal, and the step is marked down."""
    text = ("The problem is clearly the routing layer. Memory isn't the issue, since the model "
            "fits on a single node. I'd rank the router first, then the tokenizer.")
    wrong = score(text, "diagnose", MOE)
    assert any("dismisses a cause the facts point to" in n for n in wrong.notes), wrong.notes
    assert level(wrong, "diagnose.serving_efficiency") == 1


@pytest.mark.parametrize("sentence", [
    "Compute isn't the bottleneck; memory is, because at 128k the KV cache eats most of it.",
    "Raw FLOPs aren't the issue, memory is.",
    "The KV cache is the problem, the tokenizer is irrelevant.",
])
def test_a_dismissal_waves_away_only_what_its_own_clause_names(sentence: str) -> None:
    """A sentence that blames the clue's cause and dismisses something else is no dismissal of
    the clue (the whole sentence used to be searched for the clue's words)."""
    assert not any("facts point to" in n for n in score(sentence, "diagnose", MOE).notes)


@pytest.mark.parametrize(("case", "sentence"), [
    (MOE, "Honestly, running out of GPU memory is not what's hurting us."),
    (MOE, "Memory is fine."),
    (MOE, "Forget memory."),
    (MOE, "I don't think memory is the problem."),
    (LLAMA, "Reusing the prompt prefix won't buy us anything here."),
    (LLAMA, "I wouldn't bother with a cache."),
    (LLAMA, "A KV cache is pointless for this."),
    (LLAMA, "Prefix caching won't move the needle."),
])
def test_waving_the_clue_away_in_everyday_words_is_a_wrong_call(case: object,
                                                                 sentence: str) -> None:
    """Trial 12: each of these left the diagnose step as it was ("Prefix caching won't move the
    needle" even earned credit)."""
    text = "Our first suspect is the scheduler at peak. " + sentence
    assert any("facts point to" in n for n in score(text, "diagnose", case).notes), sentence


@pytest.mark.parametrize("text", [
    "Caching the prompt prefix? There's plenty of memory headroom, so I'd skip that.",
    "Prefix caching? Not worth it here.",
    "A prompt cache would be nice, but I'd skip it.",
])
def test_a_dismissal_pointing_at_the_clue_raised_just_before_is_a_wrong_call(text: str) -> None:
    """Trial 12: "plenty of memory headroom, so I'd skip that" named nothing itself; what it
    waves away is the subject the candidate had just raised."""
    assert any("facts point to" in n for n in score(text, "diagnose", LLAMA).notes), text


@pytest.mark.parametrize("text", [
    # it points at the tokenizer, raised just before, not at the cache blamed a sentence earlier
    "The prompt cache is the problem. The tokenizer? I'd skip that.",
    # a statement before a pointing dismissal is not a subject raised for it
    "The prompt cache is the problem. Tokenizer changes, I'd skip that.",
    "Prefix caching would help a lot, and I'd not skip that.",
])
def test_a_pointing_dismissal_of_something_else_is_no_wrong_call(text: str) -> None:
    assert not any("facts point to" in n for n in score(text, "diagnose", LLAMA).notes), text


@pytest.mark.parametrize(("case", "sentence"), [
    (MOE, "Memory is fine at 8k, but at 128k the KV cache eats most of it."),
    (MOE, "I don't think the router is the problem; memory is."),
    (LLAMA, "Don't bother with a bigger GPU, cache the shared prefix."),
])
def test_blaming_the_clue_while_waving_something_else_away_is_no_wrong_call(
        case: object, sentence: str) -> None:
    assert not any("facts point to" in n for n in score(sentence, "diagnose", case).notes)


def test_dismissed_words_belong_to_clue_facts_only(tmp_path: Path) -> None:
    data = yaml.safe_load((Path("cases") / "batch-inference-cost.yaml").read_text())
    plain = next(f for f in data["facts"] if not f.get("clue"))
    plain["dismissed"] = ["volume"]
    path = tmp_path / "batch-inference-cost.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(DataFileError, match="dismissed"):
        load_case(path)


COLD = get_case("finetune-cold-starts")


@pytest.mark.parametrize("sentence", [
    "I might look at storage at some point, though I suspect that's a small part of it.",
    "The scheduler is a secondary detail; small adapters would load quickly anywhere.",
    "The download share of the cold time is a symptom of that.",
])
def test_a_soft_dismissal_of_the_clue_cause_is_a_wrong_call(sentence: str) -> None:
    """Issue 9 round 6: a calm, hedged voice dismisses the cause the facts point to (adapters
    fetched from object storage, a scheduler that does not know where adapters are loaded)."""
    wrong = score(sentence, "diagnose", COLD)
    assert any("dismisses a cause the facts point to" in n for n in wrong.notes), wrong.notes


@pytest.mark.parametrize("sentence", [
    "Storage is not a small part of it: most of the cold time is the download.",
    "A small part of the cold time is loading onto the GPU; most of it is the download.",
    "It isn't a red herring: the scheduler doesn't know which replica holds which adapter.",
])
def test_a_cause_weighed_but_not_dismissed_is_no_wrong_call(sentence: str) -> None:
    assert not any("facts point to" in n for n in score(sentence, "diagnose", COLD).notes)


@pytest.mark.parametrize(("step", "sentence"), [
    ("prioritize", "I rank the roadmap by who is shouting loudest."),
    ("prioritize", "This customer is the loudest, so both asks go to the top."),
    ("prioritize", "A feature nobody is shouting for can't be that urgent."),
    ("clarify", "In my experience the loudest voice in the room tells you where the roadmap "
                "should go."),
    ("validate", "I'd measure success through sign-ups, page views and social media mentions."),
    ("validate", "We'll know it worked from the launch numbers: sign-ups and blog post traffic."),
    ("goals", "I'd also look at page views and time spent in the product."),
])
def test_loudness_as_the_ranking_rule_and_vanity_metrics_are_bad_calls(step: str,
                                                                       sentence: str) -> None:
    assert any("bad call" in n for n in score(sentence, step).notes)


@pytest.mark.parametrize(("step", "sentence"), [
    ("prioritize", "Their own warm capacity now, because they're escalating and they're a top "
                   "account, then the general fix with them as its first user."),
    ("prioritize", "The big accounts escalate loudest, but the fix that helps every customer "
                   "goes first."),
    ("validate", "We track p99 latency and cost per request against a control group for two "
                 "weeks, with a rollback if errors rise."),
])
def test_escalations_as_context_and_real_measures_are_not_bad_calls(step: str,
                                                                     sentence: str) -> None:
    assert not any("bad call" in n for n in score(sentence, step).notes)


# -- issue 9 round 7: the idea, not the words it was first written in ----------------------------
# Every sentence below is worded unlike the dev interviews the rules were built from.

@pytest.mark.parametrize(("step", "sentence"), [
    ("prioritize", "Whoever nags us the most gets served first."),
    ("prioritize", "The accounts that chase their reps hardest go to the front of the queue."),
    ("prioritize", "The teams that lobby most persistently set the order for the quarter."),
    ("diagnose", "Honestly, whichever customer makes the biggest fuss gets looked at first."),
    ("prioritize", "The partners who email most often are at the top of my list."),
])
def test_ranking_by_whoever_presses_hardest_is_a_bad_call(step: str, sentence: str) -> None:
    """Round 6's rule read 'loudest' and 'escalating'; pressing hard or often, in any words,
    is the same wrong ranking rule."""
    assert any("who complains loudest" in n for n in score(sentence, step).notes)


@pytest.mark.parametrize(("step", "sentence"), [
    ("prioritize", "The fix that helps the most customers goes first, then the one that earns the "
                   "most."),
    ("diagnose", "The teams that complain most are on the shared tier, which points at noisy "
                 "neighbours first."),
    ("prioritize", "Whoever files the most tickets is often hurting, but I still rank by revenue "
                   "at risk."),
    ("clarify", "Which customers push hardest for this, and why?"),
    # ranking by what a customer is worth or uses is no pressure ranking (integrator's probes)
    ("prioritize", "The customers who make the most revenue get served first."),
    ("prioritize", "Whichever segment calls the API most often should be looked at first, since "
                   "that's where the load is."),
    ("prioritize", "Accounts that make the most requests get priority because they drive 70% of "
                   "spend."),
])
def test_pressure_named_without_ranking_by_it_is_no_bad_call(step: str, sentence: str) -> None:
    assert not any("bad call" in n for n in score(sentence, step).notes)


@pytest.mark.parametrize(("step", "sentence"), [
    ("goals", "If cost per request climbs by a fifth while we do this, that's a good sign of "
              "adoption."),
    ("goals", "Throughput per machine falling from 900 to 600 calls a minute would be healthy: "
              "more room to breathe."),
    ("validate", "We'll know it worked when retention slips a little, because it means "
                 "customers are only keeping what they need."),
    ("goals", "Error rates going up is great news: it shows the customers are really pushing "
              "the system."),
])
def test_a_measure_moving_the_wrong_way_called_a_win_is_a_bad_call(step: str,
                                                                   sentence: str) -> None:
    assert any("moving the wrong way" in n for n in score(sentence, step).notes)


@pytest.mark.parametrize(("step", "sentence"), [
    ("goals", "Cost per request should fall by a third, which would be a real win."),
    ("goals", "Utilisation during the peak should climb from 40% to 70%, a good sign the "
              "batching works."),
    ("validate", "If p99 rises above 500 ms or errors climb, we roll back the same day."),
    ("prioritize", "Warm capacity raises cost a little, which is fine for the SLA."),
    ("goals", "Utilisation dropping to 50% is no win: we'd pay for idle machines."),
    # two measures, each moving the right way; a rise that more demand explains
    ("goals", "Latency went down and throughput went up, which is great."),
    ("validate", "GPU hours went up 10% but that's healthy given traffic doubled."),
])
def test_a_measure_moving_the_right_way_or_a_guardrail_is_no_bad_call(step: str,
                                                                       sentence: str) -> None:
    assert not any("bad call" in n for n in score(sentence, step).notes)


@pytest.mark.parametrize(("step", "sentence"), [
    ("prioritize", "I'd gladly give up a chunk of answer quality to get replies out sooner."),
    ("solutions", "We can sacrifice some of their accuracy for the cheaper hardware."),
    ("prioritize", "Quality is the easiest thing to trade here."),
    ("goals", "Customers won't mind paying more as long as it feels faster."),
    ("prioritize", "They will happily swallow a higher bill for the speed."),
])
def test_spending_what_the_customer_protects_is_a_bad_call(step: str, sentence: str) -> None:
    """The trade-off stated backwards: quality or the bill spent as if it were free."""
    assert any("bad call" in n for n in score(sentence, step).notes)


@pytest.mark.parametrize(("step", "sentence"), [
    ("prioritize", "I won't trade quality for speed: accuracy stays within a point of today."),
    ("prioritize", "They'd accept a slightly higher bill for guaranteed capacity at peak."),
    ("solutions", "We absorb the higher cost of the warm pool ourselves for the first month."),
    ("prioritize", "We trade a few points of accuracy for a 3x cost cut, which the customer said "
                   "is fine for drafts."),
])
def test_protecting_quality_or_a_bounded_cost_is_no_bad_call(step: str, sentence: str) -> None:
    assert not any("bad call" in n for n in score(sentence, step).notes)


@pytest.mark.parametrize("sentence", [
    "Replica start-up is a rounding error next to the real problem.",
    "The time new replicas take to become ready doesn't move the needle at peak.",
    "New replicas taking six minutes to be ready is neither here nor there.",
    "Slow replica start-up is their concern, not ours.",
])
def test_an_everyday_minimiser_of_the_clue_cause_is_a_wrong_call(sentence: str) -> None:
    """Round 6 read 'a small part', 'a symptom', 'a red herring'; waving the clue cause (new
    replicas take minutes to start) away in other everyday words is the same call."""
    wrong = score(sentence, "diagnose")
    assert any("dismisses a cause the facts point to" in n for n in wrong.notes), wrong.notes


@pytest.mark.parametrize("sentence", [
    "Replica start-up is not a rounding error: six minutes at a payday spike is the story.",
    "The model itself is a rounding error; the replicas taking minutes to start is the cause.",
    "Kernel tuning doesn't move the needle, so I'd look at how fast new replicas come up.",
])
def test_a_minimiser_aimed_elsewhere_or_negated_is_no_wrong_call(sentence: str) -> None:
    assert not any("facts point to" in n for n in score(sentence, "diagnose").notes)


@pytest.mark.parametrize(("step", "sentence"), [
    ("diagnose", "It's the kernels, and we don't need any other hypothesis."),
    ("diagnose", "Underpricing explains it; nothing else comes close."),
    ("validate", "Success shows up as GitHub stars and followers on the launch post."),
    ("validate", "I'd watch the download count of the new guide."),
])
def test_certainty_and_popularity_in_other_words_are_bad_calls(step: str, sentence: str) -> None:
    assert any("bad call" in n for n in score(sentence, step).notes)


def test_a_wrong_call_marks_the_whole_step_down() -> None:
    """The reasoning rests on the wrong call: every criterion loses a level (not below 1)."""
    plain = score(STRONG_DIAGNOSE, "diagnose", LLAMA)
    wrong = score(STRONG_DIAGNOSE + " Honestly there isn't a strong second.", "diagnose", LLAMA)
    assert any("marked down 1 level" in n for n in wrong.notes), wrong.notes
    assert plain.score is not None and wrong.score is not None and wrong.score < plain.score
    for a, b in zip(plain.criteria, wrong.criteria, strict=True):
        assert b.level == max(1, (a.level or 1) - 1)
        # The rationale says why the level is lower, never that the points fell short.
        if b.level < (a.level or 1):
            assert f"Marked down from level {a.level} to {b.level}" in b.rationale
            assert "a partial answer needs" not in b.rationale, b.rationale


# -- everyday words (prompts/scoring_words.yaml; issue 9 round 3) --------------------------------

PLAIN_VALIDATE = (
    "We move a tenth of their traffic onto the new setup and compare it side by side with the "
    "rest over three busy evenings. If more of their calls give up, we switch back the same day. "
    "After any miss we hold a written review with their team.")
#: The same plan with the everyday phrases for the practices taken out.
VAGUE_VALIDATE = (
    "We move some of the work onto the new setup and look at it with the team over three "
    "evenings. If more of their people are unhappy, we think again the same day. After any "
    "problem we chat with their team.")


def test_everyday_words_for_a_practice_earn_its_credit() -> None:
    plain = score(PLAIN_VALIDATE, "validate")
    vague = score(VAGUE_VALIDATE, "validate")
    for cid in ("validate.controlled_experiment", "validate.guardrails_and_rollback",
                "validate.sla_postmortem"):
        assert level(plain, cid) >= 3 > level(vague, cid), cid  # type: ignore[operator]
    evidence = [q for c in plain.criteria for q in c.evidence]
    assert evidence and all(q in PLAIN_VALIDATE for q in evidence)  # the candidate's own words


def test_everyday_words_rejected_or_listed_earn_nothing_more() -> None:
    negated = score("We won't move a tenth of their traffic side by side, and there's no need to "
                    "switch back or to hold a written review.", "validate")
    assert negated.score == 1.0
    listed = score("Side by side, a slice of traffic, switch back, give-ups, written review, busy "
                   "evenings.", "validate")
    assert listed.score is not None and listed.score <= 1.5


def test_everyday_words_for_the_tail_peak_and_per_machine_throughput_count() -> None:
    plain = score("The slowest one in a hundred calls stays under half a second at our front "
                  "door during the busy windows. We count calls served per machine at peak and "
                  "how many calls give up.", "goals")
    assert level(plain, "goals.latency_metrics") == 3  # tail + measured at peak + a target
    assert level(plain, "goals.throughput_and_reliability") == 3  # per machine + give-ups


@pytest.mark.parametrize(("step", "plain", "vague", "cid", "least"), [
    # Round 5: the tension between a simple product and seeing inside it, in plain words.
    ("prioritize", "Our API is easy because it hides the machinery, and that's exactly why "
                   "nobody can tell why a request waited. So we give a short reason on every "
                   "response by default, and a detailed page for those who want more.",
     "Our API is easy. So we give a short note by default, and a detailed page too.",
     "prioritize.devx_vs_observability", 4),
    # Outside factors: a rival, a security team, a bargaining chip.
    ("diagnose", "Fourth, outside us: a rival is offering them a discount, and their security "
                 "team wants them alone on the machines, so the region ask may be partly a "
                 "bargaining chip.",
     "Fourth: someone is offering them a discount, and some people want them alone on the "
     "machines, so the region ask may be partly a tactic.",
     "diagnose.external_factors", 3),
    # Levers named the way a non-specialist would: a deploy button, a list of versions.
    ("prioritize", "First a deploy button after training, then a model list with versions and "
                   "one button to go back to the last version.",
     "First something after training, then some more things later.",
     "prioritize.platform_levers", 2),
    # Near-term relief and telling the customers, in plain words.
    ("solutions", "This week we wake up the likely models ahead of their usual hour, add "
                  "logging of the wait per call, and tell the customers whose apps quit what is "
                  "coming.",
     "This week we do something with the likely models, add logging of the wait per call, and "
     "mention it.", "solutions.quick_mitigation", 3),
    # A limit that is not the goal: the constraint, named in plain words.
    ("clarify", "My objective: get the first call under two seconds. Cost is the limit, not the "
                "goal.",
     "My objective: get the first call under two seconds. Cost matters too.",
     "clarify.optimization_target", 3),
    # What the fix opens up beyond this customer.
    ("solutions", "Later it becomes a new line of business with its own price list, and it also "
                  "opens the door to per-user models.",
     "Later it becomes something else, and it also leads to per-user models.",
     "solutions.platform_unlock", 3),
])
def test_round5_everyday_words_earn_the_criterion(step: str, plain: str, vague: str, cid: str,
                                                  least: int) -> None:
    case = get_case("strategic-custom-ask")
    got, base = level(score(plain, step, case), cid), level(score(vague, step, case), cid)
    assert got is not None and base is not None and got >= least > base, (got, base)


def test_the_scorer_version_names_the_everyday_words_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from agent import prompts
    from agent.paths import data_dir

    before = OfflineScorer().version("goals")
    shutil.copytree(data_dir("prompts"), tmp_path / "prompts")
    words = tmp_path / "prompts" / "scoring_words.yaml"
    words.write_text(words.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    monkeypatch.setenv("INTERVIEWER_PROMPTS", str(tmp_path / "prompts"))
    data_dir.cache_clear()
    prompts.concepts_version.cache_clear()
    try:
        assert OfflineScorer().version("goals") != before
    finally:
        monkeypatch.delenv("INTERVIEWER_PROMPTS")
        data_dir.cache_clear()
        prompts.concepts_version.cache_clear()


@pytest.mark.parametrize(("body", "message"), [
    ("tail: {means: p99}\n", "concept 'tail': field 'says' is missing"),
    ("tail: {means: p99, says: ['re:(']}\n", "is not a valid pattern"),
    ("tail: {means: p99, says: [slowest], sounds: [x]}\n", "unknown field 'sounds'"),
])
def test_a_bad_everyday_words_file_names_the_file_and_concept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, message: str) -> None:
    from agent.prompts import concepts

    said = refused_prompt_file(tmp_path, monkeypatch, "scoring_words", body,
                               lambda: concepts("scoring_words"))
    assert message in said, said


# -- premises the case contradicts (agent/semantic/premises.py; issue 9 round 4) ----------------

COMPOUND = get_case("compound-ai-json-reliability")
DEVX = get_case("devx-observability-gap")
#: A sound clarify close for the batch case; the tests add one wrong assumption to it.
BATCH_CLARIFY = (
    "Let me play it back: a nightly batch inference job of about 400 thousand claims documents, "
    "a fine-tuned Llama 70B on three reserved 8xH100 nodes, in production for a year. I'll take "
    "cost as the goal, roughly halving the bill, with extraction accuracy held as the constraint.")


def clarify(text: str, case: object = BATCH, told: str = "Sure.") -> StepScore:
    return OfflineScorer().score_step(case, "clarify", [  # type: ignore[arg-type]
        ("interviewer", "What would you like to clarify?"), ("candidate", "What's the setup?"),
        ("interviewer", told), ("candidate", text)])


def premise_notes(result: StepScore) -> list[str]:
    return [n for n in result.notes if "premise the case contradicts" in n]


@pytest.mark.parametrize(("case", "sentence", "fact"), [
    (BATCH, "I'm going to assume this is real-time, with the adjusters waiting on each claim.",
     "Batch. Every night"),
    (BATCH, "Let's say the real goal here is speed, not the bill.", "Cost: they want"),
    (BATCH, "And I'll assume they're one of our top-ten strategic logos.", "not top ten"),
    (BATCH, "This is a training bill: they retrain the model every night.",
     "training isn't in scope"),
    (BATCH, "Also assume it's a prototype they are still piloting.", "Production, for about"),
    (COMPOUND, "I'll treat latency as the north star, with reliability second.",
     "Reliability first"),
    (DEVX, "Our latency has regressed and p99 has crept up, that's why they write in.",
     "latency hasn't changed"),
    # Round 6: blaming the model's own compute where the pain is the platform around it.
    (get_case("finetune-cold-starts"), "My working picture is that these are heavy models, so "
     "I'd lean towards treating the slowness as a generation problem.", "Model loading and"),
    (FINTECH, "I'm fairly sure the model itself is the bottleneck at peak.", "Scaling, mainly"),
])
def test_a_clarify_assumption_the_case_contradicts_is_a_wrong_call(
        case: object, sentence: str, fact: str) -> None:
    """Stated confidently, told or not: no credit, the step marked down, the fact named."""
    base = BATCH_CLARIFY if case is BATCH else "Summary: I'll take it from here."
    right = clarify(base, case)
    wrong = clarify(f"{base} {sentence}", case)
    notes = premise_notes(wrong)
    assert len(notes) == 1 and sentence in notes[0] and fact in notes[0], wrong.notes
    assert not premise_notes(right), right.notes
    assert right.score is not None and wrong.score is not None
    if right.score > 1:
        assert wrong.score < right.score
        down = [c for c in wrong.criteria if "rests on a confidently wrong call" in c.rationale]
        assert down and all(fact in c.rationale for c in down), [c.rationale for c in down]


@pytest.mark.parametrize(("case", "sentence"), [
    (BATCH, "Is this real-time, or a batch job nobody waits on?"),
    (BATCH, "This isn't real-time: nobody is waiting on any single claim."),
    # Gives the case's own value (batch: nobody waits), naming real time only in passing.
    (BATCH, "Since nobody is waiting on these in real time, latency is secondary for me."),
    (BATCH, "They're a mid-sized account, not one of our top ten, but a good template."),
    (BATCH, "They fine-tuned with us earlier, but training isn't in scope."),
    (BATCH, "The client side might matter too, and a mid-sized account still counts."),
    # The compound case's agents are mostly interactive but some run in the background: either
    # assumption is allowed.
    (COMPOUND, "I'll assume these run as background batch jobs."),
    (COMPOUND, "I'll assume a user is waiting on each agent task."),
    # The devx case is mostly long tail, but strategic accounts escalate too.
    (DEVX, "I'll assume a few strategic accounts escalate through their account managers."),
    # Round 6: the platform named as the cause, or compute only asked about, is no premise.
    (get_case("finetune-cold-starts"), "My guess is the bottleneck is loading the adapter, "
                                       "not token generation."),
    (get_case("finetune-cold-starts"), "Is the time spent in token generation or in loading?"),
    (FINTECH, "I'd treat this as a scaling problem at the peaks."),
])
def test_an_assumption_the_case_allows_is_not_named(case: object, sentence: str) -> None:
    result = clarify(f"Summary: I'll take it from here. {sentence}", case)
    assert not premise_notes(result), result.notes


@pytest.mark.parametrize(("case", "sentence"), [
    # Round 5: of 60 fresh statements true to the cases, these three were named wrongly.
    # Training told as history is how the model came to be, not the problem's stage.
    (BATCH, "The training part happened months ago, so for me this is purely about running "
            "the model each night."),
    (FINTECH, "The model was trained a while back and we only host it, so I'm not touching "
              "training."),
    # A clause whose subject is "nobody" denies what it says.
    (get_case("train-deploy-one-stack"), "Nobody here is training from scratch; it's "
                                         "fine-tuning and then serving, and the step between."),
])
def test_true_statements_in_new_words_are_not_named(case: object, sentence: str) -> None:
    result = clarify(f"Summary: I'll take it from here. {sentence}", case)
    assert not premise_notes(result), result.notes


#: Round 5: sixty clarify statements true to each case's facts, in wordings unlike the earlier
#: ones, written before the premise check saw them (three were named wrongly then: the three
#: above). None may be named a wrong premise.
TRUE_STATEMENTS = {
    "batch-inference-cost": [
        "Nobody sits and watches these documents go through; they just need the pile done by "
        "seven in the morning.",
        "The training part happened months ago, so for me this is purely about running the "
        "model each night.",
        "What hurts is the money, not the clock: the run finishes in time every night.",
        "They've been running this for about a year as part of the everyday claims routine, so "
        "it's well past a trial.",
        "A solid mid-sized customer rather than one of the giants, but there are plenty more "
        "like them coming.",
        "My yardstick is the nightly bill, and the quality of the extracted fields is the thing "
        "I won't trade away.",
    ],
    "compound-ai-json-reliability": [
        "Each task is a chain of five to fifteen model calls, and any one broken reply spoils "
        "the whole run.",
        "Finishing the task correctly the first time is what they care about most; speed and "
        "price can wait.",
        "Nobody is complaining that a single call is slow; a call takes one to three seconds "
        "and that's tolerated.",
        "Some of the teams are still trying it out and won't launch until the replies stop "
        "breaking.",
        "One big support-automation company is loud about it, but the bulk of the usage is many "
        "small builders.",
        "Fine-tuning for tool use exists on the side, but I'll keep to the serving API and its "
        "structured replies.",
    ],
    "devx-observability-gap": [
        "Our speed hasn't got worse: the typical and the slowest requests are about where they "
        "were a year ago.",
        "The people writing in are mostly small self-serve teams, with a handful of big "
        "accounts going through their managers.",
        "What I'm chasing is fewer tickets and developers finding their own answers, not a "
        "faster API.",
        "Some of it is fine-tuning jobs failing, but I'll start with the live API, where most "
        "of the tickets come from.",
        "It's a mixed bag of traffic: chat apps, agents calling the model over and over, and "
        "some overnight jobs.",
        "Some of the developers are still building their first prototype while others have been "
        "live for years.",
    ],
    "finetune-cold-starts": [
        "Training the adapters works fine; the trouble starts when one has to answer its first "
        "request.",
        "A person is usually sitting there waiting on the reply, in a chat window or a writing "
        "tool.",
        "These are mostly small self-serve accounts paying under a couple of thousand a month "
        "each, thousands of them.",
        "Most are already live with the feature; a few are holding off their launch because of "
        "the slow first call.",
        "I'd go after the first-call delay for the small accounts, without letting the machine "
        "bill run away.",
        "Once an adapter is warm the first word comes back in about a third of a second, which "
        "nobody minds.",
    ],
    "fintech-p99-spikes": [
        "Every card swipe waits on this score before the payment goes through, so it's all live "
        "traffic, nothing deferred.",
        "This is one of our ten biggest accounts and the name we show other banks.",
        "They've been live on it for around eight months; it's their real payment path, not an "
        "experiment.",
        "The slowest calls matter most here, because a late score means a lost payment; the "
        "bill comes after that.",
        "The model was trained a while back and we only host it, so I'm not touching training.",
        "The trouble shows up when their traffic climbs, and second to that they can't see "
        "what's going on.",
    ],
    "gpu-price-shift": [
        "Most of the machine hours go to serving models; fine-tuning is the smaller part and "
        "can take whatever is free.",
        "It's a blend: some customers wait on every answer, others run overnight jobs with a "
        "whole day to finish.",
        "The ten largest accounts bring in a bit over half of revenue, mostly on reserved "
        "contracts.",
        "Everything here is live: the fleet we run today and the prices customers pay today.",
        "What I'm protecting is margin, while keeping every speed promise we have signed.",
        "The small pay-per-token customers are the ones who'll walk if prices jump.",
    ],
    "llama70b-2x-latency": [
        "People type and watch the words come back, so it's all live chat with somebody waiting.",
        "They did a small fine-tune with us last quarter, but what they're asking about now is "
        "only serving speed.",
        "They launched about six months ago, so this is production, not a demo.",
        "They're a mid-sized startup people know, not one of our ten biggest.",
        "How fast it feels to their users comes first for me, and what a token costs us comes "
        "right after.",
        "The pain is the wait before the first words of each answer show up.",
    ],
    "moe-long-context-onboarding": [
        "Serving comes first here; customers want to fine-tune it too, but that waits until "
        "it's live.",
        "Customers are trying it out on the vendor's own API today and want to move to "
        "production with us.",
        "Our own setup for it is still a research prototype, nowhere near ready.",
        "The traffic is a mix: chat and agents where someone waits, and long reports summarised "
        "in the background.",
        "Getting it out the door quickly matters most, as long as the cost per token doesn't "
        "get silly.",
        "Lots of smaller customers want it, and two big enterprise accounts are asking too.",
    ],
    "strategic-custom-ask": [
        "This is our single biggest customer, and their coding helper is the main thing they sell.",
        "Completions stream into the editor while the developer types, so someone is always "
        "waiting.",
        "They train their models themselves; what they want from us is a serving feature.",
        "The product is live and it's their main line of business, so this isn't a pilot.",
        "I want to keep them without turning us into a consulting shop for one company.",
        "They're hurting on speed and on sharing machines with other tenants.",
    ],
    "train-deploy-one-stack": [
        "The training jobs run for a few hours in the background, and the models they produce "
        "then answer live requests.",
        "Nobody here is training from scratch; it's fine-tuning and then serving, and the step "
        "between them.",
        "How fast the served model answers isn't the complaint; getting it from trained to "
        "serving is.",
        "Most customers are smaller teams and mid-market companies, plus two big accounts that "
        "run dozens of fine-tunes a month.",
        "The link between training and serving is basically a script our engineers wrote; only "
        "a handful of customers use it.",
        "What I'd optimise for is a short, safe path from a trained model to production, easy "
        "for a small team.",
    ],
}


@pytest.mark.parametrize(("case_id", "sentence"), [
    (c, s) for c, said in TRUE_STATEMENTS.items() for s in said])
def test_sixty_true_statements_are_never_named(case_id: str, sentence: str) -> None:
    from agent.semantic.premises import premises

    assert premises(get_case(case_id), sentence) == []


@pytest.mark.parametrize(("case", "sentence", "fact"), [
    (BATCH, "I'll assume the real problem is training: they keep retraining it.", "Inference"),
    (get_case("train-deploy-one-stack"), "Let's say they're pretraining from scratch.",
     "Pretraining"),
    (get_case("train-deploy-one-stack"), "Everyone here is training from scratch.",
     "Pretraining"),
])
def test_the_history_and_nobody_rules_leave_wrong_premises_named(
        case: object, sentence: str, fact: str) -> None:
    notes = premise_notes(clarify(f"Summary: I'll take it from here. {sentence}", case))
    assert len(notes) == 1 and fact in notes[0], notes


def test_a_figure_the_interviewer_gave_misquoted_in_clarify_is_named() -> None:
    told = "About 1,800 tickets a month, up 60% in two quarters."
    wrong = clarify("So we're at roughly 18,000 tickets a month, growing fast.", DEVX, told)
    right = clarify("So we're at roughly 1,800 tickets a month, growing fast.", DEVX, told)
    assert any("misquotes a figure" in n and "1,800 tickets" in n for n in premise_notes(wrong)), \
        wrong.notes
    assert not premise_notes(right), right.notes
    # A share of something else is not a misquote of the shares the interviewer gave ("the
    # top 1% carry 70% of the traffic"): "about 2% of adapters" is the candidate's own figure.
    cold = get_case("finetune-cold-starts")
    told = ("Only around 2,000 adapters get a request in a given hour, and the top 1% carry "
            "70% of the traffic.")
    share = clarify("About 2% of adapters are active in an hour.", cold, told)
    assert not premise_notes(share), share.notes
    misread = clarify("So the top 1% carry about 20% of the traffic.", cold, told)
    assert any("misquotes a figure" in n for n in premise_notes(misread)), misread.notes


def test_a_count_worked_out_from_told_figures_is_not_a_misquote() -> None:
    """Round 5: the candidate's arithmetic on what they were told, in words or digits, is not a
    misquote of the figure it started from; a wrong figure beside it still is."""
    told = ("About 1,800 tickets a month, up 60% in two quarters, and around 45% of them are "
            "'why was this request slow or failing'.")
    for said in ("About eight hundred tickets a month are the why-slow kind.",  # 45% of 1,800
                 "About 800 tickets a month are the why-slow kind.",
                 # worked out ("that's"), with the figure in words: 60% growth on 1,125
                 "Growth is sixty percent, that's roughly seven hundred more tickets a month."):
        result = clarify(said, DEVX, told)
        assert not premise_notes(result), (said, result.notes)
    wrong = clarify("About twelve hundred tickets a month are the why-slow kind.", DEVX, told)
    assert any("misquotes a figure" in n for n in premise_notes(wrong)), wrong.notes


def test_a_share_read_from_the_candidates_own_rate_is_not_an_invented_figure() -> None:
    """"2,000 out of 90,000" is read as a share too (2.2%); that share is the number reader's
    arithmetic on figures the interviewer gave, not a figure the candidate made up."""
    from agent.semantic.facts import Told

    cold = get_case("finetune-cold-starts")
    heard = ("About 90 thousand adapters are deployed, but only around 2,000 get a request in a "
             "given hour.",)
    told = Told(facts=frozenset({"scale"}), heard=heard)
    said = ("With two thousand active out of ninety thousand, the rarely used ones wait in line "
            "for a free slot.")
    notes = OfflineScorer().score_step(cold, "diagnose", [("candidate", said)], told).notes
    assert not any("nobody gave" in n for n in notes), notes
    made_up = ("With 2,000 active, 37% of them wait in line for a free slot.")
    notes = OfflineScorer().score_step(cold, "diagnose", [("candidate", made_up)], told).notes
    assert any("nobody gave" in n for n in notes), notes


def test_a_wrong_premise_carried_into_a_later_step_marks_down_what_it_speaks_to() -> None:
    from agent.semantic.facts import Told

    answer = ("The adjusters are waiting on every claim, so at the morning peak requests queue "
              "and the autoscaler can't keep up. I'd check queue time at peak first.")
    turns = [("interviewer", "What's driving it?"), ("candidate", answer)]
    wrong = Told(facts=frozenset(), heard=(
        "I'll assume this is real-time, with the adjusters waiting on each claim.",))
    sound = Told(facts=frozenset(), heard=("I'll assume a nightly batch job.",))
    carried = OfflineScorer().score_step(BATCH, "diagnose", turns, wrong)
    plain = OfflineScorer().score_step(BATCH, "diagnose", turns, sound)
    assert any("Rests on a premise" in n and "Batch. Every night" in n for n in carried.notes), \
        carried.notes
    assert not any("Rests on a premise" in n for n in plain.notes), plain.notes
    assert carried.score is not None and plain.score is not None
    assert carried.score < plain.score
    down = [c for c in carried.criteria if "rests on a premise the case contradicts" in c.rationale]
    assert down, [(c.id, c.rationale) for c in carried.criteria]


@pytest.mark.parametrize(("body", "message"), [
    ("traffic: {facts: [workload]}\n", "expected 'facts' and a mapping 'values'"),
    ("traffic: {facts: [workload], values: {batch: {label: b, says: ['re:(']}}}\n",
     "is not a valid pattern"),
    ("traffic: {facts: [workload], values: {batch: {label: b, says: [x], sounds: [y]}}}\n",
     "expected exactly 'label' and 'says'"),
    ("traffic: {facts: [workload], lead: true, values: {batch: {label: b, says: [x]}}}\n",
     "unknown field 'lead'"),
])
def test_a_bad_premises_file_names_the_file_and_dimension(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, message: str) -> None:
    from agent.semantic import premises

    said = refused_prompt_file(tmp_path, monkeypatch, "premises", body, premises.dimensions,
                               premises.dimensions, premises._settled_facts,
                               premises._premises, premises._contradictable)
    assert message in said and "traffic" in said, said


def test_a_step_score_is_stretched_above_3_only() -> None:
    """Round 5: an excellent step's weighted criteria mean sits below 3.5 (level-4 texts ask
    for everything); means above 3 are stretched so EXCELLENT_MEAN reads 3.5, 4 stays 4, and
    nothing at or below 3 moves, so weak, salad, negated and wrong answers keep their scores."""
    from agent.scorers import EXCELLENT_MEAN, calibrated

    assert EXCELLENT_MEAN < 3.5
    assert calibrated(EXCELLENT_MEAN) == 3.5 and calibrated(4.0) == 4.0
    for mean in (1.0, 1.4, 2.2, 2.5, 3.0):
        assert calibrated(mean) == mean
    assert calibrated(None) is None
    means = [3.0 + k / 20 for k in range(21)]
    got = [calibrated(m) for m in means]
    assert got == sorted(got) and all(g >= m for g, m in zip(got, means, strict=True))  # type: ignore[operator]
    assert calibrated(3.2, excellent=3.5) == 3.2  # 3.5: no stretch


#: A strong validate answer in plain words: criteria at 3 and 4, a weighted mean below 3.5.
STRONG_VALIDATE = (
    "Move a tenth of their traffic to the new setup and compare the slowest one in a hundred "
    "calls on both parts over the same busy evenings, with the pass line agreed up front: under "
    "half a second. Machine hours per thousand calls before and after. A weekly chart of the "
    "slow tail next to how busy the machines are. If errors rise we switch back the same day. "
    "Any miss gets a written review with their team.")


def test_a_strong_step_in_plain_words_reads_as_excellent_and_salad_does_not_move() -> None:
    from agent import scorers

    strong = score(STRONG_VALIDATE, "validate")
    salad = score(SALAD["validate"], "validate")
    saved = scorers.EXCELLENT_MEAN
    scorers.EXCELLENT_MEAN = 3.5
    try:
        plain = score(STRONG_VALIDATE, "validate")
        raw_salad = score(SALAD["validate"], "validate")
    finally:
        scorers.EXCELLENT_MEAN = saved
    assert plain.score is not None and strong.score is not None
    assert 3 < plain.score < 3.5 <= strong.score  # criteria unchanged, the step reads 4
    assert [c.level for c in plain.criteria] == [c.level for c in strong.criteria]
    assert salad.score == raw_salad.score



def test_hypotheses_ruled_out_by_a_denied_state_earn_nothing_and_are_not_quoted() -> None:
    """A new-user trial: 'It isn't queueing on the shared pool either' was read as a guardrail
    (not queueing is a target), credited to capacity at level 3 and quoted as evidence."""
    result = score("It's not a cold start problem and it's not that replicas are slow to come "
                   "up. It isn't queueing on the shared pool either, and I don't think noisy "
                   "neighbours matter.", "diagnose")
    capacity = next(c for c in result.criteria if c.id == "diagnose.capacity_and_scaling")
    assert capacity.level == 1 and capacity.evidence == []


def test_a_point_recognised_by_meaning_is_not_shown_as_the_candidates_words() -> None:
    """What the matcher recognised by meaning is named as such ("close in meaning to" the
    rubric's example), never as a quoted phrase the candidate did not say."""
    result = score("Traffic jumps four or five times within a couple of minutes, but a new copy "
                   "of the model takes several minutes to be ready. Each machine can only work "
                   "on a handful of requests at a time, so the waiting blows up the slowest "
                   "requests.", "diagnose")
    rationales = [c.rationale for c in result.criteria]
    assert any("close in meaning to “" in r for r in rationales), rationales
    assert not any("≈" in r for r in rationales)


def test_a_pasted_block_with_no_full_stop_is_no_claim() -> None:
    """A new-user trial pasted 20,000 characters of 'lorem ipsum ... latency cost p99' in
    clarify and got 'what to optimise for' at level 3: a 'sentence' of thousands of words is
    not a claim, so it counts at most as a string of nouns, once in the step."""
    paste = ("lorem ipsum dolor sit amet latency cost p99 " * 450).strip()
    result = score(paste, "clarify")
    assert level(result, "clarify.optimization_target") == 1
    assert sum(1 for c in result.criteria if (c.level or 1) > 1) <= 1
    assert result.score is not None and result.score < 1.5
    # the same words in a sentence of normal length are a claim, as before
    short = score("What matters more to them, latency or cost, and what is the p99 today?",
                  "clarify")
    assert level(short, "clarify.optimization_target") > 1


def test_a_phrase_that_answers_two_things_is_shown_as_such() -> None:
    """A new-user trial read "Covered 2 of 5 things this criterion looks for ('p99')": one
    phrase credited two of the things looked for, and the list showed it once."""
    result = score("Goal: p99 under 300 ms for the chat traffic by end of quarter.", "goals")
    latency = next(c for c in result.criteria if c.id == "goals.latency_metrics")
    assert latency.rationale.startswith("Covered 2 of")
    assert "'p99' (counts for two)" in latency.rationale


def test_a_phrase_shown_is_whole_words() -> None:
    """'under 300 ms' was credited as 'under 3': a match that stops inside a word is shown
    to the word's end."""
    result = score("Goal: p99 under 300 ms for the chat traffic by end of quarter.", "goals")
    targets = next(c for c in result.criteria if c.id == "goals.concrete_targets")
    assert "'under 300'" in targets.rationale and "'under 3'" not in targets.rationale


def test_safety_practices_waved_off_as_for_lesser_people_earn_nothing() -> None:
    """A new-user trial: 'Rollback is for people who make mistakes' was credited to guardrails
    and rollback and quoted as evidence, and 'It is not a target, so there is nothing to miss'
    earned the postmortem criterion by meaning."""
    result = score("We will not test it. Rollback is for people who make mistakes. It is not a "
                   "target, so there is nothing to miss.", "validate")
    assert all(c.level == 1 and not c.evidence for c in result.criteria), \
        [(c.id, c.level, c.evidence) for c in result.criteria]
    assert any("skips validation" in n for n in result.notes)
    # ... but a practice said to be for people who care is not waved off
    kept = score("Canaries are for people who want to sleep at night, and we do: a 5% canary "
                 "with automatic rollback if p99 goes above 500 ms.", "validate")
    assert not any("skips validation" in n for n in kept.notes)
    assert level(kept, "validate.guardrails_and_rollback") >= 2


def test_taking_a_fact_as_given_and_everybody_knows_are_not_credited() -> None:
    """A trial: "I'd take it as given" was credited as a trade-off said out loud ('I'd take
    it'), and "everybody knows ..." as platform-wide thinking ('everybody')."""
    result = score("That part you told me, so I'd take it as given. Everybody knows batch jobs "
                   "run best on CPUs.", "cross_cutting")
    assert level(result, "cross_cutting.tradeoffs_out_loud") == 1
    assert level(result, "cross_cutting.platform_thinking") == 1
    said = score("I'd take the hit on idle cost for now. The scheduler change helps everybody "
                 "on the shared tier.", "cross_cutting")
    assert level(said, "cross_cutting.tradeoffs_out_loud") >= 2
    assert level(said, "cross_cutting.platform_thinking") >= 2


def test_a_target_line_is_a_customer_outcome() -> None:
    """A trial: 'p99 at peak against the 500 ms line', shared with the customer each week, is
    SLA adherence (a customer outcome), and earned nothing."""
    result = score("Every week we share a chart of p99 at peak against the 500 ms line with "
                   "their team.", "goals")
    assert level(result, "goals.customer_outcomes") >= 2


def test_a_call_judged_wrong_in_its_step_earns_nothing_across_the_interview() -> None:
    """A trial: 'We do everything at once, giving up nothing' was flagged as a bad call in
    prioritize, then quoted as evidence of tying the customer's pain to the bet."""
    text = "We do everything at once, giving up nothing, so the timeouts at checkout stop."
    assert any("bad call" in n for n in score(text, "prioritize").notes)
    across = score(text, "cross_cutting")
    assert all(text not in e for c in across.criteria for e in c.evidence)
    assert level(across, "cross_cutting.pain_to_bet") == 1


def test_a_term_the_reading_added_is_not_shown_as_the_candidates_words() -> None:
    """A trial: 'a quarter of engineering work' was credited as '25%', a word the candidate
    never wrote; what the reading adds (digits for number words, trade terms for everyday
    words) is shown as what it was read as."""
    result = score("Making new copies start faster would take us a quarter of engineering "
                   "work.", "prioritize")
    why = next(c.rationale for c in result.criteria if c.id == "prioritize.latency_vs_cost")
    assert "'faster'" in why and "close in meaning to “25%”" in why and "'25%'" not in why


def test_a_span_inside_another_span_is_shown_once_and_counted_for_two() -> None:
    """A trial read "Covered 2 of 4 things ('price of the GPU now, it go up or go down?', 'GPU
    now, it go up or go down?')": one question credited two things, shown as two overlapping
    quotes. The longer span is shown once, counted for two."""
    from agent.cases import default_cases

    result = score("hello, please what is the price of the GPU now, it go up or go down?",
                   "cross_cutting", default_cases()["gpu-price-shift"])
    asks = next(c for c in result.criteria if c.id == "cross_cutting.pm_and_operator_questions")
    assert asks.rationale.startswith("Covered 2 of")
    assert "'price of the GPU now, it go up or go down?' (counts for two)" in asks.rationale
    assert "'GPU now, it go up or go down?'" not in asks.rationale


def test_a_partial_level_says_what_the_next_level_needs() -> None:
    """"Covered 3 of 5" gave 2/4 on one criterion and "Covered 2 of 4" 3/4 on another, and
    nothing said why: each criterion has its own thresholds, and the rationale now says how
    many the next level needs."""
    result = score("Goal: p99 under 300 ms for the chat traffic by end of quarter.", "goals")
    for c in result.criteria:
        if c.level in (2, 3) and c.rationale.startswith("Covered"):
            assert f"Level {c.level + 1} needs " in c.rationale, c.rationale
    assert any(c.level in (2, 3) for c in result.criteria)


def test_a_plan_under_short_mid_long_headings_has_horizons() -> None:
    """A trial's terse plan "Short (wk 0-6): ... Mid (1-3 mo): ... Long: ..." scored Time
    horizons 1/4, "Nothing in the answer addressed this", and was the first thing to practise."""
    from agent.cases import default_cases

    plan = ("Short (wk 0-6): FP8 single node, 32k cap, chunked prefill.\n"
            "Mid (1-3 mo): H200 for 128k tier, expert parallel multi-node.\n"
            "Long: general MoE serving layer in platform.")
    result = score(plan, "solutions", default_cases()["moe-long-context-onboarding"])
    assert level(result, "solutions.time_horizons") == 3
    # "how long:" or "as long:" is no heading of a horizon
    other = score("How long: no idea. As long: it works. We add FP8.", "solutions")
    assert level(other, "solutions.time_horizons") == 1


def test_an_announced_summary_of_assumptions_counts() -> None:
    """A second trial's "So summary, my assumption:" over five assumption bullets scored the
    Assumption summary 2/4, its only evidence a question: the line has no verb, so it was no
    claim. A line announcing one's own summary or assumptions is; a bare "Assumptions:" (it
    heads keyword salad as often) is not."""
    from agent.cases import default_cases

    case = default_cases()["moe-long-context-onboarding"]
    summary = ("So summary, my assumption:\n- inference only now, fine-tune later\n"
               "- 50B tok/day, 20% >64k\n- 4-6 week, competitor already live")
    assert level(score(summary, "clarify", case), "clarify.assumption_summary") == 3
    salad = "Assumptions:\n- north star: defined\n- p99: in scope\n- guardrails: in place"
    assert level(score(salad, "clarify", case), "clarify.assumption_summary") == 1


def test_a_comparison_with_customers_who_do_not_have_it_is_a_controlled_one() -> None:
    """A web trial: "watch whether their tickets drop over a month compared with similar
    customers who don't have it yet" scored Controlled experiment 1/4, "Nothing in the answer
    addressed this"."""
    from agent.cases import default_cases

    plain = ("I'd give it to a group of customers first and watch whether their tickets drop "
             "over a month compared with similar customers who don't have it yet.")
    result = score(plain, "validate", default_cases()["devx-observability-gap"])
    assert level(result, "validate.controlled_experiment") >= 2
    other = score("I'd compare it with what the customers told us last year.", "validate")
    assert level(other, "validate.controlled_experiment") == 1


def test_a_machine_getting_ready_is_start_up_time_not_a_customer_segment() -> None:
    """A trial: "How long does it take for a new machine to be ready..." earned Who the
    customer is, "close in meaning to startup" (the everyday reading added the word)."""
    question = ("How long does it take for a new machine to be ready to help when things get "
                "busy?")
    assert level(score(question, "clarify"), "clarify.customer_profile") == 1
    cold = level(score(question, "diagnose"), "diagnose.capacity_and_scaling")
    assert cold is not None and cold >= 2  # it still reads as start-up time
    segment = score("Is this an AI-native startup or a bank?", "clarify")
    assert level(segment, "clarify.customer_profile") == 2


def test_plain_words_questions_count_from_both_seats() -> None:
    """A trial: a junior asked about the promise, today's speed and the machines in plain words
    and got Questions like a PM and an infra operator 1/4."""
    from agent.scorers import OfflineScorer

    turns = [("candidate", q) for q in (
        "What speed did we promise them, exactly?",
        "And how fast are we right now, when it's quiet and when it's busy?",
        "How long does it take for a new machine to be ready to help when things get busy?")]
    result = OfflineScorer().score_step(FINTECH, "cross_cutting", turns)
    seats = next(c for c in result.criteria if c.id == "cross_cutting.pm_and_operator_questions")
    assert seats.level == 2 and "promise them" in seats.rationale, seats


def test_trade_offs_said_in_plain_words_count_and_users_giving_up_is_none() -> None:
    """A trial: a junior weighed cost against headroom, one customer against every customer and
    what to leave for later, all in plain words, and got Trade-offs said out loud 2/4, two of
    it from "their calls give up after a second" (the client's timeout, not a trade-off)."""
    from agent.scorers import OfflineScorer

    plain = ("The rushes are predictable, so the quickest win is to have extra machines already "
             "running before the evening rush. That costs more money for idle machines, but they "
             "said they'd pay for some extra room. So I'd do that first and give up some cost "
             "savings. Second, making new machines start faster helps every customer, but it "
             "takes longer to build. I'd leave making the model smaller for later, because their "
             "rules team hasn't agreed.")
    out_loud = "cross_cutting.tradeoffs_out_loud"
    result = OfflineScorer().score_step(FINTECH, "cross_cutting", [("candidate", plain)])
    assert level(result, out_loud) == 4, result.criteria
    timeout = OfflineScorer().score_step(FINTECH, "cross_cutting", [(
        "candidate", "When their calls give up after a second they send them again.")])
    assert level(timeout, out_loud) == 1


def test_watching_several_rushes_and_a_practice_run_are_over_time_and_under_load() -> None:
    """A trial: "I'd watch it over several rush times, and also do a practice run at sale-day
    traffic" earned neither over time nor under load."""
    said = ("I'd compare the slowest requests during a rush against the old setup. I'd watch it "
            "over several rush times, and also do a practice run at sale-day traffic.")
    over_time = next(c for c in score(said, "validate").criteria
                     if c.id == "validate.tradeoff_over_time")
    assert "several rush times" in over_time.rationale and "practice run" in over_time.rationale


def test_a_figure_worked_out_from_given_ones_is_not_invented() -> None:
    """A trial: "2,000 streams on 48 GPUs" was noted as a figure nobody gave, though the
    interviewer had said "six dedicated nodes of eight H100s"; a figure that is the product of
    two given is worked out, not invented. One nobody gave still is."""
    from agent.semantic.facts import Told

    case = LLAMA
    said = ("The 900 ms wait before anything appears is mostly queueing and prefill: 2,000 "
            "streams on {gpus} GPUs, and long chat histories get re-read every turn.")
    told = Told(facts=frozenset({"scale", "current_setup", "latency"}),
                heard=tuple(case.fact(f).answer for f in ("scale", "current_setup", "latency")))
    worked = OfflineScorer().score_step(case, "diagnose", [(
        "candidate", said.format(gpus=48))], told)
    assert not any("nobody gave" in n for n in worked.notes), worked.notes
    made_up = OfflineScorer().score_step(case, "diagnose", [(
        "candidate", said.format(gpus=13))], told)
    assert any("nobody gave" in n for n in made_up.notes), made_up.notes


def test_a_question_is_not_a_trade_off_said_out_loud() -> None:
    """Trial 8: "What would twice as fast be in numbers for them?" was evidence of Trade-offs
    said out loud through "for them"; a question asks, it voices no side."""
    from agent.scorers import OfflineScorer

    out_loud = "cross_cutting.tradeoffs_out_loud"
    asked = OfflineScorer().score_step(LLAMA, "cross_cutting", [(
        "candidate", "What would twice as fast be in numbers for them?")])
    assert level(asked, out_loud) == 1
    said = OfflineScorer().score_step(LLAMA, "cross_cutting", [(
        "candidate", "A dedicated pool is quick for them, but it only helps one account.")])
    assert level(said, out_loud) == 2
    assert "only helps" in next(c.rationale for c in said.criteria if c.id == out_loud)
    # Stop 34's trial: "for them" in any statement was one customer against many; it must say
    # the thing is theirs alone ("just for them", "dedicated for them").
    plain = OfflineScorer().score_step(LLAMA, "cross_cutting", [(
        "candidate", "I'll assume speed matters most for them.")])
    assert level(plain, out_loud) == 1
    alone = OfflineScorer().score_step(LLAMA, "cross_cutting", [(
        "candidate", "We build a warm pool just for them.")])
    assert "just for them" in next(c.rationale for c in alone.criteria if c.id == out_loud)


def test_pulling_the_change_on_a_trigger_is_a_way_back() -> None:
    """Trial 9: "If churn in the test half is more than two points worse, we pull the tier"
    earned Guardrails and rollback for 'worse' only; the tier pulled is the way back."""
    case = get_case("gpu-price-shift")
    said = "If churn in the test half is more than two points worse, we pull the tier."
    assert level(score(said, "validate", case), "validate.guardrails_and_rollback") == 3
    for not_back in ("We will not pull the tier.", "Pull the logs and the change history."):
        assert level(score(not_back, "validate", case), "validate.guardrails_and_rollback") == 1


def test_pulling_the_costs_by_contract_type_is_a_named_measurement() -> None:
    """Trial 9: "pull cost per million tokens by contract type for the last two quarters" got
    Visibility and measurement 1/4, 'Nothing in the answer addressed this'."""
    case = get_case("gpu-price-shift")
    said = ("I'd check the first one first: pull cost per million tokens by contract type for "
            "the last two quarters.")
    assert level(score(said, "diagnose", case), "diagnose.observability_gaps") == 3
    assert level(score("Pull the lever on pricing.", "diagnose", case),
                 "diagnose.observability_gaps") == 1


def test_headed_trade_offs_and_a_this_month_heading_are_read() -> None:
    """Trial 9: "What I give up: ..." and "The risk I don't love: ..." earned nothing for
    Trade-offs said out loud, and "This month: ... Next quarter: ... In a year: ..." read two
    horizons, not three. Asking what we give up is no trade-off voiced."""
    from agent.scorers import OfflineScorer

    case = get_case("gpu-price-shift")
    out_loud = "cross_cutting.tradeoffs_out_loud"
    for said in ("What I give up: a faster margin recovery on the reserved fleet.",
                 "The risk I don't love: the batch tier eats on-demand revenue, so we'd cap it."):
        result = OfflineScorer().score_step(case, "cross_cutting", [("candidate", said)])
        assert level(result, out_loud) == 2, said
    asked = OfflineScorer().score_step(case, "cross_cutting", [("candidate",
                                                                "What would we give up here?")])
    assert level(asked, out_loud) == 1
    plan = ("This month: a finance dashboard and a batch tier at half price. Next quarter: order "
            "new-generation GPUs. In a year: shorter terms and several suppliers.")
    horizons = next(c for c in score(plan, "solutions", case).criteria
                    if c.id == "solutions.time_horizons")
    assert "This month" in horizons.rationale, horizons.rationale


def test_trial_11_word_senses_a_keyword_does_not_carry() -> None:
    """Trial 11 (an ML researcher on train-deploy-one-stack): "Conversion success rate above
    99%" (converting checkpoints) earned Strategic and business metrics and Customer outcome
    metrics 3/4, and "I'd leave that to sales" earned Existing stack and where it hurts through
    'leave'. Conversion of users, and customers leaving, still count."""
    case = get_case("train-deploy-one-stack")
    checkpoints = score("Conversion success rate above 99% for the supported architectures. "
                        "We need to convert the checkpoints in minutes, not days.", "goals", case)
    for cid in ("goals.business_metrics", "goals.customer_outcomes"):
        assert level(checkpoints, cid) == 1, cid
    users = score("Trial users convert to paid at a higher rate, and checkout conversion stops "
                  "dropping at peak.", "goals", case)
    assert (level(users, "goals.business_metrics") or 0) >= 2
    assert (level(users, "goals.customer_outcomes") or 0) >= 2
    deferred = score("Who uses the base models? I guess various teams, and the business value "
                     "is probably significant, but I'd leave that to sales.", "clarify", case)
    leaving = score("Who uses the base models? Are customers leaving for a competitor because "
                    "the handoff takes two days?", "clarify", case)
    assert (level(leaving, "clarify.existing_stack_and_pain") or 0) > \
        (level(deferred, "clarify.existing_stack_and_pain") or 0)


def test_a_transition_opens_its_sentence() -> None:
    """Stop 34's trial: "What is on the roadmap right now that we would have to push back?" was
    credited as a transition ("now that"); a transition opens what it moves on to."""
    from agent.scorers import OfflineScorer

    def said(text: str) -> str:
        score = OfflineScorer().score_step(LLAMA, "cross_cutting", [("candidate", text)])
        return next(c.rationale for c in score.criteria
                    if c.id == "cross_cutting.structure_and_clarity")

    assert "now that" not in said("What is on the roadmap right now that we would have to "
                                  "push back?")
    assert "Now that" in said("Now that we know the cause, I'd set the goals.")
    assert "So, with that" in said("So, with that, let me set the goals.")


def test_a_clause_that_names_one_thing_is_not_also_another_by_meaning() -> None:
    """Stop 38 (a new user's trial): "keep the customer happy" names satisfaction, and is 0.64
    close to an exemplar of SLA adherence ("keep our promise to the customer") by the words they
    share: one vague phrase covered two things and made level 3 of the criterion whose level 2
    reads "mentions customer satisfaction ... in passing, without a measurable form"."""
    def outcomes(text: str) -> tuple[int | None, str]:
        c = next(c for c in score(text, "goals").criteria if c.id == "goals.customer_outcomes")
        return c.level, c.rationale

    assert outcomes("Keep the customer happy.")[0] == 2
    # a clause of its own that says the other thing in plain words still counts by meaning
    both = outcomes("We report how often we keep the promise, and fewer complaints from "
                    "their team.")
    assert both[0] == 3 and "close in meaning" in both[1]


def test_a_links_words_say_nothing() -> None:
    """Stop 38 (a new user's trial pasted a config link; "v2" in it counted for phasing): a link
    full of the rubric's words scored validate 2.2 where the sentence without it scores 1.0."""
    link = "https://wiki.example.com/canary-rollback-guardrails-p99-ab-test-holdout-kill-switch"
    assert score(f"Details are at {link}", "validate").score == \
        score("Details are in the wiki.", "validate").score == 1.0
    assert score(f"Details at HTTPS://WIKI.EXAMPLE.COM/{link[27:].upper()}", "validate").score \
        == 1.0
    # what the sentence says besides its link still counts
    plan = "Canary on 5% of traffic with a rollback if p99 breaches 500 ms"
    assert score(f"{plan}; details at {link}.", "validate").score == \
        score(f"{plan}; details in the wiki.", "validate").score > 1.0
