"""The app factory: one engine per worker process, the turn runner, middleware and error
handlers. Errors reach a client as JSON (``{"error": {"code", "message"}}``) on the API and as
a plain page elsewhere, never as a stack trace."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from agent.config import Settings
from agent.storage import StoreError, Target
from agent.web.security import (
    COOKIE,
    COOKIE_MAX_AGE,
    BodyTooLarge,
    Guard,
    is_loopback,
)

HERE = Path(__file__).resolve().parent
log = logging.getLogger("interviewer.web")


@dataclass(kw_only=True)
class WebConfig:
    """How ``interviewer serve`` was started."""

    settings: Settings
    secret: str
    """Signs the cookie; the same on every worker (see security.load_secret)."""
    host: str = "127.0.0.1"
    token: str | None = None
    """Required from every client when set (always set beyond loopback)."""
    db: Target | Path | None = None
    """The database (default: the configured one; see agent.storage.open_storage)."""
    transcribe_model: str | None = "whisper-1"
    """The endpoint's speech-to-text model for recorded answers; None turns transcription off."""
    threads: int = 64
    """Turns (and reports) running at once in this worker."""
    warm_up: bool = True
    """Exercise the interview once at start (see warm.py), off the request path."""
    lock_wait_s: float = 20.0
    """How long a turn waits for a session another turn holds."""
    proxied: bool = False
    """Behind a load balancer (--forwarded-allow-ips): the names browsers use are its own, so
    the loopback host check is off (the access token guards the app instead)."""


class WebState:
    """What the routes share inside one worker."""

    def __init__(self, config: WebConfig) -> None:
        from agent.engine import Engine
        from agent.web.turns import TurnRunner
        from agent.web.views import session_view

        self.config = config
        self.engine = Engine(config.settings, db=config.db)
        voice = self.engine.client is not None and config.transcribe_model is not None

        def view(sid: str, snap: Any = None) -> dict[str, Any]:
            row = self.engine.store.get_session(sid)
            assert row is not None
            return session_view(self.engine, row, voice_input=voice, snap=snap)

        self.transcription = voice
        self.view = view
        self.runner = TurnRunner(self.engine, view, threads=config.threads,
                                 lock_wait_s=config.lock_wait_s)

    def close(self) -> None:
        self.runner.close()
        self.engine.close()


def state_of(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


templates = Jinja2Templates(directory=str(HERE / "templates"))


def step_label(step: str, drill: str | None = None) -> str:
    """ "Step 2 of 6 · Diagnose root causes" ("Drill · Diagnose root causes" in a one-step
    drill), or "Wrap-up" after the last step."""
    from agent.web.views import step_info

    info = step_info(step)
    if step == "wrap_up":
        return "Wrap-up"
    if drill:
        return f"Drill · {info['title']}"
    return f"Step {info['number']} of {info['of']} · {info['title']}"


templates.env.globals["step_label"] = step_label


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.method != "GET"


def plain_error(err: Any) -> str:
    """One request validation error as a plain sentence: "field: what is wrong" (no
    "0: JSON decode error", no "Value error," prefix)."""
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "json_invalid":
        why = f" ({ctx['error']})" if ctx.get("error") else ""
        return f"the request body is not valid JSON{why}"
    where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query"))
    if kind == "missing":
        return f"{where or 'request'}: missing (required)"
    msg = str(ctx["error"]) if kind == "value_error" and ctx.get("error") else (
        err.get("msg") or "invalid")
    return f"{where}: {msg}" if where else msg


def create_app(config: WebConfig) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.web = WebState(config)
        warm = None
        if config.warm_up:
            from agent.web.warm import start_warm_up

            warm = start_warm_up()
        try:
            yield
        finally:
            if warm is not None:
                # Ends at its next step; never left running at exit.
                await asyncio.to_thread(warm.stop)
            app.state.web.close()

    app = FastAPI(title="interviewer", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    from agent.web import api, pages, voice

    app.include_router(api.router)
    app.include_router(voice.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code, message = _detail(exc)
        if _wants_json(request):
            return JSONResponse(error_body(code, message), status_code=exc.status_code,
                                headers=getattr(exc, "headers", None))
        return templates.TemplateResponse(request, "error.html", {
            "status": exc.status_code, "message": message}, status_code=exc.status_code)

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        parts = [plain_error(err) for err in exc.errors()[:5]]
        return JSONResponse(error_body("invalid", "; ".join(dict.fromkeys(parts))),
                            status_code=422)

    async def too_large(request: Request, exc: Exception) -> Response:
        return JSONResponse(error_body("too_large", str(exc)), status_code=413)

    async def crashed(request: Request, exc: Exception) -> Response:
        from agent.storage.base import as_store_error

        store_error = as_store_error(exc)
        if store_error is not None:
            return database_down(request, store_error)
        ref = secrets.token_hex(4)
        log.error("request %s %s failed (reference %s)", request.method, request.url.path, ref,
                  exc_info=exc)
        message = (f"Something went wrong on the server (reference {ref}); your answers are "
                   "saved. Reload the page to carry on.")
        if _wants_json(request):
            return JSONResponse(error_body("internal", message), status_code=500)
        return templates.TemplateResponse(request, "error.html", {
            "status": 500, "message": message}, status_code=500)

    async def store_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StoreError)
        return database_down(request, exc)

    def database_down(request: Request, exc: StoreError) -> Response:
        """The database cannot be reached (or refused): 503, one line in the log, no trace."""
        from agent.storage import StorageUnavailable
        from agent.web.turns import database_message

        log.warning("request %s %s: %s", request.method, request.url.path, exc)
        if isinstance(exc, StorageUnavailable):
            code, message = "database_unavailable", database_message()
        else:
            code, message = "database_error", ("The interview's database refused the request; "
                                               "your answers so far are saved. Try again in a "
                                               "moment.")
        if _wants_json(request):
            return JSONResponse(error_body(code, message), status_code=503,
                                headers={"Retry-After": "5"})
        return templates.TemplateResponse(request, "error.html", {
            "status": 503, "message": message}, status_code=503, headers={"Retry-After": "5"})

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(BodyTooLarge, too_large)
    app.add_exception_handler(StoreError, store_error)
    app.add_exception_handler(Exception, crashed)

    # Outermost last: trusted hosts, then the cookie, then our guard (which reads the cookie).
    app.add_middleware(Guard, token=config.token, secret=config.secret)
    app.add_middleware(SessionMiddleware, secret_key=config.secret, session_cookie=COOKIE,
                       max_age=COOKIE_MAX_AGE, same_site="lax", https_only=False)
    if is_loopback(config.host) and not config.proxied:
        # Only names of this machine: a page elsewhere cannot rebind its own name to us.
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=[
            "127.0.0.1", "localhost", "[::1]", "::1", config.host.strip("[]")])
    return app


def _detail(exc: HTTPException) -> tuple[str, str]:
    detail: Any = exc.detail
    if isinstance(detail, tuple) and len(detail) == 2:
        return str(detail[0]), str(detail[1])
    names = {400: "bad_request", 401: "token_required", 403: "forbidden", 404: "not_found",
             405: "method_not_allowed", 409: "conflict", 413: "too_large", 422: "invalid"}
    return names.get(exc.status_code, "error"), str(detail)
