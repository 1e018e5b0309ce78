"""Pictures of the recorded graph: ``draw_graph(root)`` returns a Graphviz drawing.

How to read a picture (left to right, the direction of the forward pass):

* Boxes are values (tensors): a name, the shape, the numbers (``data``) and, in red, the
  gradient ∂root/∂value (``grad``). Small arrays are printed in full (4 significant
  digits); large ones are summarised by min, mean and max. A value with no label is named
  after what computed it when that is short (``z > 0``, ``X@W1ᵀ``, ``(ŷ − y)²``).
* The fill says what a value is: orange for parameters (leaves that require grad, the
  things training changes), blue for inputs (data), grey for constants, white for
  intermediate results, green for the output the graph was drawn from.
* Ellipses are operations. A grey ellipse is a primitive op with its own backward rule
  (``ops.py``); a purple, double-ringed one is a composite (``relu``, ``softplus``,
  ``mse_loss``, ...) or a module call (``Linear``) drawn as one node, with the call's
  arguments as its inputs (the target given to ``mse_loss`` too; constants a composite
  makes inside stay hidden). ``expand=True`` opens them up into their primitives
  (``expand=1`` opens one level), which shows for example that softplus is max, exp and log.
  A target that needs no gradient stays in the expanded picture: ``ŷ − y`` is computed as
  ``ŷ + (−y)``, and a dashed arrow shows ``−y`` made from ``y``.
* Dashed frames are container modules (``MLP``, ``Sequential``) that the values were
  computed inside.

Size: a picture has at most ``MAX_NODES`` (3,000) nodes, counting one extra for each rank
an arrow passes on its way; a bigger graph raises ``GraphTooLarge`` with what to draw
instead (``expand=False``, a part of the graph, or ``max_nodes=``).

Rendering needs Graphviz: the ``dot`` program on PATH (``apt-get install graphviz``), or,
without it, the Graphviz libraries that the pygraphviz wheels bundle
(``pip install "tinygrad_edu[render]"``). Building the drawing and its DOT text
(``.source``) need neither. Set the environment variable ``TINYGRAD_EDU_RENDERER`` to
``dot`` or ``pygraphviz`` (or the attribute ``render_with`` of one drawing) to force one.
"""
from __future__ import annotations

import html

import graphviz
import numpy as np

from .picture import MAX_NODES, GraphTooLarge, Picture, number_text
from .render import INSTALL_HELP, RENDERER_ENV, RENDERERS, Graph, RenderError, available_renderers, choose_renderer

__all__ = ["draw_graph", "Graph", "RenderError", "GraphTooLarge", "available_renderers", "MAX_NODES",
           "RENDERER_ENV", "RENDERERS", "INSTALL_HELP", "choose_renderer"]

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
GRAPH_ATTR = {"fontname": FONT, "fontsize": "11", "nodesep": "0.25", "ranksep": "0.35",
              "labelloc": "b", "labeljust": "l", "bgcolor": "white"}
NODE_ATTR = {"fontname": FONT, "fontsize": "12", "shape": "box", "style": "rounded,filled", "penwidth": "1.2"}
EDGE_ATTR = {"color": "#757575", "arrowsize": "0.7", "penwidth": "1.2"}


# ---------------------------------------------------------------------------------------
# Text of the nodes.
# ---------------------------------------------------------------------------------------
def is_small(a):
    """Is the array printed in full (else summarised by min, mean and max)?"""
    return a.ndim <= 2 and a.size <= SMALL_ARRAY and (a.ndim == 0 or a.shape[-1] <= 8)


def array_lines(a):
    """An array as a few lines of text: in full if small, else its min, mean and max."""
    a = np.asarray(a)
    if a.ndim == 0:
        return [number_text(a)]
    if a.size == 0:
        return ["(empty)"]
    if not is_small(a):
        return [f"min {number_text(a.min())}  mean {number_text(a.mean())}  max {number_text(a.max())}"]
    cells = [[number_text(v) for v in row] for row in np.atleast_2d(a)]
    width = max(len(c) for row in cells for c in row)
    rows = ["[" + " ".join(c.rjust(width) for c in row) + "]" for row in cells]
    if a.ndim == 2:  # numpy's layout: [[1 2]
        rows = ["[" + rows[0]] + [" " + r for r in rows[1:]]  #                  [3 4]]
        rows[-1] += "]"
    return rows


def shape_text(t):
    """``(4, 2)``, ``scalar``, and the dtype unless float64."""
    shape = "scalar" if t.ndim == 0 else str(tuple(t.shape))
    return shape + (f" {t.dtype}" if t.dtype != np.float64 else "")


def _lines_html(lines, color=None):
    text = "".join(html.escape(line, quote=False) + '<BR ALIGN="LEFT"/>' for line in lines)
    color = f' COLOR="{color}"' if color else ""
    return f'<FONT FACE="{MONO}" POINT-SIZE="11"{color}>{text}</FONT>'


def _value_label(name, t, show_data, show_grad):
    """The HTML label of a value box: name and shape, then data and grad (a bare number for
    an unnamed scalar constant)."""
    if name is None:
        return f"<{html.escape(number_text(t.data.reshape(())), quote=False)}>"
    title = f"<B>{html.escape(name, quote=False)}</B>"
    rows = [f'<TR><TD ALIGN="LEFT">{title} <FONT POINT-SIZE="11" COLOR="#555555">{shape_text(t)}</FONT></TD></TR>']
    if show_data:
        rows.append(f'<TR><TD ALIGN="LEFT" BALIGN="LEFT">{_lines_html(array_lines(t.data))}</TD></TR>')
    if show_grad and t.requires_grad:
        lines = ["grad —"] if t.grad is None else _prefixed("grad ", array_lines(t.grad.data))
        rows.append(f'<TR><TD ALIGN="LEFT" BALIGN="LEFT">{_lines_html(lines, GRAD_COLOR)}</TD></TR>')
    return '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">' + "".join(rows) + "</TABLE>>"


def _prefixed(prefix, lines):
    return [prefix + lines[0]] + [" " * len(prefix) + line for line in lines[1:]]


def legend_label(kinds, show_grad):
    """The legend under the picture: one coloured cell per kind of node present."""
    cells = []
    for kind in STYLE:
        if kind in kinds:
            fill, border, text = STYLE[kind]
            cells.append(f'<TD BGCOLOR="{fill}" COLOR="{border}" BORDER="1">{html.escape(text)}</TD>')
    if show_grad:
        cells.append(f'<TD><FONT COLOR="{GRAD_COLOR}">red: grad = ∂output/∂value</FONT></TD>')
    return '<<TABLE BORDER="0" CELLSPACING="6" CELLPADDING="4"><TR>' + "".join(cells) + "</TR></TABLE>>"


def value_style(kind, t, name):
    """The node attributes of a value box of this kind (fill, border, size)."""
    fill, border, _ = STYLE[kind]
    attrs = {"fillcolor": fill, "color": border}
    if kind == "output":
        attrs["penwidth"] = "2.2"
    if name is None:  # a bare number
        attrs.update(fontsize="11", fontcolor="#424242", height="0.3", width="0.3", margin="0.05,0.03")
    return attrs


# ---------------------------------------------------------------------------------------
# The drawing.
# ---------------------------------------------------------------------------------------
def graph_of(picture, rankdir, value_label, node_extra=None, edge_ids=False):
    """The ``Graph`` of a ``Picture``: ``value_label(node, tensor, name)`` gives each box its
    label; ``node_extra(node)`` extra attributes per node; ``edge_ids`` names the edges e0, e1, ..."""
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"{picture.where}: rankdir must be 'LR' or 'TB' (or 'RL', 'BT'), got {rankdir!r}")
    extra = node_extra or (lambda node: {})
    graph = Graph(name="tinygrad_edu", format="svg", graph_attr={"rankdir": rankdir, **GRAPH_ATTR},
                  node_attr=NODE_ATTR, edge_attr=EDGE_ATTR)
    frame_graphs = {(): graph}

    def holder(scopes):
        """The (cluster) subgraph that nodes inside these container modules go into."""
        key = tuple(id(s) for s in scopes)
        if key not in frame_graphs:
            holder(scopes[:-1])
            frame_graphs[key] = graphviz.Digraph(name=f"cluster_{len(frame_graphs)}", graph_attr={
                "label": scopes[-1].name, "style": "rounded,dashed", "color": "#9e9e9e",
                "fontcolor": "#616161", "labeljust": "l", "labelloc": "t"})
        return frame_graphs[key]

    for node, t, kind, frames in picture.values:
        name = picture.names[node]
        graph.names[id(t)] = name if name is not None else number_text(t.data.reshape(-1)[0])
        holder(frames).node(node, value_label(node, t, name), **value_style(kind, t, name), **extra(node))
    for node, call, frames in picture.calls:
        holder(frames).node(node, f"<<B>{html.escape(call.name)}</B>>", shape="ellipse", peripheries="2",
                            fontsize="13", style="filled", fillcolor=STYLE["group"][0], color=STYLE["group"][1],
                            **extra(node))
    for node, i, label, frames in picture.ops:
        holder(frames).node(node, html.escape(label), shape="ellipse", style="filled", margin="0.08,0.03",
                            height="0.35", fillcolor=STYLE["op"][0], color=STYLE["op"][1], **extra(node))
    for n, (a, b, attrs) in enumerate(picture.edges):
        graph.edge(a, b, **attrs, **({"id": f"e{n}"} if edge_ids else {}))
    for key in sorted(frame_graphs, key=len, reverse=True):  # nest the frames, innermost first
        if key:
            frame_graphs[key[:-1]].subgraph(frame_graphs[key])
    graph.calls = {tid: call for tid, call in picture.inside.items()}
    return graph


def draw_graph(root, *, show_data=True, show_grad=True, rankdir="LR", params=None, expand=False,
               legend=True, max_nodes=MAX_NODES):
    """Draw the graph that computed ``root``: values as boxes, operations as ellipses.

    ``show_data`` / ``show_grad``: print each value's numbers and its ``.grad``.
    ``rankdir``: "LR" (left to right), or "TB" (top to bottom).
    ``params``: names for parameters, e.g. ``model.named_parameters()``, a dict or a module
    (otherwise a tensor's ``label`` is its name, or one derived from what computed it, or a
    short generated one such as ``t3``).
    ``expand``: False draws composites (relu, softplus, mse_loss, ...) and module calls
    (Linear) as one node each; True shows every primitive op inside them; a number opens
    that many levels.
    ``legend``: add a key to the colours under the picture.
    ``max_nodes``: refuse (``GraphTooLarge``, saying what to draw instead) a picture with
    more nodes than this, since Graphviz would take minutes to lay it out.

    Returns a ``Graph`` (a ``graphviz.Digraph``): it shows itself inline in Jupyter, or call
    ``.render("graph", format="svg")`` / ``.pipe(format="png")``; ``.source`` is DOT text.
    """
    picture = Picture(root, params=params, expand=expand, max_nodes=max_nodes, where="draw_graph")
    graph = graph_of(picture, rankdir, lambda node, t, name: _value_label(name, t, show_data, show_grad))
    if legend:
        kinds = set(picture.kind.values()) | ({"group"} if picture.calls else set()) | ({"op"} if picture.ops else set())
        graph.attr(label=legend_label(kinds, show_grad))
    return graph
