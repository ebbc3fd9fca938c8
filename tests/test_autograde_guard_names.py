"""Test cells run with gc/torch/np renamed to per-kernel aliases, and suspicious student code is
flagged for review."""
from __future__ import annotations

from autograde.execute import rename_names
from autograde.scan import scan_source

from _autograde import ROOT

ALIASES = {"gc": "__ag_1_gc", "torch": "__ag_1_torch", "np": "__ag_1_np"}


def test_free_names_are_renamed_everywhere_in_the_test():
    src = ("def check(x0):\n    x = gc.answer(f, x0)\n    gc.assert_grad(x, lambda x: torch.exp(x))\n\n"
           "check(torch.tensor(1.0))\n")
    assert rename_names(src, ALIASES) == (
        "def check(x0):\n    x = __ag_1_gc.answer(f, x0)\n    __ag_1_gc.assert_grad(x, lambda x: __ag_1_torch.exp(x))\n\n"
        "check(__ag_1_torch.tensor(1.0))\n")


def test_attributes_keywords_strings_and_imports_are_left_alone():
    src = "import torch\nx.gc = f(gc=1, np=2)\ns = 'gc torch'\nfrom numpy import linalg as np\n"
    assert rename_names(src, ALIASES) == src


def test_code_that_does_not_tokenize_is_sent_unchanged():
    assert rename_names("x = (gc\n", ALIASES) == "x = (gc\n"


def test_tampering_is_flagged_and_ordinary_code_is_not():
    assert scan_source("x = torch.tensor(2.0, requires_grad=True)\n(x ** 3).backward()\n") == []
    flags = scan_source("import sys\ngc.assert_grad = None\ntorch.allclose = lambda *a: True\n"
                        "class A:\n    def __eq__(self, o):\n        return True\n"
                        "get_ipython().showtraceback = print\nsys.modules['gradcoach'] = None\n")
    assert "changes gc.assert_grad" in flags and "changes torch.allclose" in flags
    assert "defines __eq__" in flags and "uses .showtraceback" in flags
    assert "changes sys.modules['gradcoach']" in flags and "calls get_ipython()" in flags


def test_scanner_flags_the_ways_around_the_guard_listed_in_issue_11():
    flags = scan_source("import __main__, os\nns = vars(__main__)\nb = __builtins__\nsys.displayhook(1.0)\n"
                        "f.__code__ = g.__code__\nf.__kwdefaults__ = {}\nobject.__setattr__(r, 'x', 1)\n"
                        "f.__module__ = 'gradcoach.report'\nprint(In[-1], _ih[-1], Out)\nos.fork()\n")
    for flag in ("imports __main__", "calls vars()", "uses __builtins__", "uses .displayhook", "uses .__code__",
                 "uses .__kwdefaults__", "uses .__setattr__", "sets f.__module__", "uses In", "uses _ih",
                 "uses Out", "uses .fork"):
        assert flag in flags, flag
    assert "uses __main__" in scan_source("import sys\nm = sys.modules['__main__']\n")
    assert "sets __module__" in scan_source("class Report:\n    __module__ = 'gradcoach.report'\n")


def test_guarded_names_have_one_definition():
    from autograde.execute import SandboxedExecute
    from autograde.inside.guarded import GUARDED
    from autograde.scan import _GUARDED_ROOTS

    assert SandboxedExecute().guarded_names == GUARDED
    assert set(GUARDED) | set(GUARDED.values()) <= _GUARDED_ROOTS
    guard = (ROOT / "autograde" / "inside" / "autograde_guard.py").read_text()
    assert "from guarded import GUARDED" in guard and '"gc": ' not in guard


def test_a_configured_guarded_name_reaches_the_kernel_with_its_module():
    from traitlets.config import Config

    from autograde.execute import SandboxedExecute
    from autograde.sandbox import KernelSettings

    config = Config()
    config.SandboxedExecute.guarded_names = {"gc": "gradcoach", "F": "torch.nn.functional"}
    config.SandboxedExecute.sandbox = KernelSettings(lang="ja", sandbox=False).to_config()
    execute = SandboxedExecute(config=config)
    km = execute.create_kernel_manager()
    boot = km.boot_config()
    assert boot["lang"] == "ja" and boot["uid"] is None and boot["entry"] == execute.entry
    assert {name: module for name, (_alias, module) in boot["guarded"].items()} == \
        {"gc": "gradcoach", "F": "torch.nn.functional"}
    assert rename_names("F.relu(x)\n", execute.aliases) == f"{execute.aliases['F']}.relu(x)\n"


def test_kernel_settings_have_one_constructor_and_round_trip():
    from autograde.sandbox import KernelSettings, Limits

    settings = KernelSettings(Limits(memory_mb=512), "ko", True, "entry", {"gc": ["a", "gradcoach"]})
    assert KernelSettings.from_config(settings.to_config()) == settings
    assert settings.boot(7, "/h")["rlimits"]["RLIMIT_AS"] == 512 * 1024 * 1024


def test_output_cap_keeps_a_cells_error_and_marks_truncation_on_stdout():
    from autograde.execute import EventKind, SandboxedExecute

    execute = SandboxedExecute(max_output_bytes=1000)
    execute.events, execute._output_bytes = [], {}
    execute.reset_execution_trackers()
    execute.clear_before_next_output = False
    outs = []

    def msg(msg_type, **content):
        return {"msg_type": msg_type, "header": {"msg_type": msg_type}, "parent_header": {"msg_id": "m"},
                "content": content}

    for _ in range(5):
        execute.output(outs, msg("stream", name="stdout", text="x" * 400), None, 3)
    execute.output(outs, msg("error", ename="AssertionError", evalue="wrong gradient",
                             traceback=["frame\n" * 10_000]), None, 3)
    kinds = [(o.output_type, o.get("name")) for o in outs]
    assert kinds == [("stream", "stdout"), ("stream", "stdout"), ("stream", "stdout"), ("error", None)]
    assert outs[2].text == "[...]\n" and outs[3].evalue == "wrong gradient"
    assert sum(len(line) for line in outs[3].traceback) <= 1000
    assert [e.kind for e in execute.events] == [EventKind.OUTPUT_TRUNCATED]


def test_no_correct_answer_is_flagged_for_review():
    """The course's own solutions and the mutation suite's correct alternatives use only lesson API
    (lesson 08 registers tensor hooks): a flag on them would send honest students to review."""
    import nbformat
    from mutation_cases import CASES, R

    from autograde.scan import scan_notebook

    for path in sorted((ROOT / "solutions" / "en").glob("*.ipynb")):
        release = nbformat.read(ROOT / "notebooks" / "en" / path.name, as_version=4)
        course_sources = {cell.source.strip() for cell in release.cells}  # as grade.py passes them
        assert scan_notebook(nbformat.read(path, as_version=4), course_sources) == [], path.name
    for lesson, exercises in CASES.items():
        for exercise, cases in exercises.items():
            for code in cases.get(R, []):
                assert scan_source(code) == [], (lesson, exercise, code)
