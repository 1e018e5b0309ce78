"""nn.Module, Linear, Sequential, MLP and the activation modules."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn
from tinygrad_edu.tensor import topological_order


# ---------------------------------------------------------------------------------------
# Finding parameters.
# ---------------------------------------------------------------------------------------
class Net(nn.Module):
    """Parameters directly, in a list, in a Sequential, and a constant that is not one."""

    def __init__(self):
        self.scale = Tensor(np.ones(3), requires_grad=True)
        self.blocks = [nn.Linear(3, 2), nn.Linear(2, 2, bias=False)]
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(2, 1))
        self.constant = Tensor(np.zeros(3))  # does not require grad: not a parameter
        self.note = "not a tensor"

    def forward(self, x):
        x = x * self.scale + self.constant
        for b in self.blocks:
            x = b(x)
        return self.head(x)


def test_named_parameters_walk_attributes_in_definition_order():
    names = [n for n, _ in Net().named_parameters()]
    assert names == ["scale", "blocks.0.weight", "blocks.0.bias", "blocks.1.weight",
                     "head.1.weight", "head.1.bias"]


def test_parameters_follow_named_parameters_and_are_trainable_tensors():
    net = Net()
    params = net.parameters()
    assert [id(p) for p in params] == [id(p) for _, p in net.named_parameters()]
    assert all(isinstance(p, Tensor) and p.requires_grad for p in params)


def test_mlp_names_as_api_md():
    model = nn.MLP([2, 2, 1])
    assert [n for n, _ in model.named_parameters()] == [
        "layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]
    assert isinstance(model.layers, nn.Sequential)
    assert [type(m).__name__ for m in model.layers] == ["Linear", "ReLU", "Linear"]
    deep = nn.MLP([3, 4, 5, 2], activation="tanh")
    assert [n for n, _ in deep.named_parameters()] == [
        "layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias",
        "layers.4.weight", "layers.4.bias"]
    assert [p.shape for p in deep.parameters()] == [(4, 3), (4,), (5, 4), (5,), (2, 5), (2,)]


def test_parameters_are_labelled_with_their_attribute_name():
    lin = nn.Linear(2, 3)
    assert lin.weight.label == "weight" and lin.bias.label == "bias"


def test_a_shared_parameter_is_listed_once():
    lin = nn.Linear(2, 2)
    model = nn.Sequential(lin, nn.ReLU(), lin)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]


def test_a_kept_intermediate_tensor_is_not_a_parameter():
    class Keeps(nn.Module):
        def __init__(self):
            self.lin = nn.Linear(2, 2)

        def forward(self, x):
            self.hidden = self.lin(x)  # kept for a plot: computed, so not a parameter
            return self.hidden.relu()

    model = Keeps()
    before = [n for n, _ in model.named_parameters()]
    model(Tensor(np.ones((1, 2))))
    assert model.hidden.requires_grad
    assert [n for n, _ in model.named_parameters()] == before == ["lin.weight", "lin.bias"]


def test_zero_grad_clears_every_gradient():
    net = Net()
    net(Tensor(np.ones((4, 3)))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


# ---------------------------------------------------------------------------------------
# state_dict / load_state_dict.
# ---------------------------------------------------------------------------------------
def test_state_dict_is_a_copy():
    model = nn.MLP([2, 3, 1])
    sd = model.state_dict()
    assert list(sd) == [n for n, _ in model.named_parameters()]
    before = sd["layers.0.weight"].copy()
    model.layers[0].weight.data += 1.0
    np.testing.assert_array_equal(sd["layers.0.weight"], before)
    sd["layers.2.bias"][...] = 123.0
    assert model.layers[2].bias.data[0] != 123.0


def test_load_state_dict_copies_arrays_and_tensors_in_place():
    tg.manual_seed(0)
    a, b = nn.MLP([2, 3, 1]), nn.MLP([2, 3, 1])
    w = b.layers[0].weight
    arrays = a.state_dict()
    arrays["layers.0.bias"] = Tensor(arrays["layers.0.bias"])  # a Tensor value works too
    b.load_state_dict(arrays)
    assert b.layers[0].weight is w  # same tensor object: an optimiser holding it still works
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    arrays["layers.0.weight"][...] = 7.0
    assert not np.any(b.layers[0].weight.data == 7.0)  # copied, not aliased


def test_load_state_dict_of_the_lectures_xor_weights():
    X, y = tg.datasets.xor()
    model = nn.MLP([2, 2, 1], activation="relu")
    model.load_state_dict({
        "layers.0.weight": np.array([[1.0, 1.0], [1.0, 1.0]]), "layers.0.bias": np.array([0.0, -1.0]),
        "layers.2.weight": np.array([[1.0, -2.0]]), "layers.2.bias": np.array([0.0]),
    })
    np.testing.assert_array_equal(model(Tensor(X)).data.reshape(-1), y)


def _broken(kind):
    sd = nn.MLP([2, 3, 1]).state_dict()
    if kind == "missing":
        del sd["layers.2.bias"]
    elif kind == "extra":
        sd["layers.9.weight"] = np.zeros(3)
    elif kind == "shape":
        sd["layers.2.bias"] = np.zeros(2)
    elif kind == "dtype":
        sd["layers.2.bias"] = sd["layers.2.bias"].astype(np.float32)
    return sd


@pytest.mark.parametrize("kind, error, name", [
    ("missing", KeyError, "layers.2.bias"),
    ("extra", KeyError, "layers.9.weight"),
    ("shape", ValueError, "layers.2.bias"),
    ("dtype", ValueError, "layers.2.bias"),
])
def test_load_state_dict_errors_name_the_parameter_and_load_nothing(kind, error, name):
    model = nn.MLP([2, 3, 1])
    before = {k: v.copy() for k, v in model.state_dict().items()}
    sd = _broken(kind)
    # every other entry is valid and differs from the model: a half-load would show
    for k in sd:
        if k != name and k in before and sd[k].shape == before[k].shape:
            sd[k] = before[k] + 1.0
    with pytest.raises(error, match=name.replace(".", r"\.")):
        model.load_state_dict(sd)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


# ---------------------------------------------------------------------------------------
# Linear.
# ---------------------------------------------------------------------------------------
def test_linear_shapes_and_forward():
    lin = nn.Linear(3, 2)
    assert lin.weight.shape == (2, 3) and lin.bias.shape == (2,)
    x = np.arange(12.0).reshape(4, 3)
    y = lin(Tensor(x))
    np.testing.assert_allclose(y.data, x @ lin.weight.data.T + lin.bias.data, rtol=1e-15)
    np.testing.assert_allclose(lin(x).data, y.data)  # numpy input works too
    assert nn.Linear(3, 2, bias=False).bias is None
    assert [n for n, _ in nn.Linear(3, 2, bias=False).named_parameters()] == ["weight"]


def test_linear_init_is_pytorch_default_and_seeded():
    tg.manual_seed(42)
    a = nn.Linear(400, 300)
    tg.manual_seed(42)
    b = nn.Linear(400, 300)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    bound = 1 / np.sqrt(400)
    for p in (a.weight.data, a.bias.data):
        assert p.dtype == np.float64
        assert np.abs(p).max() <= bound
        assert np.abs(p).max() > 0.95 * bound  # uniform over the whole interval ...
        assert abs(p.mean()) < 0.1 * bound  # ... centred on 0
    assert np.std(a.weight.data) == pytest.approx(bound / np.sqrt(3), rel=0.02)
    c = nn.Linear(400, 300)  # the generator moved on: a different layer
    assert not np.array_equal(a.weight.data, c.weight.data)


def test_same_seed_same_mlp():
    tg.manual_seed(7)
    a = nn.MLP([2, 5, 3])
    tg.manual_seed(7)
    b = nn.MLP([2, 5, 3])
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_float32_model_stays_float32():
    model = nn.MLP([3, 4, 2], activation="elu", dtype=np.float32)
    assert all(p.dtype == np.float32 for p in model.parameters())
    x = np.random.default_rng(0).standard_normal((5, 3))  # float64 data
    out = model(x)
    assert out.dtype == np.float32
    nn.cross_entropy(out, np.array([0, 1, 1, 0, 1])).backward()
    assert all(p.grad.dtype == np.float32 for p in model.parameters())


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_linear_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match="Linear"):
        nn.Linear(bad, 3)


@given(batch=st.integers(1, 5), n_in=st.integers(1, 4), n_out=st.integers(1, 4), bias=st.booleans(),
       seed=st.integers(0, 2**16))
def test_linear_gradcheck(batch, n_in, n_out, bias, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, n_in))
    w = rng.standard_normal((n_out, n_in))
    b = rng.standard_normal(n_out)
    lin = nn.Linear(n_in, n_out, bias=bias)

    def f(x, w, b):  # the layer's forward, with its parameters swapped for gradcheck's
        lin.weight = w
        lin.bias = b if bias else None
        return lin(x)

    assert tg.gradcheck(f, x, w, b, atol=1e-7, rtol=1e-6)


def test_linear_gradient_closed_form():
    # L = Σ v ⊙ (x Wᵀ + b):  ∂L/∂W = vᵀ x,  ∂L/∂b = Σ_rows v,  ∂L/∂x = v W
    rng = np.random.default_rng(0)
    lin = nn.Linear(3, 2)
    x = Tensor(rng.standard_normal((5, 3)), requires_grad=True)
    v = rng.standard_normal((5, 2))
    lin(x).backward(v)
    np.testing.assert_allclose(lin.weight.grad.data, v.T @ x.data, rtol=1e-13)
    np.testing.assert_allclose(lin.bias.grad.data, v.sum(0), rtol=1e-13)
    np.testing.assert_allclose(x.grad.data, v @ lin.weight.data, rtol=1e-13)


# ---------------------------------------------------------------------------------------
# Sequential and MLP.
# ---------------------------------------------------------------------------------------
def test_sequential_applies_in_turn_and_indexes():
    a, r, b = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(a, r, b)
    assert len(seq) == 3 and seq[0] is a and seq[-1] is b and list(seq) == [a, r, b]
    x = Tensor(np.random.default_rng(0).standard_normal((4, 2)))
    np.testing.assert_array_equal(seq(x).data, b(r(a(x))).data)
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and list(head) == [a, r]
    with pytest.raises(TypeError, match="Sequential"):
        nn.Sequential(a, 3)


def test_mlp_activation_by_name_or_module():
    for name, cls in nn.ACTIVATIONS.items():
        model = nn.MLP([2, 3, 3, 1], activation=name)
        assert [type(m) for m in model.layers][1::2] == [cls, cls]
    act = nn.LeakyReLU(0.2)
    model = nn.MLP([2, 3, 1], activation=act)
    assert model.layers[1] is act
    model = nn.MLP([2, 3, 3, 1], activation=nn.Tanh)  # a class: one instance per layer
    assert isinstance(model.layers[1], nn.Tanh) and model.layers[1] is not model.layers[3]
    assert "Linear(in_features=2, out_features=3" in repr(model)


def test_mlp_errors():
    with pytest.raises(ValueError) as e:
        nn.MLP([2, 3, 1], activation="swish")
    for name in ["relu", "elu", "softplus", "sigmoid", "tanh", "leaky_relu", "identity"]:
        assert name in str(e.value)
    with pytest.raises(ValueError, match="at least"):
        nn.MLP([3])
    with pytest.raises(TypeError, match="activation"):
        nn.MLP([2, 1], activation=3)


ACTIVATION_MODULES = [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.ELU(), lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0)))),
    (nn.ELU(alpha=2.0), lambda x: np.where(x > 0, x, 2 * np.expm1(np.minimum(x, 0)))),
    (nn.Softplus(), lambda x: np.logaddexp(0, x)),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Tanh(), np.tanh),
    (nn.LeakyReLU(), lambda x: np.where(x > 0, x, 0.01 * x)),
    (nn.LeakyReLU(negative_slope=0.3), lambda x: np.where(x > 0, x, 0.3 * x)),
    (nn.Identity(), lambda x: x),
]


@pytest.mark.parametrize("module, reference", ACTIVATION_MODULES, ids=lambda m: repr(m))
def test_activation_modules(module, reference):
    x = np.linspace(-4, 4, 33)
    np.testing.assert_allclose(module(Tensor(x)).data, reference(x), rtol=1e-12, atol=1e-15)
    assert module.parameters() == []


# ---------------------------------------------------------------------------------------
# Module calls are recorded for pictures, but only when a graph is.
# ---------------------------------------------------------------------------------------
def test_module_call_is_recorded_as_a_scope():
    model = nn.MLP([2, 3, 1])
    out = model(Tensor(np.ones((1, 2))))
    scopes = [t.op.scope for t in topological_order(out) if t.op is not None]
    assert scopes
    for s in scopes:
        assert [x.name for x in s[:2]] == ["MLP", "Sequential"] and s[0].obj is model
        assert s[0].kind == "module"
    owners = {s[2].obj for s in scopes}
    assert owners == {model.layers[0], model.layers[1], model.layers[2]}


def test_no_graph_under_no_grad():
    model = nn.MLP([2, 3, 1])
    with tg.no_grad():
        out = model(Tensor(np.ones((1, 2))))
    assert not out.requires_grad and out.op is None


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1.0)
