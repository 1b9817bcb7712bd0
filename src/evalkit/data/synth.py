"""The seed-calibrated synthetic consortium (株洲市产教联合体，合成数据) and its truth file.

``generate(seed)`` draws a Zhuzhou-like consortium from the structural model in
:mod:`evalkit.data.synth_model`: 9 member colleges (lead: 湖南铁道职业技术学院) joining in five
half-year cohorts across the three build phases, comparison colleges from other Hunan cities,
~85 member enterprises in the four alliances plus non-members, the host park and a few
industrial colleges. Baseline stocks match the seed article at 2023H1; the lead college's
figures hold at the founding (2023H2). ``truth`` holds the true parameters and the true
ATT(g, t) of membership for every outcome, ``write_synthetic`` writes the data folder
byte-identically for a seed, ``write_many`` writes N differently-seeded consortia and a batch
manifest. Every file says it is synthetic. The units and names are drawn in
:mod:`evalkit.data.synth_units`, the truth file built in :mod:`evalkit.data.synth_truth`.
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
from evalkit.data.synth_truth import build_truth
from evalkit.data.synth_yardstick import evidence_table, sides_truth, simulate_sides
from evalkit.data.synth_units import OTHER_CITIES, build_units
from evalkit.data.synth_readme import SEED_FIGURES as SEED_FIGURES  # re-exported: the seed's figures
from evalkit.data.synth_readme import BANNER_EN, BANNER_ZH, GENERATOR, readme
from evalkit.data.periods import parse_period

COLLEGE_VARS = tuple(c.name for c in schema.PANEL_VARIABLES if "college" in c.applies_to)
ENTERPRISE_VARS = tuple(c.name for c in schema.PANEL_VARIABLES if "enterprise" in c.applies_to)
PARK_VARS = tuple(c.name for c in schema.PANEL_VARIABLES if "park" in c.applies_to)
AMOUNT_VARS = (
    "productive_base_output",
    "enterprise_investment",
    "tech_service_income",
    "training_income",
    "output_value",
    "education_investment",
    "park_output",
)


@dataclass
class SyntheticConsortium:
    """One synthetic consortium: the tables, ``meta`` (for dataset.yaml) and ``truth``."""

    units: pd.DataFrame
    panel: pd.DataFrame
    graduates: pd.DataFrame | None
    partnerships: pd.DataFrame
    meta: dict[str, Any]
    truth: dict[str, Any]
    evidence: pd.DataFrame | None = None


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
    # a fifth stream for the yardstick's sides and evidence: the first four draw what they always drew
    r_design, r_names, r_partners, r_sim, r_yardstick = root.spawn(5)
    zhuzhou = city == "株洲"
    units, design, majors, ic_partner = build_units(
        r_design, r_names, labels, scale, n_comparison_colleges, n_nonmember_enterprises, city, city_en, zhuzhou
    )
    world = sm.simulate(design, periods, r_sim, effects=effects, records=graduates)
    r_sides, r_evidence = r_yardstick.spawn(2)
    college_sides, enterprise_sides, park_sides, side_effects = simulate_sides(units, world, labels, r_sides, effects)
    world.college.update(college_sides)
    world.enterprise.update(enterprise_sides)
    evidence, evidence_truth = evidence_table(units, world, r_evidence, periods[-1].end)
    panel = _panel(units, world, labels, park_sides)
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
    truth = build_truth(world, design, seed, scale)
    truth["yardstick"] = sides_truth(side_effects, world, labels)
    truth["evidence"] = evidence_truth
    return SyntheticConsortium(units, panel, grads, partners, meta, truth, evidence)


def _panel(units: pd.DataFrame, world: sm.World, labels: list[str], park: dict[str, np.ndarray]) -> pd.DataFrame:
    n_t = len(labels)
    frames = []
    kinds = units["unit_type"].to_numpy()
    blocks = (
        ("college", world.college, COLLEGE_VARS),
        ("enterprise", world.enterprise, ENTERPRISE_VARS),
        ("park", {k: np.asarray(v)[None, :] for k, v in park.items()}, PARK_VARS),
    )
    for utype, data, names in blocks:
        ids = units.loc[kinds == utype, "unit_id"].to_numpy()
        frame = pd.DataFrame({"unit_id": np.repeat(ids, n_t), "period": np.tile(labels, len(ids))})
        for name in names:
            frame[name] = data[name].ravel()
        frames.append(frame)
    others = units.loc[~np.isin(kinds, ("college", "enterprise", "park")), "unit_id"].to_numpy()
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
        **({"evidence.csv": _csv_bytes(consortium.evidence)} if consortium.evidence is not None else {}),
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
