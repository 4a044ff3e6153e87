"""``interviewer serve``: check everything that can refuse to start, bind, then run uvicorn.

Refused before binding, each in one line: a missing ``[web]`` extra, a host beyond loopback
without ``INTERVIEWER_WEB_TOKEN``, a short token, a port in use, a database that cannot be
opened, a broken case or rubric file.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import signal
import socket
import sys

DEFAULT_TRANSCRIBE_MODEL = "whisper-1"
#: The load balancers (addresses, comma-separated, or *) whose X-Forwarded-Proto and
#: X-Forwarded-For the app believes; unset, it believes none.
PROXIES_ENV = "INTERVIEWER_FORWARDED_ALLOW_IPS"


def _require_extra() -> None:
    missing = []
    for name in ("fastapi", "uvicorn", "sse_starlette", "jinja2", "itsdangerous", "multipart",
                 "wordllama"):
        if importlib.util.find_spec(name) is None:  # found, not imported (wordllama is slow)
            missing.append(name)
    if missing:
        raise ValueError(f"serve: the web app needs the [web] extra (missing: "
                         f"{', '.join(missing)}); install it with: pip install 'interviewer[web]'"
                         " (from a checkout: pip install -e '.[web]')")


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: any free one), or one line saying why not."""
    if not 0 <= port <= 65535:
        raise ValueError(f"--port: {port} is not a port (0-65535; 0 picks a free one)")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as e:
        sock.close()
        if e.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
            raise ValueError(f"--port {port}: already in use; choose another (--port 0 picks a "
                             "free one)") from None
        raise ValueError(f"--host {host} --port {port}: cannot listen there ({e.strerror})") \
            from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class _Terminated(Exception):
    """SIGTERM, raised again by uvicorn after its graceful shutdown."""


def _terminated(signum: int, frame: object) -> None:
    raise _Terminated


def run_serve(args: argparse.Namespace) -> int:
    _require_extra()
    from agent.cli import database_from, settings_from
    from agent.web.security import check_token, load_secret

    proxies = (args.forwarded_allow_ips or os.environ.get(PROXIES_ENV, "")).strip() or None
    token = check_token(os.environ.get("INTERVIEWER_WEB_TOKEN"), args.host,
                        proxied=proxies is not None)
    settings = settings_from(args)
    model = None if args.no_transcription else (
        args.transcribe_model or os.environ.get("INTERVIEWER_TRANSCRIBE_MODEL", "").strip()
        or DEFAULT_TRANSCRIBE_MODEL)
    # What would fail on the first request fails now: the database, the cases, the rubrics.
    from agent.cases import default_cases, warn_broken
    from agent.paths import home
    from agent.prompts import script
    from agent.rubrics import default_rubrics
    from agent.storage import open_storage

    target = database_from(args)
    # The cookie key: with PostgreSQL, the one every worker (on any machine) reads there.
    with open_storage(target) as store:
        secret = load_secret(home(), store)
    default_cases()
    warn_broken()  # a broken case file is left out, named here
    default_rubrics()
    script()

    import uvicorn

    from agent.web.app import WebConfig, create_app

    config = WebConfig(settings=settings, secret=secret, host=args.host, token=token,
                       transcribe_model=model, db=target, proxied=proxies is not None)
    sock = bind(args.host, args.port)
    port = sock.getsockname()[1]
    shown = f"[{args.host.strip('[]')}]" if ":" in args.host else args.host
    url = f"http://{shown}:{port}/"
    mode = settings.describe()
    access = "an access token (INTERVIEWER_WEB_TOKEN) is required" if token else \
        "this machine only"
    logging.basicConfig(level=logging.WARNING, format="interviewer: %(message)s")

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:  # the engine is open: the address works from now on
                print(f"interviewer: serving {url} ({mode}; {access}). Ctrl-C stops it.",
                      flush=True)

    server = Server(uvicorn.Config(
        create_app(config), log_level="warning", access_log=args.access_log, lifespan="on",
        timeout_graceful_shutdown=5, proxy_headers=proxies is not None,
        forwarded_allow_ips=proxies or ""))
    # uvicorn shuts down cleanly on Ctrl-C or SIGTERM (a service manager's stop), then raises
    # the signal again once its own handlers are gone: both are our normal stop.
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        server.run(sockets=[sock])
    except (KeyboardInterrupt, _Terminated):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        sock.close()
    print("interviewer: stopped; every answer is saved.", file=sys.stderr, flush=True)
    return 0
