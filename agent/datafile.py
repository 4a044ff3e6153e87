"""Loading the project's YAML data files with errors that name the file, item and field."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

#: Data files are hand-written prose; anything bigger is a mistake, not a rubric.
MAX_DATA_FILE_BYTES = 2 * 1024 * 1024


def unreadable(e: OSError) -> str:
    """Why a file could not be read, in plain words, for "PATH: <this>": "no such file", "is a
    directory, not a file", else "cannot read (<the system's reason>)"."""
    if isinstance(e, FileNotFoundError):
        return "no such file"
    if isinstance(e, IsADirectoryError):
        return "is a directory, not a file"
    return f"cannot read ({e.strerror})"


class DataFileError(ValueError):
    """A data file that cannot be used. ``str()`` is one line naming the file and the problem."""


def read_yaml(path: Path) -> Any:
    """Parse ``path`` as YAML, refusing oversized, binary or malformed files."""
    import yaml

    try:
        size = path.stat().st_size
    except OSError as e:
        raise DataFileError(f"{path}: {unreadable(e)}") from None
    if size > MAX_DATA_FILE_BYTES:
        raise DataFileError(
            f"{path}: file is {size / 1e6:.1f} MB, over the {MAX_DATA_FILE_BYTES // 2**20} MB "
            "limit for data files"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise DataFileError(f"{path}: not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise DataFileError(f"{path}: {unreadable(e)}") from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)  # a safe loader (C or pure)
    except yaml.YAMLError as e:
        line, problem = yaml_problem(text, e)
        where = f" line {line}" if line is not None else ""
        raise DataFileError(f"{path}:{where} invalid YAML: {problem}") from None


#: Parser contexts whose start, not where the parser gave up, is where the mistake is: an
#: opening quote or bracket that is never closed (PyYAML's ``context_mark``).
_OPENED = {"while scanning a quoted scalar": "a quoted value",
           "while parsing a flow sequence": "a '[' list",
           "while parsing a flow mapping": "a '{' mapping"}


def yaml_problem(text: str, e: Exception) -> tuple[int | None, str]:
    """(line, what is wrong) for a YAML error, the line being where the mistake most likely
    is. PyYAML's ``problem_mark`` is where parsing failed, often lines later: an unclosed quote
    runs on to the next quote in the file, and the error lands there. So an unclosed quote or
    bracket is placed at its opening (``context_mark``), and a failure just after a quoted value
    that ran over several lines at the line that value opened on."""
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    if mark is None:
        return None, problem
    context, opened = getattr(e, "context", None), getattr(e, "context_mark", None)
    if context in _OPENED and opened is not None and opened.line < mark.line:
        return opened.line + 1, (f"{_OPENED[context]} opened on this line is never closed "
                                 f"({problem} at line {mark.line + 1})")
    start = _quoted_before(text, mark.index)
    if start is not None:
        return start + 1, (f"the quoted value that opens on this line runs on to line "
                           f"{mark.line + 1}, where {problem}: is its closing quote missing?")
    return mark.line + 1, problem


def _quoted_before(text: str, index: int) -> int | None:
    """The line (0-based) a quoted value opened on, when it is the last token before
    ``index`` and spans several lines (the sign of a missing closing quote)."""
    import yaml

    last = None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if token.start_mark.index >= index:
                break
            last = token
    except yaml.YAMLError:
        pass
    if isinstance(last, yaml.ScalarToken) and last.style in ("'", '"') and (
            last.start_mark.line < last.end_mark.line):
        return int(last.start_mark.line)
    return None


def closest(name: str, known: Iterable[str]) -> str | None:
    """The one of ``known`` that ``name`` most likely misspells, if any is close."""
    found = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """"; did you mean 'x'?" for an error message naming an unknown ``name`` ("" when nothing
    in ``known`` is close)."""
    close = closest(name, known)
    return f"; did you mean {close!r}?" if close else ""


def describe_error(data: Any, err: ValidationError, item_key: str = "criteria") -> str:
    """Render the first pydantic error as "<item 'id'>: field 'x.y': message"."""
    return describe_each(data, err, item_key)[0][0]


def describe_each(data: Any, err: ValidationError, item_key: str = "criteria", *,
                  fields: Mapping[tuple[Any, ...], Sequence[str]] | None = None,
                  plain: Mapping[str, str] | None = None) -> list[tuple[str, tuple[Any, ...]]]:
    """Every pydantic error as ("<item 'id'>: field 'x.y': message", its location in the data).
    ``fields``: the field names of the mapping at a location (a tuple of keys, with ``int`` or
    ``str`` standing for any index or key), for a did-you-mean on an unknown field; ``plain``:
    a sentence for "Input should be a valid dictionary or instance of <class>", by class."""
    out = []
    for error in err.errors():
        loc = list(error["loc"])
        full = tuple(loc)
        prefix = ""
        # Name list items by their id rather than their index where we can.
        if len(loc) >= 2 and loc[0] == item_key and isinstance(loc[1], int):
            items = data.get(item_key) if isinstance(data, dict) else None
            ident = None
            if isinstance(items, list) and loc[1] < len(items) and isinstance(
                    items[loc[1]], dict):
                ident = items[loc[1]].get("id")
            singular = item_key.rstrip("s") if item_key != "criteria" else "criterion"
            prefix = f"{singular} {ident!r}: " if ident else f"{singular} #{loc[1] + 1}: "
            loc = loc[2:]
        field = ".".join(str(p) for p in loc)
        msg = plain_message(error)
        if error["type"] == "missing":
            text = f"{prefix}missing field {field!r}"
        elif error["type"] == "extra_forbidden":
            names = _names_at(fields or {}, full[:-1])
            text = f"{prefix}unknown field {field!r}" + (
                did_you_mean(str(full[-1]), names) if names else "")
        else:
            cls = (error.get("ctx") or {}).get("class_name")
            if error["type"] == "model_type" and plain and isinstance(cls, str) and cls in plain:
                msg = plain[cls]
            text = f"{prefix}field {field!r}: {msg}" if field else f"{prefix}{msg}"
        out.append((text, full))
    return out


def _names_at(fields: Mapping[tuple[Any, ...], Sequence[str]], at: tuple[Any, ...]
              ) -> Sequence[str]:
    for pattern, names in fields.items():
        if len(pattern) == len(at) and all(
                p == q or (isinstance(p, type) and isinstance(q, p)) for p, q in zip(
                    pattern, at, strict=True)):
            return names
    return ()


def plain_message(error: Any) -> str:
    """A pydantic error's message without the parser's wording ("Value error, ...",
    "Assertion failed, ...")."""
    ctx = error.get("ctx") or {}
    if error.get("type") in ("value_error", "assertion_error") and ctx.get("error"):
        return str(ctx["error"])
    return str(error.get("msg", "invalid"))


def load_model(path: Path, model: type[M], item_key: str = "criteria") -> M:
    """Read and validate one data file as ``model``; errors name the file."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise DataFileError(f"{path}: expected a mapping at the top level")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise DataFileError(f"{path}: {describe_error(data, e, item_key)}") from None


def needs_compiling(pattern: str) -> bool:
    """Whether checking a data-file pattern (agent/signals.py syntax) needs compiling it: a
    ``re:`` pattern can be invalid; a phrase of one or more words (escaped when compiled) can
    only be invalid when it is empty. Loading skips the rest, so listing cases stays fast."""
    return pattern.startswith("re:") or not pattern.rstrip("*").strip()
