"""``evalkit synth --workbooks DIR``: the synthetic consortium as the units would return it — one
workbook per unit (:mod:`evalkit.data.unit_template`, filled with the unit's rows), the consortium
office's workbook with the evidence checklist, each college's graduate records as a Parquet
export beside its workbook (``<unit_id> graduates.parquet``: hundreds of thousands of records do
not belong in a hand-filled sheet), the units list (``units.csv``) and ``dataset.yaml``.
``evalkit collect DIR --out DATA`` turns it back into the dataset ``evalkit synth`` writes."""

from __future__ import annotations

import io
from pathlib import Path

from evalkit.data.synth import SyntheticConsortium, _yaml_bytes, generate
from evalkit.data.unit_template import OFFICE, file_name, write_unit_workbook


def write_returns(consortium: SyntheticConsortium | None, out: str | Path, *, force: bool = False) -> Path:
    """Write ``consortium`` (default: the seed-calibrated default) as per-unit returns in ``out``."""
    from evalkit.safe_io import atomic_write_bytes, check_output, write_csv

    out = check_output(Path(out), force=force, kind="folder")
    c = consortium if consortium is not None else generate()
    out.mkdir(parents=True, exist_ok=True)
    for unit in c.units.to_dict("records"):
        uid = str(unit["unit_id"])
        data = {
            "units": c.units[c.units["unit_id"] == unit["unit_id"]],
            "panel": c.panel[c.panel["unit_id"] == unit["unit_id"]],
            "partnerships": c.partnerships[c.partnerships["college_id"] == unit["unit_id"]],
        }
        write_unit_workbook(out / file_name(uid), str(unit["unit_type"]), unit=unit, data=data, force=True)
        if c.graduates is not None and unit["unit_type"] == "college":
            mine = c.graduates[c.graduates["college_id"] == unit["unit_id"]].reset_index(drop=True)
            if len(mine):
                buf = io.BytesIO()
                mine.to_parquet(buf, index=False)
                atomic_write_bytes(out / f"{file_name(uid)[:-5]} graduates.parquet", buf.getvalue())
    if c.evidence is not None:
        write_unit_workbook(out / file_name(OFFICE), OFFICE, data={"evidence": c.evidence}, force=True)
    write_csv(c.units, out / "units.csv", force=True)
    atomic_write_bytes(out / "dataset.yaml", _yaml_bytes(c.meta))
    return out
