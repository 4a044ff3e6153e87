"""Rubrics: one YAML file per framework step plus ``cross_cutting.yaml``, loaded and validated once.

Each criterion carries four anchored levels (1 missing, 2 partial, 3 solid, 4 excellent), a
weight, the framework line it traces to, a non-leading probe for follow-ups, and the signal
groups the offline scorer looks for.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent.datafile import DataFileError, load_model, needs_compiling
from agent.paths import data_dir
from agent.signals import compile_pattern
from agent.steps import CROSS_CUTTING, STEPS

NonEmpty = Annotated[str, Field(min_length=1)]


class Criterion(BaseModel):
    """One thing a rubric looks for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[a-z_]+\.[a-z0-9_]+$")]
    name: NonEmpty
    looks_for: NonEmpty
    weight: Annotated[float, Field(gt=0, le=10)]
    important: bool = True
    trace: NonEmpty
    """The line of the interview framework this criterion comes from."""
    levels: dict[int, NonEmpty]
    examples: Annotated[list[NonEmpty], Field(min_length=1)]
    probe: NonEmpty
    """A targeted, non-leading follow-up asked when the criterion is unmet."""
    signals: Annotated[list[Annotated[list[NonEmpty], Field(min_length=1)]], Field(min_length=1)]
    thresholds: tuple[int, int, int] = (1, 2, 3)
    """Signal groups the offline scorer needs to reach levels 2, 3 and 4."""
    reasoned_rejections: bool = False
    """The criterion is about choosing: a negated mention counts when its sentence gives a
    reason or an alternative ("no custom kernels for one account; platform first"). Elsewhere a
    negated mention never counts."""
    asked: dict[str, Annotated[int, Field(ge=1)]] = {}
    """Clarify only: case fact ids (those every case has) and the signal group (counted from
    1) a question counts for when the interviewer's answer to it gave that fact: the
    interviewer understood it as asking about that ("Is anyone sitting there waiting for the
    answers?" got the workload fact, so it asked how the traffic arrives)."""

    @field_validator("levels")
    @classmethod
    def _four_levels(cls, v: dict[int, str]) -> dict[int, str]:
        missing = [k for k in (1, 2, 3, 4) if k not in v]
        if missing:
            raise ValueError(f"no level {missing[0]} descriptor (levels 1-4 are all required)")
        extra = sorted(k for k in v if k not in (1, 2, 3, 4))
        if extra:
            raise ValueError(f"level {extra[0]} is out of range (levels are 1-4)")
        return v

    @field_validator("signals")
    @classmethod
    def _patterns_compile(cls, v: list[list[str]]) -> list[list[str]]:
        for group in v:
            for p in group:
                if not needs_compiling(p):
                    continue
                try:
                    compile_pattern(p)
                except re.error as e:
                    raise ValueError(f"signal pattern {p!r} is not valid: {e}") from None
        return v

    @model_validator(mode="after")
    def _thresholds_fit(self) -> Criterion:
        t = self.thresholds
        if not (1 <= t[0] <= t[1] <= t[2]):
            raise ValueError("thresholds must be ascending and at least 1")
        if t[2] > len(self.signals):
            raise ValueError(
                f"thresholds ask for {t[2]} signal groups but only {len(self.signals)} exist"
            )
        for fact, group in self.asked.items():
            if group > len(self.signals):
                raise ValueError(f"asked: {fact!r} names signal group {group}, but only "
                                 f"{len(self.signals)} exist")
        return self


class Rubric(BaseModel):
    """The criteria for one step (or the cross-cutting ones)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    step: NonEmpty
    title: NonEmpty
    weight: Annotated[float, Field(gt=0, le=10)]
    """The step's weight in the overall score."""
    criteria: Annotated[list[Criterion], Field(min_length=1)]

    @model_validator(mode="after")
    def _ids(self) -> Rubric:
        seen: set[str] = set()
        for c in self.criteria:
            if c.id in seen:
                raise ValueError(f"duplicate criterion id {c.id!r}")
            seen.add(c.id)
            if c.id.split(".")[0] != self.step:
                raise ValueError(f"criterion {c.id!r} must start with '{self.step}.'")
            if c.asked and self.step != "clarify":
                raise ValueError(f"criterion {c.id!r}: field 'asked' is read in clarify only")
        return self

    def criterion(self, cid: str) -> Criterion:
        for c in self.criteria:
            if c.id == cid:
                return c
        raise KeyError(cid)


class RubricSet(BaseModel):
    """All rubrics, keyed by step, with the hash that versions them."""

    model_config = ConfigDict(frozen=True)

    rubrics: dict[str, Rubric]
    hashes: dict[str, str]

    def __getitem__(self, step: str) -> Rubric:
        return self.rubrics[step]

    @property
    def version(self) -> str:
        """One hash over every rubric file: changes when any of them does."""
        h = hashlib.sha256("".join(f"{k}:{v};" for k, v in sorted(self.hashes.items())).encode())
        return h.hexdigest()[:12]


def load_rubric(path: Path) -> Rubric:
    rubric = load_model(path, Rubric)
    if rubric.step != path.stem:
        raise DataFileError(f"{path}: field 'step' is {rubric.step!r} but the file is {path.stem}")
    return rubric


def load_rubrics(directory: Path | None = None) -> RubricSet:
    """Load every step's rubric and the cross-cutting one; all must be present and valid."""
    directory = directory or data_dir("rubrics")
    rubrics: dict[str, Rubric] = {}
    hashes: dict[str, str] = {}
    for step in (*STEPS, CROSS_CUTTING):
        path = directory / f"{step}.yaml"
        if not path.is_file():
            raise DataFileError(f"{path}: missing (every step needs a rubric file)")
        rubrics[step] = load_rubric(path)
        hashes[step] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return RubricSet(rubrics=rubrics, hashes=hashes)


@cache
def default_rubrics() -> RubricSet:
    """The project's rubrics, loaded once per process."""
    return load_rubrics()
