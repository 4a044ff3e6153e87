"""The report in the browser: the standalone HTML report (agent/report_html.py), with the app's
navigation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request

from agent.storage import SessionRow
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


def page(request: Request, row: SessionRow, report: Report) -> str:
    """The report (agent/report_html.py: scores, evidence, time per step and the full
    transcript, candidate text escaped) with the app's navigation after <body>, and as on the
    app's other pages a "Skip to content" link first and the report itself in <main>. (Candidate
    text is escaped, so the only "</body>" is the report's own, the last.)"""
    from agent.report_html import to_html

    nav = templates.get_template("report_nav.html").render(row=row)
    html = to_html(report)
    html = html.replace("</head>", '<link rel="stylesheet" href="/static/report.css"></head>', 1)
    head, body = html.split("<body>", 1)
    body, tail = body.rsplit("</body>", 1)
    return (f"{head}<body>{nav}<main id=\"main\" tabindex=\"-1\">{body}</main></body>"
            f"{tail}")
