"""The structural model behind ``evalkit.synth``: units, membership cohorts, integration inputs,
outcomes, graduate records and the true effects.

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

BASELINE = "2023H1"  # last pre-consortium period: the seed's baseline figures hold here
FOUNDING = "2023H2"  # the consortium was founded on 5 December 2023
FOUNDING_DATE = "2023-12-05"
# Phases: the article gives Aug 2023 – Feb 2026 in three phases, not the boundaries; these are
# the assumed windows of params/phase*.yaml (start-up, full construction, consolidation).
PHASES = {
    "phase1": ("2023-08-01", "2023-12-31"),
    "phase2": ("2024-01-01", "2025-06-30"),
    "phase3": ("2025-07-01", "2026-02-28"),
}
COHORTS = ("2023H2", "2024H1", "2024H2", "2025H1", "2025H2")
COHORT_MULTIPLIER = {"2023H2": 1.2, "2024H1": 1.0, "2024H2": 0.9, "2025H1": 0.8, "2025H2": 0.7}
COLLEGE_COHORT_SIZES_9 = (3, 2, 2, 1, 1)
ENTERPRISE_COHORT_SHARES = (0.45, 0.22, 0.15, 0.10, 0.08)
INPUT_RAMP = 4  # half-years for induced input rises to reach full size
COVID_PERIOD = "2020H1"


@dataclass(frozen=True)
class InputSpec:
    """An integration input. ``form``: 'count' (delta in units), 'students'/'teachers' (delta in
    percentage points of that denominator), 'amount' (delta = proportional rise)."""

    name: str
    kind: str  # stock | flow
    form: str
    delta: float
    baseline_per_1k_students: float = 0.0  # typical baseline level relative to size (counts)
    growth: float = 0.03  # per half-year, as a share of the baseline level


COLLEGE_INPUTS = (
    InputSpec("dual_teachers", "stock", "teachers", 5.0),
    InputSpec("enterprise_parttime_teachers", "stock", "teachers", 4.0),
    InputSpec("shared_bases", "stock", "count", 6.0, 1.2),
    InputSpec("national_productive_bases", "stock", "count", 0.0, growth=0.0),
    InputSpec("productive_base_output", "flow", "amount", 0.15),
    InputSpec("dual_workshops", "stock", "count", 4.0),
    InputSpec("apprentices", "stock", "students", 2.5),
    InputSpec("order_class_students", "stock", "students", 3.0),
    InputSpec("joint_research_teams", "stock", "count", 4.0, 0.4),
    InputSpec("courses_codeveloped", "flow", "count", 5.0, 0.5),
    InputSpec("textbooks_codeveloped", "flow", "count", 3.0, 0.3),
    InputSpec("new_aligned_majors", "flow", "count", 0.6, 0.03),
    InputSpec("integration_enterprises", "stock", "count", 5.0),
    InputSpec("enterprise_investment", "flow", "amount", 0.40),
    InputSpec("vocational_groups", "stock", "count", 1.0, growth=0.0),
    InputSpec("field_engineers_trained", "flow", "count", 15.0, 2.0),
)
INPUTS_BY_NAME = {s.name: s for s in COLLEGE_INPUTS}

# Regressors of the outcome equations: name -> expression over panel columns.
REGRESSORS = {
    "joint_research_teams": "joint_research_teams",
    "dual_workshops": "dual_workshops",
    "shared_bases": "shared_bases",
    "parttime_teacher_share": "enterprise_parttime_teachers / teachers * 100",
    "apprentice_share": "apprentices / students * 100",
    "order_class_share": "order_class_students / students * 100",
}


@dataclass(frozen=True)
class OutcomeSpec:
    id: str
    unit_type: str
    y: str
    label_zh: str
    label_en: str
    betas: dict[str, float]
    level_member: float  # mean of y at the baseline for members (comparison: level_comparison)
    level_comparison: float
    level_sd: float
    trend: float  # gamma_t slope per half-year
    covid: float  # gamma shift in 2020H1
    noise_sd: float
    tau: float  # full-size direct effect of membership (before cohort multipliers)
    ramp: int = 3
    observed: str = "all"  # all | H1 (graduate outcomes)


OUTCOMES = (
    OutcomeSpec(
        "tech_service",
        "college",
        "tech_service_income / teachers * 100",
        "每百名教师横向技术服务到款额",
        "technical-service income per 100 teachers (10k yuan)",
        {"joint_research_teams": 3.0, "dual_workshops": 1.0},
        70,
        55,
        15,
        1.5,
        -8,
        6.0,
        12.0,
    ),
    OutcomeSpec(
        "training_income",
        "college",
        "training_income / teachers * 100",
        "每百名教师非学历培训到款额",
        "non-degree training income per 100 teachers (10k yuan)",
        {"shared_bases": 1.2, "parttime_teacher_share": 0.8},
        45,
        40,
        10,
        1.0,
        -10,
        5.0,
        8.0,
    ),
    OutcomeSpec(
        "social_training",
        "college",
        "training_person_times / teachers",
        "师均社会培训人次",
        "social training person-times per teacher",
        {"shared_bases": 0.3, "parttime_teacher_share": 0.15},
        22,
        19,
        4,
        0.3,
        -6,
        1.5,
        3.0,
    ),
    OutcomeSpec(
        "placement",
        "college",
        "graduates_placed / graduates * 100",
        "毕业去向落实率（%）",
        "graduate placement rate (%)",
        {"order_class_share": 0.3, "apprentice_share": 0.2},
        86,
        85,
        2.5,
        0.2,
        -4,
        1.0,
        2.5,
        observed="H1",
    ),
    OutcomeSpec(
        "local_retention",
        "college",
        "graduates_local / graduates_placed * 100",
        "本地就业率（%）",
        "local employment among placed graduates (%)",
        {"apprentice_share": 0.8, "order_class_share": 0.4},
        42,
        40,
        6,
        0.3,
        0,
        1.5,
        6.0,
        observed="H1",
    ),
    OutcomeSpec(
        "member_ent_employment",
        "college",
        "graduates_member_ent / graduates_placed * 100",
        "成员企业就业率（%）",
        "employment at member enterprises among placed graduates (%)",
        {"order_class_share": 1.0, "apprentice_share": 0.6},
        14,
        3,
        3,
        0.1,
        0,
        1.0,
        5.0,
        observed="H1",
    ),
    OutcomeSpec(
        "job_match",
        "college",
        "graduates_matched / graduates_placed * 100",
        "专业对口率（%）",
        "job–major match among placed graduates (%)",
        {"order_class_share": 0.4, "dual_workshops": 0.15},
        68,
        66,
        4,
        0.2,
        0,
        1.5,
        4.0,
        observed="H1",
    ),
    OutcomeSpec(
        "income",
        "college",
        "income_sum / income_respondents",
        "毕业半年后平均月收入（元）",
        "mean monthly income six months after graduation (yuan)",
        {"order_class_share": 8.0, "apprentice_share": 6.0},
        4300,
        4100,
        250,
        40,
        -150,
        60.0,
        180.0,
        observed="H1",
    ),
    OutcomeSpec(
        "employer_satisfaction",
        "college",
        "employer_satisfied / employer_surveyed * 100",
        "用人单位满意度（%）",
        "employers satisfied (%) — placebo outcome, no effect",
        {},
        90,
        90,
        3,
        0.0,
        0,
        1.0,
        0.0,
        observed="H1",
    ),
    OutcomeSpec(
        "enterprise_output",
        "enterprise",
        "output_value / employees",
        "人均产值（万元/半年）",
        "output per employee (10k yuan per half-year)",
        {},
        45,
        40,
        12,
        0.6,
        -6,
        2.5,
        3.5,
    ),
)
OUTCOMES_BY_ID = {o.id: o for o in OUTCOMES}
INCOME_SD = 900.0  # individual monthly income around the equation's mean (yuan)
INCOME_RESPONSE = 0.8  # share of placed graduates answering the income survey


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
                        np.concatenate([[2.0], allocate(target - 2, w[1:], r_inputs)])
                        if n_m > 1
                        else np.array([target])
                    )
                elif spec.name == "vocational_groups":
                    comp = r_inputs.binomial(2, 0.4, n_c - n_m).astype(float)
                    mem = allocate(target, w, r_inputs)
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
        x0["productive_base_output"][0, tf - 1] = half / (1 + input_rise(spec, e[:1, tf - 1], None, None)[0])

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
    for spec in OUTCOMES:
        if spec.unit_type != "college":
            continue
        level = np.where(
            member,
            r_out_c.normal(spec.level_member, spec.level_sd, n_c),
            r_out_c.normal(spec.level_comparison, spec.level_sd, n_c),
        )
        gamma = spec.trend * (t_idx - tb) + spec.covid * covid + r_out_c.normal(0, 0.3 * spec.noise_sd, n_t)
        eps = r_out_c.normal(0, spec.noise_sd, (n_c, n_t))
        alpha = level - sum(b * reg0[k][:, tb - 1] for k, b in spec.betas.items())
        direct = h[:, None] * spec.tau * ramp(e, spec.ramp)
        mean0 = alpha[:, None] + gamma[None, :] + sum(b * reg0[k] for k, b in spec.betas.items())
        mean1 = alpha[:, None] + gamma[None, :] + sum(b * reg1[k] for k, b in spec.betas.items()) + direct
        if spec.id == "social_training":  # calibrate the intercept: seed's training person-times
            cells = np.s_[:n_m, tb - 2 : tb]
            kappa = (tg["training_person_times"] - ((mean0 + eps)[cells] * teachers[cells]).sum()) / teachers[
                cells
            ].sum()
            mean0, mean1 = mean0 + kappa, mean1 + kappa
        if spec.observed == "H1" and spec.id != "income":  # probabilities: clipped as drawn
            effect_expected = np.clip(mean1, 0.5, 99.5) - np.clip(mean0, 0.5, 99.5)
        else:
            effect_expected = mean1 - mean0
        truth[spec.id] = effect_expected * h1[None, :] if spec.observed == "H1" else effect_expected
        y_expected[spec.id] = mean1 if effects else mean0
        y_obs[spec.id] = y_expected[spec.id] + eps

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
    spec = OUTCOMES_BY_ID["enterprise_output"]
    level = np.maximum(
        5,
        np.where(
            emember,
            r_out_e.normal(spec.level_member, spec.level_sd, n_e),
            r_out_e.normal(spec.level_comparison, spec.level_sd, n_e),
        ),
    )
    gamma = spec.trend * (t_idx - tb) + spec.covid * covid + r_out_e.normal(0, 0.3 * spec.noise_sd, n_t)
    eps = r_out_e.normal(0, spec.noise_sd, (n_e, n_t))
    eh = np.array([COHORT_MULTIPLIER.get(labels[g - 1], 1.0) if g > 0 else 0.0 for g in egt])
    direct = eh[:, None] * spec.tau * ramp(ee, spec.ramp)
    y_e = level[:, None] + gamma[None, :] + eps + (direct if effects else 0.0)
    truth[spec.id] = direct
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
    att_gt, simple_num, simple_den, dyn = [], 0.0, 0.0, {}
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


def build_truth(world: World, design: Design, units, seed: int, scale: float) -> dict:
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
