"""Reading candidate answers: blocks of lines ended by a blank line, cleaned and bounded.

Candidate text is untrusted. Terminal escape sequences, NUL and other control bytes are removed
(they could repaint the screen or corrupt a transcript); invalid UTF-8 becomes U+FFFD.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

#: Longest answer accepted: about 3,000 words, far beyond a spoken answer. Longer ones are
#: refused with a message and the question stays open, so nothing is silently cut.
MAX_ANSWER_CHARS = 20_000

# Terminal control sequences, 7-bit (ESC ...) and 8-bit (C1 CSI/OSC/DCS/...): CSI with its
# parameters, OSC/DCS/APC/PM/SOS strings up to their terminator, and two-byte ESC sequences.
_ANSI = re.compile(
    r"(\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: A lone slash word is a command (unknown ones are refused, never sent as an answer).
COMMAND = re.compile(r"^/(\S*)$")
#: Commands the interview graph acts on; the terminal handles the others (/help /repeat /quit).
GRAPH_COMMANDS = ("skip", "next", "hint")
COMMANDS = {
    "help": "show these commands",
    "repeat": "repeat the interviewer's last question",
    "next": "finish this step and move on to the next",
    "skip": "skip this step without answering (it scores as not attempted)",
    "hint": "a nudge for the current step (coach mode only)",
    "quit": "save and exit; prints the command that resumes the interview",
}


def clean(text: str) -> str:
    """Remove escape sequences and control characters; normalise newlines; trim."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ANSI.sub("", text)
    text = _CONTROL.sub("", text)
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def command_of(text: str) -> str | None:
    """The command name if the whole answer is one slash word (``/skip``), else None."""
    m = COMMAND.match(text.strip())
    return m.group(1) if m else None


def decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def blocks(stream: BinaryIO) -> Iterator[str]:
    """Answers from a non-interactive stream: blocks of lines separated by blank lines.

    A line that is a lone ``/command`` is a block of its own. Lines are read one at a time so a
    huge paste never has to fit in memory twice."""
    buf: list[str] = []
    for raw in stream:
        line = decode(raw).rstrip("\r\n")
        if not line.strip():
            if buf:
                yield "\n".join(buf)
                buf = []
            continue
        if not buf and command_of(line) is not None:
            yield line.strip()
            continue
        buf.append(line)
    if buf:
        yield "\n".join(buf)


def interactive_blocks(read_line: Callable[[str], str], prompt: str,
                       more: str) -> Iterator[str]:
    """Answers typed at a terminal: lines until a blank one; a lone /command sends at once."""
    while True:
        lines: list[str] = []
        while True:
            line = read_line(prompt if not lines else more)
            if not lines and command_of(line) is not None:
                yield line.strip()
                break
            if not line.strip():
                if lines:
                    yield "\n".join(lines)
                    break
                continue
            lines.append(line)
