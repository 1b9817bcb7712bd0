"""Benchmark of evalkit.models against calling the underlying libraries directly, same run.

* TWFE: 1,000,000 rows = 50,000 units × 20 periods, y ~ x1 + x2 | unit + period, CRV1 by unit:
  ``evalkit.models.twfe`` vs ``pyfixest.feols`` on the same frame.
* staggered DiD: 20,000 units × 20 periods, four cohorts + never treated, never-treated
  controls, doubly robust, varying base period, analytic SEs, no bootstrap:
  ``evalkit.models.staggered_did`` vs ``csdid.ATTgt(...).fit(bstrap=False)`` and
  ``diff_diff.CallawaySantAnna(n_bootstrap=0).fit(...)``, timed side by side; the goal is set
  against the fastest library that is *correct*: its ATT(g,t) and analytic SEs on mpdta equal the
  closed form (difference of mean changes, R did's estimator without covariates) to 1e-6 and R
  did's published ATT(g,t) to their 4 printed decimals (``correct_on_mpdta``).

Each measurement runs in a fresh process (``bench.common.run_child``) so peak memory is its own.
``quick=True`` uses 2,000 units (TWFE) and 1,000 units (DiD). Goals: TWFE ratio ≤ 1.2; DiD ≤ 1.0×
the fastest correct library (issue 15).
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.common import print_rows, row, run_child  # noqa: E402

MAKE = """
import sys, time, numpy as np, pandas as pd
sys.path.insert(0, {src!r})
rng = np.random.default_rng(0)
U, T = {units}, {periods}
unit = np.repeat(np.arange(U), T); t = np.tile(np.arange(1, T + 1), U)
cohort = np.repeat(rng.choice([0, 6, 9, 12, 15], U), T)
x1 = rng.normal(size=U * T); x2 = rng.normal(size=U * T)
y = 0.5 * x1 - 0.2 * x2 + 0.3 * ((t >= cohort) & (cohort > 0)) + rng.normal(size=U)[unit] + 0.1 * t + rng.normal(size=U * T)
df = pd.DataFrame(dict(unit=unit, t=t, cohort=cohort, x1=x1, x2=x2, y=y))
"""

TWFE = {
    "evalkit": "import evalkit.models as M\n"
               "def call(d):\n    r = M.twfe(d, y='y', x=['x1','x2'], unit='unit', time='t')\n    return float(r.params['x1'])\n",
    "direct": "import pyfixest as pf\n"
              "def call(d):\n    m = pf.feols('y ~ x1 + x2 | unit + t', d, vcov={'CRV1':'unit'}); m.se()\n    return float(m.coef()['x1'])\n",
}
DID = {
    "evalkit": "import evalkit.models as M\n"
               "def call(d):\n    r = M.staggered_did(d, y='y', unit='unit', time='t', cohort='cohort')\n"
               "    return float(r.att_gt['att'].iloc[-1])\n",
    "direct": "import contextlib, io\nfrom csdid.att_gt import ATTgt\n"
              "def call(d):\n    with contextlib.redirect_stdout(io.StringIO()):\n"
              "        a = ATTgt(yname='y', tname='t', idname='unit', gname='cohort', data=d.assign(unit=d.unit + 1),"
              " cband=False).fit(est_method='dr', bstrap=False)\n"
              "    return float(np.asarray(a.results['att'])[-1])\n",
}
DID_DIFFDIFF = ("from diff_diff import CallawaySantAnna\n"
                "def call(d):\n"
                "    r = CallawaySantAnna(estimation_method='dr', control_group='never_treated', n_bootstrap=0,"
                " cband=False).fit(d, outcome='y', unit='unit', time='t', first_treat='cohort')\n"
                "    return float(r.group_time_effects[max(r.group_time_effects)]['effect'])\n")
# R did 2.5.0 on mpdta (README of bcallaway11/did; tests/test_models_published.py), 4 dp.
R_MPDTA = {(2004, 2004): -0.0105, (2004, 2005): -0.0704, (2004, 2006): -0.1373, (2004, 2007): -0.1008,
           (2006, 2004): 0.0065, (2006, 2005): -0.0028, (2006, 2006): -0.0046, (2006, 2007): -0.0412,
           (2007, 2004): 0.0305, (2007, 2005): -0.0027, (2007, 2006): -0.0311, (2007, 2007): -0.0261}
# Warm-up on a small slice first (imports, numba compilation), then time the full call.
TIMED = ("call(df[df.unit < 200])\nt0 = time.perf_counter(); b = call(df)\n"
         "RESULT = {'seconds': time.perf_counter() - t0, 'b': b}")


def _pair(name, codes, units, periods, notes, repeat=3):
    """Alternate evalkit and direct children ``repeat`` times (the machine is shared, load drifts)
    and report medians."""
    import statistics

    make = MAKE.format(src=str(ROOT / "src"), units=units, periods=periods)
    runs = {"evalkit": [], "direct": []}
    for _ in range(repeat):
        for who in ("evalkit", "direct"):
            runs[who].append(run_child(make + codes[who] + TIMED))
    ev, di = ({k: statistics.median(r[k] for r in runs[w]) for k in runs[w][0]} for w in ("evalkit", "direct"))
    notes += f", median of {repeat} alternating runs"
    if abs(ev["b"] - di["b"]) > 1e-8 * max(1.0, abs(di["b"])):
        raise RuntimeError(f"{name}: evalkit and the direct call disagree ({ev['b']} vs {di['b']})")
    return [row(f"{name} seconds", ev["seconds"], di["seconds"], "≤ 1.2×", "s", notes),
            row(f"{name} peak memory", ev["peak_rss_mb"], di["peak_rss_mb"], "≤ 1.2×", "MB", notes)]


def _mpdta_estimates() -> dict[str, "object"]:
    """ATT(g,t) and analytic SE tables (cohort, time → att, se) of each implementation on mpdta."""
    import contextlib
    import io
    import warnings

    import moderndid
    import numpy as np
    import pandas as pd

    d = moderndid.load_mpdta()
    d = d.to_pandas() if hasattr(d, "to_pandas") else d
    out = {}
    import evalkit.models as M

    r = M.staggered_did(d, y="lemp", unit="countyreal", time="year", cohort="first.treat")
    out["evalkit"] = r.att_gt.set_index(["cohort", "time"])[["att", "se"]]
    from csdid.att_gt import ATTgt

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = ATTgt(yname="lemp", tname="year", idname="countyreal", gname="first.treat", data=d,
                  cband=False).fit(est_method="dr", bstrap=False)
    out["csdid"] = pd.DataFrame({"cohort": np.asarray(a.results["group"]), "time": np.asarray(a.results["year"]),
                                 "att": np.asarray(a.results["att"], float),
                                 "se": np.asarray(a.results["se"], float)}).set_index(["cohort", "time"])
    from diff_diff import CallawaySantAnna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = CallawaySantAnna(estimation_method="dr", control_group="never_treated", n_bootstrap=0, cband=False).fit(
            d, outcome="lemp", unit="countyreal", time="year", first_treat="first.treat")
    out["diff-diff"] = pd.DataFrame([(k[0], k[1], v["effect"], v["se"]) for k, v in g.group_time_effects.items()],
                                    columns=["cohort", "time", "att", "se"]).set_index(["cohort", "time"])
    # closed form: difference of mean changes against the never treated; SE² = Σ var(ΔY)/n per group (1/n)
    wide = d.pivot(index="countyreal", columns="year", values="lemp")
    coh = d.groupby("countyreal")["first.treat"].first()
    rows = []
    for (gg, tt) in R_MPDTA:
        base = gg - 1 if tt >= gg else tt - 1
        dy = wide[tt] - wide[base]
        tr, co = dy[coh == gg], dy[coh == 0]
        rows.append((gg, tt, tr.mean() - co.mean(), np.sqrt(tr.var(ddof=0) / len(tr) + co.var(ddof=0) / len(co))))
    out["closed form"] = pd.DataFrame(rows, columns=["cohort", "time", "att", "se"]).set_index(["cohort", "time"])
    return out


def correct_on_mpdta() -> dict[str, tuple[bool, float]]:
    """Per implementation: (correct, max |difference| from the closed form over ATT(g,t) and SEs)."""
    est = _mpdta_estimates()
    ref = est.pop("closed form")
    out = {}
    for who, t in est.items():
        t = t.reindex(ref.index)
        diff = float(max((t["att"] - ref["att"]).abs().max(), (t["se"] - ref["se"]).abs().max()))
        r_ok = all(abs(t.loc[k, "att"] - v) <= 5e-5 + 1e-12 for k, v in R_MPDTA.items())
        out[who] = (bool(diff <= 1e-6 and r_ok and len(t) == len(ref)), diff)
    return out


def _did_rows(units: int, repeat: int = 3) -> list[dict]:
    """evalkit, csdid and diff-diff in alternating fresh children; medians; the baseline is the
    fastest of the libraries that are correct on mpdta."""
    import statistics

    make = MAKE.format(src=str(ROOT / "src"), units=units, periods=20)
    codes = {"evalkit": DID["evalkit"], "csdid": DID["direct"], "diff-diff": DID_DIFFDIFF}
    runs: dict[str, list[dict]] = {w: [] for w in codes}
    for _ in range(repeat):
        for who, code in codes.items():
            runs[who].append(run_child(make + code + TIMED))
    med = {w: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for w, rs in runs.items()}
    b = med["csdid"]["b"]
    for w in codes:
        if abs(med[w]["b"] - b) > 1e-8 * max(1.0, abs(b)):
            raise RuntimeError(f"staggered_did: {w} and csdid disagree ({med[w]['b']} vs {b})")
    ok = correct_on_mpdta()
    correct = [w for w in ("csdid", "diff-diff") if ok[w][0]]
    if not correct:
        raise RuntimeError(f"no library is correct on mpdta: {ok}")
    fastest = min(correct, key=lambda w: med[w]["seconds"])
    times = ", ".join(f"{w} {med[w]['seconds']:.3f} s / {med[w]['peak_rss_mb']:.0f} MB" for w in codes)
    checks = ", ".join(f"{w} {'ok' if c else 'WRONG'} ({d:.1e})" for w, (c, d) in ok.items())
    notes = (f"{units} units×20 periods, 4 cohorts, never-treated controls, dr, analytic SEs, vs the fastest correct "
             f"({fastest}); medians of {repeat} alternating runs: {times}; mpdta vs closed form/R did: {checks}")
    return [row("models.staggered_did seconds", med["evalkit"]["seconds"], med[fastest]["seconds"],
                "≤ 1.0× fastest correct", "s", notes),
            row("models.staggered_did seconds vs csdid", med["evalkit"]["seconds"], med["csdid"]["seconds"],
                "reported", "s", f"{units} units×20 periods, same runs"),
            row("models.staggered_did peak memory", med["evalkit"]["peak_rss_mb"], med[fastest]["peak_rss_mb"],
                "≤ 1.2×", "MB", f"{units} units×20 periods, vs {fastest}, same runs")]


# A review-sized panel (15 colleges × 15 periods, CRV1 by college: few clusters, so CRV3 and a
# 999-draw wild bootstrap are added) in a fresh process: the first call pays pyfixest's import.
FIRST_TWFE = """
import sys, time
sys.path.insert(0, {src!r})
t0 = time.perf_counter()
import numpy as np, pandas as pd
import evalkit.models as M
t_import = time.perf_counter() - t0
rng = np.random.default_rng(1)
d = pd.DataFrame({{"u": np.repeat(np.arange(15), 15), "t": np.tile(np.arange(15), 15)}})
d["x1"], d["x2"] = rng.normal(size=len(d)), rng.normal(size=len(d))
d["y"] = d["x1"] + rng.normal(size=len(d))
def call():
    t = time.perf_counter()
    r = M.twfe(d, y="y", x=["x1", "x2"], unit="u", time="t", engine={engine!r})
    assert r.info["engine"] == {engine!r}
    return time.perf_counter() - t
first = call()
RESULT = {{"import": t_import, "first": first, "second": call(), "pyfixest_loaded": "pyfixest" in sys.modules}}
"""


def _first_twfe_rows(repeat: int = 3) -> list[dict]:
    import statistics

    runs, old = [], []
    for _ in range(repeat):  # alternating: evalkit's route, then pyfixest's, each in a fresh process
        runs.append(run_child(FIRST_TWFE.format(src=str(ROOT / "src"), engine="evalkit")))
        old.append(run_child(FIRST_TWFE.format(src=str(ROOT / "src"), engine="pyfixest")))
    med = {k: statistics.median(r[k] for r in runs) for k in ("import", "first", "second")}
    base = {k: statistics.median(r[k] for r in old) for k in ("first", "second")}
    loaded = "pyfixest imported" if any(r["pyfixest_loaded"] for r in runs) else "pyfixest never imported"
    notes = (f"fresh process, 15×15 panel, CRV1 by unit (15 clusters: + CRV3 jackknife and 999-draw wild "
             f"bootstrap), median of {repeat} alternating runs: import evalkit.models {med['import']:.2f} s; evalkit's "
             f"route first call {med['first']:.3f} s ({loaded}), second {med['second']:.4f} s; baseline = the same "
             f"call on engine='pyfixest' in a fresh process: first {base['first']:.2f} s (importing pyfixest, "
             f"formulaic, numba, wildboottest), second {base['second']:.3f} s")
    return [row("models.twfe first call in a fresh process", med["first"], base["first"], "≤ 1 s (issue 15)", "s",
                notes)]


def run(quick: bool = False) -> list[dict]:
    tw_units, did_units = (2_000, 1_000) if quick else (50_000, 20_000)
    rows = _pair("models.twfe CRV1", TWFE, tw_units, 20, f"{tw_units}×20 rows, vs pyfixest.feols")
    rows += _first_twfe_rows(1 if quick else 3)
    rows += _did_rows(did_units)
    return rows


if __name__ == "__main__":
    if "--did" in sys.argv:  # only the staggered DiD rows
        print_rows(_did_rows(1_000 if "--quick" in sys.argv else 20_000))
    elif "--first-twfe" in sys.argv:
        print_rows(_first_twfe_rows())
    else:
        print_rows(run(quick="--quick" in sys.argv))
