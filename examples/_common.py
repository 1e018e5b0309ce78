"""What the examples share, in one place: the command line, plotting, progress, training.

Every example is run the same way:

    python examples/<name>.py [--out DIR] [--quick]

``--out`` is the folder the pictures go to (default: the current folder, created if
missing); ``--quick`` uses few steps and little data, so the test suite runs each example
in about a second. Each example's ``main(argv=None)`` returns a dict of the numbers it
claims, and prints them.

Pictures need matplotlib, the optional ``plot`` extra. Without it the examples still
compute and print everything, and say how to install it.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

try:  # run from a checkout without installing: put the repository root on the path
    import tinygrad_edu  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

INSTALL_PLOT = 'pip install "tinygrad_edu[plot]"'
DPI = 80  # small PNGs: the tutorial commits them (--projector raises it)
PROJECTOR_DPI, PROJECTOR_FONT = 150, 14  # --projector: sharp at 1920 px wide, text readable from the back
CLASS_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]  # blue, red, green, purple


def _in_notebook():
    return "ipykernel" in sys.modules


# ---------------------------------------------------------------------------------------
# The command line.
# ---------------------------------------------------------------------------------------
def parse_args(argv, doc):
    """Parse ``--out DIR``, ``--quick`` and ``--projector``; ``doc`` is the example's docstring.

    In a notebook ``argv=None`` means no arguments (the kernel's own argv is not ours).
    The ``--out`` folder is created.
    """
    global DPI
    parser = argparse.ArgumentParser(
        description=doc.strip().splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default=".", help="folder for the pictures (default: the current folder)")
    parser.add_argument("--quick", action="store_true", help="few steps and little data (for the tests)")
    parser.add_argument("--projector", action="store_true",
                        help=f"pictures for a lecture hall: {PROJECTOR_DPI} dpi and {PROJECTOR_FONT}-pt text")
    if argv is None and _in_notebook():
        argv = []
    args = parser.parse_args(argv)
    args.out = Path(args.out)
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"argument --out: {args.out} is a file; give a folder for the pictures")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.projector:
        DPI = PROJECTOR_DPI
        plt = pyplot()  # None without matplotlib: then there are no pictures to enlarge
        if plt is not None:
            plt.rcParams.update({"font.size": PROJECTOR_FONT})
    return args


def report(results):
    """Print the numbers an example claims, one per line, and return them."""
    print()
    width = max(len(k) for k in results)
    for key, value in results.items():
        if isinstance(value, float | np.floating):
            value = f"{value:.6g}"
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            value = f"{len(value)} rows (the table above)"
        elif isinstance(value, dict):
            value = ", ".join(f"{k} {v:.6g}" for k, v in value.items())
        elif isinstance(value, np.ndarray):
            value = np.array2string(value, precision=6)
        print(f"  {key:<{width}}  {value}")
    return results


# ---------------------------------------------------------------------------------------
# Plotting.
# ---------------------------------------------------------------------------------------
_warned = False


def pyplot():
    """``matplotlib.pyplot``, or ``None`` when matplotlib is missing (saying how to get it)."""
    global _warned
    try:
        import matplotlib

        if not _in_notebook():
            matplotlib.use("Agg")  # scripts only write files: no window, no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        if not _warned:
            print(f"matplotlib is not installed, so no pictures are drawn. Install it with:\n    {INSTALL_PLOT}")
            _warned = True
        return None
    return plt


def save(fig, out, name):
    """Write ``fig`` as the PNG ``out/name``, close it, and return the path."""
    import matplotlib.pyplot as plt

    from PIL import Image  # Pillow comes with matplotlib

    path = Path(out) / name
    fig.savefig(path, dpi=DPI)
    # 256 colours are plenty for a plot, and a third of the bytes of full colour
    Image.open(path).convert("RGB").quantize(256).save(path, optimize=True)
    if not _in_notebook():  # in a notebook the figure stays open, so it is shown
        plt.close(fig)
    print(f"wrote {path}")
    return path


def _grid(X, steps=150, pad=0.5):
    """A square grid of points covering the data ``X`` (n, 2), with a margin."""
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], steps), np.linspace(lo[1], hi[1], steps))
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def scatter_classes(ax, X, y):
    """The points of each class in its own colour."""
    size = 60 if len(X) < 20 else 14
    for k in np.unique(y).astype(int):
        ax.scatter(*X[y == k].T, s=size, color=CLASS_COLORS[k], edgecolors="white", linewidths=0.4,
                   label=f"class {k}")


def probability_map(ax, proba, X, y, pad=0.5):
    """Shade p(y=1 | x) = ``proba(points)`` over the plane, draw the line p = ½, add the points."""
    xx, yy, points = _grid(X, pad=pad)
    p = proba(points).reshape(xx.shape)
    # 11 bands, ½ in the middle of one: a map that is ½ ± 1e-8 everywhere is one colour
    ax.contourf(xx, yy, p, levels=np.linspace(0, 1, 12), cmap="coolwarm", vmin=0, vmax=1, alpha=0.6)
    if p.min() < 0.49 and p.max() > 0.51:  # a decision boundary worth drawing
        ax.contour(xx, yy, p, levels=[0.5], colors="k", linewidths=1.2)
    scatter_classes(ax, X, y)
    ax.set_aspect("equal")


def class_map(ax, predict, X, y, classes):
    """Colour each region of the plane by the class ``predict(points)`` assigns to it."""
    from matplotlib.colors import ListedColormap

    xx, yy, points = _grid(X, pad=0.2)
    k = predict(points).reshape(xx.shape)
    ax.contourf(xx, yy, k, levels=np.arange(classes + 1) - 0.5, cmap=ListedColormap(CLASS_COLORS[:classes]),
                alpha=0.3)
    for c in range(classes):
        ax.scatter(*X[y == c].T, s=5, color=CLASS_COLORS[c])
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect("equal")


# ---------------------------------------------------------------------------------------
# Training.
# ---------------------------------------------------------------------------------------
def progress(step, steps, loss):
    """A running loss line: rewritten in place on a terminal, a few lines in a log."""
    if sys.stdout.isatty():
        if step % max(1, steps // 100) == 0 or step == steps:
            print(f"\r  step {step:>5}/{steps}  loss {loss:.6f}", end="\n" if step == steps else "", flush=True)
    elif step % max(1, steps // 4) == 0 or step == steps:
        print(f"  step {step:>5}/{steps}  loss {loss:.6f}")


def train(loss_fn, optimizer, steps, show=True):
    """The training loop every example uses; returns the loss of every step.

    Each step: compute the loss (``loss_fn()`` builds the graph), clear the old gradients,
    backpropagate, and let the optimiser move the parameters against their gradients.
    """
    losses = []
    for step in range(1, steps + 1):
        loss = loss_fn()
        optimizer.zero_grad()  # gradients accumulate, so clear last step's first
        loss.backward()  # fills p.grad for every parameter p
        optimizer.step()  # p ← p − lr·(something made of p.grad)
        losses.append(loss.item())
        if show:
            progress(step, steps, losses[-1])
    return losses
