"""The indicator registry: the shipped indicators.yaml and every validation rule."""
from __future__ import annotations

import copy

import pytest
import yaml

from evalkit import schema
from evalkit.errors import ChoiceError, RegistryError
from evalkit.indicators.registry import Registry, evaluate, load_registry

# The issue's list of indicators the shipped registry must hold (topic -> the id that covers it).
REQUIRED = {
    "shared training bases": "shared_bases",
    "national productive bases": "national_productive_bases",
    "productive base output": "productive_base_output",
    "dual-qualified workshops": "dual_workshops",
    "dual-qualified teacher ratio": "dual_teacher_ratio",
    "enterprise part-time teachers": "enterprise_parttime_teachers",
    "apprentices": "apprentices",
    "apprentice coverage": "apprentice_coverage",
    "order-class students": "order_class_students",
    "order-class coverage": "order_class_coverage",
    "joint research teams": "joint_research_teams",
    "co-developed courses": "courses_codeveloped",
    "co-developed textbooks": "textbooks_codeveloped",
    "new industry-aligned majors": "new_aligned_majors",
    "integration enterprises": "integration_enterprises",
    "enterprise investment": "enterprise_investment",
    "graduate destination rate": "graduate_destination_rate",
    "local retention": "local_retention_rate",
    "employment in member enterprises": "member_enterprise_employment_rate",
    "job-major match": "job_match_rate",
    "income six months after graduation": "income_6m",
    "employer satisfaction": "employer_satisfaction",
    "technical-service income": "tech_service_income",
    "non-degree training income": "training_income",
    "training person-times": "training_person_times",
    "member-enterprise output": "member_enterprise_output",
    "field engineers trained": "field_engineers_trained",
    "students": "students",
    "teachers": "teachers",
    "graduates": "graduates",
    "student-teacher ratio": "student_teacher_ratio",
}


@pytest.fixture(scope="module")
def shipped() -> Registry:
    return load_registry()


def _raw() -> dict:
    from importlib import resources

    return yaml.safe_load(resources.files("evalkit").joinpath("indicators", "indicators.yaml").read_text(encoding="utf-8"))


def _entry(**over) -> dict:
    base = {"id": "x_ratio", "name_zh": "某比例", "name_en": "Some ratio", "numerator": "dual_teachers",
            "denominator": "teachers", "scale": 100, "unit": "%", "direction": 1, "level": "input",
            "role": "input", "group": ["g1"], "source": "test", "unit_type": "college", "subsystem": "education"}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def _load(*entries, groups=None) -> Registry:
    data = {"indicators": list(entries)}
    data["groups"] = groups if groups is not None else [{"id": "g1"}, {"id": "g2", "parent": "g1"}]
    return load_registry(data)


# --------------------------------------------------------------------------- the shipped registry


def test_shipped_registry_covers_the_issue_list(shipped):
    assert len(shipped) >= 25
    missing = {topic: i for topic, i in REQUIRED.items() if i not in shipped}
    assert not missing


def test_shipped_formulas_use_schema_variables_and_derive_aggregation(shipped):
    kinds = {c.name: c.kind for c in schema.PANEL_VARIABLES}
    for ind in shipped:
        assert set(ind.variables) <= set(kinds), ind.id
        assert ind.numerator_kind == kinds[ind.numerator[0][0]]
        if ind.denominator is None:
            assert ind.aggregation == ind.numerator_kind
        else:
            assert ind.aggregation == "ratio"
            assert ind.denominator_kind == kinds[ind.denominator[0][0]]
    assert shipped.get("shared_bases").aggregation == "stock"
    assert shipped.get("enterprise_investment").aggregation == "flow"
    tsi = shipped.get("tech_service_income_per_100_teachers")
    assert (tsi.aggregation, tsi.numerator_kind, tsi.denominator_kind, tsi.scale) == ("ratio", "flow", "stock", 100)
    assert tsi.per == ("teachers", 100.0)


def test_shipped_groups_four_cooperations_and_five_golds(shipped):
    used = {g for ind in shipped for g in ind.groups}
    assert {"co_running", "co_educating", "co_employment", "co_development"} <= used
    assert {"gold_majors", "gold_courses", "gold_textbooks", "gold_teachers", "gold_bases"} <= used
    golds = shipped.select(group="five_golds")
    assert "dual_teacher_ratio" in golds and "graduate_destination_rate" not in golds
    assert shipped.ancestors("gold_teachers") == ["gold_teachers", "five_golds"]
    assert {i.direction for i in shipped} == {1, -1}
    assert shipped.get("student_teacher_ratio").direction == -1
    assert {i.subsystem for i in shipped} == {"education", "industry"}
    assert {i.role for i in shipped} == {"input", "outcome", "context"}


def test_expression_is_a_linear_numerator(shipped):
    import pandas as pd

    ssi = shipped.get("social_service_income")
    assert ssi.numerator == (("tech_service_income", 1.0), ("training_income", 1.0))
    frame = pd.DataFrame({"tech_service_income": [3.0, 1.0], "training_income": [2.0, None]})
    assert evaluate(ssi.numerator, frame).tolist()[0] == 5.0
    assert pd.isna(evaluate(ssi.numerator, frame).tolist()[1])
    reg = _load(_entry(numerator=None, denominator=None, scale=None,
                       expression="(2*dual_teachers - enterprise_parttime_teachers/2) / teachers"))
    ind = reg.get("x_ratio")
    assert dict(ind.numerator) == {"dual_teachers": 2.0, "enterprise_parttime_teachers": -0.5}
    assert ind.denominator == (("teachers", 1.0),)


def test_graduate_columns_are_aliases_of_graduate_flows():
    reg = _load(_entry(numerator="placed", denominator="graduates", group=["g2"]))
    assert reg.get("x_ratio").numerator == (("graduates_placed", 1.0),)
    assert reg.get("x_ratio").graduate_based


def test_describe_and_methods_markdown(shipped):
    zh, en = shipped.describe("zh"), shipped.describe("en")
    assert "毕业去向落实率" in zh and "生师比" in zh and "Graduate destination rate" in en
    assert "双师型教师数 ÷ 专任教师数 × 100" in zh
    md = shipped.methods_markdown("zh")
    assert md.count("\n| `") == len(shipped)
    assert "分子、分母分别汇总后相除" in md
    assert "| `income_6m` | Monthly income six months after graduation |" in shipped.methods_markdown("en")
    with pytest.raises(ChoiceError, match="^lang must be one of 'zh', 'en'; got 'fr'$"):
        shipped.describe("fr")
    with pytest.raises(ChoiceError, match="^lang must be one of 'zh', 'en'; got 'de'$"):
        shipped.methods_markdown("de")
    frame = shipped.to_frame()
    assert list(frame["id"]) == list(shipped.ids)
    assert frame.loc[frame["id"] == "apprentice_coverage", "denominator"].item() == "students"


def test_cli_metrics_list_prints_the_registry(capsys):
    from evalkit.cli import main

    assert main(["metrics", "--list", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "job_match_rate" in out and "Job–major match" in out


def test_user_registry_file_without_groups_section(tmp_path):
    path = tmp_path / "mine.yaml"
    entry = _entry(group="my_group")
    path.write_text(yaml.safe_dump({"indicators": [entry]}, allow_unicode=True), encoding="utf-8")
    reg = load_registry(path)
    assert reg.ids == ("x_ratio",) and "my_group" in reg.groups
    assert reg.path == str(path)


def test_get_unknown_indicator_names_it(shipped):
    with pytest.raises(RegistryError, match="nonexistent"):
        shipped.get("nonexistent")


# --------------------------------------------------------------------------- validation rules


@pytest.mark.parametrize("change, message", [
    ({"numerator": "dual_teachrs"}, "unknown variable 'dual_teachrs'"),
    ({"denominator": "teachers + nope"}, "unknown variable 'nope'"),
    ({"direction": 0}, "direction must be 1"),
    ({"direction": "up"}, "direction must be 1"),
    ({"direction": True}, "direction must be 1"),
    ({"level": "impact"}, "unknown level 'impact'"),
    ({"role": "driver"}, "unknown role 'driver'"),
    ({"group": ["nowhere"]}, "unknown group 'nowhere'"),
    ({"unit_type": "school"}, "unknown unit_type 'school'"),
    ({"subsystem": "society"}, "unknown subsystem 'society'"),
    ({"subsystem": None}, "missing subsystem"),
    ({"source": None}, "missing source"),
    ({"aggregation": "flow"}, "contradicts the formula"),
    ({"aggregation": "average"}, "unknown aggregation"),
    ({"numerator": "dual_teachers + graduates_placed", "denominator": None, "scale": None}, "mixes flows and stocks"),
    ({"numerator": "dual_teachers * teachers"}, "not linear"),
    ({"numerator": "dual_teachers + 5"}, "adds a constant"),
    ({"numerator": "dual_teachers(", "denominator": None}, "cannot read"),
    ({"numerator": "output_value"}, "not for unit_type 'college'"),
    ({"per": {"variable": "students", "base": 1000}}, "do not also give a denominator"),
    ({"denominator": None, "scale": -1}, "positive number"),
    ({"expression": "dual_teachers / teachers"}, "either `expression` or"),
    ({"numerator": None, "denominator": None}, "missing the formula"),
    ({"colour": "red"}, "unknown key"),
])
def test_validation_errors_name_the_indicator(change, message):
    with pytest.raises(RegistryError, match="indicator 'x_ratio'") as info:
        _load(_entry(**change))
    assert message in str(info.value)


def test_duplicate_ids_are_an_error():
    with pytest.raises(RegistryError, match="indicator 'x_ratio': duplicate id"):
        _load(_entry(), _entry())


def test_group_cycle_is_an_error_naming_an_indicator():
    groups = [{"id": "g1", "parent": "g3"}, {"id": "g2", "parent": "g1"}, {"id": "g3", "parent": "g2"}]
    with pytest.raises(RegistryError, match="indicator 'x_ratio'.*cycle") as info:
        _load(_entry(group=["g2"]), groups=groups)
    assert "g1" in str(info.value) and "g3" in str(info.value)
    with pytest.raises(RegistryError, match="cycle"):
        _load(_entry(group=["g1"]), groups=[{"id": "g1", "parent": "g1"}])


def test_group_with_unknown_parent_is_an_error():
    with pytest.raises(RegistryError, match="group 'g1': unknown parent 'gx'"):
        _load(_entry(), groups=[{"id": "g1", "parent": "gx"}])


def test_every_shipped_entry_breaks_when_a_variable_is_misspelt():
    raw = _raw()
    for i, entry in enumerate(raw["indicators"][:5]):
        broken = copy.deepcopy(raw)
        key = "expression" if "expression" in entry else "numerator"
        broken["indicators"][i][key] = entry[key] + "_typo"
        with pytest.raises(RegistryError, match=f"indicator '{entry['id']}'"):
            load_registry(broken)


def test_bad_files(tmp_path):
    with pytest.raises(RegistryError, match="not found"):
        load_registry(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("indicators: [\n", encoding="utf-8")
    with pytest.raises(RegistryError, match="not valid YAML"):
        load_registry(bad)
    empty = tmp_path / "empty.yaml"
    empty.write_text("indicators: []\n", encoding="utf-8")
    with pytest.raises(RegistryError, match="non-empty"):
        load_registry(empty)
