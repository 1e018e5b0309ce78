"""Parity with PyTorch: same weights, data and hyper-parameters give the same numbers.

For MLPs with ReLU, ELU and Softplus and each loss: the forward values, the loss, every
parameter's gradient, and the parameters after each of five optimiser steps (SGD with
momentum and weight decay; Adam with weight decay), all in float64 to ~1e-12.
Runs only where torch is installed (CI installs it); torch is used nowhere else.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu import Tensor, nn, optim  # noqa: E402

TOL = dict(rtol=1e-10, atol=1e-12)

ACTIVATIONS = {"relu": torch.nn.ReLU, "elu": torch.nn.ELU, "softplus": torch.nn.Softplus}

LOSSES = {  # name: (ours, torch's, number of outputs, make targets)
    "mse": (nn.mse_loss, F.mse_loss, 2, lambda rng, n: rng.standard_normal((n, 2))),
    "bce": (nn.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits, 1,
            lambda rng, n: rng.integers(0, 2, (n, 1)).astype(np.float64)),
    "ce": (nn.cross_entropy, F.cross_entropy, 3, lambda rng, n: rng.integers(0, 3, n)),
}

OPTIMISERS = {  # name: (ours, torch's), same hyper-parameters
    "sgd": (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
            lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01)),
    "adam": (lambda ps: optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.01),
             lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.01)),
}


def twin_models(activation, n_out, seed, dtype=np.float64):
    """Our MLP([4, 8, 6, n_out]) and a torch Sequential holding copies of its weights."""
    tg.manual_seed(seed)
    ours = nn.MLP([4, 8, 6, n_out], activation=activation, dtype=dtype)
    layers = []
    for m in ours.layers:
        if isinstance(m, nn.Linear):
            lin = torch.nn.Linear(m.in_features, m.out_features, dtype=getattr(torch, str(np.dtype(dtype))))
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(m.weight.data.copy()))
                lin.bias.copy_(torch.from_numpy(m.bias.data.copy()))
            layers.append(lin)
        else:
            layers.append(ACTIVATIONS[activation]())
    theirs = torch.nn.Sequential(*layers)
    # same names, same order: layers.0.weight <-> 0.weight
    assert [n.removeprefix("layers.") for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    return ours, theirs


def torch_target(target):
    t = torch.from_numpy(np.array(target))
    return t.long() if t.dtype == torch.int64 else t


def assert_params_equal(ours, theirs, **tol):
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.data, q.detach().numpy(), **tol, err_msg=name)


@pytest.mark.parametrize("opt_name", sorted(OPTIMISERS))
@pytest.mark.parametrize("loss_name", sorted(LOSSES))
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_forward_gradients_and_five_steps_match_torch(activation, loss_name, opt_name):
    our_loss, torch_loss, n_out, make_target = LOSSES[loss_name]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 4))
    target = make_target(rng, 16)
    ours, theirs = twin_models(activation, n_out, seed=1)
    our_opt = OPTIMISERS[opt_name][0](ours.parameters())
    their_opt = OPTIMISERS[opt_name][1](theirs.parameters())
    Xt, yt = torch.from_numpy(X), torch_target(target)

    for step in range(5):
        out, their_out = ours(Tensor(X)), theirs(Xt)
        np.testing.assert_allclose(out.data, their_out.detach().numpy(), **TOL)
        loss, their_loss = our_loss(out, target), torch_loss(their_out, yt)
        assert loss.item() == pytest.approx(their_loss.item(), rel=1e-12, abs=1e-14)

        our_opt.zero_grad()
        their_opt.zero_grad()
        loss.backward()
        their_loss.backward()
        for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
            np.testing.assert_allclose(p.grad.data, q.grad.numpy(), **TOL, err_msg=f"step {step}: grad of {name}")

        our_opt.step()
        their_opt.step()
        assert_params_equal(ours, theirs, **TOL)


def test_float32_training_matches_torch():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 4)).astype(np.float32)
    labels = rng.integers(0, 3, 16)
    ours, theirs = twin_models("elu", 3, seed=2, dtype=np.float32)
    our_opt = optim.Adam(ours.parameters(), lr=0.01, weight_decay=0.01)
    their_opt = torch.optim.Adam(theirs.parameters(), lr=0.01, weight_decay=0.01)
    for _ in range(5):
        our_opt.zero_grad()
        their_opt.zero_grad()
        nn.cross_entropy(ours(X), labels).backward()
        F.cross_entropy(theirs(torch.from_numpy(X)), torch.from_numpy(labels)).backward()
        our_opt.step()
        their_opt.step()
    assert all(p.dtype == np.float32 for p in ours.parameters())
    assert_params_equal(ours, theirs, rtol=1e-5, atol=1e-6)


def test_losses_at_extreme_logits_match_torch():
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 1000.0], [3.0, -2.0, 0.5]])
    labels = np.array([1, 2, 0])
    targets = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 1.0], [0.2, 0.9, 0.0]])
    pairs = [
        (nn.cross_entropy(Tensor(x), labels), F.cross_entropy(torch.from_numpy(x), torch.from_numpy(labels))),
        (nn.binary_cross_entropy_with_logits(Tensor(x), targets),
         F.binary_cross_entropy_with_logits(torch.from_numpy(x), torch.from_numpy(targets))),
    ]
    for ours, theirs in pairs:
        assert ours.item() == pytest.approx(theirs.item(), rel=1e-13)
