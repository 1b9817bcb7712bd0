"""Benchmark of evalkit.models against calling the underlying libraries directly, same run.

* TWFE: 1,000,000 rows = 50,000 units × 20 periods, y ~ x1 + x2 | unit + period, CRV1 by unit:
  ``evalkit.models.twfe`` vs ``pyfixest.feols`` on the same frame.
* staggered DiD: 20,000 units × 20 periods, four cohorts + never treated:
  ``evalkit.models.staggered_did`` (analytic SEs) vs ``csdid.ATTgt(...).fit(bstrap=False)``.

Each measurement runs in a fresh process (``bench.common.run_child``) so peak memory is its own.
``quick=True`` uses 2,000 units (TWFE) and 1,000 units (DiD). Goal: ratio ≤ 1.2.
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


def run(quick: bool = False) -> list[dict]:
    tw_units, did_units = (2_000, 1_000) if quick else (50_000, 20_000)
    rows = _pair("models.twfe CRV1", TWFE, tw_units, 20, f"{tw_units}×20 rows, vs pyfixest.feols")
    rows += _pair("models.staggered_did", DID, did_units, 20, f"{did_units} units×20 periods, 4 cohorts, vs csdid")
    return rows


if __name__ == "__main__":
    print_rows(run(quick="--quick" in sys.argv))
