"""Agreement between a scorer and the human labels in a results file, with bootstrap intervals.

Gold is the first rater listed for each interview. Items that failed to score are left out and
counted; unscored criteria are left out and counted; nothing is silently filled in.
Intervals resample whole interviews (criteria of one interview are not independent).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from evals.metrics import (
    METRICS,
    agreement,
    bootstrap_ci,
    level_distribution,
    test_retest,
)

STEP_KEYS = ("clarify", "diagnose", "goals", "prioritize", "solutions", "validate",
             "cross_cutting")
Pairs = tuple[list[int], list[int], list[str]]


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


def human_human(items: list[dict[str, Any]], n_boot: int, seed: int) -> dict[str, Any] | None:
    """First rater vs second rater, where an interview has two."""
    g_s: list[int] = []
    p_s: list[int] = []
    c_s: list[str] = []
    g_c: list[int] = []
    p_c: list[int] = []
    c_c: list[str] = []
    for item in items:
        for kind, (g, p, c) in (("steps", (g_s, p_s, c_s)), ("criteria", (g_c, p_c, c_c))):
            for entry in item[kind].values():
                labels = list(entry["gold"].values())
                if len(labels) >= 2:
                    g.append(labels[0])
                    p.append(labels[1])
                    c.append(item["id"])
    if not g_s and not g_c:
        return None
    raters = sorted({r for i in items for e in i["steps"].values() for r in e["gold"]})
    return {
        "raters": raters,
        "items": len(set(c_s) | set(c_c)),
        "steps": with_ci(g_s, p_s, c_s, n_boot, seed),
        "criteria": with_ci(g_c, p_c, c_c, n_boot, seed),
    }


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
        cid: with_ci(*pairs(items, "criteria", [cid]), n_boot // 4, seed, ("qwk", "exact"))
        for cid in sorted({c for i in items for c in i["criteria"]})
    }
    predicted = [v for i in ok for e in i["criteria"].values() for v in e["predicted"][:1]]
    gold = [gold_of(e["gold"]) for i in ok for e in i["criteria"].values()]
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
        "level_distribution": {
            "predicted": level_distribution(predicted),
            "gold": level_distribution([g for g in gold if g is not None]),
        },
        "human_human": human_human(ok, n_boot, seed),
        "test_retest": None,
    }
    if repeats >= 2:
        runs = [[v for i in ok for e in i["criteria"].values()
                 for v in [e["predicted"][r]]] for r in range(repeats)]
        keep = [k for k in range(len(runs[0])) if all(run[k] is not None for run in runs)]
        out["test_retest"] = test_retest([[int(run[k] or 0) for k in keep] for run in runs])
    return out
