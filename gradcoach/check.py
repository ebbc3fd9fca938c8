"""The checks: a student's gradient against the analytic answer and finite differences."""
from __future__ import annotations

import inspect
import math
import re
import warnings

import torch

from . import compare
from ._safe import (
    NotGenuine,
    describe,
    grad_of,
    is_tensor,
    np,  # a snapshot of NumPy's namespace, immune to later monkeypatching
    tensor_to_f64,
    value_to_f64,
)
from .diagnose import (
    LOW_PRECISION,
    NEAR_EXACT_RTOL,
    Comparison,
    _from_writes,
    _grad_none,
    diagnose,
    fd_disagrees,
    function_name,
    near_exact_causes,
)
from .evaluate import float64_function, usage_error
from .evidence import grad_writes_of_value, last_answer
from .finite_diff import DIRECTIONS, STEP1, STEP2, first_order, second_order
from .i18n import joined, t
from .report import Block, Report, fail, fmt

_checked: set[str] = set()


class GradcoachAssertionError(AssertionError):
    """A failed graded check; its text is the localized diagnosis the student reads. ``codes`` name
    the diagnoses (the keys of the message catalogue) for machines: the grader's class report counts
    them. They never change the text."""

    def __init__(self, message: str = "", *, codes=(), label: str | None = None):
        super().__init__(message)
        self.codes: tuple[str, ...] = tuple(codes)
        self.label = label


def checked_labels() -> set[str]:
    """Labels of the checks that passed in this session (lessons label each stated formula)."""
    return set(_checked)


# -- helpers ---------------------------------------------------------------------------------

def _as_tuple(obj) -> tuple:
    return tuple(obj) if type(obj) in (tuple, list) else (obj,)


def _names(f, n: int) -> list[str]:
    try:
        params = [p.name for p in inspect.signature(f).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    if len(params) >= n:
        return params[:n]
    return ["x"] if n == 1 else [f"x{i}" for i in range(n)]


def _call(fn, bases: list[torch.Tensor]):
    return fn(*[b.clone() for b in bases])


def _student_f64(report: Report, name: str, value):
    """float64 array of a student's value, or None after recording why it was refused."""
    try:
        return value_to_f64(value)
    except NotGenuine as exc:
        if exc.dtype is not None:
            fail(report, "not_float", name=name, dtype=exc.dtype)
        else:
            fail(report, "not_tensor", name=name, kind=exc.kind)
        return None


def _dtype_of(values, inputs):
    for v in values:
        if is_tensor(v):
            return v.dtype
    return torch.float64 if not inputs else inputs[0].dtype


def _expected_values(expected, bases, n):
    """The analytic answer per input (callables are called on float64 copies of the inputs)."""
    if expected is None:
        return None
    if callable(expected):
        value = float64_function(expected, bases, several=n > 1)[1]
        values = _as_tuple(value) if n > 1 else (value,)
    else:
        values = _as_tuple(expected) if n > 1 else (expected,)
    if len(values) != n:
        raise usage_error("usage_answer_count", n=n, got=len(values))
    out = []
    for v, b in zip(values, bases, strict=True):
        if callable(v):
            v = _call(v, bases)
        try:
            arr = value_to_f64(v)
        except NotGenuine:
            raise usage_error("usage_expected_kind", kind=describe(v)) from None
        if arr.size == 1 and b.numel() != 1:
            arr = np.full(tuple(b.shape), float(arr.reshape(-1)[0]))
        elif arr.size != b.numel():
            raise usage_error("usage_expected_shape", got=tuple(arr.shape), want=tuple(b.shape))
        out.append(arr)
    return out


def tolerance(value, name: str):
    """A user's atol/rtol: None, or a non-negative finite number (else a usage error)."""
    if value is None:
        return None
    if type(value) in (int, float) and math.isfinite(value) and value >= 0:
        return float(value)
    raise usage_error("usage_tolerance", name=name, value=repr(value))


# -- the engine --------------------------------------------------------------------------------

def _gradient_check(kind, inputs, f, expected, *, got, v, atol, rtol, label, reveal, first=None, got_name=None):
    if not callable(f):
        raise usage_error("usage_not_callable", name="f", kind=describe(f))
    atol, rtol = tolerance(atol, "atol"), tolerance(rtol, "rtol")
    if expected is not None and not callable(expected) and type(expected) in (list, tuple) and len(_as_tuple(inputs)) == 1:
        expected = _numbers(expected, "expected")  # a list of numbers for one vector input
    if v is not None and type(v) in (list, tuple):
        v = _numbers(v, "v")
    inputs = _as_tuple(inputs)
    names = _names(f, len(inputs))
    if got_name is not None and (got is None or len(inputs) != 1 or type(got_name) is not str or not got_name):
        raise usage_error("usage_got_name")
    report = Report(kind, label or "", False, reveal=reveal)  # no label: the title says what was checked
    if got is not None:  # a gradient handed in, not read from .grad: not necessarily autograd's
        report.got_header, report.handed_in = "col_yours", True
    for name, x in zip(names, inputs, strict=True):
        if not is_tensor(x):
            return fail(report, "not_tensor", name=name, kind=describe(x))
        if not x.is_floating_point():
            return fail(report, "not_float", name=name, dtype=str(x.dtype))

    if got is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # reading .grad of a non-leaf warns; we explain instead
            gots = [grad_of(x) for x in inputs]
        for name, x, g in zip(names, inputs, gots, strict=True):
            if g is None:
                return _grad_none(report, name, x, f, inputs)
        got_names = [f"{n}.grad" for n in names]
    else:
        gots = list(_as_tuple(got)) if len(inputs) > 1 else [got]
        if len(gots) != len(inputs):
            raise usage_error("usage_got_count", n=len(inputs), got=len(gots))
        got_names = [got_name] if got_name else [f"∂f/∂{n}" for n in names]
    got_arrays = [_student_f64(report, gn, g) for gn, g in zip(got_names, gots, strict=True)]
    if any(a is None for a in got_arrays):
        return report

    bases = [torch.from_numpy(tensor_to_f64(x)) for x in inputs]
    points = [b.numpy() for b in bases]
    f, out = float64_function(f, bases)
    try:
        out_arr = value_to_f64(out)
    except NotGenuine:
        raise usage_error("usage_f_returns", kind=describe(out)) from None

    if kind == "second":
        if out_arr.size != 1:
            raise usage_error("usage_second_scalar", shape=tuple(out_arr.shape))
        k = _index_of(first, inputs, names)
        w = np.ones(tuple(bases[k].shape)) if v is None else value_to_f64(v).reshape(tuple(bases[k].shape))
        fd = second_order(f, bases, k, w)
        got_names = [got_name] if got_name else [
            f"{n}.grad" if got is None else _second_name(names, k, n, v is not None) for n in names]
        varr = None
    else:
        if v is None and out_arr.size != 1:
            return fail(report, "output_not_scalar", shape=tuple(out_arr.shape))
        varr = None if v is None else value_to_f64(v)
        if varr is not None and varr.size != out_arr.size:
            raise usage_error("usage_v_size", got=varr.size, shape=tuple(out_arr.shape), n=out_arr.size)

    if kind == "formula":  # the student's formula is under test; autograd (ours) is the reference
        formula = _student_formula(report, expected, bases, len(inputs), names)
        if formula is None:
            return report
        got_arrays, exp_arrays = formula, got_arrays
        got_names = [f"{function_name(expected, 'formula')}({n})" for n in names]
        report.got_header, report.ref_header = "col_yours", "col_autograd"
    else:
        exp_arrays = _expected_values(expected, bases, len(inputs))
    if kind != "second":
        # with a reference per element the verdict needs no probe; one checks the reference itself,
        # and all of them are drawn only if a diagnosis needs them (see below)
        fd = first_order(f, bases, varr, directions=1 if exp_arrays is not None else DIRECTIONS)

    for name, gn, g, b in zip(names, got_names, got_arrays, bases, strict=True):
        if g.shape != tuple(b.shape) and not (g.size == 1 and b.numel() == 1):
            message = t("wrong_shape", name=gn, input=name, got_shape=tuple(g.shape), want_shape=tuple(b.shape))
            if g.size == out_arr.size * b.numel() and out_arr.size > 1:
                message = joined(message, t("hint_jacobian"))
            elif g.size == 1:
                message = joined(message, t("hint_scalar", input=name))
            report.codes.append("wrong_shape")
            report.messages.append(message)
            return report

    got_arrays = [g.reshape(tuple(b.shape)) for g, b in zip(got_arrays, bases, strict=True)]
    dtype = _dtype_of(gots, inputs) if kind != "formula" else torch.float64
    s_atol, s_rtol = compare.tolerances(dtype, atol, rtol)
    order = 2 if kind == "second" else 1
    fd_atol = 10 * fd.roundoff + 1e-10
    fd_rtol = compare.FD_RTOL[order]
    widened = t("tolerance_fd", atol=s_atol + fd_atol, rtol=s_rtol + fd_rtol) if exp_arrays is None else ""
    line = "tolerance_line_formula" if kind == "formula" else "tolerance_line"
    report.footer.append(t(line, atol=s_atol, rtol=s_rtol, dtype=str(dtype).replace("torch.", ""),
                           step=STEP1 if order == 1 else STEP2, fd=widened))

    blocks, a_ok, b_ok, c_ok = [], [], [], []
    for i, (name, g, _b) in enumerate(zip(names, got_arrays, bases, strict=True)):
        e = exp_arrays[i] if exp_arrays is not None else None
        d = fd.values[i] if fd.elementwise else None
        ref = e if e is not None else (d if d is not None else g)
        block = Block(name, points[i], g, e, d)
        with np.errstate(divide="ignore", invalid="ignore"):
            block.abs_err = np.abs(g - ref)
            block.rel_err = np.where(np.abs(ref) > 0, block.abs_err / np.abs(ref), np.nan)  # none against 0
        block.decided_by_rtol = s_rtol * np.abs(ref) > s_atol
        if e is not None:
            a = compare.close(g, e, s_atol, s_rtol)
            a_ok.append(a)
            block.ok = a
        if d is not None:
            b_el = compare.close(g, d, s_atol + fd_atol, s_rtol + fd_rtol)
            b_ok.append(b_el)
            if e is not None:
                c_ok.append(compare.close(e, d, fd_atol, fd_rtol))
            if block.ok is None:
                block.ok = b_el
        blocks.append(block)  # ok stays None without a reference per element (large, no analytic)
    report.blocks = blocks

    if fd.elementwise:
        B = bool(all(x.all() for x in b_ok))
        C = bool(all(x.all() for x in c_ok)) if c_ok else None
    else:
        B, C = _directional(report, fd, got_arrays, exp_arrays, s_atol, s_rtol, fd_atol, fd_rtol)
    A = all(x.all() for x in a_ok) if exp_arrays is not None else None
    report.passed = bool(A) if A is not None else bool(B)

    if report.passed:
        if A and not B and C is False:
            report.notes.append(fd_disagrees(fd, blocks, names, points))
        if label:
            _checked.add(label)
        return report

    if not fd.elementwise and len(fd.estimates) < DIRECTIONS:  # a diagnosis weighs every probe
        fd = first_order(f, bases, varr)
        fd_atol = 10 * fd.roundoff + 1e-10
        B, C = _directional(report, fd, got_arrays, exp_arrays, s_atol, s_rtol, fd_atol, fd_rtol)
        del report.footer[-2]  # the one-probe line, replaced by the line of all of them
    diagnose(Comparison(report, kind, names, points, blocks, got_names, exp_arrays, fd, B, C, s_atol, f, bases,
                        varr, out_arr, reveal, from_grad=got is None, inputs=inputs, dtype=dtype,
                        first=_index_of(first, inputs, names) if kind == "second" else None,
                        w=w if kind == "second" else None, hvp=kind == "second" and v is not None,
                        formula=expected if kind == "formula" and callable(expected) else None, rtol=s_rtol))
    report.passed = False  # whatever a diagnosis ran, the verdict above stands
    return report


def _numbers(values, name):
    """A list of plain numbers a student typed, as a float64 tensor."""
    if not all(type(x) in (int, float) for x in values):
        raise usage_error("usage_numbers", name=name)
    return torch.tensor([float(x) for x in values], dtype=torch.float64)


def _index_of(first, inputs, names) -> int:
    if first is None:
        return 0
    if type(first) is int and 0 <= first < len(inputs):
        return first
    if type(first) is str and first in names:
        return names.index(first)
    for i, x in enumerate(inputs):
        if x is first:
            return i
    raise usage_error("usage_first", names=", ".join(names), last=len(inputs) - 1)


def _student_formula(report, formula, bases, n, names):
    """The student's analytic formula per input as float64 arrays, or None (reason recorded)."""
    value = _call(formula, bases) if callable(formula) else formula
    values = _as_tuple(value) if n > 1 else (value,)
    if len(values) != n:
        if type(value) in (tuple, list):
            fail(report, "formula_count", n=n, got=len(values), kind=describe(value))
        else:
            fail(report, "formula_count_single", n=n, kind=describe(value))
        return None
    out, shown = [], function_name(formula, "formula")
    for name, v, b in zip(names, values, bases, strict=True):
        arr = _student_f64(report, f"{shown}({name})", v)
        if arr is None:
            return None
        if arr.size == 1 and b.numel() != 1:
            if is_tensor(v):  # a tensor reduced to one number (.sum() of the derivatives), not a constant
                fail(report, "wrong_shape", name=f"{shown}({name})", input=name, got_shape=tuple(v.shape),
                     want_shape=tuple(b.shape))
                fail(report, "hint_scalar", input=name)
                return None
            arr = np.full(tuple(b.shape), float(arr.reshape(-1)[0]))  # a plain number: the same everywhere
        out.append(arr)
    return out


#: a probe accepts |uᵀδ| up to this many standard deviations of what tolerated errors can give
PROBE_Z = 4.0
#: on a failed probe the step is divided by these factors in turn: a kink (relu, abs) within one
#: step of some element spoils an estimate, and a million relu inputs put ~20 elements there at the
#: first step, ~0.3 at the second, ~0.005 at the third; a wrong gradient fails all three
REFINE = (64.0, 4096.0)


def _second_name(names, k, n, times_v):
    """What a handed-in second derivative is called: ∂²f/∂x∂w; times a vector v, the argument itself
    (``got``: a message saying "`H·v` is H·1, not H·v" would contradict itself)."""
    if not times_v:
        return f"∂²f/∂{names[k]}∂{n}"
    return "got" if len(names) == 1 else f"∂(∂f/∂{names[k]}·v)/∂{n}"


def _directional(report, fd, gots, exps, s_atol, s_rtol, fd_atol, fd_rtol):
    """Joint uᵀ·gradient comparisons along the random directions (large inputs).

    A gradient within its elementwise tolerance tolᵢ = atol + rtol·|refᵢ| gives, for a Gaussian u,
    a normal uᵀδ with standard deviation ≤ ‖tol‖₂; it is accepted within PROBE_Z·‖tol‖₂ plus the
    finite difference's own error. The bound grows like √n, not n, so one wrong element among a
    million is still seen (finite_diff's docstring gives the probability).
    """
    ref = exps if exps is not None else gots
    sigma = math.sqrt(sum(float(np.sum((s_atol + s_rtol * np.abs(r)) ** 2)) for r in ref))
    B = C = True
    shown, shown_margin = None, -1.0
    for k, (u, est) in enumerate(zip(fd.directions, fd.estimates, strict=True)):
        ug = sum(float(np.dot(ui.reshape(-1), g.reshape(-1))) for ui, g in zip(u, gots, strict=True))
        ue = (sum(float(np.dot(ui.reshape(-1), e.reshape(-1))) for ui, e in zip(u, exps, strict=True))
              if exps is not None else None)
        spread = math.sqrt(sum(float(np.sum((ui * r) ** 2)) for ui, r in zip(u, ref, strict=True)))

        def agrees(value, estimate, roundoff_tol, own, spread=spread):
            return abs(value - estimate) <= own + roundoff_tol + fd_rtol * (abs(estimate) + spread)

        ok_b = agrees(ug, est, fd_atol, PROBE_Z * sigma)
        ok_c = ue is None or agrees(ue, est, fd_atol, 0.0)
        for factor in REFINE if fd.refine is not None else ():
            if ok_b and ok_c:
                break
            est2, roundoff2 = fd.refine(k, factor)
            if agrees(ug, est2, 10 * roundoff2, PROBE_Z * sigma) and (ue is None or agrees(ue, est2, 10 * roundoff2, 0.0)):
                ok_b = ok_c = True
                est = est2
        B &= ok_b
        C &= ok_c
        margin = abs(ug - est) / (PROBE_Z * sigma + fd_atol + fd_rtol * (abs(est) + spread))
        fd.projections.append((ug, est))
        if margin > shown_margin:
            shown, shown_margin, fd.shown = (ug, ue, est), margin, k
    ug, ue, est = shown
    size = sum(g.size for g in gots)
    report.footer.append(t("directional_line", n=len(fd.estimates), size=size, autograd=fmt(ug),
                           analytic="—" if ue is None else (fmt(ue) if report.reveal else t("hidden_value")),
                           fd=fmt(est) if report.reveal else t("hidden_value")))
    return bool(B), (bool(C) if exps is not None else None)


# -- values (not gradients) ---------------------------------------------------------------------

CODE_NAME = re.compile(r"[A-Za-z_][\w.]*(\(.*\))?(\[.*\])?")


def value_check(got, expected, *, atol, rtol, label, name, reveal, each=False):
    """``got`` (a student's tensor or number) against ``expected``: the engine of ``confirm`` and
    ``assert_close``. Shapes must match (a 0-d and a one-element tensor count as equal); with
    ``each`` a plain number ``expected`` stands for every element (a lesson stating "every entry is 27")."""
    report = _value_check(got, expected, atol=atol, rtol=rtol, label=label, name=name, reveal=reveal, each=each)
    report.messages = [in_words(m, name) for m in report.messages]
    return report


def in_words(message: str, name) -> str:
    """``message`` with a name in words ("number of saved tensors", not code) out of its code marks:
    "`x` is" becomes "x is"; a name ending in Japanese takes 「は」 without a space (word_name_join)."""
    if type(name) is not str or not name or CODE_NAME.fullmatch(name):
        return message
    spoken = t("word_name_join", name=name) if not name[-1].isascii() else name + " "
    return message.replace(f"`{name}` ", spoken).replace(f"`{name}`", name)


def _value_check(got, expected, *, atol, rtol, label, name, reveal, each):
    if label is not None and type(label) is not str:
        raise usage_error("usage_label", kind=describe(label))
    atol, rtol = tolerance(atol, "atol"), tolerance(rtol, "rtol")
    report = Report("value", label or name, False, reveal=reveal, got_header="col_yours", ref_header="col_expected")
    g = _student_f64(report, name, got)
    if g is None:
        return report
    try:
        e = value_to_f64(expected) if type(expected) not in (list, tuple) else value_to_f64(_numbers(expected, "expected"))
    except NotGenuine:
        raise usage_error("usage_expected_value", kind=describe(expected)) from None
    if each and type(expected) in (int, float) and g.size > 1:
        e = e + np.zeros(g.shape)
    if g.shape != e.shape and not (g.size == 1 and e.size == 1):  # 0-d and one-element count as equal
        fail(report, "value_wrong_shape", name=name, got_shape=tuple(g.shape), want_shape=tuple(e.shape))
        if g.ndim == 2 and g.T.shape == e.shape and compare.close(g.T, e, 1e-9, 1e-6).all():
            report.messages[-1] = joined(report.messages[-1], t("hint_transposed"))
            report.codes.append("hint_transposed")
        return report
    g = g.reshape(e.shape)
    dtype = got.dtype if is_tensor(got) else torch.float64
    a_tol, r_tol = compare.tolerances(dtype, atol, rtol)
    ok = compare.close(g, e, a_tol, r_tol)
    block = Block(name, None, g, e, None, ok=ok, abs_err=np.abs(g - e))
    with np.errstate(divide="ignore", invalid="ignore"):
        block.rel_err = np.where(np.abs(e) > 0, np.abs(g - e) / np.abs(e), np.nan)  # none against 0
    block.decided_by_rtol = r_tol * abs(e) > a_tol
    report.blocks = [block]
    report.passed = bool(ok.all())
    if report.passed:
        if label:
            _checked.add(label)
        return report
    c = compare.common_ratio(g.reshape(-1), e.reshape(-1), a_tol)
    frac = compare.as_simple_fraction(c, g.size) if c is not None and g.size > 1 else None
    written = _written_by_answer(got, g, e, c, a_tol, r_tol)
    if written:
        fail(report, written[0], name=name, **written[1])
    elif dtype in LOW_PRECISION and compare.close(g, e, compare.NEAR_ATOL, LOW_PRECISION[dtype]).all():
        rel = float(abs(g - e).max() / max(abs(e).max(), 1e-300))
        fail(report, "float32_near", rel=rel, dtype=str(dtype).replace("torch.", ""))
    elif r_tol < NEAR_EXACT_RTOL and compare.close(g, e, a_tol, NEAR_EXACT_RTOL).all():
        # asked for exact values and off by no more than an estimate is (finite differences, float32)
        rel = float(abs(g - e).max() / max(abs(e).max(), 1e-300))
        fail(report, "near_exact", name=name, rel=rel, rtol=r_tol, causes=near_exact_causes(g, e))
        if reveal:
            i = int(np.argmax(abs(g - e)))
            fail(report, "near_exact_value", got=repr(float(g.reshape(-1)[i])), expected=repr(float(e.reshape(-1)[i])))
    elif c is not None and abs(c + 1) <= 1e-3 and g.size > 1:
        fail(report, "sign_flipped", name=name)
    elif frac and abs(c - 1) > 1e-3:
        fail(report, "constant_factor", name=name, factor=frac)
    elif reveal:
        start = _window_start(ok)
        fail(report, "value_mismatch", name=name, got=_short(g, start), expected=_short(e, start))
    else:
        fail(report, "value_mismatch_hidden", name=name)
    if g.ndim == 2 and g.shape[0] == g.shape[1] > 1 and compare.close(g.T, e, a_tol, r_tol).all():
        report.messages[-1] = joined(report.messages[-1], t("hint_transposed"))  # a square matrix transposed
        report.codes.append("hint_transposed")
    return report


def _written_by_answer(got, g, e, ratio, a_tol, r_tol):
    """When ``got`` is the ``.grad`` of a leaf the last gc.answer call's backward passes wrote (see
    evidence.GradWrites): the explanation those writes prove, as (key, values), or None. Added to a
    gradient held before the call, where the call's own passes sum to the right answer; or k
    different gradients (micro-batches) summed where their mean was wanted."""
    rec = grad_writes_of_value(got)
    if rec is None or rec.total <= 0 or rec.cleared:
        return None
    fn = last_answer.get("fn")
    fn = fn.__name__ if fn is not None else "fn"
    if rec.tampered:
        return "grad_modified_after_backward", {"fn": fn}
    if rec.prior:
        own = sum(c.double() for c in rec.run).numpy().reshape(e.shape)
        if compare.close(own, e, a_tol, r_tol).all():
            return "grad_polluted_before_answer", {"fn": fn}
        return None
    if len(rec.run) < rec.total:  # .grad was emptied between the passes: would all of them add up?
        every = sum(c.double() for c in rec.every).numpy().reshape(e.shape)
        if compare.close(every, e, a_tol, r_tol).all():
            return "grad_reset_between_passes", {"fn": fn, "m": len(rec.run), "n": rec.total}
    k = compare.as_integer(ratio) if ratio is not None else None
    if k is not None and k >= 2 and _from_writes(rec, k) == "accumulation_missing_division":
        return "accumulation_missing_division", {"k": k}
    return None


SHOWN = 6  # elements of a vector quoted in a message


def _window_start(ok) -> int:
    """Where the quoted elements start (``ok``: which elements agree): at 0 unless the first
    differing element lies beyond the first SHOWN, so that "yours" and "expected" never look the same."""
    wrong = (~ok.reshape(-1)).nonzero()[0]
    first = int(wrong[0]) if wrong.size else 0
    return 0 if first < SHOWN else min(first - 1, ok.size - SHOWN)


def _short(arr, start: int = 0) -> str:
    if arr.ndim == 2 and arr.shape[0] > 1 and arr.shape[1] <= SHOWN and arr.size <= 4 * SHOWN:
        return "[" + ", ".join(_short(row) for row in arr) + "]"  # a small matrix row by row: which row is wrong shows
    flat = arr.reshape(-1)
    shown = ", ".join(fmt(x) for x in flat[start:start + SHOWN])
    text = ("…, " if start > 0 else "") + shown + (", …" if flat.size > start + SHOWN else "")
    return text if flat.size == 1 and arr.ndim == 0 else f"[{text}]"
