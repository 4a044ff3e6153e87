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
    from agent.storage import Storage, Target


@dataclass
class ChatOptions:
    case_id: str | None
    session_id: str | None
    mode: str | None
    """None: not given (exam for a new session; a resumed one keeps its own)."""
    max_followups: int | None
    """None: not given (2 for a new session; a resumed one keeps its own)."""
    settings: Settings
    database: Target | None = None
    """Where sessions live (None: the configured database)."""


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
        elif event.get("storage") == "lost":
            if self.open:
                self.out("")
            self.err(f"({event['message']}; waiting up to {event['wait_s']:g} s for it to come "
                     "back)", style="yellow")
        elif event.get("storage") == "back":
            self.err("(the database is back; carrying on)", style="yellow")

    def err(self, text: str, style: str = "red") -> None:
        """An error line: on stderr, where errors go, so piped transcripts stay clean."""
        from rich.console import Console

        Console(stderr=True, highlight=False, soft_wrap=True).print(
            text, style=style, markup=False, highlight=False, soft_wrap=True)

    def say(self, text: str, label: str = "Interviewer: ") -> None:
        self.out(label, style="bold cyan", end="")
        self.out(text + "\n")


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def offline_banner(settings: Settings) -> str:
    """Why the interview is offline and how to switch to a model."""
    reason = "forced by --offline" if settings.forced_offline else "no model is configured"
    return str(script()["offline_banner"]).replace("{reason}", reason)


def banner(p: Printer, case: Case, mode: str, settings: Settings, sid: str | None,
           notice: str = "") -> None:
    from rich.panel import Panel

    if settings.offline:
        engine = "offline (forced by --offline)" if settings.forced_offline else "offline mode"
        note = offline_banner(settings)
    else:
        engine, note = settings.describe(), ""
    # The session id has a line of its own, so a long endpoint can never push it out of view;
    # long lines wrap inside the panel rather than being cut.
    body = case.title + (f"\nsession {sid}" if sid else "") + \
        f"\n{case.difficulty} · {mode} mode · {engine}"
    p.console.print(Panel(body, title="interviewer", title_align="left", border_style="cyan",
                          expand=False), markup=False, soft_wrap=False)
    if note:
        p.out(note, style="yellow")
    if notice:
        p.out(notice, style="yellow")
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
    from agent.rubrics import default_rubrics
    from agent.storage import exists, open_storage, resolve

    console = _console()
    p = Printer(console)
    interactive = sys.stdin.isatty()
    mode = opts.mode or "exam"
    resumed_row = None
    ignored = ""
    # Everything that can refuse to start is checked before the banner: the database, the
    # session (and whether another process holds it), the case, the rubrics and the script.
    target = opts.database or resolve(offline=opts.settings.forced_offline)
    if opts.session_id and not exists(target):  # resuming never creates INTERVIEWER_HOME
        raise SystemExit(f"interviewer: --session: no session {opts.session_id!r} "
                         f"({target.label} does not exist yet; see 'interviewer sessions')")
    store = open_storage(target)
    try:
        if opts.session_id:
            resumed_row = store.get_session(opts.session_id)
            if resumed_row is None:
                raise SystemExit(f"interviewer: --session: no session {opts.session_id!r} "
                                 "(see 'interviewer sessions')")
            lock = store.session_lock(resumed_row.id)
            if not lock.acquire():
                raise SystemExit(
                    f"interviewer: session {resumed_row.id} is open in another interviewer "
                    "process; close that one first (two processes must not write one session)")
            lock.release()  # taken for good when the engine opens the session
            case = get_case(resumed_row.case_id)
            mode = resumed_row.mode
            ignored = _ignored_flags(opts, resumed_row)
        else:
            case = get_case(opts.case_id) if opts.case_id else _random_case()
        default_rubrics()
        script()
    except BaseException:
        store.close()
        raise
    with store:
        return _run(opts, p, console, store, case, mode, resumed_row, ignored, interactive)


def _run(opts: ChatOptions, p: Printer, console: Console, store: Storage, case: Case,
         mode: str, resumed_row: Any, ignored: str, interactive: bool) -> int:
    from agent.storage import StorageUnavailable

    banner(p, case, mode, opts.settings, opts.session_id, ignored)
    if resumed_row is None:
        # The case is on screen before anything slow (LangGraph, the SDK) is imported.
        p.say(case.prompt.strip())

    from agent.engine import Engine
    from agent.model.client import ModelError, ModelUnavailable

    with Engine(opts.settings, db=store) as engine:
        if resumed_row is None:
            session = engine.start(case, mode=mode, max_followups=(
                2 if opts.max_followups is None else opts.max_followups))
            p.out(f"(session {session.id})", style="dim")
        else:
            session = engine.open(resumed_row.id)
            n = resumed_row.answered
            p.out(f"Resuming session {session.id} at {TITLES.get(session.step(), session.step())}"
                  f" ({n} {'answer' if n == 1 else 'answers'} so far).", style="dim")
        _exit_on_ctrl_c(session.id)
        try:
            try:
                replayed = _recover(session, p)
                if resumed_row is not None and not replayed and not session.finished():
                    p.step_rule(session.step())
                    p.say(current_question(session))
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
            except StorageUnavailable as e:
                p.out("")
                last = {True: " (your last answer too)", False: "; your last answer may not "
                        "have been saved: if the transcript lacks it when you resume, send it "
                        "again", None: ""}[e.answer_saved]
                p.err(f"interviewer: {e}. Your session is saved up to your previous answer"
                      f"{last}.")
                p.err(_resume_hint(session.id) + "  (once the database is back)")
                return 4
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            session.close()


def _ignored_flags(opts: ChatOptions, row: Any) -> str:
    """A note naming the flags a resumed session overrides, or "" when none was given."""
    saved_followups = int(row.info.get("max_followups", 2))
    given = []
    if opts.case_id is not None and opts.case_id != row.case_id:
        given.append(f"--case {opts.case_id}")
    if opts.mode is not None and opts.mode != row.mode:
        given.append(f"--mode {opts.mode}")
    if opts.max_followups is not None and opts.max_followups != saved_followups:
        given.append(f"--max-followups {opts.max_followups}")
    if not given:
        return ""
    return (f"Note: ignoring {', '.join(given)}: a resumed session keeps its own case, mode and "
            f"follow-ups ({row.case_id}, {row.mode} mode, {saved_followups} follow-ups).")


def _recover(session: Session, p: Printer) -> bool:
    """Finish what a killed process left undone (see Session.recover). When that replays a
    saved answer, say so before the interviewer's reply is shown; True when anything was shown
    (the reply ends with the interviewer's next question, so it need not be asked again)."""
    pending = session.engine.store.journaled(session.id)
    shown = False

    def on_event(event: dict[str, Any]) -> None:
        nonlocal shown
        if not shown and pending is not None:
            said = " ".join(pending[1].split())
            preview = said if len(said) <= 80 else said[:80] + "…"
            what = "command" if command_of(said) is not None else "answer"
            p.out(f"(replaying your saved {what}: {preview})", style="dim")
        shown = True
        p(event)

    session.recover(on_event)
    return shown


def current_question(session: Session) -> str:
    """What the candidate is answering: the step's question or the latest follow-up. A clarify
    fact, a hint, a coach note or a notice is not a question: /repeat never repeats those."""
    for t in reversed(session.state().get("turns", [])):
        if t["role"] == "interviewer" and t["kind"] in ("prompt", "opener", "followup"):
            return t["text"]
    return session.question()


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
                p.say(current_question(session))
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
