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
from .evaluate import float64_function, usage_error
from .evidence import (
    backward_fingerprints,
    caller_source,
    custom_functions,
    first_derivative,
    fresh_autograd,
    grad_fingerprint,
    grad_was_accumulated,
    rerun_backward_calls,
)
from .finite_diff import DIRECTIONS, STEP1, STEP2, first_order, second_order
from .i18n import t
from .report import Block, Report, fmt

_checked: set[str] = set()
_last_answer: dict = {}


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


_CULPRITS = [(r"\.detach\(\)", ".detach()"), (r"\.data\b", ".data"), (r"\.item\(\)", ".item()"),
             (r"\.numpy\(\)", ".numpy()"), (r"no_grad", "torch.no_grad()"), (r"\.tolist\(\)", ".tolist()"),
             (r"\bfloat\(", "float(...)"), (r"inference_mode", "torch.inference_mode()")]


def _find_culprit(*functions) -> str | None:
    for fn in functions:
        if fn is None:
            continue
        try:
            source = inspect.getsource(fn)
        except (OSError, TypeError):
            continue
        code = "\n".join(line.split("#", 1)[0] for line in source.splitlines())
        for pattern, shown in _CULPRITS:
            if re.search(pattern, code):
                return shown
    return None


def _graph_reaches(f, inputs, x) -> bool:
    """Does autograd connect f(*inputs) to x? (No .grad is touched.)"""
    try:
        with torch.enable_grad():
            out = f(*inputs)
        if not is_tensor(out) or not out.requires_grad:
            return False
        (g,) = torch.autograd.grad(out.sum(), x, allow_unused=True)
        return g is not None
    except Exception:  # f may not even run on these tensors; then we cannot tell
        return True


def _answered_fn(x):
    """The student's function whose gc.answer(...) result is (or contains) ``x``, if any."""
    result = _last_answer.get("result")
    answered = result is x or (type(result) in (tuple, list) and any(r is x for r in result))
    return _last_answer.get("fn") if answered else None


def _accumulated(x, f, bases, index, k, varr):
    """Was ``x.grad`` added to by more than one backward pass? "accumulated" when re-running the
    student's answer function counted the passes; "accumulated_likely" when ``.grad`` looks exactly
    like k passes of ``f`` and not like one; False when it was certainly written once; else None."""
    once = grad_was_accumulated(x)
    if once is not None:
        return once
    fn = _answered_fn(x)
    if fn is not None:
        calls = rerun_backward_calls(fn, _last_answer.get("args", ()), _last_answer.get("kwargs", {}))
        if calls is not None and calls >= 2:
            return "accumulated"
    g = grad_of(x)
    if g.numel() == 1:  # at one point any wrong value is some multiple: the ratio is no evidence
        return None
    passes = k if k is not None else 2
    prints = backward_fingerprints(f, bases, index, passes, varr, create_graph=g.grad_fn is not None)
    if prints and grad_fingerprint(g) == prints[-1] != prints[0]:
        return "accumulated_likely"
    return None


def _grad_none(report: Report, name: str, x, f, inputs) -> Report:
    if not x.requires_grad:
        return _fail(report, "grad_none_requires_grad", name=name)
    if x.grad_fn is not None:
        return _fail(report, "grad_none_non_leaf", name=name, grad_fn=type(x.grad_fn).__name__)
    student_fn = _answered_fn(x)
    culprit = None if _graph_reaches(f, inputs, x) else (_find_culprit(f) or "")
    if culprit is None and student_fn is not None:
        # blame a .detach() in the student's code only when its backward() really ran and missed x
        calls = rerun_backward_calls(student_fn, _last_answer.get("args", ()), _last_answer.get("kwargs", {}))
        if calls == 0:
            return _fail(report, "grad_none_backward_never_called", name=name, fn=student_fn.__name__)
        if calls is not None:
            culprit = _find_culprit(student_fn) or ""
    if culprit is not None:
        reason = t("culprit_found", culprit=culprit) if culprit else t("culprit_unknown", name=name)
        return _fail(report, "grad_none_graph_cut", name=name, culprit=reason)
    return _fail(report, "grad_none_no_backward", name=name)


def _fail(report: Report, code: str, **values) -> Report:
    report.passed = False
    if code not in report.codes:
        report.codes.append(code)
        report.messages.append(t(code, **values))
    return report


def _student_f64(report: Report, name: str, value):
    """float64 array of a student's value, or None after recording why it was refused."""
    try:
        return value_to_f64(value)
    except NotGenuine as exc:
        if exc.dtype is not None:
            _fail(report, "not_float", name=name, dtype=exc.dtype)
        else:
            _fail(report, "not_tensor", name=name, kind=exc.kind)
        return None


def _dtype_of(values, inputs):
    for v in values:
        if is_tensor(v):
            return v.dtype
    return torch.float64 if not inputs else inputs[0].dtype


def _point_text(names, points, block_index, flat_index) -> str:
    if all(p.size == 1 for p in points):
        return ", ".join(f"{n} = {fmt(p.reshape(-1)[0])}" for n, p in zip(names, points, strict=True))
    p = points[block_index]
    idx = np.unravel_index(flat_index, p.shape) if p.ndim else ()
    where = names[block_index] + (f"[{', '.join(map(str, idx))}]" if idx else "")
    return f"{where} = {fmt(p.reshape(-1)[flat_index])}"


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
        raise ValueError(f"gradcoach: {n} inputs but {len(values)} analytic answers")
    out = []
    for v, b in zip(values, bases, strict=True):
        if callable(v):
            v = _call(v, bases)
        arr = value_to_f64(v)
        if arr.size == 1 and b.numel() != 1:
            arr = np.full(tuple(b.shape), float(arr.reshape(-1)[0]))
        out.append(arr)
    return out


# -- the engine --------------------------------------------------------------------------------

def _gradient_check(kind, inputs, f, expected, *, got, v, atol, rtol, label, reveal, first=None):
    if not callable(f):
        raise usage_error("usage_not_callable", name="f", kind=describe(f))
    if expected is not None and not callable(expected) and type(expected) in (list, tuple) and len(_as_tuple(inputs)) == 1:
        expected = _numbers(expected, "expected")  # a list of numbers for one vector input
    if v is not None and type(v) in (list, tuple):
        v = _numbers(v, "v")
    inputs = _as_tuple(inputs)
    names = _names(f, len(inputs))
    report = Report(kind, label or t("label_default"), False, reveal=reveal)
    for name, x in zip(names, inputs, strict=True):
        if not is_tensor(x):
            return _fail(report, "not_tensor", name=name, kind=describe(x))
        if not x.is_floating_point():
            return _fail(report, "not_float", name=name, dtype=str(x.dtype))

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
            raise ValueError(f"gradcoach: {len(inputs)} inputs but {len(gots)} gradients in got=")
        got_names = [f"∂f/∂{n}" for n in names]
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
            raise ValueError("gradcoach.check_second: f must return a single number")
        k = _index_of(first, inputs, names)
        w = np.ones(tuple(bases[k].shape)) if v is None else value_to_f64(v).reshape(tuple(bases[k].shape))
        fd = second_order(f, bases, k, w)
        got_names = [f"{n}.grad" if got is None else f"∂²f/∂{names[k]}∂{n}" for n in names]
        varr = None
    else:
        if v is None and out_arr.size != 1:
            return _fail(report, "output_not_scalar", shape=tuple(out_arr.shape))
        varr = None if v is None else value_to_f64(v)
        if varr is not None and varr.size != out_arr.size:
            raise ValueError(f"gradcoach: v has {varr.size} elements but the output has shape {tuple(out_arr.shape)}")

    if kind == "formula":  # the student's formula is under test; autograd (ours) is the reference
        formula = _student_formula(report, expected, bases, len(inputs), names)
        if formula is None:
            return report
        got_arrays, exp_arrays = formula, got_arrays
        got_names = [f"formula({n})" for n in names]
        report.got_header, report.ref_header = "col_yours", "col_autograd"
    else:
        exp_arrays = _expected_values(expected, bases, len(inputs))
    if kind != "second":
        # with a reference per element the verdict needs no probe; one checks the reference itself,
        # and all of them are drawn only if a diagnosis needs them (see below)
        fd = first_order(f, bases, varr, directions=1 if exp_arrays is not None else DIRECTIONS)

    for name, gn, g, b in zip(names, got_names, got_arrays, bases, strict=True):
        if g.shape != tuple(b.shape) and not (g.size == 1 and b.numel() == 1):
            hint = ""
            if g.size == out_arr.size * b.numel() and out_arr.size > 1:
                hint = " " + t("hint_jacobian")
            elif g.size == 1:
                hint = " " + t("hint_scalar", input=name)
            report.codes.append("wrong_shape")
            report.messages.append(t("wrong_shape", name=gn, input=name, got_shape=tuple(g.shape),
                                     want_shape=tuple(b.shape)) + hint)
            return report

    got_arrays = [g.reshape(tuple(b.shape)) for g, b in zip(got_arrays, bases, strict=True)]
    dtype = _dtype_of(gots, inputs) if kind != "formula" else torch.float64
    s_atol, s_rtol = compare.tolerances(dtype, atol, rtol)
    order = 2 if kind == "second" else 1
    fd_atol = 10 * fd.roundoff + 1e-10
    fd_rtol = compare.FD_RTOL[order]
    report.footer.append(t("tolerance_line", atol=s_atol, rtol=s_rtol, dtype=str(dtype).replace("torch.", ""),
                           step=STEP1 if order == 1 else STEP2))

    blocks, a_ok, b_ok, c_ok = [], [], [], []
    for i, (name, g, _b) in enumerate(zip(names, got_arrays, bases, strict=True)):
        e = exp_arrays[i] if exp_arrays is not None else None
        d = fd.values[i] if fd.elementwise else None
        ref = e if e is not None else (d if d is not None else g)
        block = Block(name, points[i], g, e, d)
        with np.errstate(divide="ignore", invalid="ignore"):
            block.abs_err = np.abs(g - ref)
            block.rel_err = np.where(np.abs(ref) > 0, block.abs_err / np.abs(ref), block.abs_err)
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
            report.notes.append(t("fd_disagrees_note", fd=_fd_text(fd, blocks)))
        if label:
            _checked.add(label)
        return report

    if not fd.elementwise and len(fd.estimates) < DIRECTIONS:  # a diagnosis weighs every probe
        fd = first_order(f, bases, varr)
        fd_atol = 10 * fd.roundoff + 1e-10
        B, C = _directional(report, fd, got_arrays, exp_arrays, s_atol, s_rtol, fd_atol, fd_rtol)
        del report.footer[-2]  # the one-probe line, replaced by the line of all of them
    context = {"inputs": inputs, "dtype": dtype, "names": names, "first": _index_of(first, inputs, names) if kind == "second" else None,
               "w": w if kind == "second" else None}
    _diagnose(report, kind, names, points, blocks, got_names, exp_arrays, fd, B, C,
              s_atol, f, bases, varr, out_arr, reveal, from_grad=got is None, context=context)
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
    if type(first) is int:
        return first
    if type(first) is str:
        return names.index(first)
    for i, x in enumerate(inputs):
        if x is first:
            return i
    raise ValueError("gradcoach.check_second: first= must be one of the inputs (the tensor, its name or index)")


def _student_formula(report, formula, bases, n, names):
    """The student's analytic formula per input as float64 arrays, or None (reason recorded)."""
    value = _call(formula, bases) if callable(formula) else formula
    values = _as_tuple(value) if n > 1 else (value,)
    if len(values) != n:
        _fail(report, "not_tensor", name="formula", kind=describe(value))
        return None
    out = []
    for name, v, b in zip(names, values, bases, strict=True):
        arr = _student_f64(report, f"formula({name})", v)
        if arr is None:
            return None
        if arr.size == 1 and b.numel() != 1:
            arr = np.full(tuple(b.shape), float(arr.reshape(-1)[0]))
        out.append(arr)
    return out


#: a probe accepts |uᵀδ| up to this many standard deviations of what tolerated errors can give
PROBE_Z = 4.0
#: on a failed probe the step is divided by these factors in turn: a kink (relu, abs) within one
#: step of some element spoils an estimate, and a million relu inputs put ~20 elements there at the
#: first step, ~0.3 at the second, ~0.005 at the third; a wrong gradient fails all three
REFINE = (64.0, 4096.0)


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


def _fd_text(fd, blocks) -> str:
    if fd.elementwise:
        return ", ".join(fmt(x) for b in blocks for x in b.fd.reshape(-1)[:3])
    return ", ".join(fmt(e) for e in fd.estimates)


def _worst(blocks):
    """(block index, flat index) of the element furthest outside its tolerance."""
    best, where = -1.0, (0, 0)
    for i, b in enumerate(blocks):
        if b.ok is None or b.ok.all():
            continue
        errs = np.where(b.ok, -1.0, np.nan_to_num(b.abs_err, nan=np.inf)).reshape(-1)
        j = int(np.argmax(errs))
        if errs[j] > best:
            best, where = errs[j], (i, j)
    return where


_LOW_PRECISION = {torch.float32: 1e-3, torch.float16: 5e-2, torch.bfloat16: 5e-2}
_IN_PLACE = re.compile(r"\.data\b|\b(?!requires_grad_\()\w+_\(|\+=|-=|\*=|/=")  # requires_grad_ changes no value


def _diagnose(report, kind, names, points, blocks, got_names, exps, fd, B, C, atol, f, bases, varr, out_arr, reveal,
              from_grad=True, context=None):
    bi, fi = _worst(blocks)
    block = blocks[bi]
    g, e = block.got.reshape(-1), (exps[bi].reshape(-1) if exps is not None else None)
    ref = e if e is not None else (block.fd.reshape(-1) if block.fd is not None else g)
    point = _point_text(names, points, bi, fi)
    name = got_names[bi]
    inp = names[bi]

    if e is None and block.fd is None:  # large input, no analytic answer: only projections are known
        return _diagnose_projections(report, name, inp, fd, context, from_grad, f, bases, varr, out_arr)

    if kind == "formula":
        # here ``g`` is the student's formula and ``ref`` is autograd (trusted)
        if not np.isfinite(g).all():
            return _fail(report, "nan_got", name=f"formula({inp})", point=point)
        return _formula_wrong(report, g, ref, atol, point, reveal, block, fd, blocks, fi)

    if not np.isfinite(g).all():
        bad = int(np.flatnonzero(~np.isfinite(g))[0])
        _fail(report, "nan_got", name=name, point=_point_text(names, points, bi, bad))
        if e is not None and not np.isfinite(e[bad]):
            _fail(report, "nan_expected", point=_point_text(names, points, bi, bad))
        return report
    if e is not None and not np.isfinite(e).all():
        bad = int(np.flatnonzero(~np.isfinite(e))[0])
        return _fail(report, "nan_expected", point=_point_text(names, points, bi, bad))

    if e is not None and fd.elementwise and block.fd is not None:
        b_here = bool(compare.close(g, block.fd.reshape(-1), atol * 10 + 10 * fd.roundoff, compare.FD_RTOL[2]).all())
        c_here = bool(compare.close(e, block.fd.reshape(-1), 10 * fd.roundoff + 1e-10, compare.FD_RTOL[1]).all())
    else:
        b_here, c_here = B, C
    if e is not None and b_here and c_here is False:
        return _formula_wrong(report, e, g, atol, point, reveal, block, fd, blocks, fi)  # check_formula's words

    dtype = context["dtype"]
    if dtype in _LOW_PRECISION and compare.close(g, ref, compare.NEAR_ATOL, _LOW_PRECISION[dtype]).all():
        rel = float(np.max(np.abs(g - ref) / np.maximum(np.abs(ref), 1e-300)))
        return _fail(report, "float32_near", rel=rel, dtype=str(dtype).replace("torch.", ""))

    if kind == "grad" and varr is not None and out_arr.size > 1:
        which = _wrong_v(f, bases, bi, g, out_arr.size, atol)
        if which:
            return _fail(report, "wrong_v", name=name, which=t(which))
        if _is_jv(f, bases, bi, g, varr, atol):
            return _fail(report, "jv_not_vjp", name=name, input=inp)

    x = context["inputs"][bi]
    c = compare.common_ratio(g, ref, atol)
    k = compare.as_integer(c) if c is not None else None
    accumulated = _accumulated(x, f, bases, bi, k, varr) if from_grad and kind == "grad" else \
        (grad_was_accumulated(x) if from_grad else False)
    fresh = None
    if e is not None and c_here and not b_here:  # is autograd itself wrong on f? then that is the cause
        fresh = fresh_autograd(f, bases, varr, context["first"])
        wrong_f = _autograd_wrong_on_f(report, f, fresh, bi, e)
        if wrong_f is not None:
            return wrong_f
    if c is not None:
        if k is not None and accumulated:
            return _fail(report, accumulated, name=name, k=k, input=inp)
        if k is not None and accumulated is None:  # .grad cannot tell: both causes are named
            return _fail(report, "integer_factor_unknown", name=name, k=k, input=inp)
        if g.size > 1 and abs(c + 1) <= 1e-3:
            return _fail(report, "sign_flipped", name=name)
        frac = compare.as_simple_fraction(c, g.size)
        if frac and abs(c - 1) > 1e-3 and g.size > 1:
            hint = ""
            if k is not None and k in {b.numel() for b in bases} | {out_arr.size}:
                hint = " " + t("hint_sum_mean", k=k)
            return _fail(report, "constant_factor", name=name, factor=frac) if not hint else \
                _fail(report, "constant_factor_sum_mean", name=name, factor=frac, hint=hint)

    if kind == "second" and from_grad:
        first_k = context["first"]
        fx = first_derivative(f, bases, first_k) if bi == first_k else None
        if fx is not None and e is not None and compare.close(g, e + fx.reshape(-1), atol * 10, 1e-6).all():
            return _fail(report, "second_includes_first", name=name, input=inp)

    if kind == "second":
        other = _other_first(f, bases, context["first"], context["w"], blocks, atol)
        if other is not None:
            return _fail(report, "second_wrong_first", name=name, first=names[context["first"]], other=names[other])

    if e is None and block.fd is not None:  # no analytic answer: autograd run afresh on f may stand in
        fresh = fresh or fresh_autograd(f, bases, varr, context["first"])
        order = 2 if kind == "second" else 1
        if fresh[0] is not None and compare.close(fresh[0][bi].reshape(-1), block.fd.reshape(-1),
                                                  10 * fd.roundoff + 1e-10, compare.FD_RTOL[order]).all():
            return _grad_from_elsewhere(report, name, inp, g, fresh[0][bi].reshape(-1), fresh[0], accumulated,
                                        from_grad, point, reveal, block, fd, blocks, fi)
    if e is not None and c_here and not b_here:
        return _grad_from_elsewhere(report, name, inp, g, e, fresh[0], accumulated, from_grad,
                                    point, reveal, block, fd, blocks, fi)
    if reveal:
        return _fail(report, "mismatch", name=name, point=point, got=fmt(g[fi]), expected=fmt(ref[fi]))
    return _fail(report, "mismatch_hidden", name=name, point=point)


def _diagnose_projections(report, name, inp, fd, context, from_grad, f, bases, varr, out_arr):
    """Without an analytic answer a large gradient is seen only through uᵀ·gradient. If every
    direction shows the same ratio c to the finite difference, the gradient is c times the true
    one (four random directions leave no other explanation); otherwise no cause is claimed."""
    if any(abs(est) == 0 for _, est in fd.projections):
        c = None
    else:
        ratios = [ug / est for ug, est in fd.projections]
        c = ratios[0]
        if not all(abs(r - c) <= 1e-3 * max(1.0, abs(c)) for r in ratios):
            c = None
    if c is not None and abs(c - 1) > 1e-3:
        sizes = {b.numel() for b in bases} | {out_arr.size}
        k = compare.as_integer(c)
        index = context["names"].index(inp)
        accumulated = _accumulated(context["inputs"][index], f, bases, index, k, varr) if from_grad else False
        if k is not None and accumulated:
            return _fail(report, accumulated, name=name, k=k, input=inp)
        if k is not None and accumulated is None:
            return _fail(report, "integer_factor_unknown", name=name, k=k, input=inp)
        if abs(c + 1) <= 1e-3:
            return _fail(report, "sign_flipped", name=name)
        inverse = round(1 / c)
        if k in sizes or (inverse in sizes and abs(c * inverse - 1) <= 1e-3):
            factor = str(k) if k in sizes else f"1/{inverse}"
            return _fail(report, "constant_factor_sum_mean", name=name, factor=factor,
                         hint=" " + t("hint_sum_mean", k=k if k in sizes else inverse))
        frac = compare.as_simple_fraction(round(c * 12) / 12 if abs(c * 12 - round(c * 12)) <= 1e-3 * abs(c * 12)
                                          else c, 2)
        if frac:
            return _fail(report, "constant_factor", name=name, factor=frac)
    ug, est = fd.projections[fd.shown]  # the direction the footer shows
    return _fail(report, "projection_mismatch", name=name, size=sum(b.numel() for b in bases),
                 got=fmt(ug) if report.reveal else t("hidden_value"),
                 fd=fmt(est) if report.reveal else t("hidden_value"))


def _formula_wrong(report, formula, autograd, atol, point, reveal, block, fd, blocks, fi):
    """The analytic formula disagrees with autograd and finite differences (which agree): its sign,
    a constant factor, or just wrong."""
    c = compare.common_ratio(formula, autograd, atol)
    if c is not None and abs(c + 1) <= 1e-3 and formula.size > 1:
        return _fail(report, "formula_sign_flipped")
    frac = compare.as_simple_fraction(c, formula.size) if c is not None else None
    if frac and abs(c - 1) > 1e-3:
        return _fail(report, "formula_constant_factor", factor=frac)
    if reveal:
        fdv = fmt(block.fd.reshape(-1)[fi]) if block.fd is not None else _fd_text(fd, blocks)
        return _fail(report, "formula_wrong", point=point, analytic=fmt(formula[fi]), autograd=fmt(autograd[fi]), fd=fdv)
    return _fail(report, "formula_wrong_hidden", point=point)


def _autograd_wrong_on_f(report, f, fresh_and_out, bi, e):
    """The diagnosis when autograd, run afresh on ``f``, disagrees with ``f``'s own finite differences
    (which the analytic answer matches): a custom backward or a partly cut graph; else None."""
    fresh, out = fresh_and_out
    if fresh is None or compare.close(fresh[bi].reshape(-1), e, 1e-8, 1e-6).all():
        return None
    custom = custom_functions(out)
    if custom:
        return _fail(report, "custom_backward_wrong", function=", ".join(custom))
    culprit = _find_culprit(f)
    return _fail(report, "autograd_partial_cut",
                 culprit=t("culprit_found", culprit=culprit) if culprit else t("culprit_none"))


def _grad_from_elsewhere(report, name, inp, g, e, fresh, accumulated, from_grad, point, reveal, block, fd, blocks,
                         fi):
    """The analytic answer, finite differences and autograd run afresh on ``f`` (``fresh``) agree, the
    gradient does not: it came from another computation; the causes are listed, likeliest first."""
    if fresh is not None:
        causes = []
        source = caller_source()
        if from_grad and accumulated:
            causes.append("cause_polluted")
        if _IN_PLACE.search("\n".join(line.split("#", 1)[0] for line in source.splitlines())):
            causes.append("cause_saved_modified")
        causes.append("cause_code_differs")
        if from_grad and "cause_polluted" not in causes:
            causes.append("cause_polluted")
        if "cause_saved_modified" not in causes:
            causes.append("cause_saved_modified")
        listed = "\n".join(f"{i}. {t(c, name=name, input=inp)}" for i, c in enumerate(causes, 1))
        _fail(report, "grad_not_from_f", name=name, causes=listed)
        if reveal:
            report.messages.append(t("mismatch", name=name, point=point, got=fmt(g[fi]), expected=fmt(e[fi])))
        return report
    if reveal:
        fdv = fmt(block.fd.reshape(-1)[fi]) if block.fd is not None else _fd_text(fd, blocks)
        return _fail(report, "code_differs", point=point, autograd=fmt(g[fi]), fd=fdv)
    return _fail(report, "code_differs_hidden", point=point)


def _wrong_v(f, bases, k, g, m, atol):
    """'which_ones'/'which_mean' when g is the gradient for v = 1 or v = 1/m instead."""
    try:
        req = [b.clone().requires_grad_() for b in bases]
        with torch.enable_grad():
            out = f(*req)
            grads = torch.autograd.grad(out, req, grad_outputs=torch.ones_like(out), allow_unused=True)
    except Exception:
        return None
    if grads[k] is None:
        return None
    ones = grads[k].detach().numpy().reshape(-1)
    if compare.close(g, ones, atol, 1e-6).all():
        return "which_ones"
    if compare.close(g, ones / m, atol, 1e-6).all():
        return "which_mean"
    return None


def _is_jv(f, bases, k, g, v, atol) -> bool:
    """Is g the forward-mode product J·v (what jvp gives) rather than vᵀJ (what backward(v) gives)?
    J·v is the derivative of f along v: a central difference of the whole output. Only when J is
    square, and only when the two products differ here (else there is nothing to tell apart)."""
    if len(bases) != 1 or v.size != bases[0].numel() or g.size != v.size:
        return False
    x, direction = bases[0], torch.from_numpy(v.reshape(tuple(bases[0].shape)).copy())
    h = STEP1 * max(1.0, float(x.abs().max())) / max(float(direction.abs().max()), 1e-300)
    try:
        with torch.no_grad():
            jv = (value_to_f64(f(x + h * direction)) - value_to_f64(f(x - h * direction))).reshape(-1) / (2 * h)
    except Exception:
        return False
    return bool(compare.close(g, jv, 10 * atol, compare.FD_RTOL[1] * 10).all())


def _other_first(f, bases, first, w, blocks, atol):
    """check_second: the index of another input whose first derivative the student back-propagated
    (got = ∂(w·∂f/∂other)/∂x instead of ∂(w·∂f/∂first)/∂x), if one matches every block."""
    gots = [b.got for b in blocks]
    for other in range(len(bases)):
        if other == first or bases[other].shape != bases[first].shape:
            continue
        try:
            fd = second_order(f, bases, other, w)
        except Exception:
            continue
        if not fd.elementwise:
            return None
        if all(compare.close(gg.reshape(-1), d.reshape(-1), 10 * atol + 10 * fd.roundoff, compare.FD_RTOL[2]).all()
               for gg, d in zip(gots, fd.values, strict=True)):
            return other
    return None


# -- values (not gradients) ---------------------------------------------------------------------

def value_check(got, expected, *, atol, rtol, label, name, reveal, each=False):
    """``got`` (a student's tensor or number) against ``expected``: the engine of ``confirm`` and
    ``assert_close``. Shapes must match (a 0-d and a one-element tensor count as equal); with
    ``each`` a plain number ``expected`` stands for every element (a lesson stating "every entry is 27")."""
    report = Report("value", label or name, False, reveal=reveal, got_header="col_yours", ref_header="col_analytic")
    g = _student_f64(report, name, got)
    if g is None:
        return report
    e = value_to_f64(expected) if type(expected) not in (list, tuple) else value_to_f64(_numbers(expected, "expected"))
    if each and type(expected) in (int, float) and g.size > 1:
        e = e + np.zeros(g.shape)
    if g.shape != e.shape and not (g.size == 1 and e.size == 1):  # 0-d and one-element count as equal
        _fail(report, "value_wrong_shape", name=name, got_shape=tuple(g.shape), want_shape=tuple(e.shape))
        if g.ndim == 2 and g.T.shape == e.shape and compare.close(g.T, e, 1e-9, 1e-6).all():
            report.messages[-1] += " " + t("hint_transposed")
            report.codes.append("hint_transposed")
        return report
    g = g.reshape(e.shape)
    dtype = got.dtype if is_tensor(got) else torch.float64
    a_tol, r_tol = compare.tolerances(dtype, atol, rtol)
    ok = compare.close(g, e, a_tol, r_tol)
    block = Block(name, None, g, e, None, ok=ok, abs_err=np.abs(g - e))
    with np.errstate(divide="ignore", invalid="ignore"):
        block.rel_err = np.abs(g - e) / np.abs(e)
    block.decided_by_rtol = r_tol * abs(e) > a_tol
    report.blocks = [block]
    report.passed = bool(ok.all())
    if report.passed:
        if label:
            _checked.add(label)
        return report
    c = compare.common_ratio(g.reshape(-1), e.reshape(-1), a_tol)
    frac = compare.as_simple_fraction(c, g.size) if c is not None and g.size > 1 else None
    if dtype in _LOW_PRECISION and compare.close(g, e, compare.NEAR_ATOL, _LOW_PRECISION[dtype]).all():
        rel = float(abs(g - e).max() / max(abs(e).max(), 1e-300))
        _fail(report, "float32_near", rel=rel, dtype=str(dtype).replace("torch.", ""))
    elif c is not None and abs(c + 1) <= 1e-3 and g.size > 1:
        _fail(report, "sign_flipped", name=name)
    elif frac and abs(c - 1) > 1e-3:
        _fail(report, "constant_factor", name=name, factor=frac)
    elif reveal:
        _fail(report, "value_mismatch", name=name, got=_short(g), expected=_short(e))
    else:
        _fail(report, "value_mismatch_hidden", name=name)
    if g.ndim == 2 and g.shape[0] == g.shape[1] > 1 and compare.close(g.T, e, a_tol, r_tol).all():
        report.messages[-1] += " " + t("hint_transposed")  # a square matrix read the other way round
        report.codes.append("hint_transposed")
    return report


def _short(arr) -> str:
    flat = arr.reshape(-1)
    text = ", ".join(fmt(x) for x in flat[:6]) + (", …" if flat.size > 6 else "")
    return text if flat.size == 1 and arr.ndim == 0 else f"[{text}]"
