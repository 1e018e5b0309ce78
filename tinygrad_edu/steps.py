"""Backpropagation, one step at a time: ``backward_steps(root)`` and its step-through page.

``backward()`` visits the graph's tensors in reverse topological order, from the output
back to the leaves. When it reaches a tensor, every op that used the tensor has already
sent it a share of the gradient, so the tensor's gradient is complete; then the backward
rule of the op that made the tensor runs and sends a share on to each of that op's inputs.

``backward_steps`` shows exactly that walk. It asks the engine for its visiting order and
gradients (``tensor.backprop``, the function ``backward()`` runs) and, for each visit, the
shares the op's rule sends (the same rule, ``op.backward``, summed back to each input's
shape by ``tensor.unbroadcast``, as the walk does). No ``.grad`` is changed. The result is
a sequence of ``Step`` s, one per visit, and a web page (``write_html`` or, in Jupyter,
the inline display) that plays the forward pass and then the backward pass on one picture
laid out once: values appear in topological order, then gradients arrive as they are sent,
with the arithmetic of each rule in the network's own names.
"""
from __future__ import annotations

import html

from .modes import no_grad
from .picture import MAX_NODES, Picture, number_text
from .step_math import rule_comment, rule_text
from .tensor import backprop, check_unmodified, initial_gradient, topological_order, unbroadcast

__all__ = ["backward_steps", "Step", "Steps", "write_html"]


class Step:
    """One visit of the backward pass.

    ``number`` (1-based) of ``total``; ``tensor``, the tensor visited; ``grad``, its complete
    gradient ∂root/∂tensor; ``shares``, the (input, share) pairs its op's rule sends (empty
    for a leaf); ``caption``, what happens in words.
    """

    def __init__(self, number, total, tensor, grad, shares, caption):
        self.number, self.total, self.tensor, self.grad = number, total, tensor, grad
        self.shares, self.caption = shares, caption

    def _repr_html_(self):
        return f"<p>{html.escape(self.caption)}</p>"

    def __repr__(self):
        return f"<Step {self.number}/{self.total}: {self.caption}>"


class Steps:
    """The backward pass of ``root`` as a sequence of ``Step`` s, plus what the page needs.

    ``picture``: the ``Picture`` (boxes, names); ``grads``: {tensor: complete gradient};
    ``forward``: the values the picture shows that ops computed, in the order they were
    computed. ``write_html(path)`` writes the step-through page; in Jupyter the page shows
    inline (a self-contained frame of plain HTML and JavaScript, no server).
    """

    def __init__(self, root, picture, steps, grads, show_data, rankdir):
        self.root, self.picture, self.steps, self.grads = root, picture, steps, grads
        self.show_data, self.rankdir = show_data, rankdir
        self.forward = [t for node, t, kind, frames in picture.values if t.op is not None]

    def __len__(self):
        return len(self.steps)

    def __getitem__(self, i):
        return self.steps[i]

    def __iter__(self):
        return iter(self.steps)

    def name(self, t):
        """The name the picture shows for ``t`` (a number for a bare constant), or None if hidden."""
        node = self.picture.node_of.get(id(t))
        if node is None:
            return None
        name = self.picture.names[node]
        return name if name is not None else number_text(t.data.reshape(-1)[0])

    def html(self, title="Backpropagation, step by step", intro=""):
        """The step-through page as one self-contained HTML text (inline SVG, no network)."""
        from .step_page import page_html

        return page_html(self, title, intro)

    def write_html(self, path, title="Backpropagation, step by step", intro=""):
        """Write the page to ``path``; returns its number of steps (forward and backward)."""
        from .step_page import page_html

        text, count = page_html(self, title, intro, count=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return count

    def _repr_html_(self):
        """Jupyter: the page in an inline frame (its own document, so its keys and ids are its own)."""
        page = self.html()
        return (f'<iframe srcdoc="{html.escape(page, quote=True)}" style="width:100%;height:720px;'
                f'border:1px solid #ccc" title="backpropagation, step by step"></iframe>')

    def __repr__(self):
        return f"<Steps: {len(self.steps)} visits of the backward pass of {self.name(self.root)}>"


def backward_steps(root, gradient=None, *, show_data=True, rankdir="LR", params=None, expand=False,
                   max_nodes=MAX_NODES):
    """The backward pass of ``root``, one ``Step`` per tensor it visits, in the engine's order.

    The arguments are those of ``backward`` (``gradient``) and of ``draw_graph``. The
    gradients are computed once, by the engine's own walk, and nothing is stored in
    ``.grad``. Returns a ``Steps`` (a sequence of ``Step``; ``.write_html(path)`` writes the
    step-through page; Jupyter shows the page inline). Linear in the graph's size.
    """
    seed = initial_gradient(root, gradient, "backward_steps()")
    if params is not None and not isinstance(params, dict):  # read a generator only once
        params = dict(params.named_parameters() if hasattr(params, "named_parameters") else params)
    picture = Picture(root, params=params, expand=expand, max_nodes=max_nodes, where="backward_steps")
    order = topological_order(root)
    check_unmodified(order)
    with no_grad():
        grads = backprop(order, seed)
        visits = [t for t in reversed(order) if t in grads]  # in the engine's order
        sent = {}
        for t in visits:
            shares = []
            if t.op is not None:
                for x, share in zip(t.op.parents, t.op.backward(grads[t], t, *t.op.parents)):
                    if share is not None and x.requires_grad:
                        shares.append((x, unbroadcast(share, x)))
            sent[t] = shares
    result = Steps(root, picture, [], grads, show_data, rankdir)
    received = {}  # tensor -> how many shares it has received so far
    total = {}
    for t in visits:
        for x, _ in sent[t]:
            total[x] = total.get(x, 0) + 1
    for number, t in enumerate(visits, start=1):
        caption = _caption(result, t, number, len(visits), total.get(t, 0), seeded=gradient is not None)
        result.steps.append(Step(number, len(visits), t, grads[t], sent[t], caption))
        for x, _ in sent[t]:
            received[x] = received.get(x, 0) + 1
    return result


def output_name(steps):
    """The name the captions give the output in ∂L/∂x: its own if short, else L."""
    name = steps.name(steps.root)
    return name if name and len(name) <= 8 and not any(c in name for c in " +−-·/@") else "L"


def _caption(steps, t, number, total, shares, seeded=False):
    """Say what the engine does at this visit: whose gradient is complete, which rule runs."""
    L = output_name(steps)
    name = steps.name(t)
    call = steps.picture.inside.get(id(t))
    head = f"Step {number}/{total}: "
    if name is None:
        return (head + f"inside {call.name if call else 'a collapsed call'}, the backward rule of {t.op.name} "
                f"runs on a value the picture hides (expand=True draws it): {rule_comment(type(t.op)) or t.op.name}.")
    if t is steps.root:
        text = head + f"start at the output {name}: " + (
            "its gradient is the one passed to backward (the seed)." if seeded else f"∂{L}/∂{L} = 1 (the seed).")
    else:
        got = f"its {shares} shares added up" if shares > 1 else "its one share"
        text = head + f"the gradient of {name} is complete ({got})."
    if t.op is None:
        kind = "a parameter" if t.requires_grad else "an input"
        return text + f" {name} is a leaf ({kind}): backward() stores the gradient in {name}.grad."
    names = {id(p): steps.name(p) for p in (t, *t.op.parents)}
    inputs = ", ".join(n or "?" for n in (names[id(p)] for p in t.op.parents))
    return text + f" Backward rule of {t.op.name}, {name} = {t.op.name}({inputs}): {rule_text(t, names, L)}."


def write_html(steps, path, title="Backpropagation, step by step", intro=""):
    """Write the step-through page of ``steps`` (what ``backward_steps`` returned) to ``path``.

    One picture, laid out once: the steps change only its text and colours. Buttons and the
    arrow keys go back and forth, Home and End jump to the ends, clicking a number explains
    that element, ``p`` toggles presenter mode. Returns the number of steps on the page.
    """
    if not isinstance(steps, Steps):
        raise TypeError(f"write_html: expected what backward_steps() returned, got {type(steps).__name__}")
    return steps.write_html(path, title=title, intro=intro)
