"""The truth-recovery table that decides which estimators a review may show in its main body.

``bench/truth_recovery.py N`` estimates every estimator on N synthetic consortia with known
effects and writes ``truth_recovery.csv`` beside this module (bias, mean SE, coverage per
estimator and outcome). The review's annex cites it, and :func:`main_body_rows` lists the rows
of the estimators the main body shows — which must pass :func:`recovers`.
"""

from __future__ import annotations

import csv
from importlib import resources

# the estimators whose numbers the main body shows: the Callaway–Sant'Anna overall effect with its
# analytic interval, and the same effect judged by randomization inference
MAIN_BODY = ("cs_simple", "cs_simple_ri")
# with a single treated college the review leads with the synthetic DiD: the one-treated-city study
MAIN_BODY_SINGLE = (("sdid", "one_city"),)
MAX_ABS_BIAS_OVER_SE = 0.2
COVERAGE = (0.90, 0.97)


def table() -> list[dict]:
    """The shipped truth-recovery rows (empty when the file is absent)."""
    path = resources.files("evalkit.review").joinpath("truth_recovery.csv")
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        for k in ("n_seeds",):
            r[k] = int(r[k])
        for k in ("bias", "mean_se", "sd_estimate", "coverage", "bias_over_se"):
            r[k] = float(r[k])
    return rows


def recovers(row: dict) -> bool:
    """|bias| < 0.2 SE and 95% coverage within 0.90–0.97."""
    return abs(row["bias_over_se"]) < MAX_ABS_BIAS_OVER_SE and COVERAGE[0] <= row["coverage"] <= COVERAGE[1]


def main_body_rows() -> list[dict]:
    """Rows of the estimators the main body may show (both designs)."""
    return [r for r in table() if r["estimator"] in MAIN_BODY or (r["estimator"], r["outcome"]) in MAIN_BODY_SINGLE]
