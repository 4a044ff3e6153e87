"""The terminal chat: the case on screen first, then the interview, streamed.

Interactive use reads answers at a prompt (a blank line sends); when standard input is not a
terminal, answers are blocks of lines separated by blank lines, and end of input saves the
session and exits 0 with the resume command.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.prompts import script
from agent.steps import STEPS, TITLES
from agent.textio import (
    COMMANDS,
    GRAPH_COMMANDS,
    MAX_ANSWER_CHARS,
    blocks,
    clean,
    command_of,
    interactive_blocks,
)

if TYPE_CHECKING:
    from rich.console import Console

    from agent.cases import Case
    from agent.config import Settings
    from agent.engine import Session


@dataclass
class ChatOptions:
    case_id: str | None
    session_id: str | None
    mode: str
    max_followups: int
    settings: Settings


class Printer:
    """Renders the graph's speech events as they arrive."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.open = False

    def out(self, text: str, style: str | None = None, end: str = "\n") -> None:
        self.console.print(text, style=style, end=end, markup=False, highlight=False,
                           soft_wrap=True)

    def step_rule(self, step: str) -> None:
        if step in STEPS:
            n = STEPS.index(step) + 1
            self.console.rule(f"Step {n} of {len(STEPS)} · {TITLES[step]}", style="cyan")

    def __call__(self, event: dict[str, Any]) -> None:
        if "begin" in event:
            if event["begin"] == "opener":
                self.out("")
                self.step_rule(str(event.get("step", "")))
            label = "Coach: " if event["begin"] == "coach" else "Interviewer: "
            self.out(label, style="bold cyan" if label != "Coach: " else "bold magenta", end="")
            self.open = True
        elif "say" in event:
            self.out(str(event["say"]), end="")
        elif "restart" in event:
            self.out("")
            self.out("(the model's reply broke off; asking again)", style="yellow")
            self.out("Interviewer: ", style="bold cyan", end="")
        elif "end" in event:
            if self.open:
                self.out("\n")
            self.open = False

    def err(self, text: str) -> None:
        """An error line: on stderr, where errors go, so piped transcripts stay clean."""
        from rich.console import Console

        Console(stderr=True, highlight=False, soft_wrap=True).print(
            text, style="red", markup=False, highlight=False, soft_wrap=True)

    def say(self, text: str, label: str = "Interviewer: ") -> None:
        self.out(label, style="bold cyan", end="")
        self.out(text + "\n")


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def banner(p: Printer, case: Case, mode: str, settings: Settings, sid: str | None) -> None:
    from rich.panel import Panel

    engine = "offline mode" if settings.offline else settings.describe()
    body = f"{case.title}\n{case.difficulty} · {mode} mode · {engine}"
    if sid:
        body += f" · session {sid}"
    p.console.print(Panel(body, title="interviewer", title_align="left", border_style="cyan",
                          expand=False), markup=False)
    if settings.offline:
        p.out(str(script()["offline_banner"]), style="yellow")
    p.out("Commands: " + " ".join("/" + c for c in COMMANDS) +
          "  ·  end each answer with a blank line", style="dim")
    p.out("")


def help_text() -> str:
    return "\n".join(f"  /{name:<7} {what}" for name, what in COMMANDS.items())


def answers(interactive: bool, console: Console) -> Iterator[str]:
    if interactive:
        def read(prompt: str) -> str:
            return console.input(prompt)

        return interactive_blocks(read, "You: ", "   ")
    return blocks(sys.stdin.buffer)


def run_chat(opts: ChatOptions) -> int:
    """Hold an interview; returns the process exit code."""
    from agent.cases import get_case
    from agent.store import Store

    console = _console()
    p = Printer(console)
    interactive = sys.stdin.isatty()
    mode = opts.mode
    resumed_row = None
    if opts.session_id:
        store = Store()
        resumed_row = store.get_session(opts.session_id)
        store.close()
        if resumed_row is None:
            raise SystemExit(f"interviewer: --session: no session {opts.session_id!r} "
                             "(see 'interviewer sessions')")
        case = get_case(resumed_row.case_id)
        mode = resumed_row.mode
    else:
        case = get_case(opts.case_id) if opts.case_id else _random_case()
    banner(p, case, mode, opts.settings, opts.session_id)
    if resumed_row is None:
        # The case is on screen before anything slow (LangGraph, the SDK) is imported.
        p.say(case.prompt.strip())

    from agent.engine import Engine
    from agent.llm import ModelError, ModelUnavailable

    with Engine(opts.settings) as engine:
        if resumed_row is None:
            session = engine.start(case, mode=mode, max_followups=opts.max_followups)
            p.out(f"(session {session.id})", style="dim")
        else:
            session = engine.open(resumed_row.id)
            p.out(f"Resuming session {session.id} at {TITLES.get(session.step(), session.step())}"
                  f" ({resumed_row.answered} answers so far).", style="dim")
        _exit_on_ctrl_c(session.id)
        try:
            try:
                session.recover(p)
                if resumed_row is not None and not session.finished():
                    p.step_rule(session.step())
                    p.say(session.question())
                return _loop(session, p, answers(interactive, console), interactive)
            except ModelUnavailable as e:
                p.out("")
                p.err(f"interviewer: {e}. Your session is saved (your last answer too).")
                p.err(_resume_hint(session.id, offline_hint=True))
                return 3
            except ModelError as e:
                p.out("")
                p.err(f"interviewer: the model endpoint refused the request ({e}). Your session "
                      "is saved (your last answer too).")
                p.err(_resume_hint(session.id, offline_hint=True))
                return 3
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            session.close()


def _exit_on_ctrl_c(sid: str) -> None:
    """Ctrl-C leaves at once: every answer is already checkpointed or journaled, and unwinding
    normally would first wait for whatever model call the graph is running in its worker
    thread (retries included). A signal handler runs in the main thread even while it waits."""

    def handler(signum: int, frame: object) -> None:
        message = f"\nInterrupted; your answers are saved. {_resume_hint(sid)}\n"
        with contextlib.suppress(Exception):  # a half-written line must not stop us leaving
            sys.stdout.flush()
        os.write(sys.stdout.fileno(), message.encode())
        os._exit(130)

    signal.signal(signal.SIGINT, handler)


def _resume_hint(sid: str, offline_hint: bool = False) -> str:
    hint = f"Resume with: interviewer chat --session {sid}"
    if offline_hint:
        hint += f"  (or: interviewer chat --session {sid} --offline)"
    return hint


def _random_case() -> Case:
    import random

    from agent.cases import default_cases

    cases = default_cases()
    return cases[random.choice(sorted(cases))]


def _loop(session: Session, p: Printer, incoming: Iterator[str], interactive: bool) -> int:
    if session.finished():
        p.out(f"Session {session.id} is already complete.")
        _finish(session, p)
        return 0
    for raw in incoming:
        text = clean(raw)
        if not interactive and text:
            p.out("You: " + (text if len(text) < 2000 else text[:2000] + " [...]"),
                  style="green")
            p.out("")
        cmd = command_of(text)
        if cmd is not None:
            if cmd == "help":
                p.out(help_text())
                continue
            if cmd == "repeat":
                p.say(session.question())
                continue
            if cmd == "quit":
                p.out("Saved. " + _resume_hint(session.id))
                return 0
            if cmd in GRAPH_COMMANDS:
                session.command(cmd, p)
            else:
                p.out(f"Unknown command /{cmd}. Commands: " +
                      " ".join("/" + c for c in COMMANDS), style="yellow")
                continue
        elif not text:
            p.out("Please type an answer (or /help for commands).", style="yellow")
            continue
        elif len(text) > MAX_ANSWER_CHARS:
            p.out(f"That answer is {len(text):,} characters; the limit is "
                  f"{MAX_ANSWER_CHARS:,}. Please shorten it and send it again.", style="yellow")
            continue
        else:
            session.answer(text, p)
        if session.finished():
            _finish(session, p)
            return 0
    p.out("")
    p.out(f"End of input. Session {session.id} saved. " + _resume_hint(session.id))
    return 0


def _finish(session: Session, p: Printer) -> None:
    """Show the feedback report; only scores not finished in the background are waited for."""
    import time

    from agent.report import to_markdown

    started = time.perf_counter()
    with p.console.status("Scoring the interview…", spinner="dots"):
        report = session.report()
    took = time.perf_counter() - started
    p.out("")
    if p.console.is_terminal:
        from rich.markdown import Markdown

        p.console.print(Markdown(to_markdown(report)))
    else:
        p.out(to_markdown(report))
    p.out(f"Feedback ready {took:.2f} s after your last answer. Session {session.id} completed; "
          f"see it again with: interviewer report {session.id} [--format html --output "
          "report.html]", style="bold")
