"""Agreement metrics between an automatic scorer's 1-4 levels and human graders' 1-4 levels.

Why these metrics: the levels are ordinal, so chance-corrected, distance-aware statistics
(quadratic-weighted kappa, Krippendorff's ordinal alpha, Spearman) say more than raw agreement;
exact/adjacent agreement and MAE are kept because people read them at a glance.

Where the numbers come from:

- Point estimates (``agreement``, ``metric_value``, the base/new values of
  ``paired_bootstrap_delta``) use the reference implementations, so they match what a reviewer
  gets from them: QWK is ``sklearn.metrics.cohen_kappa_score(weights="quadratic",
  labels=[1, 2, 3, 4])``, exact agreement ``sklearn.metrics.accuracy_score``, MAE
  ``sklearn.metrics.mean_absolute_error``, Spearman ``scipy.stats.spearmanr``, alpha
  ``krippendorff.alpha(level_of_measurement="ordinal")``. Adjacent agreement (share of pairs at
  most one level apart) has no library function; it is ``mean(|gold - pred| <= 1)``.
- Inside the bootstrap loops (``bootstrap_ci``, ``paired_bootstrap_delta``: ~1000 resamples per
  interval, a few hundred intervals per run) QWK, exact, adjacent and MAE use the numpy fast
  paths in ``_FAST``. They compute the same quantities -- tests/test_metrics.py checks them equal
  to scikit-learn to 1e-12 on random and degenerate data -- but skip scikit-learn's per-call
  input validation, which is ~90% of its cost on arrays this small and would make a run several
  times slower. Spearman and alpha have no fast path: the libraries are used in the loop too.
- ``mean_signed_error`` (predicted - gold) is ``mean(pred - gold)``: the direction of the error,
  which MAE hides (a scorer that over-scores long-but-empty answers shows a positive value).

Degenerate input (a constant array, both raters on one level) makes the libraries warn and
return NaN; here that becomes ``None`` so reports and JSON never carry NaN, and the warnings are
silenced in this module (the test suite turns warnings into errors).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from itertools import combinations

import krippendorff
import numpy as np
import numpy.typing as npt
from scipy.stats import spearmanr
from sklearn.metrics import accuracy_score, cohen_kappa_score, mean_absolute_error

LEVELS = (1, 2, 3, 4)
METRICS = ("qwk", "spearman", "exact", "adjacent", "alpha", "mae")

IntArray = npt.NDArray[np.int64]


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence library warnings on degenerate input; the NaN they flag becomes None instead.

    Entered once around a whole bootstrap loop rather than per call: catch_warnings is not free.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _as_levels(values: Sequence[int], what: str) -> IntArray:
    """Validate labels early: an out-of-range level would silently distort every statistic."""
    raw = np.asarray(values).reshape(-1)
    ok = np.isin(raw, LEVELS)  # also rejects None (object dtype) and 2.5 (would truncate)
    if not ok.all():
        raise ValueError(f"{what}: levels must be in {LEVELS}, got {raw[~ok][:5].tolist()}")
    return raw.astype(np.int64)


def _pair(gold: Sequence[int], pred: Sequence[int]) -> tuple[IntArray, IntArray]:
    """Paired arrays; mismatched lengths mean the caller lost the item alignment, so fail."""
    g, p = _as_levels(gold, "gold"), _as_levels(pred, "pred")
    if g.shape != p.shape:
        raise ValueError(f"gold and pred differ in length: {g.size} != {p.size}")
    return g, p


def _finite(x: float) -> float | None:
    """NaN/inf from a library means 'undefined here'; callers get None."""
    x = float(x)
    return x if math.isfinite(x) else None


def _qwk(g: IntArray, p: IntArray) -> float:
    # labels fixed to LEVELS so the weight matrix is the same on every (re)sample.
    return float(cohen_kappa_score(g, p, weights="quadratic", labels=list(LEVELS)))


def _spearman(g: IntArray, p: IntArray) -> float:
    return float(spearmanr(g, p).statistic)


def _alpha(g: IntArray, p: IntArray) -> float:
    return float(
        krippendorff.alpha(
            reliability_data=[g, p], level_of_measurement="ordinal", value_domain=list(LEVELS)
        )
    )


def _exact(g: IntArray, p: IntArray) -> float:
    return float(accuracy_score(g, p))


def _adjacent(g: IntArray, p: IntArray) -> float:
    return float(np.mean(np.abs(g - p) <= 1))  # no library function for this one


def _mae(g: IntArray, p: IntArray) -> float:
    return float(mean_absolute_error(g, p))


def _exact_fast(g: IntArray, p: IntArray) -> float:
    return float(np.mean(g == p))


def _mae_fast(g: IntArray, p: IntArray) -> float:
    return float(np.mean(np.abs(g - p)))


_W = (np.subtract.outer(np.arange(4), np.arange(4)) ** 2).astype(float)


def _qwk_resample(g: IntArray, p: IntArray) -> float:
    """QWK for bootstrap resamples: the same quantity as sklearn's cohen_kappa_score with
    quadratic weights and labels 1-4 (tests check equality on random and degenerate data), but
    without its per-call input validation, which is ~90% of the cost of 1000 resamples."""
    observed = np.bincount((g - 1) * 4 + (p - 1), minlength=16).reshape(4, 4).astype(float)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    denom = float((_W * expected).sum())
    if denom == 0.0:
        return math.nan
    return 1.0 - float((_W * observed).sum()) / denom


# Bootstrap-loop implementations (see the module docstring); equal to _IMPL's, tested.
_FAST: dict[str, Callable[[IntArray, IntArray], float]] = {
    "qwk": _qwk_resample,
    "exact": _exact_fast,
    "adjacent": _adjacent,
    "mae": _mae_fast,
}

_IMPL: dict[str, Callable[[IntArray, IntArray], float]] = {
    "qwk": _qwk,
    "spearman": _spearman,
    "exact": _exact,
    "adjacent": _adjacent,
    "alpha": _alpha,
    "mae": _mae,
}


def _metric(name: str, g: IntArray, p: IntArray, resample: bool = False) -> float | None:
    """Unrounded metric on validated arrays; call inside _quiet()."""
    if g.size == 0:
        return None
    impl = _FAST.get(name, _IMPL[name]) if resample else _IMPL[name]
    return _finite(impl(g, p))


def _check_name(name: str) -> None:
    if name not in _IMPL:
        raise ValueError(f"unknown metric {name!r}; expected one of {METRICS}")


def _r(x: float | None) -> float | None:
    """Round for reporting: 4 decimals is well below the bootstrap noise of any eval we run."""
    return None if x is None else round(x, 4)


def agreement(gold: Sequence[int], pred: Sequence[int]) -> dict[str, float | int | None]:
    """n plus every metric in METRICS for paired 1-4 labels, floats rounded to 4 decimals.

    Undefined values (Spearman on a constant array, kappa when both raters use one identical
    level, anything when n == 0) are None, never NaN, so the result is JSON-safe.
    """
    g, p = _pair(gold, pred)
    out: dict[str, float | int | None] = {"n": int(g.size)}
    with _quiet():
        for name in METRICS:
            out[name] = _r(_metric(name, g, p))
    return out


def metric_value(name: str, gold: Sequence[int], pred: Sequence[int]) -> float | None:
    """One metric at full precision (agreement() rounds for display; deltas should not)."""
    _check_name(name)
    g, p = _pair(gold, pred)
    with _quiet():
        return _metric(name, g, p)


def _resamples(
    n: int, clusters: Sequence[str] | None, n_boot: int, seed: int
) -> Iterator[npt.NDArray[np.intp]]:
    """Yield n_boot index arrays: whole clusters drawn with replacement, or items if no clusters.

    Criteria of one interview share a transcript, so they are not independent draws; resampling
    interviews keeps that dependence and gives honest (wider) intervals.
    """
    if n_boot < 1:
        raise ValueError("n_boot must be >= 1")
    rng = np.random.default_rng(seed)
    if clusters is None:
        for _ in range(n_boot):
            yield rng.integers(0, n, size=n)
        return
    if len(clusters) != n:
        raise ValueError(f"clusters has {len(clusters)} entries for {n} items")
    _, codes = np.unique(np.asarray(clusters, dtype=str), return_inverse=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    members = np.split(order, bounds)  # item indices per cluster
    for _ in range(n_boot):
        picks = rng.integers(0, len(members), size=len(members))
        yield np.concatenate([members[k] for k in picks])


def _percentiles(values: list[float], n_boot: int, level: float) -> tuple[float, float] | None:
    """Percentile interval, or None when under half the resamples gave a defined value
    (an interval from a biased minority of resamples would look more certain than it is)."""
    if not 0.0 < level < 1.0:
        raise ValueError("level must be in (0, 1)")
    if not values or len(values) < n_boot / 2:
        return None
    tail = 100.0 * (1.0 - level) / 2.0
    lo, hi = np.percentile(np.asarray(values), [tail, 100.0 - tail])
    return float(lo), float(hi)


def bootstrap_ci(
    gold: Sequence[int],
    pred: Sequence[int],
    name: str,
    *,
    clusters: Sequence[str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval for one metric, rounded to 4 decimals.

    Resamples CLUSTERS (e.g. interview ids) with replacement when given, else items. Resamples
    where the metric is undefined are skipped; if fewer than half are defined -> (None, None).
    Deterministic for a seed (numpy.random.default_rng).
    """
    _check_name(name)
    g, p = _pair(gold, pred)
    if g.size == 0:
        return None, None
    with _quiet():
        vals = [
            v
            for idx in _resamples(g.size, clusters, n_boot, seed)
            if (v := _metric(name, g[idx], p[idx], resample=True)) is not None
        ]
    ci = _percentiles(vals, n_boot, level)
    return (None, None) if ci is None else (_r(ci[0]), _r(ci[1]))


def paired_bootstrap_delta(
    gold: Sequence[int],
    pred_base: Sequence[int],
    pred_new: Sequence[int],
    name: str,
    *,
    clusters: Sequence[str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, float | None]:
    """{"base", "new", "delta", "lo", "hi"} comparing two scorers on the same gold labels.

    delta = metric(new) - metric(base) on the full data. The interval resamples the SAME
    clusters/items for both scorers (paired), which cancels item difficulty and is much tighter
    than comparing two independent intervals. For "mae" the sign is still new - base (lower MAE
    is better; the caller knows). Values rounded to 4 decimals.
    """
    _check_name(name)
    g, base = _pair(gold, pred_base)
    _, new = _pair(gold, pred_new)
    with _quiet():
        b, nw = _metric(name, g, base), _metric(name, g, new)
        deltas: list[float] = []
        if g.size:
            for idx in _resamples(g.size, clusters, n_boot, seed):
                vb = _metric(name, g[idx], base[idx], resample=True)
                vn = _metric(name, g[idx], new[idx], resample=True)
                if vb is not None and vn is not None:
                    deltas.append(vn - vb)
    ci = _percentiles(deltas, n_boot, level)
    delta = None if b is None or nw is None else nw - b
    return {
        "base": _r(b),
        "new": _r(nw),
        "delta": _r(delta),
        "lo": None if ci is None else _r(ci[0]),
        "hi": None if ci is None else _r(ci[1]),
    }


def mean_signed_error(gold: Sequence[int], pred: Sequence[int]) -> float | None:
    """Mean of (pred - gold), rounded to 4 decimals; None for no pairs. Positive = the scorer
    over-scores, negative = it under-scores (MAE alone cannot tell which)."""
    g, p = _pair(gold, pred)
    return None if g.size == 0 else _r(float(np.mean(p - g)))


def level_distribution(levels: Sequence[int | None]) -> dict[str, int]:
    """{"1".."4": counts, "unscored": n_none, "levels_used": k}: shows whether a scorer uses the
    whole scale or collapses onto one or two levels (which kappa alone can hide)."""
    out = {str(lv): 0 for lv in LEVELS}
    unscored = 0
    for lv in levels:
        if lv is None:
            unscored += 1
        elif lv in LEVELS:
            out[str(lv)] += 1
        else:
            raise ValueError(f"level must be in {LEVELS} or None, got {lv!r}")
    out["unscored"] = unscored
    out["levels_used"] = sum(1 for lv in LEVELS if out[str(lv)] > 0)
    return out


def test_retest(repeats: Sequence[Sequence[int]]) -> dict[str, float | int | None]:
    """Agreement of a scorer with itself across K repeated runs over the same items.

    A scorer that disagrees with itself caps its agreement with humans, so this is the noise
    floor. For K >= 2: mean over all pairs of runs of exact agreement and QWK (pairs where QWK is
    undefined are left out of its mean), plus Krippendorff's ordinal alpha over all K runs at
    once. K < 2 -> values None. Returns {"k", "n", "exact", "qwk", "alpha"}.
    """
    runs = [_as_levels(r, f"run {i}") for i, r in enumerate(repeats)]
    k = len(runs)
    n = runs[0].size if runs else 0
    if any(r.size != n for r in runs):
        raise ValueError("all repeated runs must score the same items")
    out: dict[str, float | int | None] = {"k": k, "n": n, "exact": None, "qwk": None, "alpha": None}
    if k < 2 or n == 0:
        return out
    with _quiet():
        pairs = list(combinations(runs, 2))
        out["exact"] = _r(float(np.mean([_exact(a, b) for a, b in pairs])))
        qwks = [q for a, b in pairs if (q := _metric("qwk", a, b)) is not None]
        out["qwk"] = _r(float(np.mean(qwks))) if qwks else None
        out["alpha"] = _r(
            _finite(
                krippendorff.alpha(
                    reliability_data=np.stack(runs),
                    level_of_measurement="ordinal",
                    value_domain=list(LEVELS),
                )
            )
        )
    return out
