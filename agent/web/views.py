"""What a page shows of a session, read from the store and the checkpoint without locking it.

Reading never opens a :class:`agent.engine.Session` (no lock, no scoring threads): a page can
be loaded while another worker is taking the session's turn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent.cases import get_case
from agent.commands import COMMAND_SHOWN, COMMANDS, GRAPH_COMMANDS, MAX_ANSWER_CHARS
from agent.commands import shown as shown_as
from agent.state import current_question
from agent.steps import STEPS, TITLES
from agent.storage import SessionRow

if TYPE_CHECKING:
    from agent.cases import Case
    from agent.engine import Engine
    from agent.state import InterviewState

#: Buttons the interview page offers: the graph's commands, and /repeat (the page's own: it
#: shows and speaks the question again). /help is the page's help text; /quit is "Save and
#: leave": every answer is saved as it is sent.
BUTTONS = ("hint", "repeat", "next", "skip")


def step_info(step: str) -> dict[str, Any]:
    """Number, title and count of a step ("wrap_up" is the feedback, after the last one)."""
    if step in STEPS:
        return {"id": step, "number": STEPS.index(step) + 1, "of": len(STEPS),
                "title": TITLES[step]}
    return {"id": step, "number": len(STEPS), "of": len(STEPS), "title": "Feedback"}


def candidate_turns(state: InterviewState) -> int:
    return sum(1 for t in state.get("turns", []) if t["role"] == "candidate")


def commands(mode: str) -> list[dict[str, Any]]:
    """The buttons, with what each does; /hint is enabled in coach mode only."""
    return [{"name": c, "help": COMMANDS[c], "enabled": c != "hint" or mode == "coach",
             "graph": c in GRAPH_COMMANDS} for c in BUTTONS]


def shown(turn: dict[str, Any]) -> dict[str, Any]:
    """A turn with ``shown``, the text the page shows: a candidate's command as what it did
    ("(skipped this step)"), as the report's transcript shows it; ``text`` stays as recorded."""
    text = str(turn.get("text", ""))
    if turn.get("kind") == "command":
        return {**turn, "shown": shown_as(str(turn.get("role", "")), text)}
    return {**turn, "shown": text}


def session_view(engine: Engine, row: SessionRow, *, voice_input: bool,
                 snap: Any = None) -> dict[str, Any]:
    """Everything the interview page needs, as JSON. ``snap``: the graph's state snapshot when
    the caller has just read it (a turn's session), else it is read here."""
    if snap is None:
        snap = engine.graph.get_state({"configurable": {"thread_id": row.id}})
    state: InterviewState = snap.values or {}  # type: ignore[assignment]
    case = get_case(row.case_id)
    finished = not snap.next and state.get("status") == "completed"
    waiting = bool(snap.interrupts)
    seq = candidate_turns(state)
    journaled = engine.store.journaled(row.id)
    pending = journaled[1] if journaled is not None and journaled[0] == seq else None
    offline = engine.client is None  # this server's engine takes the next turn
    return {
        "id": row.id,
        "case": {"id": case.id, "title": case.title, "difficulty": case.difficulty,
                 "prompt": case.prompt.strip()},
        "mode": row.mode,
        "engine": engine.engine_label,
        "offline": offline,
        "status": "completed" if finished else "in_progress",
        "step": step_info(str(state.get("step", "clarify"))),
        "steps": [step_info(s) for s in ((state["drill"],) if state.get("drill") else STEPS)],
        "drill": state.get("drill"),
        "turns": [shown(dict(t)) for t in state.get("turns", [])],
        "question": current_question(state) if state else "",
        # the graph's reply to the last input when it stored nothing (the /next asked about
        # in a step the interview moved to by itself); shown in the page's status line
        "notice": state.get("notice"),
        "seq": seq,
        "waiting": waiting,
        "pending": pending,
        "needs_recovery": not finished and (pending is not None or not waiting),
        "commands": commands(row.mode),
        "command_shown": COMMAND_SHOWN,
        "max_answer_chars": MAX_ANSWER_CHARS,
        "timer": timer(engine, row.id, case),
        "voice": voice_status(offline, voice_input),
        "urls": {"page": f"/s/{row.id}", "report": f"/s/{row.id}/report"},
    }


def timer(engine: Engine, sid: str, case: Case) -> dict[str, Any]:
    """Active seconds recorded per step so far, and each step's suggested time (the case's,
    else the default), in seconds."""
    from agent.practice.timebox import suggested_minutes

    return {"spent": engine.store.times(sid),
            "budget": {s: suggested_minutes(case, s) * 60 for s in STEPS}}


def voice_status(offline: bool, transcription: bool) -> dict[str, Any]:
    """Whether the page offers voice input, and if not, why (shown beside the answer box)."""
    if offline:
        return {"input": False, "reason": "Voice input is off: this interview runs offline, with "
                "no model endpoint to transcribe your recording (and the browser's own speech "
                "recognition would send your voice to an online service)."}
    if not transcription:
        return {"input": True, "transcribe": False, "reason": "Recorded answers cannot be "
                "transcribed (transcription is turned off on this server); your browser's own "
                "speech recognition is used where it has one."}
    return {"input": True, "transcribe": True, "reason": ""}


def session_summary(row: SessionRow, result: dict[str, Any] | None = None) -> dict[str, Any]:
    """One line of the session list. ``result``: the session's stored report summary
    (``store.results()``, agent/practice/summary.py), as `interviewer sessions` shows it; the
    list scores nothing. ``score`` is None when there is none yet, and for an exam not
    finished (its feedback comes at the end, as its report page says)."""
    try:
        title = get_case(row.case_id).title
    except Exception:  # a case file removed since: the list still shows the session
        title = row.case_id
    held_back = row.mode == "exam" and row.status != "completed"
    score = None if result is None or held_back else {
        "overall": result.get("overall"), "band": result.get("band"),
        "provisional": bool(result.get("provisional")), "scorer": result.get("scorer")}
    return {"id": row.id, "case": row.case_id, "title": title, "mode": row.mode,
            "engine": row.engine, "status": row.status, "step": step_info(row.step),
            "answered": row.answered, "created": row.created, "updated": row.updated,
            "score": score,
            "urls": {"page": f"/s/{row.id}", "report": f"/s/{row.id}/report"}}
