"""Linear regression as a probabilistic model, fitted by gradient descent with the engine.

The lecture's first linear model: p(y | x, w) = N(y; w^T x, eps), with one fixed variance
eps for all inputs. Its negative log-likelihood is the mean squared error up to a scale
and a constant, so both have the same minimiser; gradient descent on the MSE, with
gradients from backward(), recovers numpy's least-squares solution.

    python examples/linear_regression.py [--out DIR] [--quick]

writes linear_regression.png (the fit and the loss curve) and prints the numbers.
"""
# %% [markdown]
# # Linear regression: p(y | x, w) = N(wᵀx, ε)
#
# Each x carries a constant feature 1, so w = (intercept, slope) and wᵀx = w₀ + w₁x.

# %%
import numpy as np

import _common  # the examples' shared helpers (first: it finds tinygrad_edu in a checkout)
import tinygrad_edu as tg
from tinygrad_edu import nn


TRUE_W = np.array([1.0, 0.7])  # intercept, slope
NOISE_STD = 0.8  # the data's noise; eps = NOISE_STD² would be its true variance


def make_data(n, seed=0):
    """x uniform on [-3, 3]; y = w₀ + w₁x + Gaussian noise. Returns X (n, 2) with a 1 column."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, n)
    X = np.column_stack([np.ones(n), x])
    y = X @ TRUE_W + NOISE_STD * rng.standard_normal(n)
    return X, y


# %% [markdown]
# ## The negative log-likelihood is the MSE, scaled and shifted
#
#     −log p(y | X, w) = Σᵢ [ (yᵢ − wᵀxᵢ)² / (2ε) + ½ log(2πε) ]
#                      = n/(2ε) · MSE(w) + n/2 · log(2πε)
#
# A positive scale n/(2ε) and a constant n/2·log(2πε) that does not depend on w: the same
# minimiser, and gradients that point the same way (∇NLL = n/(2ε) · ∇MSE).

# %%
def nll(w, X, y, eps):
    """−log N(y; Xw, ε) summed over the data, written out in the engine's ops."""
    r = y - X @ w
    return (r * r).sum() / (2 * eps) + 0.5 * len(y) * np.log(2 * np.pi * eps)


def mse(w, X, y):
    return nn.mse_loss(X @ w, y)


def compare_nll_and_mse(X, y, eps, rng):
    """At a few random w: NLL − n/(2ε)·MSE (should be one constant) and the gradients' ratio."""
    n = len(y)
    gaps, ratios = [], []
    for _ in range(5):
        w = rng.standard_normal(2) * 3
        gaps.append(nll(tg.Tensor(w), X, y, eps).item() - n / (2 * eps) * mse(tg.Tensor(w), X, y).item())
        g_nll = tg.grad(lambda w: nll(w, X, y, eps))(w).numpy()
        g_mse = tg.grad(lambda w: mse(w, X, y))(w).numpy()
        ratios.append(g_nll / g_mse)
    return np.array(gaps), np.array(ratios)


# %% [markdown]
# ## Gradient descent, by hand
#
#     w ← w − lr · ∇MSE(w)
#
# backward() gives ∇MSE(w) in w.grad; the update itself is plain numpy on w.data (it is not
# part of the model, so it records no graph). This loop is what optim.SGD does.

# %%
def gradient_descent(X, y, steps, lr=0.1):
    w = tg.Tensor(np.zeros(2), requires_grad=True, label="w")
    losses = []
    for step in range(1, steps + 1):
        loss = mse(w, X, y)
        w.grad = None  # gradients accumulate: clear the last step's
        loss.backward()
        w.data -= lr * w.grad.data
        losses.append(loss.item())
        _common.progress(step, steps, losses[-1])
    return w.numpy().copy(), np.array(losses)


# %%
def plot(plt, X, y, w_gd, losses, best_loss, out):
    fig, (ax_fit, ax_loss) = plt.subplots(1, 2, figsize=(10, 3.8))
    x = X[:, 1]
    line = np.linspace(x.min(), x.max(), 2)
    ax_fit.scatter(x, y, s=12, alpha=0.6, label="data")
    ax_fit.plot(line, TRUE_W[0] + TRUE_W[1] * line, "k:", label=f"true: {TRUE_W[0]:g} + {TRUE_W[1]:g}x")
    ax_fit.plot(line, w_gd[0] + w_gd[1] * line, "r-", label=f"fitted: {w_gd[0]:.3f} + {w_gd[1]:.3f}x")
    ax_fit.set(title="The fit: the mean wᵀx of p(y | x, w)", xlabel="x", ylabel="y")
    ax_fit.legend(fontsize=8)
    ax_loss.semilogy(np.arange(1, len(losses) + 1), losses - best_loss + 1e-16)
    ax_loss.set(title="Loss curve: MSE(w_t) − MSE(w*)", xlabel="gradient descent step", ylabel="excess MSE (log)")
    for ax in (ax_fit, ax_loss):
        ax.grid(alpha=0.4)
    fig.tight_layout()
    return _common.save(fig, out, "linear_regression.png")


# %%
def main(argv=None):
    args = _common.parse_args(argv, __doc__)
    n, steps = (40, 40) if args.quick else (200, 100)
    X, y = make_data(n)

    # NLL versus MSE, with ε set to the noise variance.
    eps = NOISE_STD**2
    gaps, ratios = compare_nll_and_mse(X, y, eps, np.random.default_rng(1))
    print(f"NLL - n/(2 eps) * MSE at 5 random w: {np.array2string(gaps, precision=10)}")
    print(f"  = n/2 log(2 pi eps) = {0.5 * n * np.log(2 * np.pi * eps):.10f}, whatever w is")
    print(f"grad NLL / grad MSE, elementwise: between {ratios.min():.10f} and {ratios.max():.10f} "
          f"(n/(2 eps) = {n / (2 * eps):.10f})")

    # Gradient descent on the MSE versus numpy's least squares.
    print(f"gradient descent, {steps} steps:")
    w_gd, losses = gradient_descent(X, y, steps)
    w_ls = np.linalg.lstsq(X, y, rcond=None)[0]
    best_loss = mse(tg.Tensor(w_ls), X, y).item()
    print(f"w by gradient descent: {w_gd}\nw by np.linalg.lstsq:  {w_ls}")
    print(f"The maximum-likelihood eps is the MSE at w*: {best_loss:.4f} (the data's noise variance: {eps:.4f})")

    plt = _common.pyplot()
    if plt is not None:
        plot(plt, X, y, w_gd, losses, best_loss, args.out)

    return _common.report({
        "n": n,
        "steps": steps,
        "w_gradient_descent": w_gd,
        "w_least_squares": w_ls,
        "max_abs_diff_to_least_squares": float(np.max(np.abs(w_gd - w_ls))),
        "nll_minus_scaled_mse": float(gaps.mean()),
        "nll_constant_expected": float(0.5 * n * np.log(2 * np.pi * eps)),
        "nll_minus_scaled_mse_spread": float(gaps.max() - gaps.min()),
        "grad_ratio_min": float(ratios.min()),
        "grad_ratio_max": float(ratios.max()),
        "grad_ratio_expected": n / (2 * eps),
        "final_mse": float(losses[-1]),
        "least_squares_mse": best_loss,
    })


if __name__ == "__main__":
    main()
