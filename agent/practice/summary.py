"""A session's report in brief, stored beside it: what listings and progress read, so that
neither has to load the interview or score anything again."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.report import Report


def summary(report: Report) -> dict[str, Any]:
    """Overall, band, what scored it, and every criterion's level per step."""
    return {
        "status": report.status,
        "overall": report.overall,
        "band": report.band,
        "provisional": report.provisional,
        "scorer": report.scorer.type,
        "drill": report.drill,
        "steps": {
            s.step: {"score": s.score, "status": s.status, "scorer": s.scorer,
                     "criteria": {c.id: c.level for c in s.criteria}}
            for s in report.steps
        },
        "seconds": {t.step: t.seconds for t in report.time},
    }
