"""The build refuses a lesson that breaks a rule of CONTRIBUTING.md, naming the lesson file and the cell."""
from __future__ import annotations

import pytest

import coursebuild

from _build import ANSWER, TEST, answer_meta, code, good_cells, graded_meta, markdown, texts, write_lesson

CONFIG = coursebuild.load_config()


def refusal(path) -> str:
    with pytest.raises(coursebuild.LessonError) as info:
        coursebuild.build([path], CONFIG)
    return str(info.value)


def assert_names(message: str, cell_number: int, first_line: str) -> None:
    assert "01_tiny.md" in message, message
    assert f"cell #{cell_number} " in message, message
    assert first_line in message, message


def test_the_good_lesson_builds(tmp_path):
    outputs = coursebuild.build([write_lesson(tmp_path, *good_cells())], CONFIG)
    assert len(outputs) == 6


def test_markdown_cell_without_lang(tmp_path):
    path = write_lesson(tmp_path, markdown(None, "Orphan text"), *good_cells())
    message = refusal(path)
    assert_names(message, 1, "Orphan text")
    assert 'no "lang"' in message


def test_markdown_cell_with_unknown_lang(tmp_path):
    path = write_lesson(tmp_path, *good_cells(), texts("A", "B", "C"), markdown("jp", "Nihongo desu"))
    message = refusal(path)
    assert_names(message, 10, "Nihongo desu")
    assert "unknown \"lang\" 'jp'" in message


def test_code_cell_with_unknown_lang(tmp_path):
    path = write_lesson(tmp_path, *good_cells(), code("print('hallo')", lang="de"))
    assert_names(refusal(path), 7, "print('hallo')")


def test_text_missing_in_one_language(tmp_path):
    path = write_lesson(tmp_path, markdown("en", "Only English"), markdown("ja", "日本語だけ"), *good_cells())
    message = refusal(path)
    assert_names(message, 1, "Only English")
    assert "no ko version" in message


def test_duplicated_grade_id(tmp_path):
    second_answer = ANSWER.replace("double", "triple")
    second_test = TEST.replace("double", "triple")
    path = write_lesson(tmp_path, *good_cells(), code(second_answer, answer_meta("ex1_answer")),
                        code(second_test, graded_meta("ex2_test")))
    message = refusal(path)
    assert_names(message, 7, "def triple(x0):")
    assert "grade_id 'ex1_answer' is used twice" in message
    assert "cell #5" in message  # where it was first used


def test_answer_followed_by_another_answer(tmp_path):
    path = write_lesson(tmp_path, texts("E", "E", "E"), code(ANSWER, answer_meta("a1")),
                        code(ANSWER.replace("double", "triple"), answer_meta("a2")), code(TEST, graded_meta()))
    message = refusal(path)
    assert_names(message, 4, "def double(x0):")
    assert "not followed by a test cell" in message


def test_answer_at_the_end_without_test(tmp_path):
    path = write_lesson(tmp_path, texts("E", "E", "E"), code(ANSWER, answer_meta()))
    message = refusal(path)
    assert_names(message, 4, "def double(x0):")
    assert "not followed by a test cell" in message


def test_answer_followed_only_by_an_ungraded_cell(tmp_path):
    path = write_lesson(tmp_path, texts("E", "E", "E"), code(ANSWER, answer_meta()), code("double(2)"))
    assert "not followed by a test cell" in refusal(path)


def test_solution_marker_outside_a_solution_cell(tmp_path):
    path = write_lesson(tmp_path, *good_cells(), code("print(1)\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION"))
    message = refusal(path)
    assert_names(message, 7, "print(1)")
    assert "### BEGIN SOLUTION appears outside a cell with nbgrader solution: true" in message


def test_solution_marker_in_a_test_cell(tmp_path):
    path = write_lesson(tmp_path, texts("E", "E", "E"), code(ANSWER, answer_meta()),
                        code(TEST + "### BEGIN SOLUTION\n### END SOLUTION", graded_meta()))
    assert_names(refusal(path), 5, "gc.assert_close(gc.answer(double, 1.5), 3.0)")


def test_unclosed_solution_region(tmp_path):
    path = write_lesson(tmp_path, texts("E", "E", "E"),
                        code(ANSWER.replace("    ### END SOLUTION\n", ""), answer_meta()), code(TEST, graded_meta()))
    assert "never closed" in refusal(path)


def test_answer_cell_without_solution_region(tmp_path):
    path = write_lesson(tmp_path, texts("E", "E", "E"), code("def double(x0):\n    return 2 * x0", answer_meta()),
                        code(TEST, graded_meta()))
    message = refusal(path)
    assert_names(message, 4, "def double(x0):")
    assert "has no ### BEGIN SOLUTION" in message


def test_hidden_tests_outside_a_graded_cell(tmp_path):
    path = write_lesson(tmp_path, *good_cells(), code("x = 1\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS"))
    message = refusal(path)
    assert_names(message, 7, "x = 1")
    assert "BEGIN HIDDEN TESTS" in message


@pytest.mark.parametrize("meta, problem", [
    ({k: v for k, v in answer_meta().items() if k != "solution"}, "'solution' is a required property"),
    (answer_meta(point=1), "'point' was unexpected"),
    (answer_meta(schema_version=2), "Outdated schema version"),
    (answer_meta(grade_id="ex 1"), "does not match"),
    (graded_meta(points=-1), "minimum"),
    ({k: v for k, v in graded_meta().items() if k != "points"}, "does not have points"),
    (answer_meta(checksum="0" * 32), "computed by the build"),
])
def test_invalid_nbgrader_metadata(tmp_path, meta, problem):
    path = write_lesson(tmp_path, texts("E", "E", "E"), code("def f():\n    return 1", meta),
                        code(TEST, graded_meta("other_test")))
    message = refusal(path)
    assert_names(message, 4, "def f():")
    assert problem in message


def test_unknown_cell_metadata(tmp_path):
    path = write_lesson(tmp_path, *good_cells(), "```{code-cell} ipython3\n:lnag: en\n\nx = 1\n```\n")
    message = refusal(path)
    assert_names(message, 7, "x = 1")
    assert "'lnag'" in message


def test_display_formula_without_check_label(tmp_path):
    formula = "$$\ny = x^2\n$$"
    path = write_lesson(tmp_path, texts(f"Square:\n\n{formula}", f"二乗：\n\n{formula}\n<!-- check: sq -->",
                                        f"제곱:\n\n{formula}\n<!-- check: sq -->"), *good_cells())
    message = refusal(path)
    assert_names(message, 1, "Square:")
    assert "<!-- check: some-label -->" in message
    assert "cell #2" not in message


def test_missing_title_in_front_matter(tmp_path):
    from _build import FRONT_MATTER
    path = write_lesson(tmp_path, *good_cells(), front=FRONT_MATTER.replace("    ko: 작은 예\n", ""))
    message = refusal(path)
    assert "01_tiny.md" in message and "course.title.ko" in message


def test_graded_cell_missing_in_one_language(tmp_path):
    path = write_lesson(tmp_path, texts("E", "E", "E"), code(ANSWER, answer_meta()),
                        code(TEST, graded_meta(), lang="en"), code(TEST, graded_meta(), lang="ja"),
                        code("print('no test')", lang="ko"))
    message = refusal(path)
    assert "grade_id 'ex1_test' exists in en, ja but not in ko" in message
    assert "not followed by a test cell" in message  # the Korean notebook has no test for ex1


def test_every_broken_lesson_is_reported_at_once(tmp_path):
    first = write_lesson(tmp_path, markdown(None, "no lang one"), name="01_one.md")
    second = write_lesson(tmp_path, markdown("fr", "bonjour"), name="02_two.md")
    with pytest.raises(coursebuild.LessonError) as info:
        coursebuild.build([first, second], CONFIG)
    text = str(info.value)
    assert "01_one.md: cell #1" in text and "02_two.md: cell #1" in text
