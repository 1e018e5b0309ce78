"""RMSprop, AdamW and the learning-rate schedules against PyTorch 2.13, step for step."""
import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn, optim

torch = pytest.importorskip("torch")

OPTIMISERS = {  # name: (ours, torch's), same hyper-parameters
    "rmsprop": (lambda ps: optim.RMSprop(ps, lr=0.01), lambda ps: torch.optim.RMSprop(ps, lr=0.01)),
    "rmsprop_all": (lambda ps: optim.RMSprop(ps, lr=0.02, alpha=0.9, eps=1e-6, weight_decay=0.1, momentum=0.8, centered=True),
                    lambda ps: torch.optim.RMSprop(ps, lr=0.02, alpha=0.9, eps=1e-6, weight_decay=0.1, momentum=0.8, centered=True)),
    "adamw": (lambda ps: optim.AdamW(ps), lambda ps: torch.optim.AdamW(ps)),
    "adamw_all": (lambda ps: optim.AdamW(ps, lr=0.05, betas=(0.8, 0.95), eps=1e-7, weight_decay=0.3),
                  lambda ps: torch.optim.AdamW(ps, lr=0.05, betas=(0.8, 0.95), eps=1e-7, weight_decay=0.3)),
}


def twin_mlp(dtype):
    tg.manual_seed(3)
    ours = nn.MLP([3, 5, 1], dtype=dtype)
    theirs = [torch.tensor(p.data.copy(), requires_grad=True) for p in ours.parameters()]
    return ours, theirs


def torch_mlp(ps, x):
    w1, b1, w2, b2 = ps
    return torch.relu(x @ w1.T + b1) @ w2.T + b2


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", sorted(OPTIMISERS))
def test_optimiser_follows_torch_step_for_step(name, dtype, rng):
    ours, theirs = twin_mlp(dtype)
    opt, topt = OPTIMISERS[name][0](ours.parameters()), OPTIMISERS[name][1](theirs)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    for step in range(8):
        x, y = rng.standard_normal((6, 3)).astype(dtype), rng.standard_normal((6, 1)).astype(dtype)
        loss = nn.mse_loss(ours(Tensor(x)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        tloss = ((torch_mlp(theirs, torch.from_numpy(x)) - torch.from_numpy(y)) ** 2).mean()
        topt.zero_grad()
        tloss.backward()
        topt.step()
        assert loss.item() == pytest.approx(tloss.item(), rel=tol["rtol"] * 10)
        for p, t in zip(ours.parameters(), theirs):
            assert p.dtype == dtype
            np.testing.assert_allclose(p.data, t.detach().numpy(), err_msg=f"step {step}", **tol)


SCHEDULES = {
    "step": (lambda o: optim.StepLR(o, step_size=3, gamma=0.5),
             lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)),
    "cosine": (lambda o: optim.CosineAnnealingLR(o, T_max=5),
               lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=5)),
    "cosine_eta_min": (lambda o: optim.CosineAnnealingLR(o, T_max=4, eta_min=0.01),
                       lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=4, eta_min=0.01)),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedule_gives_torchs_learning_rates_exactly(name):
    p = Tensor([1.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched, tsched = SCHEDULES[name][0](opt), SCHEDULES[name][1](topt)
    assert sched.get_last_lr() == tsched.get_last_lr()
    for epoch in range(23):  # through several periods of the cosine
        topt.step()
        sched.step()
        tsched.step()
        assert sched.get_last_lr() == tsched.get_last_lr(), f"epoch {epoch + 1}"
        assert opt.lr == topt.param_groups[0]["lr"]


def test_adamw_decay_is_decoupled_from_the_gradient():
    """With a zero gradient Adam's update is 0, so AdamW only shrinks: p·(1 − lr·wd)."""
    p = Tensor([2.0, -4.0], requires_grad=True)
    opt = optim.AdamW([p], lr=0.1, weight_decay=0.5)
    p.grad = Tensor([0.0, 0.0])
    opt.step()
    assert p.tolist() == [2.0 * 0.95, -4.0 * 0.95]


def test_errors_name_the_argument():
    p = Tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"RMSprop: alpha must be in \[0, 1\], got 1.5"):
        optim.RMSprop([p], alpha=1.5)
    with pytest.raises(TypeError, match=r"AdamW: weight_decay must be a number, got str"):
        optim.AdamW([p], weight_decay="0.1")
    with pytest.raises(ValueError, match=r"StepLR: step_size must be a positive integer, got 0"):
        optim.StepLR(optim.SGD([p], lr=0.1), step_size=0)
    with pytest.raises(TypeError, match=r"CosineAnnealingLR: expected an optimiser such as optim.SGD\(...\), got list"):
        optim.CosineAnnealingLR([p], T_max=3)
