"""The root fixes of issue 11's injection and privacy classes, unit by unit (the end-to-end review
with payloads everywhere is in tests/hostile/test_review_cases.py)."""
from __future__ import annotations

import io

import pytest

from evalkit.errors import Problem
from evalkit.plotting import new_figure, plain
from evalkit.privacy import gate_problems, rule_without_values
from evalkit.provenance import scrub
from evalkit.yamlio import YamlError, read_yaml


def test_broken_mathtext_label_from_data_never_stops_a_figure():
    fig = new_figure()
    ax = fig.add_subplot()
    ax.plot([1, 2], [1, 2], label=r"$\frac{1$")
    ax.set_title(r"$\frac{1$")
    ax.set_yticks([1, 2], [r"$\frac{1$", "b"])
    ax.set_xlabel(r"unit weight $\omega$")  # a figure's own formula stays math
    ax.legend()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue()[:4] == b"\x89PNG"
    assert ax.title.get_parse_math() is False and ax.xaxis.label.get_parse_math() is True


def test_plain_escapes_every_dollar():
    assert plain(r"$\frac{1$") == r"\$\frac{1\$"
    fig = new_figure()
    fig.add_subplot().set_title(plain("$5$ per $"))
    fig.savefig(io.BytesIO(), format="png")


@pytest.mark.parametrize(
    "text, key, line",
    [
        ("a: 1\na: 2\n", "a", 2),
        ("window:\n  start: 2024-01-01\n  end: 2024-06-30\n  start: 2023-01-01\n", "start", 4),
        ("targets: {x: 1, x: 2}\n", "x", 1),
        ("- {id: a, id: b}\n", "id", 1),
    ],
)
def test_duplicate_keys_are_refused_with_key_and_line(text, key, line):
    with pytest.raises(YamlError, match=rf"line {line}: the key '{key}' is given twice"):
        read_yaml(text)


def test_same_key_in_different_mappings_is_fine():
    assert read_yaml("a: {x: 1}\nb: {x: 2}\n") == {"a": {"x": 1}, "b": {"x": 2}}


def test_person_record_messages_lose_their_values():
    assert rule_without_values("records do not add up in 1 unit-periods: C04 2025H1 (records 3, panel 9)") == (
        "records do not add up in # unit-periods"
    )
    assert rule_without_values("income_6m above 99,000.5") == "income_6m above #"
    problems = [
        Problem("graduates.parquet", 7, "income", 98765.4, "income 98765.4 for C04 (records 3)"),
        Problem("graduates.parquet", 9, "income", 12.0, "income 12 for C04 (records 3)"),
        Problem("panel.csv", 3, "students", 5, "students: negative"),
    ]
    table = gate_problems(problems, min_cell=5)
    text = table.to_csv()
    assert "98765" not in text and "records 3" not in text and "C04" not in text
    assert list(table["count"]) == ["1", "<5"]


def test_scrub_finds_paths_after_terminal_colour_codes():
    text = "\x1b[32m/srv/checkout/src/x.py:3\x1b[0m and \\u001b[0;32m/srv/checkout/y.py, QUJD/srv/checkout/z"
    out = scrub(text, {"/srv/checkout": "."})
    assert "/srv/checkout/src" not in out and "/srv/checkout/y" not in out
    assert "QUJD/srv/checkout/z" in out  # inside base64-like text it is left alone
