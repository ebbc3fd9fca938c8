"""LMS download names: who submitted, which notebook it is, and what is not a submission."""
from __future__ import annotations

import pytest

from autograde.collect import canonical_notebook, match_path

KNOWN = ["01_scalar_derivatives", "02_chain_rule"]


@pytest.mark.parametrize("path, pattern, student, filename", [
    ("Aiko Tanaka_20001_assignsubmission_file_/01_scalar_derivatives.ipynb", "moodle", "20001",
     "01_scalar_derivatives.ipynb"),
    ("田中 愛子_20001_assignsubmission_file/sub/Copy of 01_scalar_derivatives.ipynb", "moodle", "20001",
     "Copy of 01_scalar_derivatives.ipynb"),
    ("Aiko Tanaka_20001_assignsubmission_file_01_scalar_derivatives.ipynb", "moodle", "20001",
     "01_scalar_derivatives.ipynb"),
    ("tanakaaiko_20001_987654_01_scalar_derivatives-1.ipynb", "canvas", "20001", "01_scalar_derivatives-1.ipynb"),
    ("tanakaaiko_LATE_20001_987654_02_chain_rule.ipynb", "canvas", "20001", "02_chain_rule.ipynb"),
    ("Lesson 1_tanaka_attempt_2024-05-01-10-30-00_01_scalar_derivatives.ipynb", "blackboard", "tanaka",
     "01_scalar_derivatives.ipynb"),
    ("s20008/02_chain_rule.ipynb", "folder", "s20008", "02_chain_rule.ipynb"),
])
def test_lms_file_names_give_the_student(path, pattern, student, filename):
    name, groups = match_path(path)
    assert (name, groups["student_id"], groups["file"]) == (pattern, student, filename)


@pytest.mark.parametrize("path", ["README.txt", "grades/2024/export.csv", "a b/c/d.ipynb"])
def test_names_of_no_known_lms_are_not_guessed(path):
    assert match_path(path) is None


@pytest.mark.parametrize("filename, expected", [
    ("01_scalar_derivatives.ipynb", ("01_scalar_derivatives", 0)),
    ("Copy of 01_scalar_derivatives.ipynb", ("01_scalar_derivatives", 0)),
    ("Copy of Copy of 01_scalar_derivatives (1).ipynb", ("01_scalar_derivatives", 0)),
    ("01_scalar_derivatives.ipynb のコピー", ("01_scalar_derivatives", 0)),
    ("「01_scalar_derivatives.ipynb」のコピー", ("01_scalar_derivatives", 0)),
    ("01_scalar_derivatives.ipynb의 사본", ("01_scalar_derivatives", 0)),
    ("사본 - 02_chain_rule.ipynb", ("02_chain_rule", 0)),
    ("02_chain_rule-2.ipynb", ("02_chain_rule", 2)),
    ("01_scalar_derivatives.ipynb.ipynb", ("01_scalar_derivatives", 0)),
    ("02_kim_minjun.ipynb", ("02_chain_rule", 0)),
    ("01_scalar_derivative.ipynb", ("01_scalar_derivatives", 0)),
    ("homework.ipynb", (None, 0)),
])
def test_notebook_names_from_colab_drive_and_lms(filename, expected):
    assert canonical_notebook(filename, KNOWN) == expected
