"""How far each scorer agrees with human graders, as measured on the held-out split: the
figure reports print next to "scored by", so a reader knows how much to trust the levels.

The figures live in ``agent/agreement.json`` (packaged with the code) and are written by
``python -m evals.agreement RESULTS.json ...`` from ``interviewer eval run`` results on
``evals/datasets/heldout.jsonl`` (see evals/README.md, "Honest labels"). Nothing here reads
``evals/`` at run time.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

PATH = Path(__file__).with_name("agreement.json")
#: A known bias worth a reader's knowing: strong plain-words answers this far low or more.
PLAIN_WORDS_NOTED = 0.2


class Agreement(BaseModel):
    """One scorer's measured agreement with rater 1 on a labelled split."""

    scorer: str = Field(description="offline, or llm:<model> for a judge model")
    split: str = Field(description="the dataset it was measured on (held-out split)")
    dataset_sha256: str = Field(description="first 12 hex digits of the dataset's sha256")
    interviews: int = Field(description="interviews scored")
    steps_qwk: float | None = Field(description="quadratic weighted kappa, holistic step levels")
    steps_exact: float | None = Field(description="exact agreement, holistic step levels")
    criteria_qwk: float | None = Field(description="quadratic weighted kappa, criterion levels")
    genuine_steps_qwk: float | None = Field(default=None, description="step QWK on the genuine "
                                            "answers only (no adversarial tag)")
    plain_words_error: float | None = Field(
        default=None, description="mean signed error (predicted minus label) of the step level "
        "on strong answers in plain words (the plain_words_strong tag)")
    cases: dict[str, int] | None = Field(
        default=None, description="interviews scored per case id (None: not recorded): a case "
        "with none has no labelled interviews in the split, so the figure is from other cases")
    rubrics: str = Field(description="the rubric hash the figure was measured with")
    measured_at: str = Field(description="when (ISO 8601)")


@cache
def _table(path: Path = PATH) -> dict[str, Agreement]:
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
        return {k: Agreement.model_validate(v) for k, v in raw.items()}
    except (OSError, ValueError, ValidationError, AttributeError):
        return {}  # no figure is shown rather than a wrong one


def agreement_for(scorer: str, model: str | None = None) -> Agreement | None:
    """The measured agreement of the offline scorer, or of the LLM judge with ``model``."""
    key = "offline" if scorer == "offline" else f"llm:{model}" if model else None
    return _table().get(key) if key else None


def describe(a: Agreement | None, rubrics: str | None = None, case: str | None = None) -> str:
    """One line for a report: the figure, where it comes from, and whether it still holds.
    ``case``: the report's case, to say whether any measured interview was of it (a new case
    has none, and the figure is then from other cases only)."""
    if a is None:
        return ("agreement with human graders not measured for this scorer (see "
                "evals/README.md, \"Validate a judge model\")")
    qwk = "n/a" if a.steps_qwk is None else f"{a.steps_qwk:.2f}"
    text = (f"agreement with human graders on the {a.split} split: step QWK {qwk} over "
            f"{a.interviews} interviews")
    if case is not None and a.cases is not None:
        n = a.cases.get(case, 0)
        text += (f" ({n} of this case)" if n else " of other cases (this case has no labelled "
                 "interviews, so the figure is from other cases)")
    if a.genuine_steps_qwk is not None:
        text += (f" (adversarial answers included; {a.genuine_steps_qwk:.2f} on genuine ones "
                 "alone)")
    if a.plain_words_error is not None and a.plain_words_error <= -PLAIN_WORDS_NOTED:
        text += (f"; strong answers in plain words score {-a.plain_words_error:.1f} of a level "
                 "low on average")
    if rubrics is not None and rubrics != a.rubrics:
        text += f" (measured with rubrics {a.rubrics}; these rubrics are {rubrics})"
    return text
