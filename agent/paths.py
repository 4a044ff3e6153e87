"""Where the project's data files and the user's database live.

Data files (prompts, rubrics, cases) are read from the source checkout when running from
one, and from ``agent/_data`` inside an installed wheel (see ``pyproject.toml``).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

_PKG = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """The directory holding the project's ``name`` data files (prompts, rubrics, cases).

    ``INTERVIEWER_CASES`` / ``INTERVIEWER_RUBRICS`` / ``INTERVIEWER_PROMPTS`` point at another
    directory, e.g. a designer's draft rubrics."""
    override = os.environ.get(f"INTERVIEWER_{name.upper()}")
    if override:
        path = Path(override).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f"INTERVIEWER_{name.upper()}={override}: not a directory")
        return path
    for candidate in (_PKG / "_data" / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the project's {name}/ directory is missing (looked beside {_PKG})")


def home() -> Path:
    """INTERVIEWER_HOME, or the platform's user data directory. Not created here.

    An empty (or blank) INTERVIEWER_HOME counts as unset, as ``interviewer --help`` says."""
    env = os.environ.get("INTERVIEWER_HOME", "")
    if env.strip():
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("interviewer", appauthor=False))


def db_path() -> Path:
    """The one SQLite database: checkpoints, sessions, scores and the model-call log."""
    return home() / "interviewer.db"


def db_files() -> list[Path]:
    """The database and the files SQLite keeps beside it (write-ahead log, shared memory,
    rollback journal): none may ever be overwritten by an output file."""
    db = db_path()
    return [db, *(db.with_name(db.name + suffix) for suffix in ("-wal", "-shm", "-journal"))]
