"""Plain-language explanations of the autograd errors students meet in these lessons.

Opt in with ``with gc.explain_errors(): ...`` around a cell's code, or once per notebook with
``gc.enable_explanations()`` (an IPython exception hook: the traceback stays, the explanation
follows it).
"""
from __future__ import annotations

import inspect
import re
import sys
from contextlib import contextmanager

import torch

from .i18n import t

# (pattern in str(exc), catalogue key); the first match wins
_PATTERNS = [
    (r"backward through the graph a second time", "err_backward_twice"),
    (r"grad can be implicitly created only for scalar outputs", "err_scalar_only"),
    (r"modified by an inplace operation", "err_inplace"),
    (r"does not require grad and does not have a grad_fn", "err_no_grad_fn"),
    (r"Mismatch in shape: grad_output\[\d+\] has a shape of", "err_grad_output_shape"),
    (r"appears to not have been used in the graph", "err_allow_unused"),
    (r"returned an invalid gradient at index", "err_invalid_gradient"),
    (r"returned an incorrect number of gradients", "err_gradient_count"),
    (r"Inference tensors cannot be saved for backward", "err_inference_saved"),
    (r"you can only change requires_grad flags of leaf variables", "err_requires_grad_non_leaf"),
    (r"must override the setup_context staticmethod", "err_setup_context"),
    (r"'NoneType' object has no attribute '(zero_|data|item|numpy|detach|clone|abs|sum|tolist)'"
     r"|unsupported operand type\(s\) for .*'NoneType'", "err_grad_none_attr"),
    (r"Only Tensors of floating point.*can require gradients", "err_int_requires_grad"),
    (r"a leaf Variable that requires grad is being used in an in-place operation", "err_leaf_inplace"),
    (r"Can't call numpy\(\) on Tensor that requires grad", "err_numpy_requires_grad"),
    (r"Function '(?P<function>\w+)' returned nan values in its (?P<index>\d+)th output", "err_anomaly_nan"),
    (r"maximum recursion depth exceeded", "err_recursion"),
    (r"more than one element of the written-to tensor refers to a single memory location", "err_inplace_expanded"),
]


def explain(exc: BaseException | str) -> str | None:
    """The explanation of an exception (or its message) in the current language, or None."""
    found = explain_key(exc)
    return t(found[0], **found[1]) if found else None


def explain_key(exc: BaseException | str):
    """(catalogue key, its values) of the explanation of ``exc``, or None."""
    text = exc if isinstance(exc, str) else str(exc)
    for pattern, key in _PATTERNS:
        m = re.search(pattern, text)
        if m:
            if key == "err_grad_none_attr" and grad_none_on_value(exc):
                return "err_grad_none_value", {}  # an engine of the notebook's own: its .grad starts at 0.0
            if key == "err_no_grad_fn":
                if _inputs_require_grad(exc):
                    return "err_no_grad_fn_inputs", {}  # not "set requires_grad": a gradient made without create_graph?
                cut = _answer_result_cut(exc)
                if cut:
                    return cut
            return key, m.groupdict()
    return None


def grad_none_on_value(exc) -> bool:
    """Whether the None ``.grad`` the error met belongs to an object of the notebook's own (lesson 07's
    ``Value``), not to a tensor: the raising frame holds such an object whose ``grad`` is None and no
    leaf tensor whose ``.grad`` is None. The grader passes the verdict on as
    ``gradcoach_grad_none_value``, since the student's frames do not cross to it."""
    if hasattr(exc, "gradcoach_grad_none_value"):
        return exc.gradcoach_grad_none_value is True
    tb = getattr(exc, "__traceback__", None)
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    own = tensor = False
    for value in list(tb.tb_frame.f_locals.values()):
        if isinstance(value, torch.Tensor):
            tensor = tensor or (value.is_leaf and value.grad is None)
        else:
            attrs = getattr(value, "__dict__", None)
            own = own or (type(attrs) is dict and "grad" in attrs and attrs["grad"] is None)
    return own and not tensor


def _backward_target(exc):
    """The tensor whose backward() raised (from the traceback of Tensor.backward), or None."""
    tb = getattr(exc, "__traceback__", None)
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_name == "backward" and "torch" in frame.f_code.co_filename:
            target = frame.f_locals.get("self", frame.f_locals.get("tensors"))
            if isinstance(target, (tuple, list)) and len(target) == 1:
                target = target[0]
            return target if isinstance(target, torch.Tensor) else None
        tb = tb.tb_next
    return None


def _answer_result_cut(exc):
    """backward() on the very tensor a gc.answer(fn, ...) call returned, which has no grad_fn while an
    argument of fn requires grad: the result was cut from that argument. The evidence is tested (no
    grad_fn, an input that requires grad); the culprit is named only when fn's source shows one."""
    from .diagnose import _find_culprit
    from .evidence import last_answer
    target = _backward_target(exc)
    fn = last_answer.get("fn")
    if target is None or fn is None or last_answer.get("result") is not target:
        return None
    if target.grad_fn is not None or target.requires_grad:
        return None
    args = last_answer.get("args", ())
    try:
        params = [p.name for p in inspect.signature(fn).parameters.values()]
    except (TypeError, ValueError):
        params = []
    for i, a in enumerate(args):
        if isinstance(a, torch.Tensor) and a.requires_grad:
            name = params[i] if i < len(params) else f"argument {i + 1}"
            culprit = _find_culprit(fn)
            values = {"fn": fn.__name__, "input": name}
            return ("err_result_cut", dict(values, culprit=culprit)) if culprit else ("err_result_cut_unknown", values)
    return None


def _inputs_require_grad(exc) -> bool:
    """Whether the torch.autograd.grad call that raised was asked about inputs that require grad."""
    tb = getattr(exc, "__traceback__", None)
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_name == "grad" and "torch" in frame.f_code.co_filename:
            inputs = frame.f_locals.get("inputs")
            inputs = inputs if isinstance(inputs, (tuple, list)) else (inputs,)
            return bool(inputs) and all(getattr(i, "requires_grad", False) for i in inputs)
        tb = tb.tb_next
    return False


class _Explanation:
    """Shows as a highlighted box in Jupyter, as text elsewhere."""

    def __init__(self, text: str):
        self.text = text

    def __str__(self) -> str:
        return f"💡 {t('err_title')}{t('title_sep')}{self.text}"

    __repr__ = __str__  # what text-only front ends show

    def _repr_html_(self) -> str:
        import html

        from .report import _html_text
        return ('<div class="gradcoach-explanation" style="border-left:4px solid #2f6feb;padding:4px 10px;'
                f'margin:4px 0;background:#eef4ff"><strong>💡 {html.escape(t("err_title"))}</strong><br>'
                f"{_html_text(self.text)}</div>")


def _show(text: str) -> None:
    box = _Explanation(text)
    ipython = sys.modules.get("IPython")
    if ipython is not None and ipython.get_ipython() is not None:
        from IPython.display import display
        display(box)
    else:
        print(box, file=sys.stderr)


@contextmanager
def explain_errors(reraise: bool = True):
    """Explain an autograd error raised inside the block.

    With ``reraise=False`` the error is shown (its last line and the explanation) and swallowed,
    so a lesson can demonstrate an error without stopping "Run All".
    """
    try:
        yield
    except Exception as exc:
        text = explain(exc) or t("err_unknown")
        if not reraise:
            print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        _show(text)
        if reraise:
            raise


def enable_explanations() -> bool:
    """Install an IPython hook that adds an explanation under autograd tracebacks.

    Returns False outside IPython (nothing to install).
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    if ip is None:
        return False

    def handler(shell, etype, value, tb, tb_offset=None):
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        text = explain(value)
        if text:
            _show(text)

    ip.set_custom_exc((RuntimeError, TypeError, AttributeError), handler)
    return True
