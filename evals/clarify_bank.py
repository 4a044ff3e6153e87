"""The clarifying-question bank: questions a candidate might ask in clarify, each labelled with
the fact ids it asks about (JSONL; the format is documented in evals/README.md).

It measures how a matcher answers clarifying questions by meaning: which facts it reveals
(precision and recall against ``expect``), whether it leaks a clue fact to a question that did
not ask for it, and whether it says "make an assumption" when the sheet cannot answer. The labels
were written from the fact sheets alone, by meaning, never from what any matcher answered.

Loading is strict and fails on the first bad line with the file, the line number and the field:
every ``case`` exists, every ``expect`` id is a fact of that case, ids are unique, and each
``kind`` keeps its promise (an off-sheet question or a statement expects nothing; a clue-direct
question expects a clue; a clue-side question expects no clue and names the clue it brushes
against in ``touches``). ``load_splits`` also checks that the dev and held-out files share no id
and no question.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

from agent.cases import Case, default_cases
from agent.commands import MAX_ANSWER_CHARS
from evals.dataset import DatasetError, describe_problem, read_jsonl

DATASETS = Path(__file__).resolve().parent / "datasets"
#: The shipped splits. Held-out is never tuned on: report it separately.
SPLITS: dict[str, Path] = {"dev": DATASETS / "clarify-dev.jsonl",
                           "heldout": DATASETS / "clarify-heldout.jsonl"}
#: A message of clarify is bounded as the interviewer bounds any answer: recorded candidates'
#: play-backs of their assumptions run past a thousand characters.
MAX_QUESTION_CHARS = MAX_ANSWER_CHARS

Kind = Literal["direct", "paraphrased", "plain_words", "compound", "off_sheet", "clue_side",
               "clue_direct", "statement"]
#: What each kind means (also the order reports list them in).
KINDS: dict[str, str] = {
    "direct": "names the topic plainly",
    "paraphrased": "same meaning, none of the obvious words",
    "plain_words": "an outsider's everyday words",
    "compound": "two or three questions in one message, maybe with a statement between",
    "off_sheet": "plausible, but the fact sheet cannot answer it",
    "clue_side": "a broader question that touches a clue only as a side effect",
    "clue_direct": "asks for a clue fact directly",
    "statement": "asks nothing: an assumption, an acknowledgement or a playback",
}
_EMPTY_KINDS = {"off_sheet", "statement"}
_PLAIN_KINDS = {"direct", "paraphrased", "plain_words"}


class BankQuestion(BaseModel):
    """One labelled clarifying question."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
    case: str
    question: Annotated[str, Field(min_length=1, max_length=MAX_QUESTION_CHARS)]
    expect: list[str]
    """The fact ids the question asks about, exactly those; [] when the sheet cannot answer it
    or when the message asks nothing."""
    kind: Kind
    touches: list[str] = []
    """clue_side only: the clue fact(s) the question brushes against without asking for them
    (so a leak can be reported per clue)."""
    ends_clarify: StrictBool = False
    """statement only: the message states assumptions, so clarify may move on."""
    note: str = ""

    @field_validator("question")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("blank question")
        return v

    @field_validator("expect", "touches")
    @classmethod
    def _no_repeats(cls, v: list[str]) -> list[str]:
        dup = next((x for x, k in Counter(v).items() if k > 1), None)
        if dup is not None:
            raise ValueError(f"{dup!r} is listed twice")
        return v


class ClarifyBank(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    sha256: str
    questions: list[BankQuestion]

    @property
    def name(self) -> str:
        return Path(self.path).stem

    def by_case(self) -> dict[str, list[BankQuestion]]:
        out: dict[str, list[BankQuestion]] = {}
        for q in self.questions:
            out.setdefault(q.case, []).append(q)
        return out


def _kind_problem(q: BankQuestion, case: Case) -> str | None:
    """What the schema cannot say: ids that are not facts of the case, and kinds that break
    their promise. Returns "field 'x': ..." or None."""
    facts = [f.id for f in case.facts]
    clues = {f.id for f in case.facts if f.clue}
    for field, ids in (("expect", q.expect), ("touches", q.touches)):
        bad = [i for i in ids if i not in facts]
        if bad:
            return (f"field {field!r}: {bad[0]!r} is not a fact of case {q.case!r} "
                    f"(its facts: {', '.join(facts)})")
    expected_clues = [i for i in q.expect if i in clues]
    if q.kind in _EMPTY_KINDS and q.expect:
        return (f"field 'expect': kind {q.kind!r} expects no fact, got "
                f"{', '.join(q.expect)}")
    if q.kind not in _EMPTY_KINDS and q.kind != "clue_side" and not q.expect:
        return (f"field 'expect': kind {q.kind!r} asks about at least one fact "
                "(use kind 'off_sheet' when the sheet cannot answer it)")
    if q.kind in _PLAIN_KINDS and expected_clues:
        return (f"field 'kind': the question asks for clue {expected_clues[0]!r}; "
                "use kind 'clue_direct'")
    if q.kind == "clue_direct" and not expected_clues:
        return ("field 'expect': kind 'clue_direct' expects a clue fact of case "
                f"{q.case!r} ({', '.join(sorted(clues)) or 'it marks none'})")
    if q.kind == "clue_side":
        if expected_clues:
            return (f"field 'expect': kind 'clue_side' never expects a clue, got "
                    f"{expected_clues[0]!r}")
        if not q.touches:
            return "field 'touches': kind 'clue_side' names the clue it brushes against"
        not_clue = [i for i in q.touches if i not in clues]
        if not_clue:
            return f"field 'touches': {not_clue[0]!r} is not a clue of case {q.case!r}"
    elif q.touches:
        return "field 'touches': only kind 'clue_side' names touched clues"
    if q.ends_clarify and q.kind != "statement":
        return "field 'ends_clarify': only kind 'statement' ends clarify"
    return None


def load_bank(path: Path, cases: dict[str, Case] | None = None) -> ClarifyBank:
    """Load and validate one split; raise DatasetError naming the first bad line and field."""
    cases = cases if cases is not None else default_cases()
    raw, lines = read_jsonl(path)
    questions: list[BankQuestion] = []
    seen: dict[str, int] = {}
    texts: dict[str, str] = {}
    for n, data in lines:
        where = f"{path}:{n}"
        try:
            q = BankQuestion.model_validate(data)
        except ValidationError as e:
            raise DatasetError(f"{where}: {describe_problem(e)}") from None
        if q.id in seen:
            raise DatasetError(f"{where}: field 'id': duplicate id {q.id!r} "
                               f"(first on line {seen[q.id]})")
        seen[q.id] = n
        words = same_words(q.question)
        if words in texts:
            raise DatasetError(f"{where}: field 'question': the same question as "
                               f"{texts[words]!r}")
        texts[words] = q.id
        if q.case not in cases:
            raise DatasetError(f"{where}: field 'case': unknown case {q.case!r} "
                               f"(cases: {', '.join(sorted(cases))})")
        problem = _kind_problem(q, cases[q.case])
        if problem:
            raise DatasetError(f"{where}: {problem}")
        questions.append(q)
    if not questions:
        raise DatasetError(f"{path}: no questions")
    return ClarifyBank(path=str(path), sha256=hashlib.sha256(raw).hexdigest(),
                       questions=questions)


def same_words(text: str) -> str:
    """A question's words, lower-cased, without punctuation: how repeats are recognised."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def load_splits(paths: dict[str, Path] | None = None,
                cases: dict[str, Case] | None = None) -> dict[str, ClarifyBank]:
    """Every split, checked to share no id and no question (the same words, ignoring case and
    punctuation): a held-out question that is also in dev is not held out."""
    paths = paths or SPLITS
    banks = {name: load_bank(p, cases) for name, p in paths.items()}
    ids: dict[str, str] = {}
    texts: dict[str, tuple[str, str]] = {}
    for name, bank in banks.items():
        for q in bank.questions:
            if q.id in ids:
                raise DatasetError(f"{bank.path}: id {q.id!r} is also in the {ids[q.id]} split")
            ids[q.id] = name
            words = same_words(q.question)
            if words in texts:
                other, split = texts[words]
                raise DatasetError(f"{bank.path}: question {q.id!r} is the same as {other!r} "
                                   f"in the {split} split")
            texts[words] = (q.id, name)
    return banks


def summary(banks: dict[str, ClarifyBank]) -> str:
    """Counts per split, per case and per kind, as a plain-text table."""
    names = list(banks)
    total = sum(len(b.questions) for b in banks.values())
    width = max(len(c) for b in banks.values() for c in b.by_case()) + 2

    def row(label: str, counts: list[int]) -> str:
        return f"{label:<{width}}" + "".join(f"{n:>9}" for n in counts) + f"{sum(counts):>9}"

    head = f"{'':<{width}}" + "".join(f"{n:>9}" for n in names) + f"{'all':>9}"
    lines = [head, "per case:"]
    cases = sorted({q.case for b in banks.values() for q in b.questions})
    for case in cases:
        lines.append(row(case, [sum(q.case == case for q in banks[n].questions) for n in names]))
    lines.append("per kind:")
    for kind in KINDS:
        lines.append(row(kind, [sum(q.kind == kind for q in banks[n].questions) for n in names]))
    lines.append(row("questions", [len(banks[n].questions) for n in names]))
    lines.append("share: " + ", ".join(f"{n} {len(banks[n].questions) / total:.0%}"
                                       for n in names))
    return "\n".join(lines)


if __name__ == "__main__":  # python -m evals.clarify_bank: validate the shipped splits, count
    import sys

    try:
        print(summary(load_splits()))
    except DatasetError as e:
        sys.exit(f"error: {e}")
