"""Helpers the CLI-level suites share: a scripted interview and the session listing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, run_cli

DEV = ROOT / "evals" / "datasets" / "dev.jsonl"

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


# -- a terminal: the chat on a pseudo-terminal, and what its screen shows ---------------------

#: What the chat shows when it waits at the prompt: the prompt itself on a dumb terminal; the
#: full editor redraws its prompt while one types, so there it is the switch to bracketed paste
#: that every prompt starts with.
PROMPT = b"You: "
PASTE_ON, PASTE_OFF = b"\x1b[?2004h", b"\x1b[?2004l"


class Terminal:
    """``interviewer`` on a pseudo-terminal of a given size, as a person types at it.

    ``term="dumb"`` keeps the output plain; ``"xterm-256color"`` runs the full editor (cursor
    movement, bracketed paste). :meth:`screen` renders everything shown through a terminal
    emulator (pyte), so assertions see what a person sees, wrapping included."""

    def __init__(self, home: Path, *args: str, cols: int = 100, rows: int = 40,
                 term: str = "dumb") -> None:
        import fcntl
        import os
        import pty
        import struct
        import subprocess
        import sys
        import termios

        from tests.conftest import ROOT, cli_env

        self.cols, self.rows = cols, rows
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = cli_env(home, TERM=term, PROMPT_TOOLKIT_NO_CPR="1")
        env.pop("COLUMNS", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "agent", *args], stdin=slave,
                                     stdout=slave, stderr=slave, env=env, cwd=ROOT,
                                     close_fds=True)
        os.close(slave)
        self.shown = b""
        self._used = 0
        self.marker = PROMPT if term == "dumb" else PASTE_ON

    def read_until(self, done: Any, timeout: float = 30) -> bool:
        import os
        import select
        import time

        deadline = time.monotonic() + timeout
        while not done(self.shown) and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    return bool(done(self.shown))
                if not data:
                    return bool(done(self.shown))
                self.shown += data
        return bool(done(self.shown))

    def type(self, *keys: bytes) -> None:
        """Write each of ``keys`` once a new prompt is waiting for it."""
        import os

        for k in keys:
            self.read_until(lambda out: out.count(self.marker) > self._used)
            self._used = self.shown.count(self.marker)
            os.write(self.master, k)

    def paste(self, text: str) -> None:
        """Paste ``text`` at the next prompt as a terminal does: marked as a paste when the
        program asked for bracketed paste, else as if every key had been typed at once."""
        import os

        self.read_until(lambda out: out.count(self.marker) > self._used)
        self._used = self.shown.count(self.marker)
        data = text.encode()
        if self.shown.rfind(PASTE_ON) > self.shown.rfind(PASTE_OFF):
            data = b"\x1b[200~" + data + b"\x1b[201~"
        os.write(self.master, data)

    def send(self, keys: bytes) -> None:
        """Write now, without waiting for a prompt."""
        import os

        os.write(self.master, keys)

    def finish(self, timeout: float = 60) -> int:
        """Wait for the process to exit; its exit code."""
        import os

        try:
            self.read_until(lambda out: self.proc.poll() is not None, timeout)
            code = self.proc.wait(timeout=30)
            self.read_until(lambda out: False, timeout=0.3)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            os.close(self.master)
        return code

    def text(self) -> str:
        return self.shown.decode("utf-8", "replace").replace("\r\n", "\n")

    def screen(self) -> list[str]:
        """Every line the terminal showed (scrolled-off ones first), as a person saw it."""
        import pyte

        screen = pyte.HistoryScreen(self.cols, self.rows, history=100_000)
        stream = pyte.ByteStream(screen)
        stream.feed(self.shown)
        lines = ["".join(row[x].data for x in range(self.cols)).rstrip()
                 for row in screen.history.top]
        return lines + [line.rstrip() for line in screen.display]


def first_lines(n: int, tmp: Path) -> Path:
    """The first ``n`` interviews of the dev split, as a dataset file of their own."""
    path = tmp / "small.jsonl"
    path.write_text("".join(DEV.read_text().splitlines(keepends=True)[:n]))
    return path


def results_of(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def predictions(results: dict[str, Any]) -> dict[str, Any]:
    """Each item's predicted step and criterion levels."""
    return {i["id"]: ({k: v["predicted"] for k, v in i["steps"].items()},
                      {k: v["predicted"] for k, v in i["criteria"].items()})
            for i in results["items"]}


def refused_prompt_file(tmp_path: Path, monkeypatch: Any, name: str, text: str,
                        load: Callable[[], object], *caches: Any) -> str:
    """Put ``text`` in ``<name>.yaml`` of an INTERVIEWER_PROMPTS folder and call ``load``,
    which must refuse it: the DataFileError's message, which names the file. ``caches``
    (functools caches of the loaders) are cleared before and after, with data_dir's."""
    import pytest

    from agent.datafile import DataFileError
    from agent.paths import data_dir

    def clear() -> None:
        for c in (data_dir, *caches):
            c.cache_clear()

    (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("INTERVIEWER_PROMPTS", str(tmp_path))
    clear()
    try:
        with pytest.raises(DataFileError) as err:
            load()
    finally:
        monkeypatch.delenv("INTERVIEWER_PROMPTS")
        clear()
    message = str(err.value)
    assert f"{name}.yaml" in message, message
    return message


def refused_script_without(tmp_path: Path, monkeypatch: Any, line_start: str) -> str:
    """The shipped ``prompts/script.yaml`` without its lines that start with ``line_start``
    (there must be one), refused at load: :func:`refused_prompt_file`'s message."""
    from agent.paths import data_dir
    from agent.prompts import script

    text = (data_dir("prompts") / "script.yaml").read_text(encoding="utf-8")
    kept = "\n".join(line for line in text.splitlines() if not line.startswith(line_start))
    assert kept != text, line_start
    return refused_prompt_file(tmp_path, monkeypatch, "script", kept, script, script)


def shipped_expressions() -> dict[str, str]:
    """Every ``re:`` expression in the shipped data files (rubrics, cases, prompts), without
    its prefix, with the name of a file that holds it."""
    import yaml

    found: dict[str, str] = {}

    def walk(node: object, name: str) -> None:
        if isinstance(node, str) and node.startswith("re:"):
            found.setdefault(node[3:], name)
        elif isinstance(node, dict):
            for v in node.values():
                walk(v, name)
        elif isinstance(node, list):
            for v in node:
                walk(v, name)

    for folder in ("rubrics", "cases", "prompts"):
        for path in sorted((ROOT / folder).glob("*.yaml")):
            walk(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)
    return found


def rubric_plans() -> tuple[tuple[str, ...], ...]:
    """Every rubric's signal groups as the offline scorer plans their searches
    (agent.semantic.claims._plans)."""
    from agent.rubrics import default_rubrics
    from agent.semantic.claims import _plans

    rubrics = default_rubrics()
    return _plans(tuple(tuple(g) for step in rubrics.hashes for c in rubrics[step].criteria
                        for g in c.signals))


def dev_readings() -> set[str]:
    """The reading and the full text of every sentence the candidates say in the dev
    interviews (agent.semantic.reading.Sentence.read and .full)."""
    from agent.semantic.reading import read_answer
    from evals.dataset import load_dataset

    items = load_dataset(ROOT / "evals" / "datasets" / "dev.jsonl").interviews
    return {x for item in items for t in item.turns if t.role == "candidate"
            for s in read_answer(t.text) for x in (s.read, s.full)}
