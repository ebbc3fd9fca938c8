"""The autograd graph behind a tensor: a torchviz picture when Graphviz's `dot` is installed,
a text tree otherwise (same nodes, read from ``grad_fn.next_functions``).

    gc.graph.show_graph(z, {"x": x, "y": y})   # displays it
    g = gc.graph.autograd_graph(z)             # the object: g.text, g.svg (None without dot)

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


def graph_text(outputs, params: dict | None = None, *, lang: str | None = None) -> str:
    """The graph as an indented tree, outputs at the top, leaf tensors (``.grad`` is filled there) at
    the bottom; ``params`` names tensors as torchviz's ``params`` does."""
    text = _messages(lang)
    names = {id(t): name for name, t in (params or {}).items()}
    outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    lines, seen = [], set()

    def leaf_label(t):
        return f"{names.get(id(t), text['leaf'])} {_shape(t)}  ← .grad"

    def walk(fn, prefix, connector, child_prefix):
        if hasattr(fn, "variable"):  # AccumulateGrad: the leaf whose .grad backward() fills
            lines.append(prefix + connector + leaf_label(fn.variable))
            return
        label = type(fn).__name__
        if fn in seen:
            lines.append(f"{prefix}{connector}{label} {text['shown_above']}")
            return
        seen.add(fn)
        lines.append(prefix + connector + label)
        children = [child for child, _ in fn.next_functions if child is not None]
        for i, child in enumerate(children):
            last = i == len(children) - 1
            walk(child, prefix + child_prefix, "└─ " if last else "├─ ", "   " if last else "│  ")

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
    try:
        from torchviz import make_dot
    except ImportError:
        return AutogradGraph(text, note=messages["no_torchviz"])
    import graphviz

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
