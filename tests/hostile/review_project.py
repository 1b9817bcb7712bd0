"""A hostile review project, generated from the default data: injection payloads in every free-text
field that data, dataset.yaml, params and a user registry accept; a college with three graduates;
graduate rows with warnings (an income given without a confirmed destination); two colleges that
share a Chinese name. ``build(root)`` writes ``root/data``, ``root/registry.yaml`` and
``root/params/phase3.yaml`` and returns what the outputs must not contain."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "data" / "zhuzhou_synthetic"

# live markup / script payloads (HTML) and formula payloads (CSV/XLSX)
SCRIPT = "<script>alert('xss')</script>"
IMG = "<img src=x onerror=alert(1)>"
JS = "javascript:alert(1)"
LINK = '<a href="javascript:alert(2)">x</a>'
HYPER = '=HYPERLINK("http://x","y")'
CMD = "=cmd|' /C calc'!A0"
PLUS, MINUS, AT = "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0"
TAB, CR = "\t=1+1", "\r=1+1"
MATH = r"$\frac{1$"
SMALL_COLLEGE = "C04"
SMALL_COUNT = 3
LEAKED_INCOME = 98765.4


@dataclass
class Project:
    root: Path
    params: Path
    data: Path
    registry: Path
    graduate_ids: list[str]
    fields: dict[str, str]  # "where: field" -> payload planted there


def _units(data: Path, fields: dict[str, str]) -> None:
    units = pd.read_csv(DEFAULT / "units.csv", dtype=str, keep_default_na=False)
    plant = {
        ("C01", "name_zh"): "铁道" + SCRIPT,
        ("C01", "name_en"): IMG,
        ("C01", "city"): JS,
        ("C02", "name_zh"): HYPER,
        ("C02", "name_en"): CMD,
        ("C03", "name_en"): LINK + MATH,
        ("C05", "name_en"): PLUS,
        ("C06", "name_en"): MINUS,
        ("C07", "name_en"): AT,
        ("C08", "name_en"): TAB,
        # a quoted CR inside a units.csv cell crashes the CSV reader (data/dataset.py, reported)
        ("C09", "name_en"): "x" + TAB,
        ("C10", "name_zh"): MATH + "学院",
        ("E001", "name_zh"): SCRIPT + "企业",
        ("E001", "name_en"): HYPER,
        ("E002", "name_zh"): IMG,
        ("E002", "city"): CMD,
        ("E003", "name_zh"): "企业" + MATH,
    }
    for (uid, col), value in plant.items():
        units.loc[units["unit_id"] == uid, col] = value
        fields[f"units.csv {uid}: {col}"] = value
    # two colleges sharing a Chinese name (valid data: ids differ)
    units.loc[units["unit_id"] == "C12", "name_zh"] = units.loc[units["unit_id"] == "C11", "name_zh"].iloc[0]
    units.to_csv(data / "units.csv", index=False)


def _graduates(data: Path) -> list[str]:
    g = pd.read_parquet(DEFAULT / "graduates.parquet")
    small = g[(g["college_id"] == SMALL_COLLEGE) & (g["cohort"] == "2025H1")].head(SMALL_COUNT)
    g = pd.concat([g[g["college_id"] != SMALL_COLLEGE], small], ignore_index=True)
    # graduate rows with warnings: income without a confirmed destination
    bad = g.index[(g["college_id"] == "C01") & (g["cohort"] == "2025H1")][:2]
    g.loc[bad, ["placed", "local", "member_enterprise", "job_match"]] = 0
    g.loc[bad, "income"] = LEAKED_INCOME
    g.to_parquet(data / "graduates.parquet", index=False)
    return g["graduate_id"].astype(str).tolist()


def build(root: Path) -> Project:
    root = Path(root)
    data = root / "data"
    data.mkdir(parents=True)
    fields: dict[str, str] = {}
    _units(data, fields)
    panel = pd.read_csv(DEFAULT / "panel.csv", dtype=str, keep_default_na=False)
    # the small college's graduate flows come from its records only
    flows = [
        "graduates",
        "graduates_placed",
        "graduates_local",
        "graduates_member_ent",
        "graduates_matched",
        "income_respondents",
        "income_sum",
    ]
    panel.loc[panel["unit_id"] == SMALL_COLLEGE, flows] = ""
    panel.to_csv(data / "panel.csv", index=False)
    (data / "partnerships.csv").write_bytes((DEFAULT / "partnerships.csv").read_bytes())
    ids = _graduates(data)
    meta = yaml.safe_load((DEFAULT / "dataset.yaml").read_text(encoding="utf-8"))
    meta.update(name_zh="联合体" + SCRIPT, name_en=IMG + HYPER, city=CMD)
    fields.update({"dataset.yaml: name_zh": meta["name_zh"], "dataset.yaml: name_en": IMG, "dataset.yaml: city": CMD})
    (data / "dataset.yaml").write_text(yaml.safe_dump(meta, allow_unicode=True), encoding="utf-8")

    reg = yaml.safe_load((ROOT / "src" / "evalkit" / "indicators" / "indicators.yaml").read_text(encoding="utf-8"))
    payloads = [SCRIPT, IMG, HYPER, CMD, PLUS, MINUS, AT, LINK, MATH]
    for k, ind in enumerate(reg["indicators"]):
        p = payloads[k % len(payloads)]
        ind["name_zh"] = ind["name_zh"] + p
        ind["name_en"] = p + ind["name_en"]
        ind["unit"] = MATH if k % 2 else p
        ind["description"] = SCRIPT + LINK
        fields[f"registry {ind['id']}: name_en"] = p
    for g in reg["groups"]:
        g["name_en"] = IMG + g["name_en"]
    fields["registry groups: name_en"] = IMG
    registry = root / "registry.yaml"
    registry.write_text(yaml.safe_dump(reg, allow_unicode=True), encoding="utf-8")

    params = root / "params"
    params.mkdir()
    raw = yaml.safe_load((ROOT / "params" / "phase2.yaml").read_text(encoding="utf-8"))
    raw.update(
        title_zh="第三阶段" + SCRIPT + HYPER,
        title_en=IMG + JS,
        notes=LINK + CMD + MATH + CR,
        data=str(data),
        registry=str(registry),
    )
    raw["methods"].update(uncertainty_runs=20, drivers=False)
    fields.update(
        {"params: title_zh": SCRIPT, "params: title_en": IMG, "params: notes": LINK + CMD + MATH}
    )
    (params / "phase2.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return Project(root, params, data, registry, ids, fields)
