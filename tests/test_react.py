"""Issue 10, follow-ups that react (offline): a figure from a fact never told is challenged, a
strong point is deepened in the candidate's own words, a gap gets the rubric's non-leading
probe, and nothing the rubric looks for is named unless the candidate said it."""

from __future__ import annotations

from agent.cases import get_case
from agent.config import Settings
from agent.engine import Engine
from agent.probes.react import (
    challenge,
    challenged_facts,
    deepen,
    deepen_text,
    quote,
    unasked_figure,
    untold_use,
)
from agent.prompts import script
from agent.rubrics import default_rubrics
from agent.semantic.facts import Told, quantities
from agent.signals import first_match
from evals.behaviour import followup_figures, rubric_signal_phrases

CASE = "fintech-p99-spikes"


def _told(case_id: str, facts: set[str], *heard: str) -> Told:
    return Told(facts=frozenset(facts), heard=(get_case(case_id).prompt, *heard))


def _figure_of_untold_fact(case_id: str) -> tuple[str, str]:
    """(fact id, a figure of its answer) for a fact with a distinctive figure."""
    from agent.semantic.facts import quantities

    case = get_case(case_id)
    for f in case.facts:
        qs = [q for q in quantities(f.answer) if q.unit and len(q.digits) >= 2]
        if qs and not any(q.value == p.value for p in quantities(case.prompt) for q in qs):
            return f.id, qs[0].text
    raise AssertionError("no fact with a figure")


def test_a_figure_from_a_fact_never_told_is_challenged() -> None:
    case = get_case(CASE)
    fid, figure = _figure_of_untold_fact(CASE)
    answer = f"The root cause is clear to me: it is {figure} today, and that explains the tail."
    told = _told(CASE, set())
    assert unasked_figure(case, told, answer) == figure
    r = challenge(case, "diagnose", [answer], told, [])
    assert r is not None and r.kind == "challenge"
    assert r.text == str(script()["react"]["unasked"]).format(figure=figure)
    # Told in clarify: nothing to challenge.
    assert challenge(case, "diagnose", [answer], _told(CASE, {fid}, case.fact(fid).answer),
                     []) is None
    # Already challenged: not again.
    assert challenge(case, "diagnose", [answer], told, [r.about]) is None


def test_a_fact_used_without_a_figure_is_challenged_in_the_candidates_words() -> None:
    # The determinism fact has no figure: its own words, in a claim, give it away.
    case = get_case(CASE)
    fact = case.fact("determinism")
    claim = ("Their regulator expects deterministic outputs, which is why they run at "
             "temperature zero.")
    told = _told(CASE, set())
    assert untold_use(case, told, claim, "prioritize") is not None
    r = challenge(case, "prioritize", [claim], told, [])
    assert r is not None and r.kind == "challenge" and r.fact in {"determinism", "precision"}
    assert r.text == str(script()["react"]["unasked_claim"]).format(quote=quote(claim))
    # Told in clarify (its words were heard): nothing to challenge.
    heard = _told(CASE, {"determinism", "precision"}, fact.answer, case.fact("precision").answer)
    assert untold_use(case, heard, claim, "prioritize") is None
    # A proposal in the same words is the candidate's plan, not a claimed fact.
    assert untold_use(case, told, "We should give them deterministic outputs for the "
                                  "regulator.", "prioritize") is None


def test_a_target_or_a_sum_is_not_taken_for_an_untold_figure() -> None:
    case = get_case(CASE)
    told = _told(CASE, set())
    # Round figures in a target are the candidate's choice, even when a fact has the same one.
    fid, figure = next((f.id, q.text) for f in case.facts for q in quantities(f.answer)
                       if q.unit == "%" and len(q.digits) == 1)
    assert untold_use(case, told, f"Cut it to under {figure} within a quarter.", "goals") is None
    # Stated as how things are, the same figure gives the fact away.
    assert untold_use(case, told, f"Right now {figure} of calls fail.", "diagnose") == (fid, figure)
    # Arithmetic on given figures may land on a fact's figure by chance.
    assert untold_use(case, told, f"Two nodes = {figure} of the load.", "diagnose") is None


def test_each_untold_fact_is_challenged_once_per_interview() -> None:
    case = get_case(CASE)
    fid, figure = _figure_of_untold_fact(CASE)
    told = _told(CASE, set())
    first = challenge(case, "diagnose", [f"It is {figure} today."], told, [])
    assert first is not None and first.fact == fid and first.about.startswith(f"untold:{fid}:")
    # In a later step, the same fact again (in other words) is not challenged twice.
    assert challenged_facts([first.about]) == {fid}
    assert challenge(case, "solutions", [f"Since it is {figure} now, we fix it first."], told,
                     [first.about]) is None


def test_a_strong_point_is_deepened_in_the_candidates_own_words() -> None:
    answers = ["Traffic is spiky.",
               "Replicas come up slowly because the weights load from remote storage, so the "
               "autoscaler reacts late."]
    r = deepen("diagnose", answers, [])
    assert r is not None and r.kind == "deepen"
    assert quote(answers[1]) in r.text
    assert r.text == str(script()["react"]["deepen"]["confirm"]).format(quote=quote(answers[1]))
    assert deepen("diagnose", answers, ["deepen"]) is None
    assert deepen("diagnose", ["Not sure."], []) is None


def test_a_number_already_given_is_not_asked_for_again() -> None:
    """Goals deepen by asking for a number; a claim that holds one (in digits or in words) is
    asked why that figure instead, quoting the words up to it (found by a new-user trial)."""
    react = script()["react"]["deepen"]
    vague = "The main goal is to keep the slowest payment checks fast at peak so merchants stay."
    assert deepen_text("goals", vague) == str(react["number"]).format(quote=quote(vague))
    named = "A/B test on a slice of traffic, watch p99 against GPU utilisation, roll back."
    assert deepen_text("validate", named) == str(react["number"]).format(quote=quote(named))
    for given in ("Keep the slowest checks under half a second.",
                  "I'd keep 99.9% of minutes within the SLA."):
        assert deepen_text("goals", given) == str(react["number_given"]).format(
            quote=quote(given))
    late = ("So the one thing I would really hold us to over the whole of the coming quarter "
            "is the slowest one in a hundred checks under half a second at peak.")
    asked = deepen_text("validate", late)
    assert "Why that figure" in asked and "one in a hundred" in asked


def test_quotes_are_cut_to_a_few_words() -> None:
    long = " ".join(f"w{i}" for i in range(40)) + "."
    assert quote(long).endswith("…") and len(quote(long).split()) == 14
    assert quote("Short and sweet.") == "Short and sweet"


def test_reacting_templates_name_no_rubric_phrase() -> None:
    phrases = [p for ps in rubric_signal_phrases(default_rubrics()).values() for p in ps]
    react = script()["react"]
    texts = [react["unasked"], react["contradiction"], react["certain"], react["certain_of"],
             *react["deepen"].values()]
    for text in texts:
        bare = str(text).replace("{quote}", "").replace("{figure}", "")
        assert not [p for p in phrases if first_match([p], bare)], text


def test_an_offline_interview_reacts_with_a_gap_a_deepen_and_a_challenge() -> None:
    case = get_case(CASE)
    fid, figure = _figure_of_untold_fact(CASE)
    with Engine(Settings()) as engine:
        s = engine.start(case)
        s.answer("Which GPUs?")
        s.command("next")
        s.answer("Not sure, maybe something is slow.")  # weak diagnose: a gap probe
        state = s.state()
        assert state["reactions"][-1] == {"step": "diagnose", "kind": "gap"}
        probe = state["turns"][-1]["text"]
        rubric = default_rubrics()["diagnose"]
        assert probe in {c.probe for c in rubric.criteria}
        s.command("next")
        s.answer(f"Goal one: bring it back from {figure} because the customer is leaving.")
        state = s.state()
        assert state["reactions"][-1] == {"step": "goals", "kind": "challenge", "fact": fid}
        assert figure in state["turns"][-1]["text"]
    assert fid not in state.get("facts_told", [])


def test_followup_figures_count_the_right_steps() -> None:
    def row(kinds: list[str], label: int, unasked: bool = False,
            phrases: dict[str, list[str]] | None = None) -> dict[str, object]:
        return {"step": "diagnose", "kinds": kinds, "label": label, "profile": None,
                "unasked": unasked, "rubric_phrases": phrases or {}}

    items = [{"id": "a", "reactions": [
        row(["deepen"], 4), row([], 3), row(["gap"], 1), row(["deepen"], 2),
        row(["challenge"], 3, unasked=True), row(["gap"], 2, unasked=True),
        row(["deepen"], 4, phrases={"reacting": ["cold start"]})]}]
    f = followup_figures(items)
    assert f["strong_steps"] == 3 and f["strong_deepen_or_challenge"] == round(2 / 3, 3)
    assert f["weak_steps"] == 2 and f["weak_gap_probe"] == 0.5
    assert f["unasked_steps"] == 2 and f["unasked_challenged"] == 0.5
    assert f["probes_naming_rubric_phrases"] == 1
    # A challenge of a fact the recorded candidate had been told is counted as false.
    items[0]["reactions"][4].update(challenged=["scale"], false_challenges=["scale"])
    items[0]["reactions"][0].update(challenged=["revenue"], false_challenges=[])
    f = followup_figures(items)
    assert f["untold_challenges"] == 2 and f["false_challenges"] == 1


class _ModelChoice:
    """An interviewer whose assessment (as the model's would) chooses the reaction."""

    engine = "llm"

    def __init__(self, reaction: str, quote: str) -> None:
        self.reaction, self.quote, self.followups = reaction, quote, 0

    def assess(self, case: object, rubric: object, answers: object) -> object:
        from agent.policy import Assessment

        return Assessment({}, engine="llm", reaction=self.reaction, quote=self.quote)

    def followup(self, *args: object) -> str:
        self.followups += 1
        return "gap?"


class _Sink:
    def __init__(self) -> None:
        self.said: list[str] = []

    def __call__(self, piece: str) -> None:
        self.said.append(piece)

    def restart(self, reason: str = "") -> None:
        self.said.clear()

    def notice(self, text: str) -> None:
        return None


def test_with_a_model_the_assessment_chooses_and_a_quote_must_be_the_candidates() -> None:
    from agent.probes.react import respond

    case = get_case(CASE)
    rubric = default_rubrics()["solutions"]
    answer = "We would pre-warm a reserved pool ahead of the evening peak for this customer."
    state = {"turns": [], "facts_told": []}
    quoted = "pre-warm a reserved pool ahead of the evening peak"
    sink = _Sink()
    r = respond(_ModelChoice("deepen", quoted), case, rubric, "solutions", state,  # type: ignore[arg-type]
                [answer], [], sink)
    assert r is not None and r.kind == "deepen" and quoted in r.text
    assert "".join(sink.said) == r.text
    # A "quote" the candidate never said is not used: the offline choice stands instead.
    r = respond(_ModelChoice("deepen", "use speculative decoding everywhere"), case, rubric,  # type: ignore[arg-type]
                "solutions", state, [answer], [], _Sink())
    assert r is not None and "speculative" not in r.text
    # Move on: nothing asked.
    assert respond(_ModelChoice("move_on", ""), case, rubric, "solutions", state,  # type: ignore[arg-type]
                   [answer], [], _Sink()) is None


# -- trial 27: follow-ups that ignored what was just said ------------------------------------

def test_a_restated_fact_is_not_deepened_as_the_candidates_claim() -> None:
    """A deepen quoted the interviewer's own fact back ('You said “Their traffic jumps four to
    five times in a couple of minutes, but a…”. How would you confirm that...?')."""
    from agent.probes.react import restates

    case = get_case(CASE)
    told = [case.prompt, case.fact("traffic_pattern").answer, case.fact("replica_startup").answer]
    restated = ("Their traffic jumps four to five times in a couple of minutes, but a new "
                "replica takes six to seven minutes to become ready.")
    own = "The autoscaler reacts to CPU load and misses the queue."
    assert restates(restated, told) and not restates(own, told)
    # Nothing told: the longer sentence is the candidate's own, and is deepened.
    assert deepen("diagnose", [restated, own], [], []).text.startswith(  # type: ignore[union-attr]
        "You said “Their traffic")
    r = deepen("diagnose", [restated, own], [], told)
    assert r is not None and quote(own) in r.text and "traffic" not in r.text
    # A plan or a target in the case's words is the candidate's own.
    assert not restates("Pre-warm new replicas before the four to five times jumps.", told)
    assert not restates("Cut the time new replicas take to become ready from seven minutes "
                        "to one.", told)


def test_a_restated_fact_quoted_by_the_model_is_not_deepened() -> None:
    from agent.probes.react import respond

    case = get_case(CASE)
    fact = case.fact("traffic_pattern")
    state = {"turns": [{"role": "interviewer", "step": "clarify", "kind": "fact",
                        "text": fact.answer}], "facts_told": [fact.id]}
    answer = ("Traffic jumps four to five times within a couple of minutes on paydays and "
              "big sale days. The autoscaler reacts to CPU load and misses the queue.")
    quoted = "Traffic jumps four to five times within a couple of minutes on paydays"
    r = respond(_ModelChoice("deepen", quoted), case, default_rubrics()["diagnose"],  # type: ignore[arg-type]
                "diagnose", state, [answer], [], _Sink())  # type: ignore[arg-type]
    assert r is not None and "paydays" not in r.text


def test_quotes_are_cut_at_a_phrase_boundary() -> None:
    said = ("Their traffic jumps four to five times in a couple of minutes, but a new replica "
            "takes six to seven minutes.")
    assert quote(said) == "Their traffic jumps four to five times in a couple of minutes…"
    # Never between a figure and its unit, nor after a word that opens a phrase.
    figure = "We would hold the slowest requests for this customer at peak under 500 ms every day."
    assert not quote(figure).endswith(("500…", "under…"))
    for text in (said, figure, "I'd roll the reserved pool out as a canary to a tenth of "
                 "their traffic for a week and compare."):
        last = quote(text).rstrip("…").split()[-1].lower()
        assert last not in {"a", "an", "the", "of", "to", "for", "and", "but", "than", "under",
                            "their"}, quote(text)


def test_why_that_figure_only_for_a_target_or_an_estimate_the_candidate_set() -> None:
    """A canary on "a tenth of their traffic" was asked "Why that figure, and what happens if
    you miss it?": the size of a rollout is not a target."""
    react = script()["react"]["deepen"]
    why = str(react["number_given"]).split("”")[-1]
    for rollout in ("I'd run it side by side: a tenth of their traffic on the new pool.",
                    "Canary the reserved pool on 5% of requests and compare the tail at peak.",
                    "Pilot the new generation on two or three large models first.",
                    "Half of the accounts get the new error messages for three weeks."):
        asked = deepen_text("validate", rollout)
        assert why not in asked, rollout
        assert asked.endswith(str(react["outcome"]).split("”")[-1]), rollout
    for target in ("Keep the slowest one in a hundred under half a second at peak.",
                   "Get it close to competitor pricing, maybe 30% lower than now.",
                   "If the 99th percentile rises more than 5 ms, we roll back."):
        assert why in deepen_text("validate", target), target
    # Naming a share of requests ("the slowest one in a hundred") sets no figure.
    named = "Track the slowest one in a hundred requests at our API, every day at peak."
    assert why not in deepen_text("goals", named)


def test_an_answer_that_already_ranks_is_not_asked_to_pick_one_first() -> None:
    from agent.offline import OfflineInterviewer
    from agent.probes.react import orders_options, respond

    case = get_case(CASE)
    rubric = default_rubrics()["prioritize"]
    pick = rubric.criterion("prioritize.explicit_choice").probe
    others = [c.id for c in rubric.criteria if c.id != "prioritize.explicit_choice"]
    ranked = ("First, warm spare copies before the peaks. Second, a separate queue for them. "
              "Third, faster model loading.")
    unranked = "Warm spare copies before the peaks, a separate queue, faster model loading."
    assert orders_options([ranked]) and not orders_options([unranked])
    assert orders_options(["The first thing I'd do is warm spare copies ahead of the peaks."])
    state = {"turns": [], "facts_told": []}
    asked = respond(OfflineInterviewer(), case, rubric, "prioritize", state,  # type: ignore[arg-type]
                    [unranked], others, _Sink())
    assert asked is not None and asked.text == pick
    r = respond(OfflineInterviewer(), case, rubric, "prioritize", state,  # type: ignore[arg-type]
                [ranked], others, _Sink())
    assert r is None or r.text != pick


def test_no_follow_up_repeats_a_line_already_said_not_even_a_hint() -> None:
    """Coach mode: after /hint gave "Of everything you've listed, where would you look first,
    and why?", the next follow-up repeated it word for word (trial 27)."""
    case = get_case("batch-inference-cost")
    with Engine(Settings()) as engine:
        s = engine.start(case, mode="coach")
        s.answer("What is the workload?")
        s.command("next")
        answer = "Maybe the GPUs are idle a lot. Maybe the batches are small. Maybe the model."
        s.command("hint")
        hint = s.state()["turns"][-1]["text"]
        s.answer(answer)
        state = s.state()
        said = [t["text"] for t in state["turns"][:-1] if t["role"] == "interviewer"]
        last = state["turns"][-1]
        assert last["kind"] == "followup" and last["text"] not in hint
        assert not any(last["text"] in line for line in said)


# -- false challenges (brief: challenges of facts never told) ------------------------------------


def test_a_figure_the_candidate_said_in_clarify_without_its_unit_is_not_challenged() -> None:
    """"SDKs quit at 30" in the candidate's clarify play-back, then "over 30 s" in goals: the
    figure was said before, its unit left to the context (dev-07, dev-adv-42)."""
    case = get_case("finetune-cold-starts")
    goal = "First-request timeouts (over 30 s): effectively zero for LoRA."
    assert untold_use(case, _told(case.id, set()), goal, "goals") == ("sdk_timeouts", "30 s")
    for said in ("Cold is 8-40 s and SDKs quit at 30.",
                 "The apps quit at thirty, so they give up."):
        assert untold_use(case, _told(case.id, set(), said), goal, "goals") is None
    # A number said with a noun of its own is another figure, and so is one with a multiplier.
    assert untold_use(case, _told(case.id, set(), "We run 30 replicas."), goal,
                      "goals") == ("sdk_timeouts", "30 s")
    from agent.probes.react import _bare_numbers, _said_bare

    bare = _bare_numbers("It has 128 experts; prompts go up to 128.")
    assert bare == {128.0}
    assert _said_bare(quantities("128 s")[0], bare)
    assert not _said_bare(quantities("128k tokens")[0], bare)


def test_a_share_the_number_reader_worked_out_is_not_a_figure_the_candidate_gave() -> None:
    """"one task in five" is read as "(20% of task)": a figure the candidate never wrote, which
    matched the 20% of an unrelated fact (dev-adv-16)."""
    case = get_case("compound-ai-json-reliability")
    told = _told(case.id, {"failure_rates"}, case.fact("failure_rates").answer)
    worked = ("The multiplying effect: a few percent per call looks small, but over ten calls "
              "it becomes something like one task in five failing.")
    assert untold_use(case, told, worked, "diagnose") is None
    assert untold_use(case, told, "Each call gets 20% slower with constrained decoding.",
                      "diagnose") == ("overhead", "20%")


def test_the_figures_of_a_plan_step_are_the_candidates_own() -> None:
    """A step of a plan headed by a time ("Weeks one and two:", "Over three to six months:") sets
    its own round figures; the same figure stated as how things are is still challenged
    (dev-adv-12, dev-adv-25, dev-adv-29)."""
    gpu = get_case("gpu-price-shift")
    told = _told(gpu.id, set())
    plan = ("Weeks one and two: publish the new price list, 40% higher on serverless and 25% "
            "higher on dedicated renewals.")
    assert untold_use(gpu, told, plan, "solutions") is None
    assert untold_use(gpu, told, "Spot H100 prices are down 40% this year.",
                      "diagnose") == ("h100_prices", "40%")
    chat = get_case("llama70b-2x-latency")
    for horizon in ("Over three to six months: a low-latency tier for all 70B customers.",
                    "Three to six months: memory for repeated prompts as a normal feature."):
        assert untold_use(chat, _told(chat.id, set()), horizon, "solutions") is None
    assert untold_use(chat, _told(chat.id, set()), "They have been live for six months now.",
                      "diagnose") == ("stage", "six months")  # quoted as said


def test_a_number_with_a_thousands_comma_is_read_whole() -> None:
    """"1,500-token" was split at its comma into "1" and "500-token" (the clause splitter), so a
    fact's 1,500 went unread."""
    case = get_case("batch-inference-cost")
    claim = "Third, every prompt repeats the same 1,500-token instruction block."
    assert untold_use(case, _told(case.id, set()), claim, "diagnose") == ("prompt_shape", "1,500")


def test_everyday_words_do_not_give_a_fact_away() -> None:
    """"about to be used again" shares "used" with "evicts the least recently used": with
    "evict" it made two of the fact's words, enough for a challenge (dev-08)."""
    case = get_case("finetune-cold-starts")
    told = _told(case.id, set(), "So I'll assume adapters are cold-loaded onto shared pools "
                                 "where only 32 fit per replica.")
    claim = ("With 32 adapters per replica and LRU, if more than 32 adapters are active on a "
             "replica you keep evicting ones that are about to be used again, and every "
             "eviction turns into a cold load later.")
    assert untold_use(case, told, claim, "diagnose") is None


def test_a_fact_used_beside_a_point_of_the_candidates_own_is_challenged() -> None:
    """"Quantization is out: their model-risk team hasn't signed off and their regulator
    expects deterministic outputs" uses two facts never told, but says a verdict too: four or
    more of a fact's own words, in a step that says how things are, need less similarity
    (dev-adv-20's prioritize). A solution sharing a fact's words is not a claim of it."""
    case = get_case(CASE)
    told = _told(CASE, set())
    claim = ("Quantization is out: their model-risk team hasn't signed off and their regulator "
             "expects deterministic outputs.")
    found = untold_use(case, told, claim, "prioritize")
    assert found is not None and found[0] in {"precision", "determinism"} and found[1] == ""
    assert untold_use(case, told, claim, "solutions") is None


def test_what_the_recorded_candidate_was_told_is_the_datasets_label_when_it_has_one() -> None:
    """A false challenge is one of a fact the recorded candidate had been told. Read from the
    recorded lines, a fact whose words are mostly common ones reads as told when it was not
    (dev-adv-21: "twice as fast" in the prompt and "time to first token ... tokens per second"
    read as the target "first token under 400 ms and at least 60 tokens per second"); the
    interview's own label (``meta.revealed``) says what its clarify replies gave."""
    from evals.behaviour import recorded_told
    from evals.dataset import Interview

    case = get_case("llama70b-2x-latency")
    turns = [{"role": "interviewer", "step": "clarify", "text": case.prompt},
             {"role": "candidate", "step": "clarify", "text": "What are the numbers today?"},
             {"role": "interviewer", "step": "clarify", "text": case.fact("latency").answer},
             {"role": "candidate", "step": "diagnose", "text": "Decode is slow."}]
    labels = [{"rater": "r1", "steps": {"diagnose": 2}}]
    labelled = Interview(id="x", case=case.id, turns=turns, labels=labels,
                         meta={"revealed": ["latency"]})
    assert recorded_told(labelled, case) == frozenset({"latency"})


def test_a_drill_does_not_challenge_what_its_fact_sheet_told() -> None:
    """A drill of a step after clarify tells the candidate the case's fact sheet (clue facts
    left out) in that step: a figure from it is not "never told", while a clue's is."""
    from agent.practice.drill import briefing

    case = get_case(CASE)
    told = case.fact("timeouts")
    clue = next(f for f in case.facts if f.clue)
    assert told.answer in " ".join(briefing(case).split()) and not told.clue
    with Engine(Settings()) as engine:
        s = engine.start(case, drill="diagnose")
        s.answer("At peak about 3% of calls hit the 1-second client timeout, because requests "
                 "queue while new capacity spins up.")
        assert s.state()["reactions"][-1]["kind"] != "challenge"
        s = engine.start(case, drill="diagnose")
        s.answer(f"{clue.answer} That is why the tail blows up.")
        assert s.state()["reactions"][-1] == {"step": "diagnose", "kind": "challenge",
                                              "fact": clue.id}


# -- follow-ups that read the next sentence (new-user trial, offline) ----------------------------


def test_a_quote_ends_after_a_complete_clause_or_is_not_cut() -> None:
    """The trial saw "…by whether the request went…" and "…the gap is probably…": a quote is
    cut only after a complete clause; a deepen finds another sentence to quote rather than cut
    one mid-phrase."""
    from agent.probes.react import clean_quote

    check = ("I'd check number two first: split the failure logs by whether the request went "
             "to the shared pool or the dedicated one, and compare the error rates.")
    assert quote(check) == clean_quote(check) == "I'd check number two first…"
    gap = ("If our numbers say fixed and they still feel broken, the gap is probably in what we "
           "measure versus what developers actually wait on.")
    # The comma ends only the "if" clause: nothing complete to cut at.
    assert clean_quote(gap) is None
    # A challenge, which must quote it, quotes its last complete clause to the end.
    assert quote(gap) == ("…the gap is probably in what we measure versus what developers "
                          "actually wait on")
    # Before a word that opens a new clause is a complete clause too.
    joined = ("Replicas come up slowly on the shared pool at peak for this customer every "
              "payday morning because the weights load from remote storage.")
    assert clean_quote(joined) == ("Replicas come up slowly on the shared pool at peak for this "
                                   "customer every payday morning…")
    # A heading is not a clause, nor is a list item after one.
    listed = ("Three to six months: a scheduler that places inference and fine-tuning across "
              "pools by price and deadline, built on the hardware profiles.")
    assert clean_quote(listed) == ("Three to six months: a scheduler that places inference and "
                                   "fine-tuning across pools by price and deadline…")
    # Only the hunch to deepen: no deepen rather than a cut quote; with a plain claim beside it,
    # that one is quoted.
    assert deepen("goals", [gap], []) is None
    plain = "Developers say the dashboard is green while their agents time out."
    r = deepen("goals", [f"{gap} {plain}"], [])
    assert r is not None and quote(plain) in r.text


def test_how_to_confirm_is_not_asked_of_an_answer_that_says_how_it_would_check() -> None:
    """The trial quoted "I'd check number two first: split the failure logs by…" and asked how
    to confirm it; on the web it quoted "I think the adapters are loaded from object storage…"
    when the next sentence was "I would check first the load timeline…"."""
    from agent.probes.react import answers_it

    confirm = str(script()["react"]["deepen"]["confirm"]).split("”")[-1]
    guess = "I think the adapters are loaded from object storage on every cold start."
    checked = [f"{guess} I would check first the load timeline of a cold request."]
    itself = ["I'd check number two first: split the failure logs by whether the request went "
              "to the shared pool or the dedicated one."]
    assert confirm in str(deepen("diagnose", [guess], []))
    for answers in (checked, itself):
        r = deepen("diagnose", answers, [])
        assert r is None or confirm not in r.text, r
        # What is deepened instead is the check itself: what would prove them wrong.
        assert r is not None and "check" in r.text.split("”")[0]
        assert r.text.endswith(str(script()["react"]["deepen"]["check_given"]).split("”")[-1])
    # A check with what its result would mean leaves nothing to deepen on it.
    assert deepen("diagnose", [checked[0] + " If the download is most of it, it's storage."],
                  []) is None
    # The rubric's probe asking how to find out is not put to them either...
    rubric = default_rubrics()["diagnose"]
    asks = [c.probe for c in rubric.criteria if answers_it(c.probe, checked)]
    assert asks and not [p for p in asks if not answers_it(p, checked)]
    assert not [c.probe for c in rubric.criteria if answers_it(c.probe, [guess])]
    # ...and refusing to check is no check.
    assert not answers_it(confirm, ["It is the kernels. No need to check anything."])


def test_what_it_costs_is_not_asked_of_an_answer_that_names_its_cost() -> None:
    """`interviewer drill prioritize --case strategic-custom-ask`: "What would you have to give
    up to make this problem go away entirely?" right after "What we lose: maybe the big customer
    is angry…"."""
    from agent.offline import OfflineInterviewer
    from agent.probes.react import respond

    case = get_case("strategic-custom-ask")
    rubric = default_rubrics()["prioritize"]
    give_up = rubric.criterion("prioritize.latency_vs_cost").probe
    choice = ("I'd build the general capability for every customer rather than the one-off for "
              "them, because a fork is something we maintain forever.")
    cost = "What we lose: maybe the big customer is angry and the renewal gets harder."
    state = {"turns": [], "facts_told": []}

    def asked(*answers: str) -> str:
        r = respond(OfflineInterviewer(), case, rubric, "prioritize", state,  # type: ignore[arg-type]
                    list(answers), [], _Sink())
        return r.text if r is not None else ""

    assert asked(choice) == give_up
    assert asked(f"{choice} {cost}") != give_up
    # Giving up nothing names no cost: still asked.
    assert asked(f"{choice} We give up nothing.") == give_up
    # The deepen on a trade-off does not ask what it costs either; it asks when that price
    # would be too high, quoting the cost named.
    tradeoff = str(script()["react"]["deepen"]["tradeoff"]).split("”")[-1]
    r = deepen("prioritize", [f"{choice} {cost}"], [])
    assert r is not None and tradeoff not in r.text and "What we lose" in r.text
    assert deepen("prioritize", [f"{choice} {cost} I'd accept that for a quarter, not longer."],
                  []) is None


def test_a_number_is_not_asked_of_a_sentence_that_has_one_or_is_a_hunch() -> None:
    """"What number would you put on that?" was asked of "All at once in two weeks" (a time
    is a number) and of "If our numbers say fixed and they still feel broken, the gap is
    probably…" (a hunch: how would you confirm it)."""
    react = script()["react"]["deepen"]
    number = str(react["number"]).split("”")[-1]
    soon = deepen_text("validate", "All at once in two weeks.")
    assert soon == str(react["number_given"]).format(quote="All at once in two weeks")
    trial = ("If our numbers say fixed and they still feel broken, the gap is probably in what "
             "we measure versus what developers actually wait on.")
    assert not str(deepen_text("goals", trial)).endswith(number)
    hunch = "The gap is probably in what we measure, not in what developers wait on."
    assert deepen_text("goals", hunch) == str(react["confirm"]).format(quote=quote(hunch))
    # A figure that is neither a target nor a rollout is no number to ask for...
    assert deepen_text("goals", "We run 3 pools for them today and all of them are hot.") is None
    # ...but a plain aim still is.
    aim = "The main goal is to keep the slowest payment checks fast at peak so merchants stay."
    assert str(deepen_text("goals", aim)).endswith(number)


def test_certainty_with_nothing_behind_it_is_challenged_in_the_candidates_words() -> None:
    """"The root cause is definitely the CUDA kernels… 100% sure, no need to check" got the
    generic "What on our side of the platform could be causing this?"."""
    from agent.offline import OfflineInterviewer
    from agent.probes.react import certainty, respond

    case = get_case("llama70b-2x-latency")
    rubric = default_rubrics()["diagnose"]
    sure = "The root cause is definitely the CUDA kernels. I'm 100% sure, no need to check."
    state = {"turns": [], "facts_told": []}
    r = respond(OfflineInterviewer(), case, rubric, "diagnose", state,  # type: ignore[arg-type]
                [sure], [], _Sink())
    assert r is not None and r.kind == "challenge"
    assert "“The root cause is definitely the CUDA kernels”" in r.text
    assert r.text.endswith("if it were not the CUDA kernels?")
    assert r.text not in {c.probe for c in rubric.criteria}
    # It names nothing from the rubric the candidate did not say.
    phrases = rubric_signal_phrases(default_rubrics())["diagnose"]
    assert not [p for p in phrases if first_match([p], r.text) and not first_match([p], sure)]
    # Not twice for the same claim.
    assert certainty("diagnose", [sure], [r.about]) is None
    # What it is sure of ends at its verb: "the CUDA kernels are too old" is sure of the kernels.
    old = certainty("diagnose", ["The root cause is definitely the CUDA kernels are too old, "
                                 "this is 100% sure, no need to check."], [])
    assert old is not None and old.text.endswith("if it were not the CUDA kernels?"), old
    # "that" joining a clause is not what it is sure of: the whole claim is asked about (a
    # trial heard "What would look different if it were not that the model?").
    whole = certainty("diagnose", ["The root cause is obviously that the model is too big for "
                                   "the hardware."], [])
    assert whole is not None and whole.text.endswith("if that were wrong?"), whole
    that_one = certainty("diagnose", ["It's definitely that service doing it."], [])
    assert that_one is not None and that_one.text.endswith(
        "if it were not that service doing it?")
    # A refusal to check after the claim is part of the certainty, not a plan of the
    # candidate's (a second trial: neither was challenged).
    for refused in ("I am certain the schema compiler is the problem, there is zero chance it "
                    "is anything else so we skip measuring.",
                    "Definitely the retries are what cause it, I am 100% sure, we do not need "
                    "to check anything. The batch size is also too small."):
        assert certainty("diagnose", [refused], []) is not None, refused
    # In other words, and sure of no named thing: still challenged, generically.
    plain = certainty("diagnose", ["It has to be their prompts blowing up, full stop."], [])
    assert plain is not None and plain.text == str(script()["react"]["certain"]).format(
        quote="It has to be their prompts blowing up, full stop")
    # A reason or an observation behind it, a softened certainty, or a plan: not challenged.
    for fine in ("The root cause is definitely the CUDA kernels, because the profile shows 80% "
                 "of the time spent in them.",
                 "The root cause is definitely the kernels. The traces we took last week show "
                 "it clearly.",
                 "Contention on the shared pool could definitely be part of it.",
                 "We will definitely ship the fix within two weeks."):
        assert certainty("diagnose", [fine], []) is None, fine


def test_a_quote_drops_a_bullet_and_never_ends_inside_brackets() -> None:
    """A second trial saw "You said “- canary FP8 model 5% traffic per segment (chat…”": the
    list item's bullet was quoted, and the cut fell inside the brackets."""
    from agent.probes.react import clean_quote, quote

    long_item = ("- canary FP8 model on 5% of traffic per segment (chat, agent, long documents, "
                 "batch summaries and code) for two weeks, then widen it if the quality holds")
    q = quote(long_item)
    assert not q.startswith("-") and q.startswith("canary FP8")
    assert q.count("(") == q.count(")"), q
    assert quote("2. Check the queue depth first") == "Check the queue depth first"
    assert clean_quote("- launch in six weeks, quality at the published benchmark") == (
        "launch in six weeks, quality at the published benchmark")
    assert quote("-5% is the drop we saw at peak") == "-5% is the drop we saw at peak"


def test_a_cause_posed_as_a_hypothesis_is_not_challenged_as_a_fact_never_told() -> None:
    """A second trial: "Hypothesis, ranked: ... 2. expert imbalance - routing uneven, some GPU
    hot some idle ... check: per-GPU util + expert token histogram" got "Where does that come
    from? I don't think I told you that.": reasoning one's way to a cause is what diagnosing
    is. The same words stated as a fact are still challenged."""
    from agent.probes.react import challenge
    from agent.semantic.facts import Told

    case = get_case("moe-long-context-onboarding")
    told = Told(facts=frozenset({"product_area", "models"}),
                heard=(case.fact("product_area").answer, case.fact("models").answer))
    fact = case.fact("expert_balance").answer
    posed = (f"Hypothesis, ranked:\n1. memory is too small for the weights.\n2. {fact} "
             "check: per-GPU util and an expert token histogram.")
    r = challenge(case, "diagnose", [posed], told, [])
    assert r is None or r.fact != "expert_balance", r
    stated = challenge(case, "diagnose", [fact], told, [])
    assert stated is not None and stated.fact == "expert_balance"


def test_a_cost_already_there_is_not_the_cost_of_the_choice() -> None:
    """A web trial: "I'd start with the developers who send the most tickets, since that's
    where the pain and the cost are" got "What would tell you that price had got too high?"
    though no price of the choice was named."""
    from agent.probes.react import answers_it

    asks_cost = "What would you have to give up to make this problem go away entirely?"
    there = ("I'd start with the developers who send the most tickets, since that's where the "
             "pain and the cost are. A full tracing product can wait.")
    assert not answers_it(asks_cost, [there])
    assert answers_it(asks_cost, ["The cost is a month of delay for the big account."])


def test_why_that_figure_is_not_asked_of_a_told_figure_or_a_grounded_estimate() -> None:
    """Trial 6: "Why that figure, and what happens if you miss it?" was asked of "…stays under
    half a second…" (the contract's 500 ms, told by the interviewer) and of "I'd guess
    ~1.5-2x, would check with a load test" (it says where the figure comes from and how it is
    checked)."""
    case = get_case(CASE)
    told = [case.prompt, case.fact("latency").answer]
    why = str(script()["react"]["deepen"]["number_given"]).split("”")[-1]
    for step, sentence in (
            ("goals", "The main goal is that the slowest one in a hundred requests stays below "
                      "five hundred milliseconds at the busiest minutes, as we promised."),
            ("validate", "If the slowest requests are still over half a second during the rush, "
                         "or more calls give up than before, I'd switch back.")):
        assert why in str(deepen_text(step, sentence, [sentence])), sentence  # untold: asked
        assert why not in str(deepen_text(step, sentence, [sentence], told)), sentence
    # a figure of the candidate's own beside it is still asked about
    own = "Keep the slowest one in a hundred under 400 ms at peak."
    assert why in str(deepen_text("validate", own, [own], told))
    for grounded in ("A/B it on a slice of their traffic: I'd estimate about 2x faster, and "
                     "I'd confirm that with a benchmark first.",
                     "Hold the error rate under 0.5%, based on last quarter's logs."):
        assert deepen_text("validate", grounded, [grounded]) is None or \
            why not in str(deepen_text("validate", grounded, [grounded])), grounded
    bare = "Move them to the new pool: I'd estimate about 2x faster than today."
    assert why in str(deepen_text("validate", bare, [bare]))


def test_a_risk_named_is_deepened_as_a_risk_not_as_a_cost() -> None:
    """Trial 6: "You said 'Trade-off: we risk the customer reading "no region" as a no'. What
    would tell you that cost had got too high to accept?" — a risk is not a price paid."""
    react = script()["react"]["deepen"]
    choice = ("I'd put them on dedicated capacity in a region we already run, because it is "
              "cheap and fast.")
    risk = "The downside is that the customer might take the competitor's offer instead."
    r = deepen("prioritize", [f"{choice} {risk}"], [])
    assert r is not None
    assert r.text == str(react["risk_given"]).format(quote=quote(risk))
    cost = "The downside is that idle machines cost us margin off-peak."
    r = deepen("prioritize", [f"{choice} {cost}"], [])
    assert r is not None and r.text == str(react["cost_given"]).format(quote=quote(cost))
    # the early sign already said: nothing left to deepen there
    watched = f"{choice} {risk} I'd watch for them asking about exit terms as an early sign."
    assert deepen("prioritize", [watched], []) is None


def test_a_gap_probe_does_not_ask_for_what_the_answer_has_under_a_heading() -> None:
    """Trial 6: "What could you do this week?" of an answer that began "Week 1: FP8, vLLM…",
    and "How would you show the business this was worth it?" of one ending "Business: renewal
    signed, and the long-tail dashboard ships on time."."""
    from agent.offline import OfflineInterviewer
    from agent.probes.react import respond, under_heading

    case = get_case("strategic-custom-ask")
    rubrics = default_rubrics()
    this_week = rubrics["solutions"].criterion("solutions.quick_mitigation").probe
    business = rubrics["validate"].criterion("validate.cost_validation").probe
    state = {"turns": [], "facts_told": []}

    def asked(step: str, answer: str) -> str:
        r = respond(OfflineInterviewer(), case, rubrics[step], step, state,  # type: ignore[arg-type]
                    [answer], ["deepen"], _Sink())
        return r.text if r is not None else ""

    plan = ("Day one: put them on reserved capacity in a region we run. Months two and three: "
            "draft-model support for every customer.")
    assert not under_heading(this_week, [plan.split(". ")[1]])
    assert under_heading(this_week, [plan])
    assert asked("solutions", plan) != this_week
    for words in ("Week 1: reserved capacity for them, and a dashboard of where time goes.",
                  "In the first two weeks I'd give them reserved capacity and a latency chart.",
                  # trial 17: "This week we switch ..." was asked "What could you do this week?"
                  "This week we switch them to reserved capacity."):
        assert under_heading(this_week, [words]), words
    assert not under_heading(this_week, ["This week is busy for them."])
    check = ("Compare their tail latency on the new pool against the old one over two weeks of "
             "peaks, with a rollback ready.")
    assert asked("validate", check) == business  # nothing about the business: asked
    for heading in ("Business: the renewal gets signed on time.",
                    "Revenue: the renewal gets signed on time."):
        assert under_heading(business, [f"{check} {heading}"]), heading
        assert asked("validate", f"{check} {heading}") != business, heading
    # what the question asks beyond is not what it asks for; a heading of something else
    # says nothing of it
    healthy = rubrics["goals"].criterion("goals.throughput_and_reliability").probe
    assert not under_heading(healthy, ["Headline number: p95 under 150 ms at our edge."])
    assert under_heading(healthy, ["Guardrails: error rate and the shared pool's p95 for others."])
    relief = rubrics["solutions"].criterion("solutions.medium_term_optimizations").probe
    assert not under_heading(relief, ["Immediately: reserved capacity for them at peak."])
    assert not under_heading(this_week, ["Month 2: a draft model for every customer."])


def test_a_fact_never_told_is_challenged_beside_a_target_of_the_candidates_own() -> None:
    """Trial 6: "right now about 3 in 100 hit their one-second limit and I'd want that close to
    zero" quotes a fact never told (3% of calls time out at peak); the target after it ("I'd
    want…") did not make the stated figure a target, and "3 in 100" is a share stated."""
    case = get_case(CASE)
    told = _told(CASE, {"latency", "latency_now", "scale"},
                 *(case.fact(f).answer for f in ("latency", "latency_now", "scale")))
    said = ("Second, fewer calls giving up: right now about 3 in 100 hit their one-second limit "
            "and I'd want that close to zero.")
    assert untold_use(case, told, said, "goals") == ("timeouts", "3 in 100")
    r = challenge(case, "goals", [said], told, [])
    assert r is not None and r.fact == "timeouts" and "3 in 100" in r.text
    # a target of the candidate's own with that figure is still theirs
    for target in ("I'd want fewer than 3 in 100 calls to hit their one-second limit.",
                   "Keep timeouts under 3% and I'd want that close to zero."):
        assert untold_use(case, told, target, "goals") is None, target
    # "the slowest 1 in 100" names the tail, it states no share
    assert untold_use(case, told, "Right now the slowest 1 in 100 wait too long.", "goals") \
        is None


def test_a_figure_nobody_gave_stated_as_how_things_are_is_challenged_once() -> None:
    """Trial 6: "Our p99 is 40 ms" (train-deploy-one-stack: nobody gave a latency figure) was
    repeated three times and never challenged: only figures on the fact sheet were."""
    from agent.probes.react import invented

    case = get_case("train-deploy-one-stack")
    given = [case.prompt]
    line = str(script()["react"]["invented"])
    said = "Our p99 is 40 ms so latency is fine; the fix is FP8 everywhere."
    r = challenge(case, "diagnose", [said], _told(case.id, set()), [], given=given)
    assert r is not None and r.kind == "challenge" and r.text == line.format(figure="40 ms")
    assert r.about.startswith("invented:")
    # once per figure, in any step and in other words
    again = "No need to test: their p99 is forty milliseconds, so we ship it to everyone."
    assert challenge(case, "validate", [again], _told(case.id, set()), [r.about],
                     given=given) is None
    for stated in ("Their traffic is 2,000 QPS at peak.",
                   "Right now 90% of checkpoints already deploy with us."):
        assert invented(case, given, stated) is not None, stated
    for own in ("I'd assume their traffic is 2,000 QPS at peak.",   # hedged
                "Their traffic is maybe 2,000 QPS at peak.",
                "Their p99 is ~40 ms at peak.",
                "Goals: p99 40 ms, 99.99% uptime, 10x throughput.",   # a target
                "We want their p99 under 40 ms.",
                "Canary it on 10% of their traffic for two weeks.",   # a rollout
                "Cost per thousand requests at most a fifth above today."):
        assert invented(case, given, own) is None, own
    # a figure the interviewer gave, worked out from given ones, or inside a range given is
    # no one's invention
    fintech = get_case(CASE)
    told = [fintech.prompt, fintech.fact("latency_now").answer, fintech.fact("latency").answer]
    for fine in ("Their p99 at peak is 1.8 seconds today.",
                 "Their p99 is 350 ms off-peak, so quiet times are fine.",
                 "Our p99 is 150 ms over the contract at off-peak."):
        assert invented(fintech, told, fine) is None, fine
    # what the candidate assumed in clarify is theirs to use later
    from agent.probes.react import figures_given

    state = {"turns": [{"role": "candidate", "step": "clarify", "kind": "answer",
                        "text": "I'll assume their traffic is about 2,000 QPS at peak."}],
             "facts_told": []}
    assert invented(case, figures_given(state, case), "Their traffic is 2,000 QPS.") is None


def test_a_sheet_limit_stated_as_how_things_are_is_challenged() -> None:
    """Trial 8: "Our cold start is 2 s right now" (finetune-cold-starts: the sheet has cold
    starts of 8 to 40 seconds; 2 seconds is what customers would accept) was never challenged:
    a limit on the sheet was taken as a figure it gives, and so was "2,000 adapters" for 2 s."""
    from agent.probes.react import invented

    case = get_case("finetune-cold-starts")
    given = [case.prompt]
    assert invented(case, given, "Our cold start is 2 s right now, it's all S3 download time.") \
        == ("time2000", "2 s")
    # a figure the sheet gives as how things are is the untold-fact challenge's, not this one's
    for sheet in ("Our cold start is 8 to 40 seconds today.",
                  "Today about 2,000 adapters get a request each hour."):
        assert invented(case, given, sheet) is None, sheet


def test_assumptions_that_contradict_the_sheet_or_invent_figures_are_not_just_accepted() -> None:
    """Trial 6: "Our p99 is 40 ms and 90% of checkpoints already deploy with us, so it's just
    polish." (the sheet: about 35%; no latency figure anywhere) got "Thanks, let's work with
    those assumptions.", and the 40 ms was never challenged. A non-clue fact is corrected as a
    question about it would have been answered; a clue is questioned without telling it; a
    figure nobody gave is challenged once, in clarify, and not again later."""
    lines = script()["react"]
    accept = str(script()["clarify_pacing"]["after_assumptions"])
    case = get_case("train-deploy-one-stack")
    rate = case.fact("deploy_rate")
    assert not rate.clue
    with Engine(Settings()) as engine:
        s = engine.start(case)
        s.answer("How many fine-tuning jobs a month?")
        s.answer("Great. I know the rest. Our p99 is 40 ms and nine in ten checkpoints already "
                 "deploy with us, so it's just polish. Let's go.")
        state = s.state()
        opener = state["turns"][-1]
        assert opener["step"] == "diagnose" and not opener["text"].startswith(accept)
        assert rate.answer.strip() in opener["text"]
        assert "where does “40 ms” come from" in opener["text"].lower()
        assert "deploy_rate" in state["facts_told"]
        s.answer("It's the serving stack. Our p99 is 40 ms so latency is fine; the fix is FP8.")
        state = s.state()
        assert "40 ms" not in state["turns"][-1]["text"]  # challenged once, in clarify
    # a clue is never told this way: questioned, without its fact
    batch = get_case("batch-inference-cost")
    clue = batch.fact("utilization")
    assert clue.clue
    with Engine(Settings()) as engine:
        s = engine.start(batch)
        s.answer("I'll assume they use their GPUs about twenty hours a day, so there's no idle.")
        state = s.state()
        text = state["turns"][-1]["text"]
        assert text.startswith(str(lines["assumed_doubt"]).split("“")[0])
        assert "seven" not in text and "7" not in text
        assert "utilization" not in state.get("facts_told", [])
    # assumptions that agree with the sheet, or name no figure, are accepted
    fintech = get_case(CASE)
    for fine in ("I'll assume they share machines with other customers and requests wait "
                 "in one line.",
                 "I'll assume peaks are around 1,500 requests per second."):
        with Engine(Settings()) as engine:
            s = engine.start(fintech)
            s.answer(fine)
            assert s.state()["turns"][-1]["text"].startswith(accept), fine


def test_an_assumption_against_a_settled_premise_is_corrected_as_clarify_ends() -> None:
    """Trial 17: "I'll assume they run on 200 A100s ..." on a case whose replicas run on H100s
    got "Thanks, let's work with those assumptions." The premise check's dimensions (the GPUs,
    the model's size, the traffic mode...) now correct it with the fact that settles it."""
    accept = str(script()["clarify_pacing"]["after_assumptions"])
    fintech = get_case(CASE)
    with Engine(Settings()) as engine:
        s = engine.start(fintech)
        s.answer("What's the peak QPS?")
        s.answer("OK, I'll assume they run on A100s, and latency is what's hurting.")
        state = s.state()
    opener = state["turns"][-1]
    assert opener["step"] == "diagnose" and not opener["text"].startswith(accept)
    assert fintech.fact("hardware").answer.strip() in opener["text"]
    assert "hardware" in state["facts_told"]
    with Engine(Settings()) as engine:
        s = engine.start(fintech)
        s.answer("OK, I'll assume they run on H100s.")
        assert s.state()["turns"][-1]["text"].startswith(accept)


def test_a_challenged_figure_is_quoted_as_the_candidate_said_it() -> None:
    """A designer's trial and trial 9: "Where does the 9000000 dollars come from?" for "9
    million dollars", and "Where does the 6 nodes come from?" for "six nodes"; and trial 9: a
    count the interviewer gave ("2,000 adapters") excused an invented "2 s" (read as 2000 ms)."""
    from agent.probes.react import invented

    case = get_case("finetune-cold-starts")
    given = [case.prompt, case.fact("active_adapters").answer, case.fact("latency").answer]
    assert invented(case, given, "They run on six nodes today.") == ("gpu48", "six nodes")
    assert invented(case, given, "Our cold start is 2 s right now, it's all S3 download.") \
        == ("time2000", "2 s")
    line = str(script()["react"]["invented"])
    r = challenge(case, "diagnose", ["We make 9 million dollars a year from them today."],
                  _told(case.id, set()), [], given=given)
    assert r is not None and r.text == line.format(figure="9 million dollars"), r


def test_a_plan_laid_out_over_time_is_not_asked_to_sequence_or_to_remove_the_cause() -> None:
    """Trial 9: "How would you sequence this, from the first step onward?" was asked of
    "Week 1: … Month 1: … Quarter 2: …", and "Beyond the immediate relief, what would actually
    remove the cause?" of "This month: … Next quarter: … In a year: …"."""
    from agent.probes.react import under_heading

    weeks = ["Week 1: FP8 and vLLM upgrades. Month 1: prefix caching for all tenants. "
             "Quarter 2: a latency tier."]
    year = ["This month: move batch to spot. Next quarter: order new-generation GPUs. In a "
            "year: never lock more than half the fleet into three-year terms."]
    for plan in (weeks, year):
        assert under_heading("How would you sequence this, from the first step onward?", plan)
        assert under_heading("Beyond the immediate relief, what would actually remove the "
                             "cause?", plan)
        assert under_heading("What could you do this week?", plan)
    # one time heading is no sequence, and no lasting fix
    one = ["Week 1: FP8 everywhere."]
    assert not under_heading("How would you sequence this, from the first step onward?", one)
    assert not under_heading("Beyond the immediate relief, what would actually remove the "
                             "cause?", one)


def test_no_authored_probe_presumes_a_list() -> None:
    """Issue 10: "Of everything you've listed, where would you look first?" was asked after a
    single vague idea. A gap probe is asked whatever the answer holds, so none presumes that
    the candidate listed several things."""
    import re

    from agent.rubrics import default_rubrics

    presumes = re.compile(r"\b(?:you'?ve listed|everything you|all of these|of these)\b", re.I)
    probes = [c.probe for r in default_rubrics().rubrics.values() for c in r.criteria]
    assert [p for p in probes if presumes.search(p)] == []


def test_trial_10_follow_ups_do_not_ask_for_what_was_just_said() -> None:
    """Trial 10 (a plain-spoken PM on moe-long-context-onboarding): "Why that figure?" of a
    figure worked out in its own sentence; "What would make sure we never have this
    conversation again?" of a plan headed "Three to six months:"; "128k", which the case's
    title gives, challenged as nobody's; "the deals are worth 20 million dollars" (never
    given) not challenged."""
    from agent.probes.react import figures_given, invented, said_to_candidate, under_heading

    reasoned = ("We need about three times more work from each GPU, because today we do only "
                "one third of what we need.")
    assert deepen_text("goals", reasoned, [reasoned]) is None
    bare = "We need about three times more work from each GPU for the launch."
    assert "Why that figure" in (deepen_text("goals", bare, [bare]) or "")
    never_again = "What would make sure we never have this conversation again, with any customer?"
    plan = ("First two weeks: load the weights in FP8. One to three months: tune the kernels. "
            "Three to six months: make a normal process to add any new model type fast.")
    assert under_heading(never_again, [plan])
    assert not under_heading(never_again, [plan.rsplit(". ", 1)[0] + "."])
    case = get_case("moe-long-context-onboarding")
    state: dict[str, object] = {"turns": [], "facts_told": []}
    title_figure = "Our stack can't handle 128k context today, it was built for short prompts."
    heard = said_to_candidate(state, "diagnose", case)  # type: ignore[arg-type]
    assert untold_use(case, heard, title_figure, "diagnose") is None
    assert untold_use(case, Told(frozenset(), (case.prompt,)), title_figure, "diagnose") \
        == ("latency", "128k")
    given = figures_given(state, case)  # type: ignore[arg-type]
    assert invented(case, given, "The enterprise deals are worth 20 million dollars ARR.") \
        == ("$2e+07", "20 million dollars")
    assert invented(case, given, "The deals would be worth more if we shipped fast.") is None


def test_our_side_probe_acknowledges_a_cause_already_put_on_our_side() -> None:
    """Trial 10: "What on our side of the platform could be causing this?" was asked right
    after "Our system is made for models that fit in one machine" and after "no server-side
    validate/retry", as if neither had been said."""
    from agent.offline import besides

    probe = "What on our side of the platform could be causing this?"
    for named in ("Our system is made for models that fit in one machine.",
                  "Top suspect: fallback path. Third: no server-side validate/retry.",
                  # trial 11
                  "The checkpoint format isn't what the serving engine loads, and there's no "
                  "registry."):
        assert besides(probe, [named]) == ("Besides what you've named, what else on our side "
                                           "of the platform could be causing this?"), named
    for other in ("I think it's their prompts. Our GPUs are fine.",
                  "The stack is not the problem; their inputs got longer.",
                  "Maybe their traffic grew."):
        assert besides(probe, [other]) == probe, other
    other_probe = "Is there anything on the customer's side that could be contributing?"
    assert besides(other_probe, ["Our system is slow."]) == other_probe


def test_an_assumption_that_denies_a_fact_in_words_is_corrected() -> None:
    """Trial 10: told "Multi-node serving only exists for training today.", the candidate said
    "I assume multi-node serving is already production-grade on our stack." and got "Thanks,
    let's work with those assumptions." An assumption that affirms, in words, what a fact
    denies is corrected with the fact; one that agrees with it, or plans to change it, is
    accepted."""
    from agent.probes.react import denied_fact

    accept = str(script()["clarify_pacing"]["after_assumptions"])
    case = get_case("moe-long-context-onboarding")
    fact = case.fact("multi_node")
    assert not fact.clue
    with Engine(Settings()) as engine:
        s = engine.start(case)
        s.answer("Can we serve across multiple nodes today?")
        s.answer("I assume multi-node serving is already production-grade on our stack.")
        opener = s.state()["turns"][-1]
        assert opener["step"] == "diagnose" and not opener["text"].startswith(accept)
        assert fact.answer.strip() in opener["text"]
    assert denied_fact(case, "I assume multi-node serving is already production-grade.") \
        == ("multi_node", "multi-node serving is already production-grade.")
    # trial 11: "I will assume ..." is no plan, and "Presumably ..." states an assumption
    assert denied_fact(case, "I will assume multi-node serving is already production-grade.")
    assert denied_fact(case, "Presumably multi-node serving is already solid for inference.")
    for fine in ("I assume multi-node serving only exists for training.",
                 "We will build multi-node serving for inference.",
                 "I assume we want multi-node serving for inference."):
        assert denied_fact(case, fine) is None, fine
    batch = get_case("batch-inference-cost")
    assert denied_fact(batch, "I assume per-request latency matters a lot.") is not None
    assert denied_fact(batch, "I assume per-request latency doesn't matter.") is None
    # Trial 12: a lever assumed open to us is no claim that the sheet's "no reserved capacity"
    # denies; having it now is.
    fintech = get_case("fintech-p99-spikes")
    assert denied_fact(fintech, "We can reserve capacity on our side.") is None
    assert denied_fact(fintech, "We already have reserved capacity for them.") is not None
    assert denied_fact(case, "I assume we can already do multi-node serving in production.") \
        is not None
    assert denied_fact(batch, "I'll treat per-request latency as irrelevant.") is None


def test_trial_11_a_chosen_size_is_no_untold_fact_and_a_share_is_quoted_whole() -> None:
    """Trial 11: "First month: cap context at 32k for the long tail" was challenged as a fact
    never told (a power of two is a size chosen, as a multiple of five is), and a challenge
    quoted "one third of" (cut after "of")."""
    from agent.probes.react import invented

    case = get_case("moe-long-context-onboarding")
    heard = Told(frozenset(), (case.title, case.prompt))
    assert untold_use(case, heard, "First month: cap context at 32k for the long tail.",
                      "solutions") is None
    assert untold_use(case, heard, "Today most requests are above 32k tokens.",
                      "diagnose") is not None
    gpu = get_case("gpu-price-shift")
    found = invented(gpu, [gpu.title, gpu.prompt], "Today we do only one third of what we need.")
    assert found is not None and found[1] == "one third"


def test_no_outcome_question_after_a_pass_mark_and_a_stop_were_given() -> None:
    """Trial 12: "What result would you need to see to go further, and what would make you
    stop?" came right after "Pass = p99 < 500 ms" and "Revert in minutes if p99 regresses"."""
    rollout = "Canary: one pool first, 10% of traffic."
    both = ["Load test: replay last payday trace, 5x ramp in 2 min. Pass = p99 < 500 ms.",
            rollout, "Revert in minutes if p99 regresses."]
    assert deepen_text("validate", rollout, both) is None
    # A pass mark alone, or nothing said of either, still gets the question.
    for answers in ([rollout], both[:2]):
        asked = deepen_text("validate", rollout, answers)
        assert asked is not None and "what would make you stop" in asked, answers


def test_the_same_deepening_question_is_not_asked_again_on_another_quote() -> None:
    # A new-user trial heard "What result would you need to see to go further, and what would
    # make you stop?" in goals and again in validate, each time on another quote.
    react = script()["react"]["deepen"]
    first = ["Keep the slowest checks fast at peak so that merchants stay with us."]
    asked = deepen("goals", first, [])
    assert asked is not None and asked.text == str(react["number"]).format(quote=quote(first[0]))
    later = ["A/B test on a slice of traffic, watch p99 against GPU utilisation, roll back."]
    said = [asked.text]
    again = deepen_text("validate", later[0])
    assert again is not None and again.endswith(asked.text.rpartition("”")[2])
    assert deepen("validate", later, [], said=said) is None
    # another question, on the same words, is still asked
    assert deepen("validate", later, []) is not None


def test_an_answer_that_only_lists_terms_is_asked_which_matters_and_why() -> None:
    # A new-user trial's keyword salad ("Root causes: autoscaling lag, noisy neighbours, cold
    # starts, ...") met every diagnose criterion in part by its words and was let through.
    from agent.probes.react import listed_only

    listed = ("Root causes: autoscaling lag, noisy neighbours, cold starts, KV cache pressure, "
              "queueing, retries, network.")
    assert listed_only([listed]) and listed_only(["- autoscaling lag\n- cold starts\n- KV cache"])
    assert not listed_only(["Autoscaling."]) and not listed_only(["Autoscaling lag and retries."])
    assert not listed_only(["Autoscaling lags the spikes, so replicas come up late, and queues "
                            "build."])
    with Engine(Settings()) as engine:
        s = engine.start(get_case(CASE))
        s.answer("Which GPUs?")
        s.command("next")
        s.answer(listed)
        state = s.state()
        assert state["reactions"][-1] == {"step": "diagnose", "kind": "gap"}
        assert state["turns"][-1]["text"] == script()["react"]["listed"]
        # the same list again: asked about what it leaves unmet, not the same question twice
        s.answer(listed)
        assert s.state()["turns"][-1]["text"] != script()["react"]["listed"]
        assert s.state()["turns"][-1]["kind"] == "followup"


def test_a_catch_named_in_a_plan_is_asked_for_its_early_sign_not_how_it_works() -> None:
    # Stop 34's trial: "You said “The catch is that they may not accept waiting for the
    # region…”. How would that work in practice, step by step?"
    react = script()["react"]["deepen"]
    catch = "The catch is that they may not accept waiting for the region, which takes a quarter."
    assert deepen_text("solutions", catch) == str(react["risk_given"]).format(quote=quote(catch))
    built = "Next month we stream the weights from local disk so a new replica loads in seconds."
    assert deepen_text("solutions", built) == str(react["mechanism"]).format(quote=quote(built))
    watched = [catch, "We'd watch for them asking about exit terms as an early sign."]
    assert deepen_text("solutions", catch, watched) is None


def test_a_quote_that_names_nothing_is_not_deepened() -> None:
    # Stop 34's trial: "You said “I'd check the first one first…”. What result would tell you
    # that you're wrong?"
    vague = ("I'd check the first one first, then look at the autoscaler logs for the spike "
             "window and the queue depth at peak.")
    assert deepen_text("diagnose", vague) is None
    named = "Replicas come up slowly because the weights load from remote storage."
    assert deepen_text("diagnose", named) is not None
