"""Score a probe file (evals/probes/*.yaml) with the offline scorer and compare with its labels.

python -m evals.probes.score_probe evals/probes/plain9.yaml [--detail] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict

import yaml

from agent.cases import get_case
from agent.scorers import OfflineScorer


def main() -> None:
    ap = argparse.ArgumentParser(
        description="Score a probe file's answers with the offline scorer and compare each "
                    "criterion with its label (exact matches, mean levels).")
    ap.add_argument("probe", help="a probe file, e.g. evals/probes/plain9.yaml")
    ap.add_argument("--detail", action="store_true", help="show each missed criterion's "
                    "rationale")
    ap.add_argument("--json", help="also write every probe's step score and levels here")
    args = ap.parse_args()
    with open(args.probe, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    scorer = OfflineScorer()
    per_crit: dict[str, list[tuple[int, int]]] = defaultdict(list)
    out = {}
    for p in data["probes"]:
        r = scorer.score_step(get_case(p["case"]), p["step"],
                              [("interviewer", "Go on."), ("candidate", p["text"])])
        got = {c.id: c.level for c in r.criteria}
        out[p["id"]] = {"score": r.score, "levels": got}
        miss = []
        for cid, gold in p["labels"].items():
            pred = got.get(cid)
            if pred is None:
                continue
            per_crit[cid].append((gold, pred))
            if pred != gold:
                miss.append(f"{cid.split('.')[1]} {gold}->{pred}")
        print(f"{p['id']} {p['step']:<10} step {r.score}  misses: {', '.join(miss) or '-'}")
        if args.detail:
            for c in r.criteria:
                if c.id in p["labels"] and c.level != p["labels"][c.id]:
                    print(f"    {c.id} gold {p['labels'][c.id]} got {c.level}: {c.rationale[:240]}")
    print("\ncriterion                                 n  gold  pred  exact")
    tg = tp = te = tn = 0
    for cid in sorted(per_crit):
        xs = per_crit[cid]
        g = sum(a for a, _ in xs)
        q = sum(b for _, b in xs)
        e = sum(a == b for a, b in xs)
        tg, tp, te, tn = tg + g, tp + q, te + e, tn + len(xs)
        print(f"{cid:<40} {len(xs):>2}  {g/len(xs):.2f}  {q/len(xs):.2f}  {e}/{len(xs)}")
    print(f"{'ALL':<40} {tn:>2}  {tg/tn:.2f}  {tp/tn:.2f}  {te}/{tn}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
