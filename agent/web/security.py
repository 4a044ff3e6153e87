"""Safe by default: who may use the app, whose sessions they are, and what a request may carry.

- **Owner.** The first page a browser loads gives it a random owner id in a signed cookie
  (Starlette's SessionMiddleware, signed with the app's secret). A session stores a hash of its
  owner; every read or write of a session checks it, and a session of another owner is answered
  exactly like one that does not exist.
- **CSRF.** Every POST carries the cookie's CSRF token (an ``X-CSRF-Token`` header from the
  pages' scripts, or a ``csrf`` form field), and a cross-origin ``Origin`` is refused.
- **Token.** Bound to anything but loopback, the app requires ``INTERVIEWER_WEB_TOKEN``: a
  browser logs in once (``/login``), a script may send ``Authorization: Bearer TOKEN``.
- **Limits and headers.** Request bodies are bounded before they are read; every response
  carries a strict Content-Security-Policy (scripts from the app only) and friends.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException, Request

if TYPE_CHECKING:
    from agent.storage import Storage

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Shortest access token accepted: guessing 16 random characters over the network is hopeless.
MIN_TOKEN_CHARS = 16
#: Largest JSON or form body (an answer is at most 20,000 characters, 80 KB of UTF-8).
MAX_BODY_BYTES = 256 * 1024
#: Largest recorded answer sent for transcription (the OpenAI API's own limit is 25 MB).
MAX_AUDIO_BYTES = 25 * 1024 * 1024
COOKIE = "interviewer"
#: A browser keeps its sessions for as long as browsers keep cookies (Chromium caps at 400 days).
COOKIE_MAX_AGE = 400 * 24 * 3600
#: Where the cookie key is kept in a shared database (``interviewer_meta``).
SECRET_KEY = "web_secret"


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_token(token: str | None, host: str, proxied: bool = False) -> str | None:
    """The access token to require, or None. Raises ValueError (one line) when the app serves
    beyond this machine (a host that is not loopback, or a load balancer in front: ``proxied``)
    and there is no usable token."""
    token = (token or "").strip() or None
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise ValueError(f"INTERVIEWER_WEB_TOKEN is {len(token)} characters; use at least "
                         f"{MIN_TOKEN_CHARS} random ones (e.g. python -c 'import secrets; "
                         "print(secrets.token_urlsafe(24))')")
    if token is None and not is_loopback(host):
        raise ValueError(f"--host {host}: serving beyond this machine needs an access token; "
                         "set INTERVIEWER_WEB_TOKEN to a random string of at least "
                         f"{MIN_TOKEN_CHARS} characters (or bind to 127.0.0.1)")
    if token is None and proxied:
        raise ValueError("--forwarded-allow-ips: behind a load balancer the app serves beyond "
                         "this machine, which needs an access token; set INTERVIEWER_WEB_TOKEN "
                         f"to a random string of at least {MIN_TOKEN_CHARS} characters")
    return token


def load_secret(home: Path, store: Storage | None = None) -> str:
    """The key that signs cookies, the same on every worker and every restart:
    INTERVIEWER_WEB_SECRET; else, when the sessions live in PostgreSQL (``store``), one kept in
    the database, so workers on other machines sign alike; else ``web-secret`` in the home
    directory, created once (readable by its owner only) for every worker on this machine.

    The database's key is made once, by whichever worker starts first: from this machine's
    ``web-secret`` when there is one (browsers keep the sessions a single worker gave them),
    else a new random one."""
    env = os.environ.get("INTERVIEWER_WEB_SECRET", "").strip()
    if env:
        return env
    path = home / "web-secret"
    if store is not None and store.kind == "postgres":
        try:
            seed = path.read_text(encoding="utf-8").strip()
        except (FileNotFoundError, NotADirectoryError):
            seed = ""
        return store.shared_value(SECRET_KEY, seed or secrets.token_urlsafe(32))
    try:
        return path.read_text(encoding="utf-8").strip() or _new_secret(path)
    except FileNotFoundError:
        return _new_secret(path)


def _new_secret(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(value)
    try:
        os.link(tmp, path)  # atomic, and loses to a worker that made one first
    except FileExistsError:
        value = path.read_text(encoding="utf-8").strip()
    finally:
        tmp.unlink(missing_ok=True)
    return value


def token_digest(token: str, secret: str) -> str:
    """What a logged-in cookie holds: never the token itself."""
    return hmac.new(secret.encode(), b"token:" + token.encode(), hashlib.sha256).hexdigest()


def owner_digest(owner: str) -> str:
    """What a session row stores of its owner's id."""
    return hashlib.sha256(b"owner:" + owner.encode()).hexdigest()[:32]


def ensure_identity(request: Request) -> dict[str, Any]:
    """The browser's cookie session, with an owner id and a CSRF token made on first use."""
    session: dict[str, Any] = request.session
    if "owner" not in session:
        session["owner"] = secrets.token_urlsafe(18)
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(18)
    return session


def owner_of(request: Request) -> str:
    return owner_digest(str(ensure_identity(request)["owner"]))


def csrf_of(request: Request) -> str:
    return str(ensure_identity(request)["csrf"])


def check_csrf(request: Request, form_value: str | None = None) -> None:
    """Refuse a POST that does not carry this browser's CSRF token, or comes from another
    origin."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        expected = f"{request.url.scheme}://{request.headers.get('host', '')}"
        if origin.rstrip("/") != expected:
            raise HTTPException(403, detail=("csrf", "This request came from another site "
                                             f"({origin}); it was refused."))
    sent = request.headers.get("x-csrf-token") or form_value or ""
    real = str(request.session.get("csrf", ""))
    if not real or not hmac.compare_digest(sent, real):
        raise HTTPException(403, detail=("csrf", "The page's security token is missing or out "
                                         "of date; reload the page and try again."))


class Guard:
    """ASGI middleware (inside the cookie middleware): the access token, body limits and
    security headers. Pure ASGI, so streamed responses pass through untouched."""

    OPEN = ("/static/", "/login", "/healthz")

    def __init__(self, app: ASGIApp, *, token: str | None, secret: str) -> None:
        self.app = app
        self.token = token
        self.digest = token_digest(token, secret) if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if self.digest is not None and not path.startswith(self.OPEN) \
                and not self._authed(scope):
            await self._refuse(scope, send, path)
            return
        limit = MAX_AUDIO_BYTES if path.endswith("/transcribe") else MAX_BODY_BYTES
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _json(send, 413, "too_large", f"The request is larger than {limit:,} bytes.")
            return
        seen = 0

        async def bounded() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
            return message

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                if path.startswith("/static/"):
                    present.add(b"cache-control")  # scripts and styles may be cached
                for key, value in _SECURITY_HEADERS:
                    if key not in present:
                        headers.append((key, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, bounded, with_headers)

    def _authed(self, scope: Scope) -> bool:
        assert self.digest is not None and self.token is not None
        session = scope.get("session") or {}
        if hmac.compare_digest(str(session.get("auth", "")), self.digest):
            return True
        bearer = _header(scope, b"authorization") or ""
        return bearer.startswith("Bearer ") and hmac.compare_digest(
            bearer[7:].strip().encode(), self.token.encode())

    async def _refuse(self, scope: Scope, send: Send, path: str) -> None:
        if path.startswith("/api/") or scope["method"] != "GET":
            await _json(send, 401, "token_required",
                        "This interviewer needs its access token: log in at /login, or send "
                        "'Authorization: Bearer TOKEN'.")
            return
        from urllib.parse import quote

        query = scope.get("query_string", b"").decode("latin-1")
        target = path + (f"?{query}" if query else "")
        await send({"type": "http.response.start", "status": 303, "headers": [
            (b"location", f"/login?next={quote(target, safe='')}".encode()),
            (b"content-length", b"0"), *_SECURITY_HEADERS]})
        await send({"type": "http.response.body", "body": b""})


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The request is larger than {limit:,} bytes.")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def _json(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        *_SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": body})


#: Scripts and styles from the app only (the report page, which has an inline stylesheet, sets
#: its own policy); the microphone for this origin only; never framed.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
REPORT_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
_SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"microphone=(self), camera=(), geolocation=()"),
    (b"cache-control", b"no-store"),
]
