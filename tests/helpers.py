"""Helpers the CLI-level suites share: a scripted interview and the session listing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import run_cli

CASE = "fintech-p99-spikes"

#: A whole interview as piped answers. Offline, the interviewer follows up the first four
#: steps' answers, so each "/next" ends a step rather than skipping one; the validate answer
#: ends the interview and leaves the last "/next" unread.
INTERVIEW_BLOCKS = [
    "Is this training or inference? What's the QPS and the latency target?",
    "I'll assume real-time inference for a payments customer with a 500 ms p99 target.",
    "Autoscaling lags the traffic spikes and new replicas take minutes to load weights.",
    "/next",
    "Goal: p99 under 500 ms at peak, error rate under 0.1%, GPU cost per request flat.",
    "/next",
    "Latency matters more than cost for this customer, so I'd pay for a warm pool.",
    "/next",
    "This week: a dedicated warm pool. Next quarter: an SLA-aware autoscaler.",
    "/next",
    "A/B test on a slice of traffic, watch p99 against GPU utilisation, roll back on breach.",
    "/next",
]


def stdin_of(blocks: list[str]) -> str:
    """Answers as the terminal reads them from a pipe: blocks separated by blank lines."""
    return "\n\n".join(blocks) + "\n" if blocks else ""


def sessions(home: Path) -> list[dict[str, Any]]:
    out = run_cli(home, "sessions", "--json")
    assert out.returncode == 0, out.stderr
    rows: list[dict[str, Any]] = json.loads(out.stdout)
    return rows


def only_session(home: Path) -> dict[str, Any]:
    [row] = sessions(home)
    return row
