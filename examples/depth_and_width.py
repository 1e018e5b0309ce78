"""Depth and width: MLPs of a few shapes on three interleaved spirals.

A feedforward network is a chain of layers, f(x) = f3(f2(f1(x))): the length of the chain
is its depth, the size of the hidden layers its width. This example trains ReLU MLPs of
depth 1, 2 and 3 and widths 2, 4 and 16 (and a linear model, depth 0) on the same data,
and prints a table and draws a picture of their accuracies and decision regions.

    python examples/depth_and_width.py [--out DIR] [--quick]

writes depth_and_width.png and prints the table. Every model starts from the same seed;
the narrow ones depend on it (a few dead ReLUs are a large part of a width-2 network).
"""
# %% [markdown]
# # Depth and width
#
# nn.MLP([2, w, w, 3]) is the chain f⁽³⁾(f⁽²⁾(f⁽¹⁾(x))) with
# f⁽ˡ⁾(h) = ReLU(W⁽ˡ⁾h + b⁽ˡ⁾) for the hidden layers and no activation on the last,
# whose 3 outputs are the logits of the 3 classes (cross-entropy loss).
# Depth = number of hidden layers, width = their size; depth 0 is softmax regression.

# %%
import numpy as np

import _common  # the examples' shared helpers (first: it finds tinygrad_edu in a checkout)
import tinygrad_edu as tg
from tinygrad_edu import nn, optim


CLASSES = 3


def make_model(depth, width):
    """depth hidden layers of the given width, ReLU after each, between 2 inputs and 3 logits."""
    return nn.MLP([2] + [width] * depth + [CLASSES], activation="relu")


def predict(model, X):
    """The class with the largest logit, for every row of X."""
    with tg.no_grad():
        return model(tg.Tensor(X)).numpy().argmax(axis=1)


def n_parameters(model):
    return sum(p.size for p in model.parameters())


# %% [markdown]
# ## Train every shape the same way: Adam, full batch, the same number of steps

# %%
def run(depth, width, train, test, steps):
    (X, y), (X_test, y_test) = train, test
    tg.manual_seed(0)  # the same initialisation stream for every shape
    model = make_model(depth, width)
    X_t = tg.Tensor(X)
    losses = _common.train(lambda: nn.cross_entropy(model(X_t), y),
                           optim.Adam(model.parameters(), lr=0.02), steps, show=False)
    row = {
        "depth": depth, "width": width if depth else 0, "parameters": n_parameters(model),
        "final_loss": losses[-1],
        "train_accuracy": float(np.mean(predict(model, X) == y)),
        "test_accuracy": float(np.mean(predict(model, X_test) == y_test)),
    }
    print(f"  {depth:>5}  {row['width'] or '-':>5}  {row['parameters']:>10}  {row['final_loss']:>10.4f}"
          f"  {row['train_accuracy']:>9.1%}  {row['test_accuracy']:>8.1%}", flush=True)
    return row, model


# %%
def plot(plt, rows, models, depths, widths, train, out):
    X, y = train
    fig = plt.figure(figsize=(10, 6.4))
    grid = fig.add_gridspec(len(depths), len(widths) + 2, width_ratios=[2.2, 0.3] + [1] * len(widths))
    ax = fig.add_subplot(grid[:, 0])  # accuracy against width, one line per depth
    linear = next(r for r in rows if r["depth"] == 0)
    ax.axhline(linear["test_accuracy"], color="gray", ls="--", label="depth 0 (linear)")
    for d in depths:
        acc = [r["test_accuracy"] for r in rows if r["depth"] == d]
        ax.plot(widths, acc, "o-", label=f"depth {d}")
    ax.set(xscale="log", xticks=widths, xticklabels=[str(w) for w in widths], ylim=(0, 1.02),
           xlabel="width (hidden units per layer)", ylabel="test accuracy", title="Accuracy on fresh test points")
    ax.minorticks_off()
    ax.grid(alpha=0.4)
    ax.legend(fontsize=8, loc="lower right")
    for i, d in enumerate(depths):  # decision regions: rows are depths, columns widths
        for j, w in enumerate(widths):
            r, model = next((r, m) for r, m in zip(rows, models) if (r["depth"], r["width"]) == (d, w))
            cell = fig.add_subplot(grid[i, j + 2])
            _common.class_map(cell, lambda pts, model=model: predict(model, pts), X, y, CLASSES)
            cell.set_title(f"depth {d}, width {w}: {r['test_accuracy']:.0%}", fontsize=9)
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.08, top=0.95, wspace=0.08, hspace=0.22)
    return _common.save(fig, out, "depth_and_width.png")


# %%
def main(argv=None):
    args = _common.parse_args(argv, __doc__)
    if args.quick:
        n, steps, depths, widths = 150, 300, (1, 2), (2, 16)
    else:
        n, steps, depths, widths = 300, 600, (1, 2, 3), (2, 4, 16)
    train = tg.datasets.make_spirals(n, classes=CLASSES, seed=0)
    test = tg.datasets.make_spirals(n, classes=CLASSES, seed=1)  # fresh points, same spirals

    print(f"{n} training points, {steps} Adam steps per model")
    print(f"  {'depth':>5}  {'width':>5}  {'parameters':>10}  {'final loss':>10}  {'train acc':>9}  {'test acc':>8}")
    rows, models = [], []
    for depth, width in [(0, 0)] + [(d, w) for d in depths for w in widths]:
        row, model = run(depth, width, train, test, steps)
        rows.append(row)
        models.append(model)

    plt = _common.pyplot()
    if plt is not None:
        plot(plt, rows, models, depths, widths, train, args.out)

    best = max(rows, key=lambda r: r["test_accuracy"])
    return _common.report({
        "table": rows,
        "linear_test_accuracy": rows[0]["test_accuracy"],
        "best_test_accuracy": best["test_accuracy"],
        "best_shape": (best["depth"], best["width"]),
    })


if __name__ == "__main__":
    main()
