"""A trainable feature extractor: the lecture's w^T phi(x; theta).

Three input features x1, x2, x3; class 0 fills a ball around the origin, class 1 a shell
around it. No plane separates a ball from the shell that surrounds it. The best a plane
can do is cut off a cap of the shell (x1 < c for a well-chosen c gets 64.5% right), and
logistic regression trained with its loss (BCE) does worse still: the data look the same
from every direction, so its loss is smallest near w = 0, p = 1/2 everywhere, and it sits
at chance (52.7%). A small network phi(x; theta) with a two-dimensional output, followed by
one linear layer w, is trained end to end: the two learned features make the classes
linearly separable for the last layer (100%).

    python examples/feature_extractor.py [--out DIR] [--quick]

writes feature_extractor.png (the inputs in 3-D; the features in 2-D before and after
training) and prints the accuracy of the best plane x_i = c on the raw inputs, and of a
linear classifier trained with BCE (a "linear probe") on the raw inputs, on the untrained
features and on the learned ones.
"""
# %% [markdown]
# # wᵀφ(x; θ): learn the features, then classify linearly
#
# Logistic regression is σ(wᵀx + b): a plane in input space. Replace x by features
# φ(x; θ) with parameters θ of their own, and train θ together with w:
#
#     p(y = 1 | x) = σ(wᵀφ(x; θ) + b)
#
# Here φ is Linear(3, 16) → ReLU → Linear(16, 2) → Tanh, two features in (−1, 1), so the
# picture of φ(x) is flat and the last layer's decision boundary in it is a line.
#
# On the raw inputs no plane separates the ball from its shell. The best plane x₁ = c
# cuts off a cap of the shell (64.5% right); logistic regression, which minimises the BCE
# and not the number of errors, ends near w = 0, p ≈ ½ everywhere: chance.

# %%
import numpy as np

import _common  # the examples' shared helpers (first: it finds tinygrad_edu in a checkout)
import tinygrad_edu as tg
from tinygrad_edu import nn, optim

from logistic_regression import accuracy, fit  # the linear classifier of the previous example


def ball_and_shell(n, seed=0):
    """Half the points with radius in [0, 1] (class 0), half in [1.5, 2] (class 1), in 3-D."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    direction = rng.standard_normal((n, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)  # uniform on the sphere
    radius = np.where(y == 0, rng.uniform(0, 1, n) ** (1 / 3), rng.uniform(1.5, 2, n))
    return direction * radius[:, None], y.astype(float)


def best_axis_plane(X, y):
    """The best plane of the form x_i = c: (accuracy, i, c, side), where the points with
    x_i > c are called class ``side`` and the others the other class.

    Every cut between two neighbouring values of x_i is tried, for every axis i and both
    sides. A linear classifier could tilt its plane too; on this data that gains little.
    """
    best = (0.0, None, None, None)
    for i in range(X.shape[1]):
        values = np.sort(X[:, i])
        cuts = np.concatenate([[values[0] - 1], (values[1:] + values[:-1]) / 2])
        above = X[:, i][None, :] > cuts[:, None]  # (cuts, points): which side of each cut
        for side in (0, 1):
            acc = np.mean(np.where(above, side, 1 - side) == y, axis=1)
            k = int(np.argmax(acc))
            if acc[k] > best[0]:
                best = (float(acc[k]), i, float(cuts[k]), side)
    return best


# %% [markdown]
# ## The model: φ(x; θ) and the linear head w, trained together

# %%
class FeatureClassifier(nn.Module):
    def __init__(self):
        self.phi = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 2), nn.Tanh())  # θ
        self.head = nn.Linear(2, 1)  # w and b

    def forward(self, x):
        return self.head(self.phi(x)).reshape(-1)  # the logit wᵀφ(x; θ) + b


def features(model, X):
    """φ(x; θ) for every row of X: what the last layer sees."""
    with tg.no_grad():
        return model.phi(tg.Tensor(X)).numpy()


# %%
def plot(plt, X, y, model, panels, out):
    """``panels``: (title, features, head) triples; the first is the inputs in 3-D, the others φ(x; θ)."""
    fig = plt.figure(figsize=(12, 4))
    ax3 = fig.add_subplot(1, len(panels), 1, projection="3d")
    for k in (0, 1):
        ax3.scatter(*X[y == k].T, s=5, color=_common.CLASS_COLORS[k], label=f"class {k}")
    ax3.set(xlabel="$x_1$", ylabel="$x_2$", zlabel="$x_3$")
    ax3.set_box_aspect(None, zoom=0.85)
    ax3.set_title(panels[0][0], fontsize=10)
    ax3.legend(fontsize=8, loc="upper left")
    for i, (title, F, head) in enumerate(panels[1:], start=2):
        ax = fig.add_subplot(1, len(panels), i)

        def head_proba(points, head=head):  # σ(wᵀφ + b) over the plane of the features
            with tg.no_grad():
                return head(tg.Tensor(points)).sigmoid().numpy().reshape(-1)

        _common.probability_map(ax, head_proba, F, y, pad=0.15)
        ax.set_title(title, fontsize=10)
        ax.set(xlabel="$φ_1$", ylabel="$φ_2$")
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.13, top=0.9, wspace=0.3)
    return _common.save(fig, out, "feature_extractor.png")


# %%
def main(argv=None):
    args = _common.parse_args(argv, __doc__)
    n, steps = (200, 150) if args.quick else (600, 400)
    probe_steps = 100 if args.quick else 300
    tg.manual_seed(0)
    X, y = ball_and_shell(n)

    # 1. Planes in the raw inputs. The best one, x_i = c, cuts a cap off the shell; logistic
    # regression, which minimises the BCE rather than the errors, stays at chance.
    plane_acc, axis, cut, side = best_axis_plane(X, y)
    print(f"best plane x{axis + 1} = {cut:.2f} (x{axis + 1} > {cut:.2f} called class {side}): {plane_acc:.1%}")
    print("linear probe on the raw inputs (logistic regression):")
    raw_acc = accuracy(fit(X, y, probe_steps), X, y)

    # 2. Train φ and w together, end to end. Keep φ(x) at the start, to compare.
    model = FeatureClassifier()
    F_start = features(model, X)
    print("linear probe on the features of the untrained network (random θ):")
    start_probe = fit(F_start, y, probe_steps)
    start_acc = accuracy(start_probe, F_start, y)
    print("training the MLP wᵀφ(x; θ) + b:")
    X_t = tg.Tensor(X)
    _common.train(lambda: nn.binary_cross_entropy_with_logits(model(X_t), y),
                  optim.Adam(model.parameters(), lr=0.02), steps)
    with tg.no_grad():
        model_acc = float(np.mean((model(X_t).numpy() > 0) == y))

    # 3. A fresh linear classifier on the learned features φ(x): now a line does it.
    F = features(model, X)
    print("linear probe on the learned features φ(x; θ):")
    feature_acc = accuracy(fit(F, y, probe_steps), F, y)
    print(f"on x: best plane {plane_acc:.1%}, logistic regression {raw_acc:.1%};  logistic regression on "
          f"φ(x; θ) before training: {start_acc:.1%};  after: {feature_acc:.1%};  "
          f"the network's own last layer: {model_acc:.1%}")

    plt = _common.pyplot()
    if plt is not None:
        plot(plt, X, y, model, [
            (f"Inputs x: best plane {plane_acc:.1%}, logistic regression {raw_acc:.1%}", None, None),
            (f"φ(x; θ) before training: linear probe {start_acc:.0%}", F_start, start_probe),
            (f"φ(x; θ) after training: the last layer gets {model_acc:.0%}", F, model.head),
        ], args.out)

    return _common.report({
        "n": n,
        "best_axis_plane_accuracy": plane_acc,
        "best_axis_plane": f"x{axis + 1} > {cut:.3f} -> class {side}",
        "raw_linear_probe_accuracy": raw_acc,
        "untrained_feature_linear_probe_accuracy": start_acc,
        "feature_linear_probe_accuracy": feature_acc,
        "network_accuracy": model_acc,
    })


if __name__ == "__main__":
    main()
