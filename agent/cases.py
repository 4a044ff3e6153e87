"""Interview cases: the prompt read out, the fact sheet clarify answers come from, and notes
on strong answers (for the judge and coach mode; never shown during an interview)."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from agent.datafile import (
    DataFileError,
    closest,
    describe_each,
    did_you_mean,
    needs_compiling,
    read_yaml,
)
from agent.paths import data_dir
from agent.signals import compile_pattern
from agent.steps import STEPS

NonEmpty = Annotated[str, Field(min_length=1)]
CASE_ID = r"^[a-z0-9][a-z0-9-]{1,63}$"
#: The fewest facts a case's fact sheet may have.
MIN_FACTS = 6


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

    dismissed: Annotated[list[NonEmpty], Field(max_length=12)] = []
    """Clue facts only: patterns (as ``keywords``) that name this cause when a candidate waves
    it away in diagnose or prioritize ("Memory isn't the issue"), beside the keywords. Broader
    than the keywords, which decide what a clarifying question asks for: "memory" alone would
    tell the KV-cache clue to "How much memory do the GPUs have?", but dismissing memory in a
    case whose cause is the KV cache is still a wrong call (agent/semantic/calls.py,
    ``dismisses_clue``)."""

    @model_validator(mode="after")
    def _no_plain_words_for_a_clue(self) -> Fact:
        if self.clue and self.plainly is not None:
            raise ValueError("a clue fact takes no 'plainly' description: a clue is told only "
                             "to a question that asks for it in its own words")
        if self.dismissed and not self.clue:
            raise ValueError("'dismissed' is for clue facts only: it names a cause the facts "
                             "point to when a candidate waves it away")
        return self

    @field_validator("keywords", "dismissed")
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


class CaseProblems(ValueError):
    """What is wrong with a case as a whole, each problem with where in the file it is."""

    def __init__(self, found: list[tuple[str, tuple[Any, ...]]]) -> None:
        super().__init__("; ".join(text for text, _ in found))
        self.found = found


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=CASE_ID)]
    title: NonEmpty
    difficulty: Literal["easy", "medium", "hard"]
    themes: list[NonEmpty] = []
    prompt: NonEmpty
    facts: Annotated[list[Fact], Field(min_length=MIN_FACTS)]
    strong_answer: dict[str, Annotated[list[NonEmpty], Field(min_length=1)]]
    max_clarify_turns: Annotated[int, Field(ge=1, le=30)] = 8
    minutes: dict[str, Annotated[int, Field(ge=1, le=60)]] = {}
    """Suggested minutes per step for this case (time-boxing); a step not named here takes the
    default of agent/practice/timebox.py."""
    criteria: dict[Annotated[str, Field(pattern=r"^[a-z_]+\.[a-z0-9_]+$")], CriterionUse] = {}
    """Criteria that do not apply to this case, or weigh differently (by criterion id)."""

    @model_validator(mode="after")
    def _check(self) -> Case:
        problems: list[tuple[str, tuple[Any, ...]]] = []
        seen: set[str] = set()
        for i, f in enumerate(self.facts):
            if f.id in seen:
                problems.append((f"duplicate fact id {f.id!r}", ("facts", i, "id")))
            seen.add(f.id)
        meant = set()  # steps an unknown key most likely misspells: not also reported missing
        for field in ("strong_answer", "minutes"):
            for key in getattr(self, field):
                if key not in STEPS:
                    meant.add(closest(key, STEPS))
                    problems.append((f"{field} names unknown step {key!r} (the steps: "
                                     f"{', '.join(STEPS)}){did_you_mean(key, STEPS)}",
                                     (field, key)))
        problems += [(f"strong_answer has no notes for step {s!r}", ("strong_answer",))
                     for s in STEPS if s not in self.strong_answer and s not in meant]
        if problems:
            raise CaseProblems(problems)
        return self

    def fact(self, fid: str) -> Fact:
        for f in self.facts:
            if f.id == fid:
                return f
        raise KeyError(fid)

    @property
    def shown(self) -> tuple[str, str]:
        """What every candidate is shown before any question: the title and the prompt. Their
        figures ("128k" of "an MoE, 128k-context model family") are given, never a fact the
        candidate was not told."""
        return self.title, self.prompt


#: Words that ask for a kind of answer (a share, a degree, urgency, a multiple, a period, money
#: in general, a count of people), not for a subject: a fact keyed by one of them alone is told
#: to any question asking for that kind of answer ("How many people write to support?" got the
#: traffic figures through "how many people"; evals/README.md, "A fact's keywords name its
#: subject").
ANSWER_KIND_ONLY = frozenset({
    "urgen*", "urgent", "what share", "what percent", "what percent*", "how bad", "how much is",
    "money", "in numbers", "double", "twice", "two times", "cost of", "cost per", "a month",
    "per month", "how many people"})
#: What-they-pay questions as plain phrases: they also match "pay their card processor", so they
#: are written as guarded patterns ("re:...(?!\s+(?:their|to|...))").
UNGUARDED_PAY = re.compile(r"^(how much|what) (do|are|would|will) (they|customers) pay")


def keyword_warnings(case: Case) -> list[str]:
    """What a case's fact keywords do that the clarify rules advise against (shown by
    ``interviewer cases``; the shipped cases have none): a keyword that names only a kind of
    answer, a what-they-pay phrase without a guard, and "revenue" on a fact whose answer names
    no money."""
    out = []
    for f in case.facts:
        for k in f.keywords:
            if k in ANSWER_KIND_ONLY:
                out.append(f"fact {f.id!r}: keyword {k!r} names a kind of answer, not a subject: "
                           "any question asking for that kind of answer would get this fact")
            elif UNGUARDED_PAY.match(k):
                out.append(f"fact {f.id!r}: keyword {k!r} also matches 'pay their card "
                           "processor': write it as a pattern that refuses what follows "
                           "(see the revenue keywords of the shipped cases)")
        if "revenue" in f.keywords and not re.search(r"revenue|dollars|\$", f.answer):
            out.append(f"fact {f.id!r}: keyword 'revenue' belongs to the fact that says what money "
                       "comes in, and this fact's answer names none")
    return out


def load_case(path: Path) -> Case:
    """One case file, validated. DataFileError names the file and every problem in it at once
    (each with its line where the file says it), in one line."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise DataFileError(f"{path}: expected a mapping at the top level")
    try:
        case = Case.model_validate(data)
    except ValidationError as e:
        found: list[tuple[str, tuple[Any, ...]]] = []
        for error, described in zip(e.errors(), describe_each(
                data, e, "facts", fields=_FIELDS, plain=_PLAIN_TYPES), strict=True):
            whole = (error.get("ctx") or {}).get("error")
            if error["type"] == "too_short" and error["loc"] == ("facts",):
                have = len(data["facts"]) if isinstance(data.get("facts"), list) else 0
                described = (f"field 'facts': a case needs at least {MIN_FACTS} facts (this one "
                             f"has {have})", ("facts",))
            found += whole.found if isinstance(whole, CaseProblems) else [described]
        raise DataFileError(_problems(path, data, found)) from None
    problems: list[tuple[str, tuple[Any, ...]]] = []
    if case.id != path.stem:
        problems.append((f"field 'id' is {case.id!r} but the file is {path.stem}.yaml",
                         ("id",)))
    if case.criteria:
        from agent.rubrics import default_rubrics

        rubrics = default_rubrics()
        known = {c.id for r in rubrics.rubrics.values() for c in r.criteria}
        for cid, use in case.criteria.items():
            if cid not in known:
                problems.append((f"field 'criteria' names {cid!r}, which no rubric has (see "
                                 f"rubrics/*.yaml for the criterion ids)"
                                 f"{did_you_mean(cid, known)}", ("criteria", cid)))
                continue
            step = rubrics[cid.split(".")[0]]
            if not use.applies and all(
                    not case.criteria.get(c.id, CriterionUse()).applies for c in step.criteria):
                problem = f"field 'criteria' leaves no criterion of step {step.step!r} that applies"
                if problem not in [p for p, _ in problems]:
                    problems.append((problem, ("criteria",)))
    if problems:
        raise DataFileError(_problems(path, data, problems))
    return case


#: Field names of the case file's mappings, for "unknown field 'fact'; did you mean 'facts'?".
_FIELDS = {(): tuple(Case.model_fields), ("facts", int): tuple(Fact.model_fields),
           ("criteria", str): tuple(CriterionUse.model_fields)}

#: Plain sentences for pydantic's "Input should be a valid dictionary or instance of X".
_PLAIN_TYPES = {
    "CriterionUse": "expected a mapping of 'applies', 'weight' and 'why' (e.g. "
                    "{applies: false, why: ...} or {weight: 2})",
    "Fact": "expected a fact: a mapping of 'id', 'topic', 'keywords', 'answer' and the "
            "optional 'asks', 'plainly' and 'clue'",
}


def _problems(path: Path, data: Any, found: list[tuple[str, tuple[Any, ...]]]) -> str:
    """"PATH: problem (line N)" for one problem, "PATH: N problems: a (line N); b; ..." for
    more: each placed on the line of the deepest part of the file its location reaches."""
    lines = _lines(path)
    shown = [text + (f" (line {n})" if (n := lines(loc)) is not None else "")
             for text, loc in found]
    if len(shown) == 1:
        return f"{path}: {shown[0]}"
    return f"{path}: {len(shown)} problems: " + "; ".join(shown)


def _lines(path: Path) -> Callable[[tuple[Any, ...]], int | None]:
    """A function from a location in the file's data (keys and list indexes) to the line its
    deepest reachable node starts on (None for the file itself or when unknown)."""
    import yaml

    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        root = None

    def line(loc: tuple[Any, ...]) -> int | None:
        node, found = root, None
        for part in loc:
            nxt = None
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                        nxt = v
                        found = k.start_mark.line + 1
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and (
                    0 <= part < len(node.value)):
                nxt = node.value[part]
                found = nxt.start_mark.line + 1
            if nxt is None:
                break
            node = nxt
        return found

    return line


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
            if not str(e).startswith(f"{path}:"):
                raise  # another file's problem (a rubric a case's criteria are checked against)
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
