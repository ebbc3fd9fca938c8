"""Runs inside the grading sandbox: keeps what the graded checks rely on out of the student's reach.

``boot.py`` calls :func:`install` after the kernel is initialised and before it takes any code.
``install`` imports torch, NumPy and gradcoach and snapshots them (module and class dictionaries),
the builtins and the IPython shell's traceback and transformer machinery. Before every graded
test cell the grader calls the entry point (a per-kernel random name in ``builtins``, evaluated
as a user expression, so no input transformer sees it), which

- puts every snapshotted attribute back (``gc.assert_grad = lambda *a: None``,
  ``torch.allclose = lambda *a: True``, a new ``torch.Tensor.__eq__`` ... are undone);
- repairs the shell (traceback display, custom exception handlers, student event callbacks and
  input/AST transformers), trace/profile functions, GC callbacks and alarm signals;
- binds the test cell's names (``gc``, ``torch``, ``np``, ``math``; the grader renamed them in the
  test source to per-kernel random aliases) to pristine objects. ``gc`` becomes a facade whose
  functions restore again right before each check, so a student function called by the test
  (``gc.answer(fn, ...)``) cannot patch the check that follows it.

This stops the tricks a student can play with ordinary Python. It is not a security boundary
against code written to attack this module (``ctypes``, frame walking): that is the sandbox's job
for the machine, and autograde's static scan flags such code for review (see autograde/README.md).
"""
from __future__ import annotations

import builtins
import gc as _gcmod
import os
import signal
import sys
import threading
import types

_TRUSTED = ("IPython", "ipykernel", "matplotlib", "matplotlib_inline", "traitlets", "jupyter_client",
            "jupyter_core", "zmq", "tornado", "asyncio", "torch", "numpy", "gradcoach", "autograde_guard",
            "comm", "debugpy")
_DEEP = ("gradcoach", "torch", "numpy", "math", "builtins")
_LIGHT = ("gradcoach", "builtins", "math", "torch", "torch.autograd", "torch.functional", "torch._tensor",
          "numpy", "numpy._core.fromnumeric", "numpy._core.numeric", "numpy._core._methods",
          "numpy._core.umath", "numpy._core.multiarray")
_TIMER_SIGNALS = ("SIGALRM", "SIGVTALRM", "SIGPROF")
_MESSAGES = {
    "truncated": {
        "en": "\n[... output truncated by the grader: more than {limit} characters ...]\n",
        "ja": "\n[... 出力が {limit} 文字を超えたため、採点システムが省略しました ...]\n",
        "ko": "\n[... 출력이 {limit}자를 넘어 채점 시스템이 생략했습니다 ...]\n",
    },
    "threads": {
        "en": "Grading stopped this check: your code left a background thread running ({names}). "
              "Threads are not allowed while the tests run.",
        "ja": "このチェックは採点を中止しました。あなたのコードがバックグラウンドのスレッド（{names}）を"
              "動かしたままにしています。テストの実行中はスレッドを使えません。",
        "ko": "이 검사는 채점을 중단했습니다. 코드가 백그라운드 스레드({names})를 실행한 채로 두었습니다. "
              "테스트가 실행되는 동안에는 스레드를 쓸 수 없습니다.",
    },
}

_S: dict = {}


def _origin(obj) -> str:
    obj = getattr(obj, "__func__", obj)
    return getattr(obj, "__module__", None) or getattr(type(obj), "__module__", "") or ""


def _trusted(obj) -> bool:
    return _origin(obj).split(".")[0] in _TRUSTED


def _module_names(prefixes) -> list[str]:
    out = []
    for name, mod in list(sys.modules.items()):
        if isinstance(mod, types.ModuleType) and (name in prefixes or name.split(".")[0] in prefixes):
            out.append(name)
    return out


def _is_method_like(value) -> bool:
    return isinstance(value, (types.FunctionType, property, staticmethod, classmethod, types.BuiltinFunctionType,
                              types.MethodDescriptorType, types.WrapperDescriptorType))


def install(cfg: dict, shell) -> None:
    """Snapshot everything; called once, after kernel initialisation and before any cell runs."""
    import math  # noqa: F401  (snapshotted below)

    import numpy
    import torch

    import gradcoach

    _S["lang"] = cfg.get("lang", "en")
    os.environ["GRADCOACH_LANG"] = _S["lang"]
    out_stream = _cap_output(shell, int(cfg.get("max_output_chars", 1_000_000)))
    _S["sys_modules"] = {name: sys.modules[name] for name in _module_names(_DEEP)}
    _S["modules"] = {name: dict(vars(mod)) for name, mod in _S["sys_modules"].items()}
    _S["light"] = [n for n in _S["modules"] if n in _LIGHT or n.startswith("gradcoach")]
    classes = [torch.Tensor, torch.nn.Parameter, out_stream, type(shell), *type(shell).__mro__[1:-1]]
    for name in _S["sys_modules"]:
        if name.startswith("gradcoach"):
            classes += [v for v in vars(sys.modules[name]).values()
                        if isinstance(v, type) and v.__module__.startswith("gradcoach")]
    kernel = getattr(shell, "kernel", None)
    if kernel is not None:
        classes += [c for c in type(kernel).__mro__[:-1]]
    tb = getattr(shell, "InteractiveTB", None)
    if tb is not None:
        classes += [c for c in type(tb).__mro__[:-1]]
    _S["classes"] = {cls: {k: v for k, v in vars(cls).items() if _is_method_like(v)} for cls in set(classes)}
    _S["namespaces"] = {id(ns): (ns, dict(vars(ns))) for mod in _S["sys_modules"].values()
                        if mod.__name__.startswith("gradcoach")
                        for ns in vars(mod).values() if isinstance(ns, types.SimpleNamespace)}
    _S["shell"] = shell
    _S["shell_dict"] = {k: v for k, v in vars(shell).items()
                        if k in ("InteractiveTB", "SyntaxTB", "CustomTB", "custom_exceptions") or callable(v)}
    _S["events"] = {event: list(cbs) for event, cbs in shell.events.callbacks.items()}
    _S["transformers"] = _transformer_lists(shell)
    _S["transformers_snapshot"] = [(lst, list(lst)) for lst in _S["transformers"]]
    _S["threads"] = {id(t) for t in threading.enumerate()}
    _S["sigint"] = signal.getsignal(signal.SIGINT)
    _S["aliases"] = dict(cfg.get("aliases", {}))
    _S["pristine"] = {"gc": _facade(gradcoach), "torch": torch, "np": numpy, "numpy": numpy,
                      "math": sys.modules["math"]}
    setattr(builtins, cfg["entry"], restore)
    _S["builtins"] = dict(vars(builtins))
    sys.addaudithook(_audit)


def _message(key: str, **values) -> str:
    table = _MESSAGES[key]
    return table.get(_S.get("lang", "en"), table["en"]).format(**values)


def _cap_output(shell, limit: int):
    """At most ``limit`` characters of stdout/stderr per cell leave the kernel (a print loop or a
    gigantic string would otherwise flood the grader)."""
    from ipykernel.iostream import OutStream

    write = OutStream.write
    used = {"n": 0}

    def capped_write(self, string):
        if not isinstance(string, str):
            return write(self, string)
        room = limit - used["n"]
        used["n"] += len(string)
        if room > 0:
            write(self, string[:room])
        if used["n"] > limit >= used["n"] - len(string):
            write(self, _message("truncated", limit=limit))
        return len(string)

    def reset(*_args):
        used["n"] = 0

    capped_write.__module__ = __name__
    reset.__module__ = __name__
    OutStream.write = capped_write
    shell.events.register("pre_execute", reset)
    return OutStream


def _transformer_lists(shell) -> list[list]:
    lists = [shell.input_transformers_post, shell.ast_transformers]
    manager = getattr(shell, "input_transformer_manager", None)
    for attr in ("cleanup_transforms", "line_transforms", "token_transformers"):
        value = getattr(manager, attr, None)
        if isinstance(value, list):
            lists.append(value)
    return lists


def _audit(event, args):
    # Once installed, nobody adds an audit hook of their own (it could run code in the middle of a check).
    if event == "sys.addaudithook":
        raise RuntimeError("audit hooks are disabled while grading")


def _facade(module):
    """A stand-in for ``gradcoach`` in test cells: its functions restore, then call the pristine ones."""
    facade = types.ModuleType(module.__name__, module.__doc__)
    for name, value in vars(module).items():
        if name.startswith("__"):
            continue
        if isinstance(value, types.FunctionType):
            value = _guarded(value)
        setattr(facade, name, value)
    return facade


def _guarded(fn):
    def guarded(*args, **kwargs):
        __tracebackhide__ = True
        _restore(light=True)
        _deny_threads()
        return fn(*args, **kwargs)

    guarded.__name__ = fn.__name__
    guarded.__qualname__ = fn.__qualname__
    guarded.__doc__ = fn.__doc__
    return guarded


def _deny_threads() -> None:
    __tracebackhide__ = True
    extra = [t for t in threading.enumerate() if id(t) not in _S["threads"] and t.is_alive() and not _trusted(t)]
    if extra:
        names = ", ".join(sorted(t.name for t in extra))
        raise AssertionError(_message("threads", names=names))


def _restore_mapping(target: dict, snapshot: dict) -> None:
    for key, value in snapshot.items():
        if target.get(key, _restore_mapping) is not value:
            target[key] = value


def _restore(light: bool) -> None:
    _restore_mapping(vars(builtins), _S["builtins"])
    _restore_mapping(sys.modules, _S["sys_modules"])
    names = _S["light"] if light else _S["modules"]
    for name in names:
        _restore_mapping(vars(_S["sys_modules"][name]), _S["modules"][name])
    for ns, snap in _S["namespaces"].values():
        _restore_mapping(vars(ns), snap)
    for cls, snap in _S["classes"].items():
        current = vars(cls)
        for key, value in snap.items():
            if current.get(key) is not value:
                type.__setattr__(cls, key, value)
        for key in [k for k, v in current.items() if k not in snap and _is_method_like(v) and not _trusted(v)]:
            type.__delattr__(cls, key)
    os.environ["GRADCOACH_LANG"] = _S["lang"]
    sys.settrace(None)
    sys.setprofile(None)


def _unshadow(obj, keep=()) -> None:
    """Delete instance attributes that hide one of the class's methods (``shell.showtraceback = f``)."""
    state = getattr(obj, "__dict__", None)
    if state is None:
        return
    for key in [k for k in state if k not in keep and callable(getattr(type(obj), k, None))]:
        del state[key]


def _restore_shell() -> None:
    shell = _S["shell"]
    _unshadow(shell, keep=_S["shell_dict"])
    _restore_mapping(vars(shell), _S["shell_dict"])
    for obj in (shell.InteractiveTB, getattr(shell, "kernel", None), shell.displayhook, shell.display_pub):
        _unshadow(obj)
    for event, original in _S["events"].items():
        current = shell.events.callbacks.setdefault(event, [])
        current[:] = original + [cb for cb in current if cb not in original and _trusted(cb)]
    for lst, original in _S["transformers_snapshot"]:
        lst[:] = original + [tr for tr in lst if tr not in original and _trusted(tr)]
    _gcmod.callbacks[:] = [cb for cb in _gcmod.callbacks if _trusted(cb)]
    for name in _TIMER_SIGNALS:
        signum = getattr(signal, name, None)
        if signum is not None:
            signal.signal(signum, signal.SIG_IGN)
    for timer in (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF):
        signal.setitimer(timer, 0)
    signal.signal(signal.SIGINT, _S["sigint"])


def restore() -> bool:
    """The entry point the grader evaluates before each graded test cell."""
    _restore(light=False)
    _restore_shell()
    user_ns = _S["shell"].user_ns
    for name, alias in _S["aliases"].items():
        user_ns[alias] = _S["pristine"][name]
    return True
