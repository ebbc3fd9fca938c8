"""The autograd graph behind a tensor: a torchviz picture when Graphviz's `dot` is installed,
a text tree otherwise (same nodes, read from ``grad_fn.next_functions``).

    gc.graph.show_graph(z, {"x": x, "y": y})   # displays it
    g = gc.graph.autograd_graph(z)             # the object: g.text, g.svg (None without dot)
    gc.graph.show_graph(z, {"x": x, "y": y}, annotate=True)   # values and gradients written in

With ``annotate=True`` (a scalar output) every node is drawn with its gradient, the named tensors also
with their values; each edge carries the gradient that one use sends back, and a tensor used more
than once is highlighted with its contributions added up (``grad 18 = 9 + 9``). The gradients come
from ``torch.autograd.grad`` with temporary hooks on the graph's nodes: ``.grad`` is left untouched
and the graph is kept, so ``backward()`` can still follow.

The same functions draw the graph of a scalar engine of your own (lesson 07's ``Value``): any object
with ``data``, ``grad``, ``_prev`` (its inputs) and ``_op`` (the operation's name) is such a node,
drawn with its value and gradient (through the `graphviz` package that torchviz brings).

torchviz and graphviz are imported only here and only when called: gradcoach itself needs torch
and numpy only. Debian/Ubuntu: `apt-get install graphviz`; conda: `python-graphviz` brings `dot`.
"""
from __future__ import annotations

import re
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
    if isinstance(v, torch.Tensor) and v.numel() != 1:
        flat = v.detach().reshape(-1)
        return "[" + ", ".join(f"{float(e):.4g}" for e in flat) + "]" if flat.numel() <= 4 else f"{tuple(v.shape)}"
    return f"{float(v):.4g}"


def _grad_field(node, sep: str) -> str:
    """``grad 18``, or ``grad 18 = 9 + 9`` for a value used more than once (annotated graphs)."""
    parts = getattr(node, "_contributions", ())
    total = f"grad{sep}{_number(node.grad)}"
    return total if len(parts) < 2 else total + " = " + " + ".join(_number(p) for p in parts)


def _record(text: str) -> str:
    """``text`` safe inside a Graphviz record label (whose ``{ } | < >`` are structure)."""
    return re.sub(r"([{}|<>])", r"\\\1", text)


def _engine_label(names):
    def label(node):
        name = names.get(id(node))
        head = name if not node._prev else (f"{name} = {node._op}" if name else (node._op or "?"))
        data = "" if node.data is None else f"  data={_number(node.data)}"
        return f"{head or type(node).__name__}{data}  {_grad_field(node, '=')}"
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
    per operation, leaves blue and outputs green as in torchviz's pictures. Nodes of an annotated
    tensor graph (:func:`_annotated`) also label each edge with the gradient it carries back, and a
    value used more than once is orange."""
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
        if len(getattr(node, "_contributions", ())) > 1:
            color = "orange"
        head = names.get(id(node)) or ("output" if id(node) in out_ids and len(outputs) == 1 else "")
        fields = [head] if head else []
        fields += [] if node.data is None else [f"data {_number(node.data)}"]
        fields += [_grad_field(node, " ")]
        dot.node(uid, " | ".join(_record(f) for f in fields), shape="record", style="filled", fillcolor=color)
        if node._prev:
            dot.node(uid + "op", node._op or "?", shape="ellipse")
            dot.edge(uid + "op", uid)
            edge_grads = getattr(node, "_edge_grads", None)
            for k, parent in enumerate(node._prev):
                label = {} if edge_grads is None else {"label": _number(edge_grads[k]), "fontsize": "10",
                                                       "fontcolor": "firebrick"}
                dot.edge(str(id(parent)), uid + "op", **label)
                stack.append(parent)
    return dot


class _Annotated:
    """One value of an annotated tensor graph, shaped like an engine node: ``data`` (None where the
    tensor was not named, so its value is unknown), ``grad``, ``_prev``/``_op``; ``_edge_grads[k]`` is
    the gradient sent back to ``_prev[k]``, ``_contributions`` the gradients its uses sent back."""

    def __init__(self, data, op=""):
        self.data, self._op, self.grad = data, op, None
        self._prev, self._edge_grads, self._contributions = (), (), []


def _annotated(output, params: dict | None, lang: str | None = None):
    """The graph behind the scalar tensor ``output`` as :class:`_Annotated` nodes (and their names),
    with the gradients of ``output`` measured by ``torch.autograd.grad`` (``.grad`` is not touched).
    An operation with several outputs (split, unbind) is one box, with the gradient of its first output."""
    from .evaluate import usage_error

    if not isinstance(output, torch.Tensor):
        raise usage_error("graph_annotate_not_tensor", kind=type(output).__name__)
    if output.numel() != 1:
        raise usage_error("graph_annotate_scalar", shape=tuple(output.shape))
    if output.grad_fn is None:
        raise usage_error("graph_annotate_leaf" if output.requires_grad else "graph_annotate_no_graph")
    named = {}  # grad_fn (or leaf tensor) → (name, tensor)
    for name, t in (params or {}).items():
        if isinstance(t, torch.Tensor):
            named[id(t.grad_fn) if t.grad_fn is not None else id(t)] = (name, t)
    named.setdefault(id(output.grad_fn), ("output", output))
    fns, order, stack = {}, [], [output.grad_fn]
    while stack:  # every node once
        fn = stack.pop()
        if fn is None or id(fn) in fns:
            continue
        fns[id(fn)] = fn
        order.append(fn)
        stack.extend(child for child, _ in fn.next_functions)
    leaves = [fn.variable for fn in order if hasattr(fn, "variable")]
    seen_in, seen_out, handles = {}, {}, []

    def hook_for(fn):
        def hook(grad_inputs, grad_outputs):
            seen_in[id(fn)], seen_out[id(fn)] = grad_inputs, grad_outputs
        return hook

    for fn in order:
        if not hasattr(fn, "variable"):
            handles.append(fn.register_hook(hook_for(fn)))
    try:
        leaf_grads = torch.autograd.grad(output, leaves, retain_graph=True, allow_unused=True)
    except RuntimeError as exc:
        raise usage_error("graph_annotate_freed") from exc
    finally:
        for handle in handles:
            handle.remove()
    leaf_grad = {id(v): g for v, g in zip(leaves, leaf_grads, strict=True)}
    boxes, names = {}, {}
    for fn in order:
        key = id(fn.variable) if hasattr(fn, "variable") else id(fn)
        name, tensor = named.get(key, (None, None))
        if hasattr(fn, "variable"):
            box = _Annotated(fn.variable.detach())
            box.grad = leaf_grad[id(fn.variable)]
            name = name or _messages(lang)["leaf"]
        else:
            box = _Annotated(None if tensor is None else tensor.detach(), type(fn).__name__)
            box.grad = seen_out[id(fn)][0] if id(fn) in seen_out else None
        if box.grad is None:
            box.grad = torch.zeros(())
        boxes[id(fn)] = box
        if name:
            names[id(box)] = name
    boxes[id(output.grad_fn)].grad = torch.ones_like(output).detach()
    for fn in order:
        kids = [(k, child) for k, (child, _) in enumerate(fn.next_functions) if child is not None]
        box = boxes[id(fn)]
        box._prev = tuple(boxes[id(child)] for _, child in kids)
        grads = seen_in.get(id(fn), ())
        box._edge_grads = tuple(grads[k] if k < len(grads) and grads[k] is not None else torch.zeros(())
                                for k, _ in kids)
        for parent, g in zip(box._prev, box._edge_grads, strict=True):
            parent._contributions.append(g)
    return boxes[id(output.grad_fn)], names


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


def autograd_graph(outputs, params: dict | None = None, *, lang: str | None = None,
                   annotate: bool = False) -> AutogradGraph:
    """The graph behind ``outputs`` (a tensor or a tuple of them), drawn by torchviz through
    Graphviz's `dot` when both are installed, as text otherwise (``.note`` says why).
    ``annotate=True``: a scalar tensor's graph with values and gradients (see the module's docstring)."""
    messages = _messages(lang)
    names = None  # by id: an annotated graph's names (several unnamed leaves may share "leaf")
    if annotate and not all(is_engine_node(o) for o in _as_outputs(outputs)):
        outputs, names = _annotated(outputs, params, lang)
        text = _engine_text((outputs,), names, messages)
    else:
        text = graph_text(outputs, params, lang=lang)
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
        dot = _engine_dot(_as_outputs(outputs), names if names is not None else
                          {id(v): k for k, v in (params or {}).items()})
    else:
        with warnings.catch_warnings():  # torchviz 0.0.3 compares versions with distutils' LooseVersion
            warnings.filterwarnings("ignore", "distutils Version classes", DeprecationWarning)
            dot = make_dot(outputs if not isinstance(outputs, list) else tuple(outputs), params=params)
    try:
        svg = dot.pipe(format="svg", encoding="utf-8")
    except (graphviz.ExecutableNotFound, subprocess.CalledProcessError, OSError):
        return AutogradGraph(text, source=dot.source, note=messages["no_dot"])
    return AutogradGraph(text, svg=svg, source=dot.source)


def show_graph(outputs, params: dict | None = None, *, lang: str | None = None, annotate: bool = False) -> None:
    """Display :func:`autograd_graph` (a picture in Jupyter when `dot` is installed; text otherwise)."""
    graph = autograd_graph(outputs, params, lang=lang, annotate=annotate)
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
