"""Shared fixtures. Nothing here reaches the network: model endpoints are faked at the HTTP
wire (respx) or served on loopback by evals/fake_endpoint.py."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

_ENDPOINT_ENV = (
    "INTERVIEWER_BASE_URL", "INTERVIEWER_API_KEY", "INTERVIEWER_MODEL", "INTERVIEWER_PROVIDER",
    "INTERVIEWER_API_KEY_FILE", "INTERVIEWER_FALLBACK_MODEL", "OPENAI_API_KEY",
    "FIREWORKS_API_KEY", "OPENAI_BASE_URL",
)
#: The developer's database choice never leaks in: a test that wants PostgreSQL says so.
_DATABASE_ENV = ("INTERVIEWER_DATABASE_URL", "INTERVIEWER_DATABASE_WAIT")


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C reaches the commands the tests start. A shell starts a background job with SIGINT
    ignored, its children inherit that, and a Python started with SIGINT ignored never raises
    KeyboardInterrupt: every Ctrl-C test would fail when the suite runs as a background job.
    A handler of our own is reset to the default in each child the tests start."""
    import signal

    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    # Clarify's expected answers are those of its default encoder, which needs the model
    # `interviewer setup` fetches: without it every clarify test would fail for that one reason.
    from agent.semantic import minilm

    if not os.environ.get("INTERVIEWER_CLARIFY_ENCODER") and not minilm.available():
        pytest.exit(f"clarify's sentence encoder is not in {minilm.model_dir()}: run "
                    "'interviewer setup' first (the README's test command does)", returncode=4)


@pytest.fixture
def wordllama_clarify(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Clarify's match on WordLlama alone, as without ``interviewer setup``: its fitted
    parameters (pass them on: a function's default was bound at import), fresh indexes."""
    import agent.clarify.select as sel

    for name, value in sel.wordllama_alone().items():
        monkeypatch.setattr(sel, name, value)
    return sel.WORDLLAMA_PARAMS


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own INTERVIEWER_HOME and no endpoint from the developer's shell."""
    h = tmp_path / "home"
    monkeypatch.setenv("INTERVIEWER_HOME", str(h))
    for name in (*_ENDPOINT_ENV, *_DATABASE_ENV):
        monkeypatch.delenv(name, raising=False)
    return h


# -- PostgreSQL: a throwaway server for the session, a fresh database per test ------------------


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    """A PostgreSQL server for the whole test session (see tests/postgres.py): skipped with
    the reason when none can be started, a failure when INTERVIEWER_REQUIRE_POSTGRES=1 (CI)."""
    from tests import postgres

    yield from postgres.cluster_or_skip()


@pytest.fixture
def pg_url(pg_cluster: Any) -> Iterator[str]:
    """A fresh, empty database on the test server, dropped afterwards."""
    url = pg_cluster.create_database()
    try:
        yield url
    finally:
        pg_cluster.drop_database(url)


@pytest.fixture(scope="module")
def own_cluster(pg_cluster: Any) -> Iterator[Any]:
    """A server the module's tests may stop and start (the shared one serves every other
    test)."""
    from tests.postgres import Cluster

    if not isinstance(pg_cluster, Cluster):
        pytest.skip("restart tests need a server they start themselves, not "
                    "INTERVIEWER_TEST_POSTGRES_URL's")
    server = Cluster().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs the test once on each backend: the default SQLite file in INTERVIEWER_HOME, then a
    fresh PostgreSQL database through INTERVIEWER_DATABASE_URL (which the CLI subprocesses
    inherit). Returns "sqlite" or "postgres"."""
    if request.param == "postgres":
        monkeypatch.setenv("INTERVIEWER_DATABASE_URL", request.getfixturevalue("pg_url"))
    return str(request.param)


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
