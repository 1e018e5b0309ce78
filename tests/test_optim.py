"""SGD and Adam against updates computed by hand, step by step."""
import numpy as np
import pytest

from tinygrad_edu import Tensor, nn, optim


def param(values, dtype=np.float64):
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


def set_grad(p, values):
    p.grad = Tensor(np.array(values, dtype=p.dtype))


# ---------------------------------------------------------------------------------------
# SGD.
# ---------------------------------------------------------------------------------------
def test_sgd_plain_step():
    p = param([1.0, -2.0])
    opt = optim.SGD([p], lr=0.1)
    set_grad(p, [0.5, -1.0])
    opt.step()
    np.testing.assert_allclose(p.data, [1.0 - 0.05, -2.0 + 0.1], rtol=1e-15)


def test_sgd_momentum_and_weight_decay_by_hand():
    # p = 1, constant gradient g = 2, lr = 0.1, momentum = 0.9, weight_decay = 0.5
    p = param([1.0])
    opt = optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.5)
    expected, buf = 1.0, None
    trajectory = []
    for _ in range(4):
        d = 2.0 + 0.5 * expected  # d = g + wd·p
        buf = d if buf is None else 0.9 * buf + d  # first step: b = d
        expected -= 0.1 * buf
        trajectory.append(expected)
        set_grad(p, [2.0])
        opt.step()
        assert p.data[0] == pytest.approx(expected, rel=1e-14)
    # the numbers themselves, worked out on paper: d₁ = 2.5, p₁ = 0.75; d₂ = 2.375,
    # b₂ = 0.9·2.5 + 2.375 = 4.625, p₂ = 0.2875
    assert trajectory[:2] == pytest.approx([0.75, 0.2875], rel=1e-14)


def test_sgd_moves_against_the_gradient_of_a_quadratic():
    # f(p) = ½‖p‖², ∇f = p: each plain step multiplies p by (1 − lr)
    p = param([4.0, -8.0])
    opt = optim.SGD([p], lr=0.25)
    for k in range(1, 6):
        opt.zero_grad()
        (0.5 * (p * p).sum()).backward()
        opt.step()
        np.testing.assert_allclose(p.data, np.array([4.0, -8.0]) * 0.75**k, rtol=1e-14)


# ---------------------------------------------------------------------------------------
# Adam.
# ---------------------------------------------------------------------------------------
def adam_by_hand(p, grads, lr, b1, b2, eps, wd):
    """The textbook formulas, written out plainly, one step at a time."""
    m = v = 0.0
    out = []
    for t, g in enumerate(grads, start=1):
        g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(p)
    return out


@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_adam_by_hand(wd):
    grads = [np.array([0.5, -1.0, 2.0]), np.array([0.1, 0.0, -3.0]), np.array([-0.2, 1.0, 1.0]),
             np.array([1.0, 1.0, 1.0])]
    p0 = np.array([1.0, 2.0, -3.0])
    expected = adam_by_hand(p0, grads, lr=0.01, b1=0.8, b2=0.95, eps=1e-6, wd=wd)
    p = param(p0)
    opt = optim.Adam([p], lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=wd)
    for g, e in zip(grads, expected):
        set_grad(p, g)
        opt.step()
        np.testing.assert_allclose(p.data, e, rtol=1e-13)


def test_adam_first_step_is_lr_times_sign():
    # with bias correction, m̂₁ = g and v̂₁ = g², so the first step is lr·g/(|g| + eps)
    p = param([0.0, 0.0, 0.0])
    opt = optim.Adam([p], lr=0.5, eps=0.0)
    set_grad(p, [3.0, -1e-3, 40.0])
    opt.step()
    np.testing.assert_allclose(p.data, [-0.5, 0.5, -0.5], rtol=1e-14)


# ---------------------------------------------------------------------------------------
# Shared behaviour.
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: optim.Adam(ps, lr=0.1)])
def test_params_without_grad_are_skipped_and_keep_their_state(make):
    a, b = param([1.0]), param([1.0])
    opt = make([a, b])
    set_grad(a, [1.0])
    opt.step()  # b has no gradient: untouched, its state not started
    assert b.data[0] == 1.0 and a.data[0] != 1.0
    # b's first real step must be a first step (no momentum / t = 1), like a's was
    a2 = param([1.0])
    twin = make([a2])
    set_grad(a2, [1.0])
    twin.step()
    set_grad(b, [1.0])
    a_before = a.data.copy()
    a.grad = None  # now a has none: skipped
    opt.step()
    assert b.data[0] == a2.data[0]
    assert a.data[0] == a_before[0]


@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1),
                                  lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.1)])
def test_updates_in_place_outside_the_graph_and_keep_float32(make):
    model = nn.MLP([3, 4, 1], dtype=np.float32)
    arrays = [p.data for p in model.parameters()]
    opt = make(model.parameters())
    for _ in range(2):
        opt.zero_grad()
        nn.mse_loss(model(np.ones((2, 3))), np.zeros((2, 1))).backward()
        opt.step()
    for p, arr in zip(model.parameters(), arrays):
        assert p.data is arr  # same array, updated in place
        assert p.dtype == np.float32
        assert p.is_leaf and p.requires_grad  # no graph recorded by the update


def test_zero_grad_sets_grads_to_none():
    p = param([1.0])
    opt = optim.SGD([p], lr=0.1)
    set_grad(p, [1.0])
    opt.zero_grad()
    assert p.grad is None


def test_optimiser_accepts_a_generator_of_parameters():
    model = nn.Linear(2, 1)
    opt = optim.SGD((p for p in model.parameters()), lr=0.1)
    assert len(opt.params) == 2


@pytest.mark.parametrize("make, error, match", [
    (lambda: optim.SGD([], lr=0.1), ValueError, "empty"),
    (lambda: optim.Adam([]), ValueError, "empty"),
    (lambda: optim.SGD([param([1.0])], lr=-0.1), ValueError, "lr"),
    (lambda: optim.SGD([param([1.0])], lr=float("nan")), ValueError, "lr"),
    (lambda: optim.SGD([param([1.0])], lr="0.1"), TypeError, "lr"),
    (lambda: optim.SGD([param([1.0])], lr=None), TypeError, "lr"),
    (lambda: optim.Adam([param([1.0])], lr=-1.0), ValueError, "lr"),
    (lambda: optim.SGD([param([1.0])], lr=0.1, momentum=-0.5), ValueError, "momentum"),
    (lambda: optim.SGD([param([1.0])], lr=0.1, weight_decay=-1), ValueError, "weight_decay"),
    (lambda: optim.Adam([param([1.0])], betas=(0.9, 1.0)), ValueError, "betas"),
    (lambda: optim.Adam([param([1.0])], betas=(0.9,)), ValueError, "betas"),
    (lambda: optim.Adam([param([1.0])], eps=-1e-8), ValueError, "eps"),
    (lambda: optim.SGD(param([1.0, 2.0]), lr=0.1), TypeError, "list of tensors"),
    (lambda: optim.SGD(nn.Linear(2, 1), lr=0.1), TypeError, "model.parameters()"),
    (lambda: optim.SGD([np.ones(2)], lr=0.1), TypeError, "not a Tensor"),
    (lambda: optim.SGD([param([1.0])] * 2, lr=0.1), ValueError, "twice"),
])
def test_errors(make, error, match):
    with pytest.raises(error, match=match.replace("(", r"\(").replace(")", r"\)")):
        make()
