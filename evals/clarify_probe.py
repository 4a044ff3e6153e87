"""A sealed probe of clarifying questions (round 9): the matcher's figures on a JSONL file in
the clarifying-question bank's format that is not part of the bank
(``evals/probes/clarify9-a.jsonl``, studied; ``clarify9-b.jsonl``, run once per kept
change), and with ``--why`` each missed or wrong question with what the matcher read: the
closest facts by similarity and by the row the thresholds judge (typed and word-level signals
added), the keyword hits.

Two figures: the shipped :data:`agent.clarify.select.PARAMS`, and ``cv``: each question
predicted with parameters fitted (``evals.clarify_cv.fit``, tokens grid) on the dev bank
without its case. The held-out split is never read.

    python -m evals.clarify_probe evals/probes/clarify9-a.jsonl [--why] [--no-cv]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from agent.cases import default_cases
from agent.clarify.select import PARAMS
from evals.clarify_bank import SPLITS, load_bank
from evals.clarify_cv import GRID, GRIDS, Item, by_kind, fit, prepare, told
from evals.dataset import DatasetError


def _why(item: Item, got: set[str]) -> str:
    fi = item.fi
    ids = [f.id for f in fi.facts]
    lines = [f"{item.q.id}: {item.q.question}",
             f"   want {sorted(item.want)} got {sorted(got)}"]
    for r in item.readings:
        row = (r.row + PARAMS.intent_weight * r.typed
               + PARAMS.token_weight * (np.where(r.row >= PARAMS.token_floor, r.tokens, 0.0)
                                        if r.tokens is not None else 0.0))
        order = np.argsort(-row)[:3]
        lines.append(
            f"   [{'judged' if r.judged else 'whole'}] {r.text!r}\n"
            "      top: " + ", ".join(f"{ids[i]} {row[i]:.3f} (sim {r.row[i]:.3f})"
                                      for i in order)
            + "; want: " + ", ".join(f"{w} {row[ids.index(w)]:.3f} rank "
                                     f"{int((row > row[ids.index(w)]).sum()) + 1}"
                                     for w in sorted(item.want))
            + (f"\n      keyword hits: {[ids[i] for i in r.hits]}" if r.hits else ""))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m evals.clarify_probe", description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("probe", type=Path,
                    help="a JSONL file in the clarifying-question bank's format")
    ap.add_argument("--why", action="store_true", help="print each question the match got wrong")
    ap.add_argument("--no-cv", action="store_true", help="shipped parameters only")
    args = ap.parse_args(argv)
    cases = default_cases()
    try:
        bank = load_bank(args.probe, cases)
    except DatasetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    probe = prepare(bank.questions, cases, True)
    shipped = [(i, told(i, PARAMS)) for i in probe]
    rows = {"shipped": by_kind(shipped)}
    if not args.no_cv:
        dev = prepare(load_bank(SPLITS["dev"], cases).questions, cases, True)
        grid = {k: v for k, v in GRID.items() if k in GRIDS["tokens"]}
        fitted = {c: fit([i for i in dev if i.q.case != c], grid)
                  for c in {i.q.case for i in probe}}
        rows["cv"] = by_kind([(i, told(i, fitted[i.q.case])) for i in probe])
    for name, figs in rows.items():
        a = figs["all"]
        print(f"{args.probe.name} {name}: {a['questions']} questions, P {a['precision']:.3f} "
              f"R {a['recall']:.3f} F1 {a['f1']:.3f}, clue leaks {a['clue_leaks']}")
    exact = sum(got == set(i.want) for i, got in shipped)
    print(f"exact (shipped): {exact} of {len(shipped)}")
    if args.why:
        for item, got in shipped:
            if got != set(item.want):
                print(_why(item, got))
    return 0


if __name__ == "__main__":
    sys.exit(main())
