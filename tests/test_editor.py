"""The answer editor's keys, driven through prompt_toolkit's own pipe input (the real editor,
no terminal): what sends, what stays in the answer, Ctrl-C and Ctrl-D."""

from __future__ import annotations

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from agent.editor import AnswerEditor, Interrupted, split_command


def read(*chunks: str, default: str = "") -> list[str]:
    """Every answer the editor returns for the keys in ``chunks`` (each arrives at once, as a
    paste does), until the input ends."""
    with create_pipe_input() as inp:
        for chunk in chunks:
            inp.send_text(chunk)
        inp.send_text("\x04")  # Ctrl-D on an empty answer: the end
        editor = AnswerEditor(input=inp, output=DummyOutput())
        editor.restore(default)
        got = list(editor)
        editor.close()
        return got


def test_a_blank_line_sends_and_enter_alone_starts_a_new_line() -> None:
    assert read("first line\r", "second\r", "\r") == ["first line\nsecond"]


def test_a_paste_keeps_its_blank_lines() -> None:
    # Unmarked: the keys arrive together, faster than anyone types.
    assert read("one\r\rtwo\r\rthree", "\x1b\r") == ["one\n\ntwo\n\nthree"]
    # Marked by the terminal (bracketed paste).
    assert read("\x1b[200~one\n\ntwo\x1b[201~", "\r", "\r") == ["one\n\ntwo"]


def test_alt_enter_sends_now_and_a_lone_command_sends_on_enter() -> None:
    assert read("half a thought\x1b\r") == ["half a thought"]
    assert read("/next\r") == ["/next"]
    assert read("the answer\r", "/next\r") == ["the answer", "/next"]
    # A slash word inside an answer is not a command.
    assert read("logs are in\r", "/var/log\r", "\r") == ["logs are in\n/var/log"]


def test_ctrl_c_carries_the_draft() -> None:
    with pytest.raises(Interrupted) as e:
        read("an answer half typed\x03")
    assert e.value.draft == "an answer half typed"


def test_ctrl_d_sends_what_was_typed_then_ends() -> None:
    assert read("") == []
    assert read("typed so far\x04") == ["typed so far"]


def test_a_restored_draft_is_in_the_editor() -> None:
    assert read(" and more\r", "\r", default="restored") == ["restored and more"]


def test_split_command() -> None:
    assert split_command("a\nb\n/quit") == ["a\nb", "/quit"]
    assert split_command("/quit") == ["/quit"]
    assert split_command("a\n/etc/hosts") == ["a\n/etc/hosts"]
