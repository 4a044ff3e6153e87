"""Prompt templates as data files: loaded once, versioned by the hash of their text, rendered
with candidate text fenced so it can never read as an instruction."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.datafile import DataFileError, did_you_mean, read_yaml, unreadable
from agent.paths import data_dir
from agent.signals import LEFT_ANGLES, RIGHT_ANGLES, strip_format

if TYPE_CHECKING:
    from agent.cases import Case

#: Longest candidate text placed in one prompt slot; the interview refuses longer answers,
#: and transcripts are trimmed to the token budget before they get here.
MAX_FENCED_CHARS = 20_000

#: Inside a fence every angle bracket, and every character that looks like one, is shown as
#: ``‹`` or ``›``: no tag the candidate types (``</candidate>``, ``<|im_end|>``, ``<\u200b/x>``,
#: ``＜system＞``) can reach a prompt as a tag. Quotes of fenced text still verify, because
#: agent.signals.normalise() reads ``‹``/``›`` as ``<``/``>``.
_FENCE_ANGLES = str.maketrans({**dict.fromkeys(LEFT_ANGLES, "\u2039"),
                               **dict.fromkeys(RIGHT_ANGLES, "\u203a")})
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class Prompt:
    name: str
    text: str

    @cached_property
    def version(self) -> str:
        """The prompt's version: the first 12 hex digits of the SHA-256 of its text."""
        return hashlib.sha256(self.text.encode()).hexdigest()[:12]

    def render(self, **values: str) -> str:
        """Fill ``{placeholders}``; every one must be given, and nothing else is substituted."""
        names = set(_PLACEHOLDER.findall(self.text))
        missing = names - values.keys()
        if missing:
            raise KeyError(f"prompt {self.name!r} needs {sorted(missing)}")
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], self.text)


def fence(text: str, limit: int = MAX_FENCED_CHARS) -> str:
    """Make untrusted text safe to place between tags: bound its size, drop invisible format
    characters (zero-width spaces, soft hyphens, bidi controls) and show every angle bracket
    as ``‹``/``›``, so nothing in it can close the fence (``</candidate>``) or open a section."""
    text = strip_format(text)
    if len(text) > limit:
        text = text[:limit] + " [...truncated]"
    return text.translate(_FENCE_ANGLES)


@cache
def load_prompt(name: str) -> Prompt:
    """``prompts/<name>.md``."""
    path = data_dir("prompts") / f"{name}.md"
    try:
        return Prompt(name, path.read_text(encoding="utf-8"))
    except OSError as e:
        raise DataFileError(f"{path}: prompt {unreadable(e)}") from None


@cache
def script() -> dict[str, Any]:
    """``prompts/script.yaml``: the lines the interviewer speaks from the script."""
    path = data_dir("prompts") / "script.yaml"
    data = read_yaml(path)
    for key in ("openers", "transitions", "no_fact", "no_fact_part", "closing", "drill_closing",
                "offline_banner", "encoder_missing", "hint_followup"):
        if not isinstance(data, dict) or key not in data:
            raise DataFileError(f"{path}: missing field {key!r}")
    hints = data["hint_followup"]
    for kind in ("gap", "deepen", "challenge"):  # what a model-written follow-up falls back on
        if not isinstance(hints, dict) or not isinstance(hints.get(kind), str):
            raise DataFileError(f"{path}: field 'hint_followup.{kind}' must be a line of text")
    return data  # type: ignore[no-any-return]


def clarify_budget(limit: int) -> str:
    """The line that says, as a full interview starts, how many clarifying questions it takes
    (``script.yaml`` ``clarify_pacing.budget``): said by the graph and printed by the terminal
    before the graph loads."""
    return str(script()["clarify_pacing"]["budget"]).format(n=limit)


def script_version() -> str:
    path = data_dir("prompts") / "script.yaml"
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _question_lists(name: str, keyed_by: str, label: str,
                    empty_ok: bool) -> dict[str, tuple[str, ...]]:
    """``prompts/<name>.yaml``: a mapping of ``keyed_by`` to a non-empty list of questions, each
    stripped; a bad entry is refused naming it (``label`` and its key)."""
    path = data_dir("prompts") / f"{name}.yaml"
    data = read_yaml(path)
    if not isinstance(data, dict) or not (data or empty_ok):
        raise DataFileError(f"{path}: expected a mapping of {keyed_by} to a list of questions")
    out: dict[str, tuple[str, ...]] = {}
    for key, texts in data.items():
        if not isinstance(texts, list) or not texts or not all(
                isinstance(t, str) and t.strip() for t in texts):
            raise DataFileError(f"{path}: {label} {key!r}: expected a non-empty list of "
                                f"questions")
        out[str(key)] = tuple(t.strip() for t in texts)
    return out


@cache
def fact_asks() -> dict[str, tuple[str, ...]]:
    """``prompts/fact_asks.yaml``: example questions, in everyday words, for the facts most
    cases share (by fact id). Offline clarify recognises a fact by them too."""
    return _question_lists("fact_asks", "fact id", "field", empty_ok=True)


@cache
def clarify_offsheet() -> tuple[str, ...]:
    """``prompts/clarify_offsheet.yaml``: wordings of subjects no case's fact sheet answers
    (headcount, a project budget, a region, vendors, ...), all subjects together: offline
    clarify's negative references (agent/clarify/select.py, :func:`off_sheet`)."""
    subjects = _question_lists("clarify_offsheet", "subject", "subject", empty_ok=False)
    return tuple(t for texts in subjects.values() for t in texts)


@cache
def clarify_words() -> dict[str, tuple[str, tuple[str, ...]]]:
    """``prompts/clarify_words.yaml``: everyday phrases (``says``, keyword patterns) for the
    things fact sheets talk about, and the words (``means``) offline clarify adds to a
    question that uses one before matching it by meaning. Concept name -> (means, says)."""
    return concepts("clarify_words")


@cache
def scoring_words() -> dict[str, tuple[str, tuple[str, ...]]]:
    """``prompts/scoring_words.yaml``: everyday phrases (``says``) for the things rubric
    signals name in the trade's words, and those words (``means``), which the offline scorer
    reads beside a sentence that uses one (agent/semantic/reading.py). Concept name ->
    (means, says)."""
    return concepts("scoring_words")


@cache
def concepts_version(name: str) -> str:
    path = data_dir("prompts") / f"{name}.yaml"
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _entry(where: str, entry: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """One item of a concept or intent file: a mapping with exactly ``fields``."""
    named = " and ".join(repr(f) for f in fields)
    if not isinstance(entry, dict):
        raise DataFileError(f"{where}: expected the fields {named}")
    extra = sorted(str(k) for k in entry if k not in fields)
    if extra:
        raise DataFileError(f"{where}: unknown field {extra[0]!r} (fields: {', '.join(fields)})")
    missing = [f for f in fields if f not in entry]
    if missing:
        raise DataFileError(f"{where}: field {missing[0]!r} is missing")
    return entry


def _phrases(where: str, field: str, items: Any) -> tuple[str, ...]:
    """A field holding a non-empty list of keyword patterns (agent/signals.py syntax), each
    compiled to check it."""
    from agent.signals import compile_pattern

    if not isinstance(items, list) or not items or not all(
            isinstance(s, str) and s.strip() for s in items):
        raise DataFileError(f"{where}: field {field!r}: expected a non-empty list of phrases")
    for s in items:
        try:
            compile_pattern(s)
        except re.error as e:
            raise DataFileError(f"{where}: field {field!r}: {s!r} is not a valid pattern: "
                                f"{e}") from None
    return tuple(s.strip() for s in items)


def concepts(name: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """``prompts/<name>.yaml``: a mapping of concept to ``means`` (words) and ``says`` (keyword
    patterns, agent/signals.py syntax), validated; DataFileError names the file and concept."""
    path = data_dir("prompts") / f"{name}.yaml"
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise DataFileError(f"{path}: expected a mapping of concept to its means and says")
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for concept, entry in data.items():
        where = f"{path}: concept {concept!r}"
        fields = _entry(where, entry, ("means", "says"))
        means = fields["means"]
        if not isinstance(means, str) or not means.strip():
            raise DataFileError(f"{where}: field 'means': expected words")
        out[str(concept)] = (means.strip(), _phrases(where, "says", fields["says"]))
    return out


@cache
def clarify_intents() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """``prompts/clarify_intents.yaml``: the kinds of answer a clarifying question can want
    (a count, a duration, money, a person, a date, a share), each with the question words that
    ask for it (``asks``) and the words of a fact's answer that give it (``gives``), keyword
    patterns both. Kind -> (asks, gives)."""
    path = data_dir("prompts") / "clarify_intents.yaml"
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise DataFileError(f"{path}: expected a mapping of answer kind to its asks and gives")
    out: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for kind, entry in data.items():
        where = f"{path}: kind {kind!r}"
        fields = _entry(where, entry, ("asks", "gives"))
        out[str(kind)] = (_phrases(where, "asks", fields["asks"]),
                          _phrases(where, "gives", fields["gives"]))
    return out


def _fact_refs(path: Path) -> Iterator[tuple[str, str]]:
    """The fact ids a prompt data file names, each with where: ``fact_asks.yaml`` is keyed by
    fact id; each dimension of ``premises.yaml`` lists its fact ids under ``facts``. A file that
    is missing or malformed names nothing here: its own loader reports that when it is read."""
    if not path.is_file():
        return
    data = read_yaml(path)
    if not isinstance(data, dict):
        return
    if path.name == "fact_asks.yaml":
        for fid in data:
            yield str(fid), f"key {str(fid)!r}"
    elif path.name == "premises.yaml":
        for name, entry in data.items():
            facts = entry.get("facts") if isinstance(entry, dict) else None
            for fid in facts if isinstance(facts, list) else ():
                yield str(fid), f"dimension {name!r}: field 'facts' names {str(fid)!r}"


#: The prompt data files that name facts by id (checked against the cases by
#: :func:`check_fact_ids`).
FACT_ID_FILES = ("fact_asks.yaml", "premises.yaml")


def check_fact_ids(cases: Iterable[Case], cases_dir: Path, also: Iterable[str] = ()) -> None:
    """Refuse a prompt data file naming a fact id that no case has (a typo such as ``scael``
    would otherwise be silently ignored): DataFileError names the file, the key, the cases
    folder and the closest fact id there is. ``also``: more fact ids to accept (those of case
    files that do not load, which are reported on their own)."""
    known = sorted({f.id for c in cases for f in c.facts} | set(also))
    for name in FACT_ID_FILES:
        path = data_dir("prompts") / name
        for fid, where in _fact_refs(path):
            if fid in known:
                continue
            raise DataFileError(f"{path}: {where}: no case has a fact with id {fid!r} (fact "
                                f"ids are those of the cases in {cases_dir})"
                                f"{did_you_mean(fid, known)}")
