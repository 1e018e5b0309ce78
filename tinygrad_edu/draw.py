"""Pictures of the recorded graph: ``draw_graph(root)`` returns a Graphviz drawing.

How to read a picture (left to right, the direction of the forward pass):

* Boxes are values (tensors): a name, the shape, the numbers (``data``) and, in red, the
  gradient ∂root/∂value (``grad``). Small arrays are printed in full (4 significant
  digits); large ones are summarised by min, mean and max.
* The fill says what a value is: orange for parameters (leaves that require grad, the
  things training changes), blue for inputs (data), grey for constants, white for
  intermediate results, green for the output the graph was drawn from.
* Ellipses are operations. A grey ellipse is a primitive op with its own backward rule
  (``ops.py``); a purple, double-ringed one is a composite (``relu``, ``softplus``,
  ``mse_loss``, ...) or a module call (``Linear``) drawn as one node, with the call's
  arguments as its inputs (the target given to ``mse_loss`` too; constants a composite
  makes inside stay hidden). ``expand=True`` opens them up into their primitives
  (``expand=1`` opens one level), which shows for example that softplus is max, exp and log.
* Dashed frames are container modules (``MLP``, ``Sequential``) that the values were
  computed inside.

Rendering needs Graphviz: the ``dot`` program on PATH (``apt-get install graphviz``), or,
without it, the Graphviz libraries that the pygraphviz wheels bundle
(``pip install "tinygrad_edu[render]"``). Building the drawing and its DOT text
(``.source``) need neither. Set the environment variable ``TINYGRAD_EDU_RENDERER`` to
``dot`` or ``pygraphviz`` (or the attribute ``render_with`` of one drawing) to force one.
"""
from __future__ import annotations

import html
import math
import os
import shutil

import graphviz
import numpy as np

from .tensor import Tensor

__all__ = ["draw_graph", "Graph", "RenderError", "available_renderers"]

RENDERER_ENV = "TINYGRAD_EDU_RENDERER"
FONT = "Helvetica,Arial,sans-serif"
MONO = "DejaVu Sans Mono,Menlo,Consolas,monospace"
SMALL_ARRAY = 16  # arrays with at most this many elements (and 8 columns) are shown in full

# What each kind of node looks like: (fill colour, border colour, text for the legend).
STYLE = {
    "param": ("#ffe0b2", "#e65100", "parameter (requires grad)"),
    "input": ("#bbdefb", "#1565c0", "input data"),
    "const": ("#eeeeee", "#9e9e9e", "constant"),
    "value": ("#ffffff", "#616161", "intermediate value"),
    "output": ("#c8e6c9", "#2e7d32", "output"),
    "op": ("#f2f2f2", "#757575", "primitive op"),
    "group": ("#e1bee7", "#6a1b9a", "composite / module (expand=True opens it)"),
}
GRAD_COLOR = "#c62828"  # gradients are red, everywhere
HIGHLIGHT_BORDER = "#d50000"  # the step being run (backward_steps): yellow, thick red border
HIGHLIGHT = {"fillcolor": "#fff59d", "color": HIGHLIGHT_BORDER, "penwidth": "3.5", "class": "current"}


# ---------------------------------------------------------------------------------------
# Rendering: system Graphviz if present, else pygraphviz's bundled Graphviz.
# ---------------------------------------------------------------------------------------
class RenderError(RuntimeError):
    """Raised when a picture must be rendered but no Graphviz is installed."""


INSTALL_HELP = (
    "Rendering a picture needs Graphviz, and none was found: there is no `dot` program on "
    "PATH and the Python package pygraphviz is not installed. Install either one:\n"
    '    pip install "tinygrad_edu[render]"    (pygraphviz; its wheels bundle Graphviz)\n'
    "    apt-get install graphviz              (or: brew install graphviz / conda install graphviz)\n"
    "Without a renderer you can still build the drawing and read its DOT text with .source."
)


def _have_dot():
    return shutil.which("dot") is not None


def _have_pygraphviz():
    try:
        import pygraphviz  # noqa: F401
    except ImportError:
        return False
    return True


def available_renderers():
    """The renderers found on this machine: a list holding ``"dot"`` and/or ``"pygraphviz"``."""
    return [name for name, found in (("dot", _have_dot()), ("pygraphviz", _have_pygraphviz())) if found]


def _choose_renderer(forced=None):
    """``"dot"`` or ``"pygraphviz"``: the forced one if given (argument, then environment
    variable), else the first one available. Raises ``RenderError`` when it is missing."""
    want = forced or os.environ.get(RENDERER_ENV) or "auto"
    if want not in ("auto", "dot", "pygraphviz"):
        raise ValueError(f"renderer must be 'auto', 'dot' or 'pygraphviz', got {want!r}")
    if want == "dot" and not _have_dot():
        raise RenderError("the renderer 'dot' was asked for, but there is no `dot` on PATH "
                          "(apt-get install graphviz)")
    if want == "pygraphviz" and not _have_pygraphviz():
        raise RenderError('the renderer \'pygraphviz\' was asked for, but it is not installed '
                          '(pip install "tinygrad_edu[render]")')
    if want != "auto":
        return want
    found = available_renderers()
    if not found:
        raise RenderError(INSTALL_HELP)
    return found[0]


def _pygraphviz_draw(source, fmt, engine):
    import pygraphviz

    return pygraphviz.AGraph(string=source).draw(format=fmt, prog=engine or "dot")


class Graph(graphviz.Digraph):
    """A ``graphviz.Digraph`` that renders with system Graphviz or, failing that, pygraphviz.

    Everything else is graphviz's: ``.source``, ``.render(path, format=...)``,
    ``.pipe(format=...)`` and the Jupyter display all work as documented there.
    """

    render_with = None  # None: automatic; "dot" or "pygraphviz" forces one renderer

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.names = {}  # id(tensor) -> the name its box shows
        self.calls = {}  # id(tensor) -> the Scope of the collapsed call that computed it

    def pipe(self, format=None, renderer=None, formatter=None, neato_no_op=None, quiet=False,
             *, engine=None, encoding=None):
        """The rendered picture as bytes (or str, given ``encoding``), e.g. ``pipe("svg")``."""
        if _choose_renderer(self.render_with) == "dot":
            return super().pipe(format=format, renderer=renderer, formatter=formatter,
                                neato_no_op=neato_no_op, quiet=quiet, engine=engine, encoding=encoding)
        data = _pygraphviz_draw(self.source, format or self.format, engine or self.engine)
        return data.decode(encoding) if encoding else data

    def render(self, filename=None, directory=None, view=False, cleanup=False, format=None,
               renderer=None, formatter=None, neato_no_op=None, quiet=False, quiet_view=False,
               *, outfile=None, engine=None, raise_if_result_exists=False, overwrite_source=False):
        """Write the DOT source to ``filename`` and the picture next to it (``filename.svg``),
        or to ``outfile``; returns the picture's path. Same arguments as graphviz's."""
        if _choose_renderer(self.render_with) == "dot":
            return super().render(filename, directory=directory, view=view, cleanup=cleanup, format=format,
                                  renderer=renderer, formatter=formatter, neato_no_op=neato_no_op,
                                  quiet=quiet, quiet_view=quiet_view, outfile=outfile, engine=engine,
                                  raise_if_result_exists=raise_if_result_exists,
                                  overwrite_source=overwrite_source)
        if outfile is not None:
            outfile = os.fspath(outfile)
            format = format or os.path.splitext(outfile)[1].lstrip(".") or None
            if filename is None:
                filename = os.path.splitext(outfile)[0] + ".gv"
        format = format or self.format
        source_path = self.save(filename, directory=directory)
        out = outfile or f"{source_path}.{format}"
        with open(out, "wb") as f:
            f.write(_pygraphviz_draw(self.source, format, engine or self.engine))
        if cleanup:
            os.remove(source_path)
        if view:
            self._view(out, format=format, quiet=quiet_view)
        return out


# ---------------------------------------------------------------------------------------
# Reading the recorded graph.
# ---------------------------------------------------------------------------------------
def _all_tensors(root):
    """Every tensor ``root`` was computed from, constants included, inputs before outputs.

    An explicit stack instead of recursion, so a graph of any depth can be drawn.
    """
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        t, parents_done = stack.pop()
        if parents_done:
            order.append(t)
        elif id(t) not in seen:
            seen.add(id(t))
            stack.append((t, True))
            if t.op is not None:
                stack.extend((p, False) for p in reversed(t.op.parents) if id(p) not in seen)
    return order


class _Scopes:
    """Which composite/module call each op is drawn as, given how far to ``expand``.

    Container modules (modules that call other modules, like ``MLP``) become dashed frames;
    every other call (a composite such as ``relu``, or a module such as ``Linear``) can be
    collapsed into one node. A call that only wraps one other call (``nn.ReLU`` around
    ``relu``) is skipped, so each ``expand`` level opens something new.
    """

    def __init__(self, ops, expand):
        self.depth = math.inf if expand is True else int(expand or 0)
        self.children, self.direct = {}, set()
        for op in ops:
            for outer, inner in zip(op.scope, op.scope[1:]):
                self.children.setdefault(id(outer), {})[id(inner)] = inner
            if op.scope:
                self.direct.add(id(op.scope[-1]))

    def is_container(self, s):
        return s.kind == "module" and any(c.kind == "module" for c in self.children.get(id(s), {}).values())

    def is_wrapper(self, s):
        return len(self.children.get(id(s), ())) == 1 and id(s) not in self.direct

    def place(self, op):
        """(the call drawn as one node holding this op, or None; the container frames around it)"""
        level, frames = 0, []
        for s in op.scope:
            if self.is_container(s):
                frames.append(s)
            elif not self.is_wrapper(s):
                if level == self.depth:
                    return s, tuple(frames)
                level += 1
        return None, tuple(frames)


def _param_names(params):
    """Map id(tensor) -> name from a dict, a module, or (name, tensor) pairs."""
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        params = params.named_parameters()
    items = params.items() if isinstance(params, dict) else params
    return {id(t): name for name, t in items}


# ---------------------------------------------------------------------------------------
# Text of the nodes.
# ---------------------------------------------------------------------------------------
def _num(v):
    if isinstance(v, bool | np.bool_):
        return "T" if v else "F"
    s = f"{float(v):.4g}"
    return "0" if s == "-0" else s


def array_lines(a):
    """An array as a few lines of text: in full if small, else its min, mean and max."""
    a = np.asarray(a)
    if a.ndim == 0:
        return [_num(a)]
    if a.size == 0:
        return ["(empty)"]
    if a.size > SMALL_ARRAY or a.ndim > 2 or a.shape[-1] > 8:
        return [f"min {_num(a.min())}  mean {_num(a.mean())}  max {_num(a.max())}"]
    cells = [[_num(v) for v in row] for row in np.atleast_2d(a)]
    width = max(len(c) for row in cells for c in row)
    rows = ["[" + " ".join(c.rjust(width) for c in row) + "]" for row in cells]
    if a.ndim == 2:  # numpy's layout: [[1 2]
        rows = ["[" + rows[0]] + [" " + r for r in rows[1:]]  #                  [3 4]]
        rows[-1] += "]"
    return rows


def _lines_html(lines, color=None):
    text = "".join(html.escape(line, quote=False) + '<BR ALIGN="LEFT"/>' for line in lines)
    color = f' COLOR="{color}"' if color else ""
    return f'<FONT FACE="{MONO}" POINT-SIZE="11"{color}>{text}</FONT>'


def _value_label(name, t, grad, show_data, show_grad):
    """The HTML label of a value box: name and shape, then data and grad (a bare number for
    an unnamed scalar constant)."""
    if name is None:
        return f"<{html.escape(_num(t.data.reshape(())), quote=False)}>"
    shape = "scalar" if t.ndim == 0 else str(tuple(t.shape))
    if t.dtype != np.float64:
        shape += f" {t.dtype}"
    title = f"<B>{html.escape(name, quote=False)}</B>"
    rows = [f'<TR><TD ALIGN="LEFT">{title} <FONT POINT-SIZE="10" COLOR="#555555">{shape}</FONT></TD></TR>']
    if show_data:
        rows.append(f'<TR><TD ALIGN="LEFT" BALIGN="LEFT">{_lines_html(array_lines(t.data))}</TD></TR>')
    if show_grad and t.requires_grad:
        lines = ["grad —"] if grad is None else _prefixed("grad ", array_lines(grad.data))
        rows.append(f'<TR><TD ALIGN="LEFT" BALIGN="LEFT">{_lines_html(lines, GRAD_COLOR)}</TD></TR>')
    return '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">' + "".join(rows) + "</TABLE>>"


def _prefixed(prefix, lines):
    return [prefix + lines[0]] + [" " * len(prefix) + line for line in lines[1:]]


def _op_label(op):
    """An op's name, with the arguments that are not visible in the picture."""
    name = op.name
    if hasattr(op, "symbol"):  # a comparison: draw  z > 0  as ">"
        return op.symbol
    axis = getattr(op, "axis", None)
    if name in ("sum", "max") and axis is not None:
        return f"{name}(axis={axis})"
    if name == "transpose" and hasattr(op, "axes"):
        return f"transpose{tuple(op.axes)}"
    if name in ("getitem", "scatteradd") and hasattr(op, "idx"):
        idx = repr(op.idx)
        return f"{name}[{idx if len(idx) <= 20 else idx[:17] + '...'}]"
    return name


def _legend_label(kinds, show_grad, step=False):
    """The legend under the picture: one coloured cell per kind of node present."""
    cells = []
    if step:
        cells.append(f'<TD BGCOLOR="{HIGHLIGHT["fillcolor"]}" COLOR="{HIGHLIGHT_BORDER}" BORDER="2">'
                     "this step: gradient complete, its op's rule runs</TD>")
    for kind in STYLE:
        if kind in kinds:
            fill, border, text = STYLE[kind]
            cells.append(f'<TD BGCOLOR="{fill}" COLOR="{border}" BORDER="1">{html.escape(text)}</TD>')
    if show_grad:
        cells.append(f'<TD><FONT COLOR="{GRAD_COLOR}">red: grad = ∂output/∂value</FONT></TD>')
    return '<<TABLE BORDER="0" CELLSPACING="6" CELLPADDING="4"><TR>' + "".join(cells) + "</TR></TABLE>>"


# ---------------------------------------------------------------------------------------
# The drawing.
# ---------------------------------------------------------------------------------------
def draw_graph(root, *, show_data=True, show_grad=True, rankdir="LR", params=None, expand=False,
               legend=True):
    """Draw the graph that computed ``root``: values as boxes, operations as ellipses.

    ``show_data`` / ``show_grad``: print each value's numbers and its ``.grad``.
    ``rankdir``: "LR" (left to right), or "TB" (top to bottom).
    ``params``: names for parameters, e.g. ``model.named_parameters()``, a dict or a module
    (otherwise a tensor's ``label`` is its name, or a short generated one such as ``t3``).
    ``expand``: False draws composites (relu, softplus, mse_loss, ...) and module calls
    (Linear) as one node each; True shows every primitive op inside them; a number opens
    that many levels.
    ``legend``: add a key to the colours under the picture.

    Returns a ``Graph`` (a ``graphviz.Digraph``): show it in Jupyter, or call
    ``.render("graph", format="svg")`` / ``.pipe(format="png")``; ``.source`` is DOT text.
    """
    return build_graph(root, show_data=show_data, show_grad=show_grad, rankdir=rankdir, params=params,
                  expand=expand, legend=legend)


def build_graph(root, *, show_data=True, show_grad=True, rankdir="LR", params=None, expand=False,
           legend=True, grads=None, highlight=None):
    """``draw_graph`` with two extras for ``backward_steps``: ``grads`` (id(tensor) -> the
    gradient to show, instead of ``.grad``) and ``highlight`` (the tensor whose step it is)."""
    if not isinstance(root, Tensor):
        raise TypeError(f"draw_graph: expected a Tensor, got {type(root).__name__}")
    tensors = _all_tensors(root)
    index = {id(t): i for i, t in enumerate(tensors)}
    names = _param_names(params)
    scopes = _Scopes([t.op for t in tensors if t.op is not None], expand)

    # Who draws each op-made tensor's op: itself ("op", i) or a collapsed call ("call", scope id).
    owner, frames, calls = {}, {}, {}
    for i, t in enumerate(tensors):
        if t.op is not None:
            call, frames[i] = scopes.place(t.op)
            owner[i] = ("op", i) if call is None else ("call", id(call))
            if call is not None:
                calls.setdefault(id(call), (f"call{len(calls)}", call, frames[i]))
    users = [[] for _ in tensors]
    for i, t in enumerate(tensors):
        for p in t.op.parents if t.op is not None else ():
            users[index[id(p)]].append(i)

    def kind(i, t):
        if t is root:
            return "output"
        if t.op is not None:
            return "value"
        if t.requires_grad or id(t) in names:
            return "param"
        fed_to_module = any(owner[u][0] == "call" and calls[owner[u][1]][1].kind == "module" for u in users[i])
        return "input" if t.label is not None or fed_to_module else "const"

    def visible(i, t):
        if t is root:
            return True
        if t.op is None and not t.requires_grad and t.label is None and id(t) not in names:
            # an unnamed constant used only inside collapsed composites (like softplus's
            # max(x, 0)) is part of their definition; data fed to a module call is shown
            return any(owner[u][0] == "op" or calls[owner[u][1]][1].kind == "module" for u in users[i])
        if t.op is None:
            return True
        return owner[i][0] == "op" or any(owner[u] != owner[i] for u in users[i])

    shown = [visible(i, t) for i, t in enumerate(tensors)]

    # The arguments of each collapsed call are drawn as its inputs, even when the recorded
    # graph lost them: in ``y - t`` with a constant t only t·(−1) was computed (and not
    # recorded), so t is no op's parent. Tensors among the arguments are shown (a box of
    # their own if the graph does not hold them); so is a numpy array given to a composite
    # (``mse_loss(pred, target_array)``), unless the graph holds a tensor of that very array.
    # Constants a composite makes inside (softplus's m) are no argument and stay hidden.
    by_data = {id(t.data): j for j, t in enumerate(tensors) if t.op is None}
    call_inputs, extras = {}, {}  # call key -> node ids; id(arg) -> (node id, arg, call key)
    for key, (_, call, _) in calls.items():
        ids = call_inputs[key] = []
        for arg in call.inputs:
            if isinstance(arg, Tensor):
                j = index.get(id(arg))
            elif isinstance(arg, np.ndarray) and arg.ndim and call.kind != "module":
                j = by_data.get(id(arg))  # a module's array input is its lifted tensor, shown already
            else:
                continue  # numbers and the like: settings (a slope, an axis), not values
            if j is not None:
                shown[j] = True
                node = f"v{j}"
            else:
                node = extras.setdefault(id(arg), (f"a{len(extras)}", arg, key))[0]
            if node not in ids:
                ids.append(node)
    hi = index.get(id(highlight)) if highlight is not None else None
    hi_owner = owner.get(hi)

    graph = Graph(name="tinygrad_edu", format="svg", graph_attr={
        "rankdir": rankdir, "fontname": FONT, "fontsize": "11", "nodesep": "0.25",
        "ranksep": "0.35", "labelloc": "b", "labeljust": "l", "bgcolor": "white",
    }, node_attr={
        "fontname": FONT, "fontsize": "12", "shape": "box", "style": "rounded,filled", "penwidth": "1.2",
    }, edge_attr={"color": "#757575", "arrowsize": "0.7", "penwidth": "1.2"})
    frame_graphs = {(): graph}
    graph.calls = {id(t): calls[owner[i][1]][1] for i, t in enumerate(tensors) if owner.get(i, ("op",))[0] == "call"}

    def holder(frame_scopes):
        """The (cluster) subgraph that nodes inside these container modules go into."""
        key = tuple(id(s) for s in frame_scopes)
        if key not in frame_graphs:
            holder(frame_scopes[:-1])
            frame_graphs[key] = graphviz.Digraph(name=f"cluster_{len(frame_graphs)}", graph_attr={
                "label": frame_scopes[-1].name, "style": "rounded,dashed", "color": "#9e9e9e",
                "fontcolor": "#616161", "labeljust": "l", "labelloc": "t"})
        return frame_graphs[key]

    kinds_present, counter = set(), 0

    def box(node, t, k, into, highlighted=False):
        nonlocal counter
        kinds_present.add(k)
        name = names.get(id(t)) or t.label
        if name is None and not (k == "const" and t.size == 1):
            counter += 1
            name = f"t{counter}"
        grad = t.grad if grads is None else grads.get(id(t))
        fill, border, _ = STYLE[k]
        attrs = {"fillcolor": fill, "color": border}
        if k == "output":
            attrs["penwidth"] = "2.2"
        if k == "const" and t.size == 1:
            attrs.update(fontsize="10", fontcolor="#424242", height="0.3", width="0.3", margin="0.05,0.03")
        if highlighted:
            attrs.update(HIGHLIGHT)
        graph.names[id(t)] = name if name is not None else _num(t.data.reshape(()))
        into.node(node, _value_label(name, t, grad, show_data, show_grad), **attrs)

    def extra_kind(t):
        if id(t) in names or (t.requires_grad and t.op is None):
            return "param"
        return "input" if t.label is not None else "value" if t.requires_grad else "const"

    pending = {}  # call key -> the argument boxes drawn just before the call's first value
    for node, arg, key in extras.values():
        pending.setdefault(key, []).append((node, arg))
    for i, t in enumerate(tensors):  # the value boxes
        own = owner.get(i, ("leaf", None))
        for node, arg in pending.pop(own[1], ()) if own[0] == "call" else ():
            if isinstance(arg, Tensor):
                box(node, arg, extra_kind(arg), graph)
            else:  # a numpy array: shown as a constant tensor (for the picture only)
                box(node, Tensor.wrap(arg), "const", graph)
        if shown[i]:
            box(f"v{i}", t, kind(i, t), holder(frames.get(i, ())), highlighted=i == hi)

    def op_attrs(own, fill, border):
        if own == hi_owner:
            return dict(HIGHLIGHT)
        return {"fillcolor": fill, "color": border}

    for key, (node, call, call_frames) in calls.items():  # collapsed calls
        kinds_present.add("group")
        holder(call_frames).node(node, f"<<B>{html.escape(call.name)}</B>>", shape="ellipse",
                                 peripheries="2", fontsize="13", style="filled",
                                 **op_attrs(("call", key), *STYLE["group"][:2]))

    edges = set()
    for i, t in enumerate(tensors):  # the primitive op nodes and all the edges
        if t.op is None:
            continue
        if owner[i][0] == "op":
            kinds_present.add("op")
            holder(frames[i]).node(f"op{i}", html.escape(_op_label(t.op)), shape="ellipse", style="filled",
                                   margin="0.08,0.03", height="0.35", **op_attrs(owner[i], *STYLE["op"][:2]))
            graph.edge(f"op{i}", f"v{i}")
            for p in t.op.parents:
                attrs = {"color": HIGHLIGHT_BORDER, "penwidth": "2.5"} if i == hi and p.requires_grad else {}
                graph.edge(f"v{index[id(p)]}", f"op{i}", **attrs)
            continue
        node = calls[owner[i][1]][0]
        for source in call_inputs.pop(owner[i][1], ()):  # the call's arguments, in order
            if (source, node) not in edges:
                edges.add((source, node))
                graph.edge(source, node)
        if shown[i] and (node, f"v{i}") not in edges:
            edges.add((node, f"v{i}"))
            graph.edge(node, f"v{i}")
        for p in t.op.parents:
            j = index[id(p)]
            if shown[j] and owner.get(j) != owner[i] and (f"v{j}", node) not in edges:
                edges.add((f"v{j}", node))
                graph.edge(f"v{j}", node)

    for key in sorted(frame_graphs, key=len, reverse=True):  # nest the frames, innermost first
        if key:
            frame_graphs[key[:-1]].subgraph(frame_graphs[key])
    if legend:
        graph.attr(label=_legend_label(kinds_present, show_grad, step=highlight is not None))
    return graph
