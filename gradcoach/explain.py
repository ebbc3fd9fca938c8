"""Plain-language explanations of the autograd errors students meet in these lessons.

Opt in with ``with gc.explain_errors(): ...`` around a cell's code, or once per notebook with
``gc.enable_explanations()`` (an IPython exception hook: the traceback stays, the explanation
follows it).
"""
from __future__ import annotations

import re
import sys
from contextlib import contextmanager

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
]


def explain(exc: BaseException | str) -> str | None:
    """The explanation of an exception (or its message) in the current language, or None."""
    text = exc if isinstance(exc, str) else str(exc)
    for pattern, key in _PATTERNS:
        if re.search(pattern, text):
            if key == "err_no_grad_fn" and _inputs_require_grad(exc):
                key = "err_no_grad_fn_inputs"  # not "set requires_grad": a gradient made without create_graph?
            return t(key)
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
        return f"💡 {t('err_title')}: {self.text}"

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
