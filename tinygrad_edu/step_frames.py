"""The frames of the step-through page: what changes at each step, and its caption.

A frame is a small dict (it becomes JSON in the page):

* ``t``: [slot, text] pairs, the cells whose text changes (a value computed, a share received);
* ``c``: [node, class, on] triples, classes switched (``future``: not computed yet);
* ``f``: the nodes to highlight; ``e``: [edge, "fwd" | "back"], the arrows the step uses;
* ``h``: the caption (HTML); ``x``: [node, [one HTML line per element]], the arithmetic for
  the element the reader picked (by clicking a number; the first by default);
* ``n``: the step's name for the counter ("forward 3/13").

Frame 0 is the graph before the forward pass. Then one frame per value an op computes, in
topological order, and one per op whose backward rule runs, in the engine's order. Each
frame stores only its changes, so the page grows linearly with the graph.
"""
from __future__ import annotations

import html

import numpy as np

from .picture import number_text
from .step_math import forward_text, idx_text, share_text, wrap
from .steps import output_name


def esc(text):
    """``text`` made safe to place inside HTML (quotes left as they are)."""
    return html.escape(text, quote=False)


def frames(steps, scene):
    """All the frames of ``steps`` (a ``Steps``) on the slots of ``scene``."""
    picture = steps.picture
    L = output_name(steps)
    names = {}
    for node, t, kind, _ in picture.values:
        names.setdefault(id(t), steps.name(t))
    into, out_of = {}, {}
    for n, (a, b, _) in enumerate(picture.edges):
        into.setdefault(b, []).append(n)
        out_of.setdefault(a, []).append(n)
    node_of, maker = picture.node_of, picture.maker

    def set_text(changes, slot, text):
        scene.widen(slot, text)
        if scene.text[slot] != text:
            scene.text[slot] = text
            changes.append([slot, text])

    # Frame 0: before the forward pass.
    computed = [node for node, t, kind, _ in picture.values if t.op is not None]
    makers = sorted({maker[id(t)] for node, t, kind, _ in picture.values if t.op is not None and id(t) in maker})
    leaves = [names[id(t)] for node, t, kind, _ in picture.values if t.op is None and kind in ("param", "input")]
    start = {"n": "start", "t": [], "c": [[node, "future", 1] for node in computed + makers], "f": [], "e": [],
             "x": [], "h": f"<b>Before the forward pass.</b> Known: {esc(', '.join(leaves)) or 'the inputs'} "
                           f"and the constants. The forward pass computes the other values one op at a time "
                           f"(→ or Space), then the backward pass sends the gradient back."}
    made = [start]

    # The forward pass: values appear in topological order.
    forward = [t for t in steps.forward if id(t) in maker]
    for number, t in enumerate(forward, start=1):
        node, by = node_of[id(t)], maker[id(t)]
        changes = []
        for n, k in enumerate(scene.elems.get(node, ())):
            if (node, "d", n) in scene.slot_of:
                set_text(changes, scene.slot_of[(node, "d", n)], _cell(t.data, k))
        call = picture.inside.get(id(t))
        name = names[id(t)] or "?"
        if call is not None:
            args = ", ".join(names.get(id(a)) or "…" for a in call.inputs if hasattr(a, "op"))
            what = f"{name} = {call.name}({args})"
            lines = [f"{name}{idx_text(k or ())} = {number_text(t.data[k] if k is not None else t.data.reshape(-1)[0])}"
                     for k in scene.elems.get(node, [None])]
        else:
            args = ", ".join(names.get(id(p)) or "?" for p in t.op.parents)
            what = f"{name} = {t.op.name}({args})"
            lines = [forward_text(t, k if k is not None else (0,) * t.ndim, name, names)
                     for k in scene.elems.get(node, [None])]
        made.append({"n": f"forward {number}/{len(forward)}", "t": changes,
                     "c": [[node, "future", 0], [by, "future", 0]], "f": [node, by],
                     "e": [[e, "fwd"] for e in into.get(by, []) + [e for e in out_of.get(by, [])
                                                               if picture.edges[e][1] == node]],
                     "h": f"<b>Forward {number}/{len(forward)}:</b> {esc(what)}", "x": [[node, [esc(s) for s in lines]]]})

    # The backward pass: one frame per rule that runs (consecutive hidden ones together).
    total, got, sums = {}, {}, {}
    for step in steps:
        for x, _ in step.shares:
            total[x] = total.get(x, 0) + 1
    running = [s for s in steps if s.tensor.op is not None]
    groups = []
    for s in running:
        hidden = names.get(id(s.tensor)) is None
        if groups and hidden and groups[-1][0] == "hidden" and picture.inside.get(id(s.tensor)) is \
                picture.inside.get(id(groups[-1][1][-1].tensor)):
            groups[-1][1].append(s)
        else:
            groups.append(("hidden" if hidden else "shown", [s]))
    for number, (how, group) in enumerate(groups, start=1):
        t = group[0].tensor
        by = maker.get(id(t))
        changes, notes, explain = [], [], []
        node = node_of.get(id(t)) if how == "shown" else None
        if t is steps.root and node is not None:
            seed = steps.grads[t].data
            set_text(changes, scene.slot_of[(node, "h", 0)], "grad")
            for n, k in enumerate(scene.elems[node]):
                set_text(changes, scene.slot_of[(node, "g", n)], _cell(seed, k))
            explain.append([node, [f"∂{esc(L)}/∂{esc(L)}{idx_text(k or ())} = 1 (the seed)"
                                   if seed[k if k is not None else ()] == 1 else "the seed passed to backward"
                                   for k in scene.elems[node]]])
        receivers = []
        for s in group:
            for pos, x, share in _positions(s):
                xnode = node_of.get(id(x))
                got[x] = got.get(x, 0) + 1
                sums.setdefault(x, []).append(share.data)
                if xnode is None or xnode not in scene.elems:
                    continue
                partial = sums[x][0] if len(sums[x]) == 1 else np.sum(sums[x], axis=0)
                done = got[x] == total[x]
                set_text(changes, scene.slot_of[(xnode, "h", 0)],
                         "grad" if done and total[x] == 1 else f"grad: {got[x]} of {total[x]} shares")
                for n, k in enumerate(scene.elems[xnode]):
                    set_text(changes, scene.slot_of[(xnode, "g", n)], _cell(partial, k))
                lines = []
                for k in scene.elems[xnode]:
                    kk = k if k is not None else (0,) * x.ndim
                    line = (share_text(s.tensor, pos, kk, share, steps.grads[s.tensor].data, names, L)
                            if how == "shown" else f"∂{L}/∂{wrap(names[id(x)])}{idx_text(kk)} receives "
                                                   f"{number_text(share.data[kk])}")
                    if total[x] > 1:
                        parts = [number_text(a[kk]) for a in sums[x]]
                        line += (f"<br>{esc(names[id(x)])}: {got[x]} of {total[x]} shares"
                                 + (f": {' + '.join(parts)} = {number_text(partial[kk])}" if len(parts) > 1 else "")
                                 + (" (complete)" if done else " so far"))
                    lines.append(esc(line).replace("&lt;br&gt;", "<br>"))
                receivers.append(xnode)
                explain.append([xnode, lines])
                if done and x.op is None:
                    notes.append(f"{names[id(x)]} is a leaf and its gradient is now complete: backward() "
                                 f"stores it in {names[id(x)]}.grad.")
        edges = [[e, "back"] for e in out_of.get(by, []) if picture.edges[e][1] == node]
        edges += [[e, "back"] for e in into.get(by, []) if picture.edges[e][0] in receivers]
        caption = group[0].caption.split(": ", 1)[1]
        if len(group) > 1:
            caption = (f"inside {picture.inside[id(t)].name}, the rules of "
                       f"{', '.join(s.tensor.op.name for s in group)} run on values the picture hides "
                       f"(expand=True draws them).")
        made.append({"n": f"backward {number}/{len(groups)}", "t": changes, "c": [],
                     "f": [n for n in (node, by) if n], "e": edges, "x": explain,
                     "h": f"<b>Backward {number}/{len(groups)}:</b> {esc(caption)}"
                          + "".join(f"<br>{esc(n)}" for n in notes)})
    return made


def _positions(step):
    """The (input, share) pairs of a step, each with the input's position among the op's
    parents (an input used twice, as in d·d, appears at both)."""
    parents = step.tensor.op.parents
    used, out = set(), []
    for x, share in step.shares:
        pos = next(i for i, p in enumerate(parents) if p is x and i not in used)
        used.add(pos)
        out.append((pos, x, share))
    return out


def _cell(a, k):
    from .step_page import cell_text

    return cell_text(a, k)
