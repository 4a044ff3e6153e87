"""Can the clarify matcher's own signals tell the facts it tells rightly from the ones it tells
wrongly? (stop 38)

Every question of the given files (by default the dev bank and every probe file; the held-out
split is refused) goes through the offline interviewer's ``clarify``. Each fact told becomes one
row of what the matcher read about that fact: its similarity, its lead over the next fact, its
rank, whether a keyword hit it and on how many words, the typed signal, the closest subject no
sheet answers, the word-level and shared-words signals, how many facts the question was told,
how long the question is. The question's label says whether the fact is right.

Two classifiers (logistic regression, shallow gradient boosting) are fitted leaving one group
out at a time: one group per probe file, and the dev bank by case. Each told fact is then vetoed
when the classifier fitted without its group puts it below a cut, and the table gives precision
and recall after the veto. A cut that raises precision without costing as much recall is a
signal the matcher under-uses; none means the wrong facts look like the right ones on every
signal the matcher has, and no threshold or weight over them will separate them.

    python -m evals.clarify_separable [FILE ...] [--cuts 0.3,0.5,0.6]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agent.cases import Case, default_cases
from agent.clarify.select import Reading, read
from agent.offline import OfflineInterviewer, question_parts
from agent.semantic.words import content_words
from evals.clarify_bank import SPLITS, load_bank
from evals.clarify_eval import _ratio, ask
from evals.dataset import DatasetError

PROBES = Path(__file__).parent / "probes"
#: The signals of one told fact, in the order of :func:`signals`.
SIGNALS = ("similarity", "lead", "rank", "keyword_hit", "keyword_words", "typed_max",
           "typed_min", "off_sheet", "above_off_sheet", "told", "parts", "readings", "clue",
           "named", "content_words", "word_level", "shared_words")


@dataclass(frozen=True)
class Told:
    """One fact told to one question, with what the matcher read about it."""

    group: str
    question: str
    fact: str
    right: bool
    signals: tuple[float, ...]


def default_files() -> list[Path]:
    return [SPLITS["dev"], *sorted(p for p in PROBES.glob("clarify*.jsonl")
                                   if "heldout" not in p.name)]


def signals(case: Case, question: str, told: Sequence[str]) -> list[tuple[float, ...]]:
    """What the matcher read about each fact ``told`` to ``question`` (:data:`SIGNALS`)."""
    parts = question_parts(question) or [question]
    fi, named, readings = read(case, parts)
    where = {f.id: i for i, f in enumerate(fi.facts)}
    return [_signals(fi.facts[i].clue, i in named, i, readings, question, len(parts), len(told))
            for i in (where[f] for f in told)]


def _signals(clue: bool, named: bool, i: int, readings: Sequence[Reading], question: str,
             parts: int, told: int) -> tuple[float, ...]:
    sims = [float(r.row[i]) for r in readings]
    best = max(sims)
    r = readings[int(np.argmax(sims))]
    hit = [h for h in readings if i in h.hits]
    span = max((h.span_words[h.hits.index(i)] for h in hit), default=0)
    off = max(h.off for h in readings)
    return (best, best - float(np.delete(r.row, i).max(initial=-1.0)),
            float((r.row > r.row[i]).sum()), float(bool(hit)), float(span),
            max(float(h.typed[i]) for h in readings), min(float(h.typed[i]) for h in readings),
            off, best - off, float(told), float(parts), float(len(readings)),
            float(clue), float(named), float(len(content_words(question))),
            float(r.tokens[i]) if r.tokens is not None else 0.0, float(r.words[i]))


def collect(files: Sequence[Path], cases: dict[str, Case],
            progress: Callable[[str], None] | None = None) -> tuple[list[Told], int]:
    """Every fact told to the files' questions, and how many facts they ask for in all."""
    interviewer = OfflineInterviewer()
    rows: list[Told] = []
    wanted = 0
    for path in files:
        questions = load_bank(path, cases).questions
        for q in questions:
            got = ask(interviewer, cases[q.case], q)
            wanted += len(q.expect)
            group = f"{path.stem}:{q.case}" if path == SPLITS["dev"] else path.stem
            rows += [Told(group, q.question, f, f in q.expect, s)
                     for f, s in zip(got["told"], signals(cases[q.case], q.question,
                                                          got["told"]), strict=True)]
        if progress:
            progress(f"{path.name}: {len(questions)} questions")
    return rows, wanted


def vetoes(rows: Sequence[Told], model: str) -> np.ndarray:
    """Per told fact, the chance it is right by the classifier ``model`` ("logistic" or
    "boosting") fitted on the other groups only."""
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.array([r.signals for r in rows], dtype=float)
    y = np.array([r.right for r in rows])
    groups = np.array([r.group for r in rows])
    out = np.ones(len(rows))
    for g in sorted(set(groups)):
        test = groups == g
        if len(set(y[~test])) < 2:
            continue  # nothing to learn from: the group keeps every fact
        clf = (make_pipeline(StandardScaler(), LogisticRegression(C=0.3, max_iter=2000))
               if model == "logistic" else
               GradientBoostingClassifier(n_estimators=100, max_depth=2, learning_rate=0.05,
                                          random_state=0))
        out[test] = clf.fit(x[~test], y[~test]).predict_proba(x[test])[:, 1]
    return out


def table(rows: Sequence[Told], wanted: int, chances: dict[str, np.ndarray],
          cuts: Sequence[float]) -> list[dict[str, Any]]:
    """Precision and recall when every fact a classifier puts below a cut is not told."""
    right = np.array([r.right for r in rows], dtype=bool)
    out = []
    for model, chance in chances.items():
        for cut in [0.0, *cuts]:
            kept = chance >= cut  # (every chance is 0 or more: cut 0.0 keeps every fact)
            tp, fp = int((kept & right).sum()), int((kept & ~right).sum())
            out.append({"model": model, "cut": cut, "precision": _ratio(tp, tp + fp),
                        "recall": _ratio(tp, wanted), "wrong_vetoed": int((~kept & ~right).sum()),
                        "right_vetoed": int((~kept & right).sum())})
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.clarify_separable",
                                 description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("files", nargs="*", type=Path,
                    help="JSONL files in the clarifying-question bank's format (default: the "
                         "dev bank and every probe file)")
    ap.add_argument("--cuts", default="0.3,0.5,0.6",
                    help="chances below which a told fact is vetoed, comma-separated "
                         "(default 0.3,0.5,0.6)")
    args = ap.parse_args(argv)
    try:
        cuts = [float(c) for c in args.cuts.split(",") if c.strip()]
    except ValueError:
        ap.error(f"--cuts: not a comma-separated list of numbers: {args.cuts!r}")
    if any(not 0.0 < c <= 1.0 for c in cuts):
        ap.error(f"--cuts: each cut must be above 0 and at most 1: {args.cuts!r}")
    files = args.files or default_files()
    held = [p for p in files if "heldout" in p.name]
    if held:
        ap.error(f"{held[0]}: a held-out file is measured, never fitted on")
    cases = default_cases()
    try:
        rows, wanted = collect(files, cases, lambda m: print(m, file=sys.stderr))
    except DatasetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    wrong = sum(not r.right for r in rows)
    print(f"{len(rows)} facts told ({wrong} wrong) to the questions of {len(files)} files, "
          f"{len({r.group for r in rows})} groups left out in turn")
    chances = {m: vetoes(rows, m) for m in ("logistic", "boosting")}
    print(f"{'model':<9} {'cut':>4}  {'P':>6} {'R':>6}  wrong vetoed  right vetoed")
    for t in table(rows, wanted, chances, cuts):
        print(f"{t['model']:<9} {t['cut']:>4.2f}  {t['precision']:>6.3f} {t['recall']:>6.3f}  "
              f"{t['wrong_vetoed']:>12}  {t['right_vetoed']:>12}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
