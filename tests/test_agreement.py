"""The scorer's measured agreement, as reports print it (agent/agreement.py, evals/agreement.py)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
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


def test_the_trust_line_says_when_the_case_has_no_labelled_interviews() -> None:
    """A report quoted "step QWK 0.80 over 47 interviews" also for a case with no labelled
    interview: the figure is then from other cases only."""
    data = results(None)
    data["items"] = [{"id": f"i{n}", "case": "fintech-p99-spikes" if n < 3 else "gpu-price-shift",
                      "failed": False} for n in range(47)]
    _, a = entry(data)
    assert a.cases == {"fintech-p99-spikes": 3, "gpu-price-shift": 44}
    line = describe(a, "r1", case="a-new-case")
    assert ("step QWK 0.80 over 47 interviews of other cases (this case has no labelled "
            "interviews, so the figure is from other cases)") in line
    assert "over 47 interviews (3 of this case)" in describe(a, "r1", case="fintech-p99-spikes")
    assert "this case" not in describe(a, "r1")  # no case given
    assert entry(results(None))[1].cases is None  # not recorded: nothing said
    assert "this case" not in describe(entry(results(None))[1], "r1", case="a-new-case")
    shipped = agreement_for("offline")
    assert shipped is not None and shipped.cases and sum(shipped.cases.values()) == (
        shipped.interviews)


def test_a_report_on_a_case_with_no_labelled_interviews_says_so(tmp_path: Path) -> None:
    from agent.paths import data_dir
    from tests.conftest import run_cli

    cases = tmp_path / "cases"
    shutil.copytree(data_dir("cases"), cases)
    text = (cases / "fintech-p99-spikes.yaml").read_text(encoding="utf-8")
    (cases / "fintech-copy.yaml").write_text(
        text.replace("id: fintech-p99-spikes", "id: fintech-copy", 1), encoding="utf-8")
    home = tmp_path / "home"
    lines = {}
    for case in ("fintech-copy", "fintech-p99-spikes"):
        res = run_cli(home, "chat", "--case", case, "--offline", stdin="Who is the user?\n",
                      INTERVIEWER_CASES=str(cases))
        sid = re.search(r"Session (\w+) saved", res.stdout)
        assert res.returncode == 0 and sid, res.stdout + res.stderr
        res = run_cli(home, "report", sid[1], INTERVIEWER_CASES=str(cases))
        assert res.returncode == 0, res.stderr
        lines[case] = next(line for line in res.stdout.splitlines()
                           if line.startswith("How far to trust it:"))
    assert "interviews of other cases (this case has no labelled interviews" in (
        lines["fintech-copy"])
    assert "(3 of this case)" in lines["fintech-p99-spikes"], lines
