"""Issue 14 item 3: the academic year's start month is a dataset setting; colleges on academic
years beside enterprises on calendar years (declared, aligned by the documented rule)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import yaml

from evalkit.cli import main
from evalkit.data.calendars import check_alignable
from evalkit.data.dataset import load, validate
from evalkit.data.periods import assign_windows, parse_period
from evalkit.errors import DataError
from evalkit.indicators.aggregate import aggregate
from evalkit.indicators.registry import load_registry
from evalkit.review.asof import cut

YEARS = {"y2023": ("2023-01-01", "2023-12-31"), "y2024": ("2024-01-01", "2024-12-31")}


@pytest.fixture(scope="module")
def ay(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cal") / "ay"
    assert main(["synth", "--frequency", "academic_year", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cal") / "mixed"
    assert main(["synth", "--frequency", "mixed", "--out", str(out)]) == 0
    return out


def _with_meta(src: Path, dst: Path, **changes) -> Path:
    shutil.copytree(src, dst)
    meta = yaml.safe_load((dst / "dataset.yaml").read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    (dst / "dataset.yaml").write_text(yaml.safe_dump(meta, allow_unicode=True), encoding="utf-8")
    return dst


def _one(reg, unit_type: str, aggregation: str) -> str:
    """A registry indicator of ``unit_type`` that is one panel variable (no denominator)."""
    return next(
        i.id
        for i in reg
        if i.unit_type == unit_type and i.aggregation == aggregation and i.denominator is None
        and len(i.numerator) == 1 and i.scale == 1 and i.numerator[0][1] == 1
    )


def test_start_month_moves_the_dates_by_hand():
    sept, march, aug = (parse_period("2023-2024学年", m) for m in (9, 3, 8))
    assert (sept.start, sept.end) == (date(2023, 9, 1), date(2024, 8, 31))
    assert (march.start, march.end) == (date(2023, 3, 1), date(2024, 2, 29))
    assert (aug.start, aug.end) == (date(2023, 8, 1), date(2024, 7, 31))
    assert march.label == sept.label and (march + 1).start == date(2024, 3, 1)
    wins = {k: (date.fromisoformat(a), date.fromisoformat(b)) for k, (a, b) in YEARS.items()}
    # Sep 2023–Aug 2024: 122 days in 2023, 244 in 2024 → 2024; Mar 2023–Feb 2024: 306 vs 60 → 2023
    assert assign_windows([sept], wins)[sept] == "y2024"
    assert assign_windows([march], wins)[march] == "y2023"


def test_a_dataset_with_start_month_3_assigns_windows_and_cuts_by_its_own_dates(ay, tmp_path):
    nine = load(ay)
    folder = _with_meta(ay, tmp_path / "m3", academic_year_start_month=3)
    # the synthetic partnerships and evidence are dated up to June 2026, after this data's end (Feb)
    three = load(folder, strict=False)
    assert nine.start_month == 9 and three.start_month == 3
    assert three.periods[0].label == "2019-2020学年" and three.periods[0].end == date(2020, 2, 29)
    reg = load_registry()
    stock = _one(reg, "college", "stock")
    var = reg.get(stock).numerator[0][0]
    uid = nine.units.loc[nine.units["unit_type"] == "college", "unit_id"].iloc[0]
    got = {}
    for name, data in (("9", nine), ("3", three)):
        agg = aggregate(data, reg.select([stock]), windows=YEARS)
        row = agg[(agg["group"] == uid) & (agg["indicator"] == stock) & (agg["window"] == "y2023")].iloc[0]
        got[name] = (row["last_period"], row["value"])
    panel = nine.panel.set_index(["unit_id", "period"])[var]
    # by hand: September start → 2023's last academic year is 2022-2023 (Sep 2022–Aug 2023);
    # March start → 2023-2024 (Mar 2023–Feb 2024 lies 306 of its 366 days in 2023)
    assert got["9"] == ("2022-2023学年", panel[(uid, "2022-2023学年")])
    assert got["3"] == ("2023-2024学年", panel[(uid, "2023-2024学年")])
    # the as-of cut: on 1 March 2024 a March-start 2023-2024 has ended (29 Feb), a September one has not
    assert cut(nine, date(2024, 3, 1)).periods[-1].label == "2022-2023学年"
    assert cut(three, date(2024, 3, 1)).periods[-1].label == "2023-2024学年"


@pytest.mark.parametrize("bad", [13, 0, "September", 9.5])
def test_a_bad_start_month_names_the_file_and_key(ay, tmp_path, bad, capsys):
    folder = _with_meta(ay, tmp_path / "bad", academic_year_start_month=bad)
    report = validate(folder)
    assert not report.ok
    (p,) = [p for p in report.problems if p.column == "academic_year_start_month"]
    assert p.file == "dataset.yaml" and "1–12" in p.rule
    assert main(["validate", str(folder), "--lang", "zh"]) == 2
    assert "必须是 1–12 的整数月份" in capsys.readouterr().out


def test_mixed_dataset_validates_and_aligns_by_the_rule(mixed):
    assert main(["validate", str(mixed), "--lang", "en"]) == 0
    data = load(mixed)
    assert data.calendars.mixed and data.frequency == "academic_year"
    assert data.calendars.frequency_of("enterprise") == "year"
    assert [p.label for p in data.periods_by_frequency["year"]][:2] == ["2019", "2020"]
    reg = load_registry()
    flow_e, stock_c = _one(reg, "enterprise", "flow"), _one(reg, "college", "stock")
    var_e, var_c = reg.get(flow_e).numerator[0][0], reg.get(stock_c).numerator[0][0]
    windows = {"phase": ("2023-01-01", "2024-12-31"), "next": ("2025-01-01", "2025-12-31")}
    agg = aggregate(data, reg, windows=windows)
    agg = agg[agg["window"] == "phase"]
    panel = data.panel.set_index(["unit_id", "period"])
    eid = data.units.loc[data.units["unit_type"] == "enterprise", "unit_id"].iloc[0]
    cid = data.units.loc[data.units["unit_type"] == "college", "unit_id"].iloc[0]
    e = agg[(agg["group"] == eid) & (agg["indicator"] == flow_e)].iloc[0]
    c = agg[(agg["group"] == cid) & (agg["indicator"] == stock_c)].iloc[0]
    # by hand: the enterprise's flow per year = (2023 + 2024) / 2 calendar years
    expected = (panel.loc[(eid, "2023"), var_e] + panel.loc[(eid, "2024"), var_e]) / 2
    assert e["value"] == pytest.approx(expected) and e["years"] == 2 and e["last_period"] == "2024"
    # the college's stock at its calendar's last period in the window: 2023-2024学年 (Sep 2023–Aug
    # 2024 lies in the window; 2024-2025学年 overlaps the next window more: 243 days against 122)
    assert c["last_period"] == "2023-2024学年" and c["value"] == panel.loc[(cid, "2023-2024学年"), var_c]
    # the as-of cut keeps each calendar's periods ended by then
    seen = cut(data, date(2024, 12, 31))
    assert seen.periods[-1].label == "2023-2024学年" and seen.periods_by_frequency["year"][-1].label == "2024"


def test_an_undeclared_mix_is_refused_with_rows_named(mixed, tmp_path, capsys):
    folder = _with_meta(mixed, tmp_path / "undeclared", frequency_by_unit_type=None)
    report = validate(folder)
    assert not report.ok
    p = report.problems[0]
    assert p.file == "panel.csv" and p.column == "period" and p.row is not None
    assert "frequency_by_unit_type" in p.rule
    assert main(["validate", str(folder), "--lang", "en"]) == 2
    out = capsys.readouterr()
    assert "frequency_by_unit_type" in out.out and "Traceback" not in out.out + out.err
    # a unit type declared on a calendar its rows do not use: the rule names the type and both frequencies
    folder = _with_meta(mixed, tmp_path / "wrong", frequency_by_unit_type={"enterprise": "year", "park": "half"})
    rules = {p.rule for p in validate(folder).problems}
    assert any("a year period for a unit of type park, whose frequency is half" in r for r in rules)


def test_one_number_on_two_calendars_is_refused(mixed):
    data = load(mixed)
    reg = load_registry()
    from evalkit.indicators.compute import compute

    table = compute(data, reg)
    stock_c = _one(reg, "college", "stock")
    mixed_rows = table[table["indicator"] == stock_c].copy()
    # the same indicator reported by one unit on calendar years (a hand-made table): not alignable
    extra = mixed_rows.head(3).assign(period=["2023", "2024", "2025"])
    with pytest.raises(DataError) as err:
        aggregate(pd.concat([mixed_rows, extra]), reg, windows={"phase": ("2023-01-01", "2024-12-31")})
    text = str(err.value)
    assert stock_c in text and "academic_year and year" in text and "date windows" in text
    check_alignable("x", {"year"}, "one calendar")  # one calendar: nothing to refuse


def test_mixed_dataset_reviews(mixed):
    from conftest import all_markup, render_review

    review = render_review(Path(__file__).parents[1] / "params" / "phase2.yaml", data_dir=mixed)
    a = review.analysis
    assert a.dataset.calendars.mixed
    assert a.dataset.periods[-1].label == "2023-2024学年"  # as of 2025-06-30
    assert a.dataset.periods_by_frequency["year"][-1].label == "2024"
    results = review.results()
    assert results["tables"]["targets"]
    # the review says which calendar each kind of unit is on, the academic year's months and the rule
    markup = all_markup(review)
    assert "院校按学年（9 月—次年 8 月）统计，企业与园区按自然年统计" in markup
    assert "存量取该口径在窗口内的最后一期" in markup and "data/README.md" in markup
    record = dict(results["calendars"])
    assert record.pop("text_zh") in markup and record.pop("text_en").startswith("Colleges")
    assert record == {
        "frequency": "academic_year",
        "by_unit_type": {"college": "academic_year", "enterprise": "year", "park": "year"},
        "mixed": True,
        "academic_year_start_month": 9,
    }


def test_the_calendars_sentence_follows_the_dataset(ay, mixed, tmp_path):
    from types import SimpleNamespace

    from evalkit.data.calendars import as_record, describe
    from evalkit.review.sections_methods import calendars_item

    three = load(_with_meta(mixed, tmp_path / "m3", academic_year_start_month=3), strict=False)
    zh, en = calendars_item(SimpleNamespace(dataset=three))  # the methods appendix's line
    assert zh.startswith("统计口径：院校按学年（3 月—次年 2 月）统计，企业与园区按自然年统计")
    assert "Colleges report by academic year (March–February); enterprises and the park by calendar year" in en
    assert as_record(three.calendars)["academic_year_start_month"] == 3
    # one calendar: said briefly, no alignment rule
    assert describe(load(ay).calendars) == (
        "所有单位均按学年（9 月—次年 8 月）统计。",
        "Every unit reports by academic year (September–August).",
    )
    plain = load(Path(__file__).parents[1] / "data" / "zhuzhou_synthetic")
    assert describe(plain.calendars)[1].startswith("Every unit reports by half-year")
    assert as_record(plain.calendars)["academic_year_start_month"] is None


def test_the_codebook_names_each_calendar_and_the_start_month(mixed, tmp_path, monkeypatch):
    from evalkit.data import codebook

    monkeypatch.setattr(codebook, "_plot", lambda values: "")  # the text is tested, not the histograms
    assert main(["codebook", str(mixed), "--out", str(tmp_path / "cb.html")]) == 0
    page = (tmp_path / "cb.html").read_text(encoding="utf-8")
    assert "院校按学年（9 月—次年 8 月）统计，企业与园区按自然年统计" in page
    assert "学年（9 月—次年 8 月） / academic year (September–August)" in page and "自然年 / calendar year" in page
    table = codebook.variables_table(load(mixed))[0].set_index("variable")
    assert table.loc["students", "calendar"].startswith("学年（9 月")
    assert table.loc["employees", "calendar"] == "自然年 / calendar year"
    # the synthetic partnerships and evidence are dated after a March-start data's end: warnings
    folder = _with_meta(mixed, tmp_path / "m3", academic_year_start_month=3)
    three = codebook.calendars_table(load(folder, strict=False)).set_index("unit_type")
    assert three.loc["college", "academic_year_start_month"] == 3
    assert three.loc["college", "calendar"].startswith("学年（3 月—次年 2 月）")
    assert pd.isna(three.loc["park", "academic_year_start_month"])
    # one calendar: no calendar column per variable
    assert "calendar" not in codebook.variables_table(load(Path(__file__).parents[1] / "data" / "zhuzhou_synthetic"))[0]


def test_templates_say_where_the_academic_year_start_is_set(tmp_path):
    from openpyxl import load_workbook

    from evalkit.data.template import write_template
    from evalkit.data.unit_template import write_unit_workbook

    for path in (
        write_template(tmp_path / "t.xlsx"),
        write_unit_workbook(tmp_path / "c.xlsx", "college", unit={"unit_id": "C01", "unit_type": "college"}),
    ):
        ws = load_workbook(path)["说明 Instructions"]
        text = " ".join(str(c.value) for row in ws.iter_rows() for c in row if c.value)
        assert "默认 9 月—次年 8 月" in text and "September–August by default" in text
        assert text.count("academic_year_start_month") == 2  # in Chinese and in English
