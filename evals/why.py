"""Why the offline scorer disagrees with the labels, criterion by criterion (issue 9 round 3).

For every labelled criterion the scorer misses by at least ``--gap`` levels, prints the gold and
predicted levels and:

- under-scored: what the scorer did credit (its rationale), and the candidate's sentence nearest
  by meaning to the criterion's level text and examples, with that text and the similarity (how
  far the embedding model is from seeing it);
- over-scored: the evidence the scorer quoted and the step's notes (bad calls, unasked facts).

Meant for dev: it prints candidate text item by item, so it refuses the held-out split (which is
measured, never read for tuning).

    python -m evals.why [DATASET.jsonl] [--tag TAG] [--id ID] [--step STEP] [--gap N]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from agent.cases import default_cases
from agent.rubrics import Criterion, default_rubrics
from agent.scorers import OfflineScorer, candidate_texts, read_answers
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


def explain(item: Interview, steps: Sequence[str], gap: int) -> list[str]:
    case = default_cases()[item.case]
    rubrics = default_rubrics()
    gold = item.labels[0].criteria
    out: list[str] = []
    for step in steps:
        turns = step_turns(item, step)
        result = OfflineScorer(rubrics).score_step(case, step, turns,
                                                   told_before(item, step, case))
        claims = [s.text for s in read_answers(candidate_texts(turns)) if s.claim]
        by_id = {c.id: c for c in rubrics[step].criteria}
        for score in result.criteria:
            want = gold.get(score.id)
            if want is None or score.level is None or abs(score.level - want) < gap:
                continue
            out.append(f"{item.id} {score.id}: gold {want}, predicted {score.level}")
            if score.level < want:
                out.append(f"    scorer: {score.rationale}")
                near = nearest(claims, references(by_id[score.id]))
                if near is not None:
                    claim, ref, sim = near
                    out.append(f"    nearest claim ({sim:.2f}): “{claim}”")
                    out.append(f"      ~ {ref}")
            else:
                out += [f"    quoted: “{q}”" for q in score.evidence]
                out += [f"    note: {n}" for n in result.notes]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
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
        for line in explain(item, steps, args.gap):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
