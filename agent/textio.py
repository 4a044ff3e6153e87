"""Reading candidate answers at the terminal: blocks of lines ended by a blank line.

What an answer may contain, the commands and their parsing live in agent/commands.py, shared
with every other driver of the interview.

A line that is exactly a known command (``/next``, ``/quit``...) ends the answer being typed: the
lines before it are sent as the answer, then the command runs. (At a terminal, answers are typed
in the editor of agent/editor.py; this module reads pipes.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from agent.commands import COMMANDS, command_of


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
