"""Agreement between a scorer and the human labels in a results file, with bootstrap intervals.

Gold is the first rater listed for each interview. Items that failed to score are left out and
counted; unscored criteria are left out and counted; nothing is silently filled in.
Intervals resample whole interviews (criteria of one interview are not independent).

Intervals: every metric of every block (overall, per step, per criterion, the human-human rows)
at ``n_boot`` resamples, all metrics of a block from the same resamples (the bootstrap is
vectorised, see evals/metrics.py, so this costs well under a second for 1,000 interviews).
Agreement by answer tag has no intervals. The label pairs are flattened into arrays once per
analysis (``_Flat``); each block is then a mask over them rather than a pass over every item.

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

import numpy as np
import numpy.typing as npt

from evals import tags
from evals.metrics import (
    METRICS,
    Clusters,
    Levels,
    agreement,
    bootstrap_cis_many,
    forget_resamples,
    level_distribution,
    mean_signed_error,
    test_retest,
)

STEP_KEYS = ("clarify", "diagnose", "goals", "prioritize", "solutions", "validate",
             "cross_cutting")
Pairs = tuple[list[int], list[int], list[str]]
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


class _Intervals:
    """Blocks whose intervals are computed together: ``block`` gives a block's agreement at
    once, with an empty ``ci95`` that ``fill`` completes for every block in one batch
    (metrics.bootstrap_cis_many: the same intervals as one ``bootstrap_cis`` per block).
    ``_analyse`` and ``human_human`` add their blocks to one batch."""

    def __init__(self, n_boot: int, seed: int, metrics: Sequence[str] = METRICS) -> None:
        self.n_boot, self.seed, self.metrics = n_boot, seed, metrics
        self.pending: list[tuple[dict[str, list[float | None]], Levels, Levels, Clusters]] = []

    def block(self, g: Levels, p: Levels, clusters: Clusters) -> dict[str, Any]:
        out: dict[str, Any] = dict(agreement(g, p))
        ci: dict[str, list[float | None]] = {}
        if self.n_boot > 0 and len(g) >= 5:
            self.pending.append((ci, g, p, clusters))
        out["ci95"] = ci
        return out

    def fill(self) -> None:
        if not self.pending:
            return
        got = bootstrap_cis_many([(g, p, c) for _, g, p, c in self.pending], self.metrics,
                                 n_boot=self.n_boot, seed=self.seed)
        for (ci, *_), cis in zip(self.pending, got, strict=True):
            for name, (lo, hi) in cis.items():
                ci[name] = [lo, hi]
        self.pending = []


IntArray = npt.NDArray[np.int64]


class _Flat:
    """Every (interview, key) entry of one kind ("steps" or "criteria") as flat arrays, in
    item order and then each item's key order (the order ``pairs`` yields them), so a block
    is a boolean mask instead of a pass over every item. Levels are 0 where absent; the
    cluster of an entry is its interview's rank among the sorted interview ids, which orders
    clusters exactly as the ids themselves would."""

    def __init__(self, items: Sequence[dict[str, Any]], kind: str, rank: dict[str, int],
                 repeat: int = 0) -> None:
        keys: dict[str, int] = {}
        key, cluster, failed, gold, second, pred = [], [], [], [], [], []
        for item in items:
            r, bad = rank[item["id"]], bool(item["failed"])
            for k, entry in item[kind].items():
                labels = list(entry["gold"].values())
                predicted = entry["predicted"]
                key.append(keys.setdefault(k, len(keys)))
                cluster.append(r)
                failed.append(bad)
                gold.append(labels[0] if labels else 0)
                second.append(labels[1] if len(labels) >= 2 else 0)
                p = predicted[repeat] if repeat < len(predicted) else None
                pred.append(0 if p is None else p)
        self.keys = keys
        self.key = np.asarray(key, dtype=np.int64)
        self.cluster = np.asarray(cluster, dtype=np.int64)
        self.failed = np.asarray(failed, dtype=bool)
        self.gold = np.asarray(gold, dtype=np.int64)
        self.second = np.asarray(second, dtype=np.int64)
        self.pred = np.asarray(pred, dtype=np.int64)

    def of_step(self, step: str) -> list[str]:
        """The keys of one step's criteria, sorted."""
        return sorted(k for k in self.keys if k.startswith(step + "."))

    def _keys(self, keys: Iterable[str] | None) -> npt.NDArray[np.bool_]:
        if keys is None:
            return np.ones(self.key.size, dtype=bool)
        wanted = [self.keys[k] for k in keys if k in self.keys]
        return np.isin(self.key, np.asarray(wanted, dtype=np.int64))

    def scored(self, keys: Iterable[str] | None = None) -> tuple[IntArray, IntArray, IntArray]:
        """(gold, predicted, clusters) over scored items, as ``pairs`` gives them."""
        m = self._keys(keys) & ~self.failed & (self.gold > 0) & (self.pred > 0)
        return self.gold[m], self.pred[m], self.cluster[m]

    def raters(self, keys: Iterable[str] | None = None) -> tuple[IntArray, IntArray, IntArray]:
        """(first rater, second rater, clusters) wherever two raters labelled a key."""
        m = self._keys(keys) & (self.second > 0)
        return self.gold[m], self.second[m], self.cluster[m]


def _ranks(items: Sequence[dict[str, Any]]) -> dict[str, int]:
    return {iid: n for n, iid in enumerate(sorted({i["id"] for i in items}))}


def human_human(items: list[dict[str, Any]], n_boot: int, seed: int,
                flat: dict[str, _Flat] | None = None,
                intervals: _Intervals | None = None) -> dict[str, Any] | None:
    """First rater vs second rater, where an interview has two: pooled and per step.
    ``flat``: the items' flat tables if the caller has them already; ``intervals``: the
    caller's batch, which it fills (without one, they are filled here)."""
    own = intervals is None
    iv = _Intervals(n_boot, seed) if intervals is None else intervals
    rank = _ranks(items)
    flat = flat or {kind: _Flat(items, kind, rank) for kind in ("steps", "criteria")}
    g_s, p_s, c_s = flat["steps"].raters()
    g_c, p_c, c_c = flat["criteria"].raters()
    if not g_s.size and not g_c.size:
        return None
    raters = sorted({r for i in items for e in i["steps"].values() for r in e["gold"]})
    per_step = {}
    for step in STEP_KEYS:
        per_step[step] = {
            "holistic": iv.block(*flat["steps"].raters([step])),
            "criteria": iv.block(*flat["criteria"].raters(flat["criteria"].of_step(step))),
        }
    by_rank = sorted(rank, key=rank.__getitem__)
    ids = sorted({by_rank[c] for c in (*c_s.tolist(), *c_c.tolist())})
    out = {
        "raters": raters,
        "items": len(ids),
        "of": len(items),
        "ids": ids,
        "steps": iv.block(g_s, p_s, c_s),
        "criteria": iv.block(g_c, p_c, c_c),
        "per_step": per_step,
    }
    if own:
        iv.fill()
    return out


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
    """Every metric block of a results file (see the module docstring).

    BLAS runs on one thread here: the bootstrap's matrix products are small (1,000 resamples x
    1,000 interviews x 16 cells), where a second thread saves little and, on a busy machine,
    waiting for it costs far more."""
    from threadpoolctl import threadpool_limits

    try:
        with threadpool_limits(limits=1, user_api="blas"):
            return _analyse(results, n_boot, seed)
    finally:
        forget_resamples()


def _analyse(results: dict[str, Any], n_boot: int, seed: int) -> dict[str, Any]:
    items = results["items"]
    repeats = max((len(e["predicted"]) for i in items for e in i["steps"].values()), default=1)
    ok = [i for i in items if not i["failed"]]
    # Every criterion score left without a level, in failed items too (a model that never
    # follows the schema fails every item: the count must say so, not 0).
    unscored = sum(1 for i in items for e in i["criteria"].values() for v in e["predicted"]
                   if v is None)
    rank = _ranks(items)
    flat = {kind: _Flat(items, kind, rank) for kind in ("steps", "criteria")}
    iv = _Intervals(n_boot, seed)  # every block's intervals, filled in one batch at the end
    per_step: dict[str, Any] = {}
    for step in STEP_KEYS:
        per_step[step] = {
            "holistic": iv.block(*flat["steps"].scored([step])),
            "criteria": iv.block(*flat["criteria"].scored(flat["criteria"].of_step(step))),
        }
    per_criterion = {
        cid: iv.block(*flat["criteria"].scored([cid]))
        for cid in sorted(flat["criteria"].keys)
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
            "steps": iv.block(*flat["steps"].scored()),
            "criteria": iv.block(*flat["criteria"].scored()),
        },
        "per_step": per_step,
        "per_criterion": per_criterion,
        "per_criterion_ci_metrics": list(METRICS),
        "by_tag": by_tag(items),
        "by_interview_tag": tags.by_tag(items, _step_weights()),   # issue 9: every tag
        "judge_samples": tags.judge_samples(items),
        "level_distribution": scale("criteria"),          # criterion levels
        "level_distribution_steps": scale("steps"),       # holistic step levels
        "human_human": human_human(items, n_boot, seed, flat, iv),
        "test_retest": retest("criteria"),                # criterion levels
        "test_retest_steps": retest("steps"),             # holistic step levels
    }
    iv.fill()
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
