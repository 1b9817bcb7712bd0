"""Truth recovery: do evalkit's estimators recover the synthetic consortium's true effects?

Four parts, each run seed by seed (``--parts``; results cached per part and seed, so the study
runs in chunks and resumes):

``base`` — on the consortium generator (``evalkit.synth.generate``), which draws a consortium
with known effects (``truth["outcomes"][...]``); each outcome and its inputs are rebuilt from the
expressions in the truth file and estimated by

* ``cs_simple``: ``staggered_did`` (never-treated controls, no covariates, analytic SE), simple
  aggregation, against ``att_simple``;
* ``cs_dynamic_e0``: its dynamic aggregation at event time 0, against ``att_dynamic["0"]``;
* ``sunab_e0``: ``event_study`` (Sun–Abraham), event time 0, against ``att_dynamic["0"]``;
* ``twfe_clean:<input>``: ``twfe(y ~ inputs | unit + period + cohort_event)`` (the truth file's
  ``clean_input_specification``), CRV1 by unit, against ``input_effects``;
* ``twfe_clean_crv3:<input>``: the same with the CRV3 jackknife (15 college clusters are few);
* ``twfe_naive:<input>``: ``twfe(y ~ inputs | unit + period)`` — the specification the truth file
  lists as *not* satisfied (membership loads on the inputs); reported to show the bias.

``sdid`` — ``synthetic_did`` with ``method`` sdid, sc and did on the college outcome
``tech_service`` (9 members in 5 cohorts, 6 comparison colleges): ``<method>`` is the staggered
aggregate (cohort effects weighted by treated unit-periods) against ``att_simple`` (the same
weights), ``<method>_cohort:<cohort>`` each adoption-cohort block against the mean of its true
``att_gt`` over its post periods. Placebo SEs with ``PLACEBO_REPS`` = 50 draws per block (a
compromise for cost: the SE itself then has a Monte Carlo relative error of about 1/√98 ≈ 10 %,
which lowers the coverage of a normal interval by under half a point); normal 95 % intervals.
The enterprise outcome is left out: its first cohort (41 enterprises) outnumbers the 30
non-member enterprises, and placebo SEs need more controls than treated units.

``ri`` — ``cs_simple`` with randomization inference (``randomization_inference``, Monte Carlo,
``RI_REPS`` = 199 reassignments of the cohort labels among all units of the outcome) on both
outcomes. Coverage of the test = 1 − its rejection rate at 5 % of the true effect as a sharp
null: the test is run on the same world with the effect removed unit by unit
(``generate(seed, effects=False)``, the untreated potential outcomes with the same noise), i.e. y
shifted by the truth. ``se`` of these rows is the standard deviation of the permutation
distribution of that run; ``reject_zero`` is the rejection rate of the null of no effect on the
observed data (power). The statistic is computed by a closed form of the CS simple ATT
(never-treated controls, base period g − 1), checked against ``staggered_did`` on each draw's
observed data.

``cities`` — the one-treated-city generator (``evalkit.data.synth_cities.generate_cities``: 30
cities, 14 half-years, treated from period 10, factor model, ATT 5): ``synthetic_did`` sdid, sc
and did with placebo SEs (``PLACEBO_REPS`` draws), outcome ``one_city`` (treated city drawn like
the donors) and ``one_city_shifted`` (its factor loadings shifted by +1; the two factors drift by
0.2 a period, so parallel trends fail and DiD is biased by about 1 · 2 · 0.2 · 7 = 2.8).

Outcomes observed every half-year are used (``tech_service`` for 15 colleges,
``enterprise_output`` for ~115 enterprises); the annual (H1-only) graduate outcomes use a
different cohort rule and are left out. Run ``python bench/truth_recovery.py [n_seeds]
[--costly-seeds N] [--jobs 2] [--parts base,sdid,ri,cities]`` (``--help``): it prints the
table and, when every part ran, writes it to ``src/evalkit/review/truth_recovery.csv``, which the
reviews cite and which decides the estimators their main body may show (``evalkit.review.truth``).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one BLAS thread per worker process: the machine is shared

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

OUTCOMES = ("tech_service", "enterprise_output")
# assumptions satisfied by the generator (consortium: its truth file; cities: the draw's truth)
HOLDS = ("cs_simple", "cs_dynamic_e0", "sunab_e0", "twfe_clean", "twfe_clean_crv3")
HOLDS_SDID = ("sdid", "did")  # parallel trends hold; SC (no intercept) cannot match the members' higher levels
PARTS = ("base", "sdid", "ri", "cities")
PLACEBO_REPS = 50
RI_REPS = 199
CITY_SCENARIOS = {
    "one_city": {"loading_shift": 0.0, "factor_drift": 0.2},
    "one_city_shifted": {"loading_shift": 1.0, "factor_drift": 0.2},
}
# bump a part's version when its estimates change: cached results of older versions are ignored
PART_VERSION = {"base": 1, "sdid": 1, "ri": 1, "cities": 2}
CSV = Path(__file__).resolve().parents[1] / "src" / "evalkit" / "review" / "truth_recovery.csv"
COLUMNS = (  # the review reads the first ten (evalkit.review.truth)
    "outcome estimator n_seeds bias mean_se sd_estimate coverage bias_over_se mc_se_of_bias_over_se "
    "assumptions_hold generator inference reps mc_se_of_coverage reject_zero seconds_per_seed"
).split()


def _half_label(d: str) -> str:
    ts = pd.Timestamp(d)
    return f"{ts.year}H{1 if ts.month <= 6 else 2}"


def outcome_frame(cons, outcome: str) -> pd.DataFrame:
    """unit_id, t, cohort_t, cohort_event, y and the inputs, evaluated from the truth expressions."""
    truth = cons.truth
    spec = truth["outcomes"][outcome]
    periods = truth["periods"]
    units = cons.units[cons.units["unit_type"] == spec["unit_type"]]
    ms = units["member_since"].astype("string").fillna("")
    cohort_t = ms.map(lambda s: periods.index(_half_label(s)) + 1 if s else 0)
    cohorts = pd.Series(cohort_t.to_numpy(), index=units["unit_id"].to_numpy())
    panel = cons.panel[cons.panel["unit_id"].isin(units["unit_id"])]
    out = pd.DataFrame(
        {
            "unit_id": panel["unit_id"].to_numpy(),
            "t": panel["period"].map({p: i + 1 for i, p in enumerate(periods)}).to_numpy(),
        }
    )
    num = panel.apply(lambda c: pd.to_numeric(c, errors="coerce") if c.name not in ("unit_id", "period") else c)
    num = num.astype({c: "float64" for c in num.columns if c not in ("unit_id", "period")})
    out["y"] = num.eval(spec["variables"]["y"]).to_numpy()
    for name, expr in spec["variables"]["inputs"].items():
        out[name] = num.eval(expr).to_numpy()
    out["cohort_t"] = out["unit_id"].map(cohorts).astype(int)
    e = out["t"] - out["cohort_t"]
    member = (out["cohort_t"] > 0) & (e >= 0)
    out["cohort_event"] = np.where(member, out["cohort_t"].astype(str) + ":" + e.astype(str), "none")
    return out.dropna(subset=["y"]).reset_index(drop=True)


def estimate_seed(seed: int) -> list[dict]:
    from evalkit import synth
    import evalkit.models as M

    cons = synth.generate(seed, graduates=False)
    rows = []

    def add(estimator, outcome, truth, res, term):
        """Record the estimate and the result's own 95 % CI (normal for CS; t(G−1) for the
        clustered regressions)."""
        if term is None:
            est, se, (lo, hi) = res.estimate, res.se, res.overall_ci()
        else:
            r = res.table.loc[term]
            est, se, lo, hi = r["estimate"], r["se"], r["ci_low"], r["ci_high"]
        inference = "CRV3" if "crv3" in estimator else "CRV1" if estimator.startswith("twfe") else "analytic"
        rows.append(_row(seed, "consortium", estimator, outcome, inference, truth, est, se, lo, hi))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for outcome in OUTCOMES:
            spec = cons.truth["outcomes"][outcome]
            d = outcome_frame(cons, outcome)
            cs = M.staggered_did(d, y="y", unit="unit_id", time="t", cohort="cohort_t")
            simple = cs.aggregate("simple")
            add("cs_simple", outcome, spec["att_simple"], simple, None)
            add("cs_dynamic_e0", outcome, spec["att_dynamic"]["0"], cs.aggregate("dynamic"), 0)
            sa = M.event_study(d, y="y", unit="unit_id", time="t", cohort="cohort_t")
            add("sunab_e0", outcome, spec["att_dynamic"]["0"], sa, 0)
            inputs = list(spec["variables"]["inputs"])
            if inputs:
                clean = M.twfe(
                    d, y="y", x=inputs, unit="unit_id", time="t", fixed_effects=["cohort_event"], few_clusters=0
                )
                clean3 = M.twfe(
                    d,
                    y="y",
                    x=inputs,
                    unit="unit_id",
                    time="t",
                    fixed_effects=["cohort_event"],
                    vcov="CRV3",
                    few_clusters=0,
                )
                naive = M.twfe(d, y="y", x=inputs, unit="unit_id", time="t", few_clusters=0)
                for name in inputs:
                    truth = spec["input_effects"][name]
                    add(f"twfe_clean:{name}", outcome, truth, clean, name)
                    add(f"twfe_clean_crv3:{name}", outcome, truth, clean3, name)
                    add(f"twfe_naive:{name}", outcome, truth, naive, name)
    return rows


def _row(
    seed, generator, estimator, outcome, inference, truth, est, se, lo, hi, reps=0, covered=None, reject_zero=None
):
    if covered is None:
        covered = bool(lo <= truth <= hi)
    if reject_zero is None:
        reject_zero = bool(not lo <= 0 <= hi)
    return {
        "seed": seed,
        "generator": generator,
        "estimator": estimator,
        "outcome": outcome,
        "inference": inference,
        "reps": reps,
        "truth": float(truth),
        "estimate": float(est),
        "se": float(se),
        "ci_low": float(lo),
        "ci_high": float(hi),
        "covered": bool(covered),
        "reject_zero": bool(reject_zero),
    }


def _sdid_data(cons) -> tuple[pd.DataFrame, dict, float]:
    """tech_service frame with a 0/1 ``treated`` column, true block ATTs by cohort_t and the
    aggregate (cohort-size × post-period weights, as synthetic_did and CS simple)."""
    d = outcome_frame(cons, "tech_service")
    d["treated"] = ((d["cohort_t"] > 0) & (d["t"] >= d["cohort_t"])).astype(int)
    gt = pd.DataFrame(cons.truth["outcomes"]["tech_service"]["att_gt"])
    post = gt[gt["t"] >= gt["cohort_t"]]
    by = post.groupby("cohort_t").agg(att=("att", "mean"), n=("n", "first"), k=("att", "size"))
    block = by["att"].to_dict()
    agg = float((by["att"] * by["n"] * by["k"]).sum() / (by["n"] * by["k"]).sum())
    return d, block, agg


def estimate_seed_sdid(seed: int, reps: int = PLACEBO_REPS) -> list[dict]:
    """synthetic_did (sdid, sc, did; placebo SEs) on the college outcome: aggregate and cohort blocks."""
    from evalkit import synth
    import evalkit.models as M

    cons = synth.generate(seed, graduates=False)
    periods = cons.truth["periods"]
    d, block, agg = _sdid_data(cons)
    assert abs(agg - cons.truth["outcomes"]["tech_service"]["att_simple"]) < 1e-6
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for method in ("sdid", "sc", "did"):
            res = M.synthetic_did(
                d, y="y", unit="unit_id", time="t", treated="treated", method=method, se="placebo", reps=reps, seed=seed
            )
            lo, hi = res.overall_ci()
            rows.append(
                _row(seed, "consortium", method, "tech_service", "placebo", agg, res.estimate, res.se, lo, hi, reps)
            )
            tidy = res.tidy().iloc[1:]
            for c, r in zip(res.cohorts.itertuples(), tidy.itertuples()):
                rows.append(
                    _row(
                        seed,
                        "consortium",
                        f"{method}_cohort:{periods[int(c.start) - 1]}",
                        "tech_service",
                        "placebo",
                        block[int(c.start)],
                        r.estimate,
                        r.se,
                        r.ci_low,
                        r.ci_high,
                        reps,
                    )
                )
    return rows


def cs_simple_statistic(data: pd.DataFrame, *, unit: str = "unit_id", time: str = "t", cohort: str = "cohort_t"):
    """A fast CS simple ATT (never-treated controls, base period g − 1, cohort-size × post-cell
    weights) for the randomization distribution: ``statistic(frame) -> float`` reads only the
    cohort column of ``frame`` (same rows as ``data``), the outcome matrix is built once."""
    Y = data.pivot(index=unit, columns=time, values="y").sort_index(axis=1)
    if Y.isna().to_numpy().any():
        raise ValueError("cs_simple_statistic needs a balanced panel")
    Ym = Y.to_numpy()
    col = {t: j for j, t in enumerate(Y.columns)}
    # the position of each unit's first row: the cohort is constant within a unit
    first_row = pd.Series(np.arange(len(data))).groupby(data[unit].to_numpy()).first()
    rows_of_units = first_row.reindex(Y.index).to_numpy()

    def statistic(frame: pd.DataFrame) -> float:
        g = pd.to_numeric(frame[cohort]).to_numpy()[rows_of_units].astype(int)
        never = g == 0
        num = den = 0.0
        yn = Ym[never]
        for c in np.unique(g[~never]):
            members = Ym[g == c]
            base = col[c - 1]
            post = [j for t, j in col.items() if t >= c]
            diff = (members[:, post] - members[:, [base]]).mean(axis=0) - (yn[:, post] - yn[:, [base]]).mean(axis=0)
            num += len(members) * diff.sum()
            den += len(members) * len(post)
        return float(num / den)

    return statistic


def estimate_seed_ri(seed: int, reps: int = RI_REPS) -> list[dict]:
    """CS simple with a randomization-inference test of the true effect (sharp null, y shifted
    by the unit-level truth) and of zero, on both outcomes."""
    from evalkit import synth
    import evalkit.models as M

    cons = synth.generate(seed, graduates=False)
    cons0 = synth.generate(seed, graduates=False, effects=False)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for outcome in OUTCOMES:
            d = outcome_frame(cons, outcome)
            d0 = outcome_frame(cons0, outcome)
            if not (d[["unit_id", "t", "cohort_t"]].equals(d0[["unit_id", "t", "cohort_t"]])):
                raise AssertionError(f"seed {seed}: the effects=False world differs in its units or cohorts")
            cs = M.staggered_did(d, y="y", unit="unit_id", time="t", cohort="cohort_t").aggregate("simple")
            stat = cs_simple_statistic(d)
            if abs(stat(d) - cs.estimate) > 1e-8 * max(1.0, abs(cs.estimate)):
                raise AssertionError(f"seed {seed} {outcome}: fast CS simple {stat(d)} != staggered_did {cs.estimate}")
            kw = dict(unit="unit_id", cohort="cohort_t", reps=reps, seed=seed, exact=False)
            null = M.randomization_inference(d0, estimator=cs_simple_statistic(d0), **kw)
            zero = M.randomization_inference(d, estimator=stat, **kw)
            truth = cons.truth["outcomes"][outcome]["att_simple"]
            rows.append(
                _row(
                    seed,
                    "consortium",
                    "cs_simple_ri",
                    outcome,
                    "randomization",
                    truth,
                    cs.estimate,
                    float(np.std(null.distribution, ddof=1)),
                    float("nan"),
                    float("nan"),
                    reps,
                    covered=null.p_value > 0.05,
                    reject_zero=zero.p_value <= 0.05,
                )
            )
    return rows


def estimate_seed_cities(seed: int, reps: int = PLACEBO_REPS) -> list[dict]:
    """sdid / sc / did with placebo SEs on the one-treated-city generator (both scenarios)."""
    from evalkit.data.synth_cities import generate_cities
    import evalkit.models as M

    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for outcome, kw in CITY_SCENARIOS.items():
            panel, truth = generate_cities(seed, **kw)
            for method in ("sdid", "sc", "did"):
                res = M.synthetic_did(
                    panel,
                    y="y",
                    unit="city",
                    time="t",
                    treated="treated",
                    method=method,
                    se="placebo",
                    reps=reps,
                    seed=seed,
                )
                lo, hi = res.overall_ci()
                rows.append(
                    _row(seed, "one_city", method, outcome, "placebo", truth["att"], res.estimate, res.se, lo, hi, reps)
                )
    return rows


def _holds(generator: str, estimator: str, outcome: str) -> bool:
    name = estimator.split(":")[0]
    if generator == "one_city":
        return outcome == "one_city" or name != "did"
    if name.endswith("_ri"):
        return True
    return name in HOLDS or name.split("_cohort")[0] in HOLDS_SDID


def summarise(rows: list[dict], seconds: dict | None = None) -> pd.DataFrame:
    """Per (outcome, estimator): bias, mean SE, SD of the estimates, 95 % coverage, bias/SE and
    its Monte Carlo SE, whether the generator satisfies the estimator's assumptions, the
    inference, its draws, the coverage's Monte Carlo SE, the rejection rate of zero and the mean
    seconds per seed of the estimator's part."""
    df = pd.DataFrame(rows)
    df["error"] = df["estimate"] - df["truth"]
    g = df.groupby(["outcome", "estimator"], sort=False)
    out = pd.DataFrame(
        {
            "n_seeds": g.size(),
            "bias": g["error"].mean(),
            "mean_se": g["se"].mean(),
            "sd_estimate": g["estimate"].std(),
            "coverage": g["covered"].mean(),
            "generator": g["generator"].first(),
            "inference": g["inference"].first(),
            "reps": g["reps"].first().astype(int),
            "reject_zero": g["reject_zero"].mean(),
            "part": g["part"].first() if "part" in df else "base",
        }
    )
    out["bias_over_se"] = out["bias"] / out["mean_se"]
    out["mc_se_of_bias_over_se"] = out["sd_estimate"] / np.sqrt(out["n_seeds"]) / out["mean_se"]
    out["mc_se_of_coverage"] = np.sqrt(
        out["coverage"].clip(0.01, 0.99) * (1 - out["coverage"].clip(0.01, 0.99)) / out["n_seeds"]
    )
    out = out.reset_index()
    out["assumptions_hold"] = [_holds(gn, e, o) for gn, e, o in zip(out["generator"], out["estimator"], out["outcome"])]
    out["seconds_per_seed"] = [(seconds or {}).get(p, float("nan")) for p in out["part"]]
    return out[COLUMNS]


def run(n_seeds: int = 200, first_seed: int = 1) -> pd.DataFrame:
    """The ``base`` part only, in this process (the estimators of the original study)."""
    rows = []
    for seed in range(first_seed, first_seed + n_seeds):
        rows += estimate_seed(seed)
    return summarise(rows)


# -- the whole study: parts × seeds, cached, in parallel ------------------------------------------
ESTIMATE = {"base": estimate_seed, "sdid": estimate_seed_sdid, "ri": estimate_seed_ri, "cities": estimate_seed_cities}


def _task(part: str, seed: int, placebo_reps: int, ri_reps: int) -> tuple[str, int, list[dict], float]:
    t0 = time.perf_counter()
    if part == "base":
        rows = estimate_seed(seed)
    elif part == "ri":
        rows = estimate_seed_ri(seed, ri_reps)
    else:
        rows = ESTIMATE[part](seed, placebo_reps)
    for r in rows:
        r["part"] = part
    return part, seed, rows, time.perf_counter() - t0


def _cache_file(cache: Path, part: str, seed: int, placebo_reps: int, ri_reps: int) -> Path:
    reps = {"base": "", "ri": f"_r{ri_reps}"}.get(part, f"_r{placebo_reps}")
    return cache / f"v{PART_VERSION[part]}_{part}{reps}_seed{seed}.json"


def run_study(
    n_seeds: int = 200,
    costly_seeds: int = 100,
    *,
    parts: tuple[str, ...] = PARTS,
    first_seed: int = 1,
    jobs: int = 1,
    placebo_reps: int = PLACEBO_REPS,
    ri_reps: int = RI_REPS,
    cache: Path | None = None,
    progress: int = 10,
) -> tuple[pd.DataFrame, dict]:
    """Run ``parts`` (``base`` on ``n_seeds`` seeds, the others on ``costly_seeds``) and return
    (summary table, mean seconds per seed by part). With ``cache`` a directory, each (part, seed)
    result is stored there and reused, so the study can be run in chunks; ``jobs`` > 1 runs the
    seeds in that many processes. A line goes to stderr every ``progress`` seeds of a part."""
    todo, rows, secs = [], [], {p: [] for p in parts}
    for seed in range(first_seed, first_seed + max(n_seeds, costly_seeds)):
        for part in parts:
            if seed >= first_seed + (n_seeds if part == "base" else costly_seeds):
                continue
            f = _cache_file(cache, part, seed, placebo_reps, ri_reps) if cache else None
            if f is not None and f.is_file():
                got = json.loads(f.read_text())
                rows += got["rows"]
                secs[part].append(got["seconds"])
            else:
                todo.append((part, seed))
    total = {p: sum(1 for q, _ in todo if q == p) for p in parts}
    done = dict.fromkeys(parts, 0)
    t_start = time.perf_counter()

    def collect(part, seed, got, sec):
        rows.extend(got)
        secs[part].append(sec)
        if cache:
            cache.mkdir(parents=True, exist_ok=True)
            f = _cache_file(cache, part, seed, placebo_reps, ri_reps)
            f.write_text(json.dumps({"rows": got, "seconds": sec}))
        done[part] += 1
        if progress and (done[part] % progress == 0 or done[part] == total[part]):
            print(
                f"truth_recovery {part}: {done[part]}/{total[part]} seeds, {np.mean(secs[part]):.1f} s/seed, "
                f"{time.perf_counter() - t_start:.0f} s elapsed",
                file=sys.stderr,
                flush=True,
            )

    if jobs > 1 and len(todo) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_task, part, seed, placebo_reps, ri_reps) for part, seed in todo]
            for fut in as_completed(futures):
                collect(*fut.result())
    else:
        for part, seed in todo:
            collect(*_task(part, seed, placebo_reps, ri_reps))
    seconds = {p: float(np.mean(v)) for p, v in secs.items() if v}
    return summarise(rows, seconds), seconds


MD = Path(__file__).resolve().parent / "truth_recovery.md"
NOTES_MARKER = "<!-- notes: kept when the table is rewritten -->"


def write_md(table: pd.DataFrame, seconds: dict, command: str, wall: float, path: Path = MD) -> None:
    """The short table of bench/truth_recovery.md: estimator, outcome, n_seeds, bias/SE, coverage
    and the verdict of ``evalkit.review.truth.recovers`` (main body or annex). Text below
    ``NOTES_MARKER`` in the existing file is kept."""
    from evalkit.review.truth import COVERAGE, MAX_ABS_BIAS_OVER_SE, recovers

    lines = [
        "# Truth recovery (bench/truth_recovery.py)",
        "",
        f"Command: `{command}`; wall time of the last invocation {wall:.0f} s (results of earlier "
        "chunks are reused from the cache). Mean seconds per seed and part in one worker process "
        "(wall clock on a shared 2-core machine): " + ", ".join(f"{p} {v:.1f}" for p, v in seconds.items()) + ".",
        "",
        f"Verdict: **main body** when |bias| < {MAX_ABS_BIAS_OVER_SE} SE and 95 % coverage in "
        f"{COVERAGE[0]:.2f}–{COVERAGE[1]:.2f} (`evalkit.review.truth.recovers`), else annex. "
        "Coverage of `cs_simple_ri` is 1 − the rejection rate at 5 % of the true effect as a sharp "
        "null (randomization test); its SE column is the SD of the permutation distribution. "
        "`reject_zero`: share of seeds whose interval (test) excludes 0. `holds`: the generator "
        "satisfies the estimator's identifying assumptions.",
        "",
        "| estimator | outcome | inference | n_seeds | bias/SE (± MC SE) | coverage (± MC SE) | reject 0 | holds | verdict |",
        "|---|---|---|---:|---:|---:|---:|:-:|---|",
    ]
    for r in table.to_dict("records"):
        verdict = "main body" if recovers(r) else "annex"
        lines.append(
            f"| {r['estimator']} | {r['outcome']} | {r['inference']}"
            + (f" ({r['reps']})" if r["reps"] else "")
            + f" | {r['n_seeds']} | {r['bias_over_se']:+.3f} ± {r['mc_se_of_bias_over_se']:.3f}"
            f" | {r['coverage']:.3f} ± {r['mc_se_of_coverage']:.3f} | {r['reject_zero']:.2f}"
            f" | {'yes' if r['assumptions_hold'] else 'no'} | {verdict} |"
        )
    notes = ""
    if path.is_file():  # hand-written notes below the marker survive a rerun
        text = path.read_text(encoding="utf-8")
        if NOTES_MARKER in text:
            notes = "\n" + text[text.index(NOTES_MARKER) :]
    path.write_text("\n".join(lines) + "\n" + notes, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n_seeds", nargs="?", type=int, default=200, help="seeds of the base part (default 200)")
    ap.add_argument(
        "--costly-seeds",
        type=int,
        default=None,
        help="seeds of the sdid / ri / cities parts (default min(n_seeds, 100))",
    )
    ap.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--placebo-reps", type=int, default=PLACEBO_REPS)
    ap.add_argument("--ri-reps", type=int, default=RI_REPS)
    ap.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "evalkit_truth_recovery",
        help="directory of per-seed results, reused across runs (default: $TMPDIR/evalkit_truth_recovery)",
    )
    ap.add_argument("--no-cache", action="store_true", help="recompute everything, store nothing")
    ap.add_argument("--write", action="store_true", help="write the CSV even when some parts were not run")
    args = ap.parse_args(argv)
    parts = tuple(p for p in args.parts.split(",") if p)
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        ap.error(f"unknown part(s) {unknown}; choose from {PARTS}")
    costly = args.costly_seeds if args.costly_seeds is not None else min(args.n_seeds, 100)
    t0 = time.perf_counter()
    table, seconds = run_study(
        args.n_seeds,
        costly,
        parts=parts,
        first_seed=args.first_seed,
        jobs=args.jobs,
        placebo_reps=args.placebo_reps,
        ri_reps=args.ri_reps,
        cache=None if args.no_cache else args.cache,
    )
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.max_rows", 200):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"base {args.n_seeds} seeds, other parts {costly} seeds; wall time {time.perf_counter() - t0:.0f} s")
    print("mean seconds per seed (one process): " + ", ".join(f"{p} {s:.2f}" for p, s in seconds.items()))
    if set(parts) == set(PARTS) or args.write:
        table.to_csv(CSV, index=False, float_format="%.6g")
        print(f"wrote {CSV.relative_to(Path.cwd()) if CSV.is_relative_to(Path.cwd()) else CSV}")
        command = "python bench/truth_recovery.py " + " ".join(sys.argv[1:] if argv is None else argv)
        write_md(table, seconds, command.strip(), time.perf_counter() - t0)
        print(f"wrote {MD}")
    else:
        print("CSV not written: not every part ran (use --write to write it anyway)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
