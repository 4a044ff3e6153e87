"""``python -m evals.agreement RESULTS.json [...]``: record each scorer's measured agreement
with human graders in ``agent/agreement.json``, which reports read to say how far to trust the
scorer that produced them.

Give it ``interviewer eval run`` results on the held-out split (the figure a report shows must
come from interviews the scorer was never tuned on); results on any other split are refused
unless ``--split NAME`` says which split they are. An entry is keyed by scorer (``offline``,
or ``llm:<model>``) and replaced when measured again.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.agreement import PATH, Agreement


def entry(results: dict[str, Any]) -> tuple[str, Agreement]:
    knobs = results["knobs"]
    overall = results["metrics"]["overall"]
    key = "offline" if knobs["scorer"] == "offline" else f"llm:{knobs['model']}"
    return key, Agreement(
        scorer=key, split=knobs["dataset"]["name"],
        dataset_sha256=str(knobs["dataset"]["sha256"])[:12],
        interviews=int(results["metrics"]["items_scored"]),
        steps_qwk=overall["steps"]["qwk"], steps_exact=overall["steps"]["exact"],
        criteria_qwk=overall["criteria"]["qwk"], rubrics=knobs["rubric_version"],
        genuine_steps_qwk=_tag(results, "genuine", "steps_qwk"),
        cases=dict(sorted(Counter(str(i["case"]) for i in results["items"]
                                  if not i.get("failed") and "case" in i).items()))
        if "items" in results else None,
        plain_words_error=_tag(results, "plain_words_strong", "mean_signed_error"),
        measured_at=str(results.get("created_at") or time.strftime("%Y-%m-%dT%H:%M:%S%z")))


def _tag(results: dict[str, Any], tag: str, figure: str) -> Any:
    """One figure of one interview tag's block, or None."""
    return ((results["metrics"].get("by_interview_tag") or {}).get("interview", {})
            .get(tag, {}).get(figure))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.agreement", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+", type=Path, help="eval run results (.json)")
    ap.add_argument("--split", default="heldout",
                    help="the dataset name the results must come from (default: heldout)")
    ap.add_argument("--output", type=Path, default=PATH,
                    help=f"the agreement file to update (default: {PATH})")
    args = ap.parse_args(argv)
    try:
        table: dict[str, Any] = (json.loads(args.output.read_text(encoding="utf-8"))
                                 if args.output.exists() else {})
    except (OSError, ValueError) as e:
        sys.stderr.write(f"evals.agreement: {args.output}: {e}\n")
        return 1
    for path in args.results:
        try:
            results = json.loads(path.read_text(encoding="utf-8"))
            key, agreement = entry(results)
        except (OSError, ValueError, KeyError, TypeError) as e:
            sys.stderr.write(f"evals.agreement: {path}: not eval run results ({e})\n")
            return 1
        if agreement.split != args.split:
            sys.stderr.write(f"evals.agreement: {path}: measured on {agreement.split!r}, not "
                             f"{args.split!r} (pass --split {agreement.split} if you mean it)\n")
            return 1
        if results["metrics"].get("items_failed"):
            sys.stderr.write(f"evals.agreement: {path}: some interviews failed to score; "
                             "rerun before recording a figure\n")
            return 1
        table[key] = agreement.model_dump()
        sys.stdout.write(f"{key}: step QWK {agreement.steps_qwk} on {agreement.split} "
                         f"({agreement.interviews} interviews)\n")
    tmp = args.output.with_name(args.output.name + ".tmp")
    tmp.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
