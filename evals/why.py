"""Why the offline scorer disagrees with the labels, criterion by criterion (issue 9 round 3).

For every labelled criterion the scorer misses by at least ``--gap`` levels, prints the gold and
predicted levels and:

- under-scored: what the scorer did credit (its rationale), and the candidate's sentence nearest
  by meaning to the criterion's level text and examples, with that text and the similarity (how
  far the embedding model is from seeing it);
- over-scored: the evidence the scorer quoted and the step's notes (bad calls, unasked facts).

Either way the scorer's rationale for the level comes first. A step labelled per step only (no
criterion labels) is said to be so, with the step's gold against the scorer's step level and
every criterion's level with its rationale and quotes, whatever ``--gap``. An interview with
nothing off by ``--gap`` says so rather than printing nothing.

Meant for dev: it prints candidate text item by item, so it refuses the held-out split (which is
measured, never read for tuning).

    python -m evals.why [DATASET.jsonl] [--tag TAG] [--id ID] [--step STEP] [--gap N]
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from agent.cases import default_cases
from agent.rubrics import Criterion, default_rubrics
from agent.scorer_common import candidate_texts
from agent.scorers import OfflineScorer, read_answers
from agent.scores import CriterionScore, StepScore
from agent.semantic.matcher import index
from evals.dataset import SCORED, DatasetError, Interview, load_dataset
from evals.runner import step_turns, told_before

DEV = Path(__file__).resolve().parent / "datasets" / "dev.jsonl"


def references(criterion: Criterion) -> tuple[str, ...]:
    """A criterion's level texts (2-4) and examples, labelled for printing."""
    levels = tuple(f"level {k}: {v}" for k, v in sorted(criterion.levels.items()) if k >= 2)
    return levels + tuple(f"example: {e}" for e in criterion.examples)


def nearest(claims: Sequence[str], refs: tuple[str, ...]) -> tuple[str, str, float] | None:
    """(claim, reference, similarity) of the closest pair, or None without claims."""
    if not claims or not refs:
        return None
    sims = index(refs).scores(list(claims))
    i, j = divmod(int(sims.argmax()), sims.shape[1])
    return claims[i], refs[j], float(sims[i, j])


def _scorer_says(score: CriterionScore, notes: Sequence[str], over: bool) -> list[str]:
    """What the scorer gives for one criterion: its rationale, the quotes it verified and, for
    an over-scored one, the step's notes (bad calls, unasked facts)."""
    out = [f"    scorer: {score.rationale}"] if score.rationale else []
    out += [f"    quoted: “{q}”" for q in score.evidence]
    if over:
        out += [f"    note: {n}" for n in notes]
    return out


def explain(item: Interview, steps: Sequence[str], gap: int) -> list[str]:
    case = default_cases()[item.case]
    rubrics = default_rubrics()
    gold = item.labels[0].criteria
    gold_steps = item.labels[0].steps
    out: list[str] = []
    for step in steps:
        turns = step_turns(item, step)
        result = OfflineScorer(rubrics).score_step(case, step, turns,
                                                   told_before(item, step, case))
        claims = [s.text for s in read_answers(candidate_texts(turns)) if s.claim]
        by_id = {c.id: c for c in rubrics[step].criteria}
        if not any(c.id in gold for c in result.criteria):
            out += _step_only(item, step, gold_steps.get(step), result)
            continue
        for score in result.criteria:
            want = gold.get(score.id)
            if want is None or score.level is None or abs(score.level - want) < gap:
                continue
            out.append(f"{item.id} {score.id}: gold {want}, predicted {score.level}")
            out += _scorer_says(score, result.notes, over=score.level > want)
            if score.level < want:
                near = nearest(claims, references(by_id[score.id]))
                if near is not None:
                    claim, ref, sim = near
                    out.append(f"    nearest claim ({sim:.2f}): “{claim}”")
                    out.append(f"      ~ {ref}")
    return out


def _step_only(item: Interview, step: str, want: int | None, result: StepScore
               ) -> list[str]:
    """A step whose criteria carry no label: the step's gold against the scorer's step level,
    and every criterion's level with what the scorer gives for it (nothing when the step has
    no label either). Shown whatever ``gap``: with no criterion labels it is all there is."""
    if want is None:
        return []
    score = result.score
    level = None if score is None else math.floor(score + 0.5)
    shown = "—" if score is None else f"{level} (score {score:.2f})"
    out = [f"{item.id} {step}: labelled per step only (no criterion labels): step gold {want}, "
           f"predicted {shown}"]
    for c in result.criteria:
        out.append(f"  {c.id}: level {'—' if c.level is None else c.level}")
        out += _scorer_says(c, (), over=False)
    out += [f"    note: {n}" for n in result.notes]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m evals.why", description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("dataset", nargs="?", default=str(DEV),
                    help="a dev dataset (default: evals/datasets/dev.jsonl); never held-out")
    ap.add_argument("--tag", help="only interviews with this meta.tags entry "
                    "(e.g. plain_words_strong, fluent_wrong)")
    ap.add_argument("--id", help="only this interview")
    ap.add_argument("--step", choices=SCORED, help="only this step (default: all seven)")
    ap.add_argument("--gap", type=int, default=1,
                    help="show criteria off by at least this many levels (default 1)")
    args = ap.parse_args(argv)
    path = Path(args.dataset)
    if "heldout" in path.name:
        print(f"interviewer: {path}: this prints candidate text item by item; read dev, never "
              "the held-out split (measure it with `interviewer eval run`)", file=sys.stderr)
        return 2
    if args.gap < 1:
        print(f"interviewer: --gap: {args.gap} is not a number of levels (at least 1)",
              file=sys.stderr)
        return 2
    try:
        data = load_dataset(path)
    except DatasetError as e:
        print(f"interviewer: {e}", file=sys.stderr)
        return 2
    items = [i for i in data.interviews
             if (args.tag is None or args.tag in i.meta.get("tags", []))
             and (args.id is None or i.id == args.id)]
    if not items:
        print(f"interviewer: no interview in {path} matches"
              f"{f' --tag {args.tag}' if args.tag else ''}{f' --id {args.id}' if args.id else ''}",
              file=sys.stderr)
        return 2
    steps = (args.step,) if args.step else SCORED
    for item in items:
        lines = explain(item, steps, args.gap)
        for line in lines:
            print(line)
        if not lines:
            where = f" {args.step}" if args.step else ""
            only = " (labelled per step only: no criterion labels)" if not (
                item.labels[0].criteria) else ""
            print(f"{item.id}{where}: no labelled criterion or step{' of it' if where else ''} "
                  f"is off by {args.gap} or more levels{only}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
