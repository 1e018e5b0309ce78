"""Backprop by hand: one neuron with a Softplus, differentiated on paper, then by the engine.

    z = w*x + b,   y = softplus(z) = log(1 + e^z),   L = (y - t)^2

The printout derives dL/dw and dL/db step by step (each local derivative, then the chain
rule), then checks them against backward(), against finite differences (tg.gradcheck), and
follows the engine's own backward walk (tg.backward_steps). It draws the graph twice with
tg.draw_graph: collapsed (softplus as one node) and expanded (the primitives inside it).

    python examples/backprop_by_hand.py [--out DIR] [--quick]

writes backprop_graph.svg and backprop_graph_expanded.svg (or, without a Graphviz
renderer, their .dot sources). --quick changes nothing: this example is instant.
"""
# %% [markdown]
# # Backprop by hand
#
# One neuron, one training example (x, t), one squared error:
#
#     z = w·x + b           (the pre-activation)
#     y = softplus(z)       (the activation, log(1 + eᶻ))
#     L = (y − t)²          (the loss)

# %%
import math

import _common  # the examples' shared helpers (first: it finds tinygrad_edu in a checkout)
import tinygrad_edu as tg


X, T = 2.0, 2.0  # the input and the target
W, B = 0.5, -0.5  # the parameters where we take the derivatives


# %% [markdown]
# ## On paper
#
# Forward, then one local derivative per step, then the chain rule from L backwards:
#
#     ∂L/∂y = 2(y − t)     ∂y/∂z = σ(z) = 1/(1 + e⁻ᶻ)     ∂z/∂w = x     ∂z/∂b = 1
#
#     ∂L/∂z = ∂L/∂y · ∂y/∂z
#     ∂L/∂w = ∂L/∂z · ∂z/∂w = ∂L/∂z · x
#     ∂L/∂b = ∂L/∂z · ∂z/∂b = ∂L/∂z

# %%
def by_hand(x, t, w, b):
    """The derivation, in plain Python floats, printed as it goes. Returns the gradients."""
    z = w * x + b
    y = math.log(1 + math.exp(z))
    L = (y - t) ** 2
    print("Forward:")
    print(f"  z = w*x + b        = {w}*{x} + {b} = {z:.6f}")
    print(f"  y = log(1 + e^z)   = log(1 + e^{z:.4f}) = {y:.6f}")
    print(f"  L = (y - t)^2      = ({y:.6f} - {t})^2 = {L:.6f}")

    dL_dy = 2 * (y - t)
    dy_dz = 1 / (1 + math.exp(-z))  # softplus' = sigmoid
    dz_dw, dz_db = x, 1.0
    print("Local derivatives (each step on its own):")
    print(f"  dL/dy = 2(y - t)            = {dL_dy:.6f}")
    print(f"  dy/dz = sigmoid(z)          = {dy_dz:.6f}   (d/dz log(1 + e^z) = e^z/(1 + e^z))")
    print(f"  dz/dw = x                   = {dz_dw:.6f}")
    print("  dz/db = 1")

    dL_dz = dL_dy * dy_dz
    dL_dw = dL_dz * dz_dw
    dL_db = dL_dz * dz_db
    print("Chain rule, from L back to the parameters:")
    print(f"  dL/dz = dL/dy * dy/dz       = {dL_dy:.6f} * {dy_dz:.6f} = {dL_dz:.6f}")
    print(f"  dL/dw = dL/dz * dz/dw       = {dL_dz:.6f} * {dz_dw:.6f} = {dL_dw:.6f}")
    print(f"  dL/db = dL/dz * dz/db       = {dL_dz:.6f} * 1 = {dL_db:.6f}")
    return {"L": L, "dL/dy": dL_dy, "dL/dz": dL_dz, "dL/dw": dL_dw, "dL/db": dL_db}


# %% [markdown]
# ## The engine
#
# The same expression on Tensors records a graph; L.backward() walks it from L back to
# the leaves and leaves ∂L/∂v in v.grad for every value v on the way (w and b, and the
# intermediates z and y too).

# %%
def neuron(w, b, x=X, t=T):
    z = w * x + b
    y = z.softplus()
    return (y - t) ** 2, z, y


def by_engine():
    """The neuron on Tensors, each value labelled for the pictures, then backward()."""
    w = tg.Tensor(W, requires_grad=True, label="w")
    b = tg.Tensor(B, requires_grad=True, label="b")
    x = tg.Tensor(X, label="x")
    t = tg.Tensor(T, label="t")
    wx = w * x
    z = wx + b
    y = z.softplus()
    r = y - t
    L = r**2
    for value, name in ((wx, "w·x"), (z, "z"), (y, "y"), (r, "y − t"), (L, "L")):
        value.label = name
    L.backward()
    grads = {"L": L.item(), "dL/dy": y.grad.item(), "dL/dz": z.grad.item(),
             "dL/dw": w.grad.item(), "dL/db": b.grad.item()}
    return grads, L


# %% [markdown]
# ## Pictures of the graph
#
# Collapsed, softplus is one node. Expanded, it opens into the primitives it is made of
# (composites.py: softplus(z) = m + log(e^(−m) + e^(z − m)) with m = max(z, 0), so that
# nothing overflows); their backward rules (ops.py) give softplus' = σ by the chain rule.

# %%
def draw(L, out):
    """Write both pictures as SVG; without a Graphviz renderer, write the DOT text instead."""
    written = []
    for name, expand in (("backprop_graph", False), ("backprop_graph_expanded", True)):
        graph = tg.draw_graph(L, expand=expand)
        try:
            path = out / f"{name}.svg"
            path.write_bytes(graph.pipe(format="svg"))
        except (RuntimeError, OSError) as e:  # no `dot` program and no pygraphviz
            path = out / f"{name}.dot"
            path.write_text(graph.source)
            print(f"cannot render SVG ({type(e).__name__}); wrote the DOT source instead. "
                  f'Install Graphviz or: pip install "tinygrad_edu[render]"')
        print(f"wrote {path}")
        written.append(path)
    return written


# %%
def main(argv=None):
    args = _common.parse_args(argv, __doc__)
    print(f"x = {X}, t = {T}, w = {W}, b = {B}\n")
    hand = by_hand(X, T, W, B)
    engine, L = by_engine()

    print("\nThe engine's backward(), value by value:")
    for key in hand:
        print(f"  {key:6} by hand {hand[key]: .12f}   backward() {engine[key]: .12f}")
    diff = max(abs(hand[k] - engine[k]) for k in hand)

    # Finite differences: (L(w + ε) − L(w − ε)) / 2ε, for w and for b, against backward().
    passed = tg.gradcheck(lambda w, b: neuron(w, b)[0], W, B)
    print(f"tg.gradcheck (central differences) agrees: {passed}")

    # The same walk as backward(), one visit at a time: a value's gradient is complete when
    # every op that used it has sent its share back; then its own op's rule runs.
    print("\nThe engine's walk (tg.backward_steps), from L back to the leaves:")
    print(f"  step  {'value':<26}  dL/dvalue")
    steps = list(tg.backward_steps(L))
    for step in steps:
        name = step.tensor.label or "(a value inside softplus)"
        print(f"  {step.number:>4}  {name:<26} {step.grad.item(): .6f}")

    files = draw(L, args.out)
    return _common.report({
        "by_hand": hand,
        "by_backward": engine,
        "max_abs_difference": diff,
        "gradcheck": passed,
        "backward_steps": len(steps),
        "files": [str(f) for f in files],
    })


if __name__ == "__main__":
    main()
