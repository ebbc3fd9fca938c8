"""torch.nn modules and optimizers of a test, mirrored in the student's kernel (lesson 08).

A test builds its model and optimizer in the checker and hands them to the student's function,
which runs in the student's kernel. They cannot cross as plain data, so each one is *mirrored*:
the first time a call needs it, the checker sends a copy (a module pickled without the test's
hooks; an optimizer as its class, hyperparameters and the parameters it updates), and the
student's kernel keeps that copy for the rest of the notebook under the same id. Before every call
the checker sends the state of what the call gets (parameters with ``requires_grad`` and
``.grad``, buffers, train/eval mode, optimizer hyperparameters and state); after it the student's
kernel sends the state back and the checker applies it to its own objects, in place. So hooks and
optimizers a student's function registers stay on the mirror, where the next call (a test's
``gc.student_side(backward, model, …)``) runs them, and the checker reads only data.

Pickles go one way only, from the checker to the student; what comes back is read by
:func:`apply_module_state` and :func:`apply_optimizer_state` as tensors and numbers, validated.
"""
from __future__ import annotations

import copy
import pickle

import torch
from wire import WireError, _b64, decode, make_tensor, plain, tensor_bytes, tensor_data

_HOOK_DICTS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks",
               "_forward_hooks_with_kwargs", "_forward_hooks_always_called", "_forward_pre_hooks_with_kwargs",
               "_state_dict_hooks", "_state_dict_pre_hooks", "_load_state_dict_pre_hooks",
               "_load_state_dict_post_hooks")


def is_mirrored(value) -> bool:
    return isinstance(value, (torch.nn.Module, torch.optim.Optimizer))


def _modules(table: dict):
    return [(mid, m) for mid, m in list(table.items()) if isinstance(m, torch.nn.Module)]


def part_of(table: dict, value):
    """``(mirror id, path)`` of ``value`` as a submodule of a module in ``table`` (id -> object), or None."""
    if isinstance(value, torch.nn.Module):
        for mid, root in _modules(table):
            for name, sub in root.named_modules():
                if sub is value:
                    return mid, name
    return None


def owners(table: dict) -> dict:
    """id(parameter) -> ``[mirror id, name]`` for every parameter of the modules in ``table``."""
    return {id(p): [mid, name] for mid, module in _modules(table) for name, p in module.named_parameters()}


def param_of(table: dict, mid, name):
    """The parameter ``name`` of the module ``table[mid]``, or None."""
    module = table.get(mid) if type(mid) is int else None
    return dict(module.named_parameters()).get(name) if isinstance(module, torch.nn.Module) and \
        type(name) is str else None


def module_bytes(module: torch.nn.Module) -> str:
    """The module pickled as the student's kernel gets it: a copy without the test's hooks (a
    test's hook watches the test's own module and may not pickle)."""
    saved = [(m, name, getattr(m, name)) for m in module.modules() for name in _HOOK_DICTS if getattr(m, name, None)]
    try:
        for m, name, _hooks in saved:
            setattr(m, name, type(_hooks)())
        clone = copy.deepcopy(module)
    finally:
        for m, name, hooks in saved:
            setattr(m, name, hooks)
    for p in clone.parameters():
        p._backward_hooks = None
    return _b64(pickle.dumps(clone))


def structure(module: torch.nn.Module) -> list:
    """What must stay the same for a mirror to stand for the module: its submodules' types and its
    parameters' and buffers' names, shapes and dtypes."""
    return [[name, type(m).__name__] for name, m in module.named_modules()] + \
        [[name, list(t.shape), str(t.dtype)] for name, t in (*module.named_parameters(), *module.named_buffers())]


def _grad(t):
    return tensor_data(t.grad) if type(t.grad) is torch.Tensor else None


def module_state(module: torch.nn.Module) -> dict:
    return {"params": [[name, tensor_data(p), bool(p.requires_grad), _grad(p)] for name, p in module.named_parameters()],
            "buffers": [[name, tensor_data(b) if b is not None else None] for name, b in module.named_buffers()],
            "training": [[name, bool(m.training)] for name, m in module.named_modules()]}


def _set(target: torch.Tensor, d) -> None:
    """``target`` takes the value ``d`` in place (its identity, and its version where it is unchanged, kept)."""
    new = make_tensor(d)
    if new.shape == target.shape and new.dtype == target.dtype:
        if tensor_bytes(new) != tensor_bytes(target):
            with torch.no_grad():
                target.copy_(new)
    else:
        target.data = new


def _set_grad(p: torch.Tensor, d) -> None:
    if d is None:
        p.grad = None
    elif type(p.grad) is torch.Tensor and list(p.grad.shape) == d.get("shape"):
        _set(p.grad, d)
    else:
        new = make_tensor(d)
        if new.shape != p.shape:
            raise WireError("bad grad")
        p.grad = new.to(p.dtype)


def _entries(value, width: int) -> list:
    if type(value) is not list or not all(type(e) is list and len(e) == width and type(e[0]) is str for e in value):
        raise WireError("bad state")
    return value


def apply_module_state(module: torch.nn.Module, state) -> None:
    """Give ``module`` the parameters, gradients, buffers and modes of ``state`` (from the other
    side): by name; a name this module does not have is ignored."""
    if type(state) is not dict:
        raise WireError("bad state")
    params = dict(module.named_parameters())
    for name, value, requires_grad, grad in _entries(state.get("params"), 4):
        p = params.get(name)
        if p is None or type(requires_grad) is not bool:
            continue
        _set(p, value)
        if p.requires_grad != requires_grad:
            p.requires_grad_(requires_grad)
        _set_grad(p, grad)
    buffers = dict(module.named_buffers())
    for name, value in _entries(state.get("buffers"), 2):
        if buffers.get(name) is not None and value is not None:
            _set(buffers[name], value)
    modules = dict(module.named_modules())
    for name, training in _entries(state.get("training"), 2):
        if name in modules and type(training) is bool:
            modules[name].training = training


def optimizer_spec(optimizer: torch.optim.Optimizer, where) -> dict:
    """The optimizer's class and groups, each parameter as ``[mirror id, name]`` (``where(p)``,
    None for a parameter of no mirrored module, whose state is not sent)."""
    kind = type(optimizer)
    if getattr(torch.optim, kind.__name__, None) is not kind:
        raise TypeError(f"{kind.__name__}: only torch.optim's optimizers can be handed to the student's function")
    return {"optim": kind.__name__,
            "groups": [{"params": [where(p) for p in group["params"]]} for group in optimizer.param_groups]}


def optimizer_state(optimizer: torch.optim.Optimizer, where) -> dict:
    hyper = [plain({k: v for k, v in group.items() if k != "params"}) for group in optimizer.param_groups]
    state = []
    for p, s in optimizer.state.items():
        at = where(p)
        if type(s) is dict and at is not None:
            state.append([*at, plain({k: v for k, v in s.items() if type(k) is str})])
    return {"hyper": hyper, "state": state}


def _plain_value(v) -> bool:
    return v is None or type(v) in (bool, int, float, torch.Tensor) or \
        type(v) is tuple and all(type(x) in (int, float) for x in v)


def apply_optimizer_state(optimizer: torch.optim.Optimizer, state, param) -> None:
    """Give ``optimizer`` the hyperparameters and per-parameter state of ``state``; ``param(mid,
    name)`` is the parameter an entry names (None: not one of this optimizer's)."""
    if type(state) is not dict or type(state.get("hyper")) is not list or \
            len(state["hyper"]) != len(optimizer.param_groups) or type(state.get("state")) is not list:
        raise WireError("bad optimizer state")
    for group, hyper in zip(optimizer.param_groups, state["hyper"], strict=True):
        values = decode(hyper)
        if type(values) is not dict:
            raise WireError("bad optimizer state")
        group.update({k: v for k, v in values.items() if k in group and _plain_value(v)})
    mine = {id(p) for group in optimizer.param_groups for p in group["params"]}
    optimizer.state.clear()
    for entry in state["state"]:
        if type(entry) is not list or len(entry) != 3:
            raise WireError("bad optimizer state")
        p = param(entry[0], entry[1])
        values = decode(entry[2])
        if p is None or id(p) not in mine or type(values) is not dict:
            continue
        optimizer.state[p] = {k: v for k, v in values.items() if _plain_value(v)}
