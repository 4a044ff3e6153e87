"""The user install leaves the eval statistics out: eval says what to install instead of
failing on an import (issue 14, defect 8)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from agent.cli import main


def test_eval_without_the_eval_extra_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name in ("scipy", "krippendorff") else real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    code = main(["eval", "run", "evals/datasets/dev.jsonl", "--output",
                 str(tmp_path / "r.json")])
    err = capsys.readouterr().err
    assert code == 1
    assert err == ("interviewer: eval run: needs the statistics packages of the 'eval' extra "
                   "(scipy, krippendorff missing): pip install -e '.[eval]' in a checkout, or "
                   "pip install 'interviewer[eval]'\n")
    assert not (tmp_path / "r.json").exists()
