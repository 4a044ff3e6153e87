"""Reading candidate answers: blocks of lines ended by a blank line, cleaned and bounded.

Candidate text is untrusted. Terminal escape sequences, NUL and other control bytes are removed
(they could repaint the screen or corrupt a transcript), and so are bidirectional overrides and
isolates (U+202A-U+202E, U+2066-U+2069), which make text display in an order other than the one
it is stored and scored in; invalid UTF-8 becomes U+FFFD. An answer of nothing but invisible
characters (zero-width spaces, BOMs, direction marks) counts as empty, like a blank one.

A line that is exactly a known command (``/next``, ``/quit``...) ends the answer being typed: the
lines before it are sent as the answer, then the command runs. (At a terminal, answers are typed
in the editor of agent/editor.py; this module reads pipes.)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
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
#: Bidirectional embeddings, overrides and isolates, and the byte-order mark: removed.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\ufeff]")
#: Characters that draw nothing but are not format (Cf) characters: Hangul fillers, the braille
#: blank, the Mongolian vowel separator.
_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")
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
    """Remove escape sequences, control characters and bidi overrides; normalise newlines;
    trim. Text that would show nothing at all (only invisible characters) becomes ""."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ANSI.sub("", text)
    text = _CONTROL.sub("", text)
    text = _BIDI.sub("", text)
    text = "\n".join(line.rstrip() for line in text.split("\n")).strip()
    return text if any(visible(ch) for ch in text) else ""


def visible(ch: str) -> bool:
    """False for whitespace and for characters that draw nothing (format characters such as
    zero-width spaces and direction marks, and a few blank letters)."""
    return not (ch.isspace() or unicodedata.category(ch) == "Cf" or ch in _INVISIBLE)


def command_of(text: str) -> str | None:
    """The command name if the whole answer is one slash word (``/skip``), else None."""
    m = COMMAND.match(text.strip())
    return m.group(1) if m else None


def _ends_block(line: str, started: bool) -> bool:
    """Whether ``line`` is a command of its own: any slash word at the start of an answer (an
    unknown one is refused, never sent), and only a known command in the middle of one (a path
    such as ``/etc/hosts`` on a line of its own stays part of the answer)."""
    cmd = command_of(line)
    return cmd is not None and (not started or cmd in COMMANDS)


def decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def blocks(stream: BinaryIO) -> Iterator[str]:
    """Answers from a non-interactive stream: blocks of lines separated by blank lines.

    A line that is a lone ``/command`` is a block of its own; inside a block, a known command
    first ends the block. Lines are read one at a time so a huge paste never has to fit in
    memory twice."""
    buf: list[str] = []
    for raw in stream:
        line = decode(raw).rstrip("\r\n")
        if not line.strip():
            if buf:
                yield "\n".join(buf)
                buf = []
            continue
        if _ends_block(line, bool(buf)):
            if buf:
                yield "\n".join(buf)
                buf = []
            yield line.strip()
            continue
        buf.append(line)
    if buf:
        yield "\n".join(buf)
