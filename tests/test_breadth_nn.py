"""Issue 14's layers: central differences, PyTorch parity (float32 and float64), train/eval,
initialisers, clip_grad_norm_, and their error messages."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-11, atol=1e-12)}
DTYPES = [np.float32, np.float64]


def check(f, *inputs):
    assert tg.gradcheck(f, *inputs, eps=1e-6, atol=1e-6, rtol=1e-4)


def twin(arrays, dtype):
    arrays = [np.asarray(a, dtype=dtype) for a in arrays]
    return ([Tensor(a.copy(), requires_grad=True) for a in arrays],
            [torch.tensor(a.copy(), requires_grad=True) for a in arrays])


def compare(ours, theirs, xs, ts, dtype, rng):
    """Values of ours(*xs) and theirs(*ts), and the gradients of v·output for every input."""
    out, tout = ours(*xs), theirs(*ts)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), **TOL[dtype])
    assert out.dtype == dtype
    v = rng.standard_normal(out.shape).astype(dtype)
    (out * v).sum().backward()
    (tout * torch.from_numpy(v)).sum().backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.data, t.grad.numpy(), **TOL[dtype])


# ---------------------------------------------------------------------------------------
# Convolution and pooling.
# ---------------------------------------------------------------------------------------
CONV_CASES = [dict(), dict(stride=2), dict(padding=1), dict(padding=(2, 1), stride=(1, 2)), dict(dilation=2, padding=1)]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("kw", CONV_CASES, ids=[str(k) for k in CONV_CASES])
def test_conv2d_matches_torch(kw, dtype, rng):
    arrays = [rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(4)]
    xs, ts = twin(arrays, dtype)
    compare(lambda x, w, b: nn.conv2d(x, w, b, **kw), lambda x, w, b: F.conv2d(x, w, b, **kw), xs, ts, dtype, rng)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("pool", ["max", "avg"])
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=(2, 3), stride=(2, 1))])
def test_pooling_matches_torch(pool, kw, dtype, rng):
    xs, ts = twin([rng.standard_normal((2, 3, 6, 7))], dtype)  # no ties in random data
    ours = nn.max_pool2d if pool == "max" else nn.avg_pool2d
    theirs = F.max_pool2d if pool == "max" else F.avg_pool2d
    compare(lambda x: ours(x, **kw), lambda x: theirs(x, **kw), xs, ts, dtype, rng)


@given(seed=st.integers(0, 10_000), stride=st.integers(1, 2), padding=st.integers(0, 1))
@settings(max_examples=8)
def test_conv2d_and_pooling_central_differences(seed, stride, padding):
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((2, 2, 5, 4)), rng.standard_normal((3, 2, 2, 2)), rng.standard_normal(3)
    check(lambda x, w, b: nn.conv2d(x, w, b, stride=stride, padding=padding), x, w, b)
    check(lambda x: nn.max_pool2d(x, 2, stride=stride, padding=padding), x)
    check(lambda x: nn.avg_pool2d(x, 2, stride=stride, padding=padding), x)


def test_conv2d_module_init_follows_torch_and_the_layer_matches_torch_with_copied_weights(rng):
    tg.manual_seed(0)
    ours = nn.Conv2d(3, 8, 3, padding=1)
    bound = 1 / math.sqrt(3 * 3 * 3)
    assert ours.weight.shape == (8, 3, 3, 3) and ours.bias.shape == (8,)
    assert np.abs(ours.weight.data).max() <= bound and np.abs(ours.weight.data).max() > 0.9 * bound
    assert np.abs(ours.bias.data).max() <= bound
    theirs = torch.nn.Conv2d(3, 8, 3, padding=1, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.data))
        theirs.bias.copy_(torch.from_numpy(ours.bias.data))
    x = rng.standard_normal((2, 3, 5, 5))
    np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.from_numpy(x)).detach().numpy(), **TOL[np.float64])
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]


def test_a_small_cnn_trains(rng):
    tg.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 2))
    x = rng.standard_normal((16, 1, 8, 8))
    labels = (x[:, 0, :4].sum(axis=(1, 2)) > x[:, 0, 4:].sum(axis=(1, 2))).astype(np.int64)  # top half brighter?
    opt = tg.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(30):
        loss = nn.cross_entropy(model(Tensor(x)), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]


# ---------------------------------------------------------------------------------------
# Normalisation, embedding, dropout, train/eval.
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_layer_norm_matches_torch(dtype, rng):
    arrays = [rng.standard_normal((4, 3, 5)) * 3 + 1, rng.standard_normal((3, 5)), rng.standard_normal((3, 5))]
    xs, ts = twin(arrays, dtype)
    compare(lambda x, w, b: nn.layer_norm(x, (3, 5), w, b), lambda x, w, b: F.layer_norm(x, (3, 5), w, b),
            xs, ts, dtype, rng)
    ln = nn.LayerNorm(5, dtype=dtype)
    assert ln.weight.tolist() == [1.0] * 5 and ln.bias.tolist() == [0.0] * 5
    check(lambda x, w, b: nn.layer_norm(x, 5, w, b), rng.standard_normal((2, 5)), rng.standard_normal(5), rng.standard_normal(5))


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)])
def test_batch_norm_matches_torch_in_training_then_in_evaluation(shape, dtype, rng):
    ours = nn.BatchNorm1d(3, momentum=0.2, dtype=dtype)
    theirs = torch.nn.BatchNorm1d(3, momentum=0.2, dtype=getattr(torch, np.dtype(dtype).name))
    for step in range(3):
        xs, ts = twin([rng.standard_normal(shape) * 2 + step], dtype)
        with torch.no_grad():
            theirs.weight.copy_(torch.from_numpy(ours.weight.data))
        compare(ours, theirs, xs, ts, dtype, rng)
        np.testing.assert_allclose(ours.running_mean.data, theirs.running_mean.numpy(), **TOL[dtype])
        np.testing.assert_allclose(ours.running_var.data, theirs.running_var.numpy(), **TOL[dtype])
    ours.eval(), theirs.eval()
    xs, ts = twin([rng.standard_normal(shape)], dtype)
    compare(ours, theirs, xs, ts, dtype, rng)


def test_batch_norm_central_differences(rng):
    """In training the batch statistics depend on x, so every output depends on every row."""
    bn = nn.BatchNorm1d(3)

    def f(x, w, b):
        bn.weight, bn.bias = w, b
        return bn(x)
    check(f, rng.standard_normal((5, 3)), rng.standard_normal(3), rng.standard_normal(3))


def test_embedding_matches_torch_with_repeated_indices(rng):
    ours = nn.Embedding(5, 3)
    theirs = torch.nn.Embedding(5, 3, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.data))
    idx = np.array([[0, 4, 4], [1, 0, 4]])
    out, tout = ours(idx), theirs(torch.from_numpy(idx))
    np.testing.assert_array_equal(out.data, tout.detach().numpy())
    v = rng.standard_normal(out.shape)
    (out * v).sum().backward()
    (tout * torch.from_numpy(v)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), rtol=1e-12)
    tg.manual_seed(0)
    big = nn.Embedding(1000, 50).weight.data
    assert abs(big.mean()) < 0.01 and abs(big.std() - 1.0) < 0.01  # N(0, 1), as PyTorch


def test_dropout_zeroes_a_fraction_p_scales_the_rest_and_is_the_identity_in_eval():
    tg.manual_seed(0)
    drop = nn.Dropout(0.25)
    x = Tensor(np.ones((200, 100)), requires_grad=True)
    y = drop(x)
    kept = y.data != 0
    assert abs(1 - kept.mean() - 0.25) < 0.01
    assert np.allclose(y.data[kept], 1 / 0.75)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, y.data)  # the gradient is the same mask
    drop.eval()
    assert drop(x) is x
    assert nn.Dropout(0.0)(x) is x and nn.dropout(x, 1.0).tolist() == np.zeros((200, 100)).tolist()


def test_train_and_eval_reach_every_nested_module():
    inner = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))

    class Net(nn.Module):
        def __init__(self):
            self.blocks = [inner, {"norm": nn.BatchNorm1d(2)}]

        def forward(self, x):
            return self.blocks[1]["norm"](self.blocks[0](x))

    net = Net()
    assert net.training and inner[1].training
    assert net.eval() is net
    assert not net.training and not inner.training and not inner[1].training and not net.blocks[1]["norm"].training
    net.train()
    assert inner[1].training and net.blocks[1]["norm"].training
    assert net.parameters() == inner.parameters() + net.blocks[1]["norm"].parameters()


# ---------------------------------------------------------------------------------------
# clip_grad_norm_ and initialisers.
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, rng):
    grads = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    ours = [Tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, t, g in zip(ours, theirs, grads):
        p.grad, t.grad = Tensor(g.copy()), torch.from_numpy(g.copy())
    total = nn.clip_grad_norm_(ours, max_norm, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert total.item() == pytest.approx(ttotal.item(), rel=1e-12)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.data, t.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"])
def test_initialisers_have_torchs_variance(name):
    tg.manual_seed(0)
    t = Tensor(np.zeros((400, 300, 2)), requires_grad=True)
    getattr(nn.init, name)(t)
    fan_in, fan_out = 300 * 2, 400 * 2
    want = 2.0 / (fan_in + fan_out) if name.startswith("xavier") else 2.0 / (1 + 0.0) / fan_in
    assert t.data.var() == pytest.approx(want, rel=0.02)
    assert t.version == 1
    for nl, param in [("relu", None), ("tanh", None), ("leaky_relu", 0.2), ("linear", None), ("selu", None)]:
        assert nn.init.calculate_gain(nl, param) == pytest.approx(torch.nn.init.calculate_gain(nl, param))


# ---------------------------------------------------------------------------------------
# Error messages.
# ---------------------------------------------------------------------------------------
def test_layer_errors_name_the_call_the_value_and_what_was_expected():
    x = Tensor(np.zeros((1, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"conv2d: the input has 3 channels .* weight expects 2"):
        nn.conv2d(x, Tensor(np.zeros((4, 2, 3, 3))))
    with pytest.raises(ValueError, match=r"conv2d: the kernel \(5, 5\) .* does not fit .* 4x4"):
        nn.conv2d(x, Tensor(np.zeros((4, 3, 5, 5))))
    with pytest.raises(ValueError, match=r"max_pool2d: the input must be a Tensor of shape \(batch, channels, height, width\), got shape \(3, 4\)"):
        nn.max_pool2d(Tensor(np.zeros((3, 4))), 2)
    with pytest.raises(ValueError, match=r"Conv2d: stride must be an integer ≥ 1 or a pair of them, got 0"):
        nn.Conv2d(1, 1, 3, stride=0)
    with pytest.raises(IndexError, match=r"embedding: index 7 is out of range for 5 embeddings"):
        nn.Embedding(5, 2)(np.array([1, 7]))
    with pytest.raises(TypeError, match=r"embedding: indices must be integers, got dtype float64"):
        nn.Embedding(5, 2)(Tensor([1, 2]))
    with pytest.raises(ValueError, match=r"BatchNorm1d: training needs more than one value per channel"):
        nn.BatchNorm1d(2)(Tensor(np.zeros((1, 2))))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(2\): expected input of shape \(N, 2\)"):
        nn.BatchNorm1d(2)(Tensor(np.zeros((4, 3))))
    with pytest.raises(ValueError, match=r"Dropout: p must be a probability in \[0, 1\], got 1.5"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match=r"layer_norm: the input's last axes \(2, 3\) do not match normalized_shape \(4,\)"):
        nn.LayerNorm(4)(Tensor(np.zeros((2, 3))))
