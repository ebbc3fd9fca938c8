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

from .i18n import language

TEXT = {
    "en": {
        "leaf": "leaf",
        "shown_above": "(shown above)",
        "no_graph": "{name} has no grad_fn: it is not the result of operations on tensors with requires_grad=True.",
        "no_dot": "(Graphviz's `dot` was not found, so the graph is shown as text. "
                  "Install it with `apt-get install graphviz` or `conda install python-graphviz`.)",
        "no_torchviz": "(torchviz is not installed, so the graph is shown as text: `pip install torchviz`.)",
    },
    "ja": {
        "leaf": "葉テンソル",
        "shown_above": "（上に表示済み）",
        "no_graph": "{name} には grad_fn がありません。requires_grad=True のテンソルから計算された結果ではないためです。",
        "no_dot": "（Graphviz の `dot` が見つからないため、計算グラフを文字で表示します。"
                  "`apt-get install graphviz` または `conda install python-graphviz` で入れられます。）",
        "no_torchviz": "（torchviz がインストールされていないため、計算グラフを文字で表示します: "
                       "`pip install torchviz`）",
    },
    "ko": {
        "leaf": "리프 텐서",
        "shown_above": "(위에 표시함)",
        "no_graph": "{name}에는 grad_fn이 없습니다. requires_grad=True인 텐서로 계산한 결과가 아니기 때문입니다.",
        "no_dot": "(Graphviz의 `dot`을 찾지 못해 계산 그래프를 글자로 표시합니다. "
                  "`apt-get install graphviz` 또는 `conda install python-graphviz`로 설치할 수 있습니다.)",
        "no_torchviz": "(torchviz가 설치되어 있지 않아 계산 그래프를 글자로 표시합니다: `pip install torchviz`)",
    },
}


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
    text = TEXT[lang or language()]
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
        name = names.get(id(out), "y" if len(outputs) == 1 else f"y[{k}]")
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
    messages = TEXT[lang or language()]
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
