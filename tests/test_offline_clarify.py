"""Offline clarify: which messages state assumptions (and end the step), which ask something,
and which facts a question gets. Also the shape of the case fact sheets and the follow-up
probes the offline interviewer reads out."""

from __future__ import annotations

import re

import pytest

from agent.cases import get_case, keyword_warnings, load_cases
from agent.config import Settings
from agent.engine import Engine
from agent.offline import matching_facts, question_parts, states_assumptions
from agent.prompts import script
from agent.rubrics import load_rubrics

CASE = "fintech-p99-spikes"


def told(case_id: str, message: str) -> set[str]:
    return {f.id for f in matching_facts(get_case(case_id), message)}


# -- assumptions end the step and reveal nothing -----------------------------------------------

ASSUMPTIONS = [
    "I assume it is a strategic real-time customer with a 500 ms p99 target.",
    "I assume it is a strategic real-time customer with a 500 ms p99 target.\n\n"
    "Assumptions: real-time, strategic, 500 ms p99.",
    "Let's assume real-time inference with a 500 ms p99 target.",
    "We assume the workload is real-time and the customer is strategic.",
    "We'll assume about 1,500 QPS at peak.",
    "I'd assume they're on the shared tier.",
    "I'm going to assume a fine-tuned open-source model.",
    "I'm assuming this is production traffic.",
    "Assumptions: real-time, strategic, 500 ms p99.",
    "Assumption - the peak is predictable.",
    "Summary: real-time fraud scoring with a 500 ms p99 target at peak.",
    "To summarise, a strategic real-time customer missing p99 at peak.",
    "Assuming it's real-time and strategic, let me move on.",
    "Assuming real-time, 500 ms p99.",
    "My working assumption is a 500 ms p99 target at 1,500 QPS.",
    "Let me play it back: real-time scoring, 500 ms p99, spiky traffic.",
    "Playing that back, the problem is p99 at peak for a strategic account.",
    "So my working picture is real-time scoring on shared capacity.",
    "Here's my frame: hold 500 ms p99 through peaks without doubling GPUs.",
    "OK, so a strategic real-time customer whose p99 breaks at peak.",
    "So: a top-10 account, real-time, 500 ms p99 at 1,500 QPS.",
    "So cost is the goal, and the deadline and accuracy are the constraints.",
    "Real-time, 500 ms p99 at peak. Is that right?",
    "Strategic account, real-time traffic, p99 target of 500 ms. Correct me if any of that is off.",
    "I'll take it as real-time inference with a strict p99 target.",
    "I think I have enough, let's get into it.",
    "That's enough context, let's move on.",
    "Ok I think I get it, lets go.",
]


@pytest.mark.parametrize("message", ASSUMPTIONS)
def test_stated_assumptions_close_clarify_and_reveal_nothing(message: str) -> None:
    assert states_assumptions(message), message
    assert question_parts(message) == []
    assert told(CASE, message) == set()


QUESTIONS = [
    "Should I assume it's real-time?",
    "Should I assume it's real-time",
    "Can I assume a 500 ms p99 target?",
    "Can we assume the peak is predictable",
    "Is it fair to assume they're strategic?",
    "I'll assume real-time. What's the QPS?",
    "Summary so far is clear. What is the latency target?",
    "What is the latency target?",
    "QPS and latency target",
]


@pytest.mark.parametrize("message", QUESTIONS)
def test_a_message_that_ends_asking_does_not_close_clarify(message: str) -> None:
    assert not states_assumptions(message), message
    assert question_parts(message)


def test_an_assumption_inside_a_question_reveals_only_what_is_asked() -> None:
    # "real-time" is assumed, not asked: the workload fact stays back.
    assert told(CASE, "Assuming it's real-time, what's the QPS?") == {"scale"}
    assert told(CASE, "I'll assume real-time. What's the QPS?") == {"scale"}
    # Asking whether an assumption holds is asking about it.
    assert told(CASE, "Should I assume it's real-time?") == {"workload"}



@pytest.mark.parametrize("question", [
    "How long does it take us to bring up a new copy of the model?",
    "When new machines are added, how many minutes until they can take traffic?",
    "How long does it take to start a new server with the model on it?",
])
def test_the_start_up_clue_answers_a_direct_question_in_plain_words(question: str) -> None:
    """A new-user trial: asked in everyday words how long new capacity takes, the interviewer
    said it could not tell, then challenged the candidate's guess as never told."""
    assert told(CASE, question) == {"replica_startup"}


def test_paying_for_spare_machines_is_not_a_question_about_start_up_time() -> None:
    assert "replica_startup" not in told(
        CASE, "Would they be ok to pay something more to have extra machines ready?")

def test_a_question_leaning_on_the_one_before_reads_its_subject() -> None:
    """'And what are they seeing today?' names no subject: after 'What latency have they been
    promised?' it asks about today's latency (found by a new-user trial: it was dropped)."""
    case = get_case(CASE)
    both = "What latency have they been promised? And what are they seeing today?"
    assert [f.id for f in matching_facts(case, both)] == ["latency", "latency_now"]
    assert [f.id for f in matching_facts(case, "And what are they seeing today?")] == []
    # a second question with a subject of its own is read on its own
    assert {f.id for f in matching_facts(
        case, "What latency have they been promised? And who are their users?")} == {
        "latency", "end_users"}


@pytest.mark.parametrize("message", [
    "Thanks, that's helpful.", "Ok.", "Got it, makes sense.", "Great, thank you!",
    "The target is 500 ms.", "Real-time, strategic, 500 ms p99.", "Interesting.",
    "That helps a lot.", "Let me start with the failure taxonomy.",
])
def test_statements_and_acknowledgements_ask_nothing(message: str) -> None:
    assert question_parts(message) == []
    assert not states_assumptions(message)
    assert told(CASE, message) == set()


@pytest.mark.parametrize(("message", "expected"), [
    ("QPS and latency target", {"scale", "latency"}),
    ("So, latency target and QPS", {"scale", "latency"}),
    ("Traffic pattern", {"traffic_pattern"}),
    ("Numbers please. Requests per second at peak, and what p99 looks like today.",
     {"scale", "latency_now"}),
])
def test_a_bare_fragment_still_asks(message: str, expected: set[str]) -> None:
    assert told(CASE, message) == expected


def test_offline_session_ends_clarify_on_assumptions_and_prompts_on_small_talk() -> None:
    case = get_case(CASE)
    with Engine(Settings()) as engine:
        session = engine.start(case)
        session.answer("Thanks, that's helpful.")
        state = session.state()
        assert state["step"] == "clarify" and state["facts_told"] == []
        reply = state["turns"][-1]["text"]
        assert reply == script()["no_question"]
        assert reply != script()["no_fact"]
        session.answer("Which GPUs?")
        assert session.state()["facts_told"] == ["hardware"]
        session.answer("I assume it is a strategic real-time customer with a 500 ms p99 "
                       "target.\n\nAssumptions: real-time, strategic, 500 ms p99.")
        state = session.state()
        assert state["step"] == "diagnose" and state["facts_told"] == ["hardware"]
        said = " ".join(t["text"] for t in state["turns"] if t["role"] == "interviewer")
        for f in case.facts:
            if f.id != "hardware":
                assert f.answer.strip() not in said, f.id


# -- a narrow question gets only what it asks about ---------------------------------------------

NARROW = [
    # The audit's examples: no diagnosis clues on a narrow question.
    (CASE, "Which GPUs?", {"hardware"}),
    (CASE, "Latency target?", {"latency"}),
    (CASE, "Open-source model?", {"models"}),
    # Latency at peak; the timeouts are told to a question about them (matched by meaning).
    (CASE, "What happens at peak?", {"latency_now"}),
    (CASE, "What's the p99 today?", {"latency_now"}),
    (CASE, "What's the p99 today versus what they promised?", {"latency", "latency_now"}),
    (CASE, "Is the model quantized?", {"precision"}),
    (CASE, "How long does a new replica take to come up?", {"replica_startup"}),
    (CASE, "How does autoscaling work?", {"autoscaling"}),
    (CASE, "Do some requests get priority?", {"admission"}),
    (CASE, "Are they on dedicated GPUs or the shared stuff?", {"current_setup"}),
    (CASE, "Which region?", {"region"}),
    (CASE, "When is the renewal?", {"renewal"}),
    (CASE, "How much revenue do they bring?", {"revenue"}),
    (CASE, "Do outputs need to be deterministic?", {"determinism"}),
    (CASE, "Who are the end users?", {"end_users"}),
    (CASE, "Who is the customer?", {"user"}),
    (CASE, "How many tokens per request?", {"request_size"}),
    (CASE, "When are the peaks?", {"traffic_pattern"}),
    (CASE, "What are they willing to spend?", {"budget"}),
    ("batch-inference-cost", "When does it need to finish?", {"latency"}),
    ("batch-inference-cost", "What are they paying now?", {"budget"}),
    ("batch-inference-cost", "When do the results have to be ready?", {"latency"}),
    ("batch-inference-cost", "How many docs per night?", {"scale"}),
    ("batch-inference-cost", "How long does the job take?", {"runtime"}),
    ("batch-inference-cost", "How parallel is their client?", {"client"}),
    ("batch-inference-cost", "Is there caching?", {"caching"}),
    ("batch-inference-cost", "How busy are the GPUs during the day?", {"utilization"}),
    ("batch-inference-cost", "Could they use a smaller model?", {"smaller_model"}),
    ("batch-inference-cost", "Which model?", {"models"}),
    ("batch-inference-cost", "Why now?", {"competition"}),
    ("compound-ai-json-reliability", "Is there a user waiting?", {"interactivity"}),
    ("compound-ai-json-reliability", "Do we retry failed calls?", {"validation"}),
    ("compound-ai-json-reliability", "What are customers doing about it?", {"workarounds"}),
    ("compound-ai-json-reliability", "How big are the schemas?", {"schema_complexity"}),
    ("compound-ai-json-reliability", "Who's complaining loudest?", {"loudest"}),
    ("devx-observability-gap", "How many tickets are there?", {"tickets"}),
    ("devx-observability-gap", "What do developers get back when something goes wrong?",
     {"current_tools"}),
    ("devx-observability-gap", "Is anyone churning?", {"churn"}),
    ("devx-observability-gap", "Is it mostly about inference?", {"product_area"}),
    ("finetune-cold-starts", "Where are adapters stored?", {"adapter_storage"}),
    ("finetune-cold-starts", "How does routing work?", {"routing"}),
    ("finetune-cold-starts", "What's the latency target?", {"latency_target"}),
    ("finetune-cold-starts", "What happens to full fine-tunes when idle?", {"full_ft_serving"}),
    ("gpu-price-shift", "What's the utilization?", {"utilization"}),
    ("gpu-price-shift", "What do we charge people today?", {"pricing"}),
    ("gpu-price-shift", "What are competitors doing?", {"competitor_prices"}),
    ("gpu-price-shift", "Is this about the GPUs for training or for serving?", {"product_area"}),
    ("llama70b-2x-latency", "What's the latency today?", {"latency"}),
    ("llama70b-2x-latency", "What does 2x mean for them?", {"latency_target"}),
    ("llama70b-2x-latency", "What hardware are they on?", {"current_setup"}),
    ("llama70b-2x-latency", "Is there prompt caching?", set()),
    ("moe-long-context-onboarding", "What's the max context?", {"context_length"}),
    ("moe-long-context-onboarding", "When does sales want it live?", {"timeline"}),
    ("moe-long-context-onboarding", "What TTFT did we see at 128k?", {"internal_ttft"}),
    ("strategic-custom-ask", "What's the actual ask?", {"ask"}),
    ("strategic-custom-ask", "Where is their latency today?", {"latency_now"}),
    ("strategic-custom-ask", "How are they deployed today?", {"current_setup"}),
    ("train-deploy-one-stack", "Is there a registry?", {"current_setup"}),
    ("train-deploy-one-stack", "How often do customers retrain?", {"retraining"}),
    ("train-deploy-one-stack", "LoRA or full?", {"finetune_types"}),
]


@pytest.mark.parametrize(("case_id", "question", "expected"), NARROW)
def test_a_question_gets_only_what_it_asks_about(case_id: str, question: str,
                                                 expected: set[str]) -> None:
    assert told(case_id, question) == expected


# A broad word is no keyword (README, "Clarify and follow-ups"): each of these uses a word that
# was once keyed to a fact whose subject the question is not about.
BROAD = [
    ("fintech-p99-spikes", "How much are they paying their card processor?", "revenue"),
    ("llama70b-2x-latency", "Would they pay for twice the hardware?", "latency_target"),
    ("gpu-price-shift", "Do urgent jobs get their own queue?", "timeline"),
    # Stop 33: the keyword no longer tells it, but meaning does: the question's keyword hit (what
    # the long tail asks for) is refused, and meaning_past_refused lets the closest fact, the
    # long tail itself, 0.2 ahead, be told. A known loss of that change (evals/README.md,
    # "Stop 33"); strict, so a fix shows here.
    pytest.param("strategic-custom-ask", "What is the long tail asking us to build?", "long_tail",
                 marks=pytest.mark.xfail(strict=True, reason="stop 33: meaning past a refused "
                                         "keyword hit tells the long-tail fact")),
    ("train-deploy-one-stack", "What do the big accounts want from us?", "customer_type"),
    ("batch-inference-cost", "Who first noticed the bill going up?", "budget"),
    ("batch-inference-cost", "Are they happy with how fast the job finishes?", "latency"),
    ("batch-inference-cost", "How much revenue do we make from batch overall?", "customer_type"),
    ("devx-observability-gap", "What share of our revenue is inference?", "slow_failing_share"),
    ("compound-ai-json-reliability", "How bad is the documentation?", "failure_rates"),
    ("finetune-cold-starts", "How many adapters see traffic in a typical hour?", "scale"),
    ("moe-long-context-onboarding", "Which GPUs did our first attempt use?", "hardware"),
]


@pytest.mark.parametrize(("case_id", "question", "not_this"), BROAD)
def test_a_broad_word_does_not_tell_the_fact_it_was_keyed_to(case_id: str, question: str,
                                                              not_this: str) -> None:
    assert not_this not in told(case_id, question)


@pytest.mark.parametrize("case_id", sorted(load_cases()))
def test_keywords_name_a_subject_not_a_kind_of_answer(case_id: str) -> None:
    assert keyword_warnings(get_case(case_id)) == []


def test_a_keyword_that_names_a_kind_of_answer_is_warned_about() -> None:
    case = get_case("fintech-p99-spikes")
    fact = case.facts[0]
    bad = fact.model_copy(update={"keywords": [*fact.keywords, "how many people",
                                               "how much do they pay", "revenue"]})
    warnings = keyword_warnings(case.model_copy(update={"facts": [bad, *case.facts[1:]]}))
    assert len(warnings) == 2 + (not re.search(r"revenue|dollars|\$", fact.answer)), warnings
    assert "'how many people' names a kind of answer" in warnings[0]
    assert "'how much do they pay' also matches 'pay their card processor'" in warnings[1]


OFF_TOPIC = ["What's the weather like today?", "Can you repeat that?", "What's your name?",
             "How are you doing?", "Could you say that again?", "Where do I start?"]


@pytest.mark.parametrize("case_id", sorted(load_cases()))
def test_off_topic_questions_pull_no_facts(case_id: str) -> None:
    for q in OFF_TOPIC:
        assert told(case_id, q) == set(), q


# -- fact sheets --------------------------------------------------------------------------------

@pytest.mark.parametrize("case_id", sorted(load_cases()))
def test_facts_have_distinct_topics_and_are_reachable_by_their_topic(case_id: str) -> None:
    case = get_case(case_id)
    topics = [f.topic.lower() for f in case.facts]
    assert len(topics) == len(set(topics)), "the model picks facts by topic: keep them distinct"
    for f in case.facts:
        question = f"Can you tell me about {f.topic[0].lower()}{f.topic[1:]}?"
        assert f.id in told(case_id, question), (f.id, question)
        # A phrase keyword is matched literally (agent/signals.py): regex syntax there is a bug.
        for k in f.keywords:
            assert k.startswith("re:") or not re.search(r"[\[\]()|\\?]", k), (f.id, k)


# -- follow-up probes -----------------------------------------------------------------------------

# Words that tie a probe to one kind of case (a latency problem, a GPU fleet, a traffic spike).
CASE_SPECIFIC = re.compile(
    r"\b(latenc\w*|fast\w*|slow\w*|speed|traffic|peaks?|spikes?|sla|p\d\d|gpus?|timeouts?|"
    r"queue\w*|autoscal\w*|cold start\w*|replicas?|tokens?|ms|milliseconds?|jumps?)\b",
    re.IGNORECASE,
)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def test_probes_are_single_neutral_questions_that_fit_any_case() -> None:
    for rubric in load_rubrics().rubrics.values():
        for c in rubric.criteria:
            probe = c.probe.strip()
            assert probe.endswith("?") and probe.count("?") == 1, c.id
            assert not CASE_SPECIFIC.search(probe), (c.id, probe)
            # No four-word run of what the criterion looks for or its level descriptors.
            words = _words(probe)
            runs = {" ".join(words[i:i + 4]) for i in range(len(words) - 3)}
            source = " ".join([c.looks_for, *c.levels.values()]).lower()
            said = " ".join(_words(source))
            assert not [r for r in runs if r in said], (c.id, probe)


def test_sharing_machines_and_users_at_once_are_asked_in_plain_words() -> None:
    """A new-user trial: "Does their traffic share machines with other customers?" got the
    traffic-pattern fact, and "How many people use it at once at peak?" inside a compound
    question was left unanswered."""
    from agent.cases import default_cases
    from agent.clarify.select import select
    from agent.offline import question_parts

    cases = default_cases()
    ask = "Does their traffic share machines with other customers?"
    assert [f.id for f in select(cases["fintech-p99-spikes"], question_parts(ask))] == \
        ["current_setup"]
    ask = "How long are the conversations, and how many people use it at once at peak?"
    assert "scale" in [f.id for f in select(cases["llama70b-2x-latency"], question_parts(ask))]


def test_how_the_work_is_sent_asks_for_the_client_clue_directly() -> None:
    """A trial: "Do they use our batch API or something they wrote themselves to send the
    work?" asks exactly how the job is driven, and was told nothing."""
    from agent.cases import default_cases
    from agent.clarify.select import select
    from agent.offline import question_parts

    ask = "Do they use our batch API or something they wrote themselves to send the work?"
    told = [f.id for f in select(default_cases()["batch-inference-cost"], question_parts(ask))]
    assert told == ["client"]


def test_first_word_or_whole_answer_asks_what_twice_as_fast_means() -> None:
    """A trial: "Is this about the first word showing up, or the whole answer finishing?" asks
    what "twice as fast" means to them, and got today's numbers instead."""
    from agent.cases import default_cases
    from agent.clarify.select import select
    from agent.offline import question_parts

    ask = "Is this about the first word showing up, or the whole answer finishing?"
    told = [f.id for f in select(default_cases()["llama70b-2x-latency"], question_parts(ask))]
    assert told == ["latency_target"]


# -- terse compound questions (clarify5: a new user's trial) -----------------------------------

TERSE_SPLITS = [
    ("Revenue, share of our traffic, and renewal date?",
     ["Revenue", "share of our traffic", "renewal date"]),
    ("TTFT target vs where we are today?", ["TTFT target", "where we are today"]),
    ("What does it displace on the roadmap, and eng cost?",
     ["What does it displace on the roadmap", "eng cost"]),
    # after a heading, an item keeps the heading's subject: "growth" alone names none
    ("Where's the long tail at — size, revenue share, growth?",
     ["long tail: size", "long tail: revenue share", "long tail: growth"]),
    ("Model / precision?", ["Model", "precision"]),
    ("Last one: spend, target?", ["spend", "target"]),  # a filler heading carries no subject
    # a fragment without a question mark asks too
    ("Peak QPS, request size", ["Peak QPS", "request size"]),
]


@pytest.mark.parametrize(("message", "parts"), TERSE_SPLITS)
def test_a_terse_list_of_things_is_asked_thing_by_thing(message: str, parts: list[str]) -> None:
    assert question_parts(message) == parts


TERSE_WHOLE = [
    # an either-or offers answers to one question
    "Also, which customers are we talking about, startups or enterprises?",
    "Is it batch, or real-time?",
    # a heading that asks a whole question offers the list as answers
    "Where does the time go in a LoRA cold start: download, waiting for a slot, loading?",
    "When support digs into those tickets, what do they turn out to be: rate limits, cold "
    "starts, bad requests?",
    # a question after a plain comma asks about the thing before it
    "Cold request, how many seconds?",
    # an item that says only which value ("average and peak") stays with its thing
    "And the request rate, average and peak, once more?",
    # a unit, not two things; a clause, not a noun
    "tok/night?",
    "How many peoples write to support each month, and it grow fast?",
    # a heading, then a question of its own
    "Walk me through the margin compression: where was GM two quarters ago versus now?",
    # a short addition after a plain comma qualifies the question before it
    "Who's doing this work on the customer side, big teams?",
    "LoRA or full fine-tunes, roughly what split?",
    # one word on a side of "vs" qualifies the thing on the other: one thing
    "cold TTFT vs warm?",
    "Cost versus latency priority?",
    # an acknowledgement is no item
    "Understood, thanks for the detail.",
]


@pytest.mark.parametrize("message", TERSE_WHOLE)
def test_what_is_one_question_is_not_split_as_a_list(message: str) -> None:
    assert question_parts(message) == [message]


def test_terse_compound_questions_get_every_fact_they_name() -> None:
    """Matched whole, each of these told one or two of its facts; the one left out is told
    when the list is asked thing by thing."""
    ask = "strategic-custom-ask"
    assert told(ask, "Revenue, share of our traffic, and renewal date?") == {
        "revenue", "traffic_share", "renewal"}
    assert told(ask, "TTFT target vs where we are today?") == {"latency", "latency_now"}
    assert told(ask, "What does it displace on the roadmap, and eng cost?") == {
        "displaced_work", "engineering_cost"}
    assert {"revenue", "renewal"} <= told(CASE, "Revenue, share of our traffic, renewal date?")
    assert told("batch-inference-cost", "Model / precision?") == {"models", "precision"}


def test_an_imperative_assume_states_assumptions() -> None:
    """Trial 10: a terse senior's "Assume: inference only, mostly interactive agent loops, ..."
    was met with "Go ahead with any other questions, or state your assumptions"."""
    from agent.offline import question_parts, states_assumptions

    for stated in ("Assume: inference only, mostly interactive agent loops, strategic account.",
                   "Assume inference only and interactive loops.",
                   "OK. Assume batch, nightly."):
        assert states_assumptions(stated), stated
        assert question_parts(stated) == [], stated
    for asked in ("Assume real-time?", "Should I assume real-time?",
                  "What should we assume about traffic?"):
        assert not states_assumptions(asked), asked


@pytest.mark.parametrize(("question", "key"), [
    ("So what's the root cause?", "no_fact_yours"),
    ("What should we do?", "no_fact_yours"),
    ("What's the office like, and is the weather nice there today?", "no_fact_off_case"),
    ("What's the budget for the project?", "no_fact"),
])
def test_a_question_for_the_answer_or_small_talk_gets_its_own_reply(question: str,
                                                                      key: str) -> None:
    # Trial 17: both were told "Make a reasonable assumption and state it".
    from agent.offline import OfflineInterviewer
    from agent.policy import Silent

    reply = OfflineInterviewer().clarify(get_case("finetune-cold-starts"), question, [],
                                         Silent())
    assert reply.fact_ids == [] and reply.text == script()[key]
    assert "assumption" in reply.text  # every one still invites an assumption
