"""autograde.json is validated when a course is loaded: a clear error that names the key."""
from __future__ import annotations

import json

import pytest

from autograde.course import Course, CourseError

VALID = {"lang": "ja", "source": "", "assignments": ["01_scalar_derivatives"], "release_dir": "", "db_url": "",
         "cell_timeout": 120, "sandbox": True, "limits": {"memory_mb": 2048}}


def _course(tmp_path, **changes):
    (tmp_path / "autograde.json").write_text(json.dumps({**VALID, **changes}))
    return Course(tmp_path)


def test_a_valid_file_loads_with_its_values(tmp_path):
    course = _course(tmp_path)
    assert course.settings.lang == "ja" and course.limits.memory_mb == 2048


@pytest.mark.parametrize(("changes", "message"), [
    ({"limits": {"memory_mb": "2048"}}, "limits.memory_mb must be a whole number, not '2048'"),
    ({"limits": {"memory_mb": 0}}, "limits.memory_mb must be at least 1"),
    ({"limits": {"memroy_mb": 2048}}, "limits: unknown key(s) 'memroy_mb'"),
    ({"cell_timeout": 1.5}, "cell_timeout must be a whole number, not 1.5"),
    ({"sandbox": "false"}, "sandbox must be true or false, not 'false'"),
    ({"lang": "fr"}, "lang must be one of en, ja, ko, not 'fr'"),
    ({"cell_timout": 30}, "unknown key(s) 'cell_timout'"),
    ({"assignments": ["lesson one"]}, "assignments.0"),
])
def test_a_wrong_value_is_refused_naming_its_key(tmp_path, changes, message):
    with pytest.raises(CourseError) as info:
        _course(tmp_path, **changes)
    assert message in str(info.value) and "autograde.json" in str(info.value)


def test_a_file_that_is_not_json_is_refused_clearly(tmp_path):
    (tmp_path / "autograde.json").write_text("{lang: ja")
    with pytest.raises(CourseError, match="not valid JSON"):
        Course(tmp_path)


def test_an_instructor_error_is_told_in_the_courses_language(tmp_path, capsys):
    from autograde.__main__ import main
    from autograde.messages import t

    _course(tmp_path)  # a Japanese course, never graded
    assert main(["--course", str(tmp_path), "report"]) == 2
    said = capsys.readouterr().err
    assert said.startswith("error: ") and t("ce_no_report", "ja", root=tmp_path) in said
    assert "採点レポート" in said and "Traceback" not in said
    assert main(["--course", str(tmp_path / "none"), "release", "--lang", "fr"]) == 2
    assert "fr" in capsys.readouterr().err


def test_an_unreadable_course_is_reported_in_english_without_a_traceback(tmp_path, capsys):
    from autograde.__main__ import main

    (tmp_path / "autograde.json").write_text("{lang: ja")
    assert main(["--course", str(tmp_path), "report"]) == 2
    said = capsys.readouterr().err
    assert "is not valid JSON" in said and "Traceback" not in said


def test_every_course_error_names_a_message_of_the_catalogue():
    import re
    from pathlib import Path

    from autograde.messages import catalogue

    root = Path(__file__).resolve().parents[1] / "autograde"
    keys = {k for p in root.rglob("*.py") for k in re.findall(r'CourseError\(\s*"(\w+)"', p.read_text(encoding="utf-8"))}
    keys |= {"ce_no_local_cluster", "ce_no_scheduler"}  # chosen by a conditional in cluster.py
    assert len(keys) > 15
    assert keys <= set(catalogue("en")) and keys <= set(catalogue("ja")) and keys <= set(catalogue("ko"))
    assert not re.search(r"CourseError\(\s*f[\"']", "".join(p.read_text(encoding="utf-8") for p in root.rglob("*.py")))


def test_a_wrong_value_in_a_japanese_course_is_told_in_japanese_naming_the_key(tmp_path, capsys):
    from autograde.__main__ import main

    _course_file = tmp_path / "autograde.json"
    _course_file.write_text(json.dumps({**VALID, "limits": {"memory_mb": "2048"}}))  # VALID is a Japanese course
    assert main(["--course", str(tmp_path), "report"]) == 2
    said = capsys.readouterr().err
    assert "limits.memory_mb の値は整数でなければなりません。実際は '2048' です" in said
    assert "must be" not in said and "Traceback" not in said


@pytest.mark.parametrize("lang", ["en", "ja", "ko"])
@pytest.mark.parametrize("changes", [
    {"limits": {"memory_mb": "2048"}}, {"limits": {"memory_mb": 0}}, {"limits": {"memroy_mb": 1}},
    {"sandbox": "false"}, {"lang": "fr"}, {"cell_timout": 30}, {"assignments": ["lesson one"]},
    {"assignments": "01_scalar_derivatives"}, {"source": 3},
])
def test_each_problem_is_a_message_of_the_catalogue_naming_its_key(changes, lang):
    from autograde.messages import catalogue
    from autograde.settings_schema import problems

    found = problems({**VALID, **changes})
    assert len(found) == 1 and found[0].key != "sv_other" and found[0].key in catalogue(lang)
    line = found[0].render(lang)
    key = next(iter(changes))
    assert key in line if key != "limits" else ("memory_mb" in line or "memroy_mb" in line)
    if lang != "en":
        assert "must" not in line and "unknown" not in line


def test_a_file_that_is_not_an_object_is_refused_with_a_message_of_its_own():
    from autograde.settings_schema import problems

    assert [p.key for p in problems(["lang", "ja"])] == ["sv_not_an_object"]


def _kinds(schema: dict) -> set[str]:
    """Every keyword a JSON schema uses, its subschemas' included."""
    found = set(schema)
    for sub in [*schema.get("properties", {}).values(), schema.get("items"), schema.get("additionalProperties")]:
        if isinstance(sub, dict):
            found |= _kinds(sub)
    return found


def test_every_validator_kind_the_schema_uses_has_a_message_in_every_language():
    from autograde.messages import catalogue
    from autograde.settings_schema import MESSAGES, SCHEMA, STRUCTURAL, _schema

    used = _kinds(_schema()) - STRUCTURAL
    assert used == _kinds(SCHEMA) - STRUCTURAL and {"type", "minimum", "enum", "additionalProperties"} <= used
    assert used <= set(MESSAGES), f"no message for {used - set(MESSAGES)}"
    for lang in ("en", "ja", "ko"):
        assert set(MESSAGES.values()) <= set(catalogue(lang))
