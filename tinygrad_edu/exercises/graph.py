"""Exercises: the graph, in the small. The topological order, and the backward walk.

The student's file holds a tiny ``Node`` class (value, parents, local derivatives, grad),
the same idea as the engine's Tensor and op, small enough to see whole. Graphs are given
to the grader as recipes, lists like ``[("leaf", 2.0), ("leaf", -1.0), ("mul", 0, 1),
("add", 2, 0)]``: each entry is a node, built from earlier nodes by their index. The last
node is the root. The engine builds the same recipe with Tensors, and its gradients are
the right answers for the walk.
"""
from __future__ import annotations

import math

import numpy as np

from tinygrad_edu import Tensor

from . import solutions
from .checks import Exercise, Failure, call, fmt, for_all, student_function

LECTURE = ("Part 1 (feedforward networks: information flows from x through intermediate computations "
           "to the output; backprop walks the same graph backwards)")

NODE_CODE = '''import math


class Node:
    """One number in a computation graph.

    value        the number
    parents      the nodes it was computed from (one node may appear twice, as in mul(a, a))
    local_grads  ∂value/∂parent for each parent, in the same order
    grad         ∂root/∂value; 0.0 until a backward walk fills it in
    """

    def __init__(self, value, parents=(), local_grads=(), label=""):
        self.value = float(value)
        self.parents = tuple(parents)
        self.local_grads = tuple(local_grads)
        self.label = label
        self.grad = 0.0

    def __repr__(self):
        return f"Node({self.label or self.value})"


def add(a, b, label=""):
    return Node(a.value + b.value, (a, b), (1.0, 1.0), label)


def mul(a, b, label=""):
    return Node(a.value * b.value, (a, b), (b.value, a.value), label)


def exp(a, label=""):
    e = math.exp(a.value)
    return Node(e, (a,), (e,), label)


# An example graph: f = (a·b + a)·b at a = 2, b = −2. a and b are each used twice.
#   a, b = Node(2.0, label="a"), Node(-2.0, label="b")
#   f = mul(add(mul(a, b, "ab"), a, "ab+a"), b, "f")
'''


# ---------------------------------------------------------------------------------------
# Recipes: building, describing, and walking them by index.
# ---------------------------------------------------------------------------------------
def _local(kind, values):
    """The node's value and its local derivatives, from its parents' values."""
    if kind == "add":
        return values[0] + values[1], (1.0, 1.0)
    if kind == "mul":
        return values[0] * values[1], (values[1], values[0])
    e = math.exp(values[0])
    return e, (e,)


def _labels(recipe):
    """Leaves are a, b, c, ...; the other nodes n1, n2, ... in the order they were made."""
    leaves, inner = iter("abcdefgh"), iter(range(1, len(recipe) + 1))
    return [next(leaves) if step[0] == "leaf" else f"n{next(inner)}" for step in recipe]


def build(module, recipe):
    """The recipe's nodes, made with the student's ``Node`` class."""
    nodes, labels = [], _labels(recipe)
    for step, label in zip(recipe, labels):
        if step[0] == "leaf":
            nodes.append(module.Node(step[1], label=label))
        else:
            parents = [nodes[i] for i in step[1:]]
            value, local = _local(step[0], [p.value for p in parents])
            nodes.append(module.Node(value, parents, local, label))
    return nodes


def describe(recipe):
    """The graph in words: 'a = 2', 'n2 = a · b', ..., with the root marked."""
    labels, lines = _labels(recipe), []
    for i, step in enumerate(recipe):
        names = [labels[j] for j in step[1:]] if step[0] != "leaf" else []
        rhs = {"leaf": lambda: fmt(float(step[1])), "add": lambda: " + ".join(names),
               "mul": lambda: " · ".join(names), "exp": lambda: f"exp({names[0]})"}[step[0]]()
        lines.append(f"{labels[i]} = {rhs}" + ("   (the root)" if i == len(recipe) - 1 else ""))
    return "\n".join(f"      {line}" for line in lines)


def _order(recipe):
    """A topological order of the nodes the root depends on, by index."""
    order, seen = [], set()
    stack = [(len(recipe) - 1, False)]
    while stack:
        i, done = stack.pop()
        if done:
            order.append(i)
        elif i not in seen:
            seen.add(i)
            stack.append((i, True))
            stack.extend((j, False) for j in recipe[i][1:] if recipe[i][0] != "leaf" and j not in seen)
    return order


def _walk(recipe, kind="right"):
    """The gradients a walk of the given kind computes (the right one, or a known mistake)."""
    values, local = [], []
    for step in recipe:
        v, d = (step[1], ()) if step[0] == "leaf" else _local(step[0], [values[j] for j in step[1:]])
        values.append(v)
        local.append(d)
    grads = np.zeros(len(recipe))
    order = _order(recipe)
    if kind != "no seed":
        grads[-1] = 1.0
    for i in (order if kind == "forward order" else reversed(order)):
        for j, d in zip(recipe[i][1:] if recipe[i][0] != "leaf" else (), local[i]):
            if kind == "overwrite":
                grads[j] = d * grads[i]
            elif kind == "no chain":
                grads[j] += d
            else:
                grads[j] += d * grads[i]
    return grads


def engine_gradients(recipe):
    """The engine's gradients of the root with respect to every node (0 off the root's graph)."""
    tensors = []
    for step in recipe:
        if step[0] == "leaf":
            tensors.append(Tensor(float(step[1]), requires_grad=True))
        else:
            a = [tensors[j] for j in step[1:]]
            made = {"add": lambda: a[0] + a[1], "mul": lambda: a[0] * a[1], "exp": lambda: a[0].exp()}
            tensors.append(made[step[0]]())
    tensors[-1].backward()
    return np.array([0.0 if t.grad is None else float(t.grad.item()) for t in tensors])


def random_recipe(draw):
    """A random small graph in which nodes are often used more than once."""
    recipe, values = [], []
    for _ in range(draw.int(1, 3)):
        recipe.append(("leaf", round(float(draw.floats((), -2.0, 2.0)), 2)))
        values.append(recipe[-1][1])
    for _ in range(draw.int(1, 6)):
        kind = draw.choice(["add", "mul", "exp"])
        i, j = draw.int(0, len(recipe) - 1), draw.int(0, len(recipe) - 1)
        if kind == "exp" and abs(values[i]) > 3:
            kind = "add"
        step = (kind, i) if kind == "exp" else (kind, i, j)
        recipe.append(step)
        values.append(_local(kind, [values[k] for k in step[1:]])[0])
    return recipe


DEEP = 3000  # a chain deeper than Python's recursion limit (1000)


def _chain(module):
    nodes = [module.Node(0.0, label="x0")]
    for i in range(1, DEEP):
        nodes.append(module.Node(float(i), (nodes[-1],), (1.0,), f"x{i}"))
    return nodes


def _too_deep(name):
    return Failure(f"recursion too deep: {name}() raised RecursionError on a chain of {DEEP} nodes. A recursive "
                   "depth-first search needs one Python call per node and Python stops at about 1000. Keep your own "
                   "list of nodes still to visit (a stack) and loop instead.", "recursion too deep")


# ---------------------------------------------------------------------------------------
def _student_order(module, root, graph):
    """The student's order for ``root`` as a list of nodes, or a Failure saying what came back."""
    try:
        got = call(student_function(module, "topological_order"), root)
    except RecursionError:
        raise _too_deep("topological_order") from None
    if got is None or not hasattr(got, "__iter__"):
        raise Failure(f"topological_order() must return a list of nodes, it returned {got!r:.80}.{graph}")
    return list(got)


def _check_order_once(module, recipe):
    nodes = build(module, recipe)
    labels = {id(n): n.label for n in nodes}
    graph = f"\n  for the graph\n{describe(recipe)}"
    got = _student_order(module, nodes[-1], graph)
    if any(id(n) not in labels for n in got):
        raise Failure(f"topological_order() returned things that are not nodes of the graph: {got!r:.200}{graph}")
    context = f"{graph}\n  your order: {', '.join(labels[id(n)] for n in got)}"
    _check_each_once(got, {id(nodes[i]) for i in _order(recipe)}, labels, context)
    _check_parents_first(got, context)


def _check_each_once(got, wanted, labels, context):
    """Every node the root depends on is listed, once, and no other."""
    seen = set()
    for n in got:
        if id(n) in seen:
            raise Failure(f"node listed twice: {labels[id(n)]} appears more than once.{context}\n  A node "
                          "that two others use is reached twice: keep a set of visited nodes and skip those.",
                          "node listed twice")
        seen.add(id(n))
    missing = [labels[i] for i in wanted - seen]
    if missing:
        raise Failure(f"node(s) {', '.join(sorted(missing))} missing from the order.{context}")
    extra = [labels[i] for i in seen - wanted]
    if extra:
        raise Failure(f"node(s) {', '.join(sorted(extra))} are listed, but the root does not depend on them.{context}")


def _check_parents_first(got, context):
    """Each node comes after all its parents."""
    where = {id(n): k for k, n in enumerate(got)}
    late = [(n, p) for n in got for p in n.parents if where[id(p)] > where[id(n)]]
    if not late:
        return
    if all(where[id(p)] > where[id(n)] for n in got for p in n.parents):
        raise Failure(f"order reversed: outputs come before their inputs.{context}\n  Inputs must come first "
                      "(the root last); backward() then walks the list from the end.", "order reversed")
    n, p = late[0]
    raise Failure(f"node {n.label} comes before its input {p.label}.{context}\n  Append a node only "
                  "after all its parents are in the list (depth-first: parents first, then the node).")


def _check_order(module):
    _check_order_once(module, [("leaf", 2.0), ("exp", 0), ("mul", 0, 1), ("add", 1, 2)])  # a diamond
    _check_order_once(module, [("leaf", 1.5)])
    for_all(random_recipe, lambda recipe: _check_order_once(module, recipe))
    nodes = _chain(module)
    got = _student_order(module, nodes[-1], f" (a chain x0 → x1 → ... → x{DEEP - 1})")
    if [getattr(n, "label", None) for n in got] != [n.label for n in nodes]:
        raise Failure(f"on a chain x0 → x1 → ... → x{DEEP - 1} the order should be x0, x1, ..., x{DEEP - 1}.")


ORDER = Exercise(
    name="topological_order", title="the topological order of a graph", lecture=LECTURE, minutes=20,
    task="Write topological_order(root): return a list of every node that root depends on (root\n"
         "included, each exactly once), in an order where each node comes after all its parents\n"
         "(inputs first, the root last). The file gives you Node and three operations to build graphs.",
    math="A computation is a graph: f⁽³⁾(f⁽²⁾(f⁽¹⁾(x))) is a chain, and a value used twice makes the\n"
         "graph branch and rejoin. Backprop needs an order in which every node comes after the nodes\n"
         "it was computed from: a topological order. Depth-first search gives one: visit the\n"
         "parents first, then add the node.",
    hint="Keep `visited` (a set) so a node reached twice is listed once. A recursive search is the\n"
         "shortest, but a chain of 3000 nodes is deeper than Python's recursion limit: use a stack of\n"
         "(node, parents_done) pairs. Pop one; if its parents are done, append it; otherwise push it\n"
         "back with parents_done=True and push its parents on top.",
    code=NODE_CODE + '''

def topological_order(root):
    """Return the nodes root depends on (root included), each once, parents before children."""
    raise NotImplementedError("topological_order: not done yet")
''',
    check=_check_order,
)


# ---------------------------------------------------------------------------------------
WALK_MISTAKES = {
    "overwrite": ("gradient overwritten instead of accumulated",
                  "A node used twice must get the sum of both shares: parent.grad += ..., not parent.grad = ..."),
    "no chain": ("forgot the chain rule (did not multiply by g)",
                 "Each parent gets local derivative × the node's own gradient: parent.grad += local * node.grad."),
    "forward order": ("walked in the wrong order",
                      "A node's gradient is complete only after every node that uses it has been visited: "
                      "walk reversed(topological_order(root)), the root first."),
    "no seed": ("the root's gradient was not set to 1", "Start with root.grad = 1.0: ∂root/∂root = 1."),
}


def _check_walk_once(module, recipe):
    fn = student_function(module, "backward")
    nodes = build(module, recipe)
    call(fn, nodes[-1])
    try:
        got = np.array([float(n.grad) for n in nodes])
    except (TypeError, ValueError):
        raise Failure("after backward(), every node's .grad must be a number; "
                      f"got {[n.grad for n in nodes]!r:.200}") from None
    want = engine_gradients(recipe)
    if np.allclose(got, want, rtol=1e-9, atol=1e-12):
        return
    rows = [("node", "expected grad", "your grad")] + [(n.label, fmt(w), fmt(g)) for n, w, g in zip(nodes, want, got)]
    table = "\n".join(f"      {a:>4}  {b:>14}  {c:>14}" for a, b, c in rows)
    text = f"\n  for the graph\n{describe(recipe)}\n{table}"
    for kind, (name, advice) in WALK_MISTAKES.items():
        if np.allclose(got, _walk(recipe, kind), rtol=1e-9, atol=1e-12):
            raise Failure(f"the gradients are wrong: {name}.{text}\n  {advice}", name)
    bad = int(np.argmax(~np.isclose(got, want, rtol=1e-9, atol=1e-12)))
    raise Failure(f"the gradient of node {nodes[bad].label} is wrong: expected {fmt(want[bad])}, "
                  f"received {fmt(got[bad])}.{text}")


def _check_walk(module):
    _check_walk_once(module, [("leaf", 2.0), ("leaf", -2.0), ("mul", 0, 1), ("add", 2, 0), ("mul", 3, 1)])
    for_all(random_recipe, lambda recipe: _check_walk_once(module, recipe))
    nodes = _chain(module)
    try:
        call(student_function(module, "backward"), nodes[-1])
    except RecursionError:
        raise _too_deep("backward") from None
    if nodes[0].grad != 1.0:
        raise Failure(f"on a chain x0 → ... → x{DEEP - 1} with local derivatives 1, x0.grad should be 1, "
                      f"got {nodes[0].grad!r}.")


WALK = Exercise(
    name="backward", title="the backward walk, with accumulation", lecture=LECTURE, minutes=20,
    task="Write backward(root): fill in node.grad = ∂root/∂node for every node root depends on.\n"
         "A node used twice (a and b in the example below) must get the sum of its two shares.\n"
         "topological_order is given (it is the previous exercise's answer).",
    math="chain rule: if the node n uses parent p, then p's share of the gradient is\n"
         "      ∂root/∂n · ∂n/∂p  =  n.grad · (n's local derivative for p)\n"
         "and p.grad is the sum of the shares from every node that uses p.\n"
         "Visit the nodes from the root backwards (reversed topological order): when a node comes\n"
         "up, every node that uses it has already sent its share, so its gradient is complete.",
    hint="root.grad = 1.0; then for node in reversed(topological_order(root)), for each\n"
         "(parent, local) in zip(node.parents, node.local_grads): add local * node.grad to parent.grad.",
    code=NODE_CODE + "\n\n" + solutions.source("topological_order") + '''

def backward(root):
    """Set node.grad = ∂root/∂node for every node that root depends on."""
    raise NotImplementedError("backward: not done yet")
''',
    check=_check_walk,
)

EXERCISES = [ORDER, WALK]
