"""evals/metrics.py: hand-computed cases, cross-checks against the reference libraries,
degenerate input, and the bootstrap's determinism, coverage and cluster handling.

The module is imported as a whole (not ``from ... import test_retest``) so pytest does not
collect the library function ``test_retest`` as a test.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import cohen_kappa_score

from evals import metrics as m

DATASETS = Path(__file__).resolve().parent.parent / "evals" / "datasets"


def _noisy(gold: np.ndarray, rng: np.random.Generator, p_err: float) -> np.ndarray:
    """Copy of gold where a fraction p_err of items is moved one level up or down."""
    step = rng.choice([-1, 1], size=gold.size) * (rng.random(gold.size) < p_err)
    out: np.ndarray = np.clip(gold + step, 1, 4)
    return out


def test_perfect_agreement() -> None:
    r = m.agreement([1, 2, 3, 4], [1, 2, 3, 4])
    assert r == {"n": 4, "qwk": 1.0, "spearman": 1.0, "exact": 1.0, "adjacent": 1.0,
                 "alpha": 1.0, "mae": 0.0}


def test_off_by_one_hand_computed() -> None:
    gold, pred = [1, 2, 3, 4], [2, 3, 4, 4]
    # QWK = 1 - D_obs / D_exp with weights w(i, j) = (i - j)^2 (the usual 1/(k-1)^2 scale
    # cancels in the ratio).
    # Observed: squared diffs per item 1, 1, 1, 0 -> D_obs = 3 / 4 = 0.75.
    # Expected (independent marginals): gold is 1/4 on each level; pred is 2: 1/4, 3: 1/4, 4: 1/2.
    #   pred=2: sum over gold levels of (g-2)^2 = 1+0+1+4 = 6,  * 1/4 * 1/4 = 6/16
    #   pred=3: (g-3)^2 = 4+1+0+1 = 6,                          * 1/4 * 1/4 = 6/16
    #   pred=4: (g-4)^2 = 9+4+1+0 = 14,                         * 1/4 * 1/2 = 28/16
    #   D_exp = 40/16 = 2.5
    # QWK = 1 - 0.75 / 2.5 = 0.7
    d_obs = 3 / 4
    d_exp = (6 + 6) / 16 + 14 / 8
    r = m.agreement(gold, pred)
    assert r["qwk"] == pytest.approx(1 - d_obs / d_exp) == 0.7
    assert r["exact"] == 0.25
    assert r["adjacent"] == 1.0
    assert r["mae"] == 0.75


def test_krippendorff_ordinal_alpha_hand_computed() -> None:
    # Units (gold, pred): (1,1), (2,3), (3,3). Pairable values n = 6: n1=2, n2=1, n3=3.
    # Coincidences: o11 = 2, o23 = o32 = 1, o33 = 2.
    # Ordinal distance d(c,k) = (sum_{g=c..k} n_g - (n_c + n_k)/2)^2:
    #   d12 = (2+1 - 1.5)^2 = 2.25, d23 = (1+3 - 2)^2 = 4, d13 = (2+1+3 - 2.5)^2 = 12.25
    # alpha = 1 - (n-1) * sum o_ck d_ck / sum n_c n_k d_ck
    #       = 1 - 5 * (2 * 4) / (2 * (2*1*2.25 + 1*3*4 + 2*3*12.25)) = 1 - 40/180 = 7/9
    # (the interval metric would give 1 - 10/58 = 0.8276, so this checks the ordinal choice).
    num = 5 * (2 * 1 * 4)
    den = 2 * (2 * 1 * 2.25 + 1 * 3 * 4 + 2 * 3 * 12.25)
    assert m.agreement([1, 2, 3], [1, 3, 3])["alpha"] == round(1 - num / den, 4) == 0.7778


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_matches_reference_libraries(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 301))
    gold = rng.integers(1, 5, size=n)
    pred = _noisy(gold, rng, 0.5) if seed % 2 else rng.integers(1, 5, size=n)
    r = m.agreement(gold.tolist(), pred.tolist())
    qwk = cohen_kappa_score(gold, pred, weights="quadratic", labels=[1, 2, 3, 4])
    assert r["qwk"] == pytest.approx(qwk, abs=1e-4)
    assert r["spearman"] == pytest.approx(spearmanr(gold, pred).statistic, abs=1e-4)
    assert r["exact"] == pytest.approx(np.mean(gold == pred), abs=1e-4)
    assert r["mae"] == pytest.approx(np.mean(np.abs(gold - pred)), abs=1e-4)
    assert m.metric_value("qwk", gold.tolist(), pred.tolist()) == pytest.approx(qwk, abs=1e-12)


def test_degenerate_inputs_give_none_not_nan() -> None:
    same = m.agreement([2, 2, 2], [2, 2, 2])
    assert same["qwk"] is None and same["spearman"] is None and same["alpha"] is None
    assert same["exact"] == 1.0 and same["mae"] == 0.0
    const_pred = m.agreement([1, 2, 3], [2, 2, 2])
    assert const_pred["spearman"] is None
    assert const_pred["qwk"] == 0.0  # defined: chance-level
    empty = m.agreement([], [])
    assert empty["n"] == 0 and all(empty[k] is None for k in m.METRICS)
    for r in (same, const_pred, empty):
        assert not any(isinstance(v, float) and math.isnan(v) for v in r.values())


def test_invalid_input_rejected() -> None:
    with pytest.raises(ValueError, match="length"):
        m.agreement([1, 2], [1])
    with pytest.raises(ValueError, match="levels"):
        m.agreement([0, 5], [1, 2])
    with pytest.raises(ValueError, match="unknown metric"):
        m.metric_value("f1", [1], [1])


def _sample(n: int, seed: int) -> tuple[list[int], list[int]]:
    rng = np.random.default_rng(seed)
    gold = rng.integers(1, 5, size=n)
    return gold.tolist(), _noisy(gold, rng, 0.4).tolist()


def test_bootstrap_deterministic_and_covers_estimate() -> None:
    gold, pred = _sample(2000, 7)
    a = m.bootstrap_ci(gold, pred, "qwk", n_boot=300, seed=3)
    assert a == m.bootstrap_ci(gold, pred, "qwk", n_boot=300, seed=3)
    assert a != m.bootstrap_ci(gold, pred, "qwk", n_boot=300, seed=4)
    lo, hi = a
    point = m.metric_value("qwk", gold, pred)
    assert lo is not None and hi is not None and point is not None
    assert lo < point < hi


def test_bootstrap_narrower_for_more_data() -> None:
    widths = []
    for n in (100, 2000):
        gold, pred = _sample(n, 11)
        lo, hi = m.bootstrap_ci(gold, pred, "exact", n_boot=400)
        assert lo is not None and hi is not None
        widths.append(hi - lo)
    assert widths[1] < widths[0] / 2


def test_bootstrap_cluster_resampling_widens_interval() -> None:
    # 20 interviews x 20 criteria; every criterion of an interview shares that interview's
    # outcome, so the effective sample size is 20, not 400.
    rng = np.random.default_rng(5)
    correct = rng.random(20) < 0.6
    gold = [2] * 400
    pred = [2 if correct[i // 20] else 3 for i in range(400)]
    clusters = [f"iv{i // 20}" for i in range(400)]
    lo_i, hi_i = m.bootstrap_ci(gold, pred, "exact", n_boot=500)
    lo_c, hi_c = m.bootstrap_ci(gold, pred, "exact", clusters=clusters, n_boot=500)
    assert lo_i is not None and hi_i is not None and lo_c is not None and hi_c is not None
    assert (hi_c - lo_c) > 2 * (hi_i - lo_i)
    with pytest.raises(ValueError, match="clusters"):
        m.bootstrap_ci(gold, pred, "exact", clusters=clusters[:-1])


def test_bootstrap_resamples_whole_clusters_tiny() -> None:
    # Interview "a": 10 criteria all right; "b": 10 all wrong. Drawing 2 whole interviews gives
    # exact = 1 (a,a) w.p. 1/4, 0.5 w.p. 1/2, 0 (b,b) w.p. 1/4, so the 95% interval is (0, 1).
    # Item resampling of the same 20 items is Binomial(20, 0.5) / 20 and never reaches 0 or 1.
    gold = [1] * 20
    pred = [1] * 10 + [4] * 10
    clusters = ["a"] * 10 + ["b"] * 10
    assert m.bootstrap_ci(gold, pred, "exact", clusters=clusters, n_boot=400) == (0.0, 1.0)
    lo, hi = m.bootstrap_ci(gold, pred, "exact", n_boot=400)
    assert lo is not None and hi is not None and 0.0 < lo < 0.5 < hi < 1.0


def test_bootstrap_undefined_majority_gives_none() -> None:
    # Spearman on a constant gold array is undefined in every resample.
    assert m.bootstrap_ci([3] * 30, [1, 2, 3] * 10, "spearman", n_boot=50) == (None, None)
    assert m.bootstrap_ci([], [], "qwk") == (None, None)


def test_paired_delta_identical_predictions() -> None:
    gold, pred = _sample(300, 2)
    r = m.paired_bootstrap_delta(gold, pred, pred, "qwk", n_boot=200)
    assert r["delta"] == 0.0 and r["lo"] == 0.0 and r["hi"] == 0.0
    assert r["base"] == r["new"] == round(m.metric_value("qwk", gold, pred) or 0, 4)


def test_paired_delta_detects_better_predictor() -> None:
    rng = np.random.default_rng(9)
    gold = rng.integers(1, 5, size=500)
    base = _noisy(gold, rng, 0.8).tolist()
    new = _noisy(gold, rng, 0.2).tolist()
    clusters = [f"iv{i // 5}" for i in range(500)]
    for name in ("qwk", "exact"):
        r = m.paired_bootstrap_delta(gold.tolist(), base, new, name, clusters=clusters,
                                     n_boot=300)
        assert r["lo"] is not None and r["lo"] > 0
        assert r["delta"] is not None and r["hi"] is not None
        assert r["lo"] <= r["delta"] <= r["hi"]
    mae = m.paired_bootstrap_delta(gold.tolist(), base, new, "mae", n_boot=300)
    assert mae["delta"] is not None and mae["delta"] < 0  # new - base, lower is better
    assert mae["hi"] is not None and mae["hi"] < 0


def test_level_distribution() -> None:
    assert m.level_distribution([1, 1, 4, None, 4, 4]) == {
        "1": 2, "2": 0, "3": 0, "4": 3, "unscored": 1, "levels_used": 2,
    }
    assert m.level_distribution([])["levels_used"] == 0
    with pytest.raises(ValueError):
        m.level_distribution([5])


def test_test_retest() -> None:
    run = [1, 2, 3, 4, 2, 3]
    same = m.test_retest([run, run, run])
    assert same == {"k": 3, "n": 6, "exact": 1.0, "qwk": 1.0, "alpha": 1.0}
    # Pairs: (a,b) exact 5/6, (a,c) 1, (b,c) 5/6 -> mean 8/9.
    other = [1, 2, 3, 4, 2, 4]
    r = m.test_retest([run, other, run])
    assert r["exact"] == round(8 / 9, 4)
    assert r["qwk"] is not None and 0 < r["qwk"] < 1
    assert r["alpha"] is not None and 0 < r["alpha"] < 1
    single = m.test_retest([run])
    assert single == {"k": 1, "n": 6, "exact": None, "qwk": None, "alpha": None}
    with pytest.raises(ValueError, match="same items"):
        m.test_retest([run, run[:-1]])


def _confusion(g: np.ndarray, p: np.ndarray) -> np.ndarray:
    return np.bincount((g - 1) * 4 + (p - 1), minlength=16).astype(float)[None, :]


def test_every_metric_from_confusion_counts_equals_the_library() -> None:
    """The bootstrap computes each metric from (resampled) confusion counts, all resamples at
    once; on one sample that must be the library's number (sklearn's kappa, scipy's spearmanr
    with averaged tie ranks, krippendorff's ordinal alpha...) to 1e-12, NaN where it is NaN."""
    import warnings

    rng = np.random.default_rng(11)
    samples = [(rng.integers(1, 5, size), np.clip(rng.integers(1, 5, size) + rng.integers(
        -2, 3, size), 1, 4)) for size in (1, 2, 5, 40, 300) for _ in range(8)]
    samples += [(np.full(9, 2), np.full(9, 2)),                  # one level for both
                (np.full(9, 2), np.array([1, 2, 3] * 3)),         # constant gold
                (np.array([1, 4] * 6), np.full(12, 3)),           # constant prediction
                (np.array([1, 1, 4, 4]), np.array([4, 4, 1, 1]))]  # perfectly reversed
    for g, p in samples:
        g, p = g.astype(np.int64), p.astype(np.int64)
        got = m._from_confusions(_confusion(g, p), m.METRICS)
        for name in m.METRICS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                want = float(m._IMPL[name](g, p))
            value = float(got[name][0])
            assert (math.isnan(value) and math.isnan(want)) or abs(value - want) < 1e-12, (
                name, g.tolist(), p.tolist(), value, want)


def test_all_resamples_at_once_equal_one_at_a_time() -> None:
    """Stacked confusion matrices (one row per resample) give each row's own value."""
    rng = np.random.default_rng(2)
    pairs = [(rng.integers(1, 5, 30), rng.integers(1, 5, 30)) for _ in range(25)]
    stacked = np.vstack([_confusion(g, p) for g, p in pairs])
    together = m._from_confusions(stacked, m.METRICS)
    for row, (g, p) in enumerate(pairs):
        alone = m._from_confusions(_confusion(g, p), m.METRICS)
        for name in m.METRICS:
            assert together[name][row] == pytest.approx(alone[name][0], abs=1e-12), name


# -- the bootstrap against a plain loop ---------------------------------------------------------


def _loop_bootstrap(gold: list[int], pred: list[int], name: str, clusters: list[str] | None,
                    n_boot: int, seed: int) -> tuple[float | None, float | None]:
    """The bootstrap as it was written before it was vectorised, kept here as the reference:
    draw each resample's clusters with ``rng.integers``, index the items, call the library
    implementation, take percentiles of the defined values."""
    import warnings

    g, p = np.asarray(gold), np.asarray(pred)
    rng = np.random.default_rng(seed)
    if clusters is None:
        draws = [rng.integers(0, g.size, size=g.size) for _ in range(n_boot)]
    else:
        _, codes = np.unique(np.asarray(clusters, dtype=str), return_inverse=True)
        order = np.argsort(codes, kind="stable")
        members = np.split(order, np.flatnonzero(np.diff(codes[order])) + 1)
        draws = []
        for _ in range(n_boot):
            picks = rng.integers(0, len(members), size=len(members))
            draws.append(np.concatenate([members[k] for k in picks]))
    values = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for idx in draws:
            v = float(m._IMPL[name](g[idx], p[idx]))
            if math.isfinite(v):
                values.append(v)
    if not values or len(values) < n_boot / 2:
        return None, None
    lo, hi = np.percentile(values, [2.5, 97.5])
    return round(float(lo), 4), round(float(hi), 4)


def test_vectorised_bootstrap_equals_the_loop_on_random_and_degenerate_data() -> None:
    rng = np.random.default_rng(4)
    for trial in range(3):
        n = int(rng.integers(8, 120))
        gold = rng.integers(1, 5, n)
        pred = np.full(n, 2) if trial == 1 else np.clip(gold + rng.integers(-2, 3, n), 1, 4)
        clusters = [f"iv{int(c)}" for c in rng.integers(0, max(2, n // 6), n)]
        for cl in (None, clusters):
            for name in m.METRICS:
                want = _loop_bootstrap(gold.tolist(), pred.tolist(), name, cl, 50, trial)
                got = m.bootstrap_ci(gold.tolist(), pred.tolist(), name, clusters=cl,
                                     n_boot=50, seed=trial)
                assert got == pytest.approx(want, abs=1e-4), (trial, name, cl is None)


def test_point_metrics_are_the_sklearn_ones() -> None:
    """exact and MAE come from sklearn.metrics (accuracy_score, mean_absolute_error)."""
    from sklearn.metrics import accuracy_score, mean_absolute_error

    rng = np.random.default_rng(3)
    gold = rng.integers(1, 5, size=137)
    pred = _noisy(gold, rng, 0.6)
    r = m.agreement(gold.tolist(), pred.tolist())
    assert r["exact"] == round(float(accuracy_score(gold, pred)), 4)
    assert r["mae"] == round(float(mean_absolute_error(gold, pred)), 4)
    # Hand-computed: pairs (1,2) (2,2) (3,1) (4,4) -> exact 2/4, adjacent 3/4, MAE (1+0+2+0)/4.
    small = m.agreement([1, 2, 3, 4], [2, 2, 1, 4])
    assert (small["exact"], small["adjacent"], small["mae"]) == (0.5, 0.75, 0.75)


def test_mean_signed_error_hand_computed() -> None:
    # pred - gold: +1, 0, -2, +3 -> mean 0.5; positive = over-scoring.
    assert m.mean_signed_error([1, 2, 3, 1], [2, 2, 1, 4]) == 0.5
    assert m.mean_signed_error([4, 4], [1, 1]) == -3.0
    assert m.mean_signed_error([], []) is None
    with pytest.raises(ValueError, match="levels"):
        m.mean_signed_error([1], [5])


@pytest.mark.slow  # ~5 s: the reference loop calls the libraries once per resample
def test_analysis_intervals_equal_the_loop_on_the_shipped_datasets(tmp_path: Path) -> None:
    """On the shipped data -- the offline scorer's levels on the held-out split, and first vs
    second rater on every double-rated interview of both splits -- the intervals the analysis
    reports are the plain loop's, and its point estimates the libraries' (agreement())."""
    from evals.analysis import analyse, ceiling, pairs
    from evals.runner import EvalConfig, Run

    root = Path(__file__).resolve().parent.parent / "evals" / "datasets"
    run = Run(EvalConfig(dataset=root / "heldout.jsonl", output=tmp_path / "h.json", n_boot=0))
    try:
        results = run.execute(progress=False)
    finally:
        run.close()
    n_boot = 40
    got = analyse(results, n_boot=n_boot, seed=3)
    blocks = [(got["overall"][kind], pairs(results["items"], kind)) for kind in ("steps",
                                                                                 "criteria")]
    hh = ceiling([root / "dev.jsonl", root / "heldout.jsonl"], n_boot=n_boot, seed=3)
    assert hh is not None
    gold_pairs = [(e["gold"], item["id"]) for item in _label_items(root) for e in
                  item["criteria"].values() if len(e["gold"]) >= 2]
    firsts = [list(g.values()) for g, _ in gold_pairs]
    blocks.append((hh["criteria"], ([r[0] for r in firsts], [r[1] for r in firsts],
                                    [c for _, c in gold_pairs])))
    for block, (g, p, clusters) in blocks:
        assert block["n"] == len(g) > 20
        assert {k: block[k] for k in m.METRICS} == {k: v for k, v in m.agreement(g, p).items()
                                                   if k != "n"}
        for name in m.METRICS:
            want = _loop_bootstrap(g, p, name, clusters, n_boot, 3)
            assert tuple(block["ci95"][name]) == pytest.approx(want, abs=1e-4), name


def _label_items(root: Path) -> list[dict[str, Any]]:
    from evals.analysis import label_items

    return label_items([root / "dev.jsonl", root / "heldout.jsonl"])


def test_agreement_reports_exactly_the_library_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """agreement() computes from the confusion matrix; every rounded value must still be the
    library's, and where the two could round apart the library is asked."""
    rng = np.random.default_rng(21)
    for _ in range(150):
        n = int(rng.integers(1, 400))
        gold = rng.integers(1, 5, n)
        pred = _noisy(gold, rng, float(rng.random())) if n % 3 else rng.integers(1, 5, n)
        with m._quiet():
            want = {name: m._r(m._metric(name, gold, pred)) for name in m.METRICS}
        assert m.agreement(gold.tolist(), pred.tolist()) == {"n": n, **want}
    # Exact, adjacent and MAE are the library's very float (a count divided by n); QWK,
    # Spearman and alpha within 1e-9 of a rounding boundary are computed as the library does.
    assert m._near_rounding_edge(0.12345) and m._near_rounding_edge(0.1234499999999)
    assert not m._near_rounding_edge(0.1234) and not m._near_rounding_edge(0.12346)
    asked: list[str] = []
    for name, fn in list(m._AS_THE_LIBRARY.items()):
        def spy(g: Any, p: Any, fn: Any = fn, name: str = name) -> float:
            asked.append(name)
            return float(fn(g, p))

        monkeypatch.setitem(m._AS_THE_LIBRARY, name, spy)
    monkeypatch.setattr(m, "_near_rounding_edge", lambda x: True)
    gold, pred = [1, 2, 3, 4, 2, 3, 1, 4], [1, 2, 4, 4, 3, 3, 2, 4]
    with m._quiet():
        want = {name: m._r(m._metric(name, np.asarray(gold), np.asarray(pred)))
                for name in m.METRICS}
    assert m.agreement(gold, pred) == {"n": 8, **want}
    assert asked == ["qwk", "spearman", "alpha"]


def test_the_library_replicas_give_the_librarys_very_float() -> None:
    """Where a value sits on a rounding edge, agreement() computes QWK and Spearman exactly as
    scikit-learn and scipy do (without importing them): bit for bit the same number."""
    import warnings

    rng = np.random.default_rng(8)
    samples = [(rng.integers(1, 5, n), rng.integers(1, 5, n)) for n in (1, 2, 3, 8, 32, 300)
               for _ in range(15)]
    samples += [(np.array(x), np.array(y)) for x, y in (
        ([4, 4, 4, 3, 3, 4, 4, 3, 4, 3], [4, 4, 4, 3, 3, 4, 4, 3, 4, 3]),  # QWK 1
        ([2] * 31 + [3], [2] * 32), ([1, 2] * 8, [1, 2] * 7 + [2, 1]), ([3] * 5, [3] * 5))]
    for g, p in samples:
        g, p = g.astype(np.int64), p.astype(np.int64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, fn in (("qwk", m._qwk_as_sklearn), ("spearman", m._spearman_as_scipy)):
                want, got = float(m._IMPL[name](g, p)), fn(g, p)
                assert (math.isnan(want) and math.isnan(got)) or got == want, (name, g, p)


def test_an_analysis_never_imports_scikit_learn_or_scipy(tmp_path: Path) -> None:
    """They are only the reference for rare rounding edges: importing them took longer than
    the whole analysis of a run."""
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path\n"
        "from evals.runner import EvalConfig, run_eval\n"
        f"res, _ = run_eval(EvalConfig(dataset=Path({str(DATASETS / 'heldout.jsonl')!r}), "
        f"output=Path({str(tmp_path / 'r.json')!r}), n_boot=200), progress=False)\n"
        "assert res['metrics']['overall']['criteria']['qwk'] is not None\n"
        "print(sorted(m for m in ('sklearn', 'scipy', 'krippendorff', 'openai') "
        "if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=DATASETS.parent.parent, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_many_blocks_get_the_intervals_each_would_get_alone() -> None:
    from evals.metrics import bootstrap_cis, bootstrap_cis_many

    rng = np.random.default_rng(7)
    blocks = []
    for n, k in ((40, 12), (40, 12), (25, 12), (30, 9), (8, 8)):
        g = rng.integers(1, 5, size=n)
        p = np.clip(g + rng.integers(-1, 2, size=n), 1, 4)
        blocks.append((g.tolist(), p.tolist(), rng.integers(0, k, size=n).tolist()))
    # Constant predictions: Spearman and QWK undefined on every resample.
    blocks.append(([1, 2, 3, 4, 2, 3], [2] * 6, [0, 1, 2, 3, 4, 5]))
    # Undefined on some resamples only (a level pair that most resamples miss).
    blocks.append(([1, 1, 1, 1, 1, 1, 1, 4], [1, 1, 1, 1, 1, 1, 1, 4], None))
    blocks.append(([], [], []))
    many = bootstrap_cis_many(blocks, n_boot=300, seed=3)
    alone = [bootstrap_cis(g, p, clusters=c, n_boot=300, seed=3) for g, p, c in blocks]
    assert many == alone
    assert many[-1] == {name: (None, None) for name in many[-1]}
    assert many[-3]["spearman"] == (None, None) and many[0]["qwk"][0] is not None
