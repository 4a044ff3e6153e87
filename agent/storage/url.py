"""Which database to use, and how to name it in a message without its password.

``--database-url`` beats ``INTERVIEWER_DATABASE_URL``, which beats ``database_url`` in
``$INTERVIEWER_HOME/config.toml``; with none of them, the SQLite file in INTERVIEWER_HOME.
Accepted: ``postgresql://`` (or ``postgres://``) URLs in libpq's form, and ``sqlite:///PATH``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from agent.config import ConfigError, load_config_file, quoted
from agent.paths import db_path, home

ENV = "INTERVIEWER_DATABASE_URL"
SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True)
class Target:
    """A database: a SQLite file (``path``) or a PostgreSQL server (``url``)."""

    kind: str
    path: Path | None = None
    url: str | None = field(default=None, repr=False)
    source: str = ""
    """Where the choice came from (a flag, a variable, the config file), for messages."""

    @property
    def label(self) -> str:
        return str(self.path) if self.kind == "sqlite" else redact_url(self.url or "")

    @property
    def password(self) -> str | None:
        return password_of(self.url) if self.url else None


def password_of(url: str) -> str | None:
    try:
        raw = urlsplit(url).password
    except ValueError:
        return None
    return unquote(raw) if raw else None


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (and query parameters named password)."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, hostport = netloc.rsplit("@", 1)
            if ":" in userinfo:
                userinfo = userinfo.split(":", 1)[0] + ":***"
            netloc = f"{userinfo}@{hostport}"
        query = "&".join(
            (kv.split("=", 1)[0] + "=***") if kv.split("=", 1)[0].lower() == "password" else kv
            for kv in parts.query.split("&")) if parts.query else ""
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    except ValueError:
        return "<an unreadable database URL>"


def parse(value: str, source: str) -> Target:
    """A database URL (or SQLite URL) from ``source``, checked; ConfigError naming the source."""
    text = value.strip()
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    if scheme in SCHEMES and text[len(scheme):].startswith("://"):
        if any(ch.isspace() or not ch.isprintable() for ch in text):
            raise ConfigError(f"{source}: {quoted(redact_url(text))} is not a valid database URL "
                              "(it contains spaces or unprintable characters)")
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError as e:
            raise ConfigError(f"{source}: {quoted(redact_url(text))} is not a valid database "
                              f"URL ({e})") from None
        if not parts.path.strip("/"):
            raise ConfigError(f"{source}: {quoted(redact_url(text))} names no database (e.g. "
                              "postgresql://interviewer@db.example.com:5432/interviewer)")
        return Target("postgres", url=text, source=source)
    if scheme == "sqlite" and text.startswith("sqlite:///"):
        # sqlite:///relative/file.db or sqlite:////absolute/file.db, as SQLAlchemy spells them
        path = Path(unquote(text[len("sqlite:///"):])).expanduser()
        if not path.name:
            raise ConfigError(f"{source}: {quoted(text)} names no file (sqlite:////abs/path.db)")
        return Target("sqlite", path=path if path.is_absolute() else Path.cwd() / path,
                      source=source)
    raise ConfigError(
        f"{source}: {quoted(redact_url(text))} is not a database URL (use "
        "postgresql://USER@HOST:PORT/DBNAME, or sqlite:////path/to/file.db; unset it for the "
        "SQLite database in INTERVIEWER_HOME)")


def resolve(flag: str | None = None, *, offline: bool = False,
            env: dict[str, str] | None = None, config: dict[str, Any] | None = None) -> Target:
    """The database for this run. ``offline`` (``--offline``, which promises that a broken
    config file never stops an interview): a config file that cannot be read is ignored."""
    env = dict(os.environ) if env is None else env
    if flag is not None and flag.strip():
        return parse(flag, "--database-url")
    if env.get(ENV, "").strip():
        return parse(env[ENV], ENV)
    config_name = str(home() / "config.toml")
    if config is None:
        try:
            config = load_config_file()
        except ConfigError:
            if not offline:
                raise
            config = {}
    value = config.get("database_url")
    if value:
        where = f"{config_name}: database_url"
        target = parse(str(value), where)
        if target.password:
            raise ConfigError(f"{where}: holds a password; passwords do not belong in config "
                              f"files: use {ENV}, PGPASSWORD or ~/.pgpass instead")
        return target
    return Target("sqlite", path=db_path(), source="INTERVIEWER_HOME")
