"""Issue 10, round 8: general rules of the offline clarify match (agent/clarify/select.py), each
tested against the matcher without it, so each test can fail."""

from __future__ import annotations

import dataclasses

import pytest

from agent.cases import get_case, load_cases
from agent.clarify.select import PARAMS, Params, select
from agent.offline import question_parts

#: Questions whose every word is a plain one: they name no subject, so meaning alone has nothing
#: to match, however loosely similar the embedding finds them to some fact.
NAMES_NOTHING = ["Where was it, where is it now?", "What is it, and how is it?", "Which is it?",
                 "And where is it now?"]


def told(case_id: str, question: str, params: Params = PARAMS) -> set[str]:
    return {f.id for f in select(get_case(case_id), question_parts(question), params)}


@pytest.mark.parametrize("case_id", sorted(load_cases()))
def test_a_question_that_names_nothing_is_told_nothing(case_id: str) -> None:
    for q in NAMES_NOTHING:
        assert told(case_id, q) == set(), q


def test_the_content_word_minimum_is_what_keeps_a_vague_question_from_a_fact() -> None:
    # Without the rule, the small embedding model finds "where is it now" close to the fact
    # about where it hurts, and tells it.
    without = dataclasses.replace(PARAMS, min_content=0)
    assert told("gpu-price-shift", "Where was it, where is it now?", without) == {"pain_point"}
    assert told("gpu-price-shift", "Where was it, where is it now?") == set()
    assert told("batch-inference-cost", "Which is it?", without) == {"models"}
    # A named subject still gets its fact, by keywords and by meaning alone.
    assert told("gpu-price-shift", "Margin. Where was it, where is it now?") == {"margin"}
    assert "margin" in told("gpu-price-shift", "How has our gross margin moved lately?")


def test_a_clue_told_by_meaning_alone_must_stand_clear_of_the_next_fact() -> None:
    # Close to the clue that workloads cannot move across GPU types (0.66), but barely ahead
    # of the next fact: a question about how busy the fleet is, which must not give it away.
    q = "How busy is our fleet on average, what share of the GPUs are doing work?"
    without = dataclasses.replace(PARAMS, clue_margin=0.0)
    assert "portability" in told("gpu-price-shift", q, without)
    assert told("gpu-price-shift", q) == {"utilization"}
    # A question that asks for a clue directly, answered by meaning alone, still gets it.
    assert told("finetune-cold-starts",
                "The adapters, from where they are loaded when one request come?") == {
                    "adapter_storage"}
