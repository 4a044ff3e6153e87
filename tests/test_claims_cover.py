"""claims.cover's shortcut for a group no sentence of the step can match."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.cases import default_cases
from agent.scorers import OfflineScorer
from agent.semantic import claims
from evals.dataset import SCORED, load_dataset
from evals.runner import step_turns, told_before


class _Everything:
    def __contains__(self, item: object) -> bool:
        return True


def test_a_group_no_sentence_can_match_is_read_for_meaning_alone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """cover searches a group's sentences only when one of its plans could match some
    sentence of the step (claims._anywhere, from signals.reachable); otherwise the group is
    covered by the first sentence with a hit by meaning. Every dev (interview, step) must
    score exactly as with every group searched, and the shortcut must spare most groups'
    searches."""
    cases = default_cases()
    items = load_dataset(Path("evals/datasets/dev.jsonl")).interviews[:24]
    searched: list[int] = []
    real = claims.candidate_sentences

    def counted(*args: Any, **kwargs: Any) -> Any:
        searched.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(claims, "candidate_sentences", counted)

    meant: list[int] = []
    real_cover = claims.cover

    def cover(*args: Any, **kwargs: Any) -> claims.Covered:
        got = real_cover(*args, **kwargs)
        meant.append(len(got.by_meaning))
        return got

    monkeypatch.setattr("agent.scorers.cover", cover)

    def scores() -> list[dict[str, Any]]:
        scorer = OfflineScorer()
        return [scorer.score_step(cases[item.case], step, step_turns(item, step),
                                  told_before(item, step, cases[item.case])).model_dump()
                for item in items for step in SCORED]

    quick = scores()
    shortcut = len(searched)
    searched.clear()
    monkeypatch.setattr(claims, "_anywhere", lambda reads, fulls: _Everything())
    assert scores() == quick
    assert shortcut < len(searched) / 2
    assert sum(meant) > 40  # groups covered by meaning (both runs)
