"""Computation graphs: torchviz through Graphviz's `dot` renders SVG; without `dot` (or without
torchviz) gradcoach.graph shows the same graph as text, and a kernel displays each as it should."""
import shutil
import sys
import xml.etree.ElementTree as ET

import nbformat
import pytest
import torch

from gradcoach import graph
from gradcoach_languages import LANGUAGES

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz's `dot` is not installed (apt-get install graphviz)")
# torchviz 0.0.3 compares versions with distutils' LooseVersion; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:distutils Version classes:DeprecationWarning")


def chain_rule_example():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    w = torch.tensor(3.0, requires_grad=True)
    z = (x * w + x ** 2).sum()
    return x, w, z


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """A PATH on which `dot` cannot be found (everything else here is called by absolute path)."""
    monkeypatch.setenv("PATH", str(tmp_path))
    assert shutil.which("dot") is None


@needs_dot
def test_torchviz_renders_the_graph_to_svg_through_dot():
    from torchviz import make_dot

    x, w, z = chain_rule_example()
    svg = make_dot(z, params={"x": x, "w": w}).pipe(format="svg", encoding="utf-8")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    labels = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    for node in ("SumBackward0", "AddBackward0", "MulBackward0", "PowBackward0", "AccumulateGrad"):
        assert node in labels
    assert "x" in labels.split() and "w" in labels.split()


@needs_dot
def test_autograd_graph_is_a_picture_when_dot_is_installed():
    x, w, z = chain_rule_example()
    g = graph.autograd_graph(z, {"x": x, "w": w})
    assert g.note is None and g._repr_svg_().lstrip().startswith("<?xml")
    assert "MulBackward0" in g.svg and "digraph" in g.source


def test_without_dot_make_dot_cannot_render_and_the_graph_is_text(no_dot):
    import graphviz
    from torchviz import make_dot

    x, w, z = chain_rule_example()
    with pytest.raises(graphviz.ExecutableNotFound):
        make_dot(z).pipe(format="svg")
    g = graph.autograd_graph(z, {"x": x, "w": w}, lang="en")
    assert g.svg is None and g._repr_svg_() is None and "digraph" in g.source
    assert "apt-get install graphviz" in g.note and "python-graphviz" in g.note
    assert repr(g) == g.text + "\n" + g.note


def test_text_graph_lists_every_node_and_marks_shared_ones():
    x, w, z = chain_rule_example()
    assert graph.graph_text(z, {"x": x, "w": w}, lang="en") == "\n".join([
        "output ()",
        "└─ SumBackward0",
        "   └─ AddBackward0",
        "      ├─ MulBackward0",
        "      │  ├─ x (2,)  ← .grad",
        "      │  └─ w ()  ← .grad",
        "      └─ PowBackward0",
        "         └─ x (2,)  ← .grad",
    ])
    a = torch.tensor(1.5, requires_grad=True)
    b = a.exp()
    shared = graph.graph_text(b * b, {"a": a}, lang="en").splitlines()
    assert shared[-1].endswith("ExpBackward0 (shown above)")
    assert sum("← .grad" in line for line in shared) == 1


def test_text_graph_speaks_the_notebooks_language_and_explains_a_tensor_without_graph():
    x = torch.tensor(2.0, requires_grad=True)
    assert "葉テンソル ()" in graph.graph_text(x * 2, lang="ja")
    assert "리프 텐서 ()" in graph.graph_text(x * 2, lang="ko")
    assert "grad_fn" in graph.graph_text(torch.tensor(2.0) * 2, lang="en")


def test_without_torchviz_the_graph_is_text(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchviz", None)  # import torchviz now raises ImportError
    _, _, z = chain_rule_example()
    g = graph.autograd_graph(z, lang="ko")
    assert g.svg is None and g.source is None and "pip install torchviz" in g.note


class Node:
    """The smallest engine node gc.graph accepts: data, grad, _prev, _op (as lesson 07's Value)."""

    def __init__(self, data, prev=(), op="", grad=0.0):
        self.data, self.grad, self._prev, self._op = data, grad, tuple(prev), op


def engine_example():
    a, b = Node(2.0, grad=-3.0), Node(-3.0, grad=2.0)
    e = Node(-6.0, (a, b), "*", grad=1.0)
    return a, b, Node(-12.0, (e, e), "+", grad=1.0)


def test_engine_nodes_are_told_from_tensors():
    a, _, _ = engine_example()
    assert graph.is_engine_node(a)
    assert not graph.is_engine_node(torch.tensor(1.0, requires_grad=True))


def test_text_graph_of_an_engine_shows_operations_values_and_gradients_once_per_shared_node():
    a, b, out = engine_example()
    assert graph.graph_text(out, {"a": a, "b": b}, lang="en") == "\n".join([
        "output = +  data=-12  grad=1",
        "├─ *  data=-6  grad=1",
        "│  ├─ a  data=2  grad=-3",
        "│  └─ b  data=-3  grad=2",
        "└─ *  data=-6  grad=1 (shown above)",
    ])
    assert graph.graph_text(out, lang="ja").splitlines()[-1].endswith("（上に表示済み）")


@needs_dot
def test_engine_graph_is_a_picture_with_data_and_grad_in_every_value_box():
    a, b, out = engine_example()
    g = graph.autograd_graph(out, {"a": a, "b": b})
    assert g.note is None and g.svg.lstrip().startswith("<?xml")
    root = ET.fromstring(g.svg)
    labels = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    for text in ("a", "data 2", "grad -3", "data -6", "output", "data -12", "*", "+"):
        assert text in labels, text
    assert g.source.count("shape=record") == 4 and g.source.count("shape=ellipse") == 2


def test_engine_graph_without_dot_is_the_text_tree(no_dot):
    _, _, out = engine_example()
    g = graph.autograd_graph(out, lang="en")
    assert g.svg is None and "shape=record" in g.source and "apt-get install graphviz" in g.note
    assert g.text.startswith("output = +")


def fan_out_example():
    """Lesson 02's annotated graph: y is used twice, so its gradient is the sum of two contributions."""
    x = torch.tensor(1.0, requires_grad=True)
    y = x + 2
    p = y * y
    z = 3 * p
    return x, y, p, z


def test_annotated_graph_shows_values_gradients_and_the_two_contributions_of_a_fan_out():
    x, y, p, z = fan_out_example()
    g = graph.autograd_graph(z, {"x": x, "y": y, "p": p, "z": z}, annotate=True, lang="en")
    assert g.text == "\n".join([
        "z = MulBackward0  data=27  grad=1",
        "└─ p = MulBackward0  data=9  grad=3",
        "   ├─ y = AddBackward0  data=3  grad=18 = 9 + 9",
        "   │  └─ x  data=1  grad=18",
        "   └─ y = AddBackward0  data=3  grad=18 = 9 + 9 (shown above)",
    ])
    assert g.source.count("fillcolor=orange") == 1, "only y, the tensor used twice, is highlighted"
    assert g.source.count("[label=9 ") == 2 and "[label=18 " in g.source, "each edge carries its gradient"


def test_annotating_measures_gradients_without_touching_grad_and_keeps_the_graph():
    x, y, p, z = fan_out_example()
    graph.autograd_graph(z, {"x": x}, annotate=True, lang="en")
    assert x.grad is None
    z.backward()
    assert x.grad == 18.0


def test_unnamed_tensors_show_their_gradients_and_each_leaf_its_own_sum():
    x, w, z = chain_rule_example()
    text = graph.autograd_graph(z, {"w": w}, annotate=True, lang="ja").text
    assert text.splitlines()[1] == "└─ AddBackward0  grad=[1, 1]", "no value: the tensor was not named"
    assert "葉テンソル  data=[1, 2]  grad=[5, 7] = [2, 4] + [3, 3]" in text  # d/dx (xw + x²) = w + 2x
    assert "w  data=3  grad=3" in text


def test_annotate_refuses_a_vector_output_and_a_freed_graph_in_the_notebooks_language():
    from gradcoach import set_language
    from gradcoach.evaluate import GradcoachUsageError

    x, w, z = chain_rule_example()
    with pytest.raises(GradcoachUsageError, match=r"\(2,\).*\.sum\(\)"):
        graph.autograd_graph(x * w, annotate=True)
    z.backward()
    try:
        set_language("ko")
        with pytest.raises(GradcoachUsageError, match="해제.*retain_graph=True"):
            graph.show_graph(z, annotate=True)
    finally:
        set_language("en")


@needs_dot
def test_annotated_graph_is_a_picture_with_the_fan_out_sum_written_in():
    x, y, p, z = fan_out_example()
    g = graph.autograd_graph(z, {"x": x, "y": y, "p": p, "z": z}, annotate=True)
    root = ET.fromstring(g.svg)
    labels = [t.text or "" for t in root.iter() if t.tag.endswith("text")]
    for text in ("grad 18 = 9 + 9", "data 27", "grad 3", "AddBackward0"):
        assert text in labels, text
    assert labels.count("9") == 2


GRAPH_NOTEBOOK = [
    "import torch\nimport gradcoach as gc\nfrom gradcoach.graph import show_graph\nfrom torchviz import make_dot\n"
    "x = torch.tensor([1.0, 2.0], requires_grad=True)\nz = (x * x).sum()",
    "show_graph(z, {'x': x})",
    "make_dot(z, params={'x': x})",
]


def run_in_kernel(tmp_path, env):
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in GRAPH_NOTEBOOK])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, timeout=120, allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}).execute(env=env)
    return nb.cells


@pytest.mark.slow
@needs_dot
def test_a_kernel_displays_the_graph_as_svg_with_dot(tmp_path):
    import os

    cells = run_in_kernel(tmp_path, dict(os.environ))
    for cell in cells[1:]:
        assert any("image/svg+xml" in out.get("data", {}) for out in cell.outputs), cell.outputs


@pytest.mark.slow
def test_a_kernel_shows_the_text_graph_without_dot_while_bare_make_dot_fails(tmp_path):
    import os

    cells = run_in_kernel(tmp_path, dict(os.environ, PATH=str(tmp_path)))
    shown = cells[1].outputs
    assert not any(out.output_type == "error" for out in shown)
    text = "".join(out.get("text", "") + out.get("data", {}).get("text/plain", "") for out in shown)
    assert "MulBackward0" in text and "apt-get install graphviz" in text
    # A bare make_dot cannot render without dot: what the lessons' fallback (and show_graph) avoids.
    assert not any("image/svg+xml" in out.get("data", {}) for out in cells[2].outputs)


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGUAGES)
def test_lesson_02_falls_back_to_the_text_graph_without_dot(lang, tmp_path):
    """The chain-rule lesson draws its graph with gc.graph.show_graph; on a machine without Graphviz it must
    still run every cell and show the graph as text."""
    import os
    from pathlib import Path

    from nbclient import NotebookClient

    root = Path(__file__).resolve().parents[1]
    found = sorted(root.glob(f"notebooks/{lang}/02_*.ipynb"))
    if not found:
        pytest.fail(f"notebooks/{lang}/02_*.ipynb is missing: run `make notebooks`")
    nb = nbformat.read(found[0], as_version=4)
    assert any("show_graph(" in c.source for c in nb.cells if c.cell_type == "code"), "lesson 02 draws no graph"
    NotebookClient(nb, timeout=300, allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}).execute(
        env=dict(os.environ, PATH=str(tmp_path)))
    outputs = [(c, o) for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    errors = [o.ename for c, o in outputs if o.output_type == "error" and not (
        c.metadata.get("nbgrader", {}).get("solution") or c.metadata.get("nbgrader", {}).get("grade"))]
    assert errors == []
    assert not any("image/svg+xml" in o.get("data", {}) for _, o in outputs)
    texts = "".join(o.get("text", "") for _, o in outputs)
    assert "AccumulateGrad" in texts or "MulBackward0" in texts, "the text graph was not printed"
