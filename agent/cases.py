"""Interview cases: the prompt read out, the fact sheet clarify answers come from, and notes
on strong answers (for the judge and coach mode; never shown during an interview)."""

from __future__ import annotations

import re
import sys
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from agent.datafile import DataFileError, did_you_mean, load_model, needs_compiling, read_yaml
from agent.paths import data_dir
from agent.signals import compile_pattern
from agent.steps import STEPS

NonEmpty = Annotated[str, Field(min_length=1)]
CASE_ID = r"^[a-z0-9][a-z0-9-]{1,63}$"


class Fact(BaseModel):
    """One thing the interviewer knows and tells only when asked about it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
    topic: NonEmpty
    asks: Annotated[list[Annotated[str, Field(min_length=1, max_length=300)]],
                    Field(max_length=12)] = []
    """A few questions, in our own everyday words, that ask for this fact: offline clarify
    matches a question to them by meaning (agent/clarify/select.py). Ignored on a clue: a clue is
    told only to a question that names it by its own words."""
    plainly: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    """What the fact is about, said in everyday words (a sentence or two written from its topic
    and answer alone), so a plain-words question ("Do they lose money on each request?") has
    something in its own register to match (agent/clarify/select.py). Authored text, like
    ``asks``; refused on a clue (a clue is told only to a question in its own words)."""
    keywords: Annotated[list[NonEmpty], Field(min_length=1)]
    """Patterns (see agent/signals.py) a question must use to be asking about this fact."""
    answer: NonEmpty
    clue: StrictBool = False
    """A clue gives away a root cause the candidate is meant to find in diagnose. It is revealed
    only to a question that asks about this fact directly, never as a side effect of a broader
    question that happens to touch it ("Can we change their prompts?" must not reveal that every
    prompt shares a 1,500-token prefix). Strict: a YAML boolean, not a string ("true") or 1."""

    @model_validator(mode="after")
    def _no_plain_words_for_a_clue(self) -> Fact:
        if self.clue and self.plainly is not None:
            raise ValueError("a clue fact takes no 'plainly' description: a clue is told only "
                             "to a question that asks for it in its own words")
        return self

    @field_validator("keywords")
    @classmethod
    def _patterns_compile(cls, v: list[str]) -> list[str]:
        for p in v:
            if not needs_compiling(p):
                continue
            try:
                compile_pattern(p)
            except re.error as e:
                raise ValueError(f"keyword pattern {p!r} is not valid: {e}") from None
        return v


class CriterionUse(BaseModel):
    """How one rubric criterion applies to a case (``criteria:`` in a case file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    applies: bool = True
    """False: left out of this case's scores, feedback and practice items."""
    weight: Annotated[float, Field(gt=0, le=10)] | None = None
    """Replaces the rubric's weight for this case."""
    why: str | None = None
    """Shown in the report next to what was left out or reweighted."""


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=CASE_ID)]
    title: NonEmpty
    difficulty: Literal["easy", "medium", "hard"]
    themes: list[NonEmpty] = []
    prompt: NonEmpty
    facts: Annotated[list[Fact], Field(min_length=6)]
    strong_answer: dict[str, Annotated[list[NonEmpty], Field(min_length=1)]]
    max_clarify_turns: Annotated[int, Field(ge=1, le=30)] = 8
    minutes: dict[str, Annotated[int, Field(ge=1, le=60)]] = {}
    """Suggested minutes per step for this case (time-boxing); a step not named here takes the
    default of agent/practice/timebox.py."""
    criteria: dict[Annotated[str, Field(pattern=r"^[a-z_]+\.[a-z0-9_]+$")], CriterionUse] = {}
    """Criteria that do not apply to this case, or weigh differently (by criterion id)."""

    @model_validator(mode="after")
    def _check(self) -> Case:
        ids = [f.id for f in self.facts]
        dup = next((i for i in ids if ids.count(i) > 1), None)
        if dup:
            raise ValueError(f"duplicate fact id {dup!r}")
        missing = [s for s in STEPS if s not in self.strong_answer]
        if missing:
            raise ValueError(f"strong_answer has no notes for step {missing[0]!r}")
        extra = [s for s in self.strong_answer if s not in STEPS]
        if extra:
            raise ValueError(f"strong_answer names unknown step {extra[0]!r}")
        extra = [s for s in self.minutes if s not in STEPS]
        if extra:
            raise ValueError(f"minutes names unknown step {extra[0]!r}")
        return self

    def fact(self, fid: str) -> Fact:
        for f in self.facts:
            if f.id == fid:
                return f
        raise KeyError(fid)


def load_case(path: Path) -> Case:
    case = load_model(path, Case, item_key="facts")
    if case.id != path.stem:
        raise DataFileError(f"{path}: field 'id' is {case.id!r} but the file is {path.stem}.yaml")
    if case.criteria:
        from agent.rubrics import default_rubrics

        rubrics = default_rubrics()
        known = {c.id for r in rubrics.rubrics.values() for c in r.criteria}
        for cid, use in case.criteria.items():
            if cid not in known:
                raise DataFileError(f"{path}: field 'criteria' names {cid!r}, which no rubric "
                                    f"has (see rubrics/*.yaml for the criterion ids)"
                                    f"{did_you_mean(cid, known)}")
            step = rubrics[cid.split(".")[0]]
            if not use.applies and all(
                    not case.criteria.get(c.id, CriterionUse()).applies for c in step.criteria):
                raise DataFileError(f"{path}: field 'criteria' leaves no criterion of step "
                                    f"{step.step!r} that applies")
    return case


def load_cases(directory: Path | None = None) -> dict[str, Case]:
    """Every case in the directory, sorted by id. Raises DataFileError on the first bad file."""
    directory = directory or data_dir("cases")
    cases = {}
    for path in sorted(directory.glob("*.yaml")):
        case = load_case(path)
        cases[case.id] = case
    if not cases:
        raise DataFileError(f"{directory}: no case files (*.yaml)")
    return cases


def load_cases_leniently(directory: Path) -> tuple[dict[str, Case], dict[str, DataFileError]]:
    """(the cases that load, by id; the files that do not, by file name without .yaml, with
    their error). One broken file (a new case with ``difficulty: mediumish``) leaves the other
    cases usable. DataFileError when no case loads: the first broken file's error, or "no case
    files"."""
    cases: dict[str, Case] = {}
    broken: dict[str, DataFileError] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            case = load_case(path)
        except DataFileError as e:
            broken[path.stem] = e
            continue
        cases[case.id] = case
    if not cases:
        if broken:
            raise next(iter(broken.values()))
        raise DataFileError(f"{directory}: no case files (*.yaml)")
    return cases, broken


def _raw_fact_ids(path: Path) -> list[str]:
    """The fact ids a case file names, read without validating it (for a broken file, so a
    prompt data file naming one of its facts is not refused for that)."""
    try:
        data = read_yaml(path)
    except DataFileError:
        return []
    facts = data.get("facts") if isinstance(data, dict) else None
    return [str(f["id"]) for f in facts if isinstance(f, dict) and "id" in f] if isinstance(
        facts, list) else []


_BROKEN: dict[str, DataFileError] = {}
_WARNED: set[str] = set()


@cache
def default_cases() -> dict[str, Case]:
    """The cases of the cases folder (INTERVIEWER_CASES or the project's) that load, checked
    against the prompt data files that name their facts by id (agent.prompts.check_fact_ids).
    A case file that does not load is left out: :func:`broken_cases` lists them,
    :func:`warn_broken` prints them and :func:`get_case` raises the file's error for one."""
    from agent.prompts import check_fact_ids

    directory = data_dir("cases")
    cases, broken = load_cases_leniently(directory)
    _BROKEN.clear()
    _BROKEN.update(broken)
    check_fact_ids(cases.values(), directory, also=[
        fid for stem in broken for fid in _raw_fact_ids(directory / f"{stem}.yaml")])
    _WARNED.clear()
    return cases


def warn_broken() -> None:
    """Print each case file that does not load as a warning on stderr naming the file and the
    field, once per process (:func:`get_case` does when it returns another case, and the
    servers when they start). A command that names the broken case gets its error instead, as
    one line."""
    for stem, err in broken_cases().items():
        if stem not in _WARNED:
            _WARNED.add(stem)
            sys.stderr.write(f"interviewer: warning: case {stem!r} left out: {err}\n")


def broken_cases() -> dict[str, DataFileError]:
    """The case files of the cases folder that do not load (file name without .yaml -> the
    error naming the file and the field)."""
    default_cases()
    return dict(_BROKEN)


class UnknownCase(LookupError):
    pass


def get_case(case_id: str) -> Case:
    """The case; UnknownCase for an id no file has, and the file's DataFileError for a case
    whose file does not load (its validation is as strict as ever)."""
    cases = default_cases()
    if case_id not in cases:
        if case_id in _BROKEN:
            raise _BROKEN[case_id]
        raise UnknownCase(
            f"unknown case {case_id!r}; run 'interviewer cases' to list them "
            f"({', '.join(sorted(cases))})"
        )
    warn_broken()
    return cases[case_id]
