"""The autograd graph behind a tensor: a torchviz picture when Graphviz's `dot` is installed,
a text tree otherwise (same nodes, read from ``grad_fn.next_functions``).

    gc.graph.show_graph(z, {"x": x, "y": y})   # displays it
    g = gc.graph.autograd_graph(z)             # the object: g.text, g.svg (None without dot)

The same functions draw the graph of a scalar engine of your own (lesson 07's ``Value``): any object
with ``data``, ``grad``, ``_prev`` (its inputs) and ``_op`` (the operation's name) is such a node,
drawn with its value and gradient (through the `graphviz` package that torchviz brings).

torchviz and graphviz are imported only here and only when called: gradcoach itself needs torch
and numpy only. Debian/Ubuntu: `apt-get install graphviz`; conda: `python-graphviz` brings `dot`.
"""
from __future__ import annotations

import subprocess
import warnings

import torch

from .i18n import catalogue, language


def _messages(lang: str | None) -> dict[str, str]:
    """This module's texts (catalogue keys ``graph_*``) in one language."""
    return {k[6:]: v for k, v in catalogue(lang or language()).items() if k.startswith("graph_")}


class AutogradGraph:
    """An autograd graph ready to show: SVG in Jupyter when it could be rendered, text elsewhere."""

    def __init__(self, text: str, svg: str | None = None, source: str | None = None, note: str | None = None):
        self.text = text        # the text tree (always there)
        self.svg = svg          # the torchviz picture, rendered by `dot`; None without it
        self.source = source    # the DOT source torchviz made; None without torchviz
        self.note = note        # why there is no picture, in the notebook's language

    def _repr_svg_(self):
        return self.svg  # None: Jupyter then shows the text

    def __repr__(self) -> str:
        return self.text if self.note is None else f"{self.text}\n{self.note}"


def _shape(t: torch.Tensor) -> str:
    return str(tuple(t.shape))


def is_engine_node(obj) -> bool:
    """Whether ``obj`` is a node of a scalar autograd engine (duck-typed: ``data``, ``grad``,
    ``_prev``, ``_op``), as opposed to a tensor."""
    return not isinstance(obj, torch.Tensor) and all(hasattr(obj, a) for a in ("data", "grad", "_prev", "_op"))


def _as_outputs(outputs) -> tuple:
    return tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs,)


def _tree(lines, node, label, children, terminal, shown_above, prefix="", connector="└─ ", child_prefix="   ",
          seen=None):
    """Append ``node`` and its inputs to ``lines`` as an indented tree; a shared inner node is drawn
    once and then marked ``shown_above`` (terminal nodes, the leaves, are repeated)."""
    seen = set() if seen is None else seen
    if terminal(node):
        lines.append(prefix + connector + label(node))
        return
    if id(node) in seen:
        lines.append(f"{prefix}{connector}{label(node)} {shown_above}")
        return
    seen.add(id(node))
    lines.append(prefix + connector + label(node))
    kids = children(node)
    for i, child in enumerate(kids):
        last = i == len(kids) - 1
        _tree(lines, child, label, children, terminal, shown_above, prefix + child_prefix,
              "└─ " if last else "├─ ", "   " if last else "│  ", seen)


def _number(v) -> str:
    return f"{float(v):.4g}"


def _engine_label(names):
    def label(node):
        name = names.get(id(node))
        head = name if not node._prev else (f"{name} = {node._op}" if name else (node._op or "?"))
        return f"{head or type(node).__name__}  data={_number(node.data)}  grad={_number(node.grad)}"
    return label


def _engine_text(outputs, names, text) -> str:
    lines = []
    label = _engine_label(names)
    seen: set = set()
    for k, out in enumerate(outputs):
        default = "output" if len(outputs) == 1 else f"output[{k}]"
        root = _engine_label({**names, id(out): names.get(id(out), default)})(out)
        lines.append(root)
        kids = list(out._prev)
        seen.add(id(out))
        for i, child in enumerate(kids):
            last = i == len(kids) - 1
            _tree(lines, child, label, lambda n: list(n._prev), lambda n: not n._prev, text["shown_above"],
                  "", "└─ " if last else "├─ ", "   " if last else "│  ", seen)
    return "\n".join(lines)


def _engine_dot(outputs, names):
    """A graphviz.Digraph of an engine graph: one box per value (name, data, grad), one ellipse
    per operation, leaves blue and outputs green as in torchviz's pictures."""
    import graphviz

    dot = graphviz.Digraph(graph_attr={"rankdir": "LR"}, node_attr={"fontsize": "11", "height": "0.2"})
    drawn, stack = set(), list(outputs)
    out_ids = {id(o) for o in outputs}
    while stack:
        node = stack.pop()
        if id(node) in drawn:
            continue
        drawn.add(id(node))
        uid = str(id(node))
        color = "darkolivegreen1" if id(node) in out_ids else ("lightblue" if not node._prev else "white")
        head = names.get(id(node)) or ("output" if id(node) in out_ids and len(outputs) == 1 else "")
        fields = [head] if head else []
        fields += [f"data {_number(node.data)}", f"grad {_number(node.grad)}"]
        dot.node(uid, " | ".join(fields), shape="record", style="filled", fillcolor=color)
        if node._prev:
            dot.node(uid + "op", node._op or "?", shape="ellipse")
            dot.edge(uid + "op", uid)
            for parent in node._prev:
                dot.edge(str(id(parent)), uid + "op")
                stack.append(parent)
    return dot


def graph_text(outputs, params: dict | None = None, *, lang: str | None = None) -> str:
    """The graph as an indented tree, outputs at the top, leaf tensors (``.grad`` is filled there) at
    the bottom; ``params`` names tensors as torchviz's ``params`` does. Engine nodes (see
    :func:`is_engine_node`) are shown with their operation, ``data`` and ``grad``."""
    text = _messages(lang)
    names = {id(t): name for name, t in (params or {}).items()}
    outputs = _as_outputs(outputs)
    if all(is_engine_node(o) for o in outputs):
        return _engine_text(outputs, names, text)
    lines, seen = [], set()

    def leaf_label(t):
        return f"{names.get(id(t), text['leaf'])} {_shape(t)}  ← .grad"

    def label(fn):  # AccumulateGrad: the leaf whose .grad backward() fills
        return leaf_label(fn.variable) if hasattr(fn, "variable") else type(fn).__name__

    def walk(fn, prefix, connector, child_prefix):
        _tree(lines, fn, label, lambda f: [c for c, _ in f.next_functions if c is not None],
              lambda f: hasattr(f, "variable"), text["shown_above"], prefix, connector, child_prefix, seen)

    for k, out in enumerate(outputs):
        name = names.get(id(out), "output" if len(outputs) == 1 else f"output[{k}]")
        if out.grad_fn is None:
            lines.append(leaf_label(out) if out.requires_grad else text["no_graph"].format(name=name))
            continue
        lines.append(f"{name} {_shape(out)}")
        walk(out.grad_fn, "", "└─ ", "   ")
    return "\n".join(lines)


def autograd_graph(outputs, params: dict | None = None, *, lang: str | None = None) -> AutogradGraph:
    """The graph behind ``outputs`` (a tensor or a tuple of them), drawn by torchviz through
    Graphviz's `dot` when both are installed, as text otherwise (``.note`` says why)."""
    text = graph_text(outputs, params, lang=lang)
    messages = _messages(lang)
    engine = all(is_engine_node(o) for o in _as_outputs(outputs))
    try:
        if engine:  # the graphviz package draws it; torchviz brings that package (hence its message)
            import graphviz
        else:
            from torchviz import make_dot
    except ImportError:
        return AutogradGraph(text, note=messages["no_torchviz"])
    import graphviz

    if engine:
        dot = _engine_dot(_as_outputs(outputs), {id(v): k for k, v in (params or {}).items()})
    else:
        with warnings.catch_warnings():  # torchviz 0.0.3 compares versions with distutils' LooseVersion
            warnings.filterwarnings("ignore", "distutils Version classes", DeprecationWarning)
            dot = make_dot(outputs if not isinstance(outputs, list) else tuple(outputs), params=params)
    try:
        svg = dot.pipe(format="svg", encoding="utf-8")
    except (graphviz.ExecutableNotFound, subprocess.CalledProcessError, OSError):
        return AutogradGraph(text, source=dot.source, note=messages["no_dot"])
    return AutogradGraph(text, svg=svg, source=dot.source)


def show_graph(outputs, params: dict | None = None, *, lang: str | None = None) -> None:
    """Display :func:`autograd_graph` (a picture in Jupyter when `dot` is installed; text otherwise)."""
    graph = autograd_graph(outputs, params, lang=lang)
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        print(repr(graph))
        return
    if get_ipython() is None:
        print(repr(graph))
    else:
        display(graph)  # SVG when rendered, else the text (with the note)
