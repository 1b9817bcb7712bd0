"""The synthetic consortium judged by the yardstick (〔2024〕20号): the quantitative sides added for
issue 12 and the checklist evidence, each with its truth.

Sides (drawn from their own random stream, so the rest of the world is unchanged):

* colleges — majors aligned with the leading industry chains (``majors_aligned`` ≤ ``majors``),
  the talent-demand list's demand (``talent_demand``) and graduates of listed majors
  (``graduates_listed_majors``), industrial colleges and their students;
* enterprises — certified integration enterprises (0/1), apprentices hosted, education
  investment, employees upskilled, the enterprise survey of satisfaction with the cooperation;
* the park — output, enterprises, hires from member colleges.

Every membership effect follows r(e) = min(1, (e + 1) / 4) for event time e ≥ 0 and is drawn
with common random numbers, so y(1) − y(0) per unit and period is exact; ``truth.json`` gets the
parameters and the true ATT of each new indicator, and the evidence table's true statuses (the
claims left without evidence are listed)."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from evalkit.data import schema
from evalkit.data import synth_model as sm
from evalkit.data.checklist import load_checklist
from evalkit.data.synth_truth import _att_block

RAMP = 4
PARAMS: dict[str, dict[str, Any]] = {
    "majors_aligned": {
        "form": "half_up(majors * clip(s_i + drift * (t - t_baseline) + delta * r(e), 0, 1)), <= majors",
        "s_members": [0.40, 0.60],
        "s_comparison": [0.30, 0.50],
        "drift": 0.005,
        "delta": 0.15,
    },
    "talent_demand": {"form": "Poisson(graduates * d_i), d_i ~ U(0.45, 0.70); H1 only; no membership effect"},
    "graduates_listed_majors": {
        "form": "min(graduates, half_up(graduates * clip(majors_aligned / majors * q_i * (1 + n_it), 0, 1))), "
        "q_i ~ U(0.85, 1.0), n_it ~ N(0, 0.03); rises with membership through majors_aligned only",
    },
    "industrial_colleges": {
        "form": "hosted industrial-college units (units table, from 2022H2) + Binomial(1, 0.3) for the others "
        "+ half_up(delta * r(e))",
        "delta": 1.0,
    },
    "industrial_college_students": {
        "form": "min(students, half_up(industrial_colleges * k_i * exp(0.02 * (t - t_baseline)))), k_i ~ U(120, 260)"
    },
    "integration_certified": {
        "form": "1 from the start with probability 0.35 (members) / 0.10 (non-members); members are certified "
        "from event time e >= k_j - 1, k_j ~ Geometric(hazard)",
        "hazard": 0.10,
    },
    "apprentices_hosted": {
        "form": "Poisson(employees * a_j / 100) + half_up(delta * r(e) * employees / 100), a_j ~ U(0.1, 0.4)",
        "delta": 0.5,
    },
    "education_investment": {
        "form": "employees * U(0.01, 0.03) * exp(N(0, 0.1)) * 1.03^(t - t_baseline) * (1 + delta * r(e)), 万元",
        "delta": 0.40,
    },
    "employees_upskilled": {
        "form": "min(employees, half_up(employees * (p_j + delta * r(e)) * exp(N(0, 0.1)))), p_j ~ U(0.005, 0.02)",
        "delta": 0.015,
    },
    "coop_satisfied": {
        "form": "coop_surveyed = 2 + min(Poisson(2), 8) in H2 periods; each respondent satisfied when u < clip(p_j "
        "+ delta * r(e), 0, 0.99), p_j ~ N(0.78, 0.05)",
        "delta": 0.08,
    },
    "park_output": {
        "form": "level * exp(0.04 * (t - t_baseline) + N(0, 0.02)) * (0.85 in 2020H1) * (1 + delta * r(t - t_founding))",
        "level": 4_200_000,
        "delta": 0.03,
        "note": "one park, no comparison park: the effect is set, not identifiable from these data",
    },
    "park_enterprises": {"form": "2600 at the baseline, + Poisson(30) a half-year"},
    "park_hires_from_members": {"form": "Binomial(member colleges' graduates_local, 0.45), H1 only"},
}
# New indicators whose true effect of membership truth.json gives: id → (unit type, observed periods).
EFFECT_INDICATORS = {
    "major_industry_alignment": ("college", "all"),
    "listed_major_graduate_share": ("college", "H1"),
    "talent_demand_coverage": ("college", "H1"),
    "industrial_college_coverage": ("college", "all"),
    "certified_integration_enterprises": ("enterprise", "all"),
    "apprentices_per_100_employees": ("enterprise", "all"),
    "enterprise_education_investment": ("enterprise", "all"),
    "employee_upskilling_rate": ("enterprise", "all"),
    "enterprise_satisfaction": ("enterprise", "H2"),
}


def _ratio(num: np.ndarray, den: np.ndarray, scale: float = 100.0) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, scale * num / np.where(den > 0, den, 1), 0.0)


def simulate_sides(units: pd.DataFrame, world: sm.World, labels: list[str], rng: np.random.Generator, effects: bool):
    """(college columns, enterprise columns, park columns, true effects per indicator)."""
    r_col, r_ent, r_park = rng.spawn(3)
    n_t = len(labels)
    t_idx = np.arange(1, n_t + 1)
    tb = labels.index(sm.BASELINE) + 1
    h1 = np.array([lab.endswith("H1") for lab in labels])
    col, ent = world.college, world.enterprise
    gt, egt = world.college_gt, world.enterprise_gt
    n_c, n_e = len(gt), len(egt)
    r = sm.ramp(sm.event_time(gt, n_t), RAMP)
    re = sm.ramp(sm.event_time(egt, n_t), RAMP)
    on = 1.0 if effects else 0.0
    member = gt > 0

    # --- colleges -------------------------------------------------------------------------------
    p = PARAMS["majors_aligned"]
    (lo_m, hi_m), (lo_c, hi_c) = p["s_members"], p["s_comparison"]
    s0 = np.where(member, r_col.uniform(lo_m, hi_m, n_c), r_col.uniform(lo_c, hi_c, n_c))
    base_share = s0[:, None] + float(p["drift"]) * (t_idx - tb)[None, :]
    majors = col["majors"]

    def aligned(rise: float) -> np.ndarray:
        return np.minimum(majors, sm.half_up(majors * np.clip(base_share + rise * r, 0, 1)))

    al1, al0 = aligned(p["delta"]), aligned(0.0)
    graduates = col["graduates"]
    demand = r_col.poisson(graduates * r_col.uniform(0.45, 0.70, n_c)[:, None]).astype(float) * h1[None, :]
    q = r_col.uniform(0.85, 1.0, n_c)[:, None] * (1 + r_col.normal(0, 0.03, (n_c, n_t)))

    def listed(al: np.ndarray) -> np.ndarray:
        return np.minimum(graduates, sm.half_up(graduates * np.clip(_ratio(al, majors, 1.0) * q, 0, 1)))

    li1, li0 = listed(al1), listed(al0)
    college_ids = units.loc[units["unit_type"] == "college", "unit_id"].tolist()
    hosted = units.loc[units["unit_type"] == "industrial_college", "parent_id"].value_counts()
    from_t = labels.index("2022H2") + 1 if "2022H2" in labels else 1
    other = r_col.binomial(1, 0.3, n_c)
    ic_base = np.array([hosted.get(u, 0) for u in college_ids], dtype=float)[:, None] * (t_idx >= from_t)[None, :]
    ic_base = ic_base + np.where(np.array([u in hosted for u in college_ids]), 0, other)[:, None]
    ic1 = ic_base + sm.half_up(PARAMS["industrial_colleges"]["delta"] * r)
    ic0 = ic_base
    k = r_col.uniform(120, 260, n_c)[:, None] * np.exp(0.02 * (t_idx - tb))[None, :]
    students = col["students"]
    ics1 = np.minimum(students, sm.half_up(ic1 * k))
    ics0 = np.minimum(students, sm.half_up(ic0 * k))
    pick = (lambda a, b: a) if effects else (lambda a, b: b)
    college = {
        "majors_aligned": pick(al1, al0),
        "industrial_colleges": pick(ic1, ic0),
        "industrial_college_students": pick(ics1, ics0),
        "talent_demand": demand,
        "graduates_listed_majors": pick(li1, li0),
    }
    truth = {
        "major_industry_alignment": _ratio(al1 - al0, majors),
        "listed_major_graduate_share": _ratio(li1 - li0, graduates),
        "talent_demand_coverage": _ratio(li1 - li0, demand),
        "industrial_college_coverage": _ratio(ics1 - ics0, students),
    }

    # --- enterprises ----------------------------------------------------------------------------
    emember = egt > 0
    employees = ent["employees"]
    ee = sm.event_time(egt, n_t)
    start = r_ent.random(n_e) < np.where(emember, 0.35, 0.10)
    k_j = r_ent.geometric(PARAMS["integration_certified"]["hazard"], n_e)
    cert0 = np.repeat(start[:, None], n_t, axis=1).astype(float)
    cert1 = np.maximum(cert0, (emember[:, None] & (ee >= k_j[:, None] - 1)).astype(float))
    app0 = r_ent.poisson(employees * r_ent.uniform(0.1, 0.4, n_e)[:, None] / 100).astype(float)
    app1 = app0 + sm.half_up(PARAMS["apprentices_hosted"]["delta"] * re * employees / 100)
    inv_level = employees * r_ent.uniform(0.01, 0.03, n_e)[:, None] * np.exp(r_ent.normal(0, 0.1, (n_e, n_t)))
    inv0 = np.round(inv_level * 1.03 ** (t_idx - tb)[None, :], 2)
    inv1 = np.round(inv0 * (1 + PARAMS["education_investment"]["delta"] * re), 2)
    up_noise = np.exp(r_ent.normal(0, 0.1, (n_e, n_t)))
    p_j = r_ent.uniform(0.005, 0.02, n_e)[:, None]

    def upskilled(rise: float) -> np.ndarray:
        return np.minimum(employees, sm.half_up(employees * (p_j + rise * re) * up_noise))

    up1, up0 = upskilled(PARAMS["employees_upskilled"]["delta"]), upskilled(0.0)
    h2 = ~h1
    surveyed = (2 + np.minimum(r_ent.poisson(2, (n_e, n_t)), 8)) * h2[None, :]
    u = r_ent.random((n_e, n_t, 10))
    base_p = r_ent.normal(0.78, 0.05, n_e)[:, None]
    within = np.arange(10)[None, None, :] < surveyed[:, :, None]

    def satisfied(rise: float) -> np.ndarray:
        prob = np.clip(base_p + rise * re, 0, 0.99)
        return ((u < prob[:, :, None]) & within).sum(axis=2).astype(float)

    sat1, sat0 = satisfied(PARAMS["coop_satisfied"]["delta"]), satisfied(0.0)
    enterprise = {
        "integration_certified": pick(cert1, cert0),
        "apprentices_hosted": pick(app1, app0),
        "education_investment": pick(inv1, inv0),
        "employees_upskilled": pick(up1, up0),
        "coop_surveyed": surveyed.astype(float),
        "coop_satisfied": pick(sat1, sat0),
    }
    truth.update(
        {
            "certified_integration_enterprises": cert1 - cert0,
            "apprentices_per_100_employees": _ratio(app1 - app0, employees),
            "enterprise_education_investment": inv1 - inv0,
            "employee_upskilling_rate": _ratio(up1 - up0, employees),
            "enterprise_satisfaction": _ratio(sat1 - sat0, surveyed.astype(float)),
        }
    )

    # --- the park ---------------------------------------------------------------------------------
    pp = PARAMS["park_output"]
    tf = labels.index(sm.FOUNDING) + 1
    rp = sm.ramp(t_idx - tf, RAMP) * on
    covid = np.array([lab == sm.COVID_PERIOD for lab in labels])
    noise = r_park.normal(0, 0.02, n_t)
    output = np.round(
        pp["level"] * np.exp(0.04 * (t_idx - tb) + noise) * np.where(covid, 0.85, 1.0) * (1 + pp["delta"] * rp), 2
    )
    enterprises = sm.anchored_walk(np.array([2600.0]), np.array([tb]), np.array([30.0]), n_t, r_park)[0]
    local = col["graduates_local"][member].sum(axis=0)
    hires = r_park.binomial(local.astype(np.int64), 0.45).astype(float) * h1
    park = {"park_output": output, "park_enterprises": enterprises, "park_hires_from_members": hires}
    return college, enterprise, park, truth


def sides_truth(effects: dict[str, np.ndarray], world: sm.World, labels: list[str]) -> dict:
    """truth.json's ``yardstick`` entry: each new variable's model and parameters, and the true
    effects of membership on the new indicators (ATT(g, t), simple, dynamic; exact: the same draws)."""
    h1 = np.array([lab.endswith("H1") for lab in labels])
    observed = {"all": np.ones(len(labels), dtype=bool), "H1": h1, "H2": ~h1}
    indicators = {}
    for ind, (unit_type, periods) in EFFECT_INDICATORS.items():
        gt = world.college_gt if unit_type == "college" else world.enterprise_gt
        indicators[ind] = {"unit_type": unit_type, "observed_periods": periods} | _att_block(
            effects[ind], gt, labels, observed[periods]
        )
    return {
        "variables": PARAMS,
        "ramp_periods": RAMP,
        "effect_form": "y1 - y0 per unit and period from the same draws; r(e) = min(1, (e + 1) / 4) for e >= 0",
        "indicators": indicators,
    }


# --------------------------------------------------------------------------- checklist evidence
EVIDENCE_DATES = (
    "2023-06-30",
    "2023-12-05",
    "2023-12-31",
    "2024-06-30",
    "2024-12-31",
    "2025-06-30",
    "2025-12-31",
    "2026-06-30",
)
MISSING_EVIDENCE_SHARE = 0.08


def _when(rng: np.random.Generator, choices: tuple[str, ...], never: float = 0.0) -> str | None:
    """A date from ``choices`` at which a status is reached (None: never, with probability ``never``)."""
    if never and rng.random() < never:
        return None
    return str(choices[int(rng.integers(len(choices)))])


def evidence_table(units: pd.DataFrame, world: sm.World, rng: np.random.Generator, last_day: date):
    """The checklist evidence of the consortium (one row per item × unit × date) and its truth."""
    checklist = load_checklist()
    dates = [d for d in EVIDENCE_DATES if date.fromisoformat(d) <= last_day]
    founding = sm.FOUNDING_DATE
    h = ("2024-06-30", "2024-12-31", "2025-06-30", "2025-12-31")
    paths: dict[tuple[str, str], list[tuple[str | None, int]]] = {}  # (item, unit) → [(from date, status)]
    c = schema.CONSORTIUM_UNIT
    paths[("council_established", c)] = [(founding, 1)]
    paths[("charter_adopted", c)] = [(founding, 1)]
    ent2 = _when(rng, ("2024-12-31", "2025-06-30"))
    ent3 = _when(rng, ("2025-12-31", "2026-06-30"), never=0.5)
    paths[("operating_entity", c)] = [(founding, 1), (ent2, 2)] + ([(ent3, 3)] if ent3 else [])
    paths[("mixed_ownership", c)] = [("2024-06-30", 1), (_when(rng, ("2025-06-30", "2025-12-31")), 2)]
    paths[("shared_platforms", c)] = [(founding, 1), ("2024-12-31", 2), (_when(rng, ("2025-06-30", "2025-12-31")), 3)]
    park = units.loc[units["unit_type"] == "park", "unit_id"].iloc[0]
    for item, choices in (
        ("list_talent_demand", ("2023-12-31", "2024-06-30")),
        ("list_tech_demand", ("2024-06-30", "2024-12-31")),
        ("list_core_products", ("2024-12-31", "2025-06-30")),
    ):
        paths[(item, park)] = [(_when(rng, choices) or choices[0], 1)]
    for item, choices, never in (
        ("policy_finance", ("2023-12-31", "2024-06-30"), 0.0),
        ("policy_tax", ("2024-06-30", "2024-12-31"), 0.0),
        ("policy_land", ("2024-12-31", "2025-06-30"), 0.3),
        ("policy_credit", ("2025-06-30", "2025-12-31"), 0.6),
    ):
        when = _when(rng, choices, never)
        paths[(item, c)] = [(when, 1)] if when else []
    colleges = units[(units["unit_type"] == "college") & (units["member_since"] != "")]
    hosts = set(units.loc[units["unit_type"] == "industrial_college", "parent_id"])
    for uid, since in zip(colleges["unit_id"], colleges["member_since"]):
        if uid in hosts:
            paths[("industrial_college_operating", uid)] = [("2023-06-30", 2)] + (
                [(_when(rng, h), 3)] if rng.random() < 0.5 else []
            )
        else:
            later = [d for d in h if d >= since]
            paths[("industrial_college_operating", uid)] = [(_when(rng, tuple(later)), 1)] if later else []
    met = {d: int(d in ("2023-12-05", "2023-12-31") or rng.random() < 0.85) for d in dates if d >= founding}
    updated = {d: int(rng.random() < 0.7) for d in dates}

    rows = []
    for (item_id, unit), path in paths.items():
        for d in dates:
            status = max([s for when, s in path if when is not None and when <= d] or [0])
            rows.append((item_id, unit, d, status))
    for d in dates:
        rows.append(("council_met", c, d, met.get(d, 0)))
        lists_out = all(
            any(when is not None and when < d for when, _ in paths[(i, park)])
            for i in ("list_talent_demand", "list_tech_demand", "list_core_products")
        )
        rows.append(("lists_updated", park, d, updated[d] if lists_out else 0))
    order = {i: k for k, i in enumerate(checklist.ids)}
    rows.sort(key=lambda r: (r[2], order[r[0]], r[1]))
    frame = pd.DataFrame(rows, columns=["item_id", "unit_id", "as_of", "status"])
    claim = frame["status"].to_numpy() > 0
    missing = claim & (rng.random(len(frame)) < MISSING_EVIDENCE_SHARE)
    refs = []
    for k, (item_id, unit, d, status) in enumerate(rows):
        year = d[:4]
        refs.append(
            ""
            if (not claim[k] or missing[k])
            else f"株产教联〔{year}〕{order[item_id] + 1:02d}号 {item_id}_{unit}_{d}.pdf"
        )
    frame["evidence_ref"] = refs
    levels = {i.id: {s: zh for s, zh, _ in i.levels} for i in checklist}
    frame["note"] = [levels[i].get(s, "") for i, s in zip(frame["item_id"], frame["status"])]
    frame["unit_id"] = frame["unit_id"].where(frame["unit_id"] != c, "")  # empty = the consortium as a whole
    frame = frame[[col.name for col in schema.EVIDENCE]]
    truth = {
        "dates": dates,
        "rule": "each item's status is a step path over the dates (below); reported status = true status; "
        f"{MISSING_EVIDENCE_SHARE:.0%} of claims (status > 0) are left without evidence_ref at random; an "
        "empty unit_id is the consortium as a whole",
        "paths": {
            f"{item}@{unit}": [{"from": when, "status": s} for when, s in path if when is not None]
            for (item, unit), path in paths.items()
        },
        "council_met": met,
        "lists_updated": updated,
        "claims_without_evidence": [
            {"item_id": rows[k][0], "unit_id": rows[k][1], "as_of": rows[k][2]} for k in np.flatnonzero(missing)
        ],
        "veto_candidates": [i.id for i in checklist if i.veto_candidate],
    }
    return frame.reset_index(drop=True), truth
