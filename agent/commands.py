"""What the candidate sends, read the same way by every driver: the terminal, the LangGraph SDK or
Studio, the web app. The interview graph applies these rules to every resume value; the terminal
applies them before it sends anything, so a refused input never reaches the session at all.

An input is an answer, a command or refused (with the message the client shows):

- text, ``{"answer": text}`` or ``{"command": name}``; text that is one slash word (``/next``) is
  that command, whichever way it came, so ``"/repeat"`` is never stored as an answer; a command
  is read in any case (``/Next``, ``/NEXT``);
- candidate text is untrusted: terminal escape sequences, NUL and other control characters are
  removed (they could repaint a screen or corrupt a transcript), and so are bidirectional
  overrides and isolates (U+202A-U+202E, U+2066-U+2069), which make text display in an order
  other than the one it is stored and scored in;
- an answer that is empty once cleaned (blank, or nothing but invisible characters: zero-width
  spaces, BOMs, direction marks) is refused, and so is one over MAX_ANSWER_CHARS, so nothing is
  ever silently cut;
- an unknown command is refused with the list of the commands that work in the interview's mode.

This module imports nothing heavy: the terminal loads it before LangGraph.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from agent.state import InterviewState, Notice, current_question
from agent.steps import STEPS, TITLES

#: Longest answer accepted: about 3,000 words, far beyond a spoken answer. Longer ones are
#: refused with a message and the question stays open.
MAX_ANSWER_CHARS = 20_000
#: Longer than this, an input is refused on its raw length, before any cleaning work is spent
#: on it. Generous, because what cleaning removes does not count: a megabyte of NUL bytes is an
#: empty answer, and is refused as one.
_MAX_RAW_CHARS = 64 * MAX_ANSWER_CHARS

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
#: Any character the three above remove (or a carriage return): most answers have none, and one
#: scan for them is cheaper than three substitutions.
_SPECIAL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff]")
#: Characters that draw nothing but are not format (Cf) characters: Hangul fillers, the braille
#: blank, the Mongolian vowel separator.
_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")
#: A lone slash word is a command (unknown ones are refused, never taken as an answer).
COMMAND = re.compile(r"^/(\S*)$")

#: Every command, in the order they are listed, with what it does.
COMMANDS = {
    "help": "show these commands",
    "repeat": "repeat the interviewer's last question",
    "next": "finish this step and move on to the next",
    "skip": "skip this step without answering (it scores as not attempted)",
    "hint": "a nudge for the current step (coach mode only)",
    "quit": "save and stop here; resuming goes on from this question",
}
#: Commands that change the interview (the graph acts on them). The others change nothing and
#: are not stored: /help and /repeat are answered, /quit stops the client where it is.
GRAPH_COMMANDS = ("next", "skip", "hint")
#: A command the candidate gave (typed, or a button on the web page), as a transcript shows it:
#: what it did, not the slash word.
COMMAND_SHOWN = {"/skip": "(skipped this step)", "/next": "(moved on to the next step)",
                 "/hint": "(asked for a hint)"}


def shown(role: str, text: str) -> str:
    """A turn's text as a transcript or the interview page shows it: a candidate's command as
    what it did ("(skipped this step)"), anything else as said."""
    if role == "candidate":
        return COMMAND_SHOWN.get(text.strip().lower(), text)
    return text

EMPTY = "Please type an answer (or /help for commands)."
HINT_IN_EXAM = ("Hints are only available in coach mode; this interview is in exam mode. "
                "Answer in your own words, or /next to move on.")
QUIT = "Saved. The interview stops here and resumes from this question."
#: A /next in a step the interview moved to on its own, before any answer in it (see
#: :func:`moved_on_by_itself`); a second /next skips it.
NEXT_UNANSWERED = ("We're already on the next step, {title}: your last answer ended the one "
                   "before. Answer the question above, or send /next again to skip this step "
                   "without an answer (it scores 1 / 4).")


@dataclass(frozen=True)
class Answer:
    text: str
    """Cleaned, non-empty, at most MAX_ANSWER_CHARS."""


@dataclass(frozen=True)
class Command:
    name: str
    """A key of COMMANDS."""


@dataclass(frozen=True)
class Refused:
    text: str
    """Why, for the candidate: what to do instead."""
    unknown: str | None = None
    """The name, when this refuses an unknown command (the text is then made again with the
    commands of the interview's mode, by :func:`reply`)."""


Input = Answer | Command | Refused


def clean(text: str) -> str:
    """Remove escape sequences, control characters and bidi overrides; normalise newlines;
    trim. Text that would show nothing at all (only invisible characters) becomes ""."""
    if _SPECIAL.search(text):
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
    """The command name, lower-cased, if the whole text is one slash word (``/skip``,
    ``/Skip``), else None."""
    m = COMMAND.match(text.strip())
    return m.group(1).lower() if m else None


def command_list(names: list[str] | None = None) -> str:
    """``/help /repeat ...``: the commands named (default: all), in COMMANDS order."""
    return " ".join("/" + c for c in COMMANDS if names is None or c in names)


def help_text(names: list[str] | None = None) -> str:
    """One line per command (default: all): the command and what it does."""
    return "\n".join(f"  /{name:<7} {what}" for name, what in COMMANDS.items()
                     if names is None or name in names)


def unknown(name: str, mode: str | None = None) -> Refused:
    """An unknown command refused, naming the commands that work in ``mode`` (all when the
    mode is not known yet; :func:`reply` knows it)."""
    listed = command_list(None if mode is None else allowed(mode))
    return Refused(f"Unknown command /{name[:40]}. Commands: {listed}", unknown=name)


def too_long(chars: int) -> Refused:
    return Refused(f"That answer is {chars:,} characters; the limit is {MAX_ANSWER_CHARS:,}. "
                   "Please shorten it and send it again.")


_SHAPE = ('Send the answer as text, {"answer": "..."}, or a command as {"command": "next"} '
          f"(commands: {', '.join(COMMANDS)}).")


def read_input(value: object) -> Input:
    """An answer, a command or a refusal, from what a client sent: text, ``{"answer": text}``
    or ``{"command": name}`` (the name with or without its slash)."""
    if isinstance(value, dict):
        keys = set(value)
        if keys == {"command"}:
            name = value["command"]
            if not isinstance(name, str):
                return Refused(f"A command is a name such as \"next\". {_SHAPE}")
            name = name.strip().lower()
            name = name[1:] if name.startswith("/") else name
            return Command(name) if name in COMMANDS else unknown(name)
        if keys == {"answer"}:
            value = value["answer"]
            if value is None:
                return Refused(EMPTY)
            if not isinstance(value, str):
                return Refused(f"An answer is text. {_SHAPE}")
        else:
            got = ", ".join(sorted(map(str, keys))) or "none"
            return Refused(f"Unexpected input (keys: {got}). {_SHAPE}")
    elif value is None:
        return Refused(EMPTY)
    elif not isinstance(value, str):
        return Refused(f"Unexpected input ({type(value).__name__}). {_SHAPE}")
    if len(value) > _MAX_RAW_CHARS:
        return too_long(len(value))
    text = clean(value)
    name = command_of(text)
    if name is not None:
        return Command(name) if name in COMMANDS else unknown(name)
    if not text:
        return Refused(EMPTY)
    if len(text) > MAX_ANSWER_CHARS:
        return too_long(len(text))
    return Answer(text)


def allowed(mode: str | None) -> list[str]:
    """The commands that do something now: all of them, /hint only in coach mode."""
    return [c for c in COMMANDS if c != "hint" or mode == "coach"]


def reply(state: InterviewState, given: Input) -> Notice | None:
    """What the interviewer says to an input that changes nothing and is not stored: a
    refusal, /help, /repeat, /quit, or /hint outside coach mode. None: the input goes to the
    interview (an answer, /next, /skip, /hint in coach mode)."""
    if isinstance(given, Refused):
        if given.unknown is not None:
            given = unknown(given.unknown, state.get("mode"))
        return Notice(kind="refused", text=given.text)
    if isinstance(given, Answer):
        return None
    if given.name == "help":
        return Notice(kind="help", text="Commands:\n" + help_text(allowed(state.get("mode"))))
    if given.name == "repeat":
        return Notice(kind="repeat", text=current_question(state))
    if given.name == "quit":
        return Notice(kind="quit", text=QUIT)
    if given.name == "hint" and state.get("mode") != "coach":
        return Notice(kind="refused", text=HINT_IN_EXAM)
    return None


def confirm_next(state: InterviewState, given: Input) -> Notice | None:
    """The question a /next gets in a step the interview moved to on its own with nothing
    answered yet (:func:`moved_on_by_itself`), unless it was just asked: a second /next goes
    through. Asked in the graph, not by the drivers before it (unlike :func:`reply`): the notice
    is kept in the state, which is how the second /next is told from the first."""
    if not isinstance(given, Command) or given.name != "next" or not moved_on_by_itself(state):
        return None
    text = NEXT_UNANSWERED.format(title=TITLES.get(str(state.get("step")), "this step"))
    previous = state.get("notice")
    if previous is not None and previous.get("text") == text:
        return None
    return Notice(kind="refused", text=text)


def moved_on_by_itself(state: InterviewState) -> bool:
    """Whether the interview moved to this step on its own, after the candidate's answer (the
    step before ended with it: assumptions stated, its follow-ups used up), and nothing has
    been answered here yet. A /next then would skip a step the candidate has not seen: a
    new-user trial stated assumptions, missed "Thanks, let's work with those assumptions" and
    the diagnose question after it, and typed /next to leave clarify; diagnose scored 1 / 4
    for no answer."""
    step = state.get("step")
    turns = state.get("turns", [])
    if step in (None, STEPS[0], "wrap_up") or any(
            t["step"] == step and t["role"] == "candidate" for t in turns):
        return False
    opened = next((i for i in range(len(turns) - 1, -1, -1)
                   if turns[i]["step"] == step and turns[i]["kind"] == "opener"), None)
    if opened is None:
        return False
    before = next((t for t in reversed(turns[:opened]) if t["role"] == "candidate"), None)
    return before is not None and before["kind"] == "answer"
