"""Agreement between a scorer and the human labels in a results file, with bootstrap intervals.

Gold is the first rater listed for each interview. Items that failed to score are left out and
counted; unscored criteria are left out and counted; nothing is silently filled in.
Intervals resample whole interviews (criteria of one interview are not independent).

Intervals: overall and per step, every metric at ``n_boot`` resamples; per criterion and the
per-step human-human rows, QWK and exact agreement only at ``n_boot // 4`` (point values of the
other metrics are still reported) -- Spearman and alpha have no fast path and 40 criteria x
1000 resamples of them would dominate the run time. Agreement by answer tag has no intervals.

The human-human ceiling (first vs second rater) uses every interview that has two raters, scored
or not: it is a property of the labels, not of a scorer run. ``ceiling()`` computes it straight
from datasets, e.g. over dev and held-out together
(``python -m evals.analysis evals/datasets/dev.jsonl evals/datasets/heldout.jsonl``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from evals import tags
from evals.metrics import (
    METRICS,
    agreement,
    bootstrap_ci,
    level_distribution,
    mean_signed_error,
    test_retest,
)

STEP_KEYS = ("clarify", "diagnose", "goals", "prioritize", "solutions", "validate",
             "cross_cutting")
Pairs = tuple[list[int], list[int], list[str]]
CI_FEW = ("qwk", "exact")  # the metrics with intervals on per-criterion and small blocks
TAG_ORDER = ("strong", "medium", "weak")  # then the rest alphabetically


def gold_of(gold: dict[str, int]) -> int | None:
    """The first rater's label (dicts keep insertion order from the dataset)."""
    return next(iter(gold.values()), None)


def pairs(items: Iterable[dict[str, Any]], kind: str, keys: Iterable[str] | None = None,
          repeat: int = 0) -> Pairs:
    """(gold, predicted, cluster ids) over successful items for steps or criteria."""
    wanted = set(keys) if keys is not None else None
    g: list[int] = []
    p: list[int] = []
    clusters: list[str] = []
    for item in items:
        if item["failed"]:
            continue
        for key, entry in item[kind].items():
            if wanted is not None and key not in wanted:
                continue
            gold = gold_of(entry["gold"])
            pred = entry["predicted"][repeat] if repeat < len(entry["predicted"]) else None
            if gold is None or pred is None:
                continue
            g.append(gold)
            p.append(pred)
            clusters.append(item["id"])
    return g, p, clusters


def with_ci(g: list[int], p: list[int], clusters: list[str], n_boot: int, seed: int,
            metrics: Iterable[str] = METRICS) -> dict[str, Any]:
    out: dict[str, Any] = dict(agreement(g, p))
    ci: dict[str, list[float | None]] = {}
    for name in metrics:
        if n_boot > 0 and len(g) >= 5:
            lo, hi = bootstrap_ci(g, p, name, clusters=clusters, n_boot=n_boot, seed=seed)
            ci[name] = [lo, hi]
    out["ci95"] = ci
    return out


def criteria_of(items: list[dict[str, Any]], step: str) -> list[str]:
    prefix = step + "."
    return sorted({cid for i in items for cid in i["criteria"] if cid.startswith(prefix)})


def _rater_pairs(items: list[dict[str, Any]], kind: str, keys: Iterable[str] | None = None
                 ) -> Pairs:
    """(first rater, second rater, cluster ids) where an interview has two raters on a key."""
    wanted = set(keys) if keys is not None else None
    g: list[int] = []
    p: list[int] = []
    c: list[str] = []
    for item in items:
        for key, entry in item[kind].items():
            if wanted is not None and key not in wanted:
                continue
            labels = list(entry["gold"].values())
            if len(labels) >= 2:
                g.append(labels[0])
                p.append(labels[1])
                c.append(item["id"])
    return g, p, c


def human_human(items: list[dict[str, Any]], n_boot: int, seed: int) -> dict[str, Any] | None:
    """First rater vs second rater, where an interview has two: pooled and per step."""
    g_s, p_s, c_s = _rater_pairs(items, "steps")
    g_c, p_c, c_c = _rater_pairs(items, "criteria")
    if not g_s and not g_c:
        return None
    raters = sorted({r for i in items for e in i["steps"].values() for r in e["gold"]})
    per_step = {}
    for step in STEP_KEYS:
        per_step[step] = {
            "holistic": with_ci(*_rater_pairs(items, "steps", [step]), n_boot // 4, seed,
                                CI_FEW),
            "criteria": with_ci(*_rater_pairs(items, "criteria", criteria_of(items, step)),
                                n_boot // 4, seed, CI_FEW),
        }
    return {
        "raters": raters,
        "items": len(set(c_s) | set(c_c)),
        "of": len(items),
        "ids": sorted(set(c_s) | set(c_c)),
        "steps": with_ci(g_s, p_s, c_s, n_boot, seed),
        "criteria": with_ci(g_c, p_c, c_c, n_boot, seed),
        "per_step": per_step,
    }


def _tag_block(g: list[int], p: list[int]) -> dict[str, Any]:
    a = agreement(g, p)
    return {"n": a["n"], "exact": a["exact"], "mean_signed_error": mean_signed_error(g, p),
            "mae": a["mae"]}


def by_tag(items: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Agreement per answer tag (``profile``: the intended quality of each step's answers, e.g.
    strong, long-empty, injection): n, exact, mean signed error (predicted - gold) and MAE for
    the step's holistic level and for its criteria. None when no item carries a profile."""
    got: dict[str, dict[str, tuple[list[int], list[int]]]] = {}
    for item in items:
        if item["failed"]:
            continue
        for step, tag in (item.get("profile") or {}).items():
            crit = [k for k in item["criteria"] if k.startswith(step + ".")]
            for kind, keys in (("holistic", [step]), ("criteria", crit)):
                g, p, _ = pairs([item], "steps" if kind == "holistic" else "criteria", keys)
                gg, pp = got.setdefault(tag, {"holistic": ([], []), "criteria": ([], [])})[kind]
                gg += g
                pp += p
    if not got:
        return None
    order = sorted(got, key=lambda t: (TAG_ORDER.index(t) if t in TAG_ORDER else len(TAG_ORDER),
                                       t))
    return {tag: {kind: _tag_block(*got[tag][kind]) for kind in ("holistic", "criteria")}
            for tag in order}


def _step_weights() -> dict[str, float]:
    from agent.rubrics import default_rubrics

    rubrics = default_rubrics()
    return {step: r.weight for step, r in rubrics.rubrics.items()}


def analyse(results: dict[str, Any], n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    items = results["items"]
    repeats = max((len(e["predicted"]) for i in items for e in i["steps"].values()), default=1)
    ok = [i for i in items if not i["failed"]]
    unscored = sum(1 for i in ok for e in i["criteria"].values() for v in e["predicted"]
                   if v is None)
    per_step: dict[str, Any] = {}
    for step in STEP_KEYS:
        per_step[step] = {
            "holistic": with_ci(*pairs(items, "steps", [step]), n_boot, seed),
            "criteria": with_ci(*pairs(items, "criteria", criteria_of(items, step)),
                                n_boot, seed),
        }
    per_criterion = {
        cid: with_ci(*pairs(items, "criteria", [cid]), n_boot // 4, seed, CI_FEW)
        for cid in sorted({c for i in items for c in i["criteria"]})
    }

    def scale(kind: str) -> dict[str, Any]:
        predicted = [v for i in ok for e in i[kind].values() for v in e["predicted"][:1]]
        gold = [gold_of(e["gold"]) for i in ok for e in i[kind].values()]
        return {"predicted": level_distribution(predicted),
                "gold": level_distribution([g for g in gold if g is not None])}

    def retest(kind: str) -> dict[str, Any] | None:
        if repeats < 2:
            return None
        runs = [[e["predicted"][r] if r < len(e["predicted"]) else None
                 for i in ok for e in i[kind].values()] for r in range(repeats)]
        keep = [k for k in range(len(runs[0])) if all(run[k] is not None for run in runs)]
        return test_retest([[int(run[k] or 0) for k in keep] for run in runs])

    out: dict[str, Any] = {
        "items_scored": len(ok),
        "items_failed": len(items) - len(ok),
        "unscored_criteria": unscored,
        "overall": {
            "steps": with_ci(*pairs(items, "steps"), n_boot, seed),
            "criteria": with_ci(*pairs(items, "criteria"), n_boot, seed),
        },
        "per_step": per_step,
        "per_criterion": per_criterion,
        "per_criterion_ci_metrics": list(CI_FEW),
        "by_tag": by_tag(items),
        "by_interview_tag": tags.by_tag(items, _step_weights()),   # issue 9: every tag
        "judge_samples": tags.judge_samples(items),
        "level_distribution": scale("criteria"),          # criterion levels
        "level_distribution_steps": scale("steps"),       # holistic step levels
        "human_human": human_human(items, n_boot, seed),
        "test_retest": retest("criteria"),                # criterion levels
        "test_retest_steps": retest("steps"),             # holistic step levels
    }
    return out


def label_items(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """Results-shaped items (gold only) straight from datasets, for the human-human ceiling."""
    from evals.dataset import load_dataset

    items = []
    for path in paths:
        for iv in load_dataset(path).interviews:
            steps: dict[str, Any] = {}
            crit: dict[str, Any] = {}
            for lab in iv.labels:
                for k, v in lab.steps.items():
                    steps.setdefault(k, {"gold": {}, "predicted": []})["gold"][lab.rater] = v
                for k, v in lab.criteria.items():
                    crit.setdefault(k, {"gold": {}, "predicted": []})["gold"][lab.rater] = v
            items.append({"id": f"{path.stem}/{iv.id}", "failed": False, "steps": steps,
                          "criteria": crit})
    return items


def ceiling(paths: Sequence[Path], n_boot: int = 1000, seed: int = 0) -> dict[str, Any] | None:
    """The human-human ceiling over every double-rated interview in the given datasets."""
    out = human_human(label_items(paths), n_boot, seed)
    if out is not None:
        out["datasets"] = [str(p) for p in paths]
    return out


def main(argv: Sequence[str]) -> int:
    """``python -m evals.analysis DATASET...``: the pooled human-human ceiling as Markdown."""
    from evals.outputs import ceiling_markdown

    if not argv or any(a.startswith("-") for a in argv):
        sys.stderr.write("usage: python -m evals.analysis DATASET.jsonl [DATASET.jsonl ...]\n")
        return 2
    try:
        hh = ceiling([Path(a) for a in argv])
    except ValueError as e:
        sys.stderr.write(f"evals.analysis: {e}\n")
        return 1
    sys.stdout.write(ceiling_markdown(hh))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
