"""The student-facing API: languages, answers, reports, the error explainer, the cost of a check."""
import subprocess
import sys

import pytest
import torch

import gradcoach as gc
from gradcoach import i18n
from gradcoach.explain import explain_key


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.delenv("GRADCOACH_LANG", raising=False)
    gc.set_language("en")
    yield
    gc.set_language("en")


def test_language_is_set_by_the_notebook_and_overridden_by_the_environment(monkeypatch):
    assert gc.set_language("ja") == "ja"
    assert i18n.t("not_answered", name="f") == i18n.catalogue("ja")["not_answered"].format(name="f")
    assert i18n.t("not_answered", name="f") != i18n.t("not_answered", lang="en", name="f")
    monkeypatch.setenv("GRADCOACH_LANG", "ko")
    assert gc.language() == "ko"
    monkeypatch.setenv("GRADCOACH_LANG", "xx")
    with pytest.warns(UserWarning):
        assert gc.language() == "ja"


def test_unknown_language_code_gets_a_clear_message():
    with pytest.raises(ValueError, match=r"'fr'.*en \(English\), ja \(日本語\), ko \(한국어\)"):
        gc.set_language("fr")


def test_unknown_language_code_is_answered_in_the_language_in_effect():
    gc.set_language("ja")
    try:
        with pytest.raises(ValueError, match="で指定された言語には対応していません"):
            gc.set_language("fr")
    finally:
        gc.set_language("en")


def test_language_falls_back_to_english():
    i18n._chosen = None
    assert gc.language() == "en"


def test_answer_turns_the_stub_into_not_answered_in_the_notebook_language():
    def exercise(x0):
        # YOUR CODE HERE
        raise NotImplementedError()

    for lang in gc.LANGUAGES:
        gc.set_language(lang)
        with pytest.raises(gc.NotAnswered) as info:
            gc.answer(exercise, 1.0)
        assert str(info.value) == i18n.t("not_answered", name="exercise")
        assert info.value.__cause__ is None and info.value.__suppress_context__


def test_answer_explains_an_autograd_error_raised_by_the_student():
    def exercise(x0):
        x = torch.tensor(x0, requires_grad=True)
        y = x ** 2
        y.backward()
        y.backward()
        return x

    with pytest.raises(AssertionError) as info:
        gc.answer(exercise, 1.0)
    assert "retain_graph=True" in str(info.value)


def test_answer_returning_none_is_reported():
    with pytest.raises(AssertionError, match="None"):
        gc.answer(lambda: None)


@pytest.mark.parametrize("make_error, key", [
    (lambda: [(y := (x := torch.tensor(1.0, requires_grad=True)) * x).backward(), y.backward()], "err_backward_twice"),
    (lambda: [(y := (x := torch.tensor(1.0, requires_grad=True)) * x), torch.autograd.grad(y, x),
              torch.autograd.grad(y, x)], "err_backward_twice"),
    (lambda: (torch.ones(2, requires_grad=True) * 2).backward(), "err_scalar_only"),
    (lambda: [(a := torch.ones(2, requires_grad=True)), (b := a.sigmoid()), b.mul_(2), b.sum().backward()],
     "err_inplace"),
    (lambda: torch.ones(2).sum().backward(), "err_no_grad_fn"),
    (lambda: torch.tensor(2, requires_grad=True), "err_int_requires_grad"),
])
def test_explainer_recognises_the_errors_of_these_lessons(make_error, key):
    with pytest.raises(RuntimeError) as info:
        make_error()
    assert gc.explain(info.value) == i18n.t(key)
    assert explain_key(str(info.value))[0] == key  # the message alone is enough
    before = i18n.language()
    try:
        for lang in gc.LANGUAGES:
            i18n.set_language(lang)
            assert gc.explain(info.value) == i18n.t(key, lang=lang)
    finally:
        i18n.set_language(before)


def test_explain_errors_reraises_by_default_and_can_swallow(capsys):
    with pytest.raises(RuntimeError):
        with gc.explain_errors():
            torch.ones(2, requires_grad=True).mul(2).backward()
    with gc.explain_errors(reraise=False):
        torch.ones(2, requires_grad=True).mul(2).backward()
    err = capsys.readouterr().err
    assert "scalar" in err and "RuntimeError" in err


def test_report_renders_as_html_and_text_in_every_language():
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    (x ** 2).sum().backward()
    for lang in gc.LANGUAGES:
        gc.set_language(lang)
        report = gc.check(x, lambda x: (x ** 2).sum(), lambda x: 2 * x, label="square")
        html = report._repr_html_()
        assert 'class="gradcoach-report gradcoach-pass"' in html and "<table" in html
        assert i18n.t("col_analytic") in html and i18n.t("col_analytic") in str(report)
    assert "square" in gc.checked_labels()


def test_failed_check_is_not_recorded_as_a_checked_label():
    x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    (x ** 2).backward()
    assert not gc.check(x, lambda x: x ** 2, lambda x: 3 * x, label="never-passes")
    assert "never-passes" not in gc.checked_labels()


def test_confirm_records_a_stated_value():
    assert gc.confirm("three-squared", torch.tensor(3.0) ** 2, 9.0)
    assert "three-squared" in gc.checked_labels()
    assert not gc.confirm("wrong", torch.tensor(18.0), 27.0)


def test_taught_finite_difference_matches_the_derivative():
    d = gc.finite_difference(lambda x: x ** 3, torch.tensor([1.0, 2.0]))
    assert d.dtype == torch.float64
    assert torch.allclose(d, torch.tensor([3.0, 12.0], dtype=torch.float64), rtol=1e-8)
    forward = gc.finite_difference(lambda x: x ** 3, 2.0, h=1e-3, central=False)
    assert abs(forward.item() - 12.0) > abs(gc.finite_difference(lambda x: x ** 3, 2.0, h=1e-3).item() - 12.0)


@pytest.mark.parametrize("n", [1, 16, 100, 10_000, 1_000_000])
def test_a_check_costs_a_handful_of_function_evaluations(n):
    calls = []

    def f(x):
        calls.append(1)
        return (torch.sin(x) * x).sum()

    x = torch.linspace(-2, 2, n, dtype=torch.float64, requires_grad=True)
    (torch.sin(x) * x).sum().backward()
    assert gc.check(x, f, lambda x: torch.cos(x) * x + torch.sin(x)).passed
    # with an analytic answer one probe checks it; the four of a diagnosis are drawn only on failure
    assert len(calls) <= (1 + 2 * n if n <= 16 else 3)


def test_import_pulls_in_neither_matplotlib_nor_ipython():
    # import time itself is reported by `make bench`, not asserted here
    modules = subprocess.run([sys.executable, "-c", "import gradcoach, sys; print('matplotlib' in sys.modules,"
                              " 'IPython' in sys.modules, 'torchviz' in sys.modules)"],
                             capture_output=True, text=True, check=True)
    assert modules.stdout.split() == ["False", "False", "False"]


def test_a_failed_assertion_carries_its_diagnosis_codes_for_the_class_report():
    import pytest
    import torch

    import gradcoach as gc

    x = torch.tensor(1.5, requires_grad=True)
    (x ** 2).backward()
    with pytest.raises(gc.GradcoachAssertionError) as info:
        gc.assert_grad(x, lambda x: x ** 2, expected=lambda x: -2 * x, got=x.grad, label="d(x**2)/dx")
    assert info.value.codes and all(isinstance(c, str) for c in info.value.codes)
    assert info.value.label == "d(x**2)/dx" and str(info.value).startswith(gc.t("assert_header", label="d(x**2)/dx"))


def test_a_check_without_a_label_says_what_was_checked_without_repeating_it():
    """Not "Gradient check: gradient" (round-7 ja/ko reviews): the title alone, a header without a label."""
    import torch

    import gradcoach as gc

    x = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    (x ** 2).backward()
    assert str(gc.check(x, lambda x: x ** 2, lambda x: 2 * x)).splitlines()[0] == gc.t("report_title")
    with pytest.raises(gc.GradcoachAssertionError) as info:
        gc.assert_grad(x, lambda x: x ** 2, expected=lambda x: -2 * x)
    assert info.value.label is None and str(info.value).splitlines()[0] == gc.t("assert_header_plain")


def test_a_broken_rule_names_its_rule_as_code():
    import pytest
    import torch

    import gradcoach as gc

    with pytest.raises(gc.GradcoachAssertionError) as info:
        gc.assert_dtype(torch.zeros(2, dtype=torch.float32), torch.float64, name="y")
    assert info.value.codes == ("rule_dtype",)


def test_a_leaf_of_the_wrong_dtype_is_told_to_be_created_in_it_not_converted():
    """.to(torch.float64) on a leaf that requires grad returns a non-leaf copy whose .grad stays None."""
    gc.set_language("en")
    with pytest.raises(gc.GradcoachAssertionError) as info:
        gc.assert_dtype(torch.zeros(2, requires_grad=True), torch.float64, name="x")
    assert info.value.codes == ("rule_dtype_leaf",)
    assert "requires_grad=True)`" in str(info.value) and "not a leaf" in str(info.value)
    with pytest.raises(gc.GradcoachAssertionError) as info:
        gc.assert_dtype(torch.zeros(2, requires_grad=True) * 2, torch.float64, name="y")
    assert info.value.codes == ("rule_dtype",)  # a computed result may be converted


def test_report_titles_use_the_languages_own_colon():
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    (x ** 2).sum().backward()
    try:
        for lang, title in (("en", "Gradient check: x²"), ("ja", "勾配のチェック：x²"), ("ko", "기울기 검사: x²")):
            gc.set_language(lang)
            report = gc.check(x, lambda x: (x ** 2).sum(), lambda x: 2 * x, label="x²")
            assert str(report).splitlines()[0] == title
    finally:
        gc.set_language("en")


def test_gc_answer_leaves_no_hooks_on_the_students_tensors():
    w = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    model = torch.nn.Linear(2, 1).double()

    def step(w, model):
        (model(w) ** 2).sum().backward()
        return w.grad

    gc.answer(step, w, model)
    for t in (w, *model.parameters()):
        assert not t._backward_hooks and not t._post_accumulate_grad_hooks


def test_report_footer_states_the_step_finite_differences_really_take():
    """At x = 5 the step is 5·STEP1, not STEP1: the footer gives the scaling, as lesson 01 teaches."""
    from gradcoach.finite_diff import STEP1, _steps

    x = torch.tensor([5.0, 0.25], dtype=torch.float64)
    assert _steps(x, STEP1).tolist() == [5 * STEP1, STEP1]
    xg = x.clone().requires_grad_()
    (xg ** 3).sum().backward()
    report = gc.check(xg, lambda t: (t ** 3).sum())
    footer = " ".join(report.footer)
    assert f"{STEP1:.1e}·max(1, |x|)" in footer


def test_the_footer_states_the_wider_tolerance_against_finite_differences_only_when_they_decide():
    gc.set_language("en")
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    (x ** 3).sum().backward()
    without = gc.check(x, lambda x: (x ** 3).sum()).footer[0]
    assert "the bounds are wider" in without and "rtol = 1e-05" in without
    assert "wider" not in gc.check(x, lambda x: (x ** 3).sum(), lambda x: 3 * x ** 2).footer[0]


def test_a_zero_reference_has_no_relative_error_in_the_report():
    """Against an expected 0 the relative error is undefined: "—", not nan (nor the absolute error)."""
    x = torch.tensor([0.0, 2.0], dtype=torch.float64, requires_grad=True)
    (x ** 3).sum().backward()
    text = str(gc.check(x, lambda t: (t ** 3).sum(), lambda t: 3 * t ** 2))
    rows = [line.split() for line in text.splitlines() if line.startswith("t[")]
    assert "nan" not in text
    assert rows[0][6] == "—" and rows[1][6] != "—"


def _header(report):
    return next(line for line in str(report).splitlines() if line.startswith(i18n.t("col_input")))


def test_a_check_of_grad_heads_its_column_dot_grad_not_autograd():
    """The column holds what backward() left in .grad: in lesson 04's `.data` example it is marked
    WRONG while the message says autograd, run again, agrees. Headed "autograd", the two contradict."""
    gc.set_language("en")
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    (3 * x).sum().backward()  # a gradient from another computation
    report = gc.check(x, lambda x: x.exp().sum(), lambda x: x.exp())
    header = _header(report).split()
    assert ".grad" in header and "autograd" not in header
    assert not report and "gradcoach has just run autograd on that function, and the result agrees" in " ".join(report.messages)


def test_second_derivative_and_formula_checks_do_not_call_their_values_a_gradient():
    gc.set_language("en")
    x = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    second = str(gc.check_second(x, lambda x: x ** 3, lambda x: 6 * x, got=torch.tensor(18.0, dtype=torch.float64)))
    formula = str(gc.check_formula(lambda x: x ** 3, lambda x: 3 * x ** 2, at=2.0))
    (x ** 3).backward()
    first = str(gc.check(x, lambda x: x ** 3, lambda x: 3 * x ** 2))
    assert "same values" in formula and "same gradient" not in second + formula
    assert "same gradient" in first


def test_values_handed_in_with_got_are_not_called_autograds_in_the_verdict():
    """Lesson 07 checks its own engine's gradient: the summary must not credit PyTorch's autograd."""
    gc.set_language("en")
    x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    summary = str(gc.check(x, lambda x: (x ** 3).sum(), lambda x: 3 * x ** 2, got=3 * x ** 2)).splitlines()[-1]
    assert summary.startswith("✔") and "handed in with got=" in summary and "autograd" not in summary


def test_values_handed_in_are_called_by_the_name_given_in_every_diagnosis():
    """Lesson 05 ex3 hands in hvp(f, z0, v): the student reads that name, not the argument's ``got``."""
    gc.set_language("en")
    z = torch.tensor([2.0, 1.0, -1.0], dtype=torch.float64)
    v = torch.tensor([1.0, -1.0, 2.0], dtype=torch.float64)
    lse = lambda z: torch.logsumexp(z, dim=0)
    s = torch.softmax(z, dim=0)
    right = s * v - s * (s @ v)
    for wrong in (s * v, 2 * right):  # gradient times v; a constant factor
        report = gc.check_second(z, lse, right, v=v, got=wrong, name="hvp(f, z0, v)")
        assert not report and "`hvp(f, z0, v)`" in str(report) and "`got`" not in str(report)
    assert gc.check_second(z, lse, right, v=v, got=right, name="hvp(f, z0, v)")


@pytest.mark.parametrize("bad", [dict(name="hvp"), dict(got=torch.ones(3), name=""), dict(got=torch.ones(3), name=3)])
def test_a_name_without_values_handed_in_or_not_a_string_is_a_usage_error(bad):
    z = torch.tensor([2.0, 1.0, -1.0], dtype=torch.float64, requires_grad=True)
    torch.logsumexp(z, dim=0).backward()
    gc.set_language("ja")
    try:
        with pytest.raises(ValueError, match="`name` は"):
            gc.check(z, lambda z: torch.logsumexp(z, dim=0), **bad)
    finally:
        gc.set_language("en")


def test_a_value_check_heads_its_reference_column_expected_not_analytic():
    """gc.confirm compares with whatever the lesson computed (a loop, torch.func, an optimizer step)."""
    for lang in gc.LANGUAGES:
        gc.set_language(lang)
        header = _header(gc.confirm("v", torch.tensor([1.0]), torch.tensor([1.0])))
        assert i18n.t("col_expected") in header and i18n.t("col_analytic") not in header
    gc.set_language("en")


def test_a_value_named_in_words_is_quoted_without_code_marks_and_a_matrix_row_by_row():
    gc.set_language("en")
    words = gc.confirm("number of tensors saved for backward", torch.tensor(1.0), torch.tensor(0.0))
    assert words.messages == ["number of tensors saved for backward is 1, but it should be 0."]
    code = gc.confirm("jacobian_rows(f, x0)", torch.tensor([[0.0, 1, 6], [0, 1, 6]]), torch.tensor([[2.0, 1, 0], [0, 1, 6]]))
    assert code.messages == ["`jacobian_rows(f, x0)` is [[0, 1, 6], [0, 1, 6]], but it should be [[2, 1, 0], [0, 1, 6]]."]


def test_a_value_asked_for_exactly_and_off_by_an_estimates_error_names_the_estimate_not_a_wrong_value():
    """A Newton step from a finite-difference f'' is right to 1e-11: "not the right value" would
    send the student looking for a wrong formula."""
    gc.set_language("en")
    near = torch.tensor(0.75 + 1e-11, dtype=torch.float64)
    report = gc.confirm("newton_step(f, 0.5)", near, 0.75, rtol=1e-13, atol=1e-14)
    assert report.codes == ["near_exact", "near_exact_value"]
    assert "central difference" in report.messages[0] and "0.75000000001" in report.messages[1]
    assert gc.confirm("x", near, 0.75).passed                        # the default tolerance allows it
    far = gc.confirm("x", torch.tensor(0.76, dtype=torch.float64), 0.75, rtol=1e-13, atol=1e-14)
    assert far.codes == ["value_mismatch"]                          # beyond an estimate's error: wrong


def test_passed_says_so_in_the_notebooks_language_and_renders_green():
    for lang in gc.LANGUAGES:
        gc.set_language(lang)
        shown = gc.passed()
        assert str(shown) == "✔ " + i18n.t("tests_passed")
        assert 'class="gradcoach-passed"' in shown._repr_html_() and i18n.t("tests_passed") in shown._repr_html_()
    gc.set_language("en")
    assert "hidden tests" in str(gc.passed())


class _Stubbed(torch.autograd.Function):
    @staticmethod
    def forward(x):
        raise NotImplementedError()

    @staticmethod
    def setup_context(ctx, inputs, output):
        pass

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output


def test_a_stub_in_a_method_the_answer_calls_is_named_where_it_is():
    """Lesson 06 ex4: log_sigmoid only calls LogSigmoid.apply; the stub is in forward."""
    def log_sigmoid(x):
        return _Stubbed.apply(x)

    gc.set_language("en")
    with pytest.raises(gc.NotAnswered) as info:
        gc.answer(log_sigmoid, torch.ones(2, requires_grad=True))
    assert "`_Stubbed.forward`" in str(info.value)


def test_a_parameter_accumulated_by_training_steps_is_told_to_use_the_optimizer():
    """The test's name for a parameter (weight2) is not a variable of the student's."""
    gc.set_language("en")
    layer = torch.nn.Linear(3, 1, bias=False).double()
    x = torch.randn(4, 3, dtype=torch.float64)
    for _ in range(2):
        (layer(x) ** 2).mean().backward()
    report = gc.check(layer.weight, lambda w: ((x @ w.T) ** 2).mean())
    assert not report.passed and "optimizer.zero_grad()" in report.messages[0]
    assert "w.grad = None" not in report.messages[0]


def test_a_name_in_words_takes_japanese_particles_without_a_space():
    gc.set_language("ja")
    report = gc.confirm("n", 2, 3, name="保存されたテンソルの数")
    assert "保存されたテンソルの数は" in report.messages[0] or "保存されたテンソルの数の" in report.messages[0]
    assert "保存されたテンソルの数 " not in report.messages[0]
    gc.set_language("en")


def test_a_parameter_that_should_be_frozen_is_told_to_use_requires_grad_false():
    """Lesson 08 ex3: leaving a layer out of the optimizer does not freeze it."""
    gc.set_language("en")
    layer = torch.nn.Linear(2, 1)
    layer(torch.ones(1, 2)).sum().backward()
    with pytest.raises(gc.GradcoachAssertionError) as info:
        gc.assert_no_grad(layer.weight, name="model[0].weight")
    assert "model[0].weight.requires_grad_(False)" in str(info.value)
    plain = torch.ones(2, requires_grad=True)
    (plain * 2).sum().backward()
    with pytest.raises(gc.GradcoachAssertionError) as info:
        gc.assert_no_grad(plain, name="w")
    assert "requires_grad_(False)" not in str(info.value)


def test_near_exact_lists_the_float32_detour_first_when_every_value_is_a_float32_number():
    """A float32 result cast back to float64 holds float32 numbers exactly; an estimate does not."""
    gc.set_language("en")
    exact = torch.tensor([0.1, -0.3, 0.7], dtype=torch.float64)
    detour = exact.float().double()
    first = gc.confirm("hv", detour, exact, rtol=1e-12, atol=1e-13).messages[0].split("\n1. ", 1)[1]
    assert first.startswith(i18n.t("cause_float32_detour")[:30])
    estimate = gc.confirm("hv", exact * (1 + 3e-11), exact, rtol=1e-12, atol=1e-13).messages[0].split("\n1. ", 1)[1]
    assert estimate.startswith(i18n.t("cause_estimate")[:30])
