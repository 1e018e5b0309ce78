"""Logistic regression: a Bernoulli model with sigma(w^T x), trained with BCE on the logits.

The lecture's second linear model, p(y | x, w) = Ber(y | sigma(w^T x + b)). Its negative
log-likelihood is the binary cross-entropy; minimised with the engine it separates two
blobs perfectly, and fails on XOR, where no line can separate the classes: the best it can
do is to answer 1/2 everywhere.

    python examples/logistic_regression.py [--out DIR] [--quick]

writes logistic_regression.png (both decision maps) and prints the numbers.
"""
# %% [markdown]
# # Logistic regression: p(y = 1 | x, w) = σ(wᵀx + b)
#
# The negative log-likelihood of labels y ∈ {0, 1}, per point, with the logit a = wᵀx + b:
#
#     −log Ber(y | σ(a)) = −[y log σ(a) + (1 − y) log(1 − σ(a))] = softplus(a) − y·a
#
# (using log σ(a) = −softplus(−a) and softplus(a) − softplus(−a) = a). Its mean over the
# data is nn.binary_cross_entropy_with_logits: it takes the logits, never σ(a) itself,
# so that it never computes log 0.

# %%
import numpy as np

import _common  # the examples' shared helpers (first: it finds tinygrad_edu in a checkout)
import tinygrad_edu as tg
from tinygrad_edu import nn, optim


def two_blobs(n, seed=0):
    """Two Gaussian clouds, far enough apart to be separated by a line."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    centres = np.array([[-2.0, -1.5], [2.0, 1.5]])
    X = centres[y] + 0.6 * rng.standard_normal((n, 2))
    return X, y.astype(float)


# %%
def bernoulli_nll(logits, y):
    """−mean[y log σ(a) + (1 − y) log(1 − σ(a))], written the long way, to compare."""
    p = logits.sigmoid()
    return -(y * p.log() + (1 - y) * (1 - p).log()).mean()


def fit(X, y, steps, lr=0.5, show=True):
    """A Linear(d, 1) layer gives the logit a = wᵀx + b; plain gradient descent on the BCE."""
    model = nn.Linear(X.shape[1], 1)
    X_t = tg.Tensor(X)

    def loss_fn():
        logits = model(X_t).reshape(-1)  # (n, 1) -> (n,), the shape of y
        return nn.binary_cross_entropy_with_logits(logits, y)

    _common.train(loss_fn, optim.SGD(model.parameters(), lr=lr), steps, show=show)
    return model


def predict_proba(model, X):
    """p(y = 1 | x) = σ(wᵀx + b) for every row of X."""
    with tg.no_grad():
        return model(tg.Tensor(X)).sigmoid().numpy().reshape(-1)


def accuracy(model, X, y):
    return float(np.mean((predict_proba(model, X) > 0.5) == y))


# %%
def plot(plt, blobs, xor, out):
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 4), layout="constrained")
    for ax, (title, model, X, y) in zip(axes, [blobs, xor]):
        _common.probability_map(ax, lambda pts: predict_proba(model, pts), X, y)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
    axes[0].legend(loc="lower right", fontsize=8)
    sm = plt.cm.ScalarMappable(cmap="coolwarm", norm=plt.Normalize(0, 1))
    fig.colorbar(sm, ax=axes, label="p(y = 1 | x) = σ(wᵀx + b)", shrink=0.8)
    return _common.save(fig, out, "logistic_regression.png")


# %%
def main(argv=None):
    args = _common.parse_args(argv, __doc__)
    n, steps = (40, 100) if args.quick else (200, 400)
    tg.manual_seed(0)  # the initial weights

    # 1. Separable data: the line is found, every point is classified right.
    X, y = two_blobs(n)
    logits = tg.Tensor(np.random.default_rng(1).standard_normal(n) * 3)
    gap = abs(nn.binary_cross_entropy_with_logits(logits, y).item() - bernoulli_nll(logits, y).item())
    print(f"BCE with logits = Bernoulli NLL: |difference| = {gap:.3g} at random logits")
    print(f"two blobs ({n} points), gradient descent for {steps} steps:")
    model = fit(X, y, steps)
    blobs_acc = accuracy(model, X, y)
    w, b = model.weight.numpy()[0], model.bias.item()
    print(f"  boundary {w[0]:.3f} x1 + {w[1]:.3f} x2 + {b:.3f} = 0, accuracy {blobs_acc:.0%}")

    # 2. XOR: the four points of the lecture. The loss is convex, and by the symmetry of the
    #    points its minimum is at w = 0, b = 0: p = σ(0) = 1/2 for every input.
    X_xor, y_xor = tg.datasets.xor()
    print(f"XOR (4 points), gradient descent for {steps} steps:")
    xor_model = fit(X_xor, y_xor, steps, lr=1.0)
    p_xor = predict_proba(xor_model, X_xor)
    xor_acc = accuracy(xor_model, X_xor, y_xor)
    print(f"  p(y=1|x) at (0,0) (0,1) (1,0) (1,1): {np.round(p_xor, 4)}, accuracy {xor_acc:.0%}")
    print("  No line puts (0,1), (1,0) on one side and (0,0), (1,1) on the other, so at best 3 of 4 are")
    print("  right; here p is 1/2 up to rounding, and which side of 1/2 each p falls on is chance.")

    plt = _common.pyplot()
    if plt is not None:
        plot(plt, (f"Two blobs: accuracy {blobs_acc:.0%}", model, X, y),
             ("XOR: p ≈ ½ at every point, no line separates", xor_model, X_xor, y_xor), args.out)

    return _common.report({
        "bce_minus_bernoulli_nll": gap,
        "blobs_accuracy": blobs_acc,
        "xor_probabilities": p_xor,
        "xor_max_abs_p_minus_half": float(np.max(np.abs(p_xor - 0.5))),
        "xor_accuracy": xor_acc,
    })


if __name__ == "__main__":
    main()
