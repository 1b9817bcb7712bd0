"""Params files are checked before any kernel starts; every problem is listed; the CLI exits 2."""
from pathlib import Path

import pytest
import yaml

from evalkit.cli import main
from evalkit.errors import ParamsError
from evalkit.review.phases import load_phase

ROOT = Path(__file__).resolve().parents[1]


def _write(tmp_path, name, **changes):
    raw = yaml.safe_load((ROOT / "params" / "phase2.yaml").read_text(encoding="utf-8"))
    raw["data"] = str(ROOT / "data" / "zhuzhou_synthetic")
    for key, value in changes.items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    raw["phase_id"] = name
    d = tmp_path / "params"
    d.mkdir(exist_ok=True)
    path = d / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["phase1", "phase2", "phase3", "final"])
def test_shipped_params_are_valid(name):
    phase = load_phase(ROOT / "params" / f"{name}.yaml")
    assert phase.phase_id == name and phase.baseline_end < phase.start
    assert "ASSUMPTION" in (ROOT / "params" / f"{name}.yaml").read_text(encoding="utf-8")


def test_every_problem_is_listed(tmp_path):
    path = _write(tmp_path, "bad", colour="red", window={"start": "2024-13-01", "end": "2025-06-30"},
                  methods={"weighting": "magic", "ccd_form": "standard"}, language="fr")
    with pytest.raises(ParamsError) as err:
        load_phase(path)
    text = str(err.value)
    assert "colour" in text and "unknown key" in text
    assert "window.start" in text and "2024-13-01" in text
    assert "methods.weighting" in text and "magic" in text
    assert "language" in text
    assert "4 problems" in text


def test_unquoted_date_is_refused(tmp_path):
    path = tmp_path / "params"
    path.mkdir()
    text = (ROOT / "params" / "phase2.yaml").read_text(encoding="utf-8").replace(
        'window: {start: "2024-01-01"', "window: {start: 2024-01-01")
    (path / "phase2.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ParamsError, match="quoted"):
        load_phase(path / "phase2.yaml")


def test_phase_id_must_match_file(tmp_path):
    path = _write(tmp_path, "x")
    path.rename(path.with_name("y.yaml"))
    with pytest.raises(ParamsError, match="file name"):
        load_phase(path.with_name("y.yaml"))


def _cli(tmp_path, capsys, path):
    code = main(["review", path.stem, "--params", str(path.parent), "--out", str(tmp_path / "reports")])
    return code, capsys.readouterr().err


def test_cli_bad_key_exits_2_before_any_kernel(tmp_path, capsys):
    path = _write(tmp_path, "bad", colour="red")
    code, err = _cli(tmp_path, capsys, path)
    assert code == 2 and "colour" in err and "Traceback" not in err
    assert not (tmp_path / "reports" / "bad").exists()  # nothing ran


def test_cli_window_outside_data_exits_2(tmp_path, capsys):
    path = _write(tmp_path, "late", window={"start": "2030-01-01", "end": "2030-12-31"})
    code, err = _cli(tmp_path, capsys, path)
    assert code == 2 and "outside the data" in err


def test_cli_unknown_indicator_exits_2(tmp_path, capsys):
    path = _write(tmp_path, "unk", targets={"no_such_indicator": 3})
    code, err = _cli(tmp_path, capsys, path)
    assert code == 2 and "no_such_indicator" in err and "unknown indicator" in err


def test_synthetic_data_uses_the_params_phase_windows():
    """The generator's joining schedule is described with the same assumed windows as params/."""
    import json

    truth = json.loads((ROOT / "data" / "zhuzhou_synthetic" / "truth.json").read_text(encoding="utf-8"))
    for pid, (start, end) in truth["phases"].items():
        phase = load_phase(ROOT / "params" / f"{pid}.yaml")
        assert (str(phase.start), str(phase.end)) == (start, end)
