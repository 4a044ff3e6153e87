"""The JSON API the pages use (and a script may): cases, sessions, turns as SSE streams, reports.

A turn is ``POST /api/sessions/{id}/turn`` with ``{"answer": text}`` or ``{"command": name}``
and the number of candidate turns the page has seen (``seq``: a second tab, or a double click,
cannot answer the same question twice). The response is an SSE stream: ``accepted``, then the
interviewer's words as they are produced (``begin``, ``say``..., ``end``; ``restart`` when a
broken model stream is asked again; ``notice`` when the database server went away and the turn
waits for it), then ``state`` (the session as the page shows it) and ``done``, or ``error``.
A database that cannot be reached is a 503 with a plain message (``database_unavailable``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sse_starlette.sse import EventSourceResponse

from agent import commands as rules
from agent.storage import SESSION_ID, SessionRow
from agent.web.app import error_body, state_of
from agent.web.security import check_csrf, csrf_of, owner_of
from agent.web.turns import TurnError
from agent.web.views import BUTTONS, session_summary

router = APIRouter(prefix="/api")


def owned_row(request: Request, sid: str) -> SessionRow:
    """The session, if it exists and belongs to this browser; 404 alike otherwise, so nobody
    learns which ids exist."""
    sid = sid.strip().lower()
    row = state_of(request).engine.store.get_session(sid) if SESSION_ID.match(sid) else None
    if row is None or row.info.get("owner") != owner_of(request):
        raise HTTPException(404, detail=("not_found", f"No session {sid[:40]!r} here. Sessions "
                                         "belong to the browser that started them."))
    return row


async def owned(request: Request, sid: str) -> SessionRow:
    """:func:`owned_row` off the event loop: a database that is slow or restarting holds up
    this request only, never the other streams this worker is serving."""
    row: SessionRow = await state_of(request).runner.call(lambda: owned_row(request, sid))
    return row


def own_rows(request: Request) -> list[SessionRow]:
    owner = owner_of(request)
    return [r for r in state_of(request).engine.store.list_sessions()
            if r.info.get("owner") == owner]


@router.get("/me")
def me(request: Request) -> dict[str, Any]:
    """This browser's CSRF token (scripts send it as X-CSRF-Token) and the server's mode."""
    web = state_of(request)
    return {"csrf": csrf_of(request), "engine": web.engine.engine_label,
            "offline": web.engine.client is None}


@router.get("/cases")
def cases() -> list[dict[str, Any]]:
    from agent.cases import default_cases

    return [{"id": c.id, "title": c.title, "difficulty": c.difficulty, "themes": c.themes}
            for c in default_cases().values()]


class NewSession(BaseModel):
    case_id: str = Field(max_length=100)
    # Checked by start_session (not by type) so that every bad field is named in one reply.
    mode: str = Field(default="exam", max_length=20, description="exam or coach")
    drill: str | None = Field(default=None, max_length=20,
                              description="a step id: practise that one step only")


async def start_session(request: Request, case_id: str, mode: str,
                        drill: str | None = None) -> str:
    """Start an interview (or with ``drill``, one step of it) for this browser; returns its id.
    Unknown cases, modes and steps are named."""
    from agent.cases import default_cases
    from agent.steps import STEPS

    known = default_cases()
    problems = []  # every bad field at once, not the first only
    if case_id not in known:
        problems.append(f"case_id: unknown case {case_id[:100]!r}; choose one of "
                        f"{', '.join(sorted(known))}")
    if mode not in ("exam", "coach"):
        problems.append(f"mode: {mode[:20]!r} is not a mode; choose exam or coach")
    if drill is not None and drill not in STEPS:
        problems.append(f"drill: {drill[:20]!r} is not a step; choose one of {', '.join(STEPS)}")
    if problems:
        raise HTTPException(422, detail=("invalid", "; ".join(problems)))
    web = state_of(request)
    owner = owner_of(request)

    def start() -> str:
        session = web.engine.start(known[case_id], mode=mode, drill=drill,
                                   info={"owner": owner})
        session.question_open_for(None)  # the page's timer starts when the page shows it
        session.release()
        session.close()
        return session.id

    sid: str = await web.runner.call(start)
    return sid


@router.post("/sessions", status_code=201)
async def new_session(request: Request, body: NewSession) -> dict[str, Any]:
    check_csrf(request)
    sid = await start_session(request, body.case_id, body.mode, body.drill)
    return {"id": sid, "url": f"/s/{sid}"}


def own_summaries(request: Request) -> list[dict[str, Any]]:
    """This browser's sessions as the list shows them, each with its stored score (read, never
    computed: a page load scores nothing)."""
    rows = own_rows(request)
    results = state_of(request).engine.store.results() if rows else {}
    return [session_summary(r, results.get(r.id)) for r in rows]


@router.get("/sessions")
async def list_sessions(request: Request) -> list[dict[str, Any]]:
    summaries: list[dict[str, Any]] = await state_of(request).runner.call(
        lambda: own_summaries(request))
    return summaries


@router.get("/sessions/{sid}")
async def get_session(request: Request, sid: str) -> dict[str, Any]:
    web = state_of(request)
    row = await owned(request, sid)
    view: dict[str, Any] = await web.runner.call(lambda: web.view(row.id, None))
    return view


class TurnIn(BaseModel):
    answer: str | None = Field(default=None, description="the candidate's answer")
    command: str | None = Field(default=None, description="hint, next or skip")
    seq: int | None = Field(default=None, ge=0, description="candidate turns the page has seen")
    active_s: float | None = Field(default=None, ge=0, le=86_400, description=(
        "seconds the question was open and the page visible (the step's timer)"))


#: What a command the page does not send (typed in the answer box) is, on this page instead.
NOT_SENT = {
    "help": "the buttons under the answer box do what the commands do",
    "repeat": "the Repeat button shows the question again",
    "quit": ("there is nothing to quit: each answer is saved as it is sent, so leave the page "
             "when you like and continue from Your sessions"),
}


def _page_help(mode: str) -> str:
    """The buttons of the interview page and the commands one may type, in ``mode``."""
    buttons = ["Send"] + [c.capitalize() for c in BUTTONS if c in rules.allowed(mode)]
    typed = ", ".join("/" + c for c in rules.allowed(mode) if c in rules.GRAPH_COMMANDS)
    return f"Buttons: {', '.join(buttons)}. Commands you can type: {typed}."


def resume_value(body: TurnIn, mode: str = "exam") -> dict[str, str]:
    """The answer or command to send, read by the rules every driver shares (agent/commands.py:
    cleaned, not empty, at most MAX_ANSWER_CHARS; a lone /command typed in the box is that
    command, in any case), so a refused input never reaches the session. Commands that only
    show something or stop the client (/help, /repeat, /quit) are not sent: the refusal says
    what the page has instead, with the buttons and commands of the session's ``mode``."""
    if (body.answer is None) == (body.command is None):
        raise HTTPException(422, detail=("invalid", "send either 'answer' or 'command'"))
    raw: str | dict[str, str] = (body.answer or "" if body.command is None
                                 else {"command": body.command})
    given = rules.read_input(raw)
    if isinstance(given, rules.Answer):
        return {"answer": given.text}
    if isinstance(given, rules.Command):
        if given.name not in rules.GRAPH_COMMANDS:
            raise HTTPException(422, detail=("unknown_command", (
                f"/{given.name} is not sent from this page: {NOT_SENT[given.name]}. "
                f"{_page_help(mode)}")))
        return {"command": given.name}
    if given.unknown is not None:
        raise HTTPException(422, detail=("unknown_command", (
            f"/{given.unknown[:40]} is not a command. {_page_help(mode)}")))
    if given.text == rules.EMPTY:
        raise HTTPException(422, detail=("empty", "Please type an answer, or use a button. "
                                         f"{_page_help(mode)}"))
    raise HTTPException(422, detail=("too_long", given.text))


async def _stream(
        events: AsyncIterator[tuple[str, dict[str, Any]]]) -> AsyncIterator[dict[str, str]]:
    async for name, data in events:
        yield {"event": name, "data": json.dumps(data, ensure_ascii=False)}


async def _turn_response(request: Request, sid: str, value: dict[str, str] | None,
                         seq: int | None, active_s: float | None = None) -> Response:
    web = state_of(request)
    try:
        events = await web.runner.run(sid, value, seq, active_s)
    except TurnError as e:
        return JSONResponse(error_body(e.code, e.message), status_code=e.status)
    # X-Accel-Buffering: a proxy in front (nginx) must pass each event on at once.
    return EventSourceResponse(_stream(events), ping=15, sep="\n",
                               headers={"X-Accel-Buffering": "no"})


@router.post("/sessions/{sid}/turn")
async def turn(request: Request, sid: str, body: TurnIn) -> Response:
    check_csrf(request)
    row = await owned(request, sid)
    return await _turn_response(request, row.id, resume_value(body, row.mode), body.seq,
                                body.active_s)


@router.post("/sessions/{sid}/recover")
async def recover(request: Request, sid: str) -> Response:
    """Finish what a stopped turn left: replay a saved answer the interviewer has not replied
    to, or a reply cut off between checkpoints (a worker killed mid-turn)."""
    check_csrf(request)
    row = await owned(request, sid)
    return await _turn_response(request, row.id, None, None)


@router.get("/sessions/{sid}/report")
async def report_json(request: Request, sid: str) -> Response:
    from agent.report import to_json
    from agent.web.reports import build

    row = await owned(request, sid)
    report = await build(request, row)
    return Response(to_json(report), media_type="application/json")
