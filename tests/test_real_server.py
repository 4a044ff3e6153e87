"""The same checks against a real OpenAI-compatible server you run yourself (llama.cpp's
server, Ollama, vLLM, LM Studio...), outside CI: skipped unless INTERVIEWER_REAL_SERVER_URL
names one. See README, "Running against a real local server".

    INTERVIEWER_REAL_SERVER_URL=http://127.0.0.1:8080/v1 INTERVIEWER_REAL_SERVER_MODEL=local \\
        python -m pytest -p no:cacheprovider tests/test_real_server.py -s

A small model fails often; what is checked is that the product stays honest and usable: the
doctor gives a verdict, a piped interview completes with whatever the model can do (its
unusable lines replaced by the standard text, each fallback in the trace), the report is
produced, and an LLM eval completes with every failure counted.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli
from tests.helpers import INTERVIEW_BLOCKS, only_session, stdin_of

URL = os.environ.get("INTERVIEWER_REAL_SERVER_URL", "")
MODEL = os.environ.get("INTERVIEWER_REAL_SERVER_MODEL", "local")
#: Real servers can be very slow on a CPU: generous, and overridable.
TIMEOUT = float(os.environ.get("INTERVIEWER_REAL_SERVER_TIMEOUT", "3600"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not URL, reason="set INTERVIEWER_REAL_SERVER_URL to a server you run"),
]


def endpoint() -> list[str]:
    return ["--base-url", URL, "--model", MODEL]


def test_doctor_gives_a_verdict(home: Path) -> None:
    out = run_cli(home, "doctor", "--json", *endpoint(), timeout=TIMEOUT)
    assert out.returncode in (0, 1), out.stdout + out.stderr
    report = json.loads(out.stdout)
    print("\n" + run_cli(home, "doctor", *endpoint(), timeout=TIMEOUT).stdout)
    assert report["verdict"] in ("ready", "degraded")


def test_a_piped_interview_completes_with_a_report_and_an_honest_trace(home: Path) -> None:
    out = run_cli(home, "chat", "--case", "fintech-p99-spikes", *endpoint(),
                  stdin=stdin_of(INTERVIEW_BLOCKS), timeout=TIMEOUT)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr
    assert "Traceback" not in out.stderr and "Feedback ready" in out.stdout
    sid = str(only_session(home)["id"])
    trace = run_cli(home, "trace", sid)
    assert trace.returncode == 0, trace.stderr
    print(f"\n{out.stdout[-4000:]}\n{trace.stdout}")
    report = json.loads(run_cli(home, "report", sid, "--format", "json", *endpoint(),
                                timeout=TIMEOUT).stdout)
    assert report["overall"] is not None


def test_an_llm_eval_completes_and_counts_its_failures(home: Path, tmp_path: Path) -> None:
    results = tmp_path / "eval.json"
    out = run_cli(home, "eval", "run", str(ROOT / "evals" / "datasets" / "dev.jsonl"),
                  "--scorer", "llm", *endpoint(), "--limit", "1", "--bootstrap", "0",
                  "--output", str(results), timeout=TIMEOUT)
    assert out.returncode in (0, 1), out.stdout + out.stderr  # 1: some items failed
    data = json.loads(results.read_text())
    print(f"\n{out.stdout}")
    failed = data["failures"]["items"]
    assert (out.returncode == 1) == (failed > 0)
    if failed:
        assert data["metrics"]["unscored_criteria"] > 0  # counted, not 0
