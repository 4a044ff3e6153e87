"""Round 12 of issue 9: a blunt SRE's terse lists and headings (a heading over a list carries its
meaning to each item, ...), in our own words, and adversarial answers aimed at what the round
added. Every positive test fails on the scorer before it."""

from __future__ import annotations

import pytest

from agent.cases import get_case
from tests.test_scoring_meaning import level, score

COLD = get_case("finetune-cold-starts")
FINTECH = get_case("fintech-p99-spikes")

# -- a heading over a list carries its meaning to each item ----------------------------------------

PHASED_LIST = (
    "Short term:\n"
    "- Keep the most used adapters resident on warm machines.\n"
    "Medium term:\n"
    "- Load adapter weights from local disk so a cold load takes seconds.\n"
    "Long term:\n"
    "- One base model serves many adapters on each machine, for every customer.\n")


@pytest.mark.parametrize("text", [
    PHASED_LIST,
    PHASED_LIST.replace("term:\n", "term\n").replace("Short", "## Short")
    .replace("Medium", "## Medium").replace("Long", "## Long"),
    PHASED_LIST.replace(":\n-", ":\n\n1."),
])
def test_horizon_headings_over_lists_read_as_horizons(text: str) -> None:
    assert level(score(text, "solutions", COLD), "solutions.time_horizons") == 3


def test_the_item_is_shown_as_written() -> None:
    from agent.semantic.reading import read_answer

    texts = [s.text for s in read_answer(PHASED_LIST)]
    assert "- Keep the most used adapters resident on warm machines." in texts
    assert not any(t.startswith("Short term: Keep") for t in texts)


@pytest.mark.parametrize("text", [
    # bare headings with nothing under them
    "Short term:\nMedium term:\nLong term:\n",
    "Short term:\n\nMedium term:\n\nLong term:\n- synergy leverage holistic north star\n",
    # headings over keyword lists
    "Short term:\n- p99\n- KV cache\nMedium term:\n- autoscaler\n- canary\nLong term:\n"
    "- north star\n- platform\n",
    # headings over negated items
    "Short term:\n- Nothing, we don't do anything now.\nMedium term:\n- No caching, no "
    "autoscaler.\nLong term:\n- We never build a platform.\n",
])
def test_headings_with_nothing_said_under_them_earn_one_noun_string(text: str) -> None:
    assert (level(score(text, "solutions", FINTECH), "solutions.time_horizons") or 0) <= 2
    assert score(text, "solutions", FINTECH).score <= 1.3


def test_a_heading_does_not_reach_past_its_list() -> None:
    from agent.semantic.reading import read_answer

    sents = read_answer("Short term:\n- Keep spare machines warm.\nThen we add more machines "
                        "later.\n- Keep the queue short.")
    assert "Short term" in sents[1].read
    assert all("Short term" not in s.read for s in sents[2:])
