"""Evaluating the function under check in float64, whatever tensors it captured.

gradcoach differentiates ``f`` on float64 copies of the inputs. A student's ``f`` often closes over
float32 tensors (``lambda x: W @ x``), which then meets a float64 ``x`` and raises a dtype error.
:func:`float64_function` retries such an ``f`` under a torch-function mode that up-casts every
lower-precision floating tensor argument to float64, so the captured ``W`` is read in float64 too.
"""
from __future__ import annotations

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_map

from .i18n import t

_LOW = (torch.float32, torch.float16, torch.bfloat16)


class GradcoachUsageError(ValueError):
    """gradcoach was called with an argument it cannot use; the message says which and how to fix it.

    In IPython only the message is shown (no traceback through gradcoach's own code)."""

    def _render_traceback_(self):
        return [f"{type(self).__name__}: {self}"]


def usage_error(key: str, **values) -> GradcoachUsageError:
    return GradcoachUsageError(t(key, **values))


def _up(value):
    if type(value) in (torch.Tensor, torch.nn.Parameter) and value.dtype in _LOW:
        return value.to(torch.float64)
    return value


class _Float64Mode(TorchFunctionMode):
    """Every floating tensor argument of lower precision is read as float64."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        args, kwargs = tree_map(_up, (tuple(args), dict(kwargs or {})))
        return func(*args, **kwargs)


def float64_function(f, bases):
    """``(g, out)``: ``g`` is ``f`` itself when it runs on the float64 ``bases``, else ``f`` under the
    up-casting mode; ``out`` is its value at ``bases`` (no graph).

    Raises a localized :class:`GradcoachUsageError` when ``f`` cannot be evaluated at all.
    """
    try:
        with torch.no_grad():
            out = f(*[b.clone() for b in bases])
        if type(out) in (torch.Tensor, torch.nn.Parameter) and out.dtype not in _LOW:
            return f, out
        if type(out) not in (torch.Tensor, torch.nn.Parameter, float, int):
            raise usage_error("usage_f_returns", kind=type(out).__name__)
        first_error = None
    except GradcoachUsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - any error of the student's f is reported below
        first_error = exc

    def upcast(*args):
        with _Float64Mode():
            return f(*args)

    try:
        with torch.no_grad():
            out = upcast(*[b.clone() for b in bases])
    except Exception as exc:  # noqa: BLE001
        error = first_error or exc
        raise usage_error("usage_f_failed", error=f"{type(error).__name__}: {error}") from None
    return upcast, out
