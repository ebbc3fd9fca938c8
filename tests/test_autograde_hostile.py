"""Bad and hostile submissions: each gets a score, a clear report line, and loses nothing.

One course, one parallel grading batch (module fixture); one test per kind. Fixture lesson 1 has
ex1 (1 point) and ex2 (2 points). A kind that breaks ex1 only still earns ex2's 2 points; a kernel
killed during ex2's test keeps ex1's point. Cheats come with wrong answers (they must score 0) and
once with right answers (the guard must not cost an honest student anything).
"""
from __future__ import annotations

import json
import subprocess

import nbformat
import pytest

from autograde.grade import grade
from autograde.sandbox import probe

from _autograde import LESSON1, LESSON2, WRONG, digest_tree, grades_csv, make_course, report, student_notebook, submit

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(probe() is not None, reason=f"grading sandbox unavailable: {probe()}")]

TIMEOUT = 6

LOOP = "def grad_of_cube(x0):\n    while True:\n        pass\n"
MEMORY = ("def grad_of_cube(x0):\n    hoard = []\n    while True:\n        hoard.append(bytearray(256 * 1024 * 1024))\n")
SYS_EXIT = "def grad_of_cube(x0):\n    import sys\n    sys.exit('bye')\n"
OS_EXIT = "def grads_of_product(x0, w0):\n    import os\n    os._exit(3)\n"
SEGFAULT = "def grads_of_product(x0, w0):\n    import ctypes\n    return ctypes.string_at(0)\n"
FORK_BOMB = ("import os\nchildren = 0\ntry:\n    while True:\n        if os.fork() == 0:\n            import time\n"
             "            time.sleep(300)\n            os._exit(0)\n        children += 1\nexcept OSError as exc:\n"
             "    print('no more processes after', children, exc)\n")
SLEEPERS = ("import subprocess\nsleepers = []\ntry:\n    for _ in range(1000):\n"
            "        sleepers.append(subprocess.Popen(['sleep', '299']))\nexcept OSError as exc:\n"
            "    print('stopped after', len(sleepers), exc)\n")
FLOOD = "print('x' * 200_000_000)\nfor i in range(50_000):\n    print(i)\n"
TOP_EXIT = "import sys\nsys.exit(1)\n"
# one message over the grader's MAX_MESSAGE (64 MiB): dropped on the way, with the cell's idle status
OVERSIZE = "from IPython.display import display\ndisplay({'text/plain': 'x' * 70_000_000}, raw=True)\n"
AFTER_OVERSIZE = "print('printed after the lost output')\n"
# an answer whose reply to the checker (x and its .grad, 64 MB each) is more than one message holds
HUGE_ANSWER = ("def grad_of_cube(x0):\n    x = torch.zeros(8_000_000, dtype=torch.float64, requires_grad=True)\n"
               "    (2 * x ** 3).sum().backward()\n    return x\n")

FAKE_GC = ("import sys, types\nimport gradcoach\n"
           "fake = types.SimpleNamespace(answer=lambda fn, *a, **k: fn(*a, **k), assert_grad=lambda *a, **k: None,\n"
           "                             assert_close=lambda *a, **k: None, assert_formula=lambda *a, **k: None)\n"
           "gc.assert_grad = lambda *a, **k: None\ngc.answer = lambda fn, *a, **k: fn(*a, **k)\n"
           "gradcoach.assert_grad = lambda *a, **k: None\nimport gradcoach.check\n"
           "gradcoach.check._gradient_check = lambda *a, **k: None\nsys.modules['gradcoach'] = fake\ngc = fake\n")
FAKE_GC_AT_CALL = ("def grad_of_cube(x0):\n    global gc\n    import sys, types\n"
                   "    gc = types.SimpleNamespace(answer=lambda fn, *a, **k: fn(*a, **k), assert_grad=lambda *a, **k: None)\n"
                   "    sys.modules['gradcoach'].assert_grad = lambda *a, **k: None\n"
                   "    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n"
                   "    (2 * x ** 3).backward()\n    return x\n")
PATCH_TORCH = ("import numpy\ntorch.allclose = lambda *a, **k: True\ntorch.isclose = lambda a, b, *r, **k: torch.ones_like(a, dtype=torch.bool)\n"
               "torch.Tensor.__eq__ = lambda self, other: True\ntorch.Tensor.__sub__ = lambda self, other: self * 0\n"
               "numpy.allclose = lambda *a, **k: True\nnumpy.abs = lambda x, *a, **k: x * 0\n"
               "numpy.isclose = lambda a, b, *r, **k: numpy.ones_like(a, dtype=bool)\n")
CUSTOM_EQ = {
    "ex1_answer": ("class Always(float):\n    grad = 12.0\n    def __eq__(self, other):\n        return True\n"
                   "    __ne__ = lambda self, other: False\n    __bool__ = lambda self: True\n"
                   "    def __float__(self):\n        return 12.0\n\n"
                   "def grad_of_cube(x0):\n    return Always(x0)\n"),
    "ex2_answer": ("class FakeTensor:\n    requires_grad = True\n    grad = property(lambda self: self)\n"
                   "    def __eq__(self, other):\n        return True\n    def __torch_function__(self, *a, **k):\n"
                   "        return True\n\ndef grads_of_product(x0, w0):\n    return FakeTensor(), FakeTensor()\n"),
}
PATCH_IPYTHON = ("from IPython.core.interactiveshell import InteractiveShell\nip = get_ipython()\n"
                 "ip.showtraceback = lambda *a, **k: None\nip._showtraceback = lambda *a, **k: None\n"
                 "InteractiveShell.showtraceback = lambda *a, **k: None\n"
                 "ip.set_custom_exc((BaseException,), lambda *a, **k: None)\n")
# rewrites every later cell to `pass` (the student's own answers too) until the guard removes it
TRANSFORMER = "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])\n"

THREAD = ("import threading, time, gradcoach\n\ndef keep_patching():\n    while True:\n"
          "        gradcoach.assert_grad = lambda *a, **k: None\n        time.sleep(0.0001)\n\n"
          "threading.Thread(target=keep_patching, daemon=True).start()\n")

# In-place changes to gradcoach's functions and classes (the guard used to restore objects by
# identity only, so a mutated function stayed mutated).
CODE_SWAP = ("import gradcoach\ngradcoach._raise_if_failed.__code__ = (lambda report: report).__code__\n")
CODE_SWAP_ASSERT = ("import gradcoach\nfor f in (gradcoach.assert_grad, gradcoach.assert_close, gc.assert_formula):\n"
                    "    f.__code__ = (lambda *a, **k: None).__code__\n")
LOOSE_TOLERANCES = ("import gradcoach\nfor f in (gradcoach.assert_grad, gradcoach.assert_close, gradcoach.assert_formula):\n"
                    "    f.__kwdefaults__ = dict(f.__kwdefaults__, atol=1e9, rtol=1e9)\n")
CLASS_ATTRIBUTE = ("import gradcoach\n\ndef always_passed(self, name):\n"
                   "    return True if name == 'passed' else object.__getattribute__(self, name)\n\n"
                   "always_passed.__module__ = 'gradcoach.report'\nalways_passed.__qualname__ = 'Report.__getattribute__'\n"
                   "gradcoach.Report.__getattribute__ = always_passed\n")
CLASS_ATTRIBUTE_TYPE_SETATTR = CLASS_ATTRIBUTE.replace("gradcoach.Report.__getattribute__ = always_passed",
                                                       "type.__setattr__(gradcoach.Report, '__getattribute__', always_passed)")
# A value displayed from inside the answer becomes the test cell's first execute_result, which
# nbgrader scores as full marks (not a number) or as partial credit (a number).
DISPLAYHOOK = {gid: code.replace("    x = torch", "    import sys\n    sys.displayhook('all good')\n    x = torch", 1)
               for gid, code in WRONG[LESSON1].items()}
DISPLAYHOOK_NUMBER = {gid: code.replace("    x = torch", "    import sys\n    sys.displayhook(2.0)\n    x = torch", 1)
                      for gid, code in WRONG[LESSON1].items()}
FAKE = ("import types as _t\n_fake = _t.SimpleNamespace(answer=lambda fn, *a, **k: fn(*a, **k), "
        "assert_grad=lambda *a, **k: None, assert_close=lambda *a, **k: None, assert_formula=lambda *a, **k: None)\n")
# The guard's entry point and the test's aliases, reached through __main__ / vars() (no frames).
SHADOW_ENTRY = (FAKE + "import builtins, __main__\nns = vars(__main__)\nfor k in list(vars(builtins)):\n"
                "    if k.startswith('__autograde_restore_'):\n        token = k[len('__autograde_restore_'):]\n"
                "        ns[k] = lambda *a, **kw: True\n"
                "        for n in ('gc', 'torch', 'np', 'numpy', 'math'):\n"
                "            ns[f'__ag_{token}_{n}'] = _fake if n == 'gc' else __import__('torch')\n")
REBIND_ALIASES_AT_CALL = {gid: code.replace("    x = torch", "    import __main__\n    " + FAKE.replace("\n", "\n    ")
                                            + "for ns in (vars(__main__), globals()):\n"
                                            "        for k in list(ns):\n"
                                            "            if k.startswith('__ag_') and k.endswith('_gc'):\n"
                                            "                ns[k] = _fake\n    x = torch", 1)
                          for gid, code in WRONG[LESSON1].items()}
MODULE_DICT = ("import sys\nvars(sys.modules['gradcoach'])['assert_grad'] = lambda *a, **k: None\n"
               "sys.modules['gradcoach'].__dict__['assert_close'] = lambda *a, **k: None\n")
BUILTINS_DUNDER = ("b = __builtins__ if isinstance(__builtins__, dict) else vars(__builtins__)\n"
                   "b['AssertionError'] = type('AssertionError', (Exception,), {})\nb['abs'] = lambda x: 0\n")
NUMPY_CODE = ("import numpy\nnumpy.allclose.__code__ = (lambda *a, **k: True).__code__\n"
              "numpy.isclose.__code__ = (lambda a, b, *r, **k: numpy.ones_like(a, dtype=bool)).__code__\n")
# Copy the running test cell (hidden tests included) out of IPython's history or linecache,
# transformed so that the feedback's verbatim scrub would not recognise it.
HISTORY_COPY = {gid: code.replace("    x = torch", "    import __main__\n    ns = vars(__main__)\n"
                                  "    for key in ('In', '_ih'):\n        for src in ns.get(key, [])[-3:]:\n"
                                  "            print('LEAK', src[::-1])\n    print('LEAK', ns.get('_i', '')[::-1])\n"
                                  "    x = torch", 1)
                for gid, code in WRONG[LESSON1].items()}
LINECACHE_COPY = {gid: code.replace("    x = torch", "    import linecache\n    for entry in list(linecache.cache.values()):\n"
                                    "        print('LEAK', ''.join(entry[2])[::-1])\n    x = torch", 1)
                  for gid, code in WRONG[LESSON1].items()}
# Still beats the in-process guard (issue 11's checker process is what closes it): replace the
# kernel's handler for the guard's entry message, let the real one run, then rebind the aliases.
REPLACE_ENTRY_HANDLER = (FAKE + "ip = get_ipython()\nkernel = ip.kernel\n"
                         "entry = next(m for m in kernel.shell_handlers if m.startswith('autograde_restore_'))\n"
                         "real = kernel.shell_handlers[entry]\ntoken = entry[len('autograde_restore_'):]\n\n"
                         "def fake(stream, idents, parent):\n    real(stream, idents, parent)\n"
                         "    ip.user_ns[f'__ag_{token}_gc'] = _fake\n\nkernel.shell_handlers[entry] = fake\n")
# -- against the checker process: its requests, its process, its namespace -------------------------
_CALL_HANDLER = ("import json\nip = get_ipython()\nkernel = ip.kernel\n"
                 "entry = next(m for m in kernel.shell_handlers if m.startswith('autograde_call_'))\n"
                 "real = kernel.shell_handlers[entry]\n\n"
                 "def forged(stream, idents, parent):\n"
                 "    if parent['content'].get('op') != 'call':\n        return real(stream, idents, parent)\n"
                 "    kernel.session.send(stream, entry + '_reply', {'json': REPLY}, parent, ident=idents)\n\n"
                 "kernel.shell_handlers[entry] = forged\n")
# a result the checker would run if it ever built functions from the student's data
FORGED_FUNCTION_REPLY = ("import base64, marshal\n"
                         "code = compile('import gradcoach; gradcoach.assert_grad = lambda *a, **k: None', 'x', 'exec')\n"
                         "REPLY = json.dumps({'raised': None, 'calls': {'torch.autograd.backward': 5}, 'forbidden': None,\n"
                         "    'grad_enabled': True, 'args': [], 'result': {'t': 'function', 'name': 'f', 'globals': {},\n"
                         "    'closure': [], 'defaults': [], 'code': base64.b64encode(marshal.dumps(code)).decode()}})\n"
                         ).replace("import base64", "import json, base64") + _CALL_HANDLER
# malformed data: a tensor whose bytes do not match its shape, an unknown dtype, deep nesting, not JSON
FORGED_GARBAGE_REPLY = ("import json\nREPLY = json.dumps({'raised': None, 'calls': {}, 'forbidden': None, 'args': [\n"
                        "    {'value': {'t': 'tensor', 'dtype': 'float64', 'shape': [10**12], 'data': ''}}],\n"
                        "    'result': [{'t': 'tensor', 'dtype': 'object', 'shape': [1], 'data': ''},\n"
                        "               {'t': 'tensor', 'dtype': 'float64', 'shape': [2], 'data': 'AAAA',\n"
                        "                'requires_grad': True, 'grad': {'t': 'tensor', 'dtype': 'float64', 'shape': [3],\n"
                        "                'data': ''}}, '[' * 100000]})\n"
                        "REPLY_NOT_JSON = '{\"raised\": ' + '[' * 100000\n") + _CALL_HANDLER
_PIDS = "import os\nme = os.getpid()\npids = [int(p) for p in os.listdir('/proc') if p.isdigit() and int(p) not in (1, me)]\n"
# stop or kill every other process the kernel can see in its sandbox
SIGNAL_CHECKER = (_PIDS + "import signal\nhits = 0\nfor pid in pids:\n    for sig in (signal.SIGSTOP, signal.SIGKILL):\n"
                  "        try:\n            os.kill(pid, sig)\n            hits += 1\n        except OSError:\n"
                  "            pass\nprint('signalled', hits)\n")
# trace it, read its memory, its environment, its files
PTRACE_CHECKER = (_PIDS + "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nattached = opened = 0\n"
                  "for pid in pids:\n    attached += libc.ptrace(16, pid, 0, 0) == 0\n"
                  "    for what in ('mem', 'environ', 'maps', 'fd/3', 'cwd/kernel.json', 'root/tmp'):\n"
                  "        try:\n            with open(f'/proc/{pid}/{what}', 'rb') as fh:\n                fh.read(1)\n"
                  "            opened += 1\n        except OSError:\n            pass\n"
                  "print('attached', attached, 'opened', opened)\n")
# the checker's connection file and sockets (another kernel's directory under the shared /tmp)
STEAL_CHECKER_KEY = ("import glob, os\nown = os.path.dirname(os.path.dirname(os.getcwd()))\nstolen = 0\n"
                     "for path in glob.glob('/tmp/.k*/*') + glob.glob('/tmp/.k*/*/*'):\n"
                     "    if path.startswith(own + '/'):\n        continue\n"
                     "    try:\n        with open(path, 'rb') as fh:\n            fh.read(1)\n        stolen += 1\n"
                     "    except OSError:\n        pass\nprint('stolen', stolen)\n")
FORK_IN_ANSWER = {gid: code.replace("    x = torch", "    import os\n    os.fork()\n    x = torch", 1)
                  for gid, code in WRONG[LESSON1].items()}
FLOOD_IN_ANSWER = {gid: code.replace("    x = torch", "    print('LEAK ' * 10_000_000)\n    x = torch", 1)
                   for gid, code in WRONG[LESSON1].items()}
CUSTOM_REDUCE = {"ex1_answer": ("import os\n\nclass Sneaky:\n    def __reduce__(self):\n"
                                "        return (os.system, ('echo pwned',))\n\n"
                                "def grad_of_cube(x0):\n    return Sneaky()\n"), "ex2_answer": "wrong"}
DEEP_RESULT = {"ex1_answer": ("def grad_of_cube(x0):\n    r = []\n    for _ in range(100_000):\n        r = [r]\n    return r\n"),
               "ex2_answer": ("def grads_of_product(x0, w0):\n    r = {}\n    for _ in range(100_000):\n"
                              "        r = {'k': r}\n    return r, r\n")}
# the names a test cell uses, and builtins, shadowed in the student's namespace
SHADOW_TEST_NAMES = (FAKE + "gc = _fake\ncheck_product = lambda *a, **k: None\nlen = lambda *a: 0\n"
                     "isinstance = lambda *a: True\nAssertionError = type('AssertionError', (Exception,), {})\n")
HIDDEN_LINES = ("for x0 in (-1.5, 0.3, 4.0):", "for x0, w0 in ((-2.0, 0.5), (3.0, -1.0)):")

# kind: (content, expected score of lesson 1, status, text expected in the report row)
KINDS = {
    "invalid_json": (b'{"cells": [{"cell_type": "code", "source": ', 0, "unreadable", "broken JSON"),
    "empty_file": (b"", 0, "unreadable", "empty"),
    "not_utf8": ("nb-sjis", 0, "unreadable", "UTF-8"),
    "wrong_notebook": ("lesson2", 0, "wrong_notebook", LESSON2),
    "infinite_loop": ({"ex1_answer": LOOP}, 2, "timeout", "ex1_test"),
    "memory_bomb": ({"ex1_answer": MEMORY}, 2, "graded", ""),
    "fork_bomb": ((FORK_BOMB,), 3, "graded", ""),
    "many_subprocesses": ((SLEEPERS,), 3, "graded", ""),
    "os_exit": ({"ex2_answer": OS_EXIT}, 1, "crashed", "exit 3"),
    "segfault": ({"ex2_answer": SEGFAULT}, 1, "crashed", "SIGSEGV"),
    "gigantic_output": ((FLOOD,), 3, "graded", ""),
    "oversize_message": (("correct", OVERSIZE, AFTER_OVERSIZE), 3, "graded", "output_lost in cell"),
    "huge_answer": ({"ex1_answer": HUGE_ANSWER}, 2, "graded", ""),
    "sys_exit": ({"ex1_answer": SYS_EXIT}, 2, "graded", ""),
    "sys_exit_top_level": ((TOP_EXIT,), 3, "graded", ""),
    "redefine_gradcoach": (("wrong", FAKE_GC), 0, "graded", "changes gc.assert_grad"),
    "redefine_gradcoach_at_call": ({"ex1_answer": FAKE_GC_AT_CALL, "ex2_answer": "wrong"}, 0, "graded", "global gc"),
    "patch_torch_comparisons": (("wrong", PATCH_TORCH), 0, "graded", "changes torch.allclose"),
    "custom_eq": (CUSTOM_EQ, 0, "graded", "defines __eq__"),
    "patch_traceback_display": (("wrong", PATCH_IPYTHON), 0, "graded", "showtraceback"),
    "input_transformer": (("wrong", PATCH_IPYTHON + TRANSFORMER), 0, "graded", "get_ipython"),
    "background_thread": (("wrong", THREAD), 0, "graded", "imports threading"),
    "edited_test_cells": ("edit-tests", 0, "repaired", "test/read-only"),
    "deleted_test_cells": ("delete-tests", 0, "repaired", "test/read-only"),
    "cheats_with_right_answers": (("correct", FAKE_GC + PATCH_TORCH + PATCH_IPYTHON), 3, "graded", ""),
    "snooping": ("snoop", 3, "graded", ""),
    "code_swap_in_place": (("wrong", CODE_SWAP), 0, "graded", "uses .__code__"),
    "code_swap_of_asserts": (("wrong", CODE_SWAP_ASSERT), 0, "graded", "uses .__code__"),
    "loose_tolerance_defaults": (("wrong", LOOSE_TOLERANCES), 0, "graded", "uses .__kwdefaults__"),
    "class_attribute_claims_gradcoach": (("wrong", CLASS_ATTRIBUTE), 0, "graded", "sets always_passed.__module__"),
    "class_attribute_by_type_setattr": (("wrong", CLASS_ATTRIBUTE_TYPE_SETATTR), 0, "graded", "uses .__setattr__"),
    "displayhook_in_answer": (DISPLAYHOOK, 0, "graded", "uses .displayhook"),
    "displayhook_number_in_answer": (DISPLAYHOOK_NUMBER, 0, "graded", "uses .displayhook"),
    "shadow_guard_entry": (("wrong", SHADOW_ENTRY), 0, "graded", "calls vars()"),
    "rebind_aliases_at_call": (REBIND_ALIASES_AT_CALL, 0, "graded", "imports __main__"),
    "module_dict_through_vars": (("wrong", MODULE_DICT), 0, "graded", "calls vars()"),
    "builtins_dunder": (("wrong", BUILTINS_DUNDER), 0, "graded", "uses __builtins__"),
    "numpy_code_swap": (("wrong", NUMPY_CODE), 0, "graded", "uses .__code__"),
    "history_copy": (HISTORY_COPY, 0, "graded", "imports __main__"),
    "linecache_copy": (LINECACHE_COPY, 0, "graded", "imports linecache"),
    "replace_entry_handler": (("wrong", REPLACE_ENTRY_HANDLER), 0, "graded", "calls get_ipython()"),
    "forged_function_reply": (("wrong", FORGED_FUNCTION_REPLY), 0, "graded", "calls get_ipython()"),
    "forged_garbage_reply": (("wrong", FORGED_GARBAGE_REPLY), 0, "graded", "calls get_ipython()"),
    "forged_reply_not_json": (("wrong", FORGED_GARBAGE_REPLY.replace("{'json': REPLY}", "{'json': REPLY_NOT_JSON}")),
                              0, "graded", "calls get_ipython()"),
    "signal_checker": (("wrong", SIGNAL_CHECKER), 0, "graded", "imports signal"),
    "signal_checker_with_right_answers": (("correct", SIGNAL_CHECKER), 3, "graded", "imports signal"),
    "ptrace_checker": (("wrong", PTRACE_CHECKER), 0, "graded", "imports ctypes"),
    "ptrace_checker_with_right_answers": (("correct", PTRACE_CHECKER), 3, "graded", "imports ctypes"),
    "steal_checker_key": (("wrong", STEAL_CHECKER_KEY), 0, "graded", ""),  # nothing to flag: plain file reads
    "fork_in_answer": (FORK_IN_ANSWER, 0, "graded", "uses .fork"),
    "flood_in_answer": (FLOOD_IN_ANSWER, 0, "graded", ""),
    "custom_reduce_result": (CUSTOM_REDUCE, 0, "graded", "defines __reduce__"),
    "deep_result": (DEEP_RESULT, 0, "graded", ""),
    "shadow_test_names": (("wrong", SHADOW_TEST_NAMES), 0, "graded", "rebinds gc"),
    "background_thread_with_right_answers": (("correct", THREAD), 3, "graded", "imports threading"),
}
#: every kind but the broken files and the honest control
ATTACKS = [kind for kind in KINDS if kind not in ("invalid_json", "empty_file", "not_utf8", "wrong_notebook",
                                                  "cheats_with_right_answers")]


def _content(course, kind: str, spec):
    if isinstance(spec, bytes):
        return spec
    if spec == "nb-sjis":
        nb = student_notebook(course, LESSON1)
        nb.cells[0].source += "\n\n微分の練習（Shift_JIS で保存されたファイル）"
        return nbformat.writes(nb).encode("cp932")
    if spec == "lesson2":
        return student_notebook(course, LESSON2)
    if spec == "snoop":  # look for the gradebook, the solutions and the other students' work
        targets = [course.path("gradebook.db"), course.source_notebook(LESSON1), course.path("submitted")]
        code = "import os\n" + "".join(f"print('visible' if os.path.exists({str(p)!r}) else 'hidden')\n" for p in targets)
        return student_notebook(course, LESSON1, "correct", extra=[code])
    if spec in ("edit-tests", "delete-tests"):
        nb = student_notebook(course, LESSON1, "wrong")
        tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
        for cell in tests:
            if spec == "edit-tests":
                cell.source = "pass  # the tests were in my way"
            else:
                nb.cells.remove(cell)
        return nb
    if isinstance(spec, tuple) and spec and spec[0] in ("wrong", "correct"):
        return student_notebook(course, LESSON1, spec[0], extra=list(spec[1:]))
    if isinstance(spec, tuple):
        return student_notebook(course, LESSON1, "correct", extra=list(spec))
    wrong = {gid: code for gid, code in spec.items() if code == "wrong"}
    answers = {gid: code for gid, code in spec.items() if code != "wrong"}
    if wrong:
        from _autograde import WRONG
        answers.update({gid: WRONG[LESSON1][gid] for gid in wrong})
    return student_notebook(course, LESSON1, answers)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("hostile") / "course", cell_timeout=TIMEOUT)
    for kind, (spec, *_rest) in KINDS.items():
        submit(course, kind, LESSON1, _content(course, kind, spec))
    before = digest_tree(course.path("submitted"))
    summary = grade(course, workers=2, progress=False, log=lambda *_: None)
    return course, summary, before


@pytest.mark.parametrize("kind", list(KINDS))
def test_hostile_submission_scored_and_reported(graded, kind):
    course, summary, _ = graded
    _, score, status, text = KINDS[kind]
    row = report(course)[(kind, LESSON1)]
    assert grades_csv(course)[(kind, LESSON1)] == score, row
    assert row["status"] == status, row
    assert row["max_score"] == 3.0
    if text:
        assert text in json.dumps(row, ensure_ascii=False), row
    if status in ("unreadable", "wrong_notebook"):
        assert row["problem"], row
        assert course.path("feedback", kind, LESSON1, f"{LESSON1}.html").exists()


def test_hostile_batch_loses_nothing(graded):
    course, summary, before = graded
    assert digest_tree(course.path("submitted")) == before
    assert {(r.student, r.assignment) for r in summary.rows if r.assignment == LESSON1} == \
        {(kind, LESSON1) for kind in KINDS}


def test_no_student_process_outlives_grading(graded):
    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "sleep 299" not in listing


def test_limits_stopped_the_process_bombs(graded):
    course, _, _ = graded
    for kind, marker in (("fork_bomb", "no more processes after"), ("many_subprocesses", "stopped after")):
        nb = nbformat.read(course.path("autograded", kind, LESSON1, f"{LESSON1}.ipynb"), as_version=4)
        text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        assert marker in text
        assert int(text.split(marker)[1].split()[0]) < 64


def test_student_code_cannot_see_the_gradebook_solutions_or_submissions(graded):
    course, _, _ = graded
    nb = nbformat.read(course.path("autograded", "snooping", LESSON1, f"{LESSON1}.ipynb"), as_version=4)
    printed = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
               if "hidden" in o.get("text", "") or "visible" in o.get("text", "")]
    assert printed == ["hidden\nhidden\nhidden\n"]


def test_gigantic_output_is_truncated(graded):
    course, _, _ = graded
    path = course.path("autograded", "gigantic_output", LESSON1, f"{LESSON1}.ipynb")
    assert path.stat().st_size < 5_000_000
    assert "truncated" in path.read_text()


def test_a_lost_output_is_explained_and_the_next_cells_output_still_arrives(graded):
    """libzmq drops an over-size message and never reconnects that socket: the grader opens a new
    one, so only the cell that printed too much loses its output."""
    course, _, _ = graded
    nb = nbformat.read(course.path("autograded", "oversize_message", LESSON1, f"{LESSON1}.ipynb"), as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if c.source == OVERSIZE)
    assert [o.get("ename") for o in nb.cells[at].outputs] == ["OutputLost"]
    assert "lost on its way to the grader" in nb.cells[at].outputs[0].evalue
    assert [o.get("text") for o in nb.cells[at + 1].outputs] == ["printed after the lost output\n"]
    assert "output_lost in cell" not in json.dumps(report(course)[("gigantic_output", LESSON1)])


def test_an_answer_too_large_to_send_is_explained_and_costs_no_other_exercise(graded):
    """Dropped, the checker's reply would have taken the relay's socket with it, and every later
    test would have waited out its timeout: the student's kernel refuses it instead (MAX_REPLY)."""
    course, _, _ = graded
    nb = nbformat.read(course.path("autograded", "huge_answer", LESSON1, f"{LESSON1}.ipynb"), as_version=4)
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    errors = [o for c in tests for o in c.outputs if o.output_type == "error"]
    assert errors and {o.ename for o in errors} == {"AnswerTooLarge"}, errors
    assert "more than the grader passes on (48 MB)" in errors[0].evalue


def test_a_test_whose_answer_never_comes_says_why_and_blames_no_function(graded):
    """A kernel that dies while a test waits on the student's function (os._exit), or a reply that
    is not the bridge's (a forged handler), is explained in the course's language: gradcoach never
    reports the grader's missing answer as the function raising."""
    course, _, _ = graded
    expected = {"os_exit": "your notebook's kernel stopped while the test was waiting for it",
                "forged_reply_not_json": "the grader could not read your notebook's reply"}
    for kind, says in expected.items():
        nb = nbformat.read(course.path("autograded", kind, LESSON1, f"{LESSON1}.ipynb"), as_version=4)
        outputs = [o for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") for o in c.outputs]
        shown = json.dumps(outputs)
        assert "stopped with an error" not in shown and "StudentUnavailable:" not in shown, (kind, shown[:2000])
        assert any(o.get("ename") == "StudentUnavailable" and says in o.evalue for o in outputs), (kind, shown[:2000])


def test_the_student_kernel_cannot_signal_trace_or_read_the_checker(graded):
    """The checker runs in a sandbox of its own (PID, mount and IPC namespaces), not dumpable, and
    here (root) under another uid: a student's kernel that tries every other process and file it
    can see reaches none of them (the only other process it sees is its own zygote)."""
    course, _, _ = graded
    printed = {}
    for kind in ("signal_checker_with_right_answers", "ptrace_checker_with_right_answers", "steal_checker_key"):
        nb = nbformat.read(course.path("autograded", kind, LESSON1, f"{LESSON1}.ipynb"), as_version=4)
        printed[kind] = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "signalled 0" in printed["signal_checker_with_right_answers"]
    assert "attached 0 opened 0" in printed["ptrace_checker_with_right_answers"]
    assert "stolen 0" in printed["steal_checker_key"]


def test_test_cells_show_only_the_checkers_output(graded):
    """What a student's function prints while a test calls it stays in the student's kernel."""
    course, _, _ = graded
    for kind in ("flood_in_answer", "history_copy"):
        nb = nbformat.read(course.path("autograded", kind, LESSON1, f"{LESSON1}.ipynb"), as_version=4)
        tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
        assert tests and not any("LEAK" in o.get("text", "") for c in tests for o in c.outputs), kind


def test_timeout_and_crash_are_explained_in_feedback(graded):
    course, _, _ = graded
    loop = course.path("feedback", "infinite_loop", LESSON1, f"{LESSON1}.html").read_text()
    assert f"{TIMEOUT} seconds" in loop
    crashed = course.path("feedback", "os_exit", LESSON1, f"{LESSON1}.html").read_text()
    assert "os._exit()" in crashed


def _texts(path) -> list[str]:
    if not path.exists():
        return []
    if path.suffix == ".html":
        return [path.read_text()]
    nb = nbformat.read(path, as_version=4)
    return [o.get("text", "") + json.dumps(o.get("data", {})) + o.get("evalue", "") + "".join(o.get("traceback", []))
            for c in nb.cells if c.cell_type == "code" and not c.metadata.get("nbgrader", {}).get("grade")
            for o in c.outputs] + [
            o.get("text", "") for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
            for o in c.outputs]


@pytest.mark.parametrize("kind", ATTACKS)
def test_attack_leaks_no_hidden_test(graded, kind):
    """No hidden-test line, verbatim or reversed, in the student's feedback or in the outputs of
    the autograded notebook (the test cells' own sources are the course's, not outputs)."""
    course, _, _ = graded
    texts = _texts(course.path("feedback", kind, LESSON1, f"{LESSON1}.html")) + \
        _texts(course.path("autograded", kind, LESSON1, f"{LESSON1}.ipynb"))
    for line in HIDDEN_LINES:
        for text in texts:
            assert line not in text and line[::-1] not in text, (kind, line)


def test_there_are_at_least_thirty_attacks():
    assert len(ATTACKS) >= 30, ATTACKS


def test_test_cells_score_pass_fail_without_displayed_values(graded):
    course, _, _ = graded
    nb = nbformat.read(course.path("autograded", "displayhook_in_answer", LESSON1, f"{LESSON1}.ipynb"), as_version=4)
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert tests and all(o.output_type != "execute_result" for c in tests for o in c.outputs)


def test_replacing_the_kernels_entry_handler_scores_nothing(graded):
    """The in-process guard's known gap: replacing the kernel's handler of the guard's message and
    rebinding the test's aliases could score. The tests no longer run in that kernel."""
    course, _, _ = graded
    row = report(course)[("replace_entry_handler", LESSON1)]
    assert grades_csv(course)[("replace_entry_handler", LESSON1)] == 0
    assert row["tests"] == "ex1_test 0/1; ex2_test 0/2"
    assert "calls get_ipython()" in row["review"]


SEE_PROCESSES = ("import os\nprint('seen', sorted(int(p) for p in os.listdir('/proc') if p.isdigit()\n"
                 "                   and int(p) not in (1, os.getpid(), os.getppid())))\n")


def _tiny_notebook(student_cells: list[str]) -> nbformat.NotebookNode:
    """A locked setup cell, the student's cells, and one graded test cell that reads ``x``."""
    def cell(source: str, **nbgrader) -> nbformat.NotebookNode:
        c = nbformat.v4.new_code_cell(source)
        if nbgrader:
            c.metadata["nbgrader"] = {"schema_version": 3, "solution": False, "task": False, "grade": False,
                                      "locked": True, **nbgrader}
        return c

    nb = nbformat.v4.new_notebook(cells=[cell("import gradcoach as gc", grade_id="setup"),
                                         *(cell(src) for src in student_cells),
                                         cell("assert x == 1", grade_id="t1", grade=True, points=1)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def test_each_notebook_gets_a_fresh_checker_the_student_cannot_see(monkeypatch):
    """Three notebooks graded one after another by one process (as a worker does): each test cell
    runs in a checker of its own (the one pre-started after the previous notebook, never reused),
    and the student's kernel, before and after its tests, sees no process but its own zygote."""
    from traitlets.config import Config

    from autograde import execute
    from autograde.sandbox import KernelSettings, Zygote

    used = []
    start = execute.SandboxedExecute._start_checker

    def spy(self):
        start(self)
        used.append(self._checker_km.provisioner.pid)

    monkeypatch.setattr(execute.SandboxedExecute, "_start_checker", spy)
    config = Config()
    config.SandboxedExecute.sandbox = KernelSettings(lang="en").to_config()
    config.SandboxedExecute.timeout = 60
    outputs = []
    try:
        for student in ("first", "second", "third"):
            nb = _tiny_notebook([SEE_PROCESSES, "x = 1", SEE_PROCESSES])
            resources = {"nbgrader": {"student": student, "assignment": "a", "notebook": "n"}}
            nb, _ = execute.SandboxedExecute(config=config).preprocess(nb, resources)
            outputs.append([[o.get("text", "") + o.get("evalue", "") for o in c.outputs] for c in nb.cells])
    finally:
        execute._discard_spares()
        Zygote.close_all()
    for cells in outputs:
        assert cells[1] == ["seen []\n"] and cells[3] == ["seen []\n"], cells
        assert cells[4] == [], cells  # the test passed in the checker
    assert len(set(used)) == 3, used


SHARED_UID_ATTACKS = ("signal_checker_with_right_answers", "ptrace_checker_with_right_answers", "steal_checker_key")


def test_userns_mode_keeps_the_checker_out_of_reach_too(tmp_path, monkeypatch):
    """``AUTOGRADE_SANDBOX=userns`` (a grader that is not root): every kernel has the sandbox's one
    uid, but the checker is still in a sandbox of its own, so the student's kernel neither traces,
    reads nor signals it. What it can signal is its own zygote, which ends its own notebook only:
    the next notebook on the same worker is graded as usual."""
    monkeypatch.setenv("AUTOGRADE_SANDBOX", "userns")
    course = make_course(tmp_path / "course", cell_timeout=TIMEOUT)
    for kind in SHARED_UID_ATTACKS:
        submit(course, kind, LESSON1, _content(course, kind, KINDS[kind][0]))
    submit(course, "zz_honest", LESSON1, student_notebook(course, LESSON1, "correct"))
    grade(course, workers=1, progress=False, log=lambda *_: None)
    printed = {}
    for kind in SHARED_UID_ATTACKS:
        nb = nbformat.read(course.path("autograded", kind, LESSON1, f"{LESSON1}.ipynb"), as_version=4)
        printed[kind] = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "attached 0 opened 0" in printed["ptrace_checker_with_right_answers"]
    assert "stolen 0" in printed["steal_checker_key"], printed
    assert grades_csv(course)[("steal_checker_key", LESSON1)] == 0
    signalled = report(course)[("signal_checker_with_right_answers", LESSON1)]
    assert signalled["status"] == "crashed", signalled  # it killed its own zygote, and with it its own kernel
    for kind in ("ptrace_checker_with_right_answers", "steal_checker_key", "zz_honest"):  # the next ones start
        assert report(course)[(kind, LESSON1)]["status"] == "graded", report(course)[(kind, LESSON1)]
    assert grades_csv(course)[("zz_honest", LESSON1)] == 3
