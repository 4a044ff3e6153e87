"""The HTML pages: choose a case, the interview, the report, the session list, logging in.

Pages are rendered by templates (escaped by default) and work as plain forms; the interview
page's script streams the interviewer's words and sends answers through the API.
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agent.storage import SessionRow
from agent.web.api import own_rows, own_summaries, owned, start_session
from agent.web.app import state_of, templates
from agent.web.security import REPORT_CSP, check_csrf, csrf_of, token_digest
from agent.web.views import session_summary

router = APIRouter()


def render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    web = state_of(request)
    base = {"csrf": csrf_of(request), "engine": web.engine.engine_label,
            "offline": web.engine.client is None, "settings": web.engine.settings}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


@router.get("/healthz")
def healthz() -> dict[str, bool]:
    return {"ok": True}


@router.get("/", response_class=HTMLResponse)
async def index(request: Request) -> Response:
    from agent.cases import default_cases
    from agent.steps import STEPS, TITLES

    rows = await state_of(request).runner.call(lambda: own_rows(request))
    return render(request, "index.html", cases=list(default_cases().values()),
                  steps=[(s, TITLES[s]) for s in STEPS],
                  sessions=[session_summary(r) for r in rows[:5]])


@router.post("/sessions")
async def new_session(request: Request, case_id: str = Form(""), mode: str = Form("exam"),
                      drill: str = Form(""), csrf: str = Form("")) -> Response:
    check_csrf(request, csrf)
    sid = await start_session(request, case_id, mode, drill or None)
    return RedirectResponse(f"/s/{sid}", status_code=303)


@router.get("/sessions", response_class=HTMLResponse)
async def sessions(request: Request) -> Response:
    summaries = await state_of(request).runner.call(lambda: own_summaries(request))
    return render(request, "sessions.html", sessions=summaries)


@router.get("/progress", response_class=HTMLResponse)
async def progress(request: Request) -> Response:
    """Progress over this browser's completed sessions (agent/practice/progress.py)."""
    from agent.cases import default_cases
    from agent.cli import _summaries
    from agent.practice.progress import _plain, build
    from agent.rubrics import default_rubrics
    from agent.steps import CROSS_CUTTING, STEPS, TITLES

    web = state_of(request)

    def make() -> Any:
        rows = own_rows(request)
        return build(rows, _summaries(web.engine.store, rows), default_rubrics(),
                     default_cases())

    p = await web.runner.call(make)
    by_step = [(step, [c for c in p.criteria if c.step == step])
               for step in (*STEPS, CROSS_CUTTING)
               if any(lv is not None for c in p.criteria if c.step == step for lv in c.levels)]
    return render(request, "progress.html", p=p, by_step=by_step, titles=TITLES, plain=_plain,
                  case_titles={c.id: c.title for c in default_cases().values()})


@router.get("/s/{sid}", response_class=HTMLResponse)
async def interview(request: Request, sid: str) -> Response:
    web = state_of(request)
    row = await owned(request, sid)
    view = await web.runner.call(lambda: web.view(row.id, None))
    return render(request, "interview.html", view=view)


def held_back(row: SessionRow) -> bool:
    """An exam's feedback is held back until the interview is finished (the start page
    promises "feedback at the end, like the real thing"); coach mode shows it as it goes."""
    return row.mode == "exam" and row.status != "completed"


@router.get("/s/{sid}/report", response_class=HTMLResponse)
async def report(request: Request, sid: str) -> Response:
    from agent.web.reports import build, page

    row = await owned(request, sid)
    if held_back(row):
        return render(request, "exam_wait.html", row=row)
    built = await build(request, row)
    return HTMLResponse(page(request, row, built),
                        headers={"Content-Security-Policy": REPORT_CSP})


@router.get("/s/{sid}/report.{fmt}")
async def report_file(request: Request, sid: str, fmt: str) -> Response:
    """The report as a file to keep: html (standalone), md or json."""
    from agent.report import to_json, to_markdown
    from agent.report_html import to_html
    from agent.web.reports import build

    media = {"html": "text/html", "md": "text/markdown", "json": "application/json"}
    if fmt not in media:
        raise HTTPException(404, detail=("not_found", f"No report format {fmt[:10]!r}; "
                                         "html, md or json."))
    row = await owned(request, sid)
    if held_back(row):
        raise HTTPException(409, detail=("exam_in_progress", "In exam mode the feedback comes "
                                         "at the end: finish the interview first."))
    built = await build(request, row)
    text = (to_html(built) if fmt == "html" else to_markdown(built) if fmt == "md"
            else to_json(built))
    return Response(text, media_type=f"{media[fmt]}; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="interview-{row.id}.{fmt}"',
        "Content-Security-Policy": REPORT_CSP})


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", next=_safe_next(next), failed=False)


@router.post("/login")
def login(request: Request, token: str = Form(""), csrf: str = Form(""),
          next: str = Form("/")) -> Response:
    check_csrf(request, csrf)
    web = state_of(request)
    expected = web.config.token
    if expected is None:
        return RedirectResponse(_safe_next(next), status_code=303)
    if not hmac.compare_digest(token.strip().encode(), expected.encode()):
        return render(request, "login.html", status=401, next=_safe_next(next), failed=True)
    request.session["auth"] = token_digest(expected, web.config.secret)
    return RedirectResponse(_safe_next(next), status_code=303)


def _safe_next(target: str) -> str:
    """Only a path on this site (never another host) to go back to after logging in."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/favicon.ico")
def favicon() -> Response:
    return Response(status_code=204)
