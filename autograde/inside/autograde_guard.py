"""Runs inside the grading sandbox: keeps what the graded checks rely on out of the student's reach.

``boot.py`` calls :func:`install` after the kernel is initialised and before it takes any code.
``install`` imports torch, NumPy and gradcoach and snapshots them (module and class dictionaries),
the builtins and the IPython shell's traceback and transformer machinery. Before every graded
test cell the grader calls the entry point: a kernel message of a per-kernel random type, handled
by the kernel's dispatcher (no name lookup in the student's namespace can shadow it, no input
transformer sees it), which

- puts every snapshotted attribute back (``gc.assert_grad = lambda *a: None``,
  ``torch.allclose = lambda *a: True``, a new ``torch.Tensor.__eq__`` ... are undone), and the
  insides of gradcoach's functions (``__code__``, ``__defaults__``, ``__kwdefaults__``: a function
  changed in place stays the same object); attributes added to gradcoach's classes go, whatever
  ``__module__`` they claim;
- repairs the shell (traceback display, custom exception handlers, student event callbacks and
  input/AST transformers), trace/profile functions, GC callbacks and alarm signals;
- binds the test cell's names (inside/guarded.py; the grader renamed them in the test source to
  per-kernel random aliases) to pristine objects. ``gc`` becomes a facade whose functions restore
  again right before each check and rebind the aliases after it, so a student function called by
  the test (``gc.answer(fn, ...)``) cannot patch the check that follows it;
- keeps the test cell's source out of ``linecache`` (and the grader runs it with
  ``store_history=False``, so it is not in ``In``/``_ih`` either).

This stops the tricks a student can play with ordinary Python. It is not a security boundary
against code written to attack this module (``ctypes``, frame walking): that is the sandbox's job
for the machine, and autograde's static scan flags such code for review (see autograde/README.md).
"""
from __future__ import annotations

import builtins
import gc as _gcmod
import importlib
import linecache
import os
import signal
import sys
import threading
import types

from guarded import GUARDED

_TRUSTED = ("IPython", "ipykernel", "matplotlib", "matplotlib_inline", "traitlets", "jupyter_client",
            "jupyter_core", "zmq", "tornado", "asyncio", "torch", "numpy", "gradcoach", "autograde_guard",
            "comm", "debugpy")
_DEEP = (*sorted(set(GUARDED.values())), "builtins")
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

    guarded = {name: module for name, (_alias, module) in cfg.get("guarded", {}).items()}
    for module in guarded.values():
        importlib.import_module(module)
    deep = (*_DEEP, *sorted(set(guarded.values()) - set(_DEEP)))
    _S["lang"] = cfg.get("lang", "en")
    os.environ["GRADCOACH_LANG"] = _S["lang"]
    out_stream = _cap_output(shell, int(cfg.get("max_output_chars", 1_000_000)))
    _S["sys_modules"] = {name: sys.modules[name] for name in _module_names(deep)}
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
    _S["own_classes"] = {cls: dict(vars(cls)) for cls in _S["classes"] if cls.__module__.startswith("gradcoach")}
    _S["functions"] = {fn: (fn.__code__, fn.__defaults__, fn.__kwdefaults__,
                            tuple(c.cell_contents if _filled(c) else _filled for c in fn.__closure__ or ()))
                       for fn in _own_functions()}
    _S["namespaces"] = {id(ns): (ns, dict(vars(ns))) for mod in _S["sys_modules"].values()
                        if mod.__name__.startswith("gradcoach")
                        for ns in vars(mod).values() if isinstance(ns, types.SimpleNamespace)}
    _S["shell"] = shell
    _S["displayhook"] = sys.displayhook
    _S["shell_dict"] = {k: v for k, v in vars(shell).items()
                        if k in ("InteractiveTB", "SyntaxTB", "CustomTB", "custom_exceptions") or callable(v)}
    _S["events"] = {event: list(cbs) for event, cbs in shell.events.callbacks.items()}
    _S["transformers"] = _transformer_lists(shell)
    _S["transformers_snapshot"] = [(lst, list(lst)) for lst in _S["transformers"]]
    _S["threads"] = {id(t) for t in threading.enumerate()}
    _S["sigint"] = signal.getsignal(signal.SIGINT)
    _S["aliases"] = {name: alias for name, (alias, _module) in cfg.get("guarded", {}).items()}
    _S["pristine"] = {name: _facade(gradcoach) if module == "gradcoach" else sys.modules[module]
                      for name, module in guarded.items()}
    _S["testing"] = False
    _keep_tests_out_of_linecache(shell)
    _S["facade"] = (_S["pristine"].get("gc"), dict(vars(_S["pristine"]["gc"])) if "gc" in _S["pristine"] else {})
    _S["functions"].update({fn: (fn.__code__, fn.__defaults__, fn.__kwdefaults__, ())
                            for fn in _S["facade"][1].values() if isinstance(fn, types.FunctionType)})
    _install_entry(shell, cfg["entry"])
    _S["builtins"] = dict(vars(builtins))
    sys.addaudithook(_audit)


def _own_functions() -> list:
    """The Python functions of gradcoach (module level and in its classes) and of the torch and
    NumPy modules its checks call, whose insides are restored too."""
    found = []
    for name, mod in _S["sys_modules"].items():
        if name in _S["light"]:
            found += [v for v in vars(mod).values() if isinstance(v, types.FunctionType)]
    for cls in _S["own_classes"]:
        for value in vars(cls).values():
            value = getattr(value, "__func__", value)
            for fn in ((value.fget, value.fset, value.fdel) if isinstance(value, property) else (value,)):
                if isinstance(fn, types.FunctionType):
                    found.append(fn)
    return list({id(fn): fn for fn in found}.values())


def _filled(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def _keep_tests_out_of_linecache(shell) -> None:
    """While a graded test cell runs, IPython caches its source for tracebacks where a student's
    function could read it (``linecache``); cache an empty source instead."""
    compiler = shell.compile
    cache = compiler.cache

    def cache_outside_tests(transformed_code, number=0, raw_code=None):
        name = cache(transformed_code, number, raw_code)
        if _S["testing"]:
            linecache.cache.pop(name, None)
            _S["testing"] = False
        return name

    cache_outside_tests.__module__ = __name__
    compiler.cache = cache_outside_tests
    _S["compiler"] = (compiler, cache_outside_tests)


def _install_entry(shell, entry: str) -> None:
    kernel = shell.kernel

    def handle(stream, idents, parent):
        try:
            restored = restore()
        except Exception:  # noqa: BLE001 - the grader marks the test as run on a tampered kernel
            restored = False
        kernel.session.send(stream, f"{entry}_reply", {"status": "ok", "restored": restored}, parent, ident=idents)

    handle.__module__ = __name__
    kernel.shell_handlers[entry] = handle


def _bind_aliases() -> None:
    user_ns = _S["shell"].user_ns
    for name, alias in _S["aliases"].items():
        if user_ns.get(alias) is not _S["pristine"][name]:
            user_ns[alias] = _S["pristine"][name]


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
        try:
            return fn(*args, **kwargs)
        finally:  # an answer that rebinds the test's aliases in the notebook's globals
            _bind_aliases()

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
    facade, snap = _S.get("facade", (None, None))
    if facade is not None:
        state = vars(facade)
        for key in [k for k in state if k not in snap]:
            del state[key]
        _restore_mapping(state, snap)
    for cls, snap in _S["classes"].items():
        current = vars(cls)
        for key, value in snap.items():
            if current.get(key) is not value:
                type.__setattr__(cls, key, value)
        for key in [k for k, v in current.items() if k not in snap and _is_method_like(v) and not _trusted(v)]:
            type.__delattr__(cls, key)
    for cls, snap in _S["own_classes"].items():  # gradcoach's own: nothing may be added or changed
        current = vars(cls)
        for key in [k for k in current if k not in snap]:
            type.__delattr__(cls, key)
        for key, value in snap.items():
            if current.get(key) is not value and key not in ("__dict__", "__weakref__"):
                type.__setattr__(cls, key, value)
    for fn, (code, defaults, kwdefaults, cells) in _S["functions"].items():
        for cell, value in zip(fn.__closure__ or (), cells):
            if value is not _filled and (not _filled(cell) or cell.cell_contents is not value):
                cell.cell_contents = value
        if fn.__code__ is not code:
            fn.__code__ = code
        if fn.__defaults__ is not defaults:
            fn.__defaults__ = defaults
        if fn.__kwdefaults__ is not kwdefaults:
            fn.__kwdefaults__ = kwdefaults
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
    compiler, cache = _S["compiler"]
    if shell.compile is not compiler:
        shell.compile = compiler
    if vars(compiler).get("cache") is not cache:
        compiler.cache = cache
    sys.displayhook = sys.__displayhook__ if _S["displayhook"] is None else _S["displayhook"]
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
    """What the entry message runs before each graded test cell."""
    _restore(light=False)
    _restore_shell()
    _bind_aliases()
    _S["testing"] = True
    return True
