"""Why a gradient check failed: a :class:`Comparison` of what was compared, and named rules.

Each rule states the evidence it needs and tests its hypothesis before it speaks (re-running the
student's function, counting backward passes, comparing with another row); where the evidence is
not conclusive a rule stays silent or the message lists the likely causes in order. The first rule
that speaks gives the diagnosis; :func:`rule_mismatch` always can.
"""
from __future__ import annotations

import inspect
import itertools
import re
from dataclasses import dataclass, field

import torch

from . import compare
from ._safe import grad_of, is_tensor, np, value_to_f64
from .evidence import (
    answered_fn,
    backward_fingerprints,
    caller_source,
    custom_backward_disagrees,
    custom_functions,
    first_derivative,
    fresh_autograd,
    grad_fingerprint,
    grad_was_accumulated,
    grad_writes,
    last_answer,
    path_contributions,
    rerun_backward_calls,
)
from .finite_diff import STEP1, second_order
from .i18n import t
from .report import Report, fail, fmt, fmt_apart

LOW_PRECISION = {torch.float32: 1e-3, torch.float16: 5e-2, torch.bfloat16: 5e-2}
_IN_PLACE = re.compile(r"\.data\b|\b(?!requires_grad_\()\w+_\(|\+=|-=|\*=|/=")  # requires_grad_ changes no value


_CULPRITS = [(r"\.detach\(\)", ".detach()"), (r"\.data\b", ".data"), (r"\.item\(\)", ".item()"),
             (r"\.numpy\(\)", ".numpy()"), (r"no_grad", "torch.no_grad()"), (r"\.tolist\(\)", ".tolist()"),
             (r"\bfloat\(", "float(...)"), (r"inference_mode", "torch.inference_mode()")]


#: the names a culprit leaves in compiled code (attribute and global names), for code without source
_CULPRIT_NAMES = {"detach": ".detach()", "data": ".data", "item": ".item()", "numpy": ".numpy()",
                  "no_grad": "torch.no_grad()", "tolist": ".tolist()", "float": "float(...)",
                  "inference_mode": "torch.inference_mode()"}


def _code_names(code) -> set:
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _code_names(const)
    return names


def _without_comments(source: str) -> str:
    """``source`` with each line's ``#`` comment removed (a comment naming .detach() is no culprit)."""
    return "\n".join(line.split("#", 1)[0] for line in source.splitlines())


def _find_culprit(*functions) -> str | None:
    """The first cut of the graph (``.detach()``, ``.data``, …) that a function's code contains: read
    from its source, or from its compiled code's names where the source is not available."""
    for fn in functions:
        if fn is None:
            continue
        try:
            source = inspect.getsource(fn)
        except (OSError, TypeError):
            code = getattr(fn, "__code__", None)
            names = _code_names(code) if code is not None else set()
            found = [shown for name, shown in _CULPRIT_NAMES.items() if name in names]
            if found:
                return sorted(found, key=[s for _, s in _CULPRITS].index)[0]
            continue
        code = _without_comments(source)
        for pattern, shown in _CULPRITS:
            if re.search(pattern, code):
                return shown
    return None


#: resets of a gradient: (pattern, shown); a pattern's group 1 is the tensor reset (zero_grad() resets all)
_CLEARINGS = [(r"(\w+)\.grad\s*=\s*None", ".grad = None"), (r"\.zero_grad\(()", "zero_grad()"),
              (r"(\w+)\.grad\.zero_\(\)", ".grad.zero_()")]


def _find_clearing(fn) -> str | None:
    """A reset of a gradient (``.grad = None``, ``zero_grad()``) that ``fn``'s source makes after its
    last ``.backward(``, or None (a reset before backward() is the right one)."""
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        return None
    code = _without_comments(source)
    last = max((m.end() for m in re.finditer(r"\.backward\(|autograd\.backward\(", code)), default=None)
    if last is None:
        return None
    # a reset of another tensor (y.grad = None) does not explain what the returned tensor lacks
    returned = set(re.findall(r"\w+", " ".join(re.findall(r"\breturn\b(.*)", code))))
    found = [(m.start(), f"{m.group(1)}{shown}" if m.group(1) else shown) for pattern, shown in _CLEARINGS
             for m in re.finditer(pattern, code) if m.start() > last and (not m.group(1) or m.group(1) in returned)]
    return min(found)[1] if found else None


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


def _from_writes(rec, k):
    """The verdict of :func:`_accumulated` from what the answer's backward passes wrote (see
    evidence.GradWrites): added to a gradient held before, or the same gradient added n times, is
    "accumulated"; n different gradients summed where their mean was wanted (micro-batches, a
    factor n = k) is "accumulation_missing_division"; one pass onto an empty ``.grad`` is False."""
    n = len(rec.run)
    if rec.prior:
        return "accumulated"
    if n == 1:
        return False
    if k is not None and k != n:
        return None  # n passes, and a factor that is not n: the record does not explain it
    return "accumulated" if rec.same_contributions() else "accumulation_missing_division"


def _accumulated(x, f, bases, index, k, varr):
    """Was ``x.grad`` added to by more than one backward pass? Decided by what the answer's passes
    wrote when gc.answer watched them (see :func:`_from_writes`); "accumulated" when re-running the
    student's answer function counted the passes; "accumulated_likely" when ``.grad`` looks exactly
    like k passes of ``f`` and not like one; False when it was certainly written once; else None."""
    rec = grad_writes(x)
    if rec is not None and rec.total > 0 and not rec.cleared and not rec.tampered:
        return _from_writes(rec, k)
    once = grad_was_accumulated(x)
    if once is not None:
        return once
    fn = answered_fn(x)
    if fn is not None:
        calls = rerun_backward_calls(fn, last_answer.get("args", ()), last_answer.get("kwargs", {}))
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


def _reset_advice(x, name: str) -> str:
    """How to reset ``x.grad``: a model's parameter by its optimizer (the test's name for it need not
    be a variable of the student's), any other tensor by its name."""
    return t("reset_parameter" if isinstance(x, torch.nn.Parameter) else "reset_tensor", input=name)


def _grad_none(report: Report, name: str, x, f, inputs) -> Report:
    if not x.requires_grad:  # what the student's function returned: it may be a gradient, not the leaf
        return fail(report, "grad_none_returned_no_grad" if answered_fn(x) is not None else "grad_none_requires_grad",
                    name=name)
    if x.grad_fn is not None:
        fn = answered_fn(x)  # the student returned it: retain_grad() in a locked test is no advice
        if fn is not None:
            return fail(report, "grad_none_returned_non_leaf", fn=getattr(fn, "__name__", "fn"),
                        grad_fn=type(x.grad_fn).__name__)
        return fail(report, "grad_none_non_leaf", name=name, grad_fn=type(x.grad_fn).__name__)
    rec = grad_writes(x)
    if rec is not None and rec.cleared and rec.leaf.grad is None:  # written by backward, then cleared
        return fail(report, "grad_cleared_after_backward", name=name, fn=last_answer["fn"].__name__
                    if last_answer.get("fn") is not None else "fn")
    student_fn = answered_fn(x)
    culprit = None if _graph_reaches(f, inputs, x) else (_find_culprit(f) or "")
    if culprit is None and student_fn is not None:
        # blame a .detach() in the student's code only when its backward() really ran and missed x
        calls = rerun_backward_calls(student_fn, last_answer.get("args", ()), last_answer.get("kwargs", {}))
        if calls == 0:
            return fail(report, "grad_none_backward_never_called", name=name, fn=student_fn.__name__)
        if calls is not None:
            culprit = _find_culprit(student_fn)
            if culprit is None:  # backward() ran, and the test's graph reaches x: cleared, or cut unseen
                cleared = _find_clearing(student_fn)
                if cleared:
                    return fail(report, "grad_cleared_in_answer", name=name, fn=student_fn.__name__, clear=cleared)
                return fail(report, "grad_none_after_backward", name=name, fn=student_fn.__name__)
    if culprit is not None:
        reason = t("culprit_found", culprit=culprit) if culprit else t("culprit_unknown", name=name)
        return fail(report, "grad_none_graph_cut", name=name, culprit=reason)
    return fail(report, "grad_none_no_backward", name=name)



def _point_text(names, points, block_index, flat_index) -> str:
    if all(p.size == 1 for p in points):
        return ", ".join(f"{n} = {fmt(p.reshape(-1)[0])}" for n, p in zip(names, points, strict=True))
    p = points[block_index]
    idx = np.unravel_index(flat_index, p.shape) if p.ndim else ()
    where = names[block_index] + (f"[{', '.join(map(str, idx))}]" if idx else "")
    return f"{where} = {fmt(p.reshape(-1)[flat_index])}"



def fd_disagrees(fd, blocks, names, points) -> str:
    """The note of a check that passed against the analytic answer while finite differences disagree:
    the element where they disagree most, and their value there (none along random directions)."""
    if not fd.elementwise:
        return t("fd_disagrees_note_directional")
    where, worst = (0, 0), -1.0
    for i, b in enumerate(blocks):
        if b.fd is None or b.analytic is None:
            continue
        gap = np.nan_to_num(np.abs(b.fd - b.analytic), nan=np.inf).reshape(-1)
        j = int(np.argmax(gap))
        if gap[j] > worst:
            where, worst = (i, j), gap[j]
    i, j = where
    return t("fd_disagrees_note", where=_point_text(names, points, i, j), fd=fmt(blocks[i].fd.reshape(-1)[j]))


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




@dataclass
class Comparison:
    """What a failed check compared, and the evidence its diagnosis may draw on. The expensive
    evidence (re-running f, counting backward passes) is gathered only when a rule asks for it."""

    report: Report
    kind: str  # "grad", "second" or "formula"
    names: list  # the inputs' parameter names
    points: list  # the inputs' values (float64 arrays)
    blocks: list  # one Block per input: got, analytic, finite differences, verdicts
    got_names: list
    exps: list | None  # the analytic answer per input (float64 arrays), or None
    fd: object  # the FDResult
    B: bool  # got agrees with finite differences
    C: bool | None  # the analytic answer agrees with finite differences (None without one)
    atol: float
    f: object  # the function under check, evaluated in float64
    bases: list  # float64 copies of the inputs
    varr: object  # the weights v of a vector output, or None
    out_arr: object  # f's output at the inputs
    reveal: bool
    from_grad: bool  # got was read from .grad (not passed as got=)
    inputs: tuple
    dtype: object  # the dtype the student computed in
    first: int | None = None  # check_second's row
    w: object = None  # check_second's weights on the first derivative
    hvp: bool = False  # check_second with v=: a Hessian–vector product H·v
    formula: object = None  # check_formula: the student's formula (a callable), to try at other points
    rtol: float | None = None  # the check's relative tolerance
    _cache: dict = field(default_factory=dict)

    def __post_init__(self):
        self.bi, self.fi = _worst(self.blocks)
        self.block = self.blocks[self.bi]
        self.g = self.block.got.reshape(-1)
        self.e = self.exps[self.bi].reshape(-1) if self.exps is not None else None
        self.ref = self.e if self.e is not None else (self.block.fd.reshape(-1) if self.block.fd is not None else self.g)
        self.point = _point_text(self.names, self.points, self.bi, self.fi)
        self.name = self.got_names[self.bi]
        self.inp = self.names[self.bi]
        self.ratio = compare.common_ratio(self.g, self.ref, self.atol)
        self.k = compare.as_integer(self.ratio) if self.ratio is not None else None
        fd, e = self.fd, self.e
        if e is not None and fd.elementwise and self.block.fd is not None:
            d = self.block.fd.reshape(-1)
            self.b_here = bool(compare.close(self.g, d, self.atol * 10 + 10 * fd.roundoff, compare.FD_RTOL[2]).all())
            self.c_here = bool(compare.close(e, d, 10 * fd.roundoff + 1e-10, compare.FD_RTOL[1]).all())
        else:
            self.b_here, self.c_here = self.B, self.C

    def fail(self, code: str, **values) -> Report:
        return fail(self.report, code, **values)

    @property
    def accumulated(self):
        """"accumulated"/"accumulated_likely"/False/None: see :func:`_accumulated`."""
        if "accumulated" not in self._cache:
            x = self.inputs[self.bi]
            self._cache["accumulated"] = (
                (_accumulated(x, self.f, self.bases, self.bi, self.k, self.varr) if self.kind == "grad"
                 else grad_was_accumulated(x)) if self.from_grad else False)
        return self._cache["accumulated"]

    @property
    def fresh(self):
        """autograd's answer for f at fresh leaves, and the graph's output (see fresh_autograd)."""
        if "fresh" not in self._cache:
            weights = self.w if self.kind == "second" else self.varr  # check_second weighs ∂f/∂first by w
            self._cache["fresh"] = fresh_autograd(self.f, self.bases, weights, self.first)
        return self._cache["fresh"]


# -- the rules, in the order they are tried; each tests its hypothesis before it speaks -----------

def rule_projections_only(c: Comparison):
    """A large input without an analytic answer: only uᵀ·gradient along the probes is known."""
    if c.e is None and c.block.fd is None:
        return _diagnose_projections(c)
    return None


def rule_formula_under_test(c: Comparison):
    """check_formula: the student's formula is compared with autograd (trusted)."""
    if c.kind != "formula":
        return None
    if not np.isfinite(c.g).all():
        return c.fail("nan_got", name=c.name, point=c.point)
    if c.rtol is not None and c.rtol < NEAR_EXACT_RTOL and compare.close(c.g, c.ref, c.atol, NEAR_EXACT_RTOL).all():
        return _near_exact(c, c.ref, "near_exact_formula")  # asked for exact values: an estimate, not a wrong derivation
    swapped = _formula_swapped(c)
    if swapped is not None:
        return swapped
    _formula_parts(c)
    return _formula_wrong(c.report, c.g, c.ref, c.atol, c.point, c.reveal, c.block, c.fd, c.blocks, c.fi,
                          same_ratio_elsewhere=_formula_ratio_elsewhere(c))


def function_name(fn, default: str) -> str:
    """How a function is named in messages: its own name, ``default`` for a lambda or a non-function."""
    name = getattr(fn, "__name__", "")
    return name if isinstance(name, str) and name.isidentifier() else default


def _formula_swapped(c: Comparison):
    """A formula of two inputs whose derivatives are right, each in the other's place: the order of
    the returned tuple, not the derivation, is wrong."""
    if len(c.blocks) != 2 or c.exps is None or any(b.ok is None or b.ok.all() for b in c.blocks):
        return None
    (a, b), (ea, eb) = (blk.got.reshape(-1) for blk in c.blocks), (e.reshape(-1) for e in c.exps)
    if a.shape != eb.shape or b.shape != ea.shape or not (compare.close(a, eb, c.atol, 1e-6).all()
                                                         and compare.close(b, ea, c.atol, 1e-6).all()):
        return None
    f = function_name(c.f, "f")
    parts = [f"∂{f}/∂{n}" for n in c.names]
    return c.fail("formula_swapped", a=parts[0], b=parts[1], order=", ".join(parts))


def _formula_parts(c: Comparison):
    """A formula of several inputs returns one derivative per input: say which of them are wrong
    (from the elementwise verdicts), and which one the message after it speaks of."""
    if len(c.names) < 2:
        return
    f = function_name(c.f, "f")
    if c.kind == "second":  # check_second's row: the second derivatives ∂²f/∂first∂n
        part = lambda n: f"∂²{f}/∂{c.names[c.first]}∂{n}"  # noqa: E731
    else:
        part = lambda n: f"∂{f}/∂{n}"  # noqa: E731
    wrong = [part(n) for n, b in zip(c.names, c.blocks, strict=True) if b.ok is not None and not b.ok.all()]
    if wrong:
        c.fail("formula_parts_wrong", n=len(c.names), which=", ".join(wrong), part=part(c.inp))


def _formula_ratio_elsewhere(c: Comparison):
    """At a single point any wrong value is some multiple of the right one. Is it the same multiple
    at other points? True/False when the formula and autograd could be compared at three nearby
    points (every input moved), None when not (or when more than one point was checked already)."""
    if c.formula is None or c.g.size != 1 or not callable(c.formula) or any(b.numel() != 1 for b in c.bases):
        return None
    ratio = c.g[0] / c.ref[0] if c.ref[0] != 0 else None
    if ratio is None:
        return None
    seen = 0
    for d in (0.137, -0.291, 0.419):
        moved = [float(b.reshape(-1)[0]) for b in c.bases]
        moved = [x0 + d * (1 + 0.61 * i) * max(1.0, abs(x0)) for i, x0 in enumerate(moved)]
        ps = [torch.tensor(m, dtype=torch.float64).reshape(b.shape) for m, b in zip(moved, c.bases, strict=True)]
        try:
            leaves = [p.clone().requires_grad_() for p in ps]
            with torch.enable_grad():
                auto = torch.autograd.grad(c.f(*leaves), leaves[c.bi])[0]
            mine = c.formula(*[p.clone() for p in ps])
            if len(ps) > 1:
                mine = mine[c.bi]
            mine = value_to_f64(mine).reshape(-1)[0]
        except Exception:  # noqa: BLE001 - outside f's domain, or the formula fails there: no evidence
            continue
        auto = float(auto.reshape(-1)[0])
        if not (np.isfinite(auto) and np.isfinite(mine)) or abs(auto) < 1e-8:
            continue
        if abs(mine / auto - ratio) > 1e-6 * max(1.0, abs(ratio)):
            return False
        seen += 1
    return True if seen >= 2 else None


def rule_grad_modified(c: Comparison):
    """``.grad`` is not what the answer's backward passes wrote into it (watched by gc.answer): the
    answer changed it afterwards."""
    if not c.from_grad:
        return None
    rec = grad_writes(c.inputs[c.bi])
    if rec is not None and rec.tampered:
        fn = last_answer.get("fn")
        return c.fail("grad_modified_after_backward", name=c.name,
                      fn=fn.__name__ if fn is not None else "fn")
    return None


def rule_answers_custom_backward(c: Comparison):
    """``.grad`` of an input the last gc.answer call turned, through the student's own custom
    Function, into its result: does that Function's backward disagree with its own forward? Tested
    by finite differences of the forward (see evidence.custom_backward_disagrees)."""
    if c.kind != "grad" or not c.from_grad:
        return None
    x, result = c.inputs[c.bi], last_answer.get("result")
    if not any(a is x for a in last_answer.get("args", ())):
        return None
    name = custom_backward_disagrees(result, x)
    return c.fail("custom_backward_disagrees", function=name) if name else None


def rule_not_finite(c: Comparison):
    """NaN or inf in the gradient or in the analytic answer: named with the element."""
    g, e = c.g, c.e
    if not np.isfinite(g).all():
        bad = int(np.flatnonzero(~np.isfinite(g))[0])
        c.fail("nan_got", name=c.name, point=_point_text(c.names, c.points, c.bi, bad))
        if e is not None and not np.isfinite(e[bad]):
            c.fail("nan_expected", point=_point_text(c.names, c.points, c.bi, bad))
        return c.report
    if e is not None and not np.isfinite(e).all():
        bad = int(np.flatnonzero(~np.isfinite(e))[0])
        return c.fail("nan_expected", point=_point_text(c.names, c.points, c.bi, bad))
    return None


def rule_reference_wrong(c: Comparison):
    """The gradient agrees with finite differences and the analytic answer does not: the formula
    is wrong (in check_formula's words)."""
    if c.e is not None and c.b_here and c.c_here is False:
        _formula_parts(c)
        return _formula_wrong(c.report, c.e, c.g, c.atol, c.point, c.reveal, c.block, c.fd, c.blocks, c.fi)
    return None


def rule_low_precision(c: Comparison):
    """Work in float32/float16/bfloat16, off by no more than that precision can explain."""
    if c.dtype in LOW_PRECISION and compare.close(c.g, c.ref, compare.NEAR_ATOL, LOW_PRECISION[c.dtype]).all():
        rel = float(np.max(np.abs(c.g - c.ref) / np.maximum(np.abs(c.ref), 1e-300)))
        return c.fail("float32_near", rel=rel, dtype=str(c.dtype).replace("torch.", ""))
    return None


def rule_low_precision_rounding(c: Comparison):
    """Work in float32/float16/bfloat16, off by more than rounding usually explains: f's own autograd
    in that dtype, at the same point, gives the student's values, while float64 gives others. The
    dtype's rounding spoiled the gradient (cancellation), not another computation."""
    if c.kind != "grad" or not c.from_grad or c.dtype not in LOW_PRECISION or c.varr is not None:
        return None
    try:
        leaves = [b.detach().to(c.dtype).requires_grad_() for b in c.bases]
        with torch.enable_grad():
            out = c.f(*leaves)
        if not is_tensor(out) or out.numel() != 1 or not out.requires_grad:
            return None
        g = torch.autograd.grad(out.reshape(()), leaves, allow_unused=True)[c.bi]
    except Exception:  # noqa: BLE001 - f may not run in that dtype: no evidence
        return None
    if g is None:
        return None
    mine = g.detach().double().numpy().reshape(-1)
    scale = max(float(np.max(np.abs(c.g))), 1e-30)
    if mine.shape != c.g.shape or not compare.close(c.g, mine, 1e-6 * scale, LOW_PRECISION[c.dtype]).all():
        return None
    rel = float(np.max(np.abs(c.g - c.ref) / np.maximum(np.abs(c.ref), 1e-300)))
    return c.fail("low_precision_rounding", name=c.name, dtype=str(c.dtype).replace("torch.", ""), rel=rel)


#: the relative error below which a value is an approximation of the right one, not a wrong formula;
#: it is also the default float64 rtol, so only a check asking for more can fail within it
NEAR_EXACT_RTOL = 1e-6


def rule_near_exact(c: Comparison):
    """A float64 check asked for (nearly) exact values, and every element agrees to within
    NEAR_EXACT_RTOL: an estimate or a float32 detour, not a wrong formula (named as likely causes)."""
    if c.e is None or c.rtol is None or c.rtol >= NEAR_EXACT_RTOL or c.dtype in LOW_PRECISION:
        return None
    # an element near zero is judged against the vector's scale: a float32 detour leaves it off by
    # more than 1e-6 of itself, while the others agree to 1e-7
    scale = float(np.max(np.abs(c.e))) if c.e.size else 0.0
    if not compare.close(c.g, c.e, max(c.atol, NEAR_EXACT_RTOL * scale), NEAR_EXACT_RTOL).all():
        return None
    return _near_exact(c, c.e)


def near_exact_causes(got, exact, formula: bool = False) -> str:
    """The numbered causes of a near-exact value, likeliest first: values that are all exactly float32
    numbers (where the exact ones are not) were computed in float32; otherwise an estimate leads."""
    got, exact = np.asarray(got, dtype=np.float64), np.asarray(exact, dtype=np.float64)
    in_f32 = bool(np.all(got == got.astype(np.float32))) and not bool(np.all(exact == exact.astype(np.float32)))
    estimate = "cause_estimate_formula" if formula else "cause_estimate"
    causes = ["cause_float32_detour", estimate] if in_f32 else [estimate, "cause_float32_detour"]
    return "\n".join(f"{i}. {t(key)}" for i, key in enumerate(causes, 1))


def _near_exact(c: Comparison, exact, key="near_exact"):
    rel = float(np.max(np.abs(c.g - exact) / np.maximum(np.abs(exact), 1e-300)))
    c.fail(key, name=c.name, rel=rel, rtol=c.rtol, causes=near_exact_causes(c.g, exact, formula=key != "near_exact"))
    if c.reveal:
        c.fail("near_exact_values", point=c.point, got=repr(float(c.g[c.fi])), expected=repr(float(exact[c.fi])))
    return c.report


def rule_wrong_weights(c: Comparison):
    """A vector output: the gradient is vᵀJ for v = 1 or 1/m, or the forward product J·v."""
    if c.kind != "grad" or c.varr is None or c.out_arr.size <= 1:
        return None
    which = _wrong_v(c.f, c.bases, c.bi, c.g, c.out_arr.size, c.atol)
    if which:
        return c.fail("wrong_v", name=c.name, which=t(which))
    if _is_jv(c.f, c.bases, c.bi, c.g, c.varr, c.atol):
        return c.fail("jv_not_vjp", name=c.name, input=c.inp)
    return None


def rule_autograd_wrong_on_f(c: Comparison):
    """Analytic answer and finite differences agree, the gradient does not: is autograd itself
    wrong on f (a custom backward, a partly cut graph)? Tested by running it afresh."""
    if c.e is not None and c.c_here and not c.b_here:
        return _autograd_wrong_on_f(c.report, c.f, c.fresh, c.bi, c.e)
    return None


def rule_common_factor(c: Comparison):
    """The gradient is the same multiple of the answer everywhere: accumulation (on evidence), a
    sign, a constant factor, a sum for a mean."""
    ratio, k, g = c.ratio, c.k, c.g
    if ratio is None:
        return None
    if k is not None and c.accumulated:
        return c.fail(c.accumulated, name=c.name, k=k, input=c.inp, reset=_reset_advice(c.inputs[c.bi], c.inp))
    if k is not None and c.accumulated is None:  # nothing tells: both causes are named
        return c.fail("integer_factor_unknown", name=c.name, k=k, input=c.inp)
    pattern = compare.sign_or_factor(ratio, g.size) if g.size > 1 else None
    if pattern is None:
        return None
    what, frac = pattern
    if what == "sign":
        return c.fail("sign_flipped", name=c.name)
    # the message cites .grad's record of one backward(): only when the gradient was read from .grad
    if c.from_grad and k is not None and k in {b.numel() for b in c.bases} | {c.out_arr.size}:
        return c.fail("constant_factor_sum_mean", name=c.name, factor=frac, hint=t("hint_sum_mean", k=k))
    return c.fail("constant_factor", name=c.name, factor=frac)


def rule_second_includes_first(c: Comparison):
    """check_second: every .grad holds its second derivative plus its first (a backward(create_graph=True)
    on f filled them before the second backward added to them); an H·v handed in that is H·v + ∇f."""
    if c.kind == "second" and c.hvp and not c.from_grad and c.e is not None and len(c.blocks) == 1:
        fx = first_derivative(c.f, c.bases, 0)
        if fx is not None and not compare.close(fx.reshape(-1), np.zeros(fx.size), c.atol, 0.0).all() \
                and compare.close(c.g, c.e + fx.reshape(-1), c.atol * 10, 1e-6).all():
            return c.fail("second_includes_first_hvp", name=c.name)
        return None
    if c.kind != "second" or not c.from_grad or c.exps is None:
        return None
    for k, (b, e) in enumerate(zip(c.blocks, c.exps, strict=True)):
        fx = first_derivative(c.f, c.bases, k)
        if fx is None or not compare.close(b.got.reshape(-1), e.reshape(-1) + fx.reshape(-1), c.atol * 10, 1e-6).all():
            return None
    first = c.names[c.first] if c.first is not None else c.inp
    return c.fail("second_includes_first", name=c.name, input=c.inp, first=first)


def rule_second_is_first(c: Comparison):
    """check_second: every gradient checked is the plain first derivative of f (backward ran once,
    through f, and never through the first derivative)."""
    if c.kind != "second" or c.e is None:
        return None
    firsts = fresh_autograd(c.f, c.bases)[0]
    if firsts is None:
        return None
    for b, d1 in zip(c.blocks, firsts, strict=True):
        d1 = d1.reshape(-1)
        if compare.close(d1, b.analytic.reshape(-1), c.atol, 1e-6).all():  # nothing to tell apart
            return None
        if not compare.close(b.got.reshape(-1), d1, c.atol * 10, 1e-6).all():
            return None
    first = c.names[c.first] if c.first is not None else c.inp  # the row asked for: its advice
    return c.fail("second_is_first_hvp" if c.hvp else "second_is_first", name=c.name, input=c.inp, first=first)


def rule_second_wrong_weights(c: Comparison):
    """check_second with weights v (a Hessian-vector product): the result is H·1 (the gradient
    summed, not weighted by v), (H·v)⊙v (multiplied by v once more), or ∇f⊙v (never differentiated
    twice). Each is computed and compared, element by element."""
    if c.kind != "second" or c.w is None or c.e is None or len(c.bases) != 1:
        return None
    w = np.asarray(c.w, dtype=np.float64).reshape(-1)
    candidates = []
    if not np.allclose(w, 1.0):
        ones = fresh_autograd(c.f, c.bases, None, c.first)[0]
        if ones is not None:
            candidates.append(("second_wrong_v", ones[0].reshape(-1)))
    candidates.append(("second_times_v_again", c.e * w))
    d1 = first_derivative(c.f, c.bases, c.first)
    if d1 is not None:
        candidates.append(("second_first_times_v", d1.reshape(-1) * w))
    for key, value in candidates:
        if compare.close(value, c.e, c.atol, 1e-6).all():  # the same as the right answer here
            continue
        if compare.close(c.g, value, c.atol * 10, 1e-6).all():
            return c.fail(key, name=c.name, input=c.inp)
    return None


def rule_grad_zeroed_in_answer(c: Comparison):
    """A .grad of zeros read after the student's function, whose code resets a gradient after its
    backward() (``x.grad.zero_()``, ``zero_grad()``), where the true gradient is not zero."""
    if c.kind not in ("grad", "second") or not c.from_grad or c.g.any() or not c.ref.any():
        return None
    fn = answered_fn(c.inputs[c.bi])
    clear = _find_clearing(fn) if fn is not None else None
    if clear:
        return c.fail("grad_zeroed_in_answer", name=c.inp, fn=fn.__name__, clear=clear)
    # a leaf the test handed in: the answer's own backward wrote a gradient that is not zero, and
    # .grad holds zeros now, so the answer zeroed it afterwards (b.grad.zero_(), an assignment)
    rec, fn = grad_writes(c.inputs[c.bi]), last_answer.get("fn")
    if rec is not None and fn is not None and rec.cleared and rec.leaf.grad is not None \
            and any(bool(w.any()) for w in rec.every):
        return c.fail("grad_zeroed_after_backward", name=c.inp, fn=fn.__name__)
    return None


def rule_second_rows_added(c: Comparison):
    """check_second from .grad: the row asked for plus another input's row (backward() ran from
    ∂f/∂other, then from ∂f/∂first, into the same .grad)."""
    if c.kind != "second" or not c.from_grad:
        return None
    other = _rows_added(c.f, c.bases, c.first, c.w, c.blocks, c.atol)
    if other is not None:
        return c.fail("second_rows_added", name=c.name, first=c.names[c.first], other=c.names[other])
    return None


def rule_second_wrong_first(c: Comparison):
    """check_second: the derivative of another input's first derivative (matched by finite differences)."""
    if c.kind != "second":
        return None
    other = _other_first(c.f, c.bases, c.first, c.w, c.blocks, c.atol)
    if other is not None:
        return c.fail("second_wrong_first", name=c.name, first=c.names[c.first], other=c.names[other])
    return None


#: at most this many uses of one input are tried in subsets (2^n sums)
_MAX_PATHS = 10


def rule_missing_paths(c: Comparison):
    """An input used several times in f (fan-out): is the gradient the sum of only some of the
    contributions its uses send back? Tested by computing each use's contribution (hooks on f's
    graph, at fresh leaves) and every proper subset's sum, while autograd on f itself is right."""
    if c.kind != "grad" or c.block.fd is None:
        return None
    fresh = c.fresh[0]
    if fresh is None or not compare.close(fresh[c.bi].reshape(-1), c.block.fd.reshape(-1),
                                          10 * c.fd.roundoff + 1e-10, compare.FD_RTOL[1]).all():
        return None
    paths = path_contributions(c.f, c.bases, c.varr)
    if paths is None:
        return None
    uses = [p.reshape(-1) for p in paths[c.bi]]
    if not 2 <= len(uses) <= _MAX_PATHS:
        return None
    for other in fresh:  # another input's gradient (answers swapped) explains it as well: no claim
        if other.size == c.g.size and compare.close(c.g, other.reshape(-1), c.atol * 10, 1e-6).all():
            return None
    sums = [(subset, sum(uses[j] for j in subset)) for size in range(1, len(uses))
            for subset in itertools.combinations(range(len(uses)), size)]
    matches = [(subset, partial) for subset, partial in sums
               if not compare.close(partial, fresh[c.bi].reshape(-1), c.atol, 1e-6).all()  # else nothing to tell
               and compare.close(c.g, partial, c.atol * 10, 1e-6).all()]
    if len({len(subset) for subset, _ in matches}) == 1:  # one answer to "how many uses are missing"
        size = len(matches[0][0])
        listed = "\n".join(f"{i}. {t(key, input=c.inp)}" for i, key in enumerate(_missing_path_causes(c), 1))
        return c.fail("missing_paths", name=c.name, input=c.inp, k=len(uses), m=size, causes=listed)
    return None


def _missing_path_causes(c: Comparison) -> list[str]:
    """The likely causes of a gradient missing some uses' contributions, likeliest first: a cut the
    answer's code shows; a backward written by hand (the answer returned its own graph objects, with
    a ``_backward``) overwriting instead of adding; a term forgotten in a derivative by hand."""
    fn, result = last_answer.get("fn"), last_answer.get("result")
    cut_shown = fn is not None and _find_culprit(fn) is not None
    if c.from_grad:  # torch's backward adds every use: a cut loses one, or the code lacks that term
        return ["cause_use_cut", "cause_code_differs"] if cut_shown else ["cause_code_differs", "cause_use_cut"]
    hand_backward = result is not None and not is_tensor(result) and hasattr(result, "_backward")
    if hand_backward:  # an engine of its own: no autograd to hide a use from (its .data is not torch's)
        return ["cause_use_overwritten", "cause_term_forgotten"]
    causes = ["cause_term_forgotten", "cause_use_overwritten"]
    return ["cause_use_cut"] + causes if cut_shown else causes + ["cause_use_cut"]


def rule_grad_from_elsewhere(c: Comparison):
    """autograd run afresh on f agrees with finite differences (and the analytic answer), the
    gradient does not: it came from another computation; the causes are listed, likeliest first."""
    if c.e is None and c.block.fd is not None:  # no analytic answer: autograd afresh may stand in
        fresh = c.fresh[0]
        order = 2 if c.kind == "second" else 1
        if fresh is not None and compare.close(fresh[c.bi].reshape(-1), c.block.fd.reshape(-1),
                                               10 * c.fd.roundoff + 1e-10, compare.FD_RTOL[order]).all():
            return _grad_from_elsewhere(c.report, c.name, c.inp, c.g, fresh[c.bi].reshape(-1), fresh, c.accumulated,
                                        c.from_grad, c.point, c.reveal, c.block, c.fd, c.blocks, c.fi,
                                        analytic=False)
    if c.e is not None and c.c_here and not c.b_here:
        return _grad_from_elsewhere(c.report, c.name, c.inp, c.g, c.e, c.fresh[0], c.accumulated, c.from_grad,
                                    c.point, c.reveal, c.block, c.fd, c.blocks, c.fi, kind=c.kind)
    return None


def rule_mismatch(c: Comparison):
    """Nothing more is known: where it differs most, and by how much."""
    if c.reveal:
        got, expected = fmt_apart(c.g[c.fi], c.ref[c.fi])
        return c.fail("mismatch", name=c.name, point=c.point, got=got, expected=expected)
    return c.fail("mismatch_hidden", name=c.name, point=c.point)


RULES = [rule_projections_only, rule_formula_under_test, rule_grad_modified, rule_not_finite,
         rule_grad_zeroed_in_answer, rule_reference_wrong,
         rule_low_precision, rule_low_precision_rounding, rule_near_exact, rule_wrong_weights, rule_second_is_first, rule_second_wrong_weights,
         rule_autograd_wrong_on_f, rule_common_factor, rule_answers_custom_backward, rule_second_includes_first,
         rule_second_rows_added, rule_second_wrong_first, rule_missing_paths, rule_grad_from_elsewhere, rule_mismatch]


def diagnose(comparison: Comparison) -> Report:
    """The first rule whose hypothesis the evidence confirms speaks; rule_mismatch always does."""
    for rule in RULES:
        report = rule(comparison)
        if report is not None:
            return report
    return comparison.report

def _diagnose_projections(c: Comparison):
    """Without an analytic answer a large gradient is seen only through uᵀ·gradient. If every
    direction shows the same ratio to the finite difference, the gradient is that multiple of the
    true one (four random directions leave no other explanation); otherwise no cause is claimed."""
    ratio = None
    if all(abs(est) > 0 for _, est in c.fd.projections):
        ratios = [ug / est for ug, est in c.fd.projections]
        ratio = ratios[0]
        if not all(abs(r - ratio) <= 1e-3 * max(1.0, abs(ratio)) for r in ratios):
            ratio = None
    if ratio is not None and abs(ratio - 1) > 1e-3:
        sizes = {b.numel() for b in c.bases} | {c.out_arr.size}
        k = compare.as_integer(ratio)
        accumulated = _accumulated(c.inputs[c.bi], c.f, c.bases, c.bi, k, c.varr) if c.from_grad else False
        if k is not None and accumulated:
            return c.fail(accumulated, name=c.name, k=k, input=c.inp, reset=_reset_advice(c.inputs[c.bi], c.inp))
        if k is not None and accumulated is None:
            return c.fail("integer_factor_unknown", name=c.name, k=k, input=c.inp)
        if abs(ratio + 1) <= 1e-3:
            return c.fail("sign_flipped", name=c.name)
        inverse = round(1 / ratio)
        if c.from_grad and (k in sizes or (inverse in sizes and abs(ratio * inverse - 1) <= 1e-3)):
            factor = str(k) if k in sizes else f"1/{inverse}"
            return c.fail("constant_factor_sum_mean", name=c.name, factor=factor,
                          hint=t("hint_sum_mean", k=k if k in sizes else inverse))
        twelfths = round(ratio * 12)  # the probes measure a ratio to ~1e-5: snap it to a simple fraction
        frac = compare.as_simple_fraction(twelfths / 12 if abs(ratio * 12 - twelfths) <= 1e-3 * abs(ratio * 12)
                                          else ratio, 2)
        if frac:
            return c.fail("constant_factor", name=c.name, factor=frac)
    ug, est = c.fd.projections[c.fd.shown]  # the direction the footer shows
    return c.fail("projection_mismatch", name=c.name, size=sum(b.numel() for b in c.bases),
                  got=fmt(ug) if c.reveal else t("hidden_value"),
                  fd=fmt(est) if c.reveal else t("hidden_value"))


def _formula_wrong(report, formula, autograd, atol, point, reveal, block, fd, blocks, fi, same_ratio_elsewhere=None):
    """The analytic formula disagrees with autograd and finite differences (which agree): its sign,
    a constant factor, or just wrong. At a single point a ratio proves nothing by itself: a sign or a
    factor is claimed there only when the same ratio was found at other points."""
    everywhere = formula.size > 1 or same_ratio_elsewhere is True
    pattern = compare.sign_or_factor(compare.common_ratio(formula, autograd, atol), formula.size) if everywhere else None
    if pattern == ("sign", None):
        return fail(report, "formula_sign_flipped")
    if pattern is not None:
        return fail(report, "formula_constant_factor", factor=pattern[1])
    if reveal:
        if block.fd is None:  # directional probes only: no finite difference at this element to quote
            return fail(report, "formula_wrong_directional", point=point, analytic=fmt(formula[fi]),
                        autograd=fmt(autograd[fi]))
        return fail(report, "formula_wrong", point=point, analytic=fmt(formula[fi]), autograd=fmt(autograd[fi]),
                    fd=fmt(block.fd.reshape(-1)[fi]))
    return fail(report, "formula_wrong_hidden", point=point)


def _autograd_wrong_on_f(report, f, fresh_and_out, bi, e):
    """The diagnosis when autograd, run afresh on ``f``, disagrees with ``f``'s own finite differences
    (which the analytic answer matches): a custom backward or a partly cut graph; else None."""
    fresh, out = fresh_and_out
    if fresh is None or compare.close(fresh[bi].reshape(-1), e, 1e-8, 1e-6).all():
        return None
    custom = custom_functions(out)
    if custom:
        fail(report, "custom_backward_wrong", function=", ".join(custom))
        g = fresh[bi].reshape(-1)
        pattern = compare.sign_or_factor(compare.common_ratio(g, e, 1e-8), g.size) if g.size > 1 else None
        if pattern == ("sign", None):
            fail(report, "custom_backward_sign")
        elif pattern is not None:
            fail(report, "custom_backward_factor", factor=pattern[1])
        return report
    culprit = _find_culprit(f)
    return fail(report, "autograd_partial_cut",
                 culprit=t("culprit_found", culprit=culprit) if culprit else t("culprit_none"))


def _grad_from_elsewhere(report, name, inp, g, e, fresh, accumulated, from_grad, point, reveal, block, fd, blocks,
                         fi, analytic=True, kind="grad"):
    """The analytic answer (when ``analytic``), finite differences and autograd run afresh on ``f``
    (``fresh``) agree, the gradient does not: it came from another computation; the causes are
    listed, likeliest first."""
    if fresh is not None:
        causes = [] if from_grad else ["cause_got_other_code"]  # got=: perhaps no torch autograd at all
        source = caller_source()
        polluted = accumulated in ("accumulated", "accumulated_likely")
        if from_grad and polluted:
            causes.append("cause_polluted")
        if _IN_PLACE.search(_without_comments(source)):
            causes.append("cause_saved_modified")
        causes.append("cause_code_differs")
        if from_grad and not polluted and accumulated is None:  # False: .grad was certainly written once
            causes.append("cause_polluted")
        if "cause_saved_modified" not in causes:
            causes.append("cause_saved_modified")
        listed = "\n".join(f"{i}. {t(c, name=name, input=inp)}" for i, c in enumerate(causes, 1))
        key = ("second_not_from_f" if kind == "second" else "grad_not_from_f") if analytic else "grad_not_from_f_fd"
        fail(report, key, name=name, causes=listed)
        if reveal:
            got, expected = fmt_apart(g[fi], e[fi])
            report.messages.append(t("mismatch", name=name, point=point, got=got, expected=expected))
        return report
    if reveal:
        if block.fd is None:
            return fail(report, "code_differs_directional", point=point, autograd=fmt(g[fi]), analytic=fmt(e[fi]))
        return fail(report, "code_differs", point=point, autograd=fmt(g[fi]), fd=fmt(block.fd.reshape(-1)[fi]))
    return fail(report, "code_differs_hidden", point=point)


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


def _rows_added(f, bases, first, w, blocks, atol):
    """check_second: another input whose row, added to the row asked for, matches every block."""
    try:
        asked = second_order(f, bases, first, w)
    except Exception:  # noqa: BLE001 - no evidence then
        return None
    if not asked.elementwise:
        return None
    for other in range(len(bases)):
        if other == first or bases[other].shape != bases[first].shape:
            continue
        try:
            fd = second_order(f, bases, other, w)
        except Exception:  # noqa: BLE001
            continue
        tol = 10 * atol + 10 * (fd.roundoff + asked.roundoff)
        if all(compare.close(b.got.reshape(-1), (a + d).reshape(-1), tol, compare.FD_RTOL[2]).all()
               and not compare.close(b.got.reshape(-1), a.reshape(-1), tol, compare.FD_RTOL[2]).all()
               for b, a, d in zip(blocks, asked.values, fd.values, strict=True)):
            return other
    return None


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


