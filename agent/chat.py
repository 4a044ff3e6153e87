"""The terminal chat: the case on screen first, then the interview, streamed.

Interactive use reads answers at a prompt (a blank line sends); when standard input is not a
terminal, answers are blocks of lines separated by blank lines, and end of input saves the
session and exits 0 with the resume command (no input at all creates no session).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.commands import (
    COMMANDS,
    Answer,
    Command,
    Refused,
    allowed,
    clean,
    command_list,
    command_of,
    read_input,
    reply,
)
from agent.editor import Interrupted, restore_terminal
from agent.prompts import clarify_budget, script
from agent.state import current_question
from agent.steps import STEPS, TITLES
from agent.textio import blocks

if TYPE_CHECKING:
    from rich.console import Console

    from agent.cases import Case
    from agent.config import Settings
    from agent.editor import AnswerEditor
    from agent.engine import Session
    from agent.report import Report
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
    """Renders the graph's speech events as they arrive. At a terminal, text is word-wrapped to
    its width as it streams (a word is held back until it is complete, so it is never broken
    across lines); elsewhere (a pipe, a file) lines are left whole."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.open = False
        self.wrap = console.is_terminal
        self.col = 0
        self._carry = ""
        self._carry_style: str | None = None
        self._space = ""
        #: The case being interviewed: its suggested time per step is shown as each step starts.
        self.case: Case | None = None
        self.scoring: Any = None
        """The spinner shown from the closing line until the report is ready."""

    def out(self, text: str, style: str | None = None, end: str = "\n",
            wrap: bool = True) -> None:
        """Print ``text``; ``wrap=False`` for a command to copy, which must stay on one line."""
        if not self.wrap or not wrap:
            self.flush()
            self.console.print(text, style=style, end=end, markup=False, highlight=False,
                               soft_wrap=True)
            return
        if self._carry and style != self._carry_style:
            self.flush()
        self._carry_style = style
        self._emit(self._carry + text + end, style, final=bool(end))

    def flush(self) -> None:
        """Print a word held back while streaming."""
        if self._carry:
            carry, self._carry = self._carry, ""
            self._emit(carry, self._carry_style, final=True)

    def _emit(self, text: str, style: str | None, final: bool) -> None:
        from rich.cells import cell_len

        width = max(self.console.width, 20)
        pieces = re.findall(r"\n|[^\S\n]+|\S+", text)
        self._carry = ""
        if not final and pieces and not pieces[-1].isspace():
            self._carry = pieces.pop()  # the word may go on in the next piece
        out: list[str] = []
        for piece in pieces:
            if piece == "\n":
                out.append("\n")
                self.col, self._space = 0, ""
            elif piece.isspace():
                self._space += piece  # printed before the next word, unless the line breaks
            else:
                n = cell_len(piece)
                if self.col and self.col + len(self._space) + n > width:
                    out.append("\n")
                    self.col, self._space = 0, ""
                out.append(self._space + piece)
                self.col += len(self._space) + n
                self._space = ""
                if self.col > width:  # a word longer than a line: the terminal wrapped it
                    self.col %= width
        if out:
            self.console.print("".join(out), style=style, end="", markup=False,
                               highlight=False, soft_wrap=True)

    def step_rule(self, step: str, drill: bool = False) -> None:
        if step in STEPS:
            self.flush()
            from agent.practice.timebox import suggested_minutes

            n = STEPS.index(step) + 1
            where = "Drill" if drill else f"Step {n} of {len(STEPS)}"
            self.console.rule(f"{where} · {TITLES[step]} · suggested "
                              f"{suggested_minutes(self.case, step)} min", style="cyan")
            self.col, self._space = 0, ""

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
            why = event.get("reason") or "the model's reply broke off; asking again"
            self.out(f"({why})", style="yellow")
            self.out("Interviewer: ", style="bold cyan", end="")
        elif "notice" in event:
            if self.open:
                self.out("")
            self.out(f"({event['notice']})", style="yellow")
            if self.open:
                self.out("Interviewer: ", style="bold cyan", end="")
        elif "end" in event:
            self.flush()
            if self.open:
                self.out("\n")
            self.open = False
            if event["end"] == "closing":  # the graph now waits for the last scores
                self.scoring = self.console.status("Scoring the interview…", spinner="dots")
                self.scoring.start()
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
    from agent.clarify.select import ENCODER, encoder_missing

    reason = "forced by --offline" if settings.forced_offline else "no model is configured"
    text = str(script()["offline_banner"]).replace("{reason}", reason)
    if ENCODER == "wordllama" and encoder_missing():
        text += " " + str(script()["encoder_missing"])
    return text


def banner(p: Printer, case: Case, mode: str, settings: Settings, sid: str | None,
           notice: str = "") -> None:
    from rich.panel import Panel

    from agent.clarify.select import prepare

    prepare(case)  # clarify's fact index loads while the candidate reads the case

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
    p.out("Commands: " + command_list(allowed(mode)) + "  ·  end each answer with a blank line",
          style="dim")
    p.out("")


#: Said when standard input held no answer at all, so no session was created (chat and drill).
NO_INPUT = "No input: nothing was answered, so no session was saved."


class PipedAnswers:
    """Answers from a pipe: blank-line-separated blocks (see agent/textio.py). One reading of
    the pipe serves every session (a drill holds several in a row)."""

    def __init__(self) -> None:
        self._blocks: Iterator[str] | None = None

    def __iter__(self) -> Iterator[str]:
        if self._blocks is None:
            self._blocks = blocks(sys.stdin.buffer)
        return self._blocks

    def at_end(self) -> bool:
        """Whether standard input is already at its end with nothing left in it (``chat <
        /dev/null``, or a drill's input used up): then no session need be created. It never
        waits: a pipe whose writer has not written yet is not at its end (a program driving
        the chat reads the case prompt before it answers)."""
        import select

        stream = sys.stdin.buffer
        peek = getattr(stream, "peek", None)  # a buffered reader's look without reading
        if peek is None:
            return False
        try:
            while True:
                ready, _, _ = select.select([stream], [], [], 0)
                if not ready:
                    return False
                waiting = peek(1)
                if waiting == b"":
                    return True
                line, newline, _ = waiting.partition(b"\n")
                if not newline or line.strip():
                    return False
                stream.readline()  # a blank line before any answer: the answers skip it too
        except (OSError, ValueError, io.UnsupportedOperation):
            return False  # no select on this stream (a Windows pipe): behave as before

    def restore(self, text: str) -> None:
        """Nothing to put back: a pipe cannot edit a refused answer."""

    def close(self) -> None:
        pass


def answers(interactive: bool, p: Printer) -> PipedAnswers | AnswerEditor:
    if interactive:
        from agent.editor import AnswerEditor

        return AnswerEditor("You: ", "   ", notice=lambda text: p.out(text, style="yellow"))
    return PipedAnswers()


def run_chat(opts: ChatOptions) -> int:
    """Hold an interview; returns the process exit code."""
    from agent.cases import get_case
    from agent.rubrics import default_rubrics
    from agent.storage import exists, no_session_message, open_storage, resolve

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
        raise SystemExit(f"interviewer: --session: {no_session_message(opts.session_id)}")
    store = open_storage(target)
    try:
        if opts.session_id:
            resumed_row = store.get_session(opts.session_id)
            if resumed_row is None:
                raise SystemExit(
                    f"interviewer: --session: {no_session_message(opts.session_id)}")
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
        return _run(opts, p, store, case, mode, resumed_row, ignored, interactive)


def _run(opts: ChatOptions, p: Printer, store: Storage, case: Case, mode: str,
         resumed_row: Any, ignored: str, interactive: bool) -> int:
    p.case = case
    banner(p, case, mode, opts.settings, opts.session_id, ignored)
    if resumed_row is None:
        # The case is on screen before anything slow (LangGraph, the SDK) is imported.
        p.step_rule("clarify")
        p.say(case.prompt.strip())
        p.say(clarify_budget(case.max_clarify_turns))

    from agent.engine import Engine

    reader = answers(interactive, p)
    try:
        with Engine(opts.settings, db=store) as engine:
            if engine.client is not None and not _preflight(engine, p, case, resumed_row):
                return 3
            if resumed_row is None and isinstance(reader, PipedAnswers) and reader.at_end():
                # No input at all (`interviewer chat < /dev/null`): an interview with no answer
                # would only leave an empty in-progress session behind.
                p.out("")
                p.out(NO_INPUT)
                return 0
            if resumed_row is None:
                session = engine.start(case, mode=mode, max_followups=(
                    2 if opts.max_followups is None else opts.max_followups))
                p.out(f"(session {session.id})", style="dim")
            else:
                session = engine.open(resumed_row.id)
                n, at = resumed_row.answered, TITLES.get(session.step(), session.step())
                p.out(f"Resuming session {session.id} at {at}"
                      f" ({n} {'answer' if n == 1 else 'answers'} so far).", style="dim")
            ending = _exit_on_ctrl_c(session.id)
            try:
                def resume_and_answer() -> int:
                    replayed = _recover(session, p)
                    if resumed_row is not None and not replayed and not session.finished():
                        p.step_rule(session.step())
                        _show_step_so_far(session.state(), p)
                    _offer_draft(session, p, reader, interactive)
                    return _loop(session, p, reader, interactive, ending)

                return _guarded(session, p, resume_and_answer)
            finally:
                signal.signal(signal.SIGINT, signal.default_int_handler)
                session.close()
    finally:
        reader.close()  # the terminal back as it was, whatever happened


def _show_step_so_far(state: Any, p: Printer) -> None:
    """On resuming: the current step as it went so far (its question, the candidate's answers
    and what the interviewer said to them: in clarify, the facts told), or its question alone
    when nothing was answered in it yet."""
    step = state.get("step")
    turns = [t for t in state.get("turns", []) if t.get("step") == step]
    if not any(t["role"] == "candidate" for t in turns):
        p.say(current_question(state))
        return
    for t in turns:
        if t["role"] == "candidate":
            p.out("You: " + t["text"], style="green")
            p.out("")
        else:
            p.say(t["text"], "Coach: " if t.get("kind") == "coach" else "Interviewer: ")
    if turns[-1]["role"] == "candidate":
        p.say(current_question(state))


def _guarded(session: Session, p: Printer, body: Callable[[], int]) -> int:
    """Run ``body`` (the answering), turning Ctrl-C at the prompt, a lost model endpoint and a
    database server that did not come back into a saved session, a message and an exit code."""
    from agent.model.client import ModelError
    from agent.storage import StorageUnavailable

    try:
        return body()
    except Interrupted as e:
        session.save_draft(e.draft)
        kept = " and the answer you were typing" if e.draft.strip() else ""
        p.out("")
        p.out(f"Interrupted; your answers{kept} are saved.")
        p.out(_resume_hint(session.id), wrap=False)
        return 130
    except ModelError as e:
        # Unreachable ("not responding"), refusing ("rejected the request (HTTP 4xx: ...)")
        # or failing ("kept failing after retries (...)"): the message says which, with what
        # the endpoint answered.
        p.out("")
        p.err(f"interviewer: {e}. Your session is saved (your last answer too).")
        p.err(_resume_hint(session.id, offline_hint=True))
        return 3
    except StorageUnavailable as e:
        p.out("")
        last = {True: " (your last answer too)", False: "; your last answer may not have been "
                "saved: if the transcript lacks it when you resume, send it again",
                None: ""}[e.answer_saved]
        p.err(f"interviewer: {e}. Your session is saved up to your previous answer{last}.")
        p.err(_resume_hint(session.id) + "  (once the database is back)")
        return 4


def _offer_draft(session: Session, p: Printer, reader: PipedAnswers | AnswerEditor,
                 interactive: bool) -> None:
    """An answer left half-typed by Ctrl-C goes back into the editor. Piped input cannot edit
    it, so it stays saved for the next time the session is resumed at a terminal."""
    draft = session.draft()
    if not draft or session.finished():
        return
    said = " ".join(draft.split())
    preview = said if len(said) <= 60 else said[:60] + "…"
    if interactive:
        p.out("(the answer you were typing is back in the editor: finish it and send it, or "
              "clear it)", style="dim")
        reader.restore(draft)
        session.save_draft("")
    else:
        p.out(f"(an unsent draft is kept for when you resume at a terminal: {preview})",
              style="dim")


def _preflight(engine: Any, p: Printer, case: Case, resumed: Any) -> bool:
    """The cheap part of ``interviewer doctor`` before the interview starts: is the endpoint
    reachable, does it take the key? False (after saying why and what to do) when not."""
    from agent import tokens
    from agent.model.doctor import preflight

    report = preflight(engine.client)
    # Load the tokenizer now, not inside the first answer's time budget (~1 s, once).
    tokens.count("warm up")
    if not report.usable:
        failed = next(c for c in report.checks if c.status == "fail")
        p.out("")
        p.err(f"interviewer: {failed.detail}")
        if resumed is not None:
            p.err(f"Your session is saved. {_resume_hint(resumed.id, offline_hint=True)}")
        else:
            p.err("Nothing was saved yet. Check it with 'interviewer doctor', or interview "
                  f"offline: interviewer chat --case {case.id} --offline")
        return False
    reach = next(c for c in report.checks if c.name == "reachable")
    took = f" in {reach.seconds * 1000:.0f} ms" if reach.seconds is not None else ""
    known = next((c.detail for c in report.checks if c.name == "remembered"), "")
    p.out(f"(model endpoint reachable{took}" + (f"; {known}" if known else "") + ")",
          style="dim")
    for c in report.checks:
        if c.status == "warn":
            p.out(f"(note: {c.detail})", style="yellow")
    return True


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
        if "storage" in event:  # the database went away and came back: not the reply
            p(event)
            return
        if not shown and pending is not None:
            said = " ".join(pending[1].split())
            preview = said if len(said) <= 80 else said[:80] + "…"
            what = "command" if command_of(said) is not None else "answer"
            p.out(f"(replaying your saved {what}: {preview})", style="dim")
        shown = True
        p(event)

    session.recover(on_event)
    return shown


def _exit_on_ctrl_c(sid: str) -> dict[str, bool]:
    """Ctrl-C leaves at once: every answer is already checkpointed or journaled, and unwinding
    normally would first wait for whatever model call the graph is running in its worker
    thread (retries included). A signal handler runs in the main thread even while it waits.

    Returns a flag the chat sets once the interview is complete: Ctrl-C while the report is
    being prepared then says so, and how to finish the report, instead of how to resume."""
    ending = {"report": False}

    def handler(signum: int, frame: object) -> None:
        restore_terminal()
        if ending["report"]:
            message = "\n" + report_pending(sid) + "\n"
        else:
            message = f"\nInterrupted; your answers are saved. {_resume_hint(sid)}\n"
        with contextlib.suppress(Exception):  # a half-written line must not stop us leaving
            sys.stdout.flush()
        os.write(sys.stdout.fileno(), message.encode())
        os._exit(130)

    signal.signal(signal.SIGINT, handler)
    return ending


def report_pending(sid: str) -> str:
    """What to say when the wait for a completed session's report is interrupted."""
    return (f"Interrupted while the report was being prepared. Session {sid} is complete and "
            "saved; its report is pending (the scores finished so far are kept). Finish it "
            f"with: interviewer report {sid}   (or, if the model is what is slow: interviewer "
            f"report {sid} --offline)")


def _resume_hint(sid: str, offline_hint: bool = False) -> str:
    hint = f"Resume with: interviewer chat --session {sid}"
    if offline_hint:
        hint += f"  (or: interviewer chat --session {sid} --offline)"
    return hint


def _random_case() -> Case:
    import random

    from agent.cases import default_cases, warn_broken

    cases = default_cases()
    warn_broken()
    return cases[random.choice(sorted(cases))]


#: Commands that only show something: run even with words after them ("/help me").
_SHOWING = ("help", "repeat")


def _command_with_words(text: str) -> str | None:
    """The command when a known one is followed by more words on its first line ("/help me",
    "/next please"). None for anything else, such as a path ("/var/log is full")."""
    m = re.match(r"^/(\w+)\s+\S", text.split("\n", 1)[0].strip())
    name = m.group(1).lower() if m else None
    return name if name in COMMANDS else None


def _loop(session: Session, p: Printer, incoming: PipedAnswers | AnswerEditor,
          interactive: bool, ending: dict[str, bool] | None = None) -> int:
    ending = ending if ending is not None else {}
    if session.finished():
        p.out(f"Session {session.id} is already complete; here is its feedback again.")
        ending["report"] = True
        _finish(session, p, just_finished=False)
        return 0
    for raw in incoming:
        text = clean(raw)
        if not interactive and text:
            p.out("You: " + (text if len(text) < 2000 else text[:2000] + " [...]"),
                  style="green")
            p.out("")
        cmd = command_of(text)
        with_words = _command_with_words(text) if cmd is None else None
        if with_words is not None and with_words not in _SHOWING:
            p.out(f"Nothing was sent: /{with_words} is a command and takes nothing after it. "
                  f"Type /{with_words} on its own to run it, or write your answer without the "
                  "leading slash.", style="yellow")
            incoming.restore(text)
            continue
        # The rules every driver shares (agent/commands.py): what is refused, or only answered,
        # never reaches the session. ("/help me" only shows something: it runs as /help.)
        given = read_input({"command": with_words} if with_words is not None else raw)
        if isinstance(given, Command) and given.name == "quit":
            p.out("Saved.")
            p.out(_resume_hint(session.id), wrap=False)
            return 0
        notice = reply(session.state(), given)
        if notice is not None:
            if notice["kind"] == "repeat":
                p.say(notice["text"])
            elif isinstance(given, Refused) and text and not text.startswith("/"):
                kept = " It is back in the editor to shorten." if interactive else ""
                p.out(notice["text"] + kept, style="yellow")
                incoming.restore(raw)
            else:
                p.out(notice["text"], style=None if notice["kind"] == "help" else "yellow")
            continue
        assert not isinstance(given, Refused)  # reply() answers every refusal
        sent = time.perf_counter()
        session.submit({"answer": given.text} if isinstance(given, Answer)
                       else {"command": given.name}, p)
        if session.finished():
            ending["report"] = True
            _finish(session, p, sent)
            return 0
    p.out("")
    p.out(f"End of input. Session {session.id} saved.")
    p.out(_resume_hint(session.id), wrap=False)
    return 0


def _finish(session: Session, p: Printer, since: float | None = None,
            just_finished: bool = True) -> Report:
    """Show the feedback report; only scores not finished in the background are waited for
    (the graph's wrap_up waited for them already). ``since``: when the last answer was sent.
    The transcript is left out on screen (it was just lived); the saved report has it."""
    from agent.report import to_markdown

    started = time.perf_counter() if since is None else since
    status = p.scoring  # started by the graph's closing line, if there was one
    p.scoring = None
    if p.console.is_terminal:
        status = status or p.console.status("Scoring the interview…", spinner="dots")
        with status:  # (re-entering a started spinner keeps it going)
            report = session.report(lambda line: status.update(f"Scoring the interview: "
                                                               f"{line}…"))
    else:  # piped: one line per step that has to be waited for
        with status or contextlib.nullcontext():
            report = session.report(lambda line: p.out(f"({line}…)", style="dim"))
    took = time.perf_counter() - started
    p.out("")
    if p.console.is_terminal:
        from rich.markdown import Markdown

        # Wrapped to the terminal's width (the chat console's soft wrap would cut it instead).
        p.console.print(Markdown(to_markdown(report, transcript=False)), soft_wrap=False)
    else:
        p.out(to_markdown(report, transcript=False))
    ready = f"Feedback ready {took:.2f} s after your last answer. " if just_finished else ""
    p.out(f"{ready}Session {session.id} completed; see it again with:", style="bold")
    p.out(f"interviewer report {session.id} [--format html --output report.html]", style="bold",
          wrap=False)
    return report


# -- drills: one step on several cases in a row ----------------------------------------------

@dataclass
class DrillOptions:
    step: str
    case_id: str | None
    count: int
    max_followups: int | None
    settings: Settings
    #: The database (flags, env and config resolved); None: the configured one.
    database: Target | None = None


def run_drill(opts: DrillOptions) -> int:
    """Drill one step on ``count`` cases: feedback after each, a summary at the end."""
    from collections import Counter

    from agent.cases import default_cases
    from agent.practice.drill import plan
    from agent.rubrics import default_rubrics
    from agent.storage import open_storage, resolve

    console = _console()
    p = Printer(console)
    interactive = sys.stdin.isatty()
    store = open_storage(opts.database or resolve(offline=opts.settings.forced_offline))
    try:
        practised = Counter(r.case_id for r in store.list_sessions()
                            if r.info.get("drill") == opts.step)
        cases = plan(default_cases(), opts.step, opts.count, opts.case_id, practised)
        default_rubrics()
        script()
    except BaseException:
        store.close()
        raise
    with store:
        return _drill(opts, p, store, cases, interactive)


def _drill(opts: DrillOptions, p: Printer, store: Storage, cases: list[Case],
           interactive: bool) -> int:
    from agent.engine import Engine

    reader = answers(interactive, p)
    reports: list[Report] = []
    try:
        with Engine(opts.settings, db=store) as engine:
            for i, case in enumerate(cases, 1):
                p.case = case
                if isinstance(reader, PipedAnswers) and reader.at_end():
                    # End of input before this case: no empty session is left behind for it.
                    p.out("")
                    if not reports:
                        p.out(NO_INPUT)
                        return 0
                    p.out(f"End of input: drill stopped after {i - 1} of {len(cases)} cases.")
                    break
                _drill_banner(p, i, len(cases), opts.step, case, opts.settings)
                session = engine.start(case, max_followups=(
                    2 if opts.max_followups is None else opts.max_followups), drill=opts.step)
                _exit_on_ctrl_c(session.id)
                try:
                    for turn in session.state().get("turns", []):
                        if turn["kind"] == "opener":
                            p.step_rule(opts.step, drill=True)
                        p.say(turn["text"], label="" if turn["kind"] == "notice"
                              else "Interviewer: ")
                    p.out(f"(drill session {session.id})", style="dim")
                    code = _guarded(session, p, lambda s=session: _loop(  # type: ignore[misc]
                        s, p, reader, interactive))
                    if not session.finished():
                        p.out(f"Drill stopped after {i - 1} of {len(cases)} cases.")
                        return code
                    reports.append(session.report())
                finally:
                    signal.signal(signal.SIGINT, signal.default_int_handler)
                    session.close()
    finally:
        reader.close()
    _drill_summary(p, opts.step, reports)
    return 0


def _drill_banner(p: Printer, i: int, n: int, step: str, case: Case,
                  settings: Settings) -> None:
    from rich.panel import Panel

    if step == "clarify":
        from agent.clarify.select import prepare

        prepare(case)

    from agent.practice.timebox import suggested_minutes

    engine = "offline mode" if settings.offline else settings.describe()
    body = (f"Drill {i} of {n} · {TITLES[step]} · suggested {suggested_minutes(case, step)} min"
            f"\n{case.title}\n{case.difficulty} · {engine}")
    p.out("")
    p.console.print(Panel(body, title="interviewer drill", title_align="left",
                          border_style="magenta", expand=False), markup=False, soft_wrap=False)
    if i == 1:
        if settings.offline:
            p.out(offline_banner(settings), style="yellow")
        # Drills are held in exam mode.
        p.out("Commands: " + command_list(allowed("exam")) +
              "  ·  end each answer with a blank line", style="dim")


def _drill_summary(p: Printer, step: str, reports: list[Report]) -> None:
    from agent.practice.drill import summarize

    s = summarize(step, reports)
    p.out("")
    p.console.rule(f"Drill summary · {TITLES[step]} · {len(reports)} "
                   f"case{'s' if len(reports) != 1 else ''}", style="magenta")
    for n, (title, score) in enumerate(s.rows, 1):
        p.out(f"  {n}. {title} — {'—' if score is None else f'{score:.2f}'} / 4")
    if s.mean is not None:
        p.out(f"Mean {s.mean:.2f} / 4. Level per case, by criterion:")
    width = max((len(name) for name in s.criteria), default=0)
    for name, levels in s.criteria.items():
        cells = " ".join("·" if lv is None else str(lv) for lv in levels)
        p.out(f"  {name:<{width}}  {cells}")
    if s.advice:
        p.out(s.advice)
    p.out("Drills count in 'interviewer progress'.", style="dim")
