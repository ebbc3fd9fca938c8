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
