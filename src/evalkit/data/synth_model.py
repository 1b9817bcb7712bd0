"""The structural model behind ``evalkit.data.synth`` (parameters: :mod:`evalkit.data.synth_specs`):
units, membership cohorts, integration inputs, outcomes, graduate records and the true effects.

Everything is drawn from ``numpy.random.default_rng(seed)``, split into independent child
streams (one per model component) that always draw arrays of the same shape. Switching the
membership effects off (``effects=False``) therefore reuses every noise draw: the two runs are
the potential outcomes Y(1) and Y(0) of the same synthetic world, which is how the tests check
the true ATTs written to ``truth.json``.

Model (college i, half-year period t = 1..T, cohort g_i = period index of joining, e = t - g_i):

* exogenous context: students S_it, teachers T_it, graduates G_it (June cohort, H1 only);
* inputs without membership x0 (anchored Poisson random walks for stocks, Poisson flows);
  with membership x1 = x0 + D_k(e), D_k(e) = floor(delta_k * r_x(e) + 1/2) in counts (for
  share inputs delta_k is in percentage points of students/teachers), r_x(e) = min(1, (e+1)/4);
* outcome y_it = alpha_i + gamma_t + sum_k beta_k x_k,it + h_g * tau * r_y(e) + eps_it,
  r_y(e) = min(1, (e+1)/ramp), eps ~ N(0, noise_sd^2) iid; x_k computed from the stored counts;
* graduate outcomes are probabilities (in %) from the same equation; each graduate record is a
  Bernoulli draw from them (income: a normal draw around the equation's mean, whole yuan).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from evalkit.data.periods import Period, parse_period, period_range
from evalkit.data.synth_specs import (
    BASELINE,
    COHORT_MULTIPLIER,
    COHORTS,
    COLLEGE_COHORT_SIZES_9,
    COLLEGE_INPUTS,
    COVID_PERIOD,
    ENTERPRISE_COHORT_SHARES,
    FOUNDING,
    FOUNDING_DATE,
    INCOME_RESPONSE,
    INCOME_SD,
    INPUT_RAMP,
    INPUTS_BY_NAME,
    OUTCOMES,
    OUTCOMES_BY_ID,
    PHASES,
    REGRESSORS,
    InputSpec,
    OutcomeSpec,
)

# The parameters are importable from here too (``synth_model.OUTCOMES_BY_ID``).
__all__ = [
    "BASELINE",
    "COHORT_MULTIPLIER",
    "COHORTS",
    "COLLEGE_COHORT_SIZES_9",
    "COLLEGE_INPUTS",
    "COVID_PERIOD",
    "ENTERPRISE_COHORT_SHARES",
    "FOUNDING",
    "FOUNDING_DATE",
    "INCOME_RESPONSE",
    "INCOME_SD",
    "INPUT_RAMP",
    "INPUTS_BY_NAME",
    "OUTCOMES",
    "OUTCOMES_BY_ID",
    "PHASES",
    "REGRESSORS",
    "Design",
    "InputSpec",
    "OutcomeSpec",
    "World",
    "simulate",
]


@dataclass
class World:
    """Arrays of one generated world (college rows = colleges in ``college_ids`` order)."""

    periods: list[Period]
    labels: list[str]
    college_ids: list[str]
    college_member: np.ndarray
    college_gt: np.ndarray  # cohort period index (1-based), 0 = never
    enterprise_ids: list[str]
    enterprise_member: np.ndarray
    enterprise_gt: np.ndarray
    college: dict[str, np.ndarray] = field(default_factory=dict)  # variable -> (n_colleges, T)
    enterprise: dict[str, np.ndarray] = field(default_factory=dict)
    truth_effects: dict[str, np.ndarray] = field(default_factory=dict)  # outcome -> expected y1 - y0
    records: dict[str, np.ndarray] | None = None


def period_labels(first: str, last: str) -> list[Period]:
    return period_range(parse_period(first), parse_period(last))


def ramp(e: np.ndarray, length: int) -> np.ndarray:
    """0 before joining (e < 0), then (e+1)/length up to 1."""
    return np.where(e >= 0, np.minimum(1.0, (e + 1.0) / length), 0.0)


def half_up(x: np.ndarray) -> np.ndarray:
    return np.floor(x + 0.5)


def event_time(gt: np.ndarray, n_periods: int) -> np.ndarray:
    """(units, T) event time t - g; a large negative number for never-members."""
    t = np.arange(1, n_periods + 1)[None, :]
    return np.where(gt[:, None] > 0, t - gt[:, None], -10_000)


def allocate(total: int, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Split an integer total over units at random (multinomial), so the sum is exact."""
    w = np.asarray(weights, dtype=float)
    return rng.multinomial(int(total), w / w.sum())


def anchored_walk(
    anchor_value: np.ndarray, anchor_t: np.ndarray, rate: np.ndarray, n_periods: int, rng: np.random.Generator
) -> np.ndarray:
    """Stock paths that equal ``anchor_value`` at ``anchor_t`` (1-based) and grow by Poisson(rate)
    additions per half-year elsewhere; floored at 0 (rarely binding)."""
    inc = rng.poisson(np.repeat(rate[:, None], n_periods, axis=1).clip(0))
    inc[:, 0] = 0
    cum = np.cumsum(inc, axis=1)
    at_anchor = cum[np.arange(len(anchor_t)), anchor_t - 1]
    return np.maximum(anchor_value[:, None] + cum - at_anchor[:, None], 0)


def input_rise(spec: InputSpec, e: np.ndarray, students: np.ndarray, teachers: np.ndarray) -> np.ndarray:
    """D_k(e): the induced rise of an input in its stored unit (counts; proportional for amounts)."""
    r = ramp(e, INPUT_RAMP)
    if spec.form == "count":
        return half_up(spec.delta * r)
    if spec.form == "students":
        return half_up(spec.delta * r * students / 100.0)
    if spec.form == "teachers":
        return half_up(spec.delta * r * teachers / 100.0)
    return spec.delta * r  # amount: proportional


def regressors(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The regressors of ``REGRESSORS`` computed from stored college columns (as a user would)."""
    return {
        "joint_research_teams": c["joint_research_teams"],
        "dual_workshops": c["dual_workshops"],
        "shared_bases": c["shared_bases"],
        "parttime_teacher_share": c["enterprise_parttime_teachers"] / c["teachers"] * 100,
        "apprentice_share": c["apprentices"] / c["students"] * 100,
        "order_class_share": c["order_class_students"] / c["students"] * 100,
    }


@dataclass(frozen=True)
class Design:
    """Who is in the world: member colleges first (lead at 0), then comparison colleges; member
    enterprises first (lead at 0), then non-members. ``*_gt``: cohort period index, 0 = never."""

    college_gt: np.ndarray
    college_weight: np.ndarray  # relative size of member colleges (sums to 1 over members)
    enterprise_gt: np.ndarray
    enterprise_employees: np.ndarray  # employees at the baseline
    targets: dict[str, int]  # baseline totals over member colleges (see synth.CALIBRATION)
    pins: dict[str, float]  # lead college's seed figures


def simulate(
    design: Design, periods: list[Period], rng: np.random.Generator, *, effects: bool = True, records: bool = True
) -> World:
    """Draw one world. ``effects=False`` gives every unit its untreated potential outcomes with
    the same noise draws. ``records`` keeps the graduate-level arrays (they are always drawn,
    so the panel does not depend on it)."""
    (r_context, r_inputs, r_pins, r_out_c, r_out_e, r_records, r_hires, r_employer) = rng.spawn(8)
    labels = [p.label for p in periods]
    n_t = len(periods)
    t_of = {lab: i + 1 for i, lab in enumerate(labels)}
    tb = t_of[BASELINE]
    tf = t_of[FOUNDING]
    t_idx = np.arange(1, n_t + 1)
    h1 = np.array([p.sub == 1 for p in periods])
    covid = np.array([lab == COVID_PERIOD for lab in labels])

    gt = design.college_gt
    member = gt > 0
    n_c = len(gt)
    n_m = int(member.sum())
    e = event_time(gt, n_t)
    w = design.college_weight
    tg = design.targets

    # --- exogenous context -------------------------------------------------------------------
    def path(base: np.ndarray, growth: np.ndarray, sd: float) -> np.ndarray:
        noise = r_context.normal(0, sd, (len(base), n_t))
        noise[:, tb - 1] = 0.0  # the baseline is the calibrated value
        return np.rint(base[:, None] * np.exp(growth[:, None] * (t_idx - tb) + noise))

    # comparison colleges drawn around the members' mean size (similar colleges in other cities)
    comp_students = np.rint(r_context.lognormal(np.log(tg["students"] / n_m), 0.35, n_c - n_m))
    s9 = np.concatenate([allocate(tg["students"], w, r_context), comp_students])
    t9 = np.concatenate(
        [
            allocate(tg["teachers"], w * r_context.uniform(0.85, 1.15, n_m), r_context),
            np.rint(comp_students / r_context.uniform(22, 27, n_c - n_m)),
        ]
    )
    g9 = np.concatenate(
        [
            allocate(tg["graduates"], w * r_context.uniform(0.9, 1.1, n_m), r_context),
            np.rint(comp_students * r_context.uniform(0.26, 0.30, n_c - n_m)),
        ]
    )
    growth = r_context.normal(0.015, 0.01, n_c)
    students = path(s9, growth, 0.01)
    teachers = path(t9, growth * 0.7, 0.01)
    graduates = path(g9, growth, 0.03) * h1[None, :]
    majors = anchored_walk(np.rint(s9 / 450) + 5, np.full(n_c, tb), np.full(n_c, 0.05), n_t, r_context)
    size = s9 / 1000.0
    trend_flow = np.exp(0.03 * (t_idx - tb)) * np.where(covid, 0.8, 1.0)

    # --- inputs: untreated paths x0, then the induced rise D ----------------------------------
    lead_anchor = np.full(n_c, tb)
    x0: dict[str, np.ndarray] = {}
    for spec in COLLEGE_INPUTS:
        u = r_inputs.uniform(0.7, 1.3, n_c)
        if spec.kind == "stock":
            base = {
                "dual_teachers": np.rint(t9 * r_inputs.uniform(0.45, 0.6, n_c)),
                "enterprise_parttime_teachers": np.rint(t9 * r_inputs.uniform(0.08, 0.16, n_c)),
                "apprentices": np.rint(s9 * r_inputs.uniform(0.03, 0.06, n_c)),
                "order_class_students": np.rint(s9 * r_inputs.uniform(0.02, 0.05, n_c)),
            }.get(spec.name)
            if base is None:
                target = tg.get(spec.name)
                comp = np.rint(size * u * (spec.baseline_per_1k_students or 0.8))[n_m:]
                if spec.name == "national_productive_bases":
                    comp = r_inputs.binomial(1, 0.3, n_c - n_m).astype(float)
                    mem = (
                        np.concatenate([[2.0], allocate(tg[spec.name] - 2, w[1:], r_inputs)])
                        if n_m > 1
                        else np.array([tg[spec.name]])
                    )
                elif spec.name == "vocational_groups":
                    comp = r_inputs.binomial(2, 0.4, n_c - n_m).astype(float)
                    mem = allocate(tg[spec.name], w, r_inputs)
                elif target is not None:
                    mem = allocate(target, w * u[:n_m], r_inputs)
                else:
                    mem = np.rint(size * u * spec.baseline_per_1k_students + 1)[:n_m]
                base = np.concatenate([mem, comp]).astype(float)
            anchor_t = lead_anchor.copy()
            pin = design.pins.get(spec.name)
            if pin is not None:  # the lead's figure holds at the founding period, on the treated path
                rise = input_rise(spec, e[:1, tf - 1], students[:1, tf - 1], teachers[:1, tf - 1])[0]
                base[0] = pin - rise
                anchor_t[0] = tf
            # drift common to all units (parallel trends): counts by the same number a period,
            # shares by the same percentage points (additions proportional to the denominator)
            if spec.form == "count":
                rate = np.full(n_c, spec.growth * float(np.median(base)))
            else:
                denom = s9 if spec.form == "students" else t9
                rate = spec.growth * base.sum() / denom.sum() * denom
            x0[spec.name] = anchored_walk(base, anchor_t, rate, n_t, r_inputs)
        elif spec.form == "amount":
            level = s9 * (
                r_inputs.uniform(0.15, 0.35, n_c)
                if spec.name == "productive_base_output"
                else r_inputs.uniform(0.02, 0.05, n_c)
            )
            noise = r_inputs.normal(0, 0.08, (n_c, n_t))
            x0[spec.name] = np.round(level[:, None] * trend_flow * np.exp(noise), 2)
        else:
            mu = size * u * spec.baseline_per_1k_students
            x0[spec.name] = r_inputs.poisson(mu[:, None] * trend_flow).astype(float)

    # lead college: pinned flows (cumulative through the founding period, seed figures)
    for name in ("textbooks_codeveloped", "field_engineers_trained", "new_aligned_majors"):
        pin = design.pins.get(name)
        if pin is None:
            continue
        spec = INPUTS_BY_NAME[name]
        rise = input_rise(spec, e[0, :tf], students[0, :tf], teachers[0, :tf]).sum()
        x0[name][0, :tf] = allocate(int(pin - rise), trend_flow[:tf], r_pins)
    if "productive_base_output" in design.pins:
        spec = INPUTS_BY_NAME["productive_base_output"]
        half = design.pins["productive_base_output"] / 2
        x0["productive_base_output"][0, tb - 1] = half
        rise_at_founding = input_rise(spec, e[:1, tf - 1], students[:1, tf - 1], teachers[:1, tf - 1])[0]
        x0["productive_base_output"][0, tf - 1] = half / (1 + rise_at_founding)

    x1 = {}
    for spec in COLLEGE_INPUTS:
        rise = input_rise(spec, e, students, teachers)
        x1[spec.name] = np.round(x0[spec.name] * (1 + rise), 2) if spec.form == "amount" else x0[spec.name] + rise
    for xs in (x0, x1):
        xs["dual_teachers"] = np.minimum(xs["dual_teachers"], teachers)
        xs["apprentices"] = np.minimum(xs["apprentices"], students)
        xs["order_class_students"] = np.minimum(xs["order_class_students"], students)
        xs["new_aligned_majors"] = np.minimum(xs["new_aligned_majors"], majors)
    inputs = x1 if effects else x0
    context = {"students": students, "teachers": teachers}
    reg0, reg1 = regressors({**x0, **context}), regressors({**x1, **context})

    # --- college outcome equations ------------------------------------------------------------
    h = np.array([COHORT_MULTIPLIER.get(labels[g - 1], 1.0) if g > 0 else 0.0 for g in gt])
    y_expected, y_obs, truth = {}, {}, {}
    for ospec in OUTCOMES:
        if ospec.unit_type != "college":
            continue
        level = np.where(
            member,
            r_out_c.normal(ospec.level_member, ospec.level_sd, n_c),
            r_out_c.normal(ospec.level_comparison, ospec.level_sd, n_c),
        )
        gamma = ospec.trend * (t_idx - tb) + ospec.covid * covid + r_out_c.normal(0, 0.3 * ospec.noise_sd, n_t)
        eps = r_out_c.normal(0, ospec.noise_sd, (n_c, n_t))
        alpha = level - sum(b * reg0[k][:, tb - 1] for k, b in ospec.betas.items())
        direct = h[:, None] * ospec.tau * ramp(e, ospec.ramp)
        mean0 = alpha[:, None] + gamma[None, :] + sum(b * reg0[k] for k, b in ospec.betas.items())
        mean1 = alpha[:, None] + gamma[None, :] + sum(b * reg1[k] for k, b in ospec.betas.items()) + direct
        if ospec.id == "social_training":  # calibrate the intercept: seed's training person-times
            cells = np.s_[:n_m, tb - 2 : tb]
            kappa = (tg["training_person_times"] - ((mean0 + eps)[cells] * teachers[cells]).sum()) / teachers[
                cells
            ].sum()
            mean0, mean1 = mean0 + kappa, mean1 + kappa
        if ospec.observed == "H1" and ospec.id != "income":  # probabilities: clipped as drawn
            effect_expected = np.clip(mean1, 0.5, 99.5) - np.clip(mean0, 0.5, 99.5)
        else:
            effect_expected = mean1 - mean0
        truth[ospec.id] = effect_expected * h1[None, :] if ospec.observed == "H1" else effect_expected
        y_expected[ospec.id] = mean1 if effects else mean0
        y_obs[ospec.id] = y_expected[ospec.id] + eps

    col = {"students": students, "teachers": teachers, "majors": majors, "graduates": graduates, **inputs}
    col["tech_service_income"] = np.round(np.maximum(y_obs["tech_service"], 0) * teachers / 100, 2)
    col["training_income"] = np.round(np.maximum(y_obs["training_income"], 0) * teachers / 100, 2)
    col["training_person_times"] = np.rint(np.maximum(y_obs["social_training"], 0) * teachers)

    # --- graduate records: one Bernoulli draw per graduate from the equations' probabilities ----
    counts = graduates.astype(np.int64).ravel()
    cell = np.repeat(np.arange(n_c * n_t), counts)
    n_rec = len(cell)
    u = r_records.random((6, n_rec))
    z = r_records.standard_normal(n_rec)
    prob = {
        k: np.clip(y_obs[k], 0.5, 99.5).ravel()[cell] / 100
        for k in ("placement", "local_retention", "member_ent_employment", "job_match")
    }
    placed = u[0] < prob["placement"]
    local = placed & (u[1] < prob["local_retention"])
    member_ent = placed & (u[2] < prob["member_ent_employment"])
    matched = placed & (u[3] < prob["job_match"])
    respond = placed & (u[4] < INCOME_RESPONSE)
    income = np.where(respond, np.maximum(1500, np.rint(y_obs["income"].ravel()[cell] + INCOME_SD * z)), np.nan)

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(cell, weights=values, minlength=n_c * n_t).reshape(n_c, n_t)

    col["graduates_placed"] = total(placed)
    col["graduates_local"] = total(local)
    col["graduates_member_ent"] = total(member_ent)
    col["graduates_matched"] = total(matched)
    col["income_respondents"] = total(respond)
    col["income_sum"] = total(np.nan_to_num(income))
    surveyed = r_employer.poisson(graduates / 60 + 5) * h1[None, :]
    col["employer_surveyed"] = surveyed.astype(float)
    col["employer_satisfied"] = r_employer.binomial(
        surveyed, np.clip(y_obs["employer_satisfaction"], 0.5, 99.5) / 100
    ).astype(float)

    # --- enterprises ----------------------------------------------------------------------------
    egt = design.enterprise_gt
    emember = egt > 0
    n_e = len(egt)
    ee = event_time(egt, n_t)
    e_noise = r_out_e.normal(0, 0.02, (n_e, n_t))
    e_noise[:, tb - 1] = 0
    employees = np.rint(design.enterprise_employees[:, None] * np.exp(0.01 * (t_idx - tb) + e_noise))
    ospec = OUTCOMES_BY_ID["enterprise_output"]
    level = np.maximum(
        5,
        np.where(
            emember,
            r_out_e.normal(ospec.level_member, ospec.level_sd, n_e),
            r_out_e.normal(ospec.level_comparison, ospec.level_sd, n_e),
        ),
    )
    gamma = ospec.trend * (t_idx - tb) + ospec.covid * covid + r_out_e.normal(0, 0.3 * ospec.noise_sd, n_t)
    eps = r_out_e.normal(0, ospec.noise_sd, (n_e, n_t))
    eh = np.array([COHORT_MULTIPLIER.get(labels[g - 1], 1.0) if g > 0 else 0.0 for g in egt])
    direct = eh[:, None] * ospec.tau * ramp(ee, ospec.ramp)
    y_e = level[:, None] + gamma[None, :] + eps + (direct if effects else 0.0)
    truth[ospec.id] = direct
    ent = {"employees": employees, "output_value": np.round(np.maximum(y_e, 1.0) * employees, 2)}
    # hires of member colleges' graduates: the roster's graduates_member_ent split over roster
    # enterprises (members at the time weigh 1.5x), plus a few hires by non-members
    roster_total = col["graduates_member_ent"][:n_m].sum(axis=0)
    hires = np.zeros((n_e, n_t))
    extra = r_hires.poisson(0.004 * employees) * h1[None, :]
    for k in range(n_t):
        wts = employees[:, k] * np.where(ee[:, k] >= 0, 1.5, 1.0) * emember
        hires[:, k] = r_hires.multinomial(int(roster_total[k]), wts / wts.sum())
    ent["hires_from_members"] = np.where(emember[:, None], hires, extra)

    world = World(periods, labels, [], member, gt, [], emember, egt, col, ent, truth)
    if records:
        world.records = {
            "cell": cell,
            "placed": placed,
            "local": local,
            "member_enterprise": member_ent,
            "job_match": matched,
            "income": income,
            "major_u": u[5],
        }
    return world
