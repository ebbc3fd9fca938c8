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


def test_a_markdown_cell_without_lang_is_shared_by_every_language(tmp_path):
    figure = "$$\ny = x^2\n$$\n<!-- check: sq -->"
    path = write_lesson(tmp_path, markdown(None, figure), *good_cells())
    outputs = coursebuild.build([path], CONFIG)
    for lang in coursebuild.LANGUAGES:
        nb = outputs[coursebuild.notebook_path("solutions", lang, "01_tiny")].decode()
        assert "y = x^2" in nb, lang


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


@pytest.mark.parametrize("where", ["missing", "inside the hidden tests"])
def test_test_cell_whose_visible_part_does_not_end_with_gc_passed(tmp_path, where):
    """Its checks raise only on failure: without gc.passed() last, a passing cell shows nothing."""
    test = TEST.replace("gc.passed()\n", "")
    if where == "inside the hidden tests":
        test = test.replace("### END HIDDEN TESTS", "gc.passed()\n### END HIDDEN TESTS")
    path = write_lesson(tmp_path, texts("E", "E", "E"), code(ANSWER, answer_meta()), code(test, graded_meta()))
    message = refusal(path)
    assert_names(message, 5, "gc.assert_close(gc.answer(double, 1.5), 3.0)")
    assert "must end with gc.passed()" in message


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
    first = write_lesson(tmp_path, markdown("de", "ein Text"), name="01_one.md")
    second = write_lesson(tmp_path, markdown("fr", "bonjour"), name="02_two.md")
    with pytest.raises(coursebuild.LessonError) as info:
        coursebuild.build([first, second], CONFIG)
    text = str(info.value)
    assert "01_one.md: cell #1" in text and "02_two.md: cell #1" in text


def test_a_heading_missing_in_one_language(tmp_path):
    path = write_lesson(tmp_path, texts("## 1. Start\n\nText.", "## 1. 始め\n\n本文。", "본문."), *good_cells())
    message = refusal(path)
    assert_names(message, 3, "본문.")
    assert "ko: the headings (none) differ from the en headings (## 1)" in message


def test_headings_of_another_level_or_number(tmp_path):
    path = write_lesson(tmp_path, texts("## 2. Two", "### 2. 二", "## 3. 셋"), *good_cells())
    message = refusal(path)
    assert "cell #2 " in message and "ja: the headings (### 2)" in message
    assert "cell #3 " in message and "ko: the headings (## 3)" in message


def test_a_display_formula_that_differs_in_one_language(tmp_path):
    def formula(tex):
        return f"$$\n{tex}\n$$\n<!-- check: sq -->"
    path = write_lesson(tmp_path, texts(formula(r"y = x^2 \quad \text{at } x = 2"),
                                        formula(r"y = x^2 \quad \text{ただし } x = 2"),
                                        formula(r"y = x^3 \quad \text{단 } x = 2")), *good_cells())
    message = refusal(path)
    assert "ja:" not in message  # only the words inside \text{…} differ
    assert_names(message, 3, "$$")
    assert "ko: display formulas differ from the en ones" in message and "y=x^3" in message


def test_inline_code_links_and_images_must_match_in_any_order(tmp_path):
    en = "Use `x.grad` and `backward()`, see [the docs](https://pytorch.org) and ![g](img/g.png)."
    ja = "[資料](https://pytorch.org) と ![図](img/g.png) を見て、`backward()` と `x.grad` を使います。"
    ko = "`x.grad`를 쓰세요. [문서](https://example.org)"
    path = write_lesson(tmp_path, texts(en, ja, ko), *good_cells())
    message = refusal(path)
    assert "cell #2 " not in message
    assert_names(message, 3, "`x.grad`를 쓰세요.")
    assert "ko: the inline code spans differ from the en ones: ko lacks 'backward()'" in message
    assert "ko: the links differ" in message and "'https://example.org'" in message
    assert "ko: the images differ from the en ones: ko lacks 'img/g.png'" in message


def test_code_in_fences_and_math_is_not_an_inline_span(tmp_path):
    fence = "```python\nx = 1  # `not a span`\n```"
    path = write_lesson(tmp_path, texts(f"Code:\n\n{fence}", f"コード：\n\n{fence.replace('1', '2')}",
                                        "코드:"), *good_cells())
    coursebuild.build([path], CONFIG)


@pytest.mark.parametrize("en, ja, ko, bad", [
    ("As section 2 shows.", "第 1 節のとおり。", "1절처럼.", "en: 'section 2' refers to section 2"),
    ("As section 1 shows.", "第 3 節のとおり。", "1절처럼.", "ja: '第 3 節' refers to section 3"),
    ("As section 1 shows.", "第 1 節のとおり。", "4절처럼.", "ko: '4절' refers to section 4"),
])
def test_a_numbered_reference_to_a_missing_section(tmp_path, en, ja, ko, bad):
    path = write_lesson(tmp_path, texts("## 1. One", "## 1. 一", "## 1. 하나"), texts(en, ja, ko), *good_cells())
    message = refusal(path)
    assert bad in message and "has no heading numbered" in message
    assert message.count("refers to") == 1


def test_a_reference_to_a_section_of_another_lesson(tmp_path):
    write_lesson(tmp_path, texts("## 1. One\n\n## 2. Two", "## 1. 一\n\n## 2. 二", "## 1. 하나\n\n## 2. 둘"),
                 name="02_other.md")
    good = write_lesson(tmp_path, texts("See lesson 02, section 2.", "レッスン 02 の第 2 節を参照。",
                                        "02강의 2절을 보세요."), *good_cells(), name="03_ok.md")
    coursebuild.build([good], CONFIG)  # there is no section 2 in this lesson, but lesson 02 has one
    bad = write_lesson(tmp_path, texts("See lesson 02, section 5.", "レッスン 09 の第 1 節を参照。",
                                       "절댓값은 02강의 2절을 보세요."), *good_cells(), name="04_bad.md")
    message = refusal(bad)
    assert "en: 'lesson 02, section 5' refers to section 5, but lesson 02 has no heading numbered 5" in message
    assert "ja: 'レッスン 09 の第 1 節' refers to lesson 09, which does not exist" in message
    assert "ko:" not in message


def front_with_strings(entries: str) -> str:
    from _build import FRONT_MATTER
    return FRONT_MATTER.replace("    ko: 작은 예\n", "    ko: 작은 예\n  strings:\n" + entries)


LABEL = "    label:\n      en: without reset\n      ja: リセットしない場合\n      ko: 초기화하지 않은 경우\n"


def test_a_string_of_a_shared_code_cell_is_written_in_each_notebook_language(tmp_path):
    path = write_lesson(tmp_path, *good_cells(), code('print("{{t:label}}:", 1)'), front=front_with_strings(LABEL))
    outputs = coursebuild.build([path], CONFIG)
    for lang, text in (("en", "without reset"), ("ja", "リセットしない場合"), ("ko", "초기화하지 않은 경우")):
        for form in coursebuild.FORMS:
            nb = outputs[coursebuild.notebook_path(form, lang, "01_tiny")].decode()
            assert f'print(\\"{text}:\\", 1)' in nb, (lang, form)
            assert "{{t:" not in nb


def test_an_unknown_string_key(tmp_path):
    path = write_lesson(tmp_path, *good_cells(), code('print("{{t:lable}}")'), front=front_with_strings(LABEL))
    message = refusal(path)
    assert_names(message, 7, 'print("{{t:lable}}")')
    assert "{{t:lable}} has no entry in the front matter's course.strings" in message
    assert "course.strings.label is never used" in message


@pytest.mark.parametrize("entry, problem", [
    ("    label:\n      en: a\n      ja: b\n", "must give exactly en, ja and ko"),
    ("    label:\n      en: 'say \"hi\"'\n      ja: b\n      ko: c\n", "en: with the course.strings texts put in"),
    ("    label:\n      en: 'a {{b}}'\n      ja: b\n      ko: c\n", "must be one line"),
    ("    Label:\n      en: a\n      ja: b\n      ko: c\n", "must be lower-case"),
])
def test_a_broken_string_table(tmp_path, entry, problem):
    path = write_lesson(tmp_path, *good_cells(), code('print("{{t:label}}")'), front=front_with_strings(entry))
    assert problem in refusal(path)


def test_string_markers_belong_in_code_cells(tmp_path):
    path = write_lesson(tmp_path, texts("{{t:label}}", "x", "y"), *good_cells(), front=front_with_strings(LABEL))
    assert "{{t:…}} is for code cells" in refusal(path)


COMMENT = "    cmt_double:\n      en: twice the input\n      ja: 入力の 2 倍\n      ko: 입력의 두 배\n"


@pytest.mark.parametrize("source, line, comment", [
    ("y = 2 * x  # twice the input", 1, "# twice the input"),
    ("x = 1\n# Double it.\ny = 2 * x", 2, "# Double it."),
    ("y = 2 * x  # {{t:cmt_double}}, then more", 1, "# {{t:cmt_double}}, then more"),
    ("%time y = 2\ny = 2 * x  # twice the input", 2, "# twice the input"),
])
def test_an_english_comment_in_a_shared_code_cell(tmp_path, source, line, comment):
    path = write_lesson(tmp_path, *good_cells(), code(f"x = 1.5\n{source}\nprint(y)  # {{{{t:cmt_double}}}}"),
                        front=front_with_strings(COMMENT))
    message = refusal(path)
    assert_names(message, 7, "x = 1.5")
    assert f"line {line + 1} has the comment {comment!r}" in message
    assert "ja and ko notebooks would show in English" in message
    assert message.count("has the comment") == 1, message  # the {{t:…}} comment at the end is fine


def test_an_english_comment_in_the_solution_is_refused_too(tmp_path):
    answer = ANSWER.replace("return 2 * x0", "return 2 * x0  # twice the input")
    path = write_lesson(tmp_path, texts("E", "E", "E"), code(answer, answer_meta()), code(TEST, graded_meta()))
    message = refusal(path)
    assert_names(message, 4, "def double(x0):")
    assert "'# twice the input'" in message


@pytest.mark.parametrize("source", [
    "y = 2 * x  # {{t:cmt_double}}",                       # the marker: each notebook gets its language
    "# {{t:cmt_double}}\ny = 2 * x",
    "y = 2 * x  # (1, 2) -> 2.0, 4.0",                      # no words
    "y = 2 * x  # x",                                       # one letter: a name
    "import os  # noqa: F401\ny = 2 * x  # type: ignore",   # tool pragmas
    "# fmt: off\ny = 2 * x\n# fmt: on",
    "y = '# a string, not a comment'",
])
def test_comments_a_shared_code_cell_may_have(tmp_path, source):
    path = write_lesson(tmp_path, *good_cells(), code(f"x = 1.5\n{source}\nprint(y)  # {{{{t:cmt_double}}}}"),
                        front=front_with_strings(COMMENT))
    outputs = coursebuild.build([path], CONFIG)
    ja = outputs[coursebuild.notebook_path("notebooks", "ja", "01_tiny")].decode()
    assert "# 入力の 2 倍" in ja and "{{t:" not in ja


def test_english_comments_in_hidden_tests_and_in_cells_with_lang_are_allowed(tmp_path):
    test = TEST.replace("### BEGIN HIDDEN TESTS\n", "### BEGIN HIDDEN TESTS\n# a negative input, for the instructor\n")
    answer = ANSWER.replace("    ### BEGIN SOLUTION\n", "    # YOUR CODE HERE\n    ### BEGIN SOLUTION\n")
    path = write_lesson(tmp_path, texts("E", "E", "E"), code(answer, answer_meta()), code(test, graded_meta()),
                        code("y = 2  # English for the English notebook", lang="en"),
                        code("y = 2  # 日本語のノートブックには日本語", lang="ja"),
                        code("y = 2  # 한국어 노트북에는 한국어", lang="ko"))
    outputs = coursebuild.build([path], CONFIG)
    assert "a negative input" in outputs[coursebuild.notebook_path("solutions", "ja", "01_tiny")].decode()
