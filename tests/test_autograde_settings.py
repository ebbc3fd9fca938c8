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
