"""Activation functions and their derivatives, the derivatives computed by backprop.

The lecture's figure (ReLU, ELU with alpha = 2 and Softplus side by side, ReLU dotted under
the other two), plus the sigmoid, and a second row with the derivative of each, computed
by tinygrad_edu rather than written by hand. Two facts to see in it:

* Softplus' is the sigmoid: d/dx log(1 + e^x) = e^x / (1 + e^x) = sigma(x).
* At the kink x = 0 the engine follows PyTorch: relu'(0) = 0, elu'(0) = alpha.

    python examples/activations.py [--out DIR] [--quick]

writes activations.png (with matplotlib) and prints the numbers.
"""
# %% [markdown]
# # A tour of activation functions
#
# ReLU(x) = max{0, x},  ELU(x) = x if x >= 0 else α(eˣ − 1),  Softplus(x) = log(1 + eˣ),
# σ(x) = 1 / (1 + e^(−x)).
#
# In tinygrad_edu none of these has a hand-written derivative: each is a *composite*
# (tinygrad_edu/composites.py), a few primitive ops (select, exp, log, ...) whose backward
# rules live in tinygrad_edu/ops.py. Backprop through them gives their derivatives.

# %%
import numpy as np

import _common  # the examples' shared helpers (first: it finds tinygrad_edu in a checkout)
import tinygrad_edu as tg


ALPHA = 2.0  # the lecture's ELU parameter

ACTIVATIONS = {  # name -> f(x) on a Tensor, as the engine computes it
    "ReLU": lambda x: x.relu(),
    "ELU": lambda x: x.elu(ALPHA),
    "Softplus": lambda x: x.softplus(),
    "Sigmoid": lambda x: x.sigmoid(),
}

TITLES = {"ReLU": "ReLU", "ELU": f"ELU ($\\alpha={ALPHA:g}$)", "Softplus": "Softplus", "Sigmoid": "Sigmoid"}

# The lecture's numpy formulas, to check the engine's forward values against.
LECTURE = {
    "ReLU": lambda x: np.maximum(0, x),
    "ELU": lambda x: np.where(x >= 0, x, ALPHA * (np.exp(x) - 1)),
    "Softplus": lambda x: np.log(1 + np.exp(x)),
    "Sigmoid": lambda x: 1 / (1 + np.exp(-x)),
}


# %% [markdown]
# ## Derivatives by backprop, elementwise
#
# An elementwise f maps each xᵢ to f(xᵢ) alone, so for s(x) = Σᵢ f(xᵢ)
#
#     ∂s/∂xᵢ = f'(xᵢ).
#
# One backward pass of s = f(x).sum() therefore gives f' at every point of x at once:
# tg.grad(lambda x: f(x).sum())(x).

# %%
def values(f, x):
    """f(x), computed by the engine (no graph needed)."""
    with tg.no_grad():
        return f(tg.Tensor(x)).numpy()


def derivative(f, x):
    """f'(x) at every point of x: the gradient of Σᵢ f(xᵢ)."""
    return tg.grad(lambda t: f(t).sum())(x).numpy()


# %% [markdown]
# ## The figure: functions on top (the lecture's), derivatives below (the engine's)

# %%
def plot(plt, x, f_values, f_primes, at0, out):
    names = list(ACTIVATIONS)
    fig, axes = plt.subplots(2, len(names), figsize=(11, 5), sharex=True)
    relu, drelu = f_values["ReLU"], f_primes["ReLU"]
    left, right = x < 0, x > 0  # draw derivatives in two pieces: they may jump at 0
    for j, name in enumerate(names):
        top, bottom = axes[0, j], axes[1, j]
        top.set_title(TITLES[name])
        if name == "ReLU":
            top.plot(x, relu, "r-")
        else:
            top.plot(x, f_values[name])
            if name != "Sigmoid":
                top.plot(x, relu, "r:")  # ReLU dotted underneath, as in the lecture
        bottom.set_title(f"{TITLES[name]}' (by backprop)", fontsize=10)
        style = "r-" if name == "ReLU" else "C0-"
        for piece in (left, right):
            if name in ("ELU", "Softplus"):
                bottom.plot(x[piece], drelu[piece], "r:")
            bottom.plot(x[piece], f_primes[name][piece], style)
        if name == "Softplus":  # Softplus' is the sigmoid: draw σ on top, dashed
            bottom.plot(x, f_values["Sigmoid"], "k--", lw=1, label="σ(x)")
            bottom.legend(loc="upper left", fontsize=8)
        bottom.plot([0], [at0[name]], "ko", ms=4)  # the engine's value at the kink
        below = at0[name] > 0.5 * f_primes[name].max()  # keep the label inside the panel
        bottom.annotate(f"f'(0) = {at0[name]:g}", (0, at0[name]), textcoords="offset points",
                        xytext=(6, -12 if below else 6), fontsize=8)
        bottom.set_xlabel("x")
        for ax in (top, bottom):
            ax.grid()
    fig.tight_layout()
    return _common.save(fig, out, "activations.png")


# %% [markdown]
# ## Run it

# %%
def main(argv=None):
    args = _common.parse_args(argv, __doc__)
    x = np.linspace(-5, 5, 101 if args.quick else 401)  # an odd count has a middle sample ...
    x[len(x) // 2] = 0.0  # ... which is made exactly 0, the kink

    f_values = {name: values(f, x) for name, f in ACTIVATIONS.items()}
    f_primes = {name: derivative(f, x) for name, f in ACTIVATIONS.items()}
    at0 = {name: derivative(f, np.array([0.0]))[0] for name, f in ACTIVATIONS.items()}

    # The engine agrees with the lecture's numpy formulas ...
    forward_error = max(np.max(np.abs(f_values[n] - LECTURE[n](x))) for n in ACTIVATIONS)
    # ... and its derivatives with the ones written out by hand (away from the kink).
    s = f_values["Sigmoid"]
    by_hand = {
        "ReLU": (x > 0).astype(float),
        "ELU": np.where(x > 0, 1.0, ALPHA * np.exp(x)),
        "Softplus": s,  # d/dx log(1 + eˣ) = eˣ/(1 + eˣ) = σ(x)
        "Sigmoid": s * (1 - s),  # σ' = σ(1 − σ)
    }
    derivative_error = max(np.max(np.abs(f_primes[n] - by_hand[n])) for n in ACTIVATIONS)

    print("Softplus' is the sigmoid: max |softplus'(x) - sigmoid(x)| on the grid is "
          f"{np.max(np.abs(f_primes['Softplus'] - s)):.3g}")
    print("At the kink x = 0: slope from the left, from the right, and what the engine returns")
    print(f"  ReLU       0 and 1   relu'(0) = {at0['ReLU']:g}      PyTorch's convention (maximum(x, 0)"
          " would split the tie: 1/2)")
    print(f"  ELU, a={ALPHA:g}   {ALPHA:g} and 1   elu'(0) = {at0['ELU']:g}       alpha, PyTorch's convention"
          " (ELU has no kink only when alpha = 1)")
    print(f"  Softplus   no kink   softplus'(0) = {at0['Softplus']:g}  = sigmoid(0)")
    print(f"  Sigmoid    no kink   sigmoid'(0) = {at0['Sigmoid']:g}  = sigmoid(0)(1 - sigmoid(0))")

    plt = _common.pyplot()
    if plt is not None:
        plot(plt, x, f_values, f_primes, at0, args.out)

    return _common.report({
        "forward_max_error_vs_lecture_numpy": float(forward_error),
        "derivative_max_error_vs_by_hand": float(derivative_error),
        "max_abs_softplus_prime_minus_sigmoid": float(np.max(np.abs(f_primes["Softplus"] - s))),
        "relu_prime_at_0": float(at0["ReLU"]),
        "elu_prime_at_0": float(at0["ELU"]),
        "softplus_prime_at_0": float(at0["Softplus"]),
        "sigmoid_prime_at_0": float(at0["Sigmoid"]),
    })


if __name__ == "__main__":
    main()
