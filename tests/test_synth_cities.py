"""The one-treated-city generator (evalkit.data.synth_cities): determinism per seed, the panel's
shape and columns, the truth it reports is the effect the data carry, and bad arguments are
refused with a message that names them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit.data.synth_cities import TREATED_CITY, generate_cities
from evalkit.errors import ModelInputError

ERRORS = (ModelInputError, ValueError)


def test_same_seed_same_panel_other_seed_differs():
    a, ta = generate_cities(7)
    b, tb = generate_cities(7)
    pd.testing.assert_frame_equal(a, b)
    assert ta == tb
    c, _ = generate_cities(8)
    assert not np.allclose(a["y"], c["y"])


def test_shape_columns_and_treatment():
    panel, truth = generate_cities(3, n_cities=25, n_periods=12, treated_from=8)
    assert list(panel.columns) == ["city", "period", "t", "y", "treated", "y0"]
    assert panel.shape == (25 * 12, 6)
    assert panel["city"].nunique() == 25 and panel["t"].tolist()[:12] == list(range(1, 13))
    assert not panel[["city", "t"]].duplicated().any()
    assert panel["period"].iloc[0] == "2019H1" and panel["period"].iloc[11] == "2024H2"
    assert np.isfinite(panel["y"]).all()
    on = panel[panel["treated"] == 1]
    assert set(on["city"]) == {TREATED_CITY} and sorted(on["t"]) == list(range(8, 13))
    assert truth["treated_city"] == TREATED_CITY
    assert truth["treated_from"] == "2022H2" and truth["treated_from_t"] == 8
    assert (truth["n_pre"], truth["n_post"]) == (7, 5)
    # untreated cells carry no effect
    off = panel[panel["treated"] == 0]
    assert (off["y"] == off["y0"]).all()


@pytest.mark.parametrize("att", [5.0, [1.0, 2.0, 3.0, 4.0, 5.0]])
def test_truth_is_the_effect_in_the_data(att):
    panel, truth = generate_cities(11, att=att)
    on = panel[panel["treated"] == 1]
    effect = on["y"] - on["y0"]
    assert effect.mean() == pytest.approx(truth["att"], abs=1e-12)
    assert effect.tolist() == pytest.approx(list(truth["att_path"].values()), abs=1e-12)
    assert list(truth["att_path"]) == on["period"].tolist()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_without_noise_or_factors_did_recovers_the_att_exactly(seed):
    from evalkit.models import synthetic_did

    panel, truth = generate_cities(seed, noise_sd=0.0, factor_sd=0.0, att=[2.0, 4.0, 6.0, 8.0, 10.0])
    res = synthetic_did(panel, y="y", unit="city", time="t", treated="treated", method="did", se=None)
    assert abs(res.estimate - truth["att"]) < 1e-9
    # by hand: the 2x2 difference of means
    w = panel.pivot(index="city", columns="t", values="y")
    post = w.columns >= truth["treated_from_t"]
    gap = w.loc[:, post].mean(axis=1) - w.loc[:, ~post].mean(axis=1)
    assert abs(gap[TREATED_CITY] - gap.drop(TREATED_CITY).mean() - truth["att"]) < 1e-9


def test_scales_share_draws_and_shift_is_reported():
    base, _ = generate_cities(5)
    quiet, _ = generate_cities(5, noise_sd=0.0)
    assert not np.allclose(base["y"], quiet["y"])
    # the same world without noise: y moves by the scaled noise only (same levels, trend, factors)
    assert np.allclose((base["y"] - quiet["y"]).abs().mean(), 0.8, atol=0.2)  # E|N(0, 1)| = 0.80
    again, _ = generate_cities(5, noise_sd=0.0)
    pd.testing.assert_frame_equal(quiet, again)
    _, t0 = generate_cities(5)
    _, t1 = generate_cities(5, loading_shift=1.0)
    assert t0["assumptions"]["parallel_trends"] and not t1["assumptions"]["parallel_trends"]


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"n_cities": 2}, "n_cities"),
        ({"n_cities": 10.5}, "n_cities"),
        ({"n_periods": 2}, "n_periods"),
        ({"treated_from": 2}, "treated_from"),
        ({"treated_from": 15}, "treated_from"),
        ({"treated_from": 9.0}, "treated_from"),
        ({"att": [1.0, 2.0]}, "post periods"),
        ({"att": float("nan")}, "finite"),
        ({"att": "big"}, "att"),
        ({"noise_sd": -1.0}, "noise_sd"),
        ({"factor_sd": float("inf")}, "factor_sd"),
        ({"n_factors": -1}, "n_factors"),
        ({"loading_shift": float("nan")}, "loading_shift"),
        ({"first_period": "2019-01"}, "first_period"),
    ],
)
def test_bad_arguments_are_refused_by_name(kwargs, words):
    with pytest.raises(ERRORS, match=words):
        generate_cities(1, **kwargs)


def test_bad_seed_is_refused():
    with pytest.raises(ERRORS, match="seed"):
        generate_cities("1")  # type: ignore[arg-type]


def test_placebo_sdid_runs_on_the_panel():
    from evalkit.models import synthetic_did

    panel, truth = generate_cities(4)
    res = synthetic_did(panel, y="y", unit="city", time="t", treated="treated", method="sdid", reps=20, seed=1)
    assert res.se is not None and res.se > 0
    assert abs(res.estimate - truth["att"]) < 6 * res.se
