"""What a picture of the recorded graph holds, before it is drawn: boxes, ellipses, edges, names.

``draw_graph`` (draw.py) writes a ``Picture`` as DOT text with the numbers in its boxes; the
step-through page (steps.py, step_page.py) lays the same ``Picture`` out once and then only
changes its text and colours from step to step.

* Values (tensors) are boxes, named by ``params``, else by their ``label``, else by what
  computed them when that is short (``z > 0``, ``X@W1ᵀ``, ``(ŷ − y)²``), else ``t1``, ``t2``, ...
* Primitive ops are ellipses. A composite (``relu``) or a module call (``Linear``) can be
  drawn as one node, with the call's arguments as its inputs; ``expand`` opens them up.
* A target that needs no gradient (``y`` in ``ŷ − y``) is not recorded: the graph only holds
  the constant ``−y`` computed from it. The picture shows ``y`` all the same, with a dashed
  arrow to ``−y``, so the target never disappears.

A picture has a size limit, ``MAX_NODES``: beyond it Graphviz needs minutes for a layout
nobody can read, so building one raises ``GraphTooLarge`` saying what to draw instead.
"""
from __future__ import annotations

import math

import numpy as np

from .picture_names import LONGEST_NAME, check_label, derive_name, made_from, number_text, op_label, param_names
from .tensor import Tensor

__all__ = ["Picture", "GraphTooLarge", "MAX_NODES", "number_text", "all_tensors"]

# The layout size above which a picture is refused: boxes and ellipses, plus one for each
# rank that an arrow passes on its way (a value used far from where it was made makes
# Graphviz route its arrows past every rank in between, which is what costs time). At this
# size `dot` lays out a 2,400-node chain in under a second and a graph whose arrows pass
# 4,000 ranks in 5 s; at 7,000 it takes 150 s.
MAX_NODES = 3000


class GraphTooLarge(ValueError):
    """A graph too large to draw: the message says how large and what to draw instead."""


def all_tensors(root):
    """Every tensor ``root`` was computed from, constants included, inputs before outputs.

    An explicit stack instead of recursion, so a graph of any depth can be read.
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


class Scopes:
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
        """Is ``s`` a module call that holds other module calls (drawn as a dashed cluster)?"""
        return s.kind == "module" and any(c.kind == "module" for c in self.children.get(id(s), {}).values())

    def is_wrapper(self, s):
        """Does ``s`` only wrap one inner call (so the inner call is drawn in its place)?"""
        return len(self.children.get(id(s), ())) == 1 and id(s) not in self.direct

    def place(self, op):
        """(the call drawn as one node holding this op, or None; the container frames around it;
        the calls opened up around it)"""
        level, frames, opened = 0, [], []
        for s in op.scope:
            if self.is_container(s):
                frames.append(s)
            elif not self.is_wrapper(s):
                if level == self.depth:
                    return s, tuple(frames), opened
                opened.append(s)
                level += 1
        return None, tuple(frames), opened


class Picture:
    """The nodes, edges and names of the picture of ``root``'s graph (see the module's text).

    ``values``: (node id, tensor, kind, frames) per box, in drawing order; ``ops``: (node id,
    tensor index, label, frames) per primitive op; ``calls``: (node id, Scope, frames) per
    collapsed call; ``edges``: (tail, head, attributes); ``names``: node id -> name (None for
    a bare number); ``node_of``: id(tensor) -> its box; ``maker``: id(tensor) -> the node of
    the op or call that computed it; ``inside``: id(tensor) -> the collapsed call it is hidden in.
    """

    def __init__(self, root, params=None, expand=False, max_nodes=MAX_NODES, where="draw_graph"):
        if not isinstance(root, Tensor):
            raise TypeError(f"{where}: expected a Tensor, got {type(root).__name__}")
        if expand:  # a tg.compile call is one node; expanded, its traced primitives again
            from .compiler_draw import expand_compiled_calls

            root = expand_compiled_calls(root)
        self.root, self.where = root, where
        tensors = self.tensors = all_tensors(root)
        index = self.index = {id(t): i for i, t in enumerate(tensors)}
        given = param_names(params, where)
        scopes = Scopes([t.op for t in tensors if t.op is not None], expand)

        owner, frames, calls, opened, constants_in = {}, {}, {}, {}, {}
        for i, t in enumerate(tensors):
            if t.op is not None:
                call, frames[i], around = scopes.place(t.op)
                owner[i] = ("op", i) if call is None else ("call", id(call))
                if call is not None:
                    calls.setdefault(id(call), (f"call{len(calls)}", call, frames[i]))
                for s in around:  # the calls opened up around this op, and the constants it reads
                    opened.setdefault(id(s), s)
                    constants_in.setdefault(id(s), []).extend(
                        index[id(p)] for p in t.op.parents if p.op is None and not p.requires_grad)
        users = [[] for _ in tensors]
        for i, t in enumerate(tensors):
            for p in t.op.parents if t.op is not None else ():
                users[index[id(p)]].append(i)

        def visible(i, t):
            if t is root:
                return True
            if t.op is None and not t.requires_grad and t.label is None and id(t) not in given:
                # an unnamed constant used only inside collapsed composites (softplus's
                # max(x, 0)) is part of their definition; data fed to a module call is shown
                return any(owner[u][0] == "op" or calls[owner[u][1]][1].kind == "module" for u in users[i])
            if t.op is None:
                return True
            return owner[i][0] == "op" or any(owner[u] != owner[i] for u in users[i])

        shown = [visible(i, t) for i, t in enumerate(tensors)]

        # The arguments of each collapsed call are its inputs, even where the recorded graph
        # lost them (y - t with a constant t records only t·(−1)'s result): tensors among the
        # arguments get a box, and so does a numpy array given to a composite, unless the
        # graph holds a tensor of that very array. Numbers (a slope, an axis) are settings.
        by_data = {id(t.data): j for j, t in enumerate(tensors) if t.op is None}
        call_inputs, extras = {}, {}  # call key -> node ids; id(arg) -> (node id, arg, call key)
        for key, (_, call, _) in calls.items():
            ids = call_inputs[key] = []
            for arg in call.inputs:
                if isinstance(arg, Tensor):
                    j = index.get(id(arg))
                elif isinstance(arg, np.ndarray) and arg.ndim and call.kind != "module":
                    j = by_data.get(id(arg))
                else:
                    continue
                if j is not None:
                    shown[j] = True
                    node = f"v{j}"
                else:
                    node = extras.setdefault(id(arg), (f"a{len(extras)}", arg, key))[0]
                if node not in ids:
                    ids.append(node)

        # Opened calls: a named argument the graph lost (the target y of ŷ − y) is drawn with
        # a dashed arrow to the constant computed from it (−y).
        lost = {}  # tensor index of the constant -> (node id of the argument, its tensor, how)
        for s in opened.values():
            for arg in s.inputs:
                if not isinstance(arg, Tensor) or id(arg) in index or arg.label is None or id(arg) in extras:
                    continue
                for j in constants_in.get(id(s), ()):
                    how = None if j in lost else made_from(tensors[j].data, arg.data)
                    if how:
                        node = extras.setdefault(id(arg), (f"a{len(extras)}", arg, None))[0]
                        lost[j] = (node, arg, how)
                        break

        self.node_count = sum(shown) + len(calls) + len(extras) + sum(1 for o in owner.values() if o[0] == "op")
        if self.node_count > max_nodes:  # before anything else is made: refusing must be quick
            raise GraphTooLarge(self._too_large(max_nodes, expand, params))

        # The boxes, in drawing order: an argument box just before its call's first value.
        self.names, self.kind, self.node_of, self.maker, self.inside = {}, {}, {}, {}, {}
        self.values, self.ops, self.edges = [], [], []
        self.calls = [(node, call, fr) for node, call, fr in calls.values()]
        call_node = {key: node for key, (node, _, _) in calls.items()}
        pending = {}
        for node, arg, key in extras.values():
            pending.setdefault(key, []).append((node, arg))
        derived, counter = {}, 0

        def name_of(t, node, derive):
            nonlocal counter
            name = given.get(id(t)) or check_label(t, where)
            if name is None and derive is None and t.op is None and not t.requires_grad and t.size == 1:
                return None  # a bare number
            name = name or derive
            if name is None or len(name) > LONGEST_NAME:
                counter += 1
                name = f"t{counter}"
            return name

        def add_box(node, t, kind, fr, derive=None):
            name = name_of(t, node, derive)
            self.names[node], self.kind[node] = name, kind
            self.node_of.setdefault(id(t), node)
            derived[id(t)] = name if name is not None else number_text(t.data.reshape(-1)[0])
            self.values.append((node, t, kind, fr))

        def kind_of(i, t):
            if t is root:
                return "output"
            if t.op is not None:
                return "value"
            if t.requires_grad or id(t) in given:
                return "param"
            to_module = any(owner[u][0] == "call" and calls[owner[u][1]][1].kind == "module" for u in users[i])
            return "input" if t.label is not None or to_module else "const"

        def extra_kind(t):
            if id(t) in given or (t.requires_grad and t.op is None):
                return "param"
            return "input" if t.label is not None else "value" if t.requires_grad else "const"

        for node, arg, key in [e for e in extras.values() if e[2] is None]:  # lost targets first
            add_box(node, arg, extra_kind(arg), ())
        for i, t in enumerate(tensors):
            own = owner.get(i, ("leaf", None))
            for node, arg in pending.pop(own[1], ()) if own[0] == "call" else ():
                if isinstance(arg, Tensor):
                    add_box(node, arg, extra_kind(arg), ())
                else:  # a numpy array: shown as a constant tensor (for the picture only)
                    add_box(node, Tensor.wrap(arg), "const", ())
            if own[0] == "call":
                self.inside[id(t)] = calls[own[1]][1]
                self.maker[id(t)] = call_node[own[1]]
            elif own[0] == "op":
                self.maker[id(t)] = f"op{i}"
            if not shown[i]:
                continue
            derive = None
            if i in lost:
                node, arg, how = lost[i]
                derive = how[0].format(derived[id(arg)])
            elif own[0] == "op":
                derive = derive_name(t.op, t.op.parents, [derived.get(id(p)) for p in t.op.parents])
            elif own[0] == "call":
                call = calls[own[1]][1]
                args = [derived.get(id(a)) for a in call.inputs if isinstance(a, Tensor)]
                if call.kind == "composite" and args and None not in args:
                    derive = f"{call.name}({', '.join(args)})"
            add_box(f"v{i}", t, kind_of(i, t), frames.get(i, ()), derive)

        # The op ellipses and all the edges.
        seen_edges = set()

        def edge(a, b, once=True, **attrs):
            if once and (a, b) in seen_edges:
                return
            seen_edges.add((a, b))
            self.edges.append((a, b, attrs))

        for j, (node, arg, how) in lost.items():
            edge(node, f"v{j}", style="dashed", label=how[1], fontname="Helvetica,Arial,sans-serif", fontsize="11")
        for i, t in enumerate(tensors):
            if t.op is None:
                continue
            if owner[i][0] == "op":
                self.ops.append((f"op{i}", i, op_label(t.op), frames[i]))
                edge(f"op{i}", f"v{i}")
                for p in t.op.parents:  # an input used twice gets two arrows
                    edge(f"v{index[id(p)]}", f"op{i}", once=False)
                continue
            node = call_node[owner[i][1]]
            for source in call_inputs.pop(owner[i][1], ()):
                edge(source, node)
            if shown[i]:
                edge(node, f"v{i}")
            for p in t.op.parents:
                j = index[id(p)]
                if shown[j] and owner.get(j) != owner[i]:
                    edge(f"v{j}", node)

        detour = self._detour()
        self.layout_size = self.node_count + detour
        if self.layout_size > max_nodes:
            raise GraphTooLarge(self._too_large(max_nodes, expand, params, detour))

    def _detour(self):
        """How many ranks the arrows pass on their way: Graphviz routes an arrow from rank 2
        to rank 9 through a hidden point on every rank in between, which costs like a node."""
        heads, waiting = {}, {}
        for a, b, _ in self.edges:
            heads.setdefault(a, []).append(b)
            waiting[b] = waiting.get(b, 0) + 1
        rank = {n: 0 for n in heads if n not in waiting}
        ready, passed = list(rank), 0
        while ready:  # Kahn's topological order: a node's rank is 1 + its deepest input's
            a = ready.pop()
            for b in heads.get(a, ()):
                rank[b] = max(rank.get(b, 0), rank[a] + 1)
                waiting[b] -= 1
                if not waiting[b]:
                    ready.append(b)
        for a in heads:  # Graphviz puts a source (a constant, a parameter) next to its first user
            if a not in waiting:
                rank[a] = min(rank.get(b, 0) for b in heads[a]) - 1
        for a, b, _ in self.edges:
            passed += max(0, rank.get(b, 0) - rank.get(a, 0) - 1)
        return passed

    def _too_large(self, limit, expand, params, detour=None):
        """The refusal: how big, why, and what to draw instead."""
        size = self.node_count + (detour or 0)
        what = f"{self.node_count:,} boxes and ellipses"
        if detour is not None:
            what += f" and arrows that pass {detour:,} ranks on their way (a layout of size {size:,})"
        advice = []
        if expand:
            try:
                smaller = f"size {Picture(self.root, params, max_nodes=limit, where=self.where).layout_size:,}"
            except GraphTooLarge:
                smaller = "still too large"
            advice.append(f"draw composites and modules as one node each with expand=False ({smaller})")
        advice.append(f"draw a part of the graph: {self.where}(t) of an intermediate tensor t shows only "
                      "what t was computed from")
        advice.append(f"or raise the limit with max_nodes={size} (Graphviz's layout time grows much "
                      f"faster than the size)")
        return (f"{self.where}: this graph is too large to draw: {what}, more than the limit of {limit:,} "
                f"(max_nodes); Graphviz would need minutes to lay it out and nobody could read it. "
                f"Instead: " + "; ".join(advice) + ".")
