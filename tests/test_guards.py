"""The guards on spoken text (agent/model/guards.py): what a weak model was seen to say is
refused with a reason, what the interviewer should say passes, and what the candidate sees while
a reply streams is only what has been checked."""

from __future__ import annotations

from typing import Any

import pytest

from agent.cases import default_cases, get_case
from agent.llm_policy import _instructions, _rubric_runs
from agent.model.guards import Context, Guard, Holdback
from agent.rubrics import default_rubrics

CASE = get_case("fintech-p99-spikes")
PROBE = "What would you look at first to tell those causes apart?"


def followup_guard(material: str = PROBE) -> Guard:
    return Guard(Context("followup", material=material,
                         instructions=_instructions("persona", "followup"),
                         rubric=_rubric_runs()))


def fact_guard() -> Guard:
    facts = CASE.facts[:2]
    listed = "\n".join(f"- {f.topic}: {f.answer.strip()}" for f in facts)
    return Guard(Context("fact", material=listed,
                         instructions=_instructions("persona", "clarify_reply"),
                         rubric=_rubric_runs()))


# What SmolLM2-135M said through llama.cpp's server (issue 15), and the other ways replies fail.
BAD_FOLLOWUPS = [
    ("I'm glad you're excited about the interview. I'll be here to answer your question "
     "whenever you're ready.", "chatter"),
    ("You asked the candidate to prioritize capacity-driven, which is a common topic for this "
     "interview.", "talks about the interview itself ('the candidate')"),
    ("What would you look at first?</followup>", "prompt markup ('</followup>')"),
    ("Interviewer: What would you look at first?", "prompt markup"),
    ("```What would you measure?```", "prompt markup ('```')"),
    ("Which criterion matters most to you here?", "talks about the interview itself"),
    ("How does your answer score against the rubric?", "talks about the interview itself"),
    ("As an AI language model, what would you measure first?", "talks about the interview"),
    ("Ask exactly one short follow-up question that gives them room to say more?",
     "echoes the prompt"),
    ("Good point. Say more.", "asks nothing"),
    ("What would you measure first? And what would you cut?", "more than one question"),
    ("", "the reply was empty"),
    ("Could you walk me through " + " ".join(f"part{i}" for i in range(70)) + "?",
     "longer than 60"),
]


@pytest.mark.parametrize(("reply", "why"), BAD_FOLLOWUPS)
def test_bad_follow_ups_are_refused_with_a_reason(reply: str, why: str) -> None:
    reason = followup_guard().check(reply, True)
    assert reason is not None and why in reason, reason


def test_rubric_text_is_refused_unless_the_probe_says_it_too() -> None:
    criterion = default_rubrics()["diagnose"].criteria[0]
    copied = " ".join(criterion.looks_for.split()[:9])
    reason = followup_guard().check(f"Tell me about {copied}?", True)
    assert reason is not None and reason.startswith("it repeats the rubric")
    # The same words are fine when the material the reply rephrases holds them.
    assert followup_guard(material=copied).check(f"What about {copied}?", True) is None


def test_a_looping_stream_is_stopped_long_before_the_word_limit() -> None:
    guard = followup_guard()
    loop = "That is a good point to raise here. We can keep going from there. " * 20
    text, stopped_at = "", None
    for i, word in enumerate(loop.split(" ")):
        text += word + " "
        if guard.check(text, False):
            stopped_at = i
            break
    assert stopped_at is not None and stopped_at < 30  # a few words into the second round
    assert guard.check(loop, False) in ("it repeats itself", "it is longer than 60 words")
    fact = fact_guard()
    same = "The p99 target is 500 ms. The p99 target is 500 ms. "
    assert fact.check(same, False) == "it repeats itself"


def test_a_clarify_reply_must_answer_from_its_facts() -> None:
    guard = fact_guard()
    first = CASE.facts[0].answer.strip()
    assert guard.check(first, True) is None
    assert guard.check("That's a great question about the platform.", True) is not None
    why = guard.check("The customers mostly care about cost and the team is small.", True)
    assert why == "it does not answer from the facts"
    many = " ".join(f"word{i}" for i in range(81))
    assert fact_guard().check(many, False) == "it is longer than 80 words"


def test_what_the_interviewer_should_say_passes() -> None:
    """Every authored probe passes as a follow-up (the model rephrases them: a rephrase as
    plain as the probe must not be refused), and every fact's own words pass as a clarify
    reply to a question about it."""
    instructions = _instructions("persona", "followup")
    for rubric in default_rubrics().rubrics.values():
        for c in rubric.criteria:
            for material in (c.probe, ""):
                guard = Guard(Context("followup", material=material, instructions=instructions,
                                      rubric=_rubric_runs()))
                assert guard.check(c.probe, True) is None, (c.id, c.probe)
    instructions = _instructions("persona", "clarify_reply")
    for case in default_cases().values():
        for f in case.facts:
            guard = Guard(Context("fact", material=f"- {f.topic}: {f.answer.strip()}",
                                  instructions=instructions, rubric=_rubric_runs()))
            assert guard.check(f.answer.strip(), True) is None, (case.id, f.id)
    rephrased = ("Thinking about the spikes you described, what would you look at first to "
                 "tell those causes apart?")
    assert followup_guard().check(rephrased, True) is None


class Screen:
    """A Speaker that records what the candidate would see."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def __call__(self, piece: str) -> None:
        self.events.append(("say", piece))

    def restart(self, reason: str = "") -> None:
        self.events.append(("restart", reason))

    def notice(self, text: str) -> None:
        self.events.append(("notice", text))


def test_a_clarify_reply_is_shown_a_checked_sentence_at_a_time() -> None:
    screen = Screen()
    hold = Holdback("fact", screen)
    for piece in ["The ", "target ", "is ", "500 ", "ms. ", "Peak ", "is "]:
        hold.feed(piece)
    assert screen.events == [("say", "The target is 500 ms. ")]  # the unfinished one waits
    hold.feed("1,500 QPS.")
    assert hold.finish() == "The target is 500 ms. Peak is 1,500 QPS."
    assert screen.events[-1] == ("say", "Peak is 1,500 QPS.")
    hold.withdraw("not usable")
    assert screen.events[-1] == ("restart", "not usable")


def test_a_follow_up_is_shown_only_whole() -> None:
    screen = Screen()
    hold = Holdback("followup", screen)
    for piece in ["Good. ", "What ", "would ", "you ", "check?"]:
        hold.feed(piece)
    assert screen.events == []
    hold.withdraw("not usable")  # nothing was shown, so nothing is taken back
    assert screen.events == []
    for piece in ["What ", "would ", "you ", "check?"]:
        hold.feed(piece)
    assert hold.finish() == "What would you check?" and screen.events == [
        ("say", "What would you check?")]


def test_chatter_in_a_clarify_reply_never_reaches_the_screen() -> None:
    """A clarify reply is released a sentence at a time only once it draws on its facts:
    a model that chats (or loops) first is stopped before anything is shown."""
    screen = Screen()
    guard = fact_guard()
    hold = Holdback("fact", screen, guard)
    text = ""
    for piece in ["Thanks ", "for ", "asking ", "me ", "today. ", "Lovely ", "weather. "]:
        text += piece
        if guard.check(text, False):
            break
        hold.feed(piece)
    assert screen.events == []
    fact = CASE.facts[0].answer.strip()
    grounded = Holdback("fact", screen, guard)
    grounded.feed(fact + " ")
    assert screen.events and screen.events[0][0] == "say"


# -- end to end, in process: what the candidate is told -----------------------------------------


def run_turns(responder: Any, answers: list[str], **settings: Any) -> tuple[list[Any], Any]:
    """Answer through a real engine against the loopback endpoint; (events, call log)."""
    from agent.config import Settings
    from agent.engine import Engine
    from evals.fake_endpoint import FakeEndpoint

    events: list[Any] = []
    with FakeEndpoint(responder=responder) as ep, Engine(Settings(
            base_url=ep.url, api_key="k", model="fake-model", max_retries=0,
            **settings)) as engine:
        session = engine.start(CASE)
        for a in answers:
            session.answer(a, events.append)
        calls = engine.store.calls(session.id)
        session.close()
    return events, calls


def test_an_unusable_fact_selection_is_answered_by_keyword_and_said_once() -> None:
    """Issue 17.6: the model's selection never validates, so the fact-sheet matcher answers;
    the candidate is told once (not per question) and the trace says it for each."""
    from evals.fake_responder import interviewer_responder

    def no_selection(body: dict[str, Any]) -> Any:
        fmt = body.get("response_format") or {}
        if (fmt.get("json_schema") or {}).get("name") == "FactSelection":
            return "topics: traffic"  # never the schema
        return interviewer_responder(body)

    events, calls = run_turns(no_selection, ["What's the QPS at peak?",
                                             "Who is the customer?"])
    notes = [e["notice"] for e in events if "notice" in e]
    assert notes == ["the model could not tell which facts you asked about; answering from "
                     "the case notes by keyword"]
    from agent.offline import matching_facts

    said = "".join(e.get("say", "") for e in events)
    asked = [f for q in ("What's the QPS at peak?", "Who is the customer?")
             for f in matching_facts(CASE, q)]
    assert len(asked) >= 2 and all(f.answer.strip() in said for f in asked)
    fell = [c["error"] for c in calls if c["outcome"] == "invalid"]
    assert len(fell) == 2 and all(e.startswith("fallback to the fact-sheet matcher: ")
                                  for e in fell)


def test_a_slow_model_is_noted_once_and_the_standard_question_asked() -> None:
    """Issue 15.2: past the time budget the authored text is said at once and the candidate
    is told once, however many lines the model is late for."""
    import time as _time

    from agent import tokens
    from evals.fake_responder import interviewer_responder

    def slow(body: dict[str, Any]) -> Any:
        if body.get("stream"):
            _time.sleep(3.0)
        return interviewer_responder(body)

    tokens.count("warm up")  # the tokenizer's first load is not the model's slowness
    began = _time.monotonic()
    events, calls = run_turns(slow, [
        "I'll assume real-time inference for a payments customer with a 500 ms p99 target.",
        "Autoscaling lags the traffic spikes.", "Cold starts, mostly."],
        first_token_s=1.5, reply_s=4.0)
    took = _time.monotonic() - began
    notes = [e["notice"] for e in events if "notice" in e]
    assert notes == ["the model is slow; using the standard question"]
    probes = {c.probe for c in default_rubrics()["diagnose"].criteria}
    followups = [e["say"] for e in events if e.get("say") in probes]
    assert len(followups) == 2
    slow_calls = [c for c in calls if c["outcome"] == "slow"]
    assert len(slow_calls) == 2 and all(c["error"].startswith(
        "fallback to the standard question: no first word within 1.5 s") for c in slow_calls)
    assert took < 25
