"""Agreement metrics between an automatic scorer's 1-4 levels and human graders' 1-4 levels.

Why these metrics: the levels are ordinal, so chance-corrected, distance-aware statistics
(quadratic-weighted kappa, Krippendorff's ordinal alpha, Spearman) say more than raw agreement;
exact/adjacent agreement and MAE are kept because people read them at a glance.

Where the numbers come from:

- Point estimates (``agreement``, ``metric_value``, the base/new values of
  ``paired_bootstrap_delta``) are the reference implementations' numbers, so they match what a
  reviewer gets from them: QWK is ``sklearn.metrics.cohen_kappa_score(weights="quadratic",
  labels=[1, 2, 3, 4])``, exact agreement ``sklearn.metrics.accuracy_score``, MAE
  ``sklearn.metrics.mean_absolute_error``, Spearman ``scipy.stats.spearmanr``, alpha
  ``krippendorff.alpha(level_of_measurement="ordinal")``. Adjacent agreement (share of pairs at
  most one level apart) has no library function; it is ``mean(|gold - pred| <= 1)``.
  ``metric_value`` calls the libraries. ``agreement`` (rounded to 4 decimals, for reports)
  gets the same rounded numbers without them: see there.
- The bootstrap (``bootstrap_cis``, ``bootstrap_ci``, ``paired_bootstrap_delta``) is vectorised:
  every metric here is a function of the 4x4 confusion matrix of (gold, predicted) levels, so
  one matrix product (resample multiplicities x per-cluster confusion counts) gives the
  confusion matrix of every resample at once, and each metric is computed for all resamples
  together from those: QWK from observed vs expected weighted disagreement, exact / adjacent /
  MAE from the diagonal bands, Spearman as the Pearson correlation of mid-ranks (ties averaged,
  as ``scipy.stats.rankdata`` does), Krippendorff's ordinal alpha from the coincidence matrix
  (C + C^T for two raters) and the ordinal distances of its marginals, as ``krippendorff``
  computes it. The resamples are drawn exactly as the earlier loop drew them (one
  ``rng.integers`` call per resample), so intervals equal the loop's up to floating-point
  rounding; tests/test_metrics.py checks every metric against the libraries on random and
  degenerate data, and the intervals against a plain bootstrap loop on the shipped datasets.
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
from functools import lru_cache
from itertools import combinations
from typing import Any

import numpy as np
import numpy.typing as npt

# scikit-learn, scipy and krippendorff are imported where they are called: agreement() needs
# them only in rare cases (see there), and importing them costs more than a whole analysis.

LEVELS = (1, 2, 3, 4)
METRICS = ("qwk", "spearman", "exact", "adjacent", "alpha", "mae")

IntArray = npt.NDArray[np.int64]
Levels = Sequence[int] | npt.NDArray[np.integer[Any]]
"""Paired 1-4 levels: a list, or a numpy integer array (analysis passes arrays)."""


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence library warnings on degenerate input; the NaN they flag becomes None instead.

    Entered once around a whole bootstrap loop rather than per call: catch_warnings is not free.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _as_levels(values: Levels, what: str) -> IntArray:
    """Validate labels early: an out-of-range level would silently distort every statistic."""
    raw = np.asarray(values).reshape(-1)
    ok = np.isin(raw, LEVELS)  # also rejects None (object dtype) and 2.5 (would truncate)
    if not ok.all():
        raise ValueError(f"{what}: levels must be in {LEVELS}, got {raw[~ok][:5].tolist()}")
    return raw.astype(np.int64)


def _pair(gold: Levels, pred: Levels) -> tuple[IntArray, IntArray]:
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
    from sklearn.metrics import cohen_kappa_score

    # labels fixed to LEVELS so the weight matrix is the same on every (re)sample.
    return float(cohen_kappa_score(g, p, weights="quadratic", labels=list(LEVELS)))


def _spearman(g: IntArray, p: IntArray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(g, p).statistic)


def _alpha(g: IntArray, p: IntArray) -> float:
    import krippendorff

    return float(
        krippendorff.alpha(
            reliability_data=[g, p], level_of_measurement="ordinal", value_domain=list(LEVELS)
        )
    )


def _exact(g: IntArray, p: IntArray) -> float:
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(g, p))


def _adjacent(g: IntArray, p: IntArray) -> float:
    return float(np.mean(np.abs(g - p) <= 1))  # no library function for this one


def _mae(g: IntArray, p: IntArray) -> float:
    from sklearn.metrics import mean_absolute_error

    return float(mean_absolute_error(g, p))


_IMPL: dict[str, Callable[[IntArray, IntArray], float]] = {
    "qwk": _qwk,
    "spearman": _spearman,
    "exact": _exact,
    "adjacent": _adjacent,
    "alpha": _alpha,
    "mae": _mae,
}


def _metric(name: str, g: IntArray, p: IntArray) -> float | None:
    """Unrounded metric on validated arrays; call inside _quiet()."""
    if g.size == 0:
        return None
    return _finite(_IMPL[name](g, p))


def _check_name(name: str) -> None:
    if name not in _IMPL:
        raise ValueError(f"unknown metric {name!r}; expected one of {METRICS}")


def _r(x: float | None) -> float | None:
    """Round for reporting: 4 decimals is well below the bootstrap noise of any eval we run."""
    return None if x is None else round(x, 4)


def agreement(gold: Levels, pred: Levels) -> dict[str, float | int | None]:
    """n plus every metric in METRICS for paired 1-4 labels, floats rounded to 4 decimals.

    Undefined values (Spearman on a constant array, kappa when both raters use one identical
    level, anything when n == 0) are None, never NaN, so the result is JSON-safe.

    The values are the reference libraries' (see the module docstring), computed the fast way,
    from the confusion matrix. Exact, adjacent and MAE are then the very same float (an integer
    count divided by n, as the libraries compute them). QWK, Spearman and alpha agree with the
    libraries to ~1e-15 (tested to 1e-12), and are undefined (NaN -> None) in exactly the same
    degenerate cases; where they could still round differently -- within 1e-9 of a 4-decimal
    rounding boundary -- the library itself is asked, so every reported value is exactly the
    library's. (Importing scikit-learn and scipy, and their per-call input checks, cost more
    than a whole analysis does otherwise.)
    """
    g, p = _pair(gold, pred)
    out: dict[str, float | int | None] = {"n": int(g.size)}
    if g.size == 0:
        return {**out, **dict.fromkeys(METRICS)}
    conf = np.bincount((g - 1) * len(LEVELS) + (p - 1), minlength=16).astype(np.float64)
    fast = _from_confusions(conf[None, :], METRICS)
    with _quiet():
        for name in METRICS:
            value = float(fast[name][0])
            if name in _AS_THE_LIBRARY and math.isfinite(value) and _near_rounding_edge(value):
                out[name] = _r(_finite(_AS_THE_LIBRARY[name](g, p)))
            else:
                out[name] = _r(_finite(value))
    return out


def _qwk_as_sklearn(g: IntArray, p: IntArray) -> float:
    """scikit-learn's cohen_kappa_score (quadratic, labels 1-4) operation for operation, on the
    same float64 confusion matrix, so the very same float (tested bit for bit) without
    importing scikit-learn."""
    confusion = np.bincount((g - 1) * len(LEVELS) + (p - 1), minlength=16).reshape(
        len(LEVELS), len(LEVELS)).astype(np.float64)
    sum0, sum1 = np.sum(confusion, axis=0), np.sum(confusion, axis=1)
    total = np.sum(sum0)
    if total == 0:
        return math.nan
    expected = np.outer(sum0, sum1) / total
    w_mat = np.zeros([len(LEVELS), len(LEVELS)], dtype=np.float64)
    w_mat += np.arange(len(LEVELS))
    w_mat = (w_mat - w_mat.T) ** 2
    numerator, denominator = np.sum(w_mat * confusion), np.sum(w_mat * expected)
    if denominator == 0:
        return math.nan
    return float(1 - numerator / denominator)


def _spearman_as_scipy(g: IntArray, p: IntArray) -> float:
    """scipy's spearmanr for two 1-D arrays: average ranks, then numpy's corrcoef of the
    stacked columns -- the same float (tested bit for bit) without importing scipy."""
    if g.size <= 1 or (g == g[0]).all() or (p == p[0]).all():
        return math.nan

    def ranks(x: IntArray) -> npt.NDArray[np.float64]:
        counts = np.bincount(x - 1, minlength=len(LEVELS)).astype(np.float64)
        mid = np.cumsum(counts) - counts + (counts + 1.0) / 2.0
        return mid[x - 1]

    rs = np.asarray(np.corrcoef(np.column_stack((ranks(g), ranks(p))), rowvar=False))
    return float(rs[1, 0])


#: The library computation behind QWK, Spearman and alpha, which agreement() asks where its
#: fast value could round apart from the library's (those three are not a ratio of integer
#: counts). krippendorff itself is light to import; the other two are exact replicas.
_AS_THE_LIBRARY: dict[str, Callable[[IntArray, IntArray], float]] = {
    "qwk": _qwk_as_sklearn, "spearman": _spearman_as_scipy, "alpha": _alpha}


def _near_rounding_edge(x: float) -> bool:
    """Within 1e-9 of a value halfway between two 4-decimal numbers."""
    scaled = x * 1e4
    return abs(scaled - math.floor(scaled) - 0.5) < 1e-5


def metric_value(name: str, gold: Levels, pred: Levels) -> float | None:
    """One metric at full precision (agreement() rounds for display; deltas should not)."""
    _check_name(name)
    g, p = _pair(gold, pred)
    with _quiet():
        return _metric(name, g, p)


# -- the bootstrap, vectorised over resamples (see the module docstring) ----------------------

FloatArray = npt.NDArray[np.float64]
_LEVEL_IDX = np.arange(len(LEVELS))
_QW = (np.subtract.outer(_LEVEL_IDX, _LEVEL_IDX) ** 2).astype(np.float64)  # QWK weights
_DIST = np.abs(np.subtract.outer(_LEVEL_IDX, _LEVEL_IDX)).astype(np.float64)  # |i - j|
_NEAR = (_DIST <= 1).astype(np.float64)  # adjacent: at most one level apart
_I, _J = np.meshgrid(_LEVEL_IDX, _LEVEL_IDX, indexing="ij")
_LO, _HI = np.minimum(_I, _J), np.maximum(_I, _J)


Clusters = Sequence[Any] | npt.NDArray[Any]


def _cluster_codes(n: int, clusters: Clusters | None) -> tuple[IntArray, int]:
    """Each item's cluster number and the number of clusters. Clusters are numbered in the
    sorted order of their ids (as ``np.unique`` sorts them); without clusters every item is its
    own, in item order. Integer ids sort as integers, anything else as strings."""
    if clusters is None:
        return np.arange(n, dtype=np.int64), n
    if len(clusters) != n:
        raise ValueError(f"clusters has {len(clusters)} entries for {n} items")
    raw = np.asarray(clusters)
    ids = raw if raw.dtype.kind in "iu" else raw.astype(str)
    uniq, codes = np.unique(ids, return_inverse=True)
    return codes.reshape(-1).astype(np.int64), int(uniq.size)


@lru_cache(maxsize=4)
def _multiplicities(k: int, n_boot: int, seed: int) -> FloatArray:
    """(n_boot, k): how often each of k clusters is drawn in each resample (k draws with
    replacement). One ``rng.integers(0, k, size=k)`` call per resample, in order, so the
    resamples are exactly those of a plain bootstrap loop with the same seed. Depends only on
    (k, n_boot, seed), so every block over the same number of interviews shares it."""
    rng = np.random.default_rng(seed)
    picks = np.empty((n_boot, k), dtype=np.int64)
    for b in range(n_boot):
        picks[b] = rng.integers(0, k, size=k)
    picks += (np.arange(n_boot, dtype=np.int64) * k)[:, None]
    counts = np.bincount(picks.ravel(), minlength=n_boot * k).reshape(n_boot, k)
    weights = counts.astype(np.float64)
    weights.flags.writeable = False
    return weights


def forget_resamples() -> None:
    """Free the cached resample matrices (n_boot x interviews each; 8 MB at 1,000 x 1,000)."""
    _multiplicities.cache_clear()


def _cluster_confusions(g: IntArray, p: IntArray, codes: IntArray, k: int) -> FloatArray:
    """(k, 16): each cluster's confusion counts, row-major (gold level, predicted level)."""
    cell = (g - 1) * len(LEVELS) + (p - 1)
    flat = np.bincount(codes * 16 + cell, minlength=k * 16)
    return flat.reshape(k, 16).astype(np.float64)


def _midranks(counts: FloatArray) -> FloatArray:
    """(B, 4) mid-rank of each level given per-resample level counts (ties averaged)."""
    before = np.cumsum(counts, axis=1) - counts
    ranks: FloatArray = before + (counts + 1.0) / 2.0
    return ranks


def _from_confusions(conf: FloatArray, names: Sequence[str]) -> dict[str, FloatArray]:
    """Each metric for every resample at once, from (B, 16) confusion counts; NaN where a
    metric is undefined for a resample (as the libraries return NaN there)."""
    c = conf.reshape(-1, len(LEVELS), len(LEVELS))
    n = c.sum(axis=(1, 2))
    rows, cols = c.sum(axis=2), c.sum(axis=1)  # gold and predicted level counts
    out: dict[str, FloatArray] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for name in names:
            if name == "exact":
                out[name] = np.trace(c, axis1=1, axis2=2) / n
            elif name == "adjacent":
                out[name] = (c * _NEAR).sum(axis=(1, 2)) / n
            elif name == "mae":
                out[name] = (c * _DIST).sum(axis=(1, 2)) / n
            elif name == "qwk":
                observed = (c * _QW).sum(axis=(1, 2))
                expected = np.einsum("bi,ij,bj->b", rows, _QW, cols) / n
                out[name] = np.where(expected == 0.0, np.nan, 1.0 - observed / expected)
            elif name == "spearman":
                mean = ((n + 1.0) / 2.0)[:, None]
                dg, dp = _midranks(rows) - mean, _midranks(cols) - mean
                cov = np.einsum("bij,bi,bj->b", c, dg, dp)
                var = (rows * dg**2).sum(axis=1) * (cols * dp**2).sum(axis=1)
                out[name] = np.where(var == 0.0, np.nan, cov / np.sqrt(var))
            elif name == "alpha":
                o = c + c.transpose(0, 2, 1)  # coincidences: both orders of each pair
                nv = o.sum(axis=1)
                cum = np.cumsum(nv, axis=1)
                between = cum[:, _HI] - cum[:, _LO] + nv[:, _LO]  # sum of nv over lo..hi
                d = (between - (nv[:, _I] + nv[:, _J]) / 2.0) ** 2
                e = (nv[:, :, None] * nv[:, None, :] - nv[:, :, None] * np.eye(len(LEVELS)))
                e /= (nv.sum(axis=1) - 1.0)[:, None, None]
                out[name] = 1.0 - (o * d).sum(axis=(1, 2)) / (e * d).sum(axis=(1, 2))
            else:
                raise ValueError(f"unknown metric {name!r}; expected one of {METRICS}")
    return out


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError("level must be in (0, 1)")


def _interval(values: FloatArray, n_boot: int, level: float) -> tuple[float, float] | None:
    """Percentile interval of the defined values, or None when under half the resamples gave
    one (an interval from a biased minority of resamples would look more certain than it is)."""
    ok = values[np.isfinite(values)]
    if ok.size == 0 or ok.size < n_boot / 2:
        return None
    tail = 100.0 * (1.0 - level) / 2.0
    lo, hi = np.percentile(ok, [tail, 100.0 - tail])
    return float(lo), float(hi)


def _resampled(g: IntArray, p: IntArray, names: Sequence[str],
               clusters: Clusters | None,
               n_boot: int, seed: int) -> dict[str, FloatArray]:
    """Every named metric on every resample (whole clusters drawn with replacement).

    Criteria of one interview share a transcript, so they are not independent draws;
    resampling interviews keeps that dependence and gives honest (wider) intervals."""
    if n_boot < 1:
        raise ValueError("n_boot must be >= 1")
    codes, k = _cluster_codes(g.size, clusters)
    confusions = _multiplicities(k, n_boot, seed) @ _cluster_confusions(g, p, codes, k)
    return _from_confusions(confusions, names)


def bootstrap_cis(
    gold: Levels,
    pred: Levels,
    names: Sequence[str] = METRICS,
    *,
    clusters: Clusters | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, tuple[float | None, float | None]]:
    """Percentile bootstrap intervals for several metrics from the same resamples, rounded to
    4 decimals: {name: (lo, hi)}.

    Resamples CLUSTERS (e.g. interview ids) with replacement when given, else items. Resamples
    where a metric is undefined are skipped; if fewer than half are defined -> (None, None).
    Deterministic for a seed (numpy.random.default_rng).
    """
    return bootstrap_cis_many([(gold, pred, clusters)], names, n_boot=n_boot, seed=seed,
                              level=level)[0]


def bootstrap_cis_many(
    blocks: Sequence[tuple[Levels, Levels, Clusters | None]],
    names: Sequence[str] = METRICS,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> list[dict[str, tuple[float | None, float | None]]]:
    """``bootstrap_cis`` (which is this for one block) for many (gold, pred, clusters) blocks
    at once: the same values, in block order, for a fraction of the calls.

    Blocks over the same number of clusters share one resample matrix, so their cluster
    confusion counts are stacked side by side and resampled by one matrix product, and every
    metric of all of them comes from one ``_from_confusions`` call (counts are whole numbers,
    so each block's resampled counts are exactly its own product's). An analysis has ~70
    blocks over a few cluster counts: one call per count instead of one per block."""
    for name in names:
        _check_name(name)
    _check_level(level)
    out: list[dict[str, tuple[float | None, float | None]]] = [
        {name: (None, None) for name in names} for _ in blocks]
    by_k: dict[int, list[tuple[int, FloatArray]]] = {}
    for i, (gold, pred, clusters) in enumerate(blocks):
        g, p = _pair(gold, pred)
        if g.size == 0:
            continue  # no pairs, no interval (whatever n_boot is)
        if n_boot < 1:
            raise ValueError("n_boot must be >= 1")
        codes, k = _cluster_codes(g.size, clusters)
        by_k.setdefault(k, []).append((i, _cluster_confusions(g, p, codes, k)))
    tail = 100.0 * (1.0 - level) / 2.0
    for k, members in by_k.items():
        m = len(members)
        stacked = np.concatenate([conf for _, conf in members], axis=1)  # (k, 16 m)
        resampled = (_multiplicities(k, n_boot, seed) @ stacked).reshape(n_boot, m, 16)
        values = _from_confusions(resampled.transpose(1, 0, 2).reshape(m * n_boot, 16), names)
        for name in names:
            rows = values[name].reshape(m, n_boot)
            finite = np.isfinite(rows).all(axis=1)
            if finite.any():  # every resample defined: one percentile call for those blocks
                lo_hi = np.percentile(rows[finite], [tail, 100.0 - tail], axis=1)
                for j, col in zip(np.flatnonzero(finite), range(lo_hi.shape[1]), strict=True):
                    out[members[j][0]][name] = (_r(float(lo_hi[0, col])),
                                                _r(float(lo_hi[1, col])))
            for j in np.flatnonzero(~finite):
                ci = _interval(rows[j], n_boot, level)
                out[members[j][0]][name] = (None, None) if ci is None else (_r(ci[0]),
                                                                            _r(ci[1]))
    return out


def bootstrap_ci(
    gold: Levels,
    pred: Levels,
    name: str,
    *,
    clusters: Clusters | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float | None, float | None]:
    """One metric's percentile bootstrap interval (see ``bootstrap_cis``)."""
    return bootstrap_cis(gold, pred, [name], clusters=clusters, n_boot=n_boot, seed=seed,
                         level=level)[name]


def paired_bootstrap_delta(
    gold: Levels,
    pred_base: Levels,
    pred_new: Levels,
    name: str,
    *,
    clusters: Clusters | None = None,
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
    _check_level(level)
    g, base = _pair(gold, pred_base)
    _, new = _pair(gold, pred_new)
    with _quiet():
        b, nw = _metric(name, g, base), _metric(name, g, new)
    ci = None
    if g.size:
        vb = _resampled(g, base, [name], clusters, n_boot, seed)[name]
        vn = _resampled(g, new, [name], clusters, n_boot, seed)[name]
        ci = _interval(vn - vb, n_boot, level)  # NaN (either undefined) is left out
    delta = None if b is None or nw is None else nw - b
    return {
        "base": _r(b),
        "new": _r(nw),
        "delta": _r(delta),
        "lo": None if ci is None else _r(ci[0]),
        "hi": None if ci is None else _r(ci[1]),
    }

def mean_signed_error(gold: Levels, pred: Levels) -> float | None:
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
        import krippendorff

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
