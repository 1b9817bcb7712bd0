from datetime import date

import pytest

from evalkit.data.periods import (PeriodError, assign_windows, infer_frequency, parse_period, period_range,
                             periods_in_window, to_date)


@pytest.mark.parametrize("label,freq,start,end", [
    ("2024", "year", date(2024, 1, 1), date(2024, 12, 31)),
    ("2024H2", "half", date(2024, 7, 1), date(2024, 12, 31)),
    ("2024Q1", "quarter", date(2024, 1, 1), date(2024, 3, 31)),
    ("2024-02", "month", date(2024, 2, 1), date(2024, 2, 29)),
])
def test_parse_period(label, freq, start, end):
    p = parse_period(label)
    assert (p.freq, p.start, p.end, p.label) == (freq, start, end, label)


@pytest.mark.parametrize("bad", ["2024H3", "24", "2024-13", "abc", "", None])
def test_bad_period(bad):
    with pytest.raises(PeriodError):
        parse_period(bad)


def test_mixed_frequency():
    with pytest.raises(PeriodError, match="mixed"):
        infer_frequency(["2024H1", "2024"])


def test_phase_windows_map_onto_half_years():
    periods = period_range(parse_period("2019H1"), parse_period("2026H1"))
    windows = {"phase1": (date(2023, 8, 1), date(2023, 12, 31)),
               "phase2": (date(2024, 1, 1), date(2025, 6, 30)),
               "phase3": (date(2025, 7, 1), date(2026, 2, 28))}
    mapping = assign_windows(periods, windows)
    got = {name: [p.label for p in periods if mapping[p] == name] for name in windows}
    assert got == {"phase1": ["2023H2"], "phase2": ["2024H1", "2024H2", "2025H1"],
                   "phase3": ["2025H2", "2026H1"]}
    assert [p.label for p in periods_in_window(periods, date(2019, 1, 1), date(2023, 6, 30))][-1] == "2023H1"


def test_overlap_goes_to_larger_window():
    periods = [parse_period("2025")]
    mapping = assign_windows(periods, {"a": (date(2025, 1, 1), date(2025, 3, 31)),
                                       "b": (date(2025, 4, 1), date(2025, 12, 31))})
    assert mapping[periods[0]] == "b"


def test_to_date():
    assert to_date("2023/12/5") == date(2023, 12, 5)
    with pytest.raises(PeriodError):
        to_date("2023-02-30")
