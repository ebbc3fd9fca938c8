"""Turn student values into float64 NumPy arrays without trusting them.

Only genuine ``torch.Tensor`` (or ``nn.Parameter``) objects of a floating dtype, and plain
``float``/``int`` numbers, are accepted, checked with exact ``type(...) is`` tests: a subclass
that overrides comparisons, or an object with its own ``__eq__``/``__float__``/``__bool__``,
never reaches a comparison. The torch and NumPy functions used here are captured at import time,
so a student who later monkeypatches ``torch.Tensor.numpy`` or ``numpy.abs`` changes nothing.
"""
from __future__ import annotations

import types

import numpy
import torch

# gradcoach's modules use this snapshot of NumPy's namespace, taken at import: a student who later
# replaces numpy.abs or numpy.allclose changes nothing here.
np = types.SimpleNamespace(**vars(numpy))

_TENSOR_TYPES = (torch.Tensor, torch.nn.Parameter)
_TensorBase = torch._C.TensorBase
_grad_get = _TensorBase.__dict__["grad"].__get__
_detach = _TensorBase.detach
_to = _TensorBase.to
_resolve_conj = _TensorBase.resolve_conj
_resolve_neg = _TensorBase.resolve_neg
_numpy = _TensorBase.numpy
_is_floating = _TensorBase.is_floating_point
_float64 = torch.float64
_cpu = torch.device("cpu")
_asarray = np.asarray
_ndarray = np.ndarray
_np_float64 = np.float64
_is_complex = _TensorBase.is_complex


class NotGenuine(TypeError):
    """A value gradcoach refuses to compare; ``.kind`` says what it was."""

    def __init__(self, kind: str, dtype: str | None = None):
        super().__init__(kind)
        self.kind = kind
        self.dtype = dtype


def is_tensor(obj) -> bool:
    return type(obj) in _TENSOR_TYPES


def grad_of(tensor):
    """``tensor.grad`` read through the original descriptor."""
    return _grad_get(tensor)


def describe(obj) -> str:
    kind = type(obj)
    return f"{kind.__module__}.{kind.__qualname__}" if kind.__module__ != "builtins" else kind.__qualname__


def tensor_to_f64(t) -> np.ndarray:
    """A genuine floating tensor on any device → a new float64 NumPy array."""
    if not is_tensor(t):
        raise NotGenuine(describe(t))
    if not _is_floating(t) or _is_complex(t):
        raise NotGenuine("tensor", str(t.dtype))
    with torch._C.DisableTorchFunction():
        out = _to(_detach(t), device=_cpu, dtype=_float64, copy=True)
        out = _resolve_neg(_resolve_conj(out))
        return _numpy(out)


def value_to_f64(value) -> np.ndarray:
    """Tensor, plain number or float NumPy array (trusted answers only) → float64 array."""
    if is_tensor(value):
        return tensor_to_f64(value)
    if type(value) in (float, int):
        return _asarray(value, dtype=_np_float64)
    if type(value) is _ndarray or type(value) is _np_float64 or isinstance(value, np.floating):
        return _asarray(value, dtype=_np_float64)
    raise NotGenuine(describe(value))


def student_value_to_f64(value) -> np.ndarray:
    """Like :func:`value_to_f64`, but NumPy objects are refused too: students hand in tensors or
    plain numbers."""
    if is_tensor(value) or type(value) in (float, int):
        return value_to_f64(value)
    if type(value) is bool:
        raise NotGenuine("bool")
    raise NotGenuine(describe(value))
