"""The answer editor at a terminal: a multi-line prompt_toolkit buffer.

Typing: Enter starts a new line; Enter on an empty line (a blank line, as the README says) sends
the answer; Alt-Enter (or Esc then Enter) sends it at once. A line that is just a command
(``/next``) sends on Enter. Pasted text is inserted whole, blank lines included, and never
sends: terminals that support bracketed paste mark it, and for the rest an Enter that arrives
together with more keys (faster than anyone types) is taken as part of a paste. The terminal is
read in raw mode, so a line is never cut at the terminal's 4,095-character line limit.

Ctrl-C raises :class:`Interrupted` carrying what was typed (the chat keeps it as a draft);
Ctrl-D on an empty answer ends the input, after typed lines it sends them first.

While the interviewer speaks (between prompts) the terminal does not echo what is typed, so a
key pressed early cannot break a line of the interviewer's text; the keys are kept and read at
the next prompt.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from agent.commands import COMMANDS, command_of

#: An Enter this soon after the prompt appears was typed before it: the tail of a double Enter
#: that already sent the previous answer. It is dropped rather than answered with a reminder.
TYPEAHEAD_S = 0.4

HINT = ("(nothing to send yet: type your answer; a blank line sends it, "
        "or Alt-Enter at any point)")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C at the prompt; ``draft`` is the answer being typed (may be "")."""

    def __init__(self, draft: str) -> None:
        super().__init__()
        self.draft = draft


def split_command(text: str) -> list[str]:
    """An answer whose last line is a known command: [the lines before, the command]."""
    lines = text.rstrip("\n").split("\n")
    last = lines[-1].strip()
    if len(lines) > 1 and command_of(last) in COMMANDS:
        before = "\n".join(lines[:-1]).rstrip()
        return [before, last] if before.strip() else [last]
    return [text]


class AnswerEditor:
    """Reads answers at a terminal, one prompt per answer. Iterate for the answers; a refused
    answer can be put back in the editor with :meth:`restore` so nothing has to be retyped."""

    def __init__(self, prompt: str = "You: ", more: str = "   ",
                 notice: Callable[[str], None] | None = None, *, input: Any = None,
                 output: Any = None) -> None:
        """``input``/``output``: prompt_toolkit's, for tests (default: the terminal)."""
        self.prompt, self.more = prompt, more
        self._io = {"input": input, "output": output}
        self._notice = notice
        self._default = ""
        self._session: Any = None
        self._shown = 0.0
        self._quiet = QuietTypeahead()
        self._quiet.hold()  # the interviewer speaks first

    def restore(self, text: str) -> None:
        """Start the next prompt with ``text`` in the editor (a draft, or a refused answer)."""
        self._default = text

    def __iter__(self) -> Iterator[str]:
        while True:
            try:
                text, eof = self._read()
            except EOFError:
                return
            if text.strip():
                yield from split_command(text)
            if eof:
                return

    def _read(self) -> tuple[str, bool]:
        """One answer: (text, whether Ctrl-D ended the input after it)."""
        session = self._prompt_session()
        default, self._default = self._default, ""
        self._shown = time.monotonic()
        # The terminal stays quiet: the editor switches to raw mode and back to quiet, so there
        # is no moment in between when typed keys would be echoed by the terminal itself.
        result: tuple[str, bool] = session.prompt(self.prompt, default=default)
        return result

    def close(self) -> None:
        self._quiet.release()

    def _prompt_session(self) -> Any:
        if self._session is None:
            from prompt_toolkit import PromptSession

            self._session = PromptSession(
                multiline=True, key_bindings=self._bindings(), enable_history_search=False,
                prompt_continuation=self.more, wrap_lines=True, mouse_support=False,
                complete_while_typing=False, enable_suspend=False, **self._io)
        return self._session

    def _bindings(self) -> Any:
        from prompt_toolkit.application import run_in_terminal
        from prompt_toolkit.filters import Condition
        from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
        from prompt_toolkit.keys import Keys

        kb = KeyBindings()

        def send(event: KeyPressEvent, text: str, eof: bool = False) -> None:
            event.app.exit(result=(text, eof))

        @kb.add("enter")
        @kb.add("c-j")
        def _enter(event: KeyPressEvent) -> None:
            buf = event.current_buffer
            doc = buf.document
            # More than Enters already queued behind this one: keys are arriving faster than
            # anyone types, i.e. a paste the terminal did not mark. Its Enters are newlines.
            pasting = any(k.key not in (Keys.ControlM, Keys.ControlJ)
                          for k in event.app.key_processor.input_queue)
            if not buf.text.strip():
                if pasting or time.monotonic() - self._shown < TYPEAHEAD_S:
                    return  # the tail of a fast double Enter: nothing to send, nothing to say
                if self._notice is not None:
                    run_in_terminal(lambda: self._notice(HINT) if self._notice else None)
                return
            at_end = doc.is_cursor_at_the_end
            line = doc.current_line
            if at_end and not pasting:
                if command_of(buf.text.strip()) is not None and "\n" not in buf.text.strip():
                    send(event, buf.text.strip())  # a lone slash word: run it
                    return
                if command_of(line.strip()) in COMMANDS:
                    send(event, buf.text)  # typed lines, then a command on its own line
                    return
                if not line.strip() and doc.text_before_cursor.strip():
                    send(event, buf.text.rstrip())  # a blank line sends
                    return
            buf.newline(copy_margin=False)

        @kb.add("escape", "enter")
        def _send_now(event: KeyPressEvent) -> None:
            text = event.current_buffer.text
            if text.strip():
                send(event, text.rstrip())

        @kb.add("c-c")
        def _interrupt(event: KeyPressEvent) -> None:
            event.app.exit(exception=Interrupted(event.current_buffer.text))

        at_empty = Condition(lambda: not _current_text().strip())

        def _current_text() -> str:
            from prompt_toolkit.application import get_app

            return str(get_app().current_buffer.text)

        @kb.add("c-d", filter=at_empty)
        def _eof(event: KeyPressEvent) -> None:
            event.app.exit(exception=EOFError())

        @kb.add("c-d", filter=~at_empty)
        def _send_and_eof(event: KeyPressEvent) -> None:
            if event.current_buffer.document.is_cursor_at_the_end:
                send(event, event.current_buffer.text.rstrip(), eof=True)
            else:
                event.current_buffer.delete()

        return kb


class QuietTypeahead:
    """Turns terminal echo (and line editing) off between prompts and back on at the prompt and
    on exit. Keys typed meanwhile stay in the terminal's queue for the next prompt."""

    def __init__(self) -> None:
        self._saved: list[Any] | None = None
        self._fd = -1
        with contextlib.suppress(Exception):
            if sys.stdin.isatty() and sys.platform != "win32":
                import termios

                self._fd = sys.stdin.fileno()
                self._saved = termios.tcgetattr(self._fd)

    def hold(self) -> None:
        if self._saved is None:
            return
        import termios

        attrs = termios.tcgetattr(self._fd)
        attrs[3] &= ~(termios.ECHO | termios.ICANON)
        with contextlib.suppress(termios.error):
            termios.tcsetattr(self._fd, termios.TCSANOW, attrs)
        _HELD.add(self)

    def release(self) -> None:
        if self._saved is None:
            return
        import termios

        with contextlib.suppress(termios.error):
            termios.tcsetattr(self._fd, termios.TCSANOW, self._saved)
        _HELD.discard(self)


_HELD: set[QuietTypeahead] = set()


def restore_terminal() -> None:
    """Put the terminal back as we found it (before exiting from a signal handler)."""
    for q in list(_HELD):
        q.release()
