"""The report in the browser: the standalone HTML report (agent/report_html.py), with the app's
navigation and the interview's full transcript."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request

from agent.store import SessionRow
from agent.web.app import state_of, templates

if TYPE_CHECKING:
    from agent.report import Report


async def build(request: Request, row: SessionRow) -> Report:
    """The session's report; scores finished in the background are reused, the rest computed
    now (off the event loop)."""
    web = state_of(request)

    def make() -> Report:
        session = web.engine.open(row.id, lock=False)
        try:
            return session.report()
        finally:
            session.close()

    report: Report = await web.runner.call(make)
    return report


def page(request: Request, row: SessionRow, report: Report, *, standalone: bool = False) -> str:
    """The report as one page: to_html's document with the transcript before </body>, and
    either the app's navigation after <body> or (``standalone``, a file to keep) the
    transcript's stylesheet inlined so the file needs nothing else. Candidate text is escaped
    by the templates."""
    from agent.report_html import to_html
    from agent.web.app import HERE
    from agent.web.views import step_info

    web = state_of(request)
    snap = web.engine.graph.get_state({"configurable": {"thread_id": row.id}})
    turns = [{**t, "info": step_info(t["step"])} for t in (snap.values or {}).get("turns", [])]
    transcript = templates.get_template("transcript.html").render(turns=turns, row=row)
    html = to_html(report)
    if standalone:
        css = (HERE / "static" / "report.css").read_text(encoding="utf-8")
        html = html.replace("</head>", f"<style>{css}</style></head>", 1)
    else:
        nav = templates.get_template("report_nav.html").render(row=row)
        html = html.replace("</head>", '<link rel="stylesheet" href="/static/report.css">'
                            "</head>", 1)
        html = html.replace("<body>", "<body>" + nav, 1)
    return html.replace("</body>", transcript + "</body>", 1)
