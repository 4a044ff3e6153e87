"""Feedback and report behaviour: skipped steps, the evidence check, stored judge scores, coach
mode's hints and notes, and the report's rendering. Model endpoints are faked at the wire."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from agent.cases import get_case
from agent.config import Settings
from agent.engine import Engine
from agent.evidence import check_quotes
from agent.feedback import note_said
from agent.probes.hints import followup_hint, open_followup
from agent.prompts import script
from agent.report import Report, json_schema, to_json, to_markdown
from agent.report_html import to_html
from agent.rubrics import default_rubrics
from agent.scores import overall
from agent.state import InterviewState, Turn
from agent.steps import STEPS
from agent.trace import render_text
from tests.conftest import run_cli
from tests.helpers import refused_script_without, stdin_of
from tests.wire import URL, FakeModel

CASE = get_case("fintech-p99-spikes")
LLM = Settings(base_url=URL, api_key="k", model="m", max_retries=0)
SAID = "I'd keep a warm pool because autoscaling lags the spikes."


def levels_with_quote(body: dict[str, Any], level: int = 2) -> str:
    """A judge verdict: every criterion at ``level``, quoting the candidate's last sentence."""
    ids = re.findall(r"- id: (\S+)", body["messages"][1]["content"])
    quote = "What is the QPS" if ids[0].startswith("clarify") else "keep a warm pool"
    return json.dumps({"criteria": [{"id": i, "level": level, "rationale": "r",
                                     "quotes": [quote]} for i in ids]})


# -- 1. a step passed with /next and no answer is penalised, not dropped ---------------------

def test_next_without_answering_scores_the_step_as_skipped(home: Path) -> None:
    with Engine(Settings()) as engine:
        session = engine.start(CASE)
        session.answer("What is the QPS?")
        session.answer("I'll assume real-time inference with a 500 ms p99 target.")
        for _ in range(8):
            if session.finished():
                break
            session.command("next")
        assert session.finished()
        report = session.report()
    by = {s.step: s for s in report.steps}
    assert report.status == "completed" and not report.provisional
    assert all(s.status != "not_reached" for s in report.steps)
    for step in STEPS[1:]:
        assert by[step].status == "skipped" and by[step].score == 1.0
        assert all(c.level == 1 and c.rationale.startswith("No answer") for c in by[step].criteria)
    # The skipped steps pull the overall down: it is the weighted mean over all seven.
    assert report.overall == overall(report.steps)
    scored_only = overall([by["clarify"], by["cross_cutting"]])
    assert report.overall is not None and scored_only is not None
    assert report.overall < scored_only
    assert "no answer to diagnose root causes" in report.practice[0]
    md = to_markdown(report)
    assert "Diagnose root causes (no answer)" in md and "not reached" not in md.lower()


def test_a_skipped_step_is_worded_for_the_skip_button_and_the_command_alike(home: Path) -> None:
    """A web user clicks Skip, a terminal user types /skip: the score's reason names neither
    (the transcript still shows the turn as the command)."""
    with Engine(Settings()) as engine:
        session = engine.start(CASE)
        session.answer("Who is the customer?")
        session.command("next")                 # clarify done
        session.command("skip")                 # diagnose skipped without an answer
        report = session.report()
    [diagnose] = [s for s in report.steps if s.step == "diagnose"]
    assert diagnose.status == "skipped"
    assert all("/skip" not in c.rationale for c in diagnose.criteria)
    for text in (to_markdown(report), to_html(report)):
        assert "No answer: the candidate skipped it, so this scores 1 (missing)." in text
        assert "with /skip" not in text


def test_in_progress_session_keeps_not_reached_for_steps_ahead(home: Path) -> None:
    with Engine(Settings()) as engine:
        session = engine.start(CASE)
        session.answer("Who is the customer?")
        session.command("next")                 # clarify done
        session.command("next")                 # diagnose passed without an answer
        assert session.step() == "goals"
        report = session.report()
    status = {s.step: s.status for s in report.steps}
    assert status["clarify"] == "scored" and status["diagnose"] == "skipped"
    assert status["goals"] == "not_reached" and status["validate"] == "not_reached"
    assert report.provisional and report.band is not None
    assert "provisional" in to_markdown(report) and "provisional" in to_html(report)


# -- 2. the evidence check -------------------------------------------------------------------

SAYS = ["Honestly, we do not need a warm pool. Autoscaling is fine for now.",
        "The bottleneck is the tokenizer, not the GPUs at all."]


@pytest.mark.parametrize("quote", [
    "we ... need a warm pool",                      # stitched quote that flips the meaning
    "a...u...t...o",                                # letters stitched together
    "autoscaling is fine for now ... the bottleneck is the tokenizer",   # spans two answers
    "autoscaling is fine for now ... we do not need",                    # out of order
    "we do not need a ... need a warm pool",        # fragments overlap
    "do not need a warm pool ... pool. Autoscaling",  # short fragment after the ellipsis
    "arm pool",                                     # inside a word
    "e do not need",                                # starts mid-word
    "Autoscaling is fine for now. The bottleneck",  # runs from one answer into the next
])
def test_quotes_that_are_not_the_candidates_words_are_dropped(quote: str) -> None:
    checked = check_quotes([quote], SAYS)
    assert checked.verified == [] and checked.dropped == 1


@pytest.mark.parametrize("quote", [
    "“We do NOT need   a warm pool.”",              # case, spacing, quotation marks
    "Honestly, we do not need ... autoscaling is fine for now",   # in order, one answer
    "the bottleneck is the tokenizer",
    "we don’t need",
])
def test_the_candidates_own_words_are_kept(quote: str) -> None:
    says = [*SAYS, "Well, we don't need more."]
    assert check_quotes([quote], says).verified, quote


def test_a_quote_with_an_ellipsis_the_candidate_typed_is_verbatim() -> None:
    said = ["Hmm... I'd add a warm pool."]
    assert check_quotes(["Hmm... I'd add a warm pool"], said).verified


# -- 3. `interviewer report` reuses the session's stored judge scores ------------------------

def llm_session(home: Path) -> tuple[str, Report, FakeModel]:
    fake = FakeModel(judge=levels_with_quote)
    with respx.mock:
        respx.post(f"{URL}/chat/completions").mock(side_effect=fake)
        with Engine(LLM, http_client=httpx.Client()) as engine:
            session = engine.start(CASE)
            session.answer("What is the QPS?")
            session.command("next")
            session.answer(SAID * 5)
            report = session.report()
            return session.id, report, fake


def test_a_report_without_an_endpoint_uses_the_stored_judge_scores(home: Path,
                                                                    backend: str) -> None:
    sid, first, fake = llm_session(home)
    assert first.scorer.type == "llm" and fake.judge_bodies()
    with Engine(Settings()) as engine:                     # no endpoint configured now
        again = engine.open(sid, lock=False).report()
    assert again.scorer.type == "llm" and again.scorer.model == "m"
    assert [s.score for s in again.steps] == [s.score for s in first.steps]
    assert again.steps[0].criteria[0].evidence == ["What is the QPS"]
    assert any("stored" in n and "not re-scored" in n for n in again.scorer.notes)
    assert "not re-scored" in to_markdown(again)
    # Asked to, it re-scores offline.
    with Engine(Settings()) as engine:
        fresh = engine.open(sid, lock=False).report(rescore=True)
    assert fresh.scorer.type == "offline" and fresh.steps[0].scorer == "offline"
    assert any("Re-scored" in n for n in fresh.scorer.notes)


def test_only_steps_without_a_stored_judge_score_are_scored_again(home: Path,
                                                                   backend: str) -> None:
    sid, first, _ = llm_session(home)
    with Engine(Settings()) as engine:
        engine.store.query("DELETE FROM scores WHERE session_id=? AND step='clarify'", (sid,))
        mixed = engine.open(sid, lock=False).report()
    assert mixed.scorer.type == "mixed"
    assert mixed.steps[0].scorer == "offline" and mixed.steps[1].scorer == "llm"
    assert any("clarify" in n and "scored offline" in n for n in mixed.scorer.notes)
    # With the endpoint, stored verdicts are reused and only the missing step is judged.
    fake = FakeModel(judge=levels_with_quote)
    with respx.mock:
        respx.post(f"{URL}/chat/completions").mock(side_effect=fake)
        with Engine(LLM, http_client=httpx.Client()) as engine:
            engine.store.query("DELETE FROM scores WHERE session_id=? AND step='clarify'",
                               (sid,))
            report = engine.open(sid, lock=False).report()
    judged = [re.findall(r"- id: (\S+)", b["messages"][1]["content"])[0]
              for b in fake.judge_bodies()]
    assert len(judged) == 1 and judged[0].startswith("clarify")
    assert report.scorer.type == "llm" and report.steps[0].score == first.steps[0].score


# -- 4. /hint gives a nudge, never the rubric, and moves on ----------------------------------

def test_hints_name_no_rubric_content_and_move_on(home: Path) -> None:
    rubric = default_rubrics()["diagnose"]
    with Engine(Settings()) as engine:
        session = engine.start(CASE, mode="coach")
        session.answer("I'll assume real-time inference at 1,500 QPS peak, 500 ms p99.")
        assert session.step() == "diagnose"
        hints = []
        for _ in range(len(rubric.criteria) + 1):
            session.command("hint")
            hints.append(session.state()["turns"][-1]["text"])
    probes = [c.probe for c in rubric.criteria]
    gaps = len(rubric.criteria)
    assert len(set(hints[:gaps])) == gaps                  # a new nudge each time
    for h in hints[:gaps]:
        assert h.removeprefix("Hint: ") in probes
        for c in rubric.criteria:
            assert c.name.lower() not in h.lower()          # e.g. "capacity, scheduling and..."
            assert c.levels[3] not in h
    assert hints[0] == f"Hint: {max(rubric.criteria, key=lambda c: c.weight).probe}"
    assert "last hint" in hints[-1]


def test_a_hint_while_a_follow_up_is_open_is_about_answering_it_then_the_gaps(
        home: Path) -> None:
    # A new-user trial's /hint after a follow-up hinted at the step's gap, not at the question
    # on the table. Now the first /hint says how to answer that question; the next goes back
    # to the step's gaps.
    rubric = default_rubrics()["diagnose"]
    listed = script()["react"]["listed"]
    with Engine(Settings()) as engine:
        session = engine.start(CASE, mode="coach")
        session.answer("I'll assume real-time inference at 1,500 QPS peak, 500 ms p99.")
        session.answer("Root causes: autoscaling lag, noisy neighbours, cold starts, KV cache "
                       "pressure, queueing, retries, network.")
        assert session.state()["turns"][-1]["text"] == listed
        session.command("hint")
        first = session.state()["turns"][-1]["text"]
        session.command("hint")
        second = session.state()["turns"][-1]["text"]
    assert first == script()["hint_followup"]["listed"]
    assert first.startswith("Hint: pick one item")
    assert second.removeprefix("Hint: ") in [c.probe for c in rubric.criteria]


def test_which_follow_up_is_open_and_the_nudge_for_it() -> None:
    nudges = script()["hint_followup"]
    opener = Turn(role="interviewer", step="solutions", kind="opener", text="What would you do?")
    said = Turn(role="candidate", step="solutions", kind="answer", text="Pin a warm pool.")
    deepen = str(script()["react"]["deepen"]["risk_given"]).format(quote="Pin a warm pool")
    asked = Turn(role="interviewer", step="solutions", kind="followup", text=deepen)
    hint = Turn(role="interviewer", step="solutions", kind="hint", text="Hint: ...")
    command = Turn(role="candidate", step="solutions", kind="command", text="/hint")
    state: InterviewState = {"turns": [opener, said, asked],
                             "reactions": [{"step": "solutions", "kind": "deepen"}]}
    assert open_followup(state, "solutions") == deepen
    assert followup_hint(state, "solutions", deepen) == nudges["deepen.risk_given"]
    # answered, or hinted at already (a /hint command in between changes nothing), or the
    # step's opener on the table: no follow-up is open
    assert open_followup({"turns": [opener, said, asked, said]}, "solutions") is None
    assert open_followup({"turns": [opener, said, asked, command, hint]}, "solutions") is None
    assert open_followup({"turns": [opener]}, "solutions") is None
    assert open_followup({"turns": [opener, said, asked]}, "validate") is None
    # a model's own words: the nudge for the follow-up's kind
    own = "Walk me through how the rollback would actually be triggered."
    assert followup_hint(state, "solutions", own) == nudges["deepen"]
    state["reactions"] = [{"step": "solutions", "kind": "challenge"}]
    assert followup_hint(state, "solutions", own) == nudges["challenge"]
    # clarify's last-question line is a follow-up with no reaction behind it
    last = str(script()["clarify_pacing"]["ask_assumptions"])
    assert followup_hint({"turns": []}, "clarify", last) == nudges["ask_assumptions"]
    # no line names what the rubric looks for
    for criterion in (c for r in default_rubrics().rubrics.values() for c in r.criteria):
        for line in nudges.values():
            assert criterion.name.lower() not in line.lower()


def test_a_script_without_a_follow_up_hint_kind_is_refused_at_load(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    message = refused_script_without(tmp_path, monkeypatch, '  deepen: "Hint')
    assert "hint_followup.deepen" in message


# -- 5. strong-answer notes only for what was missed -----------------------------------------

def test_notes_the_candidate_already_covered_are_not_shown(home: Path) -> None:
    note = CASE.strong_answer["diagnose"][0]
    assert note_said(note, [note]) and not note_said(note, ["Maybe the servers are slow."])
    with Engine(Settings()) as engine:
        session = engine.start(CASE, mode="coach")
        session.answer("I'll assume real-time inference at 1,500 QPS peak, 500 ms p99.")
        session.answer(note + ".")
        session.command("next")
        coach = [t["text"] for t in session.state()["turns"] if t["kind"] == "coach"][-1]
        report = session.report()
    diagnose = report.steps[1]
    assert note not in diagnose.strong_answer and note not in coach
    assert diagnose.strong_answer                          # the rest of the notes still show
    # One model answer, what the answers missed in bold: no list of the same notes before it.
    md = to_markdown(report)
    assert "What a strong answer would have added" not in md
    section = md.split("## Diagnose root causes")[1].split("\n## ")[0]
    assert "(in bold: what the scorer did not find in yours)" in section
    assert f"**{diagnose.strong_answer[0].rstrip('.')}" in section
    assert note.rstrip(".") in section and f"**{note.rstrip('.')}" not in section
    assert section.count(diagnose.strong_answer[0].rstrip(".")) == 1


def test_no_notes_when_every_criterion_is_solid() -> None:
    from agent.feedback import relevant_notes
    from agent.scorers import OfflineScorer

    score = OfflineScorer().score_step(CASE, "diagnose", [("candidate", "x")])
    solid = score.model_copy(update={"criteria": [
        c.model_copy(update={"level": 3}) for c in score.criteria]})
    assert relevant_notes(score, ["x"]) == CASE.strong_answer["diagnose"]
    assert relevant_notes(solid, ["x"]) == []


def test_a_note_that_restates_a_met_criterion_is_not_shown_as_missed() -> None:
    """Trial 10: the report bolded "States the trade-offs of each." as not found, right under
    "Trade-offs of each option — 4/4"; a note with the case's own content stays."""
    from agent.feedback import relevant_notes
    from agent.scorers import OfflineScorer

    generic = "States the trade-offs of each."
    specific = "Trade-offs: capacity risk on busy nights, margin on a discounted tier."
    score = OfflineScorer().score_step(CASE, "solutions", [("candidate", "x")])
    score = score.model_copy(update={"strong_answer": [generic, specific]})
    assert relevant_notes(score, ["x"]) == [generic, specific]
    met = score.model_copy(update={"criteria": [
        c.model_copy(update={"level": 4 if c.name == "Trade-offs of each option" else 1})
        for c in score.criteria]})
    assert relevant_notes(met, ["x"]) == [specific]


def test_what_a_note_gives_as_an_example_is_no_part_of_what_it_restates() -> None:
    """Stop 38 (a new user's trial): "Makes a clear choice with reasons, e.g. dedicated
    pre-warmed pool now, ..." was bolded as not found under "A choice with reasons — 4/4"."""
    from agent.feedback import relevant_notes
    from agent.scorers import OfflineScorer

    note = ("Makes a clear choice with reasons, e.g. dedicated pre-warmed pool now, faster "
            "loading and smarter autoscaling next")
    score = OfflineScorer().score_step(CASE, "prioritize", [("candidate", "x")])
    score = score.model_copy(update={"strong_answer": [note]})
    assert relevant_notes(score, ["x"]) == [note]

    def at(level: int) -> list[str]:
        return relevant_notes(score.model_copy(update={"criteria": [
            c.model_copy(update={"level": level if c.name == "A choice with reasons" else 1})
            for c in score.criteria]}), ["x"])

    assert at(4) == [] and at(2) == [note]


# -- 6. rendering ----------------------------------------------------------------------------

def completed_offline() -> Report:
    with Engine(Settings()) as engine:
        session = engine.start(CASE)
        session.answer("What's the QPS and the latency target?")
        session.answer("I'll assume real-time inference with a 500 ms p99 target at peak.")
        while not session.finished():
            session.answer("Autoscaling lags the traffic peaks; I'd add a warm pool this week. "
                           "Then an SLA-aware autoscaler next quarter, and A/B test it.")
        return session.report()


def test_markdown_keeps_quotes_and_header_lines_apart(home: Path) -> None:
    md = to_markdown(completed_offline())
    assert not re.search(r"^> .*\n> ", md, re.MULTILINE)       # no two quote lines in a row
    assert re.search(r"^> .*\n\n> ", md, re.MULTILINE)         # several quotes, each its own
    assert re.search(r"^Session `.*\n\nScored by: ", md, re.MULTILINE)


def test_html_notes_unverified_quotes_on_their_own(home: Path) -> None:
    report = completed_offline()
    steps = [report.steps[0].model_copy(update={"criteria": [
        report.steps[0].criteria[0].model_copy(update={"unverified_quotes": 2})]}),
        *report.steps[1:]]
    dropped = report.model_copy(update={"steps": steps, "unverified_quotes": 2,
                                        "unscored_criteria": 0, "flagged_criteria": 0})
    assert "2 quotes offered by the scorer were not your words" in to_html(dropped)
    assert "2 quotes offered by the scorer were not your words" in to_markdown(dropped)


@respx.mock
def test_steps_the_judge_cannot_score_are_scored_offline_and_said_so_once_each(
        home: Path) -> None:
    respx.post(f"{URL}/chat/completions").mock(side_effect=FakeModel(judge=lambda b: "nope"))
    with Engine(LLM, http_client=httpx.Client()) as engine:
        session = engine.start(CASE, mode="coach")
        session.answer("What is the QPS?")
        session.command("next")
        coach = [t["text"] for t in session.state()["turns"] if t["kind"] == "coach"][-1]
        session.answer(SAID)
        session.command("next")
        report = session.report()
    mark = "scored offline: the model's replies were invalid"
    assert coach.startswith(f"Clarify the problem and context ({mark}): ") and "/ 4" in coach
    fell = [s for s in report.steps if s.fallback]
    assert [s.step for s in fell] == ["clarify", "diagnose", "cross_cutting"]
    assert all(s.scorer == "offline" and s.score is not None for s in fell)
    md = to_markdown(report, transcript=False)  # the coach's lines quote the mark too
    assert md.count(f"## Clarify the problem and context — {fell[0].score:.2f} ({mark})") == 1
    assert report.overall is not None and "nothing could be scored" not in md
    assert md.count("The model judge could not score clarify the problem and context, "
                    "diagnose") == 1
    assert f"interviewer report {report.session} --rescore" in md
    assert report.unscored_criteria == 0


def test_trace_text_shows_whole_prompt_hashes() -> None:
    h = "judge_system:1663dfe83430+judge:f0d404a3102f"
    row = {"time": "2026-01-01T00:00:00", "purpose": "judge", "model": "m", "prompt_hash": h,
           "prompt_tokens": 1, "completion_tokens": 1, "latency_ms": 1.0, "retries": 0,
           "outcome": "ok", "error": None}
    summary = {"calls": 1, "by_purpose": {"judge": 1}, "failed": 0, "retries": 0,
               "latency_ms": {"p50": 1.0, "p95": 1.0, "p99": 1.0}, "prompt_tokens": 1,
               "completion_tokens": 1, "cost_usd": 0.0, "cost_note": None}
    assert h + " " in render_text("s", [row], summary)


def test_schema_bounds_levels_and_describes_fields() -> None:
    crit = json_schema()["$defs"]["CriterionScore"]["properties"]
    [number] = [a for a in crit["level"]["anyOf"] if a.get("type") == "integer"]
    assert number["minimum"] == 1 and number["maximum"] == 4
    for name, model in json_schema()["$defs"].items():
        for field, spec in model["properties"].items():
            assert spec.get("description"), f"{name}.{field}"


def test_piped_next_only_interview_is_penalised_end_to_end(home: Path, tmp_path: Path) -> None:
    blocks = ["What is the QPS?", "I'll assume real-time inference at 500 ms p99.", *["/next"] * 8]
    out = run_cli(home, "chat", "--case", CASE.id, stdin=stdin_of(blocks))
    assert out.returncode == 0, out.stderr
    assert "(not reached)" not in out.stdout and "(no answer)" in out.stdout
    sid = re.search(r"interviewer report (\w+)", out.stdout).group(1)  # type: ignore[union-attr]
    res = run_cli(home, "report", sid, "--format", "json")
    data = json.loads(res.stdout)
    assert [s["status"] for s in data["steps"]][1:6] == ["skipped"] * 5
    assert data["overall"] < 2.0 and data["band"] == "no hire"
    assert json.loads(to_json(Report.model_validate(data)))["overall"] == data["overall"]


def test_a_note_made_in_other_words_counts_as_said() -> None:
    # the batch case's validate note: "Run a parallel night and compare cost, completion time
    # and accuracy"
    note = get_case("batch-inference-cost").strong_answer["validate"][0]
    plain = ("One night, half the documents go through the new setup and half through the old "
             "one; then we compare what each costs, when each finishes and how accurate it is.")
    assert note_said(note, [plain])
    assert not note_said(note, ["We'd watch the bill next month and see if it went down."])


def test_a_note_point_that_denies_is_made_by_the_same_denial_in_other_words() -> None:
    # Trial 17: "...and that per-request latency doesn't matter" was bolded as not found after
    # the candidate said so in other words; a sentence that affirms it never makes it.
    from agent.feedback import points_made

    note = ("Confirms batch with a deadline window (results by 7 am) and that per-request "
            "latency doesn't matter")
    denied = points_made(note, ["Nobody waits on a single request, so per-request latency is "
                                "irrelevant; it just has to be done by 7 am."])
    assert denied[-1] is True
    for said in ("Latency per request is what we must cut.", "We should add more GPUs."):
        assert points_made(note, [said])[-1] is False


def test_a_note_listing_alternatives_is_made_by_one_of_them() -> None:
    # Trial 17: "do they mean the wait before the first words show up, or ...?" was told in
    # coach feedback to pin down what "2x faster" means.
    note = get_case("llama70b-2x-latency").strong_answer["clarify"][0]
    assert note.startswith("Pins down what") and note.endswith("or aggregate throughput")
    asked = ("When they say slow, do they mean the wait before the first words show up, or how "
             "long the whole reply takes to finish?")
    assert note_said(note, [asked])
    assert not note_said(note, ["How many GPUs are they running this on?"])


def test_a_note_point_made_only_to_reject_it_was_not_made() -> None:
    note = get_case("batch-inference-cost").strong_answer["validate"][0]
    rejected = ("No parallel night: we wouldn't compare cost, completion time or accuracy, "
                "running both setups is a waste.")
    assert not note_said(note, [rejected])


def test_a_notes_concrete_content_after_its_colon_makes_the_note() -> None:
    """Trial 12: "Ties each hypothesis to a measurement: per-phase timings at peak." was bolded
    as not found after "I would check per-phase timings at peak first": the lead before the
    colon says in general words what the content after it makes concrete."""
    note = next(n for n in get_case("llama70b-2x-latency").strong_answer["diagnose"]
                if n.startswith("Ties each hypothesis"))
    assert note_said(note, ["I would check per-phase timings at peak first."])
    assert not note_said(note, ["I'd check the GPUs first, then the network."])
    assert not note_said(note, ["No per-phase timings at peak: we'd guess from the bill."])


def test_a_note_made_in_part_marks_only_the_points_not_made() -> None:
    # A new-user trial was shown "0-2 weeks: dedicated or reserved pool with pre-warmed replicas
    # and schedule-based scale-up before known peaks; queue-time vs compute-time breakdown..."
    # in bold, as not found, after writing a schedule-based pre-scale and a reserved warm pool.
    from agent.feedback import not_made

    case = get_case("fintech-p99-spikes")
    note = case.strong_answer["solutions"][0]
    assert note.startswith("0-2 weeks: dedicated or reserved pool")
    answers = ["This week: a schedule-based pre-scale for their known peaks, so it reacts "
               "before requests pile up.",
               "Next month: a small reserved pool of warm replicas just for them, with overflow "
               "going to the shared tier."]
    assert not note_said(note, answers)
    assert not_made(note, answers) == ["queue-time vs compute-time breakdown on their dashboard"]
    assert not_made(note, [note]) == [] and not_made(note, ["The weather is nice."]) == []


def test_every_notes_points_are_found_where_they_are_written() -> None:
    from agent.cases import default_cases
    from agent.feedback import note_parts, part_spans

    for case in default_cases().values():
        for notes in case.strong_answer.values():
            for note in notes:
                spans = part_spans(note)
                assert len(spans) == len(note_parts(note)), note
                for (a, b), part in zip(spans, note_parts(note), strict=True):
                    # the same words, in the same place (a merged part keeps its separator)
                    assert note[a:b].startswith(part.split()[0]), (note, part)
                    assert note[a:b].endswith(part.split()[-1]), (note, part)
                    assert all(w in note[a:b] for w in part.split()), (note, part)


def test_a_model_answer_bolds_the_points_missed_and_escapes_the_rest() -> None:
    import html

    from agent.report import marked

    sentence = "Pool <warm> replicas; queue-time vs compute-time breakdown on their dashboard."
    md = marked(sentence, ["queue-time vs compute-time breakdown on their dashboard"], "**", "**",
                str)
    assert md == ("Pool <warm> replicas; **queue-time vs compute-time breakdown on their "
                  "dashboard**.")
    page = marked(sentence, ["queue-time vs compute-time breakdown on their dashboard"],
                  "<strong>", "</strong>", html.escape)
    assert page.startswith("Pool &lt;warm&gt; replicas; <strong>queue-time")
    assert marked(sentence, None, "**", "**", str) == f"**{sentence}**"
    assert marked(sentence, ["words it does not hold"], "**", "**", str) == f"**{sentence}**"
