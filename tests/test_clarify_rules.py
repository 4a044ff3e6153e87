"""Issue 10, round 8: general rules of the offline clarify match (agent/clarify/select.py), each
tested against the matcher without it, so each test can fail."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from agent.cases import get_case, load_cases
from agent.clarify.select import PARAMS, Params, select
from agent.offline import question_parts
from tests.helpers import refused_prompt_file

#: Questions whose every word is a plain one: they name no subject, so meaning alone has nothing
#: to match, however loosely similar the embedding finds them to some fact.
NAMES_NOTHING = ["Where was it, where is it now?", "What is it, and how is it?", "Which is it?",
                 "And where is it now?"]


def blend_only(why: str) -> None:
    """Skip unless the blend is the encoder in use: ``why`` names the blend's own value."""
    from agent.clarify.select import ENCODER
    if ENCODER != "blend":
        pytest.skip(why)


def told(case_id: str, question: str, params: Params = PARAMS) -> set[str]:
    return {f.id for f in select(get_case(case_id), question_parts(question), params)}


@pytest.mark.parametrize("case_id", sorted(load_cases()))
def test_a_question_that_names_nothing_is_told_nothing(case_id: str) -> None:
    for q in NAMES_NOTHING:
        assert told(case_id, q) == set(), q


def test_the_content_word_minimum_is_what_keeps_a_vague_question_from_a_fact(
        wordllama_clarify: Params) -> None:
    # Without the rule, the small embedding model finds "where is it now" close to the fact
    # about where it hurts, and tells it (on WordLlama alone, as without `interviewer setup`;
    # the blend with MiniLM puts neither question close to any fact).
    without = dataclasses.replace(wordllama_clarify, min_content=0)
    assert told("gpu-price-shift", "Where was it, where is it now?", without) == {"pain_point"}
    assert told("gpu-price-shift", "Where was it, where is it now?", wordllama_clarify) == set()
    assert told("batch-inference-cost", "Which is it?", without) == {"models"}
    assert told("batch-inference-cost", "Which is it?", wordllama_clarify) == set()
    assert "margin" in told("gpu-price-shift", "How has our gross margin moved lately?",
                            wordllama_clarify)


def test_a_named_subject_gets_its_fact_where_the_vague_question_gets_nothing() -> None:
    assert told("gpu-price-shift", "Where was it, where is it now?") == set()
    # A named subject still gets its fact, by keywords and by meaning alone.
    assert told("gpu-price-shift", "Margin. Where was it, where is it now?") == {"margin"}
    assert "margin" in told("gpu-price-shift", "How has our gross margin moved lately?")


def test_a_clue_told_by_meaning_alone_must_stand_clear_of_the_next_fact(
        wordllama_clarify: Params) -> None:
    # Close to the clue that workloads cannot move across GPU types (0.66 by WordLlama), but
    # barely ahead of the next fact: a question about how busy the fleet is, which must not
    # give it away (the clue rules read WordLlama's cosine with either encoder).
    q = "How busy is our fleet on average, what share of the GPUs are doing work?"
    without = dataclasses.replace(wordllama_clarify, clue_margin=0.0)
    assert "portability" in told("gpu-price-shift", q, without)
    assert told("gpu-price-shift", q, wordllama_clarify) == {"utilization"}


def test_a_question_about_how_busy_the_fleet_is_gets_that_and_not_the_clue() -> None:
    q = "How busy is our fleet on average, what share of the GPUs are doing work?"
    assert told("gpu-price-shift", q) == {"utilization"}
    # A question that asks for a clue directly, answered by meaning alone, still gets it.
    assert told("finetune-cold-starts",
                "The adapters, from where they are loaded when one request come?") == {
                    "adapter_storage"}


# -- clarify3: questions a new user's trial found refused or half-answered ----------------------

JSON_CASE = "compound-ai-json-reliability"


def test_a_keyword_phrase_naming_its_subject_holds_against_a_closer_fact_that_lacks_it() -> None:
    # "how many steps" is the workload fact's keyword; the volume fact's "How many agent tasks a
    # day?" is closer by sentence mean, but none of its words is "steps".
    q = "How many steps does a typical agent task have?"
    assert told(JSON_CASE, q) == {"workload"}
    # Without the rule it is refused (on the sheet without clarify6's authored question "How
    # many model calls does one agent task make?", which brings the workload fact closest).
    case = get_case(JSON_CASE)
    added = "How many model calls does one agent task make?"
    assert added in case.fact("workload").asks
    bare = case.model_copy(update={"facts": [
        f.model_copy(update={"asks": [a for a in f.asks if a != added]}) for f in case.facts]})
    assert {f.id for f in select(bare, question_parts(q))} == {"workload"}


def test_without_the_phrase_rule_the_workload_phrase_is_refused_on_wordllama(
        wordllama_clarify: Params) -> None:
    # The counterfactual of the test above on WordLlama alone (as without `interviewer
    # setup`); the blend with MiniLM puts the workload fact closest without the rule.
    q = "How many steps does a typical agent task have?"
    case = get_case(JSON_CASE)
    added = "How many model calls does one agent task make?"
    bare = case.model_copy(update={"facts": [
        f.model_copy(update={"asks": [a for a in f.asks if a != added]}) for f in case.facts]})
    assert {f.id for f in select(bare, question_parts(q),
                                 dataclasses.replace(wordllama_clarify, phrase_behind=0.0))
            } == set()
    assert {f.id for f in select(bare, question_parts(q), wordllama_clarify)} == {"workload"}


def test_a_keyword_phrase_sets_a_fact_apart_only_by_words_the_closer_fact_lacks() -> None:
    from agent.clarify.select import fact_index, sets_apart

    fi = fact_index(get_case(JSON_CASE))
    ids = [f.id for f in fi.facts]
    apart = sets_apart(fi, ids.index("workload"), "How many steps")
    assert apart[ids.index("scale")] and not apart[ids.index("workload")]
    # One word is no phrase; a word the closer fact also has sets nothing apart.
    assert not sets_apart(fi, ids.index("workload"), "chain").any()
    assert not sets_apart(fi, ids.index("workload"), "calls per task")[ids.index("scale")]
    # Through the matcher: "busy time" hits the traffic-pattern fact, but "busy" is a word of
    # the volume fact too, so the volume fact's closeness still refuses it.
    case = "llama70b-2x-latency"
    q = "How many request come in one second, normal time and busy time?"
    loose = dataclasses.replace(PARAMS, phrase_behind=1.0)
    assert "traffic_pattern" not in told(case, q, loose)


def test_keywords_are_also_matched_without_articles_and_kind_modifiers() -> None:
    assert told("finetune-cold-starts", "how many different adapters do we host?") == {"scale"}
    assert told("gpu-price-shift", "what is the price of the GPU now?") == {"h100_prices"}
    assert told("gpu-price-shift",
                "hello, please what is the price of the GPU now, it go up or go down?") == {
                    "h100_prices"}


def test_without_dropping_articles_and_modifiers_the_facts_are_missed_on_wordllama(
        monkeypatch: pytest.MonkeyPatch, wordllama_clarify: Params) -> None:
    # On WordLlama alone (as without `interviewer setup`; the blend with MiniLM finds both
    # without the rule) the volume fact is missed without it (round 9: the wrong fact it used to
    # get, the serving setup, gives no count, so the typed signal now keeps it out as well;
    # since clarify6's authored questions, the active-adapters fact, also a count, is told
    # instead).
    import agent.clarify.select as sel

    p = wordllama_clarify
    assert told("gpu-price-shift", "what is the price of the GPU now?", p) == {"h100_prices"}
    monkeypatch.setattr(sel, "without_fillers", lambda text: text)
    assert "scale" not in told("finetune-cold-starts", "how many different adapters do we host?",
                               p)
    assert told("gpu-price-shift", "what is the price of the GPU now?", p) == {"market_change"}


def test_how_many_calls_per_task_is_a_ratio_not_volume() -> None:
    from agent.clarify.select import gloss

    assert "volume" in gloss("How many calls do we serve?")
    assert gloss("How many calls per task?") == "How many calls per task?"
    assert told(JSON_CASE, "How many calls per task?") == {"workload"}


def test_asking_whether_the_format_is_forced_asks_for_the_setup_clue() -> None:
    assert told(JSON_CASE, "Is the format forced at decode time or just asked for in the "
                           "prompt?") == {"current_setup"}
    assert told(JSON_CASE, "Do we actually constrain the tokens to the schema while generating, "
                           "or do we just tell the model in the prompt to output JSON?") == {
                               "current_setup"}
    # The cost of forcing the format is the overhead fact's, and gives the setup clue away no
    # more than before.
    for q in ["How much slower is a call when we constrain the output to the schema?",
              "What does forcing the format cost in latency?"]:
        assert "current_setup" not in told(JSON_CASE, q), q


@pytest.mark.parametrize(("question", "want"), [
    ("Which models. And is the format forced at decode time or just asked for in the prompt?",
     {"models", "current_setup"}),
    ("How many steps does a typical agent task have, and how often does a whole task fail?",
     {"workload", "task_failures"}),
])
def test_both_halves_of_a_two_part_question_are_answered(question: str, want: set[str]) -> None:
    from agent.offline import matching_facts

    assert {f.id for f in matching_facts(get_case(JSON_CASE), question)} == want


def test_the_longest_matched_phrase_is_the_one_of_most_words() -> None:
    # Round 9: "throughput" has more letters than "per GPU", but "per GPU" is the phrase.
    from agent.clarify.select import evidence_words, longest
    assert longest(["throughput", "per GPU"]) == "per GPU"
    assert longest([]) == ""
    assert evidence_words(["throughput", "per GPU"]) == 2
    # Two separate keywords of one fact count as much as a phrase of two words; a keyword
    # matched inside another's phrase does not count again.
    assert evidence_words(["dedicated", "shared"]) == 2
    assert evidence_words(["p99", "p99 today versus"]) == 3
    assert evidence_words(["security"]) == 1


def test_word_behind_holds_a_hit_on_one_word_only_when_switched_on() -> None:
    # Round 9, measured and not kept then: "security" is a keyword of both the
    # confidential-weights fact and the security fact, and "shared" of the current setup.
    q = "Does their security group insist on a private box of their own, nothing shared?"
    # (a second hit of a question that joins nothing may trail as before stop 36)
    off = told("strategic-custom-ask", q, dataclasses.replace(
        PARAMS, word_behind=1.0, keyword_slack_one=PARAMS.keyword_slack))
    strict = told("strategic-custom-ask", q, dataclasses.replace(PARAMS, word_behind=0.0))
    assert {"security", "weights_confidential", "current_setup"} <= off
    assert strict < off


@pytest.mark.parametrize(("case_id", "question", "far_hit"), [
    # a keyword of where it hurts, on a question about how much worse answers may get
    ("llama70b-2x-latency", "How much worse could answers get before they're unhappy?",
     "pain_point"),
])
def test_a_keyword_hit_on_one_word_far_behind_the_closest_fact_is_refused(
        case_id: str, question: str, far_hit: str) -> None:
    # Probe clarify17: the blend holds a hit resting on one word to ``word_behind`` 0.2.
    blend_only("word_behind 0.2 is the blend's")
    assert PARAMS.word_behind == 0.2
    assert far_hit not in told(case_id, question)
    # (and with any hit held to 0.3, as before stop 36's ``keyword_behind`` 0.15)
    assert far_hit in told(case_id, question,
                           dataclasses.replace(PARAMS, word_behind=1.0, keyword_behind=0.3))


def test_a_keyword_hit_far_behind_the_closest_fact_is_refused() -> None:
    # Probe clarify17: the blend holds any keyword hit to ``keyword_behind`` (0.3, then 0.25,
    # 0.15 since stop 36): "prospects" is a keyword of who files the tickets, far behind the
    # competition fact.
    blend_only("keyword_behind 0.15 is the blend's")
    q = ("Sales calls every week, prospects hold us up against someone. "
         "Who are they comparing us with?")
    assert PARAMS.keyword_behind == 0.15
    assert told("devx-observability-gap", q) == {"competition"}
    assert "user" in told("devx-observability-gap", q,
                          dataclasses.replace(PARAMS, keyword_behind=0.3))


def test_a_clause_opening_with_when_asks_for_no_date() -> None:
    # Round 9 (prompts/clarify_intents.yaml): "when" asks for a date only as a question word.
    from agent.clarify.select import intents
    assert "date" in intents("When does their contract renew?")
    assert "date" in intents("Renewal is when?")
    assert "date" not in intents("When a developer's call misbehaves, what do they get back?")
    assert "date" not in intents("When traffic jumps, how many minutes until a replica is up?")


def test_months_are_a_duration_and_a_number_of_things_a_count() -> None:
    from agent.clarify.select import gives
    gpu = get_case("gpu-price-shift")
    assert "duration" in gives(next(f for f in gpu.facts if f.id == "lead_times"))
    moe = get_case("moe-long-context-onboarding")
    assert "count" in gives(next(f for f in moe.facts if f.id == "models"))  # 128 experts


def test_the_kind_of_answer_asked_for_chooses_among_close_facts() -> None:
    # Round 9: "how long" wants a duration; the stage fact ("Production, for about a year"...
    # in this case: "the link ... is basically a prototype") gives none, the time-to-deploy fact
    # does ("about two days").
    q = "Once a run finishes, how long before it's answering real traffic?"
    assert told("train-deploy-one-stack", q) == {"time_to_deploy"}
    # Without it the stage fact is as close (it was told instead before clarify6's authored
    # questions; now neither leads clearly), and the time-to-deploy fact is missed.



def test_without_the_kind_of_answer_the_time_to_deploy_is_missed_on_wordllama(
        wordllama_clarify: Params) -> None:
    # The counterfactual of the test above on WordLlama alone (as without `interviewer
    # setup`): the blend with MiniLM ranks the time-to-deploy fact first without it.
    q = "Once a run finishes, how long before it's answering real traffic?"
    assert told("train-deploy-one-stack", q, wordllama_clarify) == {"time_to_deploy"}
    assert "time_to_deploy" not in told("train-deploy-one-stack", q,
                                        dataclasses.replace(wordllama_clarify, intent_weight=0.0))


def test_the_kind_of_answer_never_makes_a_far_fact_close() -> None:
    # "How many ..." wants a count, which the volume fact gives; the question is about neither
    # it nor anything else on the sheet. The typed signal may choose among close facts but a
    # fact must be close without it.
    q = "How many engineers do they have on the data team?"
    assert told("batch-inference-cost", q) == set()
    assert told("batch-inference-cost", q, dataclasses.replace(PARAMS, intent_weight=0.3)) == set()


# -- clarify6: keywords that named another fact's subject ----------------------------------------


@pytest.mark.parametrize(("case_id", "question", "expected"), [
    # "log in" is how a developer reaches the dashboard, not our internal logs.
    ("devx-observability-gap", "Can developers log in to see their usage?", {"current_tools"}),
    ("devx-observability-gap", "Is there a log of each request we can look at?",
     {"internal_tracing"}),
    # "the smaller accounts" are customers, not a smaller model.
    ("batch-inference-cost", "Is this one of the smaller accounts?", {"customer_type"}),
    ("batch-inference-cost", "Could they go with something smaller?", {"smaller_model"}),
    # A rules engine is a fallback of theirs, not the rules they must follow.
    ("fintech-p99-spikes", "Is there a rules engine behind the score?", set()),
    ("fintech-p99-spikes", "What rules do they have to follow?", {"regulation"}),
    # How the self-serve segment grows and what it begs for are facts of their own.
    ("strategic-custom-ask", "Are self-serve customers still growing?", {"self_serve_growth"}),
    ("strategic-custom-ask", "What are the rest of our customers begging for?",
     {"long_tail_asks"}),
    ("strategic-custom-ask", "How much revenue comes from self-serve?", {"long_tail"}),
    # How long we have to answer an offer is the offer's deadline, not finance's.
    ("gpu-price-shift", "How long do we have to answer the vendor's offer?", {"allocation_offer"}),
    ("gpu-price-shift", "How long do we have to come back with a plan?", {"timeline"}),
    # Their legal team is no subject of the isolation their security team wants.
    ("strategic-custom-ask", "Does their legal team need anything from us?", set()),
    # Stop 33 (off_keyword_margin 0.1 -> 0.0, for near misses): the subject no sheet answers,
    # a contract's legal fine print, is now as close as the security fact its "compliance"
    # keyword hits (0.42 against 0.33), so the candidate is asked to assume. A loss here, taken
    # for the near misses the change refuses on the probes (evals/README.md, "Stop 33").
    ("strategic-custom-ask", "Any legal or compliance requirements?", set()),
    # "Overnight" is when the batch job runs or must be done, not any question about the night.
    ("batch-inference-cost", "Does it have to be done overnight?", {"latency"}),
    ("batch-inference-cost", "Does it run overnight?", {"workload"}),
    ("batch-inference-cost", "How much do they push through overnight?", {"scale"}),
    # The hardware to serve "that volume" is the GPU estimate, not the volume again.
    ("moe-long-context-onboarding", "How many GPUs would it take to serve that volume?",
     {"gpu_estimate"}),
    ("moe-long-context-onboarding", "What volume do they expect?", {"scale"}),
    # "Our deals" are the capacity contracts we hold, not the pending offer of new chips.
    ("gpu-price-shift", "Which of our deals could we get out of?", {"contracts"}),
    ("gpu-price-shift", "Is there a deal on the new chips we must answer?", {"allocation_offer"}),
    # "How common" is a frequency, no subject: here it asks how often calls fail.
    (JSON_CASE, "How common is a broken response?", {"failure_rates"}),
])
def test_a_keyword_does_not_answer_for_a_subject_another_fact_names(
        case_id: str, question: str, expected: set[str]) -> None:
    assert told(case_id, question) == expected


@pytest.mark.parametrize("question", [
    "Adapters versus full retrains, what's the split?",
    "How many LoRAs compared with full fine-tunes?",
])
def test_lora_set_against_full_fine_tunes_asks_for_the_share_of_full_fine_tunes(
        question: str) -> None:
    # clarify6: the comparison was the model fact's keyword alone; the share of full
    # fine-tunes is what it asks for.
    assert "full_finetunes" in told("finetune-cold-starts", question)
    assert told("finetune-cold-starts", "Which base models do the adapters sit on?") == {"models"}


@pytest.mark.parametrize("question", ["Who from their side started this conversation?",
                                      "Who on their side is pushing for the cut?"])
def test_a_refused_clue_keyword_does_not_silence_meaning(question: str) -> None:
    # clarify6: "their side" is a keyword of the clue about how the batch job is driven; the
    # question does not ask for it (the hit is refused), and meaning tells who raised it.
    # (Stop 33's meaning_past_refused would let it through as well: both are off here.)
    off = dataclasses.replace(PARAMS, meaning_past_clue_hits=False, meaning_past_refused=1.0)
    assert told("batch-inference-cost", question) == {"escalation"}
    assert told("batch-inference-cost", question, off) == set()
    # A question that does ask for the clue by its words still gets it.
    assert told("batch-inference-cost", "How does their script send the documents to us?") == {
        "client"}


# Clarify7: subjects no fact sheet answers (prompts/clarify_offsheet.yaml) as negative references.
@pytest.mark.parametrize(("case_id", "question", "expected"), [
    # Headcount, asked with the words of the fact about who complains loudest.
    (JSON_CASE, "How many engineers does the loudest customer have working on their agents?",
     set()),
    # A budget for building something, not what the customer spends with us.
    ("gpu-price-shift", "What's our total hardware budget for next year?", set()),
    # A sheet that answers a subject of the list keeps it: fintech's region fact.
    ("fintech-p99-spikes", "Which region are they served from?", {"region"}),
    ("fintech-p99-spikes", "Where in the world are the machines that serve them?", {"region"}),
    # And a subject the list leaves alone still gets its fact.
    (JSON_CASE, "Who is complaining the loudest?", {"loudest"}),
    # Stop 37: how good the customer's own model is, not which models we serve them.
    ("fintech-p99-spikes", "What's their fraud model's false-positive rate right now?", set()),
    ("fintech-p99-spikes", "Which models do they run with us?", {"models"}),
])
def test_an_off_sheet_subject_gets_no_fact(case_id: str, question: str,
                                           expected: set[str]) -> None:
    assert told(case_id, question) == expected


def test_off_sheet_subjects_a_sheet_answers_are_left_out_for_that_case() -> None:
    from agent.clarify.select import fact_index, off_sheet_mask
    from agent.prompts import clarify_offsheet
    texts = clarify_offsheet()
    fintech = off_sheet_mask(fact_index(get_case("fintech-p99-spikes")))
    json_case = off_sheet_mask(fact_index(get_case(JSON_CASE)))
    region = texts.index("Which cloud region or data center does it run in?")
    assert not fintech[region] and json_case[region]


def test_without_the_off_sheet_rules_the_loudest_fact_leaks() -> None:
    # (and without the headcount it asks, which the loudest-customer fact does not give)
    off = dataclasses.replace(PARAMS, off_margin=-1.0, off_keyword_margin=1.0,
                              off_typed_margin=1.0, needs_kinds=("future",))
    q = "How many engineers does the loudest customer have working on their agents?"
    assert told(JSON_CASE, q, off) == {"loudest"}



def test_a_price_asked_of_a_fact_that_states_none_gets_nothing() -> None:
    q = "What do competitors charge for their one-click deploy?"
    assert told("train-deploy-one-stack", q) == set()
    assert told("train-deploy-one-stack", q, dataclasses.replace(PARAMS, typed_refuse=())) == {
        "competition"}
    # A fact that does state money keeps its keyword hit.
    assert told("batch-inference-cost", "What price were they quoted elsewhere?") == {
        "competition"}


def test_a_price_asked_of_a_fact_close_in_meaning_that_states_none_gets_nothing() -> None:
    # No keyword hit here: meaning alone chose the fact describing the jobs, which names no price.
    q = "What's the hourly price we charge for a fine-tuning job?"
    assert told("train-deploy-one-stack", q) == set()
    # Without the rule, the fact describing the jobs is told (at the margin fitted before stop
    # 33's 0.06, under which it is also too close to the next fact to be told).
    without = dataclasses.replace(PARAMS, typed_refuse=(), meaning_margin=0.04)
    assert told("train-deploy-one-stack", q, without) == {"workload"}


@pytest.mark.parametrize(("case", "forecast", "today", "fact"), [
    ("train-deploy-one-stack",
     "How many fine-tuning jobs a month will we need to handle next year?",
     "How many fine-tuning jobs run a month?", "scale"),
    ("finetune-cold-starts", "How many adapters are we expecting to host a year from now?",
     "How many adapters do we host?", "scale"),
])
def test_a_forecast_is_not_answered_by_a_fact_about_today(
        case: str, forecast: str, today: str, fact: str) -> None:
    assert told(case, forecast) == set()
    assert told(case, forecast, dataclasses.replace(PARAMS, needs_kinds=())) == {fact}
    assert told(case, today) == {fact}


def test_a_fact_that_states_a_trend_still_answers_a_question_about_growth() -> None:
    assert told("strategic-custom-ask", "How fast are the small self-serve customers growing?") == {
        "self_serve_growth"}


@pytest.mark.parametrize(("text", "problem"), [
    ("- How many engineers?\n", "expected a mapping"),
    ("headcount: How many engineers?\n", "subject 'headcount'"),
    ("headcount: []\n", "subject 'headcount'"),
])
def test_a_bad_offsheet_file_is_refused_naming_the_subject(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, problem: str) -> None:
    from agent.prompts import clarify_offsheet

    message = refused_prompt_file(tmp_path, monkeypatch, "clarify_offsheet", text,
                                  clarify_offsheet, clarify_offsheet)
    assert problem in message, message


def test_how_long_a_document_is_asks_for_a_length_not_a_duration() -> None:
    """Trial 12: "How long is a typical document they send?" got the latency fact (a duration)."""
    from agent.clarify.select import intents

    assert "duration" not in intents("How long is a typical document they send?")
    assert "duration" not in intents("How long are their prompts?")
    assert "duration" in intents("How long does a typical request take?")
    assert "duration" in intents("How long is the wait for the first token?")
    assert "latency" not in told("moe-long-context-onboarding",
                                 "How long is a typical document they send?")


def test_a_clue_told_by_meaning_must_stand_out_in_the_blend_too() -> None:
    # clarify13 (stop 33): WordLlama alone put the clue of what the failures are 0.1 ahead of
    # the share of tickets about slow or failed requests; the blend only 0.09 ahead.
    q = "And what portion of them concern slow or failed requests?"
    assert "failure_breakdown" not in told("devx-observability-gap", q)


#: Probe clarify17: a clause that sets a subject aside or says it is known ("Not X — ...",
#: "Setting X aside — ...", "I know X, so ...") names a subject the question is not about.
SET_ASIDE = [
    ("fintech-p99-spikes", "Not the latency target in the contract — which region do they run in?",
     {"region"}, {"latency"}),
    ("llama70b-2x-latency", "I know what they pay us, so how many people use their app every week?",
     {"user_count"}, {"revenue"}),
    ("batch-inference-cost", "Setting the deadline aside — which model do they run?",
     {"models"}, {"latency"}),
]


@pytest.mark.parametrize(("case_id", "question", "want", "set_aside"), SET_ASIDE)
def test_a_subject_set_aside_is_not_told(case_id: str, question: str, want: set[str],
                                         set_aside: set[str]) -> None:
    assert told(case_id, question) == want


@pytest.mark.parametrize(("case_id", "question", "want", "set_aside"), SET_ASIDE)
def test_without_cutting_the_set_aside_clause_its_subject_is_told(
        monkeypatch: pytest.MonkeyPatch, case_id: str, question: str, want: set[str],
        set_aside: set[str]) -> None:
    import agent.offline

    monkeypatch.setattr(agent.offline, "without_set_aside", lambda s: s)
    # (the attribute a question asks for, stop 36, would refuse some on its own: "which
    # region" asks a place, which the latency target does not give; and a second keyword hit
    # of a question that joins nothing may not trail the first)
    assert set_aside <= told(case_id, question, dataclasses.replace(
        PARAMS, needs_kinds=(), keyword_slack_one=PARAMS.keyword_slack))


def test_a_set_aside_clause_is_cut_only_when_a_question_is_left() -> None:
    from agent.offline import without_set_aside

    assert without_set_aside("Not the revenue — how many engineers?") == "how many engineers?"
    assert without_set_aside("Leaving cost aside, I know what they pay — who complained?") \
        == "who complained?"
    assert without_set_aside("Cost aside, what model do they run?") == "what model do they run?"
    assert without_set_aside("Never mind the revenue — when do they renew?") \
        == "when do they renew?"
    assert without_set_aside("Apart from the bill, what else bothers them?") \
        == "what else bothers them?"
    # nothing left that asks, or no clause set aside: the sentence is kept whole
    assert without_set_aside("What do they run besides chat?") == "What do they run besides chat?"
    assert without_set_aside("Not the revenue.") == "Not the revenue."
    assert without_set_aside("Is it not the revenue that matters?") \
        == "Is it not the revenue that matters?"
    assert without_set_aside("Not sure whether they retrain — do they?") \
        == "Not sure whether they retrain — do they?"


#: Probe 18: questions whose keywords hit two facts with exactly the same words of the question
#: (real candidates' turns, evals/probes/clarify-recorded.jsonl): the words cannot tell the
#: facts apart, so the question asks both.
SAME_WORDS = [
    ("moe-long-context-onboarding",
     "What did our first internal attempts actually show, in numbers?",
     {"internal_results", "internal_ttft"}),
    ("gpu-price-shift", "Last one: when does finance need this, and is anything forcing a "
     "decision sooner?", {"timeline", "allocation_offer"}),
]


@pytest.mark.parametrize(("case_id", "question", "want"), SAME_WORDS)
def test_two_facts_hit_by_the_same_words_are_both_told(case_id: str, question: str,
                                                       want: set[str]) -> None:
    assert told(case_id, question) == want


@pytest.mark.parametrize(("case_id", "question", "want"), SAME_WORDS)
def test_without_the_same_words_slack_the_farther_fact_is_missed(case_id: str, question: str,
                                                                 want: set[str]) -> None:
    without = dataclasses.replace(PARAMS, keyword_same_slack=PARAMS.keyword_slack)
    assert told(case_id, question, without) < want


def test_a_clue_hit_by_the_same_words_as_a_fact_still_has_to_lead() -> None:
    # the share of calls that fail and the clue of the tasks that fail share "how often"
    assert told("compound-ai-json-reliability", "How often does it go wrong?") \
        == {"failure_rates"}


def test_a_broad_question_two_facts_are_both_close_to_gets_both() -> None:
    # Probe 18, a new user's trial: refused, for want of a lead between the two.
    assert told("fintech-p99-spikes", "What's the traffic like?") == {"scale", "traffic_pattern"}
    without = dataclasses.replace(PARAMS, pair_min=1.0)
    assert told("fintech-p99-spikes", "What's the traffic like?", without) == set()


#: Probe 18: either-or questions of real candidates (evals/probes/clarify-recorded.jsonl) whose
#: second side names a fact of its own by its keywords.
EITHER_OR = [
    ("devx-observability-gap", "Has latency actually regressed, or is this a visibility problem?",
     {"latency", "pain_point"}, "pain_point"),
    ("train-deploy-one-stack", "Do customers actually care, or is this a leadership thing?",
     {"strategic_asks"}, "strategic_asks"),
]


@pytest.mark.parametrize(("case_id", "question", "want", "side"), EITHER_OR)
def test_each_side_of_an_either_or_question_is_read_for_its_keywords(
        case_id: str, question: str, want: set[str], side: str) -> None:
    assert want <= told(case_id, question)
    without = dataclasses.replace(PARAMS, either_or_behind=1.0)
    assert side not in told(case_id, question, without)


def test_a_question_after_a_heading_is_asked_without_the_heading() -> None:
    # Probe 18, a real candidate's turn: the heading made the first question read as a statement.
    q = ("Thanks. A few things before I go anywhere. First, to pin down the lifecycle stage and "
         "the traffic mode: is this pure serving, and is every request synchronous with someone "
         "waiting on it, or is there some batch scoring mixed in that we could push off-peak?")
    assert told("fintech-p99-spikes", q) == {"product_area", "workload"}
    # the heading names a subject the question does not ask about (clarify14, off sheet)
    q = ("The customer who shipped the bad fine-tune last month: did they open a ticket with us, "
         "and how fast did support respond?")
    assert "incident" not in told("train-deploy-one-stack", q)


def test_two_clues_hit_by_the_same_words_are_both_told() -> None:
    # Probe 18, a real candidate's turn: asked where the cold time goes, told the full
    # fine-tunes' share and not the LoRAs' (a clue had to lead its hits).
    q = "Do we know where the cold time actually goes?"
    both = {"cold_start_breakdown", "full_ft_cold_start"}
    assert told("finetune-cold-starts", q) == both
    without = dataclasses.replace(PARAMS, clue_same_slack=0.0)
    assert told("finetune-cold-starts", q, without) == {"full_ft_cold_start"}
    # a question naming one of them gets that one
    assert told("finetune-cold-starts", "Why are cold starts slow for full fine-tunes?") \
        == {"full_ft_cold_start"}


#: Stop 36: the attribute a question asks for (prompts/clarify_intents.yaml): a fact about the
#: same subject that holds no value of it does not answer it (studied probes and clarify19).
ATTRIBUTE_NOT_GIVEN = [
    ("devx-observability-gap", "How many people staff the support desk that answers these "
     "tickets?", "tickets"),
    ("strategic-custom-ask", "What's the hyperscaler's discount in percent?", "competition"),
    ("batch-inference-cost", "Vendor name for the half-price batch quote? Need it for the "
     "comparison sheet.", "competition"),
    ("strategic-custom-ask", "Which region exactly do they want the single-tenant deployment "
     "in?", "security"),
    ("finetune-cold-starts", "Dollar figure for the segment, annual?", "revenue"),
    ("train-deploy-one-stack", "What day of the week do the weekly retrains usually kick off?",
     "retraining"),
    # this stop: how it changed over time, and the size of a discount
    ("finetune-cold-starts", "was cold start always this slow or did it get worse lately",
     "latency"),
    ("batch-inference-cost", "Has the monthly spend always sat at this level since they went "
     "live, or did it jump at some point?", "budget"),
    ("strategic-custom-ask", "What discount did we give them the last time they renewed?",
     "renewal"),
    # a clue too: its words, asking a headcount
    ("compound-ai-json-reliability", "how many engineers do we have working on the structured "
     "output stuff right now", "current_setup"),
]


@pytest.mark.parametrize(("case_id", "question", "fact"), ATTRIBUTE_NOT_GIVEN)
def test_an_attribute_the_fact_does_not_hold_gets_nothing(case_id: str, question: str,
                                                          fact: str) -> None:
    assert told(case_id, question) == set()
    assert told(case_id, question, dataclasses.replace(PARAMS, needs_kinds=("future",))) == {
        fact}


@pytest.mark.parametrize(("case_id", "question", "fact"), [
    ("fintech-p99-spikes", "Which region do they run in?", "region"),
    ("batch-inference-cost", "By what time in the morning do they need the results?",
     "latency"),
    ("strategic-custom-ask", "How many engineer-weeks would the draft-model support take?",
     "engineering_cost"),
    ("llama70b-2x-latency", "How big is the company, how many people work there?", "user"),
    ("fintech-p99-spikes", "What GPUs are their replicas on?", "hardware"),
    ("fintech-p99-spikes", "What time of day do they peak?", "traffic_pattern"),
    ("gpu-price-shift", "What percentage did H100 prices fall?", "h100_prices"),
    ("batch-inference-cost", "How many dollars a month do they spend with us?", "budget"),
    # options of a unit ask how we charge, not an amount (stop 37)
    ("gpu-price-shift", "What do we charge today, per token or per hour?", "pricing"),
])
def test_a_fact_holding_the_attribute_asked_is_told(case_id: str, question: str,
                                                    fact: str) -> None:
    assert told(case_id, question) == {fact}


def test_the_attribute_of_one_question_of_two_does_not_refuse_the_other() -> None:
    # "and also" starts a second question, and "Might I ask" opens one: the headcount is asked
    # of the team, not of the weights.
    q = ("Might I ask whether their model weights must be kept confidential, and also how many "
         "people sit on their inference platform team?")
    assert told("strategic-custom-ask", q) == {"weights_confidential"}


def test_a_fact_that_names_the_thing_counted_but_does_not_count_it_gets_nothing() -> None:
    from agent.clarify.select import counted_thing

    q = "How many H200s are in next month's allocation?"
    assert counted_thing(q) == "h200"
    assert told("moe-long-context-onboarding", q) == set()
    assert told("moe-long-context-onboarding", q,
                dataclasses.replace(PARAMS, uncounted=False)) == {"hardware"}
    # A fact that counts it keeps it; a question of two clauses counts for one only.
    assert told("gpu-price-shift", "How many H100s do we have?") == {"scale"}
    assert counted_thing("What GPUs are their replicas on, and how many replicas?") is None


def test_a_heading_asking_which_one_offers_answers_in_its_list() -> None:
    # clarify19: "What GPU are ... on: H100s, L40S, A10s?" asks which GPU (a name the cold-start
    # sheet does not give); read as three items, the question word was lost and the shared
    # replicas fact was told.
    q = "What GPU are the shared replica pools actually on: H100s, L40S, A10s?"
    assert question_parts(q) == [q]
    assert told("finetune-cold-starts", q) == set()


@pytest.mark.parametrize(("case_id", "question", "want"), [
    # the options after a question are its answers, not things asked (stop 36)
    ("devx-observability-gap", "What sorts of things are developers building on the API? Chat "
     "apps, agents, overnight jobs?", {"workload"}),
    ("devx-observability-gap", "what ticketing tool is the support queue in? zendesk, jira, "
     "something homegrown?", set()),
    ("finetune-cold-starts", "These little startups, where are they mostly? America, Europe, "
     "somewhere else?", set()),
])
def test_options_offered_after_a_question_are_read_with_it(case_id: str, question: str,
                                                           want: set[str]) -> None:
    assert len(question_parts(question)) == 1
    assert told(case_id, question) == want


def test_a_list_of_questions_is_still_asked_one_by_one() -> None:
    assert question_parts("What is the QPS? And the latency target?") == [
        "What is the QPS?", "And the latency target?"]
    assert question_parts("Revenue? Renewal date?") == ["Revenue?", "Renewal date?"]


def test_a_bare_name_question_says_what_the_one_before_wants() -> None:
    # clarify19: "Name?" alone asks nothing; with the sentence before it, it asks a name the
    # batch case's quote from elsewhere does not give.
    q = "Vendor that quoted them the half-price batch API. Name?"
    assert question_parts(q) == [q]
    assert told("batch-inference-cost", q) == set()
    assert question_parts("Who raised it? When?") == ["Who raised it?", "When?"]


@pytest.mark.parametrize(("case_id", "question", "fact"), [
    # a price per unit asked of a fact that names the unit but no amount (stop 36)
    ("moe-long-context-onboarding", "What is the vendor's own API charging per million tokens?",
     "price_pressure"),
    ("moe-long-context-onboarding", "What are the competing platforms charging per million "
     "tokens for it?", "price_pressure"),
])
def test_a_price_per_unit_needs_an_amount(case_id: str, question: str, fact: str) -> None:
    assert told(case_id, question) == set()
    assert fact in told(case_id, question, dataclasses.replace(PARAMS, needs_kinds=("future",)))


def test_a_second_keyword_hit_of_a_question_that_joins_nothing_must_not_trail() -> None:
    # Stop 36: "overnight" hits the batch workload, behind the deadline the question asks.
    blend_only("keyword_slack_one 0 is the blend's")
    q = "Since it all runs overnight, what time in the morning does it have to be done by?"
    assert told("batch-inference-cost", q) == {"latency"}
    assert told("batch-inference-cost", q,
                dataclasses.replace(PARAMS, keyword_slack_one=PARAMS.keyword_slack)) == {
        "latency", "workload"}
    # A question that joins two things may still ask both.
    assert told("finetune-cold-starts", "LoRA vs full fine-tune split, and base models?") == {
        "full_finetunes", "models"}


@pytest.mark.parametrize(("case_id", "question", "fact"), [
    # everyday words (prompts/clarify_words.yaml, stop 36)
    ("compound-ai-json-reliability", "What are people doing to get around it right now? "
     "Patching things up themselves, going somewhere else?", "workarounds"),
    ("llama70b-2x-latency", "What concrete numbers would they accept as having hit the goal? "
     "Is there a specific responsiveness bar they'd sign off on?", "latency_target"),
])
def test_everyday_words_for_a_workaround_and_an_acceptable_speed(case_id: str, question: str,
                                                                 fact: str) -> None:
    assert told(case_id, question) == {fact}


def test_a_later_question_pointing_back_gets_nothing_by_meaning_alone() -> None:
    # Stop 36 (clarify21): "how fast has it grown?" read alone is close to the latency fact.
    blend_only("back_max_content 2 is the blend's")
    q = "What's the monthly ticket volume, and how fast has it grown?"
    assert told("devx-observability-gap", q) == {"tickets"}
    assert told("devx-observability-gap", q,
                dataclasses.replace(PARAMS, back_max_content=-1)) == {"tickets", "latency"}


@pytest.mark.parametrize(("case_id", "question", "facts", "extra"), [
    ("batch-inference-cost", "What's their current monthly spend with us, and what number are "
     "they trying to get down to?", {"budget"}, "optimize_for"),
    ("llama70b-2x-latency", "what would make them say it's 2x faster, what numbers exactly?",
     {"latency_target"}, "scale"),
])
def test_a_later_question_needs_a_closer_match_to_be_told_by_meaning_alone(
        case_id: str, question: str, facts: set[str], extra: str) -> None:
    # Stop 37: the short later question's closest fact is often the first one's neighbour.
    blend_only("later_meaning_min 0.5 is the blend's")
    assert told(case_id, question) == facts
    assert told(case_id, question,
                dataclasses.replace(PARAMS, later_meaning_min=0.0)) == facts | {extra}


def test_a_one_word_hit_in_a_later_question_must_be_close_by_meaning() -> None:
    # Stop 37 (clarify21-d): "quality" hit what they optimise for, far from the question.
    blend_only("later_word_behind 0.05 is the blend's")
    q = ("Did they already try distilling down to something lighter, and how did quality hold "
         "up on the extraction?")
    assert told("batch-inference-cost", q) == {"smaller_model"}
    assert told("batch-inference-cost", q, dataclasses.replace(PARAMS, later_word_behind=1.0)) \
        == {"smaller_model", "optimize_for"}


def test_a_keyword_hit_on_a_side_of_an_either_or_question_needs_some_closeness() -> None:
    # Stop 37 (clarify22): "tradeoff" on the second side hit two facts 0.11 and 0.17 close.
    blend_only("either_or_floor 0.2 is the blend's")
    q = ("how much of our total traffic is them? and is self-serve still growing or has it "
         "flattened out, need both for the tradeoff")
    assert told("strategic-custom-ask", q) == {"traffic_share", "self_serve_growth"}
    assert told("strategic-custom-ask", q, dataclasses.replace(PARAMS, either_or_floor=0.0)) \
        == {"traffic_share", "self_serve_growth", "optimize_for", "displaced_work"}


@pytest.mark.parametrize(("case_id", "question", "expected"), [
    # Stop 37: the clues asked in plain words by three probe writers each...
    ("moe-long-context-onboarding", "With the experts, is the load evenly spread over the GPUs "
     "or do some get hammered?", {"expert_balance"}),
    ("gpu-price-shift", "If new cards show up, can we just shift the existing deployments over "
     "onto them, or is that a big lift?", {"portability"}),
    # ...and questions that brush their new words without asking for them
    ("moe-long-context-onboarding", "Is their traffic spread out over the day or bursty?",
     set()),
    ("gpu-price-shift", "Are we porting any customers to the new region?", set()),
])
def test_a_clue_asked_in_plain_words(case_id: str, question: str, expected: set[str]) -> None:
    assert told(case_id, question) == expected


@pytest.mark.parametrize("question,facts,later", [
    ("What p99 have they been promised?", {"latency"}, False),
    ("What GPUs do they run on? What p99 have they been promised?", {"hardware", "latency"},
     False),
    ("What GPUs do they run on, and what p99 have they been promised?", {"hardware", "latency"},
     True),
])
def test_a_keyword_hit_too_far_behind_to_stand_outranks_no_other(
        question: str, facts: set[str], later: bool) -> None:
    # Stop 38: "p99" hits today's latency and "promised" the contract's. Today's led by
    # similarity alone (0.48 to 0.45) but trailed the contract's by 0.18 with the word-level
    # signal: it could not stand, yet it kept the contract's out, and nothing was told (or
    # today's latency, in a later question).
    if later:
        blend_only("the later question's one-word bound, later_word_behind 0.05, is the blend's")
    assert told("fintech-p99-spikes", question) == facts


@pytest.mark.parametrize("question,shown", [
    ("And what do they see today at peak?", False),
    ("What do they see right now during the spikes?", False),
    ("What do they see in their dashboards?", True),
    ("What can they see about where the time goes?", True),
])
def test_what_they_see_today_is_what_they_get_not_what_they_can_view(
        question: str, shown: bool) -> None:
    # Stop 38 (a trial): "see" today or at peak is what they get; the fact of what the
    # customer can see (their view of where the time goes) was told to it.
    assert ("visibility" in told("fintech-p99-spikes", question)) is shown
