"""The synthetic consortium's parameters as data: the calendar (baseline, founding, phases,
joining cohorts), the integration inputs (:class:`InputSpec`: kind, form, induced rise) and the
outcome equations (:class:`OutcomeSpec`: input effects, levels, trend, noise, membership effect).
The mechanics that draw a world from them are in :mod:`evalkit.data.synth_model`."""

from __future__ import annotations

from dataclasses import dataclass

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
