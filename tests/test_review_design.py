"""The membership section leads with the estimator that suits the design it sees (issue 13):
one member college → synthetic DiD with placebo inference; several → the staggered DiD with a
randomization-inference judgement; sensitivity bounds when asked for."""
from __future__ import annotations

import shutil

import pandas as pd
from conftest import DATA, PARAMS, all_markup, render_review


def test_one_member_college_makes_synthetic_did_lead(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    units = pd.read_csv(data / "units.csv", dtype=str, keep_default_na=False)
    colleges = units["unit_type"] == "college"
    members = units[colleges & (units["member_since"] != "")]["unit_id"]
    keep = members.iloc[0]
    units.loc[colleges & (units["unit_id"] != keep), "member_since"] = ""
    units.to_csv(data / "units.csv", index=False)

    review = render_review(PARAMS / "phase3.yaml", data_dir=data)
    a = review.analysis
    y = a.methods.did_outcomes[0]
    assert a.treated_units(y) == [keep]
    sd = a.synthetic(y)
    assert sd.se is not None and sd.se > 0
    html = all_markup(review)
    assert "以合成双重差分为主" in html and "安慰剂标准误" in html
    assert review.results()["tables"][f"sdid_{y}"][0]


def test_several_members_keep_the_staggered_did_and_randomization_inference(rendered_reviews):
    review = rendered_reviews("phase3")
    a = review.analysis
    y = a.methods.did_outcomes[0]
    assert len(a.treated_units(y)) > 1
    html = all_markup(review)
    assert "随机化推断" in html and "以合成双重差分为主" not in html


import pytest  # noqa: E402


@pytest.mark.slow  # a phase review with Rambachan–Roth bounds and pre-test power: ~8 s (minutes before the power's integration tolerance)
def test_sensitivity_bounds_when_asked_for():
    review = render_review(PARAMS / "phase3.yaml", sensitivity=True, did_outcomes=["tech_service_income_per_100_teachers"])
    y = "tech_service_income_per_100_teachers"
    tables = review.results()["tables"]
    assert tables[f"sensitivity_{y}"] and tables[f"pretrend_power_{y}"]
    assert review.results()["methods"]["sensitivity"] is True
    assert "Rambachan" in all_markup(review)
