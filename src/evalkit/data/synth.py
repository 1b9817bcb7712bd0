"""The seed-calibrated synthetic consortium (株洲市产教联合体，合成数据) and its truth file.

``generate(seed)`` draws a Zhuzhou-like consortium from the structural model in
:mod:`evalkit.synth_model`: 9 member colleges (lead: 湖南铁道职业技术学院) joining in five
half-year cohorts across the three build phases, comparison colleges from other Hunan cities,
~85 member enterprises in the four alliances plus non-members, the host park and a few
industrial colleges. Baseline stocks match the seed article at 2023H1; the lead college's
figures hold at the founding (2023H2). ``truth`` holds the true parameters and the true
ATT(g, t) of membership for every outcome, ``write_synthetic`` writes the data folder
byte-identically for a seed, ``write_many`` writes N differently-seeded consortia and a batch
manifest. Every file says it is synthetic.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.data import schema
from evalkit.data import synth_model as sm
from evalkit.data.synth_readme import SEED_FIGURES as SEED_FIGURES  # re-exported: the seed's figures
from evalkit.data.synth_readme import BANNER_EN, BANNER_ZH, GENERATOR, readme
from evalkit.data.periods import parse_period

COLLEGE_VARS = tuple(c.name for c in schema.PANEL_VARIABLES if "college" in c.applies_to)
ENTERPRISE_VARS = tuple(c.name for c in schema.PANEL_VARIABLES if "enterprise" in c.applies_to)
AMOUNT_VARS = (
    "productive_base_output",
    "enterprise_investment",
    "tech_service_income",
    "training_income",
    "output_value",
)

# (name_zh, name_en, alliance, relative size, majors)
ZHUZHOU_COLLEGES = (
    (
        "湖南铁道职业技术学院",
        "Hunan Railway Professional Technology College",
        "rail_transit",
        0.17,
        (
            "铁道机车运用与维护",
            "城市轨道交通车辆技术",
            "铁道供电技术",
            "工业机器人技术",
            "增材制造技术",
            "智能光电制造技术",
            "集成电路技术",
            "人工智能技术应用",
            "大数据技术",
            "新能源装备技术",
        ),
    ),
    (
        "湖南汽车工程职业学院",
        "Hunan Automotive Engineering Vocational College",
        "aerospace",
        0.14,
        ("汽车制造与试验技术", "新能源汽车技术", "汽车检测与维修技术", "飞行器数字化制造技术", "机电一体化技术"),
    ),
    (
        "湖南铁路科技职业技术学院",
        "Hunan Railway Science and Technology Vocational College",
        "rail_transit",
        0.12,
        ("储能材料技术", "铁道工程技术", "城市轨道交通运营管理", "电气自动化技术", "铁道信号自动控制"),
    ),
    (
        "醴陵陶瓷烟花职业技术学校",
        "Liling Ceramics and Fireworks Vocational School",
        "new_materials",
        0.05,
        ("陶瓷设计与工艺", "烟花爆竹技术与管理", "工业设计", "电子商务"),
    ),
    (
        "湖南化工职业技术学院",
        "Hunan Chemical Vocational Technology College",
        "new_materials",
        0.11,
        ("应用化工技术", "化工新材料", "工业分析技术", "安全技术与管理"),
    ),
    (
        "湖南有色金属职业技术学院",
        "Hunan Nonferrous Metals Vocational College",
        "new_materials",
        0.09,
        ("材料工程技术", "金属精密成型技术", "粉末冶金技术", "资源勘查"),
    ),
    (
        "株洲师范高等专科学校",
        "Zhuzhou Normal College",
        "beidou",
        0.10,
        ("导航与位置服务", "软件技术", "学前教育", "计算机应用技术"),
    ),
    (
        "湖南中医药高等专科学校",
        "Hunan Traditional Chinese Medicine College",
        "none",
        0.12,
        ("中药学", "护理", "药学", "康复治疗技术"),
    ),
    (
        "湖南工贸技师学院",
        "Hunan Industry and Trade Technician College",
        "beidou",
        0.10,
        ("无人机应用技术", "数控加工", "电子技术应用", "北斗导航技术应用"),
    ),
)
# (name_zh, name_en, alliance, employees at the baseline)
ZHUZHOU_ENTERPRISES = (
    ("中车株洲电力机车有限公司", "CRRC Zhuzhou Electric Locomotive Co., Ltd.", "rail_transit", 12000),
    ("株洲硬质合金集团有限公司", "Zhuzhou Cemented Carbide Group Co., Ltd.", "new_materials", 5000),
    ("中车株洲电力机车研究所有限公司", "CRRC Zhuzhou Institute Co., Ltd.", "rail_transit", 8000),
    ("中国航发南方工业有限公司", "AECC South Industry Co., Ltd.", "aerospace", 6000),
    ("中车株洲电机有限公司", "CRRC Zhuzhou Electric Co., Ltd.", "rail_transit", 4000),
    ("株洲时代新材料科技股份有限公司", "Zhuzhou Times New Material Technology Co., Ltd.", "new_materials", 3000),
)
ZHUZHOU_INDUSTRIAL_COLLEGES = (  # (name_zh, name_en, parent college index, partner enterprise index)
    ("中车电机产业学院", "CRRC Electric Industrial College", 1, 4),
    ("时代工匠产业学院", "Times Craftsman Industrial College", 2, 2),
    ("轨道交通装备产业学院", "Rail Transit Equipment Industrial College", 0, 0),
)
ALLIANCE_SHARES = {"rail_transit": 0.40, "aerospace": 0.18, "beidou": 0.14, "new_materials": 0.28}
FIRM_WORDS = (
    "恒通",
    "华锐",
    "中科",
    "联诚",
    "天成",
    "宏达",
    "瑞丰",
    "博远",
    "新航",
    "星联",
    "金石",
    "长鑫",
    "明德",
    "嘉诚",
    "铭泰",
    "立信",
    "鼎盛",
    "科力",
    "振华",
    "汇智",
    "华拓",
    "弘远",
    "启航",
    "精诚",
    "众合",
    "安泰",
    "凯捷",
    "泰和",
    "永兴",
    "德润",
)
FIRM_WORDS_EN = (
    "Hengtong",
    "Huarui",
    "Zhongke",
    "Liancheng",
    "Tiancheng",
    "Hongda",
    "Ruifeng",
    "Boyuan",
    "Xinhang",
    "Xinglian",
    "Jinshi",
    "Changxin",
    "Mingde",
    "Jiacheng",
    "Mingtai",
    "Lixin",
    "Dingsheng",
    "Keli",
    "Zhenhua",
    "Huizhi",
    "Huatuo",
    "Hongyuan",
    "Qihang",
    "Jingcheng",
    "Zhonghe",
    "Antai",
    "Kaijie",
    "Taihe",
    "Yongxing",
    "Derun",
)
INDUSTRY = {
    "rail_transit": (
        ("轨道装备", "Rail Equipment"),
        ("牵引电气", "Traction Electric"),
        ("机车配件", "Locomotive Parts"),
    ),
    "aerospace": (("航空零部件", "Aero Components"), ("通航装备", "General Aviation")),
    "beidou": (("北斗导航科技", "BeiDou Navigation"), ("时空信息", "Spatial Information")),
    "new_materials": (("硬质材料", "Hard Materials"), ("陶瓷新材料", "Advanced Ceramics"), ("复合材料", "Composites")),
    "none": (("机械制造", "Machinery"), ("电子科技", "Electronics"), ("物流", "Logistics")),
}
HUNAN_CITIES = (
    ("长沙", "Changsha"),
    ("湘潭", "Xiangtan"),
    ("衡阳", "Hengyang"),
    ("岳阳", "Yueyang"),
    ("常德", "Changde"),
    ("娄底", "Loudi"),
    ("邵阳", "Shaoyang"),
    ("益阳", "Yiyang"),
    ("郴州", "Chenzhou"),
    ("永州", "Yongzhou"),
    ("怀化", "Huaihua"),
    ("张家界", "Zhangjiajie"),
)
COLLEGE_FIELDS = (
    ("机电", "Mechanical and Electrical"),
    ("工业", "Industrial"),
    ("交通", "Transport"),
    ("科技", "Science and Technology"),
    ("信息", "Information"),
    ("工程", "Engineering"),
)
GENERIC_MAJORS = (
    "机电一体化技术",
    "电气自动化技术",
    "工业机器人技术",
    "软件技术",
    "大数据技术",
    "会计",
    "市场营销",
    "数控技术",
    "新能源汽车技术",
    "护理",
)
# Cities for write_many (other consortia): (zh, en, province)
OTHER_CITIES = (
    ("常州", "Changzhou"),
    ("宁波", "Ningbo"),
    ("柳州", "Liuzhou"),
    ("十堰", "Shiyan"),
    ("芜湖", "Wuhu"),
    ("襄阳", "Xiangyang"),
    ("佛山", "Foshan"),
    ("青岛", "Qingdao"),
    ("洛阳", "Luoyang"),
    ("绵阳", "Mianyang"),
    ("宜宾", "Yibin"),
    ("潍坊", "Weifang"),
)

# Baseline figures of the seed article (see data/zhuzhou_synthetic/README.md); "over N" -> slightly above N.
SEED_TARGETS = {
    "students": 112_000,
    "teachers": 4_600,
    "graduates": 30_600,
    "training_person_times": 205_000,
    "dual_workshops": 91,
    "national_productive_bases": 5,
    "vocational_groups": 11,
    "integration_enterprises": 85,
}
LEAD_PINS = {
    "apprentices": 1148,
    "joint_research_teams": 12,
    "productive_base_output": 15000,
    "textbooks_codeveloped": 205,
    "field_engineers_trained": 346,
    "new_aligned_majors": 8,
}


@dataclass
class SyntheticConsortium:
    """One synthetic consortium: the four tables, ``meta`` (for dataset.yaml) and ``truth``."""

    units: pd.DataFrame
    panel: pd.DataFrame
    graduates: pd.DataFrame | None
    partnerships: pd.DataFrame
    meta: dict[str, Any]
    truth: dict[str, Any]


def generate(
    seed: int = 20231205,
    *,
    scale: float = 1.0,
    graduates: bool = True,
    n_comparison_colleges: int = 6,
    n_nonmember_enterprises: int = 30,
    first_period: str = "2019H1",
    last_period: str = "2026H1",
    city: str = "株洲",
    city_en: str = "Zhuzhou",
    effects: bool = True,
) -> SyntheticConsortium:
    """Draw the synthetic consortium for ``seed``.

    ``scale`` multiplies the numbers of member colleges (9 at 1.0, at least 5) and member
    enterprises (85 at 1.0) and the calibration totals. ``graduates=False`` skips building the
    graduate table (the panel is identical: records are always drawn and aggregated).
    ``city`` other than 株洲 gives generic unit names (for ``write_many``). ``effects=False``
    switches off every membership effect (direct and via inputs) with the same noise draws:
    the untreated potential outcomes Y(0) of the same world.
    """
    if scale <= 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    if n_comparison_colleges < 2:
        raise ValueError("n_comparison_colleges must be at least 2 (the comparison group)")
    periods = sm.period_labels(first_period, last_period)
    labels = [p.label for p in periods]
    if periods[0].freq != "half":
        raise ValueError("the synthetic consortium is half-yearly: give periods like 2019H1")
    needed = (sm.BASELINE, *sm.COHORTS)
    if any(p not in labels for p in needed) or labels.index(sm.BASELINE) < 8:
        raise ValueError(
            f"periods {first_period}–{last_period} must cover {sm.BASELINE} with at least four "
            f"years before it and every cohort {sm.COHORTS[0]}–{sm.COHORTS[-1]}"
        )
    root = np.random.default_rng(seed)
    r_design, r_names, r_partners, r_sim = root.spawn(4)
    zhuzhou = city == "株洲"
    units, design, majors, ic_partner = _units(
        r_design, r_names, labels, scale, n_comparison_colleges, n_nonmember_enterprises, city, city_en, zhuzhou
    )
    world = sm.simulate(design, periods, r_sim, effects=effects, records=graduates)
    panel = _panel(units, world, labels)
    grads = _graduates(units, world, majors, labels) if graduates else None
    partners = _partnerships(units, world, labels, ic_partner, r_partners)
    name_zh = f"{city}市产教联合体（合成数据）"
    meta = {
        "name_zh": name_zh,
        "name_en": f"{city_en} City-level Industry-Education Consortium (synthetic data)",
        "city": city,
        "frequency": "half",
        "synthetic": True,
        "generator": GENERATOR,
        "seed": int(seed),
        "currency_unit": "万元",
        "first_period": labels[0],
        "last_period": labels[-1],
    }
    truth = sm.build_truth(world, design, units, seed, scale)
    return SyntheticConsortium(units, panel, grads, partners, meta, truth)


def _cohort_sizes(n: int, shares: np.ndarray) -> np.ndarray:
    sizes = np.maximum(1, np.floor(n * shares / shares.sum())).astype(int)
    sizes[0] += n - sizes.sum()
    return sizes


def _join_date(label: str, rng: np.random.Generator) -> str:
    if label == sm.FOUNDING:
        return sm.FOUNDING_DATE
    p = parse_period(label)
    span = (p.end - p.start).days
    return (p.start + timedelta(days=int(rng.integers(0, span + 1)))).isoformat()


def _units(r_design, r_names, labels, scale, n_comp, n_nonmem, city, city_en, zhuzhou):
    t_of = {lab: i + 1 for i, lab in enumerate(labels)}
    n_m = 9 if scale == 1.0 else max(5, int(round(9 * scale)))
    n_me = 85 if scale == 1.0 else max(10, int(round(85 * scale)))
    college_cohorts = np.repeat(np.arange(5), _cohort_sizes(n_m, np.array(sm.COLLEGE_COHORT_SIZES_9, float)))
    ent_cohorts = np.repeat(np.arange(5), _cohort_sizes(n_me, np.array(sm.ENTERPRISE_COHORT_SHARES)))
    rows, majors = [], {}
    if zhuzhou and n_m == 9:
        specs = list(ZHUZHOU_COLLEGES)
        weight = np.array([s[3] for s in specs])
    else:
        fields = r_names.permutation(len(COLLEGE_FIELDS))
        specs = [
            (
                f"{city}{'' if k == 0 else COLLEGE_FIELDS[fields[k % 6]][0]}职业技术学院"
                + (f"（{k // 6 + 1}）" if k >= 6 else ""),
                f"{city_en} {'' if k == 0 else COLLEGE_FIELDS[fields[k % 6]][1] + ' '}Vocational and Technical "
                f"College" + (f" {k // 6 + 1}" if k >= 6 else ""),
                tuple(ALLIANCE_SHARES)[k % 4],
                0.0,
                GENERIC_MAJORS,
            )
            for k in range(n_m)
        ]
        weight = r_design.lognormal(0, 0.3, n_m)
        weight[0] *= 1.5
    weight = weight / weight.sum()
    for k, (zh, en, alliance, _, mj) in enumerate(specs):
        cohort = sm.COHORTS[college_cohorts[k]]
        uid = f"C{k + 1:02d}"
        rows.append((uid, "college", zh, en, alliance, _join_date(cohort, r_design), city, 1 if k == 0 else 0, ""))
        majors[uid] = mj
    comp_cities = (
        [HUNAN_CITIES[i] for i in r_names.permutation(len(HUNAN_CITIES))]
        if zhuzhou
        else [(f"邻市{k + 1}", f"Neighbouring City {k + 1}") for k in range(n_comp)]
    )
    for k in range(n_comp):
        c_zh, c_en = comp_cities[k % len(comp_cities)]
        f_zh, f_en = COLLEGE_FIELDS[int(r_names.integers(len(COLLEGE_FIELDS)))]
        uid = f"C{n_m + k + 1:02d}"
        rows.append(
            (uid, "college", f"{c_zh}{f_zh}职业学院", f"{c_en} {f_en} Vocational College", "none", "", c_zh, 0, "")
        )
        majors[uid] = GENERIC_MAJORS
    # enterprises
    named = list(ZHUZHOU_ENTERPRISES) if zhuzhou else []
    alliances = list(ALLIANCE_SHARES)
    pool = [(w, we, ind) for w, we in zip(FIRM_WORDS, FIRM_WORDS_EN) for ind in range(3)]
    order = r_names.permutation(len(pool))
    employees, ent_rows, used = [], [], 0
    for k in range(n_me + n_nonmem):
        is_member = k < n_me
        if is_member and k < len(named):
            zh, en, alliance, emp = named[k]
        else:
            alliance = alliances[int(r_names.choice(4, p=list(ALLIANCE_SHARES.values())))] if is_member else "none"
            w, we, ind = pool[order[used % len(pool)]]
            used += 1
            i_zh, i_en = INDUSTRY[alliance][ind % len(INDUSTRY[alliance])]
            zh, en = f"{city}{w}{i_zh}有限公司", f"{city_en} {we} {i_en} Co., Ltd."
            if used > len(pool):
                zh, en = zh.replace("有限公司", f"{used // len(pool) + 1}有限公司"), f"{en} ({used // len(pool) + 1})"
            emp = 12000 if k == 0 else float(np.clip(np.rint(r_design.lognormal(np.log(400), 0.9)), 50, 20000))
        since = _join_date(sm.COHORTS[ent_cohorts[k]], r_design) if is_member else ""
        ent_rows.append((f"E{k + 1:03d}", "enterprise", zh, en, alliance, since, city, 1 if k == 0 else 0, ""))
        employees.append(emp)
    rows += ent_rows
    rows.append(
        (
            "P01",
            "park",
            f"{city}高新区" if zhuzhou else f"{city}高新技术产业开发区",
            f"{city_en} High-tech Zone",
            "none",
            sm.FOUNDING_DATE,
            city,
            1,
            "",
        )
    )
    ics = (
        ZHUZHOU_INDUSTRIAL_COLLEGES
        if zhuzhou and n_m == 9
        else (
            ("智能制造产业学院", "Intelligent Manufacturing Industrial College", 0, 0),
            ("新材料产业学院", "New Materials Industrial College", 1, 1),
        )
    )
    for k, (zh, en, parent, _) in enumerate(ics):
        parent_row = rows[parent]
        rows.append(
            (f"IC{k + 1:02d}", "industrial_college", zh, en, parent_row[4], parent_row[5], city, 0, parent_row[0])
        )
    units = pd.DataFrame(rows, columns=[c.name for c in schema.UNITS])
    units["lead"] = units["lead"].astype("int64")
    ic_partner = {f"IC{k + 1:02d}": f"E{e + 1:03d}" for k, (_, _, _, e) in enumerate(ics)}
    college_gt = np.array([t_of[sm.COHORTS[c]] for c in college_cohorts] + [0] * n_comp)
    ent_gt = np.array([t_of[sm.COHORTS[c]] for c in ent_cohorts] + [0] * n_nonmem)
    k = n_m / 9
    targets = {name: int(round(v * k)) for name, v in SEED_TARGETS.items()}
    targets["national_productive_bases"] = max(2, targets["national_productive_bases"])
    design = sm.Design(college_gt, weight, ent_gt, np.array(employees, dtype=float), targets, dict(LEAD_PINS))
    return units, design, majors, ic_partner


def _panel(units: pd.DataFrame, world: sm.World, labels: list[str]) -> pd.DataFrame:
    n_t = len(labels)
    frames = []
    kinds = units["unit_type"].to_numpy()
    blocks = (("college", world.college, COLLEGE_VARS), ("enterprise", world.enterprise, ENTERPRISE_VARS))
    for utype, data, names in blocks:
        ids = units.loc[kinds == utype, "unit_id"].to_numpy()
        frame = pd.DataFrame({"unit_id": np.repeat(ids, n_t), "period": np.tile(labels, len(ids))})
        for name in names:
            frame[name] = data[name].ravel()
        frames.append(frame)
    others = units.loc[~np.isin(kinds, ("college", "enterprise")), "unit_id"].to_numpy()
    frames.append(pd.DataFrame({"unit_id": np.repeat(others, n_t), "period": np.tile(labels, len(others))}))
    panel = pd.concat(frames, ignore_index=True)
    columns = [c.name for c in schema.PANEL_KEYS + schema.PANEL_VARIABLES]
    panel = panel.reindex(columns=columns)
    for name in schema.PANEL_VARIABLE_NAMES:
        panel[name] = panel[name].astype("float64")
        if name not in AMOUNT_VARS:
            panel[name] = panel[name].round().astype("Int64")
    return panel


def _graduates(units, world, majors, labels) -> pd.DataFrame:
    rec = world.records
    n_t = len(labels)
    college_ids = units.loc[units["unit_type"] == "college", "unit_id"].to_numpy()
    unit_idx, t_idx = np.divmod(rec["cell"], n_t)
    # majors: each college's list laid end to end; a record picks one uniformly within its college
    lists = [majors[uid] for uid in college_ids]
    flat = np.array([m for mj in lists for m in mj], dtype=object)
    lengths = np.array([len(mj) for mj in lists])
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    major = flat[offsets[unit_idx] + (rec["major_u"] * lengths[unit_idx]).astype(np.int64)]
    order = np.lexsort((unit_idx, t_idx))  # by cohort, then college
    ids = "G" + pd.Series(np.arange(1, len(order) + 1)).astype("str").str.zfill(7)
    frame = pd.DataFrame(
        {
            "graduate_id": ids,
            "college_id": college_ids[unit_idx[order]],
            "major": major[order],
            "cohort": np.array(labels, dtype=object)[t_idx[order]],
            "placed": rec["placed"][order].astype("int8"),
            "local": rec["local"][order].astype("int8"),
            "member_enterprise": rec["member_enterprise"][order].astype("int8"),
            "job_match": rec["job_match"][order].astype("int8"),
            "income": rec["income"][order],
        }
    )
    for c in ("graduate_id", "college_id", "major", "cohort"):
        frame[c] = frame[c].astype("str")
    return frame


def _partnerships(units, world, labels, ic_partner, rng) -> pd.DataFrame:
    """Illustrative college–enterprise links: one link per unit of the shared-base and
    research-team stocks (starting in the period the stock first reached it), plus order classes,
    apprenticeships, workshops and the industrial colleges. Not reconciled to the panel."""
    colleges = units[units["unit_type"] == "college"].reset_index(drop=True)
    ents = units[units["unit_type"] == "enterprise"]
    member_ents = ents.loc[ents["member_since"] != "", "unit_id"].to_numpy()
    other_ents = ents.loc[ents["member_since"] == "", "unit_id"].to_numpy()
    member_alliance = ents.loc[ents["member_since"] != "", "alliance"].to_numpy()
    college_alliance = colleges["alliance"].to_numpy()
    by_alliance = {a: member_ents[member_alliance == a] for a in schema.ALLIANCES}
    all_ents = np.concatenate([member_ents, other_ents])
    rows = []

    def day_in(t: int) -> str:
        p = parse_period(labels[t])
        return (p.start + timedelta(days=int(rng.integers(0, (p.end - p.start).days + 1)))).isoformat()

    def partner(i: int, t: int) -> str:
        gt = world.college_gt[i]
        if gt > 0 and t + 1 >= gt:
            same = by_alliance[college_alliance[i]]
            pool = same if len(same) and rng.random() < 0.7 else member_ents
        else:
            pool = all_ents if gt > 0 else other_ents
        return str(pool[int(rng.integers(len(pool)))])

    for i, uid in enumerate(colleges["unit_id"]):
        for kind, var in (("shared_base", "shared_bases"), ("research_team", "joint_research_teams")):
            path = world.college[var][i]
            for j in range(1, int(min(path[-1], 30)) + 1):
                reached = np.flatnonzero(path >= j)
                t = int(reached[0]) if len(reached) else len(labels) - 1
                start = (
                    date(2015 + int(rng.integers(0, 4)), int(rng.integers(1, 13)), 1).isoformat()
                    if t == 0
                    else day_in(t)
                )
                rows.append((uid, partner(i, t), kind, start, "", pd.NA))
        for kind, var, per_link in (("order_class", "order_class_students", 40), ("apprenticeship", "apprentices", 60)):
            last = int(world.college[var][i, -1])
            n_links = int(np.clip(round(last / per_link), 1, 15))
            shares = rng.multinomial(last, np.full(n_links, 1 / n_links))
            for s in shares:
                t = int(rng.integers(0, len(labels)))
                rows.append((uid, partner(i, t), kind, day_in(t), "", int(s)))
        for _ in range(int(min(world.college["dual_workshops"][i, -1] // 3, 10))):
            t = int(rng.integers(0, len(labels)))
            end = day_in(min(t + 6, len(labels) - 1)) if rng.random() < 0.15 and t + 6 < len(labels) else ""
            rows.append((uid, partner(i, t), "workshop", day_in(t), end, pd.NA))
    for ic, ent in ic_partner.items():
        rows.append((ic, ent, "industrial_college", "2022-09-01", "", pd.NA))
    frame = pd.DataFrame(rows, columns=["college_id", "enterprise_id", "kind", "start_date", "end_date", "students"])
    frame.insert(0, "partnership_id", [f"L{k:05d}" for k in range(1, len(frame) + 1)])
    frame["students"] = frame["students"].astype("Int64")
    return frame


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------
PARQUET_COMPRESSION = "zstd"
PARQUET_LEVEL = 9


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    """Fixed formatting: integers as integers, amounts with two decimals, empty for missing."""
    from evalkit.safe_io import neutralise_frame

    buf = io.StringIO()
    neutralise_frame(frame).to_csv(buf, index=False, float_format="%.2f", lineterminator="\n", na_rep="")
    return buf.getvalue().encode("utf-8")


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields = [
        pa.field("graduate_id", pa.string()),
        pa.field("college_id", pa.string()),
        pa.field("major", pa.string()),
        pa.field("cohort", pa.string()),
        pa.field("placed", pa.int8()),
        pa.field("local", pa.int8()),
        pa.field("member_enterprise", pa.int8()),
        pa.field("job_match", pa.int8()),
        pa.field("income", pa.float64()),
    ]
    # from_pandas keeps arrow-backed strings as they are; drop the pandas metadata (no index, no
    # version strings) so the file depends on the data only
    table = pa.Table.from_pandas(frame[[f.name for f in fields]], schema=pa.schema(fields), preserve_index=False)
    table = table.replace_schema_metadata(None)
    sink = pa.BufferOutputStream()
    pq.write_table(
        table,
        sink,
        compression=PARQUET_COMPRESSION,
        compression_level=PARQUET_LEVEL,
        use_dictionary=["college_id", "major", "cohort"],
        write_statistics=False,
        row_group_size=1 << 20,
        store_schema=False,
    )
    return sink.getvalue().to_pybytes()


def _yaml_bytes(meta: dict) -> bytes:
    import yaml

    head = f"# {BANNER_ZH}\n# {BANNER_EN}\n"
    return (head + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)).encode("utf-8")


def _json_bytes(truth: dict) -> bytes:
    return (json.dumps(truth, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def write_consortium(consortium: SyntheticConsortium, out: str | Path) -> Path:
    """Write one consortium's folder: dataset.yaml, the tables, truth.json and README.md."""

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "dataset.yaml": _yaml_bytes(consortium.meta),
        "units.csv": _csv_bytes(consortium.units),
        "panel.csv": _csv_bytes(consortium.panel),
        "partnerships.csv": _csv_bytes(consortium.partnerships),
        "truth.json": _json_bytes(consortium.truth),
        "README.md": readme(consortium).encode("utf-8"),
    }
    if consortium.graduates is not None:
        files["graduates.parquet"] = _parquet_bytes(consortium.graduates)
    elif (out / "graduates.parquet").exists():
        (out / "graduates.parquet").unlink()  # a stale table from another seed would not match
    for name, data in files.items():
        _write_atomic(out / name, data)
    return out


def write_synthetic(out: str | Path, seed: int = 20231205) -> Path:
    """Generate the default (Zhuzhou) consortium for ``seed`` and write it to ``out``; the same
    seed gives byte-identical files."""
    return write_consortium(generate(seed), out)


def write_many(out: str | Path, n: int, seed: int = 20231205, *, graduates: bool = False) -> Path:
    """Write ``n`` differently-seeded consortia of varying size (scale 0.5–1.5, 3–8 comparison
    colleges, 10–40 non-member enterprises, different cities) to ``out/<consortium_id>/`` and the
    batch manifest ``out/manifest.yaml``. Graduate tables only when ``graduates`` (keeps batches fast).
    The manifest's ``params`` is the repository's ``params`` folder relative to the manifest when
    it exists under the current directory, else empty (the batch's default)."""
    import os

    import yaml

    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cities = [OTHER_CITIES[i] for i in rng.permutation(len(OTHER_CITIES))]
    params_dir = Path.cwd() / "params"
    params = os.path.relpath(params_dir, out.resolve()) if params_dir.is_dir() else None
    entries = []
    for k in range(n):
        city_zh, city_en = cities[k % len(cities)]
        suffix = "" if k < len(cities) else f"{k // len(cities) + 1}"
        sub_seed = int(rng.integers(1, 2**31 - 1))
        scale = float(np.round(rng.uniform(0.5, 1.5), 2))
        consortium = generate(
            sub_seed,
            scale=scale,
            graduates=graduates,
            n_comparison_colleges=int(rng.integers(3, 9)),
            n_nonmember_enterprises=int(rng.integers(10, 41)),
            city=city_zh + suffix,
            city_en=city_en + suffix,
        )
        cid = f"syn{k + 1:03d}_{(city_en + suffix).lower()}"
        consortium.meta["description"] = (
            f"synthetic consortium {cid} for batch runs (seed {sub_seed}, scale {scale:g}); 合成数据，仅供演示"
        )
        write_consortium(consortium, out / cid)
        entries.append(
            {
                "id": cid,
                "name": consortium.meta["name_zh"],
                "name_en": consortium.meta["name_en"],
                "data": cid,
                "params": params,
                "seed": sub_seed,
                "scale": scale,
            }
        )
    manifest = {
        "synthetic": True,
        "generator": GENERATOR,
        "seed": int(seed),
        "params": params,
        "params_note": "params folder relative to this manifest (the repository's "
        "params/); empty = the batch's default params",
        "consortia": entries,
    }
    path = out / "manifest.yaml"
    _write_atomic(
        path,
        (f"# {BANNER_ZH}\n# {BANNER_EN}\n" + yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True)).encode(
            "utf-8"
        ),
    )
    return path
