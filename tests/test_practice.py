"""Practice across sessions: progress, drills, time-boxing, and what the report now carries
(transcript, model answers, time)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.helpers import CASE, INTERVIEW_BLOCKS, sessions, stdin_of

#: A weak interview: every step passed with a thin answer.
WEAK = ["What is the QPS?", "/next", "It is slow.", "/next", "Make it fast.", "/next",
        "Do the fast thing.", "/next", "Build it.", "/next", "Check it.", "/next"]


# -- time-boxing ------------------------------------------------------------------------------

def test_suggested_time_comes_from_the_case_else_the_default() -> None:
    from agent.cases import get_case
    from agent.practice.timebox import DEFAULT_MINUTES, suggested_minutes

    assert suggested_minutes(get_case("finetune-cold-starts"), "diagnose") == 11
    assert suggested_minutes(get_case("finetune-cold-starts"), "goals") == DEFAULT_MINUTES["goals"]
    assert suggested_minutes(get_case(CASE), "diagnose") == DEFAULT_MINUTES["diagnose"]


def test_a_case_with_minutes_for_an_unknown_step_is_refused(tmp_path: Path) -> None:
    from agent.cases import load_case
    from agent.datafile import DataFileError
    from agent.paths import data_dir

    text = (data_dir("cases") / f"{CASE}.yaml").read_text(encoding="utf-8")
    bad = tmp_path / f"{CASE}.yaml"
    bad.write_text(text.replace("difficulty: medium", "difficulty: medium\nminutes: {lunch: 5}"),
                   encoding="utf-8")
    with pytest.raises(DataFileError, match="minutes names unknown step 'lunch'"):
        load_case(bad)


def test_active_time_excludes_the_gap_between_quit_and_resume(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake clock: 40 s on the first answer, then a quit, an hour away, a resume, 20 s more."""
    import agent.engine as engine_module
    from agent.cases import get_case
    from agent.config import Settings
    from agent.engine import Engine

    now = [1000.0]
    monkeypatch.setattr(engine_module.time, "monotonic", lambda: now[0])
    with Engine(Settings()) as engine:
        session = engine.start(get_case(CASE))
        now[0] += 40
        session.answer("What is the QPS?")
        now[0] += 5  # thinking, then /quit
        session.close()
    now[0] += 3600  # away
    with Engine(Settings()) as engine:
        session = engine.open(session.id)
        now[0] += 20
        session.answer("I'll assume real-time inference with a 500 ms p99 target.")
        now[0] += 30  # diagnose: thinking
        session.command("next")
        times = session.times()
        report = session.report()
        session.close()
    assert times == {"clarify": 65.0, "diagnose": 30.0}
    by_step = {t.step: t for t in report.time}
    assert by_step["clarify"].seconds == 65.0 and by_step["clarify"].verdict == "under"
    assert by_step["validate"].verdict == "not reached"
    assert "You spent 1:35 against a suggested" in (report.time_summary or "")
    assert "faster than anyone types" not in (report.time_summary or "")


def test_the_chat_shows_each_steps_suggested_time(home: Path) -> None:
    out = run_cli(home, "chat", "--case", "finetune-cold-starts",
                  stdin="What is the traffic?\n\n/next\n\n")
    assert out.returncode == 0, out.stderr
    assert "Step 1 of 6 · Clarify the problem and context · suggested 6 min" in out.stdout
    assert "Step 2 of 6 · Diagnose root causes · suggested 11 min" in out.stdout


# -- the report: transcript, model answers, time ---------------------------------------------

def test_the_report_has_the_transcript_model_answers_and_time(home: Path) -> None:
    from agent.cases import get_case

    answer = "# Not a heading\n- and not a list: <b>bold?</b>"
    blocks = [answer, *INTERVIEW_BLOCKS[1:]]
    out = run_cli(home, "chat", "--case", CASE, stdin=stdin_of(blocks))
    assert out.returncode == 0, out.stderr
    sid = str(sessions(home)[0]["id"])
    data = json.loads(run_cli(home, "report", sid, "--format", "json").stdout)
    said = [t["text"] for t in data["transcript"] if t["role"] == "candidate"]
    assert said[0] == answer and "/next" in said
    assert data["transcript"][0]["kind"] == "prompt"
    assert data["transcript"][-1]["kind"] == "closing"
    case = get_case(CASE)
    assert {m["step"]: m["points"] for m in data["model_answers"]} == case.strong_answer
    assert [t["step"] for t in data["time"]][:2] == ["clarify", "diagnose"]
    assert data["time_summary"].startswith("You spent ")
    # piped answers: no pacing advice on 0:00 steps (trial 10)
    assert "faster than anyone types" in data["time_summary"]
    assert "Most under" not in data["time_summary"]

    md = run_cli(home, "report", sid).stdout
    assert "## Transcript" in md and "> \\# Not a heading  \n> \\- and not" in md  # a line each
    assert re.search(r"A model answer, assembled from the case's notes on strong answers"
                     r"(?: \(in bold: what the scorer did not find in yours\))?:", md)
    assert " ".join(case.strong_answer["validate"][0].split()) in md and "## Time" in md
    html = run_cli(home, "report", sid, "--format", "html").stdout
    assert "&lt;b&gt;bold?&lt;/b&gt;" in html and "<b>bold?" not in html
    assert "<h2>Transcript</h2>" in html and "<h2>Time</h2>" in html
    # a command (typed, or a button on the web page) is shown as what it did
    assert "**You:** *(moved on to the next step)*" in md and "> /next" not in md
    assert "(moved on to the next step)" in html and "<span>/next</span>" not in html


def test_the_chat_screen_leaves_the_transcript_to_the_saved_report(home: Path) -> None:
    out = run_cli(home, "chat", "--case", CASE, stdin=stdin_of(INTERVIEW_BLOCKS))
    assert "## Transcript" not in out.stdout and "## Time" in out.stdout


# -- drills ---------------------------------------------------------------------------------

def test_drill_plan_prefers_cases_practised_least() -> None:
    from agent.cases import default_cases
    from agent.practice.drill import plan

    cases = default_cases()
    practised = {c: 1 for c in cases} | {"gpu-price-shift": 0}
    chosen = plan(cases, "goals", 3, practised=practised, seed=1)
    assert chosen[0].id == "gpu-price-shift" and len({c.id for c in chosen}) == 3
    assert plan(cases, "goals", 2, first=CASE, seed=1)[0].id == CASE
    with pytest.raises(ValueError, match="unknown step 'lunch'"):
        plan(cases, "lunch", 1)
    with pytest.raises(ValueError, match="--count: must be between 1 and 10"):
        plan(cases, "goals", 11)


def test_a_drill_runs_one_step_per_case_then_summarises(home: Path) -> None:
    answers = ["Goal: p99 under 500 ms at peak, error rate under 0.1%, cost per request flat.",
               "/next", "Cost per document down 50%, finished before 7 am on 99% of nights.",
               "/next"]
    out = run_cli(home, "drill", "goals", "--case", CASE, "--count", "2",
                  stdin=stdin_of(answers))
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("Drill 1 of 2") == 1 and "Drill 2 of 2" in out.stdout
    assert "Drill summary · Set product and infra goals · 2 cases" in out.stdout
    assert "Step 4 of 6" not in out.stdout  # a drill ends after its step
    assert "Step 3 of 6" not in out.stdout and "Drill · Set product and infra goals" in out.stdout
    assert "what clarifying questions would have told you" in out.stdout
    # Each case ends as a drill of one step, not as an interview.
    assert out.stdout.count("That's all for this step.") == 2
    assert "end of the interview" not in out.stdout
    # It starts past clarify: the scenario does not invite clarifying questions.
    assert "What would you like to clarify" not in out.stdout
    rows = sessions(home)
    assert len(rows) == 2 and all(r["drill"] == "goals" for r in rows)
    assert all(r["status"] == "completed" and r["overall"] is not None for r in rows)
    data = json.loads(run_cli(home, "report", str(rows[-1]["id"]), "--format", "json").stdout)
    assert [s["step"] for s in data["steps"]] == ["goals"] and data["drill"] == "goals"
    assert data["overall"] == data["steps"][0]["score"]


def test_a_drill_briefing_leaves_out_clue_facts() -> None:
    from agent.cases import default_cases
    from agent.practice.drill import briefing

    for case in default_cases().values():
        text = briefing(case)
        for f in case.facts:
            said = " ".join(f.answer.split())
            assert (said in text) != f.clue, (case.id, f.id)


def test_a_drill_opens_without_leaning_on_a_step_it_never_had() -> None:
    # Trial 17: a goals drill opened "Suppose your diagnosis holds" with no diagnosis made.
    from agent.practice.drill import opener
    from agent.prompts import script

    assert "diagnosis" not in opener("goals") and opener("goals").endswith("measure them?")
    assert opener("validate") == str(script()["openers"]["validate"])  # the rest as usual


def test_what_a_drill_briefs_counts_as_told(home: Path) -> None:
    """Trial 12: a drill's briefing gives "Prompts average about 3,500 tokens", then its report
    said "Uses a fact the interviewer never gave in clarify ... no credit for it"."""
    answer = ("Prefill on 3,500-token prompts at 28 tokens per second is where the time goes. "
              "I would check per-phase timings at peak first.")
    out = run_cli(home, "drill", "diagnose", "--case", "llama70b-2x-latency", "--count", "1",
                  "--max-followups", "0", stdin=stdin_of([answer]))
    assert out.returncode == 0, out.stderr
    assert "Prompts average about 3,500 tokens" in out.stdout  # the briefing gave it
    assert "never gave" not in out.stdout and "no credit for it" not in out.stdout


def test_a_drill_stopped_early_can_be_resumed(home: Path) -> None:
    out = run_cli(home, "drill", "validate", "--count", "2", stdin="An A/B test on traffic.\n")
    assert out.returncode == 0, out.stderr
    assert "Drill stopped after 0 of 2 cases" in out.stdout
    [row] = sessions(home)
    out = run_cli(home, "chat", "--session", str(row["id"]), stdin="/next\n")
    assert out.returncode == 0, out.stderr
    [row] = sessions(home)
    assert row["status"] == "completed" and row["drill"] == "validate"


def test_a_drill_with_no_input_leaves_no_session_behind(home: Path) -> None:
    out = run_cli(home, "drill", "validate", "--count", "2", stdin="")
    assert out.returncode == 0, out.stderr
    assert "no session was saved" in out.stdout
    assert sessions(home) == []


def test_drill_refuses_a_bad_step_or_count(home: Path) -> None:
    out = run_cli(home, "drill", "lunch")
    assert out.returncode == 1 and "unknown step 'lunch'" in out.stderr
    out = run_cli(home, "drill", "goals", "--count", "0")
    assert out.returncode == 1 and "--count: must be between 1 and 10" in out.stderr
    assert not home.exists()


# -- progress ---------------------------------------------------------------------------------

def test_progress_with_no_sessions_says_what_to_do(home: Path) -> None:
    out = run_cli(home, "progress")
    assert out.returncode == 0 and "No completed sessions yet" in out.stdout
    assert json.loads(run_cli(home, "progress", "--json").stdout)["sessions"] == []
    assert not home.exists()


def test_progress_tracks_levels_names_the_weakest_and_recommends(home: Path) -> None:
    from agent.rubrics import default_rubrics

    run_cli(home, "chat", "--case", CASE, stdin=stdin_of(WEAK))
    run_cli(home, "chat", "--case", CASE, stdin=stdin_of(INTERVIEW_BLOCKS))
    run_cli(home, "drill", "goals", "--case", "gpu-price-shift", "--count", "1",
            stdin="p99 under 500 ms, cost per GPU-hour down 20%.\n\n/next\n")
    data = json.loads(run_cli(home, "progress", "--json").stdout)
    assert [s["kind"] for s in data["sessions"]] == ["interview", "interview", "drill:goals"]
    by_id = {c["id"]: c for c in data["criteria"]}
    latency = by_id["goals.latency_metrics"]["levels"]
    assert len(latency) == 3 and latency[0] < latency[1]
    assert by_id["diagnose.platform_causes"]["levels"][2] is None \
        if "diagnose.platform_causes" in by_id else True
    rubrics = default_rubrics()
    weakest = data["weakest"]
    assert len(weakest) == 3
    for w in weakest:
        crit = rubrics[w["step"]].criterion(w["id"])
        assert w["trace"] == crit.trace
    rec = data["recommendation"]
    assert rec["command"] == f"interviewer chat --case {rec['case']}"
    text = run_cli(home, "progress").stdout
    assert "Progress over 3 completed sessions" in text
    assert "Weakest criteria" in text and rec["command"] in text


def test_recommended_case_exercises_the_weakest_criteria() -> None:
    from agent.cases import default_cases
    from agent.practice.progress import CriterionTrend, exercises, recommend
    from agent.rubrics import default_rubrics

    rubrics, cases = default_rubrics(), default_cases()
    crit = rubrics["goals"].criteria[0]
    weak = [CriterionTrend(id=crit.id, name=crit.name, step="goals", trace=crit.trace,
                           weight=crit.weight, levels=[1], recent=1.0)]
    rec = recommend(weak, rubrics, cases, practised=[])
    assert rec.case is not None
    best = exercises(cases[rec.case], crit.id, rubrics)
    assert best == max(exercises(c, crit.id, rubrics) for c in cases.values()) and best > 0
    assert rec.drill_command == "interviewer drill goals"


def test_progress_marks_llm_scored_sessions() -> None:
    from agent.cases import default_cases
    from agent.practice.progress import build, to_text
    from agent.rubrics import default_rubrics
    from agent.storage import SessionRow

    rows = [SessionRow(f"s{i}aaaaa", CASE, "exam", "offline", "completed", "wrap_up", 6,
                       100.0 + i, 100.0 + i, {}) for i in range(2)]
    results = {
        "s0aaaaa": {"overall": 2.0, "band": "lean no hire", "scorer": "offline",
                    "steps": {"goals": {"criteria": {"goals.latency_metrics": 2}}}},
        "s1aaaaa": {"overall": 3.0, "band": "hire", "scorer": "mixed",
                    "steps": {"goals": {"criteria": {"goals.latency_metrics": 3}}}},
    }
    p = build(rows, results, default_rubrics(), default_cases())
    text = to_text(p)
    assert "(LLM judge and offline)" in text and "3ᴹ" in text
    latency = next(c for c in p.criteria if c.id == "goals.latency_metrics")
    assert latency.levels == [2, 3] and latency.trend == "up"


def test_a_framework_line_shown_closes_the_quotation_it_opens() -> None:
    # The web progress page showed: Think platform-wide: always ask “How does this scale?
    from agent.practice.progress import _plain
    from agent.rubrics import default_rubrics

    assert _plain("Think platform-wide: always ask “How does this scale?") == \
        "Think platform-wide: always ask “How does this scale?”"
    for rubric in default_rubrics().rubrics.values():
        for c in rubric.criteria:
            shown = _plain(c.trace)
            assert shown.count("“") == shown.count("”"), c.id
            # no Markdown left: the progress page showed "|DevX vs. Observability|Clean ...|"
            assert not re.search(r"\||\*\*|(?<!\w)_\w", shown), (c.id, shown)
    assert _plain("|**DevX vs. Observability**|Clean abstractions vs. debugging flexibility|") \
        == "DevX vs. Observability: Clean abstractions vs. debugging flexibility"
    assert _plain("Ask questions like a PM _and_ infra operator") == \
        "Ask questions like a PM and infra operator"
    assert _plain("per_request_latency stays") == "per_request_latency stays"
