"""Pictures of compiled calls: the call opened up into its primitives, and the program itself.

``draw_graph`` draws a compiled call as one node named after the function. To open it up
(``expand=True``), ``expand_compiled_calls`` replays the traced forward primitives of each
compiled call eagerly, on the call's own inputs, each inside the composite and module calls
it was traced in: the picture is the graph the eager engine would have recorded.

``draw_program`` draws the compiled code instead: one box per line of ``forward`` and of
``backward``, the values a line reads as arrows into it, and dashed arrows for the values
the forward part keeps for the backward part.
"""
from __future__ import annotations

import copy
import html

import numpy as np

from . import modes
from .compiler_program import map_params
from .draw import Graph
from .picture import all_tensors
from .tensor import Tensor

FONT = "Helvetica,Arial,sans-serif"
STYLE = {  # (fill, border), the colours of draw_graph's boxes
    "param": ("#ffe0b2", "#e65100"), "input": ("#bbdefb", "#1565c0"), "const": ("#eeeeee", "#9e9e9e"),
    "value": ("#ffffff", "#616161"), "output": ("#c8e6c9", "#2e7d32"),
}


def expand_compiled_calls(root):
    """A graph equal to ``root``'s in which each compiled call is its traced primitives again
    (recomputed now, on the call's inputs). ``root`` itself if it holds no compiled call."""
    from .compiler import Compiled

    order = all_tensors(root)  # every tensor, constants included, inputs before outputs
    if not any(type(t.op) is Compiled for t in order):
        return root
    new = {}
    for t in order:
        if t.op is None:
            new[id(t)] = t
            continue
        parents = tuple(new[id(p)] for p in t.op.parents)
        if type(t.op) is Compiled:
            nt = replay_forward(t.op, parents)
        elif all(a is b for a, b in zip(parents, t.op.parents)):
            nt = t
        else:  # an op after a compiled call: the same node, pointing at the replayed values
            op = copy.copy(t.op)
            op.parents = parents
            nt = Tensor.wrap(t.data, op, t.requires_grad)
        if nt is not t:
            nt.label, nt.grad = t.label, t.grad
        new[id(t)] = nt
    return new[id(root)]


def replay_forward(op, parents):
    """The traced forward primitives of one compiled call, applied eagerly to ``parents``
    (with grad mode on, each in the scopes it was traced in). Returns the output tensor."""
    entry = op.entry
    program = entry.program
    env = {id(v): p for v, p in zip(program.inputs, parents)}
    for v, a in zip(program.inputs[len(parents):], op.arrays_in):
        env[id(v)] = Tensor.wrap(a)

    def tensor_of(v):
        if id(v) not in env:  # a constant of the trace
            env[id(v)] = Tensor.wrap(v.array)
        return env[id(v)]

    state = modes.per_thread.modes
    saved_scope, saved_tracer = state.scope, state.tracer
    try:
        state.tracer = None
        with modes.enable_grad():
            for v, cls, params, args in entry.traced_forward:
                state.scope = v.scope
                out = cls.apply(*[tensor_of(a) for a in args],
                                **map_params(params, lambda x: tensor_of(x).data))
                out.label = v.label
                env[id(v)] = out
    finally:
        state.scope, state.tracer = saved_scope, saved_tracer
    return tensor_of(entry.traced_output)


# ---------------------------------------------------------------------------------------
# The program as a picture.
# ---------------------------------------------------------------------------------------
def draw_program(entry, rankdir="TB"):
    """A Graphviz drawing of one compiled program: inputs, then the forward lines, then the
    backward lines; each box is ``name = op``; dashed arrows are values kept for backward."""
    p = entry.program
    graph = Graph(name="compiled", format="svg", graph_attr={
        "rankdir": rankdir, "fontname": FONT, "fontsize": "11", "nodesep": "0.2", "ranksep": "0.3",
        "label": f"<tg.compile({html.escape(entry.name)}): {len(p.steps)} numpy calls>",
        "labelloc": "t"}, node_attr={"fontname": FONT, "fontsize": "11", "shape": "box",
                                     "style": "rounded,filled", "penwidth": "1.1"},
        edge_attr={"color": "#757575", "arrowsize": "0.6"})
    ids = {}

    def node(v, kind, text, into):
        ids[id(v)] = f"n{len(ids)}"
        fill, border = STYLE[kind]
        into.node(ids[id(v)], html.escape(text), fillcolor=fill, color=border)

    for v in p.inputs:
        kind = "param" if v.needs_grad else "input"
        node(v, kind, f"{v.name} {_shape(v)}", graph)
    if p.seed is not None:
        node(p.seed, "output", f"{p.seed.name} {_shape(p.seed)}", graph)
    residuals = set(entry.facts["residuals"])
    for phase, title, color in (("forward", "forward", "#e3f2fd"), ("backward", "backward", "#fce4ec")):
        cluster = Graph(name=f"cluster_{phase}", graph_attr={
            "label": title, "style": "rounded,filled", "color": "#bdbdbd", "fillcolor": color})
        for v in p.steps:
            if v.phase == phase:
                kind = "output" if v is p.output or v in p.grads else "value"
                node(v, kind, f"{v.name} = {v.op.name} {_shape(v)}", cluster)
        graph.subgraph(cluster)
    for v in p.steps:
        for d in v.deps():
            if id(d) not in ids:  # a constant: a small grey box of its own
                text = d.name or (f"{float(d.array):g}" if d.shape == () else f"const {_shape(d)}")
                node(d, "const", text, graph)
            dashed = v.phase == "backward" and d.name in residuals
            graph.edge(ids[id(d)], ids[id(v)], style="dashed" if dashed else "solid")
    return graph


def _shape(v):
    shape = "scalar" if v.shape == () else "×".join(map(str, v.shape))
    return shape if v.dtype == np.float64 else f"{shape} {v.dtype}"
