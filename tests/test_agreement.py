"""The scorer's measured agreement, as reports print it (agent/agreement.py, evals/agreement.py)."""

from __future__ import annotations

from typing import Any

from agent.agreement import PATH, Agreement, agreement_for, describe
from evals.agreement import entry


def results(plain_error: float | None) -> dict[str, Any]:
    tags: dict[str, Any] = {"genuine": {"steps_qwk": 0.81}}
    if plain_error is not None:
        tags["plain_words_strong"] = {"mean_signed_error": plain_error}
    return {"knobs": {"scorer": "offline", "model": None, "rubric_version": "r1",
                      "dataset": {"name": "heldout", "sha256": "0123456789abcdef"}},
            "metrics": {"items_scored": 47, "overall": {"steps": {"qwk": 0.8, "exact": 0.63},
                                                        "criteria": {"qwk": 0.71}},
                        "by_interview_tag": {"interview": tags}},
            "created_at": "2026-12-05T12:00:00+0000"}


def test_a_known_bias_on_plain_words_is_measured_and_stated() -> None:
    """A report's trust line says how far strong plain-words answers are under-scored when
    it is a fair part of a level (a new-user trial read 'step QWK 0.80' as the whole story)."""
    key, low = entry(results(-0.64))
    assert key == "offline" and low.plain_words_error == -0.64
    line = describe(low, "r1")
    assert "step QWK 0.80 over 47 interviews" in line
    assert "strong answers in plain words score 0.6 of a level low" in line
    assert "plain words" not in describe(entry(results(-0.1))[1], "r1")
    assert "plain words" not in describe(entry(results(None))[1], "r1")


def test_the_shipped_figures_load_and_read_as_one_line() -> None:
    shipped = agreement_for("offline")
    assert shipped is not None and PATH.exists()
    assert isinstance(shipped, Agreement) and shipped.split == "heldout"
    line = describe(shipped, shipped.rubrics)
    assert "\n" not in line and f"step QWK {shipped.steps_qwk:.2f}" in line
