"""Backpropagation, one step at a time: ``backward_steps(root)`` and an HTML slide show.

``backward()`` visits the graph's tensors in reverse topological order, from the output
back to the leaves. When it reaches a tensor, every op that used the tensor has already
sent it a share of the gradient, so the tensor's gradient is complete; then the backward
rule of the op that made the tensor runs and sends gradients on to that op's inputs.

``backward_steps`` shows exactly that walk: it asks the engine for its visiting order and
gradients (``tensor.backprop``, the same function ``backward()`` uses) and draws one
picture per visit, with the visited tensor and its op highlighted in yellow and the
gradients known so far printed in red. No ``.grad`` is changed.

``write_html(steps, path)`` puts the pictures in one self-contained web page with
previous/next buttons and arrow keys, for a teacher to step through in a browser.
"""
from __future__ import annotations

import functools
import html
import inspect
import re

from .draw import build_graph
from .modes import no_grad
from .tensor import backprop, initial_gradient, topological_order

__all__ = ["backward_steps", "Step", "write_html"]


class Step:
    """One visit of the backward pass.

    ``number`` (1-based) of ``total``; ``tensor``, the tensor visited; ``grad``, its complete
    gradient ∂root/∂tensor; ``graph``, the picture (a ``graphviz.Digraph``); ``caption``,
    what happens in words. Shows itself (caption and picture) in Jupyter.
    """

    def __init__(self, number, total, tensor, grad, graph, caption):
        self.number, self.total = number, total
        self.tensor, self.grad, self.graph, self.caption = tensor, grad, graph, caption

    def svg(self):
        """The picture as SVG text."""
        return self.graph.pipe(format="svg", encoding="utf-8")

    def _repr_html_(self):
        return f"<p>{html.escape(self.caption)}</p>{_inline_svg(self.svg(), f's{self.number}-')}"

    def __repr__(self):
        return f"<Step {self.number}/{self.total}: {self.caption}>"


def backward_steps(root, gradient=None, *, show_data=True, rankdir="LR", params=None, expand=False):
    """Yield a ``Step`` for each tensor the backward pass of ``root`` visits, in its order.

    The arguments are those of ``backward`` (``gradient``) and of ``draw_graph``. The
    gradients are computed once, by the engine's own walk, and nothing is stored in
    ``.grad``: the pictures show the gradients found up to each step.
    """
    seed = initial_gradient(root, gradient, "backward_steps()")
    if params is not None and not isinstance(params, dict):  # read a generator only once
        params = dict(params.named_parameters() if hasattr(params, "named_parameters") else params)
    order = topological_order(root)
    with no_grad():
        grads = backprop(order, seed)
    visits = [(t, grads[t]) for t in reversed(order) if t in grads]  # in the engine's order
    found = {}  # id(tensor) -> gradient, for the tensors visited so far
    for number, (t, g) in enumerate(visits, start=1):
        found[id(t)] = g
        graph = build_graph(root, show_data=show_data, show_grad=True, rankdir=rankdir, params=params,
                       expand=expand, grads=found, highlight=t)
        caption = _caption(t, root, graph, number, len(visits), seeded=gradient is not None)
        yield Step(number, len(visits), t, g, graph, caption)


# ---------------------------------------------------------------------------------------
# Captions: what happens at a step, in words.
# ---------------------------------------------------------------------------------------
def _caption(t, root, graph, number, total, seeded=False):
    """Say what the engine does at this step: which gradient is now complete, which rule runs."""
    name = _name(t, graph)
    inside = f" (inside {graph.calls[id(t)].name})" if id(t) in graph.calls and id(t) in graph.names else ""
    if t is root:
        seed = "the gradient passed to backward" if seeded else f"∂{name}/∂{name} = 1"
        text = f"Step {number}/{total}: start at the output {name}: its gradient is {seed} (the seed)."
    else:
        text = (f"Step {number}/{total}: the gradient of {name}{inside} is complete: all the ops that "
                f"used {name} have sent their shares back (and they add up).")
    op = t.op
    if id(t) not in graph.names:  # drawn inside a collapsed node: say less
        rule = _rule_comment(type(op))
        return (f"Step {number}/{total}: inside {graph.calls[id(t)].name}, the backward rule of {op.name} "
                f"runs on a value that the collapsed node hides (expand=True draws it)"
                + (f": {rule}." if rule else "."))
    if op is None:
        kind = "a parameter" if t.requires_grad else "an input"
        return text + f" {name} is a leaf ({kind}): backward() stores the gradient in {name}.grad."
    inputs = [_name(p, graph) for p in op.parents]
    args = _rule_arguments(type(op))
    said = f"{name} = {op.name}({', '.join(inputs)})"
    if len(args) == len(inputs) + 1:
        said += f"; ops.py writes it {args[0]} = {op.name}({', '.join(args[1:])})"
    rule = _rule_comment(type(op))
    uses = [n for n, p in zip(inputs, op.parents) if p.requires_grad]
    receivers = [n + (" (twice: the two results add up)" if uses.count(n) > 1 else "") for n in dict.fromkeys(uses)]
    return (text + f" Backward rule of {op.name}: {said}" + (f": {rule}" if rule else "") +
            f". By the chain rule it multiplies the gradient of {name} by these derivatives and sends "
            f"the results to {', '.join(receivers)}.")


def _name(t, graph):
    """The name the picture shows for ``t`` (or what computed it, when it is hidden)."""
    if id(t) in graph.names:
        return graph.names[id(t)]
    return f"a value inside {graph.calls[id(t)].name}" if id(t) in graph.calls else "a value"


@functools.lru_cache(maxsize=None)
def _rule_arguments(op_class):
    """The names an op's backward rule gives its output and inputs: ('z', 'x', 'y') for add."""
    try:
        names = list(inspect.signature(op_class.backward).parameters)
    except (TypeError, ValueError):
        return ()
    return tuple(names[2:])  # skip self and g


@functools.lru_cache(maxsize=None)
def _rule_comment(op_class):
    """The comment of an op's backward rule in ops.py (the derivative in math), if any:
    the comment on its ``def`` line, else the first block of comment lines in its body."""
    try:
        lines = inspect.getsource(op_class.backward).splitlines()
    except (OSError, TypeError):
        return ""
    comment = []
    for number, line in enumerate(lines):
        code, hash_, text = line.partition("#")
        if hash_ and (number == 0 or comment or not code.strip() or "∂" in text):
            comment.append(text.strip())
            if code.strip():  # a comment after code is one line long
                break
        elif comment:
            break
    return re.sub(r"\s+", " ", " ".join(comment)).strip()


# ---------------------------------------------------------------------------------------
# The web page.
# ---------------------------------------------------------------------------------------
def _inline_svg(svg, prefix):
    """SVG text ready to sit inside HTML: no XML header, and ids made unique with ``prefix``."""
    svg = svg[svg.index("<svg"):]
    return re.sub(r'\bid="', f'id="{prefix}', svg)


def write_html(steps, path, title="Backpropagation, step by step", intro=""):
    """Write the steps as one self-contained HTML page (inline SVG, no network access).

    Buttons and the arrow keys go back and forth; Home and End jump to the first and last
    step; ``f`` (or the button) switches between fitting the picture to the window and
    its natural size (the default, scrolled to the highlighted node). Returns the number of
    steps.
    """
    slides = []
    for step in steps:
        slides.append(
            f'<section class="step" hidden><p class="caption">{html.escape(step.caption)}</p>'
            f'<div class="picture">{_inline_svg(step.svg(), f"s{step.number}-")}</div></section>'
        )
    page = _PAGE.format(title=html.escape(title), intro=html.escape(intro), slides="\n".join(slides))
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    return len(slides)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
  body {{ font-family: Helvetica, Arial, sans-serif; margin: 0 1.5em; color: #212121; }}
  header {{ position: sticky; top: 0; background: white; padding: 0.6em 0; border-bottom: 1px solid #ddd; }}
  h1 {{ font-size: 1.3em; margin: 0.2em 0; }}
  .intro {{ margin: 0.2em 0 0.5em; color: #555; }}
  button {{ font-size: 1em; padding: 0.3em 0.9em; margin-right: 0.4em; cursor: pointer; }}
  #counter {{ font-weight: bold; margin: 0 0.8em; }}
  .caption {{ font-size: 1.1em; line-height: 1.45; max-width: 70em; background: #fffde7;
             border-left: 5px solid #d50000; padding: 0.5em 0.8em; }}
  .picture {{ overflow: auto; }}
  body.fit .picture svg {{ max-width: 100%; height: auto; }}
  .keys {{ color: #777; font-size: 0.9em; }}
</style>
</head>
<body>
<header>
  <h1>{title}</h1>
  <p class="intro">{intro}</p>
  <button id="prev" title="previous step (left arrow)">&#9664; Previous</button>
  <span id="counter"></span>
  <button id="next" title="next step (right arrow)">Next &#9654;</button>
  <button id="zoom" title="fit to window / natural size (f)">Fit to window</button>
  <span class="keys">keys: &larr; &rarr; Home End f</span>
</header>
{slides}
<script>
(function () {{
  var steps = document.querySelectorAll("section.step");
  var current = 0;
  function show(i) {{
    current = Math.max(0, Math.min(steps.length - 1, i));
    steps.forEach(function (s, k) {{ s.hidden = (k !== current); }});
    document.getElementById("counter").textContent = "step " + (current + 1) + " / " + steps.length;
    var node = steps[current].querySelector(".current");
    if (node && !document.body.classList.contains("fit")) {{
      node.scrollIntoView({{block: "nearest", inline: "center"}});
    }}
  }}
  function zoom() {{
    var fit = document.body.classList.toggle("fit");
    document.getElementById("zoom").textContent = fit ? "Natural size" : "Fit to window";
    show(current);
  }}
  document.getElementById("prev").onclick = function () {{ show(current - 1); }};
  document.getElementById("next").onclick = function () {{ show(current + 1); }};
  document.getElementById("zoom").onclick = zoom;
  document.addEventListener("keydown", function (e) {{
    if (e.key === "ArrowRight" || e.key === "PageDown") {{ show(current + 1); }}
    else if (e.key === "ArrowLeft" || e.key === "PageUp") {{ show(current - 1); }}
    else if (e.key === "Home") {{ show(0); }}
    else if (e.key === "End") {{ show(steps.length - 1); }}
    else if (e.key === "f") {{ zoom(); }}
    else {{ return; }}
    e.preventDefault();
  }});
  show(0);
}})();
</script>
</body>
</html>
"""
