"""Who is in the synthetic consortium: the names (Zhuzhou's colleges, enterprises and industrial
colleges from the seed article; generic names for other cities), the seed's baseline figures the
model is calibrated to, and :func:`build_units` — the units table and the model's
:class:`~evalkit.data.synth_model.Design` (cohorts, sizes, targets) for one draw."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from evalkit.data import schema
from evalkit.data import synth_model as sm
from evalkit.data.periods import parse_period

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
# The seed's colleges that are not higher-vocational (compared with their own kind).
COLLEGE_LEVEL = {"醴陵陶瓷烟花职业技术学校": "secondary", "湖南工贸技师学院": "technician"}
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


def build_units(
    r_design: np.random.Generator,
    r_names: np.random.Generator,
    labels: list[str],
    scale: float,
    n_comp: int,
    n_nonmem: int,
    city: str,
    city_en: str,
    zhuzhou: bool,
) -> tuple[pd.DataFrame, sm.Design, dict[str, tuple[str, ...]], dict[str, str]]:
    """The units table, the model's design, each college's majors and each industrial college's
    partner enterprise. ``r_design`` draws sizes and joining dates, ``r_names`` the names."""
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
    emp: float
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
    units = pd.DataFrame(rows, columns=[c.name for c in schema.UNITS if c.name != "college_level"])
    units["lead"] = units["lead"].astype("int64")
    level = units["name_zh"].map(COLLEGE_LEVEL).fillna(schema.DEFAULT_COLLEGE_LEVEL)
    units["college_level"] = level.where(units["unit_type"] == "college", "")
    ic_partner = {f"IC{k + 1:02d}": f"E{e + 1:03d}" for k, (_, _, _, e) in enumerate(ics)}
    college_gt = np.array([t_of[sm.COHORTS[c]] for c in college_cohorts] + [0] * n_comp)
    ent_gt = np.array([t_of[sm.COHORTS[c]] for c in ent_cohorts] + [0] * n_nonmem)
    size_ratio = n_m / 9
    targets = {name: int(round(v * size_ratio)) for name, v in SEED_TARGETS.items()}
    targets["national_productive_bases"] = max(2, targets["national_productive_bases"])
    design = sm.Design(college_gt, weight, ent_gt, np.array(employees, dtype=float), targets, dict(LEAD_PINS))
    return units, design, majors, ic_partner
