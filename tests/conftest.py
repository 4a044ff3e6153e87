"""Shared fixtures. Nothing here reaches the network: model endpoints are faked at the HTTP
wire (respx) or served on loopback by evals/fake_endpoint.py."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

_ENDPOINT_ENV = (
    "INTERVIEWER_BASE_URL", "INTERVIEWER_API_KEY", "INTERVIEWER_MODEL", "INTERVIEWER_PROVIDER",
    "INTERVIEWER_API_KEY_FILE", "INTERVIEWER_FALLBACK_MODEL", "OPENAI_API_KEY",
    "FIREWORKS_API_KEY", "OPENAI_BASE_URL",
)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own INTERVIEWER_HOME and no endpoint from the developer's shell."""
    h = tmp_path / "home"
    monkeypatch.setenv("INTERVIEWER_HOME", str(h))
    for name in _ENDPOINT_ENV:
        monkeypatch.delenv(name, raising=False)
    return h


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _ENDPOINT_ENV}
    env.update({"INTERVIEWER_HOME": str(home), "PYTHONUNBUFFERED": "1", "COLUMNS": "100",
                "TERM": "dumb", "NO_COLOR": "1"})
    env.update(extra)
    return env


def run_cli(home: Path, *args: str, stdin: bytes | str = b"", timeout: float = 60,
            **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``interviewer`` as a user would, with piped stdin."""
    data = stdin.encode() if isinstance(stdin, str) else stdin
    proc = subprocess.run(
        [sys.executable, "-m", "agent", *args], input=data, capture_output=True,
        timeout=timeout, env=cli_env(home, **env), cwd=ROOT, check=False,
    )
    return subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )


@pytest.fixture
def fake_endpoint() -> Iterator[object]:
    from evals.fake_endpoint import FakeEndpoint

    with FakeEndpoint() as ep:
        yield ep
