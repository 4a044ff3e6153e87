"""The hardened LLM judge (issue 9) at the wire: the prompt grades reasoning and reads negation,
the judge sees which facts were told, a quote that only rejects a practice never backs a level,
criteria a case leaves out are not asked for, and --judge-samples takes the median."""

from __future__ import annotations

import json
from typing import Any

import httpx
import respx

from agent.cases import get_case
from agent.config import Settings
from agent.judge import LLMJudge
from agent.model.client import ModelClient
from agent.prompts import load_prompt
from agent.rubrics import default_rubrics
from agent.semantic.facts import Told
from tests.wire import URL, completion

CASE = get_case("fintech-p99-spikes")
BATCH = get_case("batch-inference-cost")
IDS = [c.id for c in default_rubrics()["validate"].criteria]
NEGATED = "We wouldn't A/B test it, no canary, no rollback plan needed."
AFFIRMED = "We'd canary the new autoscaling policy on 5% of traffic and roll back on errors."
TURNS = [("interviewer", "How would you know it worked?"),
         ("candidate", f"{NEGATED} {AFFIRMED}")]


def verdict(levels: dict[str, int], quotes: list[str]) -> dict[str, Any]:
    return completion(json.dumps({"criteria": [
        {"id": cid, "level": lv, "rationale": f"because {cid}", "quotes": quotes}
        for cid, lv in levels.items()]}))


def judge(replies: list[dict[str, Any]], samples: int = 1, case: Any = CASE,
          step: str = "validate", told: Told | None = None) -> tuple[Any, respx.Route]:
    route = respx.post(f"{URL}/chat/completions").mock(
        side_effect=[httpx.Response(200, json=r) for r in replies])
    client = ModelClient(Settings(base_url=URL, api_key="k", model="m", max_retries=0),
                         http_client=httpx.Client())
    try:
        score = LLMJudge(client, samples=samples).score_step(case, step, TURNS, told)
    finally:
        client.close()
    return score, route


def test_the_prompt_grades_reasoning_caps_name_dropping_and_reads_negation() -> None:
    system = load_prompt("judge_system").text
    assert "caps that criterion at 2" in system
    assert "Read negation as negation" in system
    assert "not told" in system and "name each one in that criterion's rationale" in system
    assert "Plain words count in full" in system


@respx.mock
def test_the_judge_sees_which_facts_were_told_and_which_not() -> None:
    levels = dict.fromkeys(IDS, 1)
    _, route = judge([verdict(levels, [])], told=Told(facts=frozenset({"scale"})))
    user = json.loads(route.calls[0].request.content)["messages"][1]["content"]
    told, not_told = user.split("not told:", 1)
    assert "About 300 requests per second" in told.split("told:", 1)[1]
    assert "About 300 requests per second" not in not_told
    assert "The contract says p99 under 500 milliseconds" in not_told


@respx.mock
def test_a_quote_that_only_rejects_the_practice_never_backs_a_level() -> None:
    levels = dict.fromkeys(IDS, 3)
    score, _ = judge([verdict(levels, [NEGATED, AFFIRMED])])
    for c in score.criteria:
        assert c.evidence == [AFFIRMED.rstrip(".")]
    score, _ = judge([verdict(levels, [NEGATED])])
    assert all(c.flagged and c.evidence == [] for c in score.criteria)


@respx.mock
def test_a_criterion_the_case_leaves_out_is_not_asked_for() -> None:
    goals = [c.id for c in default_rubrics()["goals"].criteria if c.id != "goals.latency_metrics"]
    score, route = judge([verdict(dict.fromkeys(goals, 2), [])], case=BATCH, step="goals")
    user = json.loads(route.calls[0].request.content)["messages"][1]["content"]
    assert "goals.latency_metrics" not in user and "goals.cost_efficiency" in user
    assert [c.id for c in score.criteria] == goals and score.unscored == 0


@respx.mock
def test_judge_samples_take_the_median_and_keep_every_level() -> None:
    runs = [dict.fromkeys(IDS, lv) for lv in (2, 4, 3)]
    runs[1][IDS[0]] = 1
    score, route = judge([verdict(r, [AFFIRMED]) for r in runs], samples=3)
    assert route.call_count == 3
    bodies = [json.loads(c.request.content)["messages"][1]["content"] for c in route.calls]
    assert len(set(bodies)) == 3  # each pass is its own call (and cache entry)
    first = score.criteria[0]
    assert first.samples == [2, 1, 3] and first.level == 2
    assert all(c.samples == [2, 4, 3] and c.level == 3 for c in score.criteria[1:])
    assert ":samples=3:" in score.version
    assert any("Median of 3 judge samples" in n for n in score.notes)
