"""The synthetic consortium's truth file (``truth.json``): the calibration targets and, for every
outcome, its definition, the true input effects, the membership effect's form and the true
ATT(g, t), simple and dynamic ATTs (expectations, no noise), and the assumptions the model makes
true — which estimators they make unbiased and which not."""

from __future__ import annotations

import numpy as np

from evalkit.data.synth_model import Design, World
from evalkit.data.synth_specs import (
    BASELINE,
    COHORT_MULTIPLIER,
    COHORTS,
    FOUNDING,
    INCOME_RESPONSE,
    INCOME_SD,
    INPUT_RAMP,
    INPUTS_BY_NAME,
    OUTCOMES,
    PHASES,
    REGRESSORS,
)


ASSUMPTIONS = {
    "parallel_trends": "holds unconditionally: untreated outcomes are alpha_i + gamma_t + sum beta x0 + eps with "
    "gamma_t common to members and comparison units, and x0 (inputs without membership) drift "
    "by the same expected amount a period for every unit (counts: the same number; shares: the "
    "same percentage points); levels may differ, trends do not",
    "no_anticipation": "holds: inputs and outcomes change only from the joining period on (e >= 0)",
    "treatment_timing": "staggered, absorbing: a unit never leaves; cohort = period containing member_since",
    "noise": "eps_it iid normal across units and periods (no serial correlation); graduate outcomes add "
    "binomial sampling of graduates given the probabilities",
    "inputs": "x0 is exogenous given unit and period effects (independent of eps); membership raises inputs "
    "by a deterministic, cohort-homogeneous event-time path D_k(e), so inputs are mediators of "
    "membership",
    "estimators_satisfied": [
        "staggered_did (Callaway–Sant'Anna, never-treated or not-yet-treated controls, no covariates): "
        "unbiased for att_gt / att_simple / att_dynamic (total effect of membership, including the induced "
        "rise in inputs)",
        "event_study (Sun–Abraham interaction-weighted): unbiased for att_dynamic-type cohort-specific effects",
        "twfe with the membership effect saturated: y ~ inputs | unit_id + period + cohort_event, where "
        "cohort_event = f'{cohort}:{t - cohort_t}' for member cells with t >= cohort_t and 'none' otherwise: "
        "unbiased for input_effects (the direct effect is absorbed, the input variation left is x0's)",
    ],
    "estimators_not_satisfied": [
        "twfe y ~ inputs | unit_id + period (no membership terms): input coefficients biased upward, the "
        "direct membership effect loads on the inputs that rise with membership",
        "static twfe y ~ post | unit_id + period: a weighted average with forbidden comparisons; biased for "
        "att_simple under the dynamic, cohort-heterogeneous effects",
        "twfe y ~ inputs + i(event_time) | unit_id + period (event time pooled over cohorts): slightly "
        "misspecified because the direct effect differs across cohorts (h_g)",
    ],
    "clean_input_specification": "y ~ <inputs> | unit_id + period + cohort_event",
}


def _att_block(effect: np.ndarray, gt: np.ndarray, labels: list[str], observed: np.ndarray) -> dict:
    """att_gt over observed periods, simple (R did: cohort-size weights over post cells) and dynamic."""
    att_gt, simple_num, simple_den = [], 0.0, 0.0
    dyn: dict[int, tuple[float, int]] = {}
    for g in sorted(set(gt[gt > 0].tolist())):
        rows = gt == g
        n_g = int(rows.sum())
        for t in np.flatnonzero(observed) + 1:
            att = float(effect[rows, t - 1].mean())
            att_gt.append(
                {
                    "cohort": labels[g - 1],
                    "cohort_t": int(g),
                    "time": labels[t - 1],
                    "t": int(t),
                    "att": round(att, 8),
                    "n": n_g,
                }
            )
            if t >= g:
                simple_num += n_g * att
                simple_den += n_g
            num, den = dyn.get(int(t - g), (0.0, 0))
            dyn[int(t - g)] = (num + n_g * att, den + n_g)
    return {
        "att_gt": att_gt,
        "att_simple": round(simple_num / simple_den, 8) if simple_den else None,
        "att_dynamic": {str(e): round(num / den, 8) for e, (num, den) in sorted(dyn.items())},
    }


def build_truth(world: World, design: Design, seed: int, scale: float) -> dict:
    """The truth file: calibration targets, and for every outcome its definition, true input
    effects, membership-effect parametrisation and the true ATTs (expectations, no noise)."""
    labels = world.labels
    h1 = np.array([lab.endswith("H1") for lab in labels])
    t_of = {lab: i + 1 for i, lab in enumerate(labels)}
    cohorts = {}
    for lab in COHORTS:
        g = t_of[lab]
        cohorts[lab] = {
            "cohort_t": g,
            "colleges": int((world.college_gt == g).sum()),
            "enterprises": int((world.enterprise_gt == g).sum()),
            "multiplier": COHORT_MULTIPLIER[lab],
        }
    outcomes = {}
    for spec in OUTCOMES:
        gt = world.college_gt if spec.unit_type == "college" else world.enterprise_gt
        observed = h1 if spec.observed == "H1" else np.ones(len(labels), dtype=bool)
        entry = {
            "label_zh": spec.label_zh,
            "label_en": spec.label_en,
            "definition": f"{spec.y}"
            + ("  (H1 periods only: the June graduate cohort; H2 flows are 0)" if spec.observed == "H1" else ""),
            "variables": {"y": spec.y, "inputs": {k: REGRESSORS[k] for k in spec.betas}},
            "unit_type": spec.unit_type,
            "observed_periods": "H1" if spec.observed == "H1" else "all",
            "input_effects": dict(spec.betas),
            "membership_effect": {
                "form": "direct_it = multiplier[cohort] * tau * min(1, (e + 1) / ramp_periods) for e = t - "
                "cohort_t >= 0, else 0",
                "tau": spec.tau,
                "ramp_periods": spec.ramp,
                "cohort_multipliers": dict(COHORT_MULTIPLIER),
                "event_time_unit": "half-year",
            },
            "induced_input_rise": {
                k: {
                    "input_column": REGRESSORS[k].split(" ")[0],
                    "delta": INPUTS_BY_NAME[REGRESSORS[k].split(" ")[0]].delta,
                    "unit": {
                        "count": "count",
                        "students": "percentage points of students",
                        "teachers": "percentage points of teachers",
                    }[INPUTS_BY_NAME[REGRESSORS[k].split(" ")[0]].form],
                    "form": f"floor(delta * min(1, (e + 1) / {INPUT_RAMP}) * denominator + 0.5) added to the count",
                    "ramp_periods": INPUT_RAMP,
                }
                for k in spec.betas
            },
            "noise_sd": spec.noise_sd,
            "baseline_level": {"members": spec.level_member, "comparison": spec.level_comparison, "sd": spec.level_sd},
            "period_effect": {
                "trend_per_half_year": spec.trend,
                "covid_2020H1": spec.covid,
                "common_shock_sd": round(0.3 * spec.noise_sd, 6),
            },
        }
        if spec.observed == "H1":
            entry["sampling"] = (
                "y is a ratio of graduate counts drawn per graduate: E[y | equation] = the "
                "equation's value (in %), clipped to [0.5, 99.5]"
                if spec.id != "income"
                else f"income_i = max(1500, round(mean + {INCOME_SD:g} z)), z ~ N(0,1); "
                f"{INCOME_RESPONSE:.0%} of placed graduates respond"
            )
        entry.update(_att_block(world.truth_effects[spec.id], gt, labels, observed))
        if spec.observed == "H1":  # the same effects on the annual (H1-only) panel
            annual_gt = np.array([next(t for t in range(g, len(labels) + 1) if h1[t - 1]) if g > 0 else 0 for g in gt])
            block = _att_block(world.truth_effects[spec.id], annual_gt, labels, observed)
            block["att_dynamic"] = {str(int(e) // 2): v for e, v in block["att_dynamic"].items()}
            entry["annual"] = {
                "cohort_rule": "cohort = first H1 period at or after the joining period; event time in years",
                **block,
            }
        outcomes[spec.id] = entry
    calib = _calibration(design, t_of, scale)
    return {
        "seed": int(seed),
        "frequency": "half",
        "periods": labels,
        "baseline": BASELINE,
        "founding": FOUNDING,
        "phases": PHASES,
        "cohorts": cohorts,
        "calibration": calib,
        "outcomes": outcomes,
        "assumptions": ASSUMPTIONS,
        "conventions": {
            "t": "1-based index of the period in periods",
            "cohort": "label of the period containing member_since",
            "cohort_t": "t of the cohort (0 = never a member)",
            "att": "mean over the cohort's units of E[y(1) - y(0)] (no noise)",
        },
    }


def _calibration(design: Design, t_of: dict, scale: float) -> dict:
    tb, tf = t_of[BASELINE], t_of[FOUNDING]
    pre = [lab for lab, t in t_of.items() if t == tb - 1] + [BASELINE]
    upto = [lab for lab, t in t_of.items() if t <= tf]
    out = {}
    for name, target in design.targets.items():
        out[f"member_colleges_{name}"] = {
            "variable": name,
            "units": "member_colleges",
            "aggregate": "sum",
            "periods": pre if name == "training_person_times" else [BASELINE],
            "target": target,
            "rel_tol": 0.001 if name == "training_person_times" else 0.0,
        }
    out["member_enterprises_count"] = {
        "variable": "unit_id",
        "units": "member_enterprises",
        "aggregate": "count",
        "periods": [],
        "target": int((design.enterprise_gt > 0).sum()),
        "rel_tol": 0.0,
    }
    for name, pin in design.pins.items():
        spec = INPUTS_BY_NAME[name]
        if name == "productive_base_output":
            periods = [BASELINE, FOUNDING]
        elif spec.kind == "flow":
            periods = upto
        else:
            periods = [FOUNDING]
        out[f"lead_college_{name}"] = {
            "variable": name,
            "units": "lead_college",
            "aggregate": "sum",
            "periods": periods,
            "target": pin,
            "rel_tol": 0.0,
        }
    out["_note"] = {
        "scale": scale,
        "seed_figures": "over N in the seed -> slightly above N here; 'sum over "
        "periods' for flows, the stock at the listed period otherwise",
    }
    return out
