"""Recorded interviews with human labels (JSONL; the format is documented in evals/README.md).

Loading validates every line and fails on the first bad one with the file, the line number and
what is wrong. Strict on purpose: a level must be a JSON integer 1-4 (not "3", 3.0 or true,
which would otherwise be coerced -- true silently became 1), every turn's text must be non-empty,
an interview needs at least one candidate turn (else there is nothing to score) and at least one
rater's labels (else there is nothing to agree with), and a rater must label something.
A dataset's hash (of its bytes) is recorded with every result.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator

from agent.cases import broken_cases, default_cases
from agent.datafile import did_you_mean, plain_message, unreadable
from agent.rubrics import RubricSet, default_rubrics
from agent.steps import CROSS_CUTTING, STEPS

Level = Annotated[StrictInt, Field(ge=1, le=4)]  # strict: no "3", 3.0 or true
MAX_DATASET_BYTES = 20 * 1024 * 1024
SCORED = (*STEPS, CROSS_CUTTING)


class DatasetError(ValueError):
    """``str()`` is one line: file, line number and the problem."""


class RecordedTurn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["interviewer", "candidate"]
    step: Literal["clarify", "diagnose", "goals", "prioritize", "solutions", "validate",
                  "wrap_up"]
    text: str


class Labels(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rater: Annotated[str, Field(min_length=1)]
    steps: dict[str, Level] = {}
    criteria: dict[str, Level] = {}

    @field_validator("steps")
    @classmethod
    def _known_steps(cls, v: dict[str, int]) -> dict[str, int]:
        bad = [k for k in v if k not in SCORED]
        if bad:
            raise ValueError(f"unknown step {bad[0]!r}")
        return v


class Interview(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(min_length=1)]
    case: str
    turns: Annotated[list[RecordedTurn], Field(min_length=1)]
    labels: list[Labels] = []
    meta: dict[str, Any] = {}

    def answers(self, step: str) -> list[str]:
        """The candidate's words in one step ('cross_cutting': the whole interview)."""
        return [t.text for t in self.turns if t.role == "candidate"
                and (step == CROSS_CUTTING or t.step == step)]

    def raters(self) -> list[str]:
        return [lab.rater for lab in self.labels]


class Dataset(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    sha256: str
    interviews: list[Interview]

    @property
    def name(self) -> str:
        return Path(self.path).stem


def describe_problem(err: ValidationError) -> str:
    """The first validation error, as 'field 'a.b': message' or a missing/unknown field."""
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    if first["type"] == "missing":
        return f"missing field {loc!r}"
    if first["type"] == "extra_forbidden":
        return f"unknown field {loc!r}"
    msg = plain_message(first)  # without pydantic's "Value error, "
    return f"field {loc!r}: {msg}" if loc else msg


def _content_problem(item: Interview) -> str | None:
    """What the schema cannot say: empty text, nothing to score, nothing to agree with."""
    for k, turn in enumerate(item.turns):
        if not turn.text.strip():
            return f"field 'turns.{k}.text': empty {turn.role} text"
    if not any(t.role == "candidate" for t in item.turns):
        return "field 'turns': no candidate turn (nothing to score)"
    if not item.labels:
        return ("field 'labels': no rater's labels (an unlabelled interview has nothing to "
                "agree with; leave it out of the dataset)")
    for k, lab in enumerate(item.labels):
        if not lab.steps and not lab.criteria:
            return f"field 'labels.{k}': rater {lab.rater!r} labels no step and no criterion"
    return None


def load_dataset(path: Path, rubrics: RubricSet | None = None) -> Dataset:
    """Load and validate a dataset; raise DatasetError naming the first bad line."""
    rubrics = rubrics or default_rubrics()
    cases = default_cases()
    criteria = {c.id for r in rubrics.rubrics.values() for c in r.criteria}
    raw, lines = read_jsonl(path)
    interviews: list[Interview] = []
    seen: dict[str, int] = {}
    for n, data in lines:
        where = f"{path}:{n}"
        try:
            item = Interview.model_validate(data)
        except ValidationError as e:
            raise DatasetError(f"{where}: {describe_problem(e)}") from None
        if item.id in seen:
            raise DatasetError(f"{where}: duplicate id {item.id!r} (first on line {seen[item.id]})")
        seen[item.id] = n
        if item.case not in cases:
            broken = broken_cases().get(item.case)
            if broken is not None:
                raise DatasetError(f"{where}: case {item.case!r} does not load: {broken}")
            raise DatasetError(f"{where}: unknown case {item.case!r}"
                               f"{did_you_mean(item.case, cases)}")
        for lab in item.labels:
            unknown = [c for c in lab.criteria if c not in criteria]
            if unknown:
                raise DatasetError(f"{where}: rater {lab.rater!r} labels unknown criterion "
                                   f"{unknown[0]!r}{did_you_mean(unknown[0], criteria)}")
        raters = item.raters()
        if len(set(raters)) != len(raters):
            raise DatasetError(f"{where}: rater listed twice in labels")
        problem = _content_problem(item)
        if problem:
            raise DatasetError(f"{where}: {problem}")
        interviews.append(item)
    if not interviews:
        raise DatasetError(f"{path}: no interviews")
    return Dataset(path=str(path), sha256=hashlib.sha256(raw).hexdigest(),
                   interviews=interviews)


def read_jsonl(path: Path) -> tuple[bytes, list[tuple[int, dict[str, Any]]]]:
    """A JSONL file's bytes (to hash) and its objects with their line numbers, blank lines
    skipped. DatasetError names the file (and line) when it is missing, too big, not UTF-8, not
    JSON or not an object per line. Shared by the JSONL datasets under evals/."""
    try:
        size = path.stat().st_size
    except OSError as e:
        raise DatasetError(f"{path}: {unreadable(e)}") from None
    if not path.is_file():
        raise DatasetError(f"{path}: not a file (a dataset is one .jsonl file)")
    if size > MAX_DATASET_BYTES:
        raise DatasetError(f"{path}: {size / 1e6:.0f} MB is over the "
                           f"{MAX_DATASET_BYTES // 2**20} MB dataset limit; split the file")
    raw = path.read_bytes()
    out: list[tuple[int, dict[str, Any]]] = []
    for n, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            data = json.loads(line)
        except UnicodeDecodeError:
            raise DatasetError(f"{where}: not UTF-8 text") from None
        except json.JSONDecodeError as e:
            raise DatasetError(f"{where}: invalid JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(data, dict):
            raise DatasetError(f"{where}: expected a JSON object per line")
        out.append((n, data))
    return raw, out
