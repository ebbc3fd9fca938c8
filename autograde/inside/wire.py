"""The data that crosses between the checker and the student's kernel: JSON, tensors as bytes.

Both sides of inside/checker.py and inside/bridge.py use these functions. What the checker
decodes comes from the student's process, so :func:`decode` builds only plain values (None,
bool, int, float, str, lists, tuples, dicts with string keys, tensors and NumPy arrays of a
known dtype whose byte count matches their shape) and never unpickles or evaluates anything;
an object it does not know stays an :class:`Opaque` that no check accepts. Functions travel
only from the checker to the student (:func:`encode` with ``code=True``: marshalled code and the
values it reads), never back. Standard library, NumPy and torch only (mounted at /opt/autograde).
"""
from __future__ import annotations

import base64
import builtins
import marshal
import math
import sys
import types

import numpy
import torch

MAX_DEPTH = 32
MAX_ELEMENTS = 50_000_000
_DTYPES = {str(d).replace("torch.", ""): d for d in (
    torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.complex64, torch.complex128, torch.int64,
    torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool)}
_NP_DTYPES = ("float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8", "bool", "complex128",
              "complex64")


class WireError(ValueError):
    """Data that does not follow the format (from a hostile or broken peer)."""


class Opaque:
    """A student value that is not plain data (an object of the student's own class, a function):
    the checker sees its type's name and nothing else; no gradcoach check accepts it."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str):
        self.type_name = str(type_name)[:80]

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def tensor_bytes(t: torch.Tensor) -> bytes:
    with torch._C.DisableTorchFunction():
        flat = torch._C.TensorBase.detach(t).cpu().contiguous().reshape(-1)
        if flat.dtype == torch.bfloat16:
            flat = flat.view(torch.int16)
        if flat.is_conj():
            flat = flat.resolve_conj()
        return flat.numpy().tobytes()


def tensor_data(t: torch.Tensor) -> dict:
    return {"t": "tensor", "dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
            "data": _b64(tensor_bytes(t))}


def make_tensor(d: dict) -> torch.Tensor:
    """A fresh tensor (no graph) from :func:`tensor_data`'s dict, validated."""
    dtype = _DTYPES.get(d.get("dtype"))
    shape = d.get("shape")
    if dtype is None or type(shape) is not list or len(shape) > 16 or \
            not all(type(n) is int and 0 <= n <= MAX_ELEMENTS for n in shape):
        raise WireError("bad tensor")
    numel = math.prod(shape)
    if numel > MAX_ELEMENTS:
        raise WireError("tensor too large")
    raw = base64.b64decode(_str(d.get("data")), validate=True)
    size = torch.empty((), dtype=dtype).element_size()
    if len(raw) != numel * size:
        raise WireError("tensor size")
    if numel == 0:
        return torch.empty(shape, dtype=dtype)
    if dtype == torch.bfloat16:
        return torch.frombuffer(bytearray(raw), dtype=torch.int16).view(torch.bfloat16).reshape(shape).clone()
    return torch.frombuffer(bytearray(raw), dtype=dtype).reshape(shape).clone()


def _str(value) -> str:
    if type(value) is not str:
        raise WireError("expected a string")
    return value


def plain(value, depth: int = 0, tensor=None, other=None):
    """Encode a plain value; ``tensor(t)`` encodes a tensor (default: its data only), ``other(v)``
    any other object (returning None where it does not know it). Anything else becomes
    ``{"t": "opaque"}``."""
    if depth > MAX_DEPTH:
        raise WireError("nested too deeply")
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return value if math.isfinite(value) else {"t": "float", "v": repr(value)}
    if kind in (list, tuple):
        items = [plain(v, depth + 1, tensor, other) for v in value]
        return items if kind is list else {"t": "tuple", "v": items}
    if kind in (set, frozenset):
        return {"t": "set", "v": [plain(v, depth + 1, tensor, other) for v in value]}
    if kind is dict and all(type(k) is str for k in value):
        return {"t": "dict", "v": {k: plain(v, depth + 1, tensor, other) for k, v in value.items()}}
    if kind in (torch.Tensor, torch.nn.Parameter):
        return tensor(value) if tensor is not None else tensor_data(value)
    if kind is torch.dtype:
        return {"t": "dtype", "v": str(value).replace("torch.", "")}
    if kind is torch.Size:
        return {"t": "size", "v": [int(n) for n in value]}
    if kind is complex:
        return {"t": "complex", "v": [value.real, value.imag]}
    if kind is numpy.ndarray or isinstance(value, numpy.generic):
        array = numpy.asarray(value)
        if array.dtype.name in _NP_DTYPES:
            return {"t": "ndarray", "scalar": kind is not numpy.ndarray, "dtype": array.dtype.name,
                    "shape": list(array.shape), "data": _b64(numpy.ascontiguousarray(array).tobytes())}
    if other is not None:
        encoded = other(value)
        if encoded is not None:
            return encoded
    return {"t": "opaque", "type": getattr(kind, "__name__", "object")}


def decode(value, depth: int = 0, tensor=None, other=None):
    """The inverse of :func:`plain`: ``tensor(d)`` and ``other(d)`` build the tagged dicts the
    caller knows (tensor facts, references); by default a tensor is :func:`make_tensor`."""
    if depth > MAX_DEPTH:
        raise WireError("nested too deeply")
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    if kind is list:
        return [decode(v, depth + 1, tensor, other) for v in value]
    if kind is not dict:
        raise WireError("unknown value")
    tag = value.get("t")
    if tag == "tensor":
        return tensor(value) if tensor is not None else make_tensor(value)
    if tag == "tuple":
        return tuple(decode(v, depth + 1, tensor, other) for v in _list(value.get("v")))
    if tag == "set":
        return set(decode(v, depth + 1, tensor, other) for v in _list(value.get("v")))
    if tag == "dict":
        items = value.get("v")
        if type(items) is not dict:
            raise WireError("bad dict")
        return {_str(k): decode(v, depth + 1, tensor, other) for k, v in items.items()}
    if tag == "float":
        text = _str(value.get("v"))
        if text not in ("nan", "inf", "-inf"):
            raise WireError("bad float")
        return float(text)
    if tag == "complex":
        re_im = _list(value.get("v"))
        if len(re_im) != 2 or not all(type(x) in (int, float) for x in re_im):
            raise WireError("bad complex")
        return complex(*re_im)
    if tag == "dtype":
        dtype = _DTYPES.get(value.get("v"))
        if dtype is None:
            raise WireError("bad dtype")
        return dtype
    if tag == "size":
        dims = _list(value.get("v"))
        if not all(type(n) is int and n >= 0 for n in dims):
            raise WireError("bad size")
        return torch.Size(dims)
    if tag == "ndarray":
        name, shape = value.get("dtype"), _list(value.get("shape"))
        if name not in _NP_DTYPES or not all(type(n) is int and 0 <= n <= MAX_ELEMENTS for n in shape) or \
                math.prod(shape) > MAX_ELEMENTS:
            raise WireError("bad array")
        raw = base64.b64decode(_str(value.get("data")), validate=True)
        dtype = numpy.dtype(name)
        if len(raw) != math.prod(shape) * dtype.itemsize:
            raise WireError("array size")
        array = numpy.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        return array[()] if value.get("scalar") else array
    if tag == "opaque":
        return Opaque(_str(value.get("type", "object")))
    if other is not None:
        return other(value)
    raise WireError(f"unknown tag {tag!r}")


def _list(value) -> list:
    if type(value) is not list:
        raise WireError("expected a list")
    return value


# --- the checker's functions, sent to the student's side as arguments -------------------------

def _names_of(code: types.CodeType) -> set:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names_of(const)
    return names


def encode_function(fn, encode_value, depth: int) -> dict:
    """A checker function (a test's ``f``) as code plus the values it reads: globals by name
    (modules by their name), closure cells and defaults."""
    if depth > 8:
        raise WireError("functions nested too deeply")
    space = fn.__globals__
    globs = {}
    for name in sorted(_names_of(fn.__code__)):
        if name in space:
            value = space[name]
            globs[name] = {"t": "module", "v": value.__name__} if isinstance(value, types.ModuleType) \
                else encode_value(value, depth + 1)
    cells = [encode_value(c.cell_contents, depth + 1) if _filled(c) else {"t": "empty"}
             for c in fn.__closure__ or ()]
    return {"t": "function", "code": _b64(marshal.dumps(fn.__code__)), "name": fn.__name__, "globals": globs,
            "closure": cells, "defaults": encode_value(tuple(fn.__defaults__ or ()), depth + 1)}


def _filled(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - raises ValueError when the cell is empty
    except ValueError:
        return False
    return True


def decode_function(d: dict, decode_value, namespace: dict):
    """Rebuild a checker function on the student's side (trusted data: it comes from the checker)."""
    import importlib

    code = marshal.loads(base64.b64decode(d["code"]))
    globs = {"__builtins__": builtins, "__name__": "__checker__"}
    for name, value in d["globals"].items():
        if type(value) is dict and value.get("t") == "module":
            globs[name] = sys.modules.get(value["v"]) or importlib.import_module(value["v"])
        else:
            globs[name] = decode_value(value)
    cells = tuple(types.CellType() if type(c) is dict and c.get("t") == "empty" else types.CellType(decode_value(c))
                  for c in d["closure"])
    fn = types.FunctionType(code, globs, d["name"], tuple(decode_value(d["defaults"])) or None, cells or None)
    return fn
