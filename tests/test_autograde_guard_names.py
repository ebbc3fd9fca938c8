"""Test cells run with gc/torch/np renamed to per-kernel aliases, and suspicious student code is
flagged for review."""
from __future__ import annotations

from autograde.execute import rename_names
from autograde.scan import scan_source

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
