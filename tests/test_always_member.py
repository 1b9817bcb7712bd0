"""A unit that joined before the data starts is valid (an always-member), and the DiD leaves it
out of both sides with a note, instead of the validator forcing a wrong fix (issue 14)."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pandas as pd
from conftest import DATA, PARAMS, all_markup, render_review


def test_membership_before_the_data_starts_is_valid_and_left_out_of_the_did(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    units = pd.read_csv(data / "units.csv", dtype=str, keep_default_na=False)
    comparison = units[(units["unit_type"] == "college") & (units["member_since"] == "")]["unit_id"].iloc[0]
    units.loc[units["unit_id"] == comparison, "member_since"] = "2018-09-01"  # the data start in 2019H1
    units.to_csv(data / "units.csv", index=False)

    run = subprocess.run([sys.executable, "-m", "evalkit.cli", "validate", str(data), "--lang", "en"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "before the data starts" in run.stdout

    review = render_review(PARAMS / "phase3.yaml", data_dir=data)
    a = review.analysis
    assert a.always_members == [comparison]
    assert bool(a.units.set_index("unit_id").at[comparison, "member"])
    y = a.methods.did_outcomes[0]
    assert comparison not in set(a.did_panel(y)["unit_id"])
    assert "数据开始前已加入" in all_markup(review)
