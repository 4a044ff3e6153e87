"""What /hint says while a follow-up question is still open (coach mode).

A /hint asked right after a follow-up ("You said “…”. How would you confirm that before acting
on it?") nudges toward answering that question; before, it hinted at the step's biggest gap,
which a new-user trial found pointed somewhere else than the question on the table. The nudge
is chosen by which scripted follow-up was asked (its fixed words, ``prompts/script.yaml``
``react`` and ``clarify_pacing.ask_assumptions``), or by the follow-up's kind when a model wrote
its words (``reactions``), from ``prompts/script.yaml`` ``hint_followup``. Like every hint it
names nothing the rubric looks for: only how to answer that kind of question. One such hint
per follow-up; the next /hint goes back to the step's gaps (agent/feedback.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from agent.prompts import script
from agent.state import InterviewState

_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def open_followup(state: InterviewState, step: str) -> str | None:
    """The text of the step's follow-up question the candidate has not answered yet and no
    hint has been given for since it was asked; None when the question on the table is the
    step's opener, it was answered, or a hint followed it."""
    for t in reversed(state.get("turns", [])):
        if t["step"] != step:
            return None
        if t["role"] == "candidate":
            if t["kind"] == "answer":
                return None
            continue  # a command (/hint, /next refused...) changes nothing
        if t["kind"] == "followup":
            return t["text"]
        if t["kind"] not in ("coach", "notice"):
            return None  # an opener, a clarify fact, or a hint already given
    return None


def followup_hint(state: InterviewState, step: str, question: str) -> str:
    """The nudge for ``question``, an open follow-up of ``step``: the one for the scripted
    line it is, else the one for the kind of the step's last reaction (gap, deepen,
    challenge), else the gap's."""
    nudges = script()["hint_followup"]
    for key, pattern in _scripted():
        if pattern.fullmatch(question.strip()) and key in nudges:
            return str(nudges[key])
    kinds = [r.get("kind", "") for r in state.get("reactions", []) if r.get("step") == step]
    kind = kinds[-1] if kinds and kinds[-1] in nudges else "gap"
    return str(nudges[kind])


@cache
def _scripted() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Each scripted follow-up line as (its key, an expression matching any line it makes:
    the placeholders as any text). Deepening lines are keyed ``deepen.<kind>``."""
    lines = script()
    out = [(key, _as_pattern(str(text))) for key, text in _flat(lines["react"])]
    out.append(("ask_assumptions", _as_pattern(str(lines["clarify_pacing"]["ask_assumptions"]))))
    return tuple(out)


def _flat(table: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in table.items():
        if isinstance(value, Mapping):
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _as_pattern(template: str) -> re.Pattern[str]:
    pieces = _PLACEHOLDER.split(template.strip())
    return re.compile("(?s)" + "(.+?)".join(re.escape(p) for p in pieces))
