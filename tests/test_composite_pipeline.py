"""The COINr-style pipeline and the Monte Carlo uncertainty / sensitivity analysis."""
import numpy as np
import pandas as pd
import pytest

from evalkit import composite as c
from evalkit.composite.uncertainty import saltelli_indices
from evalkit.errors import ModelInputError

GROUPS = {"bases": "合作办学", "workshops": "合作办学", "apprentices": "合作育人", "courses": "合作育人",
          "placement": "合作就业", "retention": "合作就业"}


def _data(m=20, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.uniform(1, 10, (m, len(GROUPS))), columns=list(GROUPS),
                     index=[f"u{i:02d}" for i in range(m)])
    return X


def test_pipeline_matches_hand_computation():
    X = _data()
    res = c.Pipeline(groups=GROUPS, directions={"retention": -1}, outliers="none").run(X)
    # by hand: min-max to 0..100 with direction, equal weights within groups, mean of groups
    z = (X - X.min()) / (X.max() - X.min()) * 100
    z["retention"] = 100 - z["retention"]
    groups = pd.DataFrame({g: z[[k for k, v in GROUPS.items() if v == g]].mean(axis=1)
                           for g in dict.fromkeys(GROUPS.values())})
    np.testing.assert_allclose(res.scores[list(groups.columns)], groups, rtol=1e-12)
    np.testing.assert_allclose(res.index, groups.mean(axis=1), rtol=1e-12)
    assert res.ranks["index"].min() == 1 and res.ranks.loc[res.index.idxmax(), "index"] == 1
    assert [s for s, _ in res.steps] == ["imputation", "outliers", "normalisation", "weighting", "aggregation"]
    tidy = res.tidy()
    assert list(tidy.columns) == ["term", "estimate", "se", "ci_low", "ci_high", "p", "unit", "level", "score", "rank"]
    assert len(tidy) == 20 * 4 and (tidy["estimate"] == tidy["score"]).all() and tidy["se"].isna().all()


def test_rerun_and_with_change_one_choice():
    X = _data()
    pipe = c.Pipeline(groups=GROUPS, outliers="none")
    base = pipe.run(X)
    ent = base.rerun(weighting="entropy_minmax", entropy_shift=0.01)
    assert ent.pipeline.weighting == "entropy_minmax"
    assert dict(ent.steps)["weighting"]["method"] == "entropy_minmax"
    # expected: group scores with entropy-minmax weights computed group by group
    w = pd.concat([c.entropy_weights(X[[k for k, v in GROUPS.items() if v == g]], form="minmax", shift=0.01)
                   for g in dict.fromkeys(GROUPS.values())])
    np.testing.assert_allclose(ent.weights.to_numpy(), w.reindex(list(GROUPS)).to_numpy())
    geo = pipe.with_(aggregation="geometric", bounds=(1, 100)).run(X)
    assert not np.allclose(geo.index, base.index)
    assert c.Pipeline(**pipe.spec()) == pipe
    with pytest.raises(ValueError, match="unknown pipeline settings"):
        pipe.with_(weigthing="pca")
    with pytest.raises(ValueError, match="normalisation must be one of 'minmax', .*; got 'l2'"):
        pipe.with_(normalisation="l2")
    with pytest.raises(ModelInputError, match="strictly positive"):
        pipe.with_(aggregation="geometric").run(X)     # minmax 0..100 has zeros


def test_outlier_rule_winsorises_then_logs():
    rng = np.random.default_rng(1)
    X = _data(40)
    X.loc["u00", "bases"] = 200.0                     # one outlier: winsorising one point fixes it
    heavy = rng.lognormal(0, 2.5, 40)                 # heavy tail: needs more than winmax points
    X["courses"] = heavy
    treated, log = c.treat_outliers(X, winmax=3)
    row = log.set_index("indicator")
    assert row.loc["bases", "treatment"] == "winsorised" and row.loc["bases", "n_winsorised"] >= 1
    assert treated.loc["u00", "bases"] == X["bases"].drop("u00").max()
    assert abs(row.loc["bases", "skew_after"]) <= 2 or row.loc["bases", "kurtosis_after"] <= 3.5
    assert row.loc["courses", "treatment"] == "log_CT" and row.loc["courses", "n_winsorised"] == 0
    rng_ = heavy.max() - heavy.min()
    np.testing.assert_allclose(treated["courses"], np.log(heavy - heavy.min() + 0.01 * rng_))
    assert row.loc["placement", "treatment"] == "none"


def test_imputation_methods():
    X = _data(6)
    X.loc["u01", "bases"] = np.nan
    np.testing.assert_allclose(c.impute(X, "mean").loc["u01", "bases"], X["bases"].mean())
    np.testing.assert_allclose(c.impute(X, "median").loc["u01", "bases"], X["bases"].median())
    groups = {u: ("a" if i < 3 else "b") for i, u in enumerate(X.index)}
    np.testing.assert_allclose(c.impute(X, "group_mean", unit_groups=groups).loc["u01", "bases"],
                               X.loc[["u00", "u02"], "bases"].mean())
    assert not c.impute(X, "knn", knn_neighbours=2).isna().any().any()
    with pytest.raises(ModelInputError, match="imputation"):
        c.Pipeline(groups=GROUPS).run(X)


def test_denomination_and_ahp_weighting():
    X = _data(8)
    den = pd.DataFrame({"students": np.arange(1, 9) * 1000.0}, index=X.index)
    pipe = c.Pipeline(groups=GROUPS, denominators={"bases": "students"}, denominator_scale=1000,
                      outliers="none", weighting="ahp",
                      ahp_matrices={"合作办学": pd.DataFrame([[1, 3], [1 / 3, 1]], index=["bases", "workshops"]),
                                    "合作育人": [[1, 1], [1, 1]], "合作就业": [[1, 1 / 2], [2, 1]]})
    res = pipe.run(X, den)
    np.testing.assert_allclose(res.weights[["bases", "workshops", "placement"]], [0.75, 0.25, 1 / 3])
    z = X["bases"] / den["students"] * 1000
    np.testing.assert_allclose(res.normalised["bases"], (z - z.min()) / (z.max() - z.min()) * 100)


# ----------------------------------------------------------------------------- uncertainty
def test_uncertainty_same_seed_same_result_and_shape():
    X = _data(15)
    pipe = c.Pipeline(groups=GROUPS)
    a = c.uncertainty(X, pipe, n=40, seed=7)
    b = c.uncertainty(X, pipe, n=40, seed=7)
    other = c.uncertainty(X, pipe, n=40, seed=8)
    assert np.array_equal(a.ranks.to_numpy(), b.ranks.to_numpy())
    assert not np.array_equal(a.ranks.to_numpy(), other.ranks.to_numpy())
    k = len(a.sensitivity)          # normalisation, weighting, aggregation, entropy_shift, weight_noise
    assert k == 5 and len(a.ranks) == 40 * (k + 2)
    t = a.tidy()
    assert (t["rank_q05"] <= t["median_rank"]).all() and (t["median_rank"] <= t["rank_q95"]).all()
    np.testing.assert_array_equal(t.set_index("unit")["nominal_rank"],
                                  pipe.run(X).ranks["index"].reindex(t["unit"]))
    assert len(c.uncertainty(X, pipe, n=40, seed=7, sensitivity=False).ranks) == 40


def test_uncertainty_without_variation_reproduces_nominal():
    X = _data(12)
    pipe = c.Pipeline(groups=GROUPS, bounds=(1, 100))
    u = c.uncertainty(X, pipe, n=5, seed=1, normalisation=("minmax",), weighting=("equal",),
                      aggregation=("arithmetic",), entropy_shift=(1e-4,), weight_noise=0.0)
    assert u.sensitivity is None
    expected = pipe.run(X).ranks["index"].to_numpy()
    assert (u.ranks.to_numpy() == expected).all()


def test_saltelli_estimators_on_an_additive_model():
    # Y = X1 + 2·X2 with X1, X2 independent uniform on {0, 1, 2}: Var = (1 + 4)·2/3,
    # S1 = ST1 = 1/5, S2 = ST2 = 4/5 (closed form; no interaction).
    rng = np.random.default_rng(0)
    N = 40000
    A, B = rng.integers(0, 3, (N, 2)), rng.integers(0, 3, (N, 2))
    f = lambda M: M[:, 0] + 2.0 * M[:, 1]
    ab = []
    for i in range(2):
        M = A.copy()
        M[:, i] = B[:, i]
        ab.append(f(M))
    s, st = saltelli_indices(f(A), f(B), np.array(ab))
    np.testing.assert_allclose(s, [0.2, 0.8], atol=0.03)
    np.testing.assert_allclose(st, [0.2, 0.8], atol=0.03)


def test_uncertainty_progress_and_errors(capsys):
    X = _data(10)
    pipe = c.Pipeline(groups=GROUPS)
    seen = []
    c.uncertainty(X, pipe, n=10, seed=0, chunk_size=25, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1][0] == seen[-1][1] and len(seen) > 1
    c.uncertainty(X, pipe, n=4, seed=0, progress=True)
    assert "variants" in capsys.readouterr().err
    with pytest.raises(ValueError, match="weighting must be one of 'equal', .*; got 'gini'"):
        c.uncertainty(X, pipe, n=10, weighting=("equal", "gini"))
    zero = X.assign(bases=X["bases"].where(X.index != "u00", 0.0))   # vector-normalised to 0
    with pytest.raises(ModelInputError, match="geometric"):
        c.uncertainty(zero, pipe.with_(outliers="none"), n=10, normalisation=("vector",),
                      aggregation=("arithmetic", "geometric"))


def test_uncertainty_on_dask_threads_identical():
    from distributed import Client, LocalCluster

    X = _data(15)
    pipe = c.Pipeline(groups=GROUPS)
    local = c.uncertainty(X, pipe, n=30, seed=11, chunk_size=40)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cl, \
            Client(cl) as client:
        remote = c.uncertainty(X, pipe, n=30, seed=11, chunk_size=40, client=client)
    assert np.array_equal(local.scores.to_numpy(), remote.scores.to_numpy())
    pd.testing.assert_frame_equal(local.design, remote.design)
    pd.testing.assert_frame_equal(local.sensitivity, remote.sensitivity)


def test_uncertainty_on_dask_processes_identical():
    # ~6 s: a real LocalCluster with two worker processes (each unpickles the context and recomputes): bit-identical results
    from distributed import Client, LocalCluster

    X = _data(20)
    pipe = c.Pipeline(groups=GROUPS)
    local = c.uncertainty(X, pipe, n=40, seed=3, chunk_size=50)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl, \
            Client(cl) as client:
        remote = c.uncertainty(X, pipe, n=40, seed=3, chunk_size=50, client=client)
    assert np.array_equal(local.scores.to_numpy(), remote.scores.to_numpy())
    assert np.array_equal(local.ranks.to_numpy(), remote.ranks.to_numpy())


def test_result_plots_are_figures():
    import warnings
    from matplotlib.figure import Figure

    X = _data(12)
    pipe = c.Pipeline(groups=GROUPS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = pipe.run(X)
        assert isinstance(res.plot(), Figure) and isinstance(res.plot(kind="radar", top=3), Figure)
        u = c.uncertainty(X, pipe, n=10, seed=0)
        assert isinstance(u.plot(), Figure) and isinstance(u.plot_sensitivity(lang="en"), Figure)
    assert "<h4>" in res.summary()._repr_html_() and "runs" in str(u.summary("en"))


def test_rank_desc_is_scipy_s_rankdata_min():
    """rank_desc is scipy.stats.rankdata(-x, method="min", axis=-1) in numpy (a review kernel then
    never imports scipy.stats): the same ranks and dtype with ties, NaN rows and 1–3 dimensions."""
    from scipy.stats import rankdata

    from evalkit.composite.pipeline import rank_desc

    rng = np.random.default_rng(5)
    cases = [rng.normal(size=(7,)), np.round(rng.normal(size=(60, 9))), np.round(rng.normal(size=(3, 20, 6)), 1)]
    with_nan = np.round(rng.normal(size=(40, 8)))
    with_nan[[3, 10], [2, 0]] = np.nan
    cases += [with_nan, np.array([2.0, np.nan, 1.0])]
    for a in cases:
        ours, theirs = rank_desc(a), rankdata(-a, method="min", axis=-1)
        assert ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours, theirs)
