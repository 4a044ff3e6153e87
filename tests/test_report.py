"""Reports for completed, in-progress and partly unscored sessions, in all three formats."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import respx

from agent.cases import get_case
from agent.config import Settings
from agent.engine import Engine
from agent.report import Report, json_schema, to_json, to_markdown
from agent.report_html import to_html
from agent.rubrics import default_rubrics
from agent.steps import STEPS
from tests.conftest import ROOT, run_cli
from tests.wire import URL, FakeModel

CASE = get_case("fintech-p99-spikes")
SCHEMA = json.loads((ROOT / "docs" / "report.schema.json").read_text())


def check_all_formats(report: Report) -> None:
    data = json.loads(to_json(report))
    jsonschema.validate(data, SCHEMA)
    for s in data["steps"]:
        assert {"step", "score", "criteria"} <= set(s)
        for c in s["criteria"]:
            assert {"id", "level", "rationale", "evidence", "unverified_quotes"} <= set(c)
    assert {"overall", "band", "scorer", "case", "mode", "session"} <= set(data)
    md = to_markdown(report)
    assert md.startswith("# Interview feedback") and report.session in md
    html = to_html(report)
    assert html.startswith("<!doctype html>") and "<svg" in html
    # Standalone: nothing to fetch.
    assert not re.search(r"<(script|link|img|iframe)\b", html)
    assert not re.search(r"(src|href)\s*=|url\(|@import", html)


def test_the_shipped_schema_matches_the_report_model() -> None:
    assert json_schema() == SCHEMA


def test_completed_offline_session(home: Path) -> None:
    with Engine(Settings()) as engine:
        session = engine.start(CASE)
        session.answer("What's the QPS and the latency target?")
        session.answer("I'll assume real-time inference with a 500 ms p99 target at peak.")
        while not session.finished():
            session.answer("Autoscaling lags the traffic peaks; I'd add a warm pool this week "
                           "and an SLA-aware autoscaler next quarter, then A/B test it.")
        report = session.report()
    assert report.status == "completed" and report.scorer.type == "offline"
    assert [s.step for s in report.steps] == [*STEPS, "cross_cutting"]
    assert all(s.status == "scored" for s in report.steps)
    assert report.overall is not None and report.band is not None
    check_all_formats(report)
    # Every quote shown is the candidate's own words.
    quotes = [q for s in report.steps for c in s.criteria for q in c.evidence]
    assert quotes and all(q in "\n".join([
        "What's the QPS and the latency target?",
        "I'll assume real-time inference with a 500 ms p99 target at peak.",
        "Autoscaling lags the traffic peaks; I'd add a warm pool this week and an SLA-aware "
        "autoscaler next quarter, then A/B test it."]) for q in quotes)


def test_in_progress_session_reports_what_exists(home: Path) -> None:
    with Engine(Settings()) as engine:
        session = engine.start(CASE)
        session.answer("Who is the customer?")
        session.command("next")
        session.answer("Cold starts when autoscaling adds replicas.")
        report = session.report()
    statuses = {s.step: s.status for s in report.steps}
    assert statuses["clarify"] == "scored" and statuses["diagnose"] == "in_progress"
    assert statuses["validate"] == "not_reached" and report.status == "in_progress"
    assert report.provisional and "provisional" in to_markdown(report)
    check_all_formats(report)
    assert "Not reached in this session." in to_markdown(report)
    # Across the interview waits for the whole interview before it counts in the overall.
    steps = [s for s in report.steps if s.score is not None]
    cross = next(s for s in steps if s.step == "cross_cutting")
    others = [s for s in steps if s.step != "cross_cutting"]
    assert report.overall == round(sum(s.score * s.weight for s in others)  # type: ignore[operator]
                                   / sum(s.weight for s in others), 2)
    assert cross.score is not None and report.overall != round(
        sum(s.score * s.weight for s in steps) / sum(s.weight for s in steps), 2)  # type: ignore[operator]


@respx.mock
def test_a_step_the_judge_cannot_score_is_scored_offline_and_marked(home: Path) -> None:
    """Issue 15.3: after the judge's retries, an unscorable step is scored offline and marked
    so in every format, never silently mixed; the failure is recorded, so a later report does
    not ask again unless told to (--rescore)."""
    fake = FakeModel(judge=lambda body: "this is not JSON")
    respx.post(f"{URL}/chat/completions").mock(side_effect=fake)
    llm = Settings(base_url=URL, api_key="k", model="m", max_retries=0)
    with Engine(llm, http_client=httpx.Client()) as engine:
        session = engine.start(CASE)
        session.answer("What is the QPS?")
        session.command("next")
        report = session.report()
        sid = session.id
    asked = len(fake.judge_bodies())
    assert asked >= 3  # retried before giving up
    clarify = report.steps[0]
    mark = "scored offline: the model's replies were invalid"
    assert clarify.scorer == "offline" and clarify.fallback == mark
    assert clarify.score is not None and clarify.unscored == 0
    check_all_formats(report)
    data = json.loads(to_json(report))
    assert data["steps"][0]["fallback"] == mark
    for text in (to_markdown(report), to_html(report).replace("&#x27;", "'")):
        assert f"({mark})" in text and "--rescore" in text
    # Another process: the failure is on record, so the judge is not asked again ...
    with Engine(llm, http_client=httpx.Client()) as engine:
        again = engine.open(sid, lock=False).report()
    assert len(fake.judge_bodies()) == asked and again.steps[0].fallback == mark
    # ... unless a re-score is asked for.
    with Engine(llm, http_client=httpx.Client()) as engine:
        engine.open(sid, lock=False).report(rescore=True)
    assert len(fake.judge_bodies()) > asked


@respx.mock
def test_criteria_the_judge_leaves_unscored_are_reported_as_unscored(home: Path) -> None:
    def first_only(body: dict[str, Any]) -> str:
        ids = re.findall(r"- id: (\S+)", body["messages"][1]["content"])
        return json.dumps({"criteria": [{"id": ids[0], "level": 2, "rationale": "r",
                                         "quotes": ["What is the QPS"]}]})

    respx.post(f"{URL}/chat/completions").mock(side_effect=FakeModel(judge=first_only))
    with Engine(Settings(base_url=URL, api_key="k", model="m", max_retries=0),
                http_client=httpx.Client()) as engine:
        session = engine.start(CASE)
        session.answer("What is the QPS?")
        session.command("next")
        report = session.report()
    clarify = report.steps[0]
    assert clarify.scorer == "llm" and clarify.fallback is None
    assert clarify.unscored == len(clarify.criteria) - 1 and clarify.score == 2.0
    assert report.unscored_criteria >= len(clarify.criteria) - 1
    check_all_formats(report)
    assert "unscored" in to_markdown(report)


def test_report_command_writes_each_format(home: Path, tmp_path: Path) -> None:
    out = run_cli(home, "chat", "--case", CASE.id, stdin="What is the QPS?\n\n/next\n\n"
                  "Cold starts and autoscaling lag.\n")
    sid = re.search(r"--session (\w+)", out.stdout).group(1)  # type: ignore[union-attr]
    for fmt in ("md", "html", "json"):
        target = tmp_path / f"r.{fmt}"
        res = run_cli(home, "report", sid, "--format", fmt, "--output", str(target))
        assert res.returncode == 0, res.stderr
        assert target.stat().st_size > 500
    data = json.loads((tmp_path / "r.json").read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["session"] == sid and data["scorer"]["type"] == "offline"
    res = run_cli(home, "report", "nope1234")
    assert res.returncode == 1 and "no session 'nope1234'" in res.stderr
    res = run_cli(home, "report", sid, "--output", str(tmp_path / "missing" / "dir" / "r.md"))
    assert res.returncode == 1 and "--output: cannot write" in res.stderr


def test_coach_mode_gives_feedback_after_each_step_and_hints(home: Path, backend: str) -> None:
    with Engine(Settings()) as engine:
        session = engine.start(CASE, mode="coach")
        session.command("hint")
        hint = session.state()["turns"][-1]
        assert hint["kind"] == "hint" and hint["text"].startswith("Hint:")
        for note in CASE.strong_answer["clarify"]:
            assert note not in hint["text"]             # a nudge, not the answer
        for c in default_rubrics()["clarify"].criteria:
            assert c.name.lower() not in hint["text"].lower()  # nor the rubric's words
        session.answer("I'll assume real-time inference at 1,500 QPS peak, 500 ms p99.")
        coach = [t for t in session.state()["turns"] if t["kind"] == "coach"]
        assert len(coach) == 1 and coach[0]["step"] == "clarify"
        assert "/ 4" in coach[0]["text"] and "strong answer" in coach[0]["text"]
        # sentences that end, and a dash followed by lower case (trial 8: "...asks the mix",
        # "scale and latency needs — Establishes...")
        text = coach[0]["text"]
        assert text.endswith("."), text
        assert not re.search(r"(?: —|would also:) [A-Z][a-z]", text), text
        # The score shown in coach mode is stored, and the final report reuses it.
        rows = engine.store.query("SELECT step FROM scores WHERE session_id=?", (session.id,))
        assert rows == [("clarify",)]
        report = session.report()
        assert report.steps[0].score is not None
        assert f"{report.steps[0].score:.1f} / 4" in coach[0]["text"]
        # the transcript shows it as the coach's, not the interviewer's
        assert f"**Coach:** {text[:30]}" in to_markdown(report)
        assert "<strong>Coach:</strong>" in to_html(report)


def test_a_step_without_a_single_valid_level_is_unscored_not_scored() -> None:
    """Issue 17.5: a judged step whose every level is null says "unscored" (in reports and in
    eval results), whatever made it."""
    from agent.scores import CriterionScore, StepScore

    def crit(level: int | None) -> CriterionScore:
        return CriterionScore(id="clarify.scale", name="Scale", weight=1.0, level=level,
                              rationale="r", evidence=[], unverified_quotes=0, flagged=False)

    none = StepScore(step="clarify", score=None, weight=1.0, scorer="llm", version="v",
                     criteria=[crit(None), crit(None)])
    assert none.status == "unscored"
    assert StepScore.model_validate(none.model_dump()).status == "unscored"
    some = StepScore(step="clarify", score=2.0, weight=1.0, scorer="llm", version="v",
                     criteria=[crit(2), crit(None)])
    assert some.status == "scored"


def test_the_trace_shows_an_error_whole_on_its_own_line() -> None:
    from agent.trace import render_text

    error = ("rejected the request (HTTP 502: bad gateway: [Errno 1] Operation not permitted "
             "while connecting to upstream http://10.0.0.7:8000/v1)")
    row = {"time": "2026-01-01T00:00:00", "purpose": "judge", "model": "m", "prompt_hash": "h",
           "prompt_tokens": 1, "completion_tokens": 1, "latency_ms": 1.0, "retries": 0,
           "outcome": "error", "error": error}
    summary = {"calls": 1, "by_purpose": {"judge": 1}, "failed": 1, "retries": 0,
               "latency_ms": {"p50": 1.0, "p95": 1.0, "p99": 1.0}, "prompt_tokens": 1,
               "completion_tokens": 1, "cost_usd": 0.0, "cost_note": None, "fallbacks": 0}
    text = render_text("s", [row], summary, "m at http://x/v1: structured output: json_schema")
    assert f"↳ {error}\n" in text
    assert "endpoint: m at http://x/v1: structured output: json_schema" in text


def test_evidence_in_markdown_is_escaped_and_long_quotes_are_excerpts(home: Path) -> None:
    """Quotes are the candidate's words: a tag or link in them is shown literally in Markdown
    (a viewer that renders HTML must not run it), and a pasted block with no full stop is
    shown as an excerpt, not whole."""
    from agent.report import QUOTE_CHARS

    tagged = ("<img src=x onerror=alert(1)> Autoscaling lags the traffic peaks, so I'd add a "
              "[warm pool](http://evil.example) this week.")
    pasted = "The autoscaler lags the peaks " + "and the queue grows while replicas start " * 60
    with Engine(Settings()) as engine:
        session = engine.start(CASE)
        session.answer("I'll assume real-time inference with a 500 ms p99 target at peak.")
        while not session.finished():
            session.answer(f"{tagged}\n\n{pasted}")
        report = session.report()
    quotes = [q for s in report.steps for c in s.criteria for q in c.evidence]
    assert any("<img" in q for q in quotes) and any(len(q) > 2 * QUOTE_CHARS for q in quotes)
    md = to_markdown(report)
    shown = [line for line in md.split("\n") if line.startswith("> “")]
    assert shown and not any(re.search(r"(?<!\\)<img|(?<!\\)\]\(http", line) for line in shown)
    assert any("\\<img" in line for line in shown)
    assert all(len(line) <= QUOTE_CHARS + 10 for line in shown)
    assert any(line.endswith("…”") for line in shown)
    html = to_html(report)
    quoted = re.findall(r"<blockquote>“(.*?)”</blockquote>", html)
    assert quoted and all(len(q) <= QUOTE_CHARS + 40 for q in quoted)  # escaped entities
    assert "<img" not in html


def test_a_bad_call_is_the_first_thing_to_practise_and_its_quote_is_escaped() -> None:
    """A trial: "No need to test" scored validate 1/4, yet "What to practise next" named three
    clarify and diagnose gaps. The bad call comes first, its words quoted, escaped as text."""
    from agent.report import practice_next
    from agent.scorers import OfflineScorer

    scorer = OfflineScorer()
    said = "Ship it to *every* tenant on day one, no need to test."
    steps = [scorer.score_step(CASE, step, [("candidate", "I am not sure.")])
             for step in STEPS if step != "validate"]
    steps.append(scorer.score_step(CASE, "validate", [("candidate", said)]))
    practice = practice_next(steps)
    assert practice[0].startswith("Drop a bad call (test and validate): it "), practice
    assert "“Ship it to *every* tenant on day one, no need to test”." in practice[0]
    assert len(practice) == 3
    clean = practice_next(steps[:-1])  # no bad call: the gaps as before
    assert not any(p.startswith("Drop a bad call") for p in clean)
    assert clean[0] == practice[1]
