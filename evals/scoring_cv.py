"""How well the offline scorer's exemplar threshold generalises, measured on the dev interviews
alone by cross-validation (issue 9, round 3).

The dev interviews are split into folds by case (leave one case out): each case's interviews are
scored at the threshold that gives the best pooled step QWK on the *other* cases' interviews, so
a threshold that only suits one case's wording does not flatter the figure. What is chosen is
:data:`agent.semantic.claims.EXEMPLAR_MATCH`, the cosine at which an answer's clause counts as
saying what a rubric exemplar says, over :data:`GRID`.

Two variants are reported:

- **words**: the scorer as shipped, reading everyday words as the trade's words
  (prompts/scoring_words.yaml);
- **no-words**: that file left out. It was written while reading dev answers, so it is "fitted"
  too and cross-validation by case cannot take it out of the training data: this variant shows
  what the scorer does without it. (The rubrics' own patterns and exemplars stay; they were also
  grown on dev wording.)

For each: every threshold's figures on all of dev (optimistic), the threshold each fold chose,
and the pooled leave-one-case-out figures: step QWK over all interviews and over the genuine ones
(no adversarial tag), the share of plain-words strong steps within one level, and the mean
predicted step of the fluent-but-wrong interviews. The held-out split is never read here.

``--calibration`` cross-validates where the step score's stretch above 3 puts an excellent step
(round 5; :data:`agent.scorers.EXCELLENT_MEAN`, the weighted criteria mean that reads 3.5), over
:data:`CALIBRATION_GRID`: the steps are scored once unstretched and each setting is applied to
those scores, so it is quick.

``--premises`` cross-validates the settings of the check of stated premises against the fact
sheet instead (round 4; agent/semantic/premises.py), at the shipped exemplar threshold: how many
levels clarify loses for contradicted premises (:data:`agent.scorers.MAX_PREMISE_PENALTY`), how
many a later criterion loses when a sentence it counts rests on one
(:data:`agent.scorers.CARRIED_PENALTY`), and how alike a clarify figure and a told fact must be
to be compared (:data:`agent.semantic.premises.FIGURE_TOPIC`), over :data:`PREMISE_GRID`.

    python -m evals.scoring_cv [DATASET.jsonl] [--variant words|no-words|both]
                               [--premises | --calibration]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from agent.cases import default_cases
from agent.scorers import OfflineScorer
from agent.steps import STEPS
from evals.dataset import SCORED, Dataset, DatasetError, Interview, load_dataset
from evals.metrics import metric_value
from evals.runner import step_turns, told_before
from evals.tags import ADVERSARIAL

#: The exemplar thresholds tried.
GRID = (0.35, 0.4, 0.45, 0.5, 0.55, 0.6)
DEV = Path(__file__).resolve().parent / "datasets" / "dev.jsonl"

#: (interview id, step) -> predicted step score.
Predictions = dict[tuple[str, str], float]
#: Premise settings tried: (MAX_PREMISE_PENALTY, CARRIED_PENALTY, FIGURE_TOPIC).
PREMISE_GRID = tuple(itertools.product((1, 2), (0, 1, 2), (0.35, 0.45, 0.55)))
#: Weighted criteria means tried as the one that reads as an excellent step (3.5: no stretch).
CALIBRATION_GRID = (3.5, 3.45, 3.4, 3.35, 3.3, 3.25, 3.2, 3.15, 3.1, 3.05)
#: The pooled step QWK is flat over much of that grid; a fold keeps the smallest stretch within
#: this much of its best, rather than the steepest one noise happens to favour.
CALIBRATION_TOLERANCE = 0.005
K = TypeVar("K", bound=Hashable)


@contextmanager
def premise_settings(setting: tuple[int, int, float]) -> Iterator[None]:
    """Score with these premise settings (see PREMISE_GRID); restored on the way out."""
    from agent import scorers
    from agent.semantic import premises

    saved = scorers.MAX_PREMISE_PENALTY, scorers.CARRIED_PENALTY, premises.FIGURE_TOPIC
    scorers.MAX_PREMISE_PENALTY, scorers.CARRIED_PENALTY, premises.FIGURE_TOPIC = setting
    try:
        yield
    finally:
        scorers.MAX_PREMISE_PENALTY, scorers.CARRIED_PENALTY, premises.FIGURE_TOPIC = saved


@contextmanager
def settings(threshold: float, words: bool) -> Iterator[None]:
    """Score with this exemplar threshold, with or without the everyday-words file; the
    scorer's per-text caches are emptied on the way in and out (they hold what was read)."""
    from agent.semantic import claims, reading

    def clear() -> None:
        for fn in (reading.read_sentence, reading.read_answer, reading.everyday_terms):
            fn.cache_clear()

    module = cast(Any, reading)
    saved = claims.EXEMPLAR_MATCH, module.scoring_words
    claims.EXEMPLAR_MATCH = threshold
    if not words:
        module.scoring_words = dict
    clear()
    try:
        yield
    finally:
        claims.EXEMPLAR_MATCH, module.scoring_words = saved
        clear()


def predict(data: Dataset) -> Predictions:
    cases = default_cases()
    scorer = OfflineScorer()
    out: Predictions = {}
    for item in data.interviews:
        case = cases[item.case]
        for step in SCORED:
            result = scorer.score_step(case, step, step_turns(item, step),
                                       told_before(item, step, case))
            if result.score is not None:
                out[(item.id, step)] = result.score
    return out


def _genuine(item: Interview) -> bool:
    return not any(t in ADVERSARIAL for t in item.meta.get("tags", []))


def _plain(item: Interview) -> bool:
    return "plain_words_strong" in item.meta.get("tags", [])


def _fluent_wrong(item: Interview) -> bool:
    return bool(item.meta.get("tags", []) == ["fluent_wrong"])


def figures(items: Sequence[Interview], pred: Mapping[tuple[str, str], float]
            ) -> dict[str, float | None]:
    """Pooled step QWK (all, genuine) and plain-words within-one over ``items``, rounding
    predicted step scores as `eval run` does; gold is each interview's first rater."""
    def pairs(keep: Sequence[Interview]) -> tuple[list[int], list[int]]:
        gold: list[int] = []
        got: list[int] = []
        for item in keep:
            labels = item.labels[0].steps
            for step, level in labels.items():
                if (item.id, step) in pred:
                    gold.append(level)
                    got.append(int(pred[(item.id, step)] + 0.5))
        return gold, got

    out: dict[str, float | None] = {}
    for name, keep in (("steps_qwk", list(items)),
                       ("genuine_steps_qwk", [i for i in items if _genuine(i)])):
        gold, got = pairs(keep)
        out[name] = metric_value("qwk", gold, got) if len(set(gold)) > 1 else None
    gold, got = pairs([i for i in items if _plain(i)])
    out["plain_within_one"] = (round(sum(abs(a - b) <= 1 for a, b in zip(gold, got, strict=True))
                                     / len(gold), 4) if gold else None)
    wrong = [pred[(i.id, s)] for i in items if _fluent_wrong(i) for s in STEPS
             if (i.id, s) in pred]
    out["fluent_wrong_mean"] = round(sum(wrong) / len(wrong), 4) if wrong else None
    return out


def choose(by_threshold: Mapping[K, Predictions], items: Sequence[Interview],
           tolerance: float = 0.0) -> K:
    """The setting with the best pooled step QWK over ``items`` (ties: the first in order);
    with a ``tolerance``, the first in order within that much of the best (the grid lists the
    smallest change first, so a flat stretch of the curve keeps the smaller change)."""
    def key(t: K) -> float:
        q = figures(items, by_threshold[t])["steps_qwk"]
        return -1.0 if q is None else q

    best = max(key(t) for t in by_threshold)
    return next(t for t in by_threshold if key(t) >= best - tolerance)


def cross_validate(data: Dataset, by_threshold: Mapping[K, Predictions],
                   tolerance: float = 0.0) -> tuple[dict[str, K], Predictions]:
    """Leave one case out: (the setting each case's fold chose, the pooled predictions)."""
    chosen: dict[str, K] = {}
    pooled: Predictions = {}
    for case in sorted({i.case for i in data.interviews}):
        train = [i for i in data.interviews if i.case != case]
        chosen[case] = best = choose(by_threshold, train, tolerance)
        for item in data.interviews:
            if item.case == case:
                pooled.update({k: v for k, v in by_threshold[best].items() if k[0] == item.id})
    return chosen, pooled


def _fmt(figs: Mapping[str, float | None]) -> str:
    def f(x: float | None) -> str:
        return "—" if x is None else f"{x:.3f}"

    return (f"step QWK {f(figs['steps_qwk'])}, genuine {f(figs['genuine_steps_qwk'])}, "
            f"plain-words within one {f(figs['plain_within_one'])}, "
            f"fluent-wrong mean step {f(figs.get('fluent_wrong_mean'))}")


def run(path: Path, variants: Sequence[bool], out: list[str]) -> None:
    data = load_dataset(path)
    for words in variants:
        out.append(f"## {'words' if words else 'no-words'} (prompts/scoring_words.yaml "
                   f"{'read' if words else 'left out'})")
        by_threshold: dict[float, Predictions] = {}
        for t in GRID:
            with settings(t, words):
                by_threshold[t] = predict(data)
            figs = figures(data.interviews, by_threshold[t])
            out.append(f"  all of dev at {t:.2f}: {_fmt(figs)}")
        chosen, pooled = cross_validate(data, by_threshold)
        picks = ", ".join(f"{c} {t:.2f}" for c, t in chosen.items())
        out.append(f"  chosen per left-out case: {picks}")
        out.append(f"  leave-one-case-out: {_fmt(figures(data.interviews, pooled))}")


def run_premises(path: Path, out: list[str]) -> None:
    """Cross-validate the premise settings (PREMISE_GRID) by leaving one case out."""
    from agent import scorers
    from agent.semantic import premises

    data = load_dataset(path)
    shipped = scorers.MAX_PREMISE_PENALTY, scorers.CARRIED_PENALTY, premises.FIGURE_TOPIC
    out.append("## premises (max clarify penalty, carried penalty, figure topic cosine); "
               f"shipped {shipped}")
    by_setting: dict[tuple[int, int, float], Predictions] = {}
    for setting in PREMISE_GRID:
        with premise_settings(setting):
            by_setting[setting] = predict(data)
        figs = figures(data.interviews, by_setting[setting])
        out.append(f"  all of dev at {setting}: {_fmt(figs)}")
    chosen, pooled = cross_validate(data, by_setting)
    out.append("  chosen per left-out case: " + ", ".join(f"{c} {t}" for c, t in chosen.items()))
    out.append(f"  leave-one-case-out: {_fmt(figures(data.interviews, pooled))}")


def run_calibration(path: Path, variants: Sequence[bool], out: list[str]) -> None:
    """Cross-validate EXCELLENT_MEAN (CALIBRATION_GRID) by leaving one case out."""
    from agent import scorers

    data = load_dataset(path)
    for words in variants:
        out.append(f"## calibration, {'words' if words else 'no-words'}: the weighted criteria "
                   f"mean that reads 3.5; shipped {scorers.EXCELLENT_MEAN}")
        saved = scorers.EXCELLENT_MEAN
        scorers.EXCELLENT_MEAN = 3.5
        try:
            from agent.semantic import claims

            with settings(claims.EXEMPLAR_MATCH, words):
                raw = predict(data)
        finally:
            scorers.EXCELLENT_MEAN = saved
        by_setting: dict[float, Predictions] = {}
        for top in CALIBRATION_GRID:
            by_setting[top] = {k: cast(float, scorers.calibrated(v, top))
                               for k, v in raw.items()}
            out.append(f"  all of dev at {top:.2f}: "
                       f"{_fmt(figures(data.interviews, by_setting[top]))}")
        chosen, pooled = cross_validate(data, by_setting, CALIBRATION_TOLERANCE)
        out.append(f"  chosen per left-out case (the smallest stretch within "
                   f"{CALIBRATION_TOLERANCE} step QWK of the fold's best): "
                   + ", ".join(f"{c} {t:.2f}" for c, t in chosen.items()))
        out.append(f"  leave-one-case-out: {_fmt(figures(data.interviews, pooled))}")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m evals.scoring_cv", description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("dataset", nargs="?", default=str(DEV),
                    help="a dev dataset (default: evals/datasets/dev.jsonl); never held-out")
    ap.add_argument("--variant", choices=("words", "no-words", "both"), default="both",
                    help="with the everyday-words file, without it, or both (default)")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--premises", action="store_true",
                      help="cross-validate the premise-check settings instead of the exemplar "
                           "threshold")
    mode.add_argument("--calibration", action="store_true",
                      help="cross-validate the step score's stretch above 3 (the criteria mean "
                           "that reads as an excellent step) instead of the exemplar threshold")
    args = ap.parse_args(argv)
    path = Path(args.dataset)
    if "heldout" in path.name:
        print(f"interviewer: {path}: cross-validation chooses settings from the data it reads; "
              "run it on dev, never on the held-out split", file=sys.stderr)
        return 2
    variants = {"words": (True,), "no-words": (False,), "both": (True, False)}[args.variant]
    out: list[str] = []
    try:
        if args.premises:
            run_premises(path, out)
        elif args.calibration:
            run_calibration(path, variants, out)
        else:
            run(path, variants, out)
    except DatasetError as e:
        print(f"interviewer: {e}", file=sys.stderr)
        return 2
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
