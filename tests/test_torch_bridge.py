"""torch_bridge: to_torch, from_torch and load_torch_state_dict.

Models cross over with their weights and compute the same thing on the other side: outputs
and every parameter's gradient under the same name (float64 to 1e-12, float32 to 1e-5),
and a round trip gives back identical arrays.

Tolerances are relative to the largest entry compared (``assert_close``; for gradients, the
largest gradient entry of the whole model): an entry near 0 by cancellation carries the
rounding error of the terms that cancelled, which is the size of the largest ones. Why 1e-5
in float32: each rounding there is 6e-8, the two engines sum in different orders, and
cancellation (in a last layer, or in ŷ − y of the loss) magnifies that. Measured over 2100
random MLPs per dtype, worst differences: float32 2.7e-6 on outputs and 1.0e-6 on
gradients; float64 1.6e-15 and 3.0e-15.
"""
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

torch = pytest.importorskip("torch", reason="torch_bridge converts to and from PyTorch: needs torch")

import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu import Tensor, nn  # noqa: E402
from tinygrad_edu.torch_bridge import (  # noqa: E402
    SOFTPLUS_THRESHOLD, from_torch, load_torch_state_dict, to_torch,
)

TOL = {np.float64: 1e-12, np.float32: 1e-5}
ACTIVATION_NAMES = sorted(nn.ACTIVATIONS)


def as_array(grad):
    """A gradient as a numpy array, whether the engine stores it as a Tensor or an array."""
    return np.asarray(grad.data if isinstance(grad, Tensor) else grad)


def assert_close(ours, theirs, dtype, what, scale=None):
    """|ours − theirs| ≤ tol·(|theirs| + scale), scale defaulting to the largest |theirs|."""
    tol = TOL[dtype]
    theirs = np.asarray(theirs)
    scale = np.abs(theirs).max(initial=0.0) if scale is None else scale
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol * scale, err_msg=what)


@st.composite
def mlps(draw):
    """(an MLP of 1 to 4 Linear layers, widths 1 to 6, any activation, float32 or float64; its dtype)."""
    sizes = draw(st.lists(st.integers(1, 6), min_size=2, max_size=5))
    name = draw(st.sampled_from(ACTIVATION_NAMES))
    if name == "elu":
        activation = nn.ELU(alpha=draw(st.floats(0.1, 3.0)))
    elif name == "leaky_relu":
        activation = nn.LeakyReLU(negative_slope=draw(st.floats(0.001, 0.5)))
    else:
        activation = name
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    tg.manual_seed(draw(st.integers(0, 2**16)))
    return nn.MLP(sizes, activation=activation, dtype=dtype), dtype


def inputs(draw, model, dtype):
    """A random batch for ``model``; scale 10 puts Softplus inputs past torch's default threshold 20."""
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    n_in = model.layers[0].in_features
    scale = draw(st.sampled_from([1.0, 10.0]))
    return (scale * rng.standard_normal((draw(st.integers(1, 8)), n_in))).astype(dtype)


# ---------------------------------------------------------------------------------------
# Ours -> torch: same function, same gradients, same names.
# ---------------------------------------------------------------------------------------
@given(st.data())
def test_to_torch_outputs_agree(data):
    model, dtype = data.draw(mlps())
    x = inputs(data.draw, model, dtype)
    theirs = to_torch(model)
    with tg.no_grad():
        ours = model(Tensor(x)).data
    assert_close(ours, theirs(torch.from_numpy(x)).detach().numpy(), dtype, repr(model))


@given(st.data())
def test_to_torch_gradients_of_every_parameter_agree_by_name(data):
    model, dtype = data.draw(mlps())
    x = inputs(data.draw, model, dtype)
    n_out = model.layers[-1].out_features
    target = np.random.default_rng(0).standard_normal((len(x), n_out)).astype(dtype)
    theirs = to_torch(model)
    nn.mse_loss(model(Tensor(x)), target).backward()
    torch.nn.functional.mse_loss(theirs(torch.from_numpy(x)), torch.from_numpy(target)).backward()
    their_grads = {name: p.grad.numpy() for name, p in theirs.named_parameters()}
    assert list(their_grads) == [name for name, _ in model.named_parameters()]
    # Scale: the largest gradient entry of the whole model. A layer behind a saturated tanh or
    # sigmoid has gradients ~1e-8 of the others, made of derivatives like 1 − tanh² that are
    # rounded at the scale of 1; their relative error says nothing about the bridge.
    scale = max(np.abs(g).max() for g in their_grads.values())
    for name, p in model.named_parameters():
        assert_close(as_array(p.grad), their_grads[name], dtype, name, scale=scale)


@given(st.data())
def test_round_trip_through_torch_gives_identical_arrays(data):
    model, dtype = data.draw(mlps())
    back = from_torch(to_torch(model))
    assert type(back) is nn.MLP and repr(back) == repr(model)
    ours, again = model.state_dict(), back.state_dict()
    assert list(again) == list(ours)
    for name in ours:
        assert again[name].dtype == ours[name].dtype, name
        assert np.array_equal(again[name], ours[name]), name


def test_state_dict_keys_are_ours_exactly_for_nested_models():
    model = nn.Sequential(nn.MLP([3, 4, 2]), nn.Tanh(), nn.Linear(2, 2, bias=False),
                          nn.Sequential(nn.Linear(2, 1)))
    keys = list(to_torch(model).state_dict())
    assert keys == list(model.state_dict())
    assert keys == ["0.layers.0.weight", "0.layers.0.bias", "0.layers.2.weight", "0.layers.2.bias",
                    "2.weight", "3.0.weight", "3.0.bias"]


def test_to_torch_of_an_mlp_has_a_layers_attribute_like_ours():
    mlp = nn.MLP([2, 3, 1], activation="leaky_relu")
    theirs = to_torch(mlp)
    assert isinstance(theirs.layers[0], torch.nn.Linear) and theirs.layers[0].weight.shape == (3, 2)
    assert isinstance(theirs.layers[1], torch.nn.LeakyReLU) and theirs.layers[1].negative_slope == 0.01
    assert np.array_equal(theirs.layers[2].bias.detach().numpy(), mlp.layers[2].bias.data)


@pytest.mark.parametrize("ours, theirs", [(np.float64, torch.float64), (np.float32, torch.float32)])
def test_dtype_rule_parameters_keep_their_dtype(ours, theirs):
    assert all(p.dtype == theirs for p in to_torch(nn.MLP([2, 3, 1], dtype=ours)).parameters())


@pytest.mark.parametrize("dtype", [torch.float32, np.float32, "float32"])
def test_dtype_argument_casts_every_parameter(dtype):
    tg.manual_seed(0)
    model = nn.MLP([3, 5, 2], activation="tanh")
    theirs = to_torch(model, dtype=dtype)
    assert all(p.dtype == torch.float32 for p in theirs.parameters())
    x = np.random.default_rng(1).standard_normal((4, 3))
    with tg.no_grad():
        ours = model(Tensor(x)).data
    assert_close(ours, theirs(torch.from_numpy(x).float()).detach().numpy(), np.float32, "float32 copy")


@pytest.mark.parametrize("dtype", [torch.int64, "int32", "no-such-type"])
def test_dtype_argument_must_be_floating(dtype):
    with pytest.raises(TypeError, match=r"to_torch: dtype=.* is not a floating-point type"):
        to_torch(nn.Linear(2, 2), dtype=dtype)


def test_weights_are_copied_not_shared():
    model = nn.Linear(2, 2)
    before = model.weight.data.copy()
    theirs = to_torch(model)
    with torch.no_grad():
        theirs.weight.add_(1.0)
    assert np.array_equal(model.weight.data, before)
    back = from_torch(theirs)
    back.weight.data += 1.0
    assert np.array_equal(theirs.weight.detach().numpy(), before + 1.0)


def test_to_torch_uses_no_torch_random_numbers():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    to_torch(nn.MLP([4, 8, 2]))
    assert torch.equal(torch.rand(3), expected)


# ---------------------------------------------------------------------------------------
# Softplus: why to_torch sets threshold=40.
# ---------------------------------------------------------------------------------------
def softplus_pair(threshold, x):
    """(ours, torch's) Softplus values and slopes at x, in float64."""
    t = Tensor(x.copy(), requires_grad=True)
    y = nn.Softplus()(t)
    y.sum().backward()
    xt = torch.from_numpy(x.copy()).requires_grad_()
    yt = torch.nn.Softplus(beta=1.0, threshold=threshold)(xt)
    yt.sum().backward()
    return (y.data, as_array(t.grad)), (yt.detach().numpy(), xt.grad.numpy())


def test_softplus_maps_to_torch_softplus_with_threshold_40():
    theirs = to_torch(nn.Softplus())
    assert isinstance(theirs, torch.nn.Softplus) and (theirs.beta, theirs.threshold) == (1.0, 40.0)


def test_softplus_with_threshold_40_agrees_in_values_and_slopes_and_exactly_above_it():
    x = np.linspace(-50.0, 60.0, 11001)
    (ours, our_slope), (theirs, their_slope) = softplus_pair(SOFTPLUS_THRESHOLD, x)
    # atol: ours is log(1 + eˣ) without log1p, so for x << 0 it is off by ~1e-16 absolute.
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(our_slope, their_slope, rtol=1e-15)
    above = x > SOFTPLUS_THRESHOLD
    assert np.array_equal(ours[above], theirs[above]) and np.array_equal(our_slope[above], their_slope[above])


def test_softplus_with_torchs_default_threshold_would_differ_past_20():
    x = np.array([20.5, 22.0])  # off by log(1 + e^(−x)): 1.2e-9 and 2.8e-10
    (ours, our_slope), (theirs, their_slope) = softplus_pair(20.0, x)
    assert np.all(np.abs(ours - theirs) / theirs > 1e-12)
    assert np.all(their_slope == 1.0) and np.all(our_slope < 1.0)


# ---------------------------------------------------------------------------------------
# torch -> ours: a model built in PyTorch, with PyTorch's own initialisation.
# ---------------------------------------------------------------------------------------
def hand_built_torch_model(dtype=torch.float64):
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.ELU(alpha=0.7), torch.nn.Linear(8, 8, bias=False),
        torch.nn.Softplus(), torch.nn.Linear(8, 6), torch.nn.LeakyReLU(0.2), torch.nn.Linear(6, 2),
        torch.nn.Sigmoid(),
    ).to(dtype)


def test_from_torch_builds_our_layers_with_torchs_weights():
    theirs = hand_built_torch_model()
    ours = from_torch(theirs)
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
    assert ours[1].alpha == 0.7 and ours[5].negative_slope == 0.2 and ours[2].bias is None
    x = np.random.default_rng(2).standard_normal((5, 3))
    with tg.no_grad():
        out = ours(Tensor(x)).data
    assert_close(out, theirs(torch.from_numpy(x)).detach().numpy(), np.float64, "hand-built model")
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_from_torch_then_to_torch_gives_identical_tensors():
    theirs = hand_built_torch_model(torch.float32)
    again = to_torch(from_torch(theirs))
    assert list(again.state_dict()) == list(theirs.state_dict())
    for name, value in theirs.state_dict().items():
        assert again.state_dict()[name].dtype == torch.float32 and torch.equal(again.state_dict()[name], value), name


def test_from_torch_leaves_our_random_generator_where_it_was():
    tg.manual_seed(3)
    expected = nn.Linear(4, 4).weight.data
    tg.manual_seed(3)
    from_torch(hand_built_torch_model())
    assert np.array_equal(nn.Linear(4, 4).weight.data, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_torch_state_dict_of_a_plain_sequential_loads_into_our_mlp(dtype):
    torch.manual_seed(1)
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
    theirs = theirs.to(torch.float32 if dtype is np.float32 else torch.float64)
    assert all(p.requires_grad for p in theirs.parameters())  # load detaches them itself
    ours = nn.MLP([4, 7, 3], activation="tanh", dtype=dtype)
    load_torch_state_dict(ours, theirs.state_dict())  # keys 0.weight ... for our layers.0.weight ...
    x = np.random.default_rng(3).standard_normal((6, 4)).astype(dtype)
    with tg.no_grad():
        out = ours(Tensor(x)).data
    assert_close(out, theirs(torch.from_numpy(x)).detach().numpy(), dtype, "loaded MLP")


def test_torch_state_dict_loads_into_our_sequential_by_the_same_names():
    theirs = hand_built_torch_model()
    ours = nn.Sequential(nn.Linear(3, 8), nn.ELU(0.7), nn.Linear(8, 8, bias=False), nn.Softplus(),
                         nn.Linear(8, 6), nn.LeakyReLU(0.2), nn.Linear(6, 2), nn.Sigmoid())
    load_torch_state_dict(ours, theirs.state_dict())
    for name, value in ours.state_dict().items():
        assert np.array_equal(value, theirs.state_dict()[name].numpy()), name


# ---------------------------------------------------------------------------------------
# Errors: they name the layer or key, and what is supported or expected.
# ---------------------------------------------------------------------------------------
def test_unsupported_torch_layer_is_named_with_the_supported_ones():
    with pytest.raises(TypeError, match=r"model itself is a torch\.nn\.Conv2d.*Supported: torch\.nn\.Linear"):
        from_torch(torch.nn.Conv2d(1, 1, 3))


def test_unsupported_torch_layer_inside_a_sequential_is_named_with_its_position():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Dropout()))
    with pytest.raises(TypeError, match=r"layer at '1\.1' is a torch\.nn\.Dropout.*Softplus \(beta=1\)"):
        from_torch(model)


@pytest.mark.parametrize("layer, message", [
    (torch.nn.Softplus(beta=2.0), r"Softplus\(beta=2\.0\).*beta=1 only"),
    (torch.nn.Softplus(threshold=5.0), r"Softplus\(threshold=5\.0\).*differs from log\(1 \+ eˣ\) by up to 0\.0067"),
])
def test_torch_softplus_that_is_not_ours_is_refused(layer, message):
    with pytest.raises(ValueError, match=message):
        from_torch(layer)


def test_torch_sequential_with_named_children_is_refused():
    from collections import OrderedDict
    model = torch.nn.Sequential(OrderedDict(hidden=torch.nn.Linear(2, 2), act=torch.nn.ReLU()))
    with pytest.raises(TypeError, match=r"named children \['hidden', 'act'\]"):
        from_torch(model)


def test_mlp_shaped_torch_model_that_does_not_fit_mlp_is_refused():
    from collections import OrderedDict
    inner = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1), torch.nn.Tanh())
    with pytest.raises(TypeError, match=r"one child is named 'layers'.*must alternate Linear, activation"):
        from_torch(torch.nn.Sequential(OrderedDict(layers=inner)))


def test_to_torch_refuses_a_module_it_does_not_know():
    class Scale(nn.Module):
        def forward(self, x):
            return 2 * x

    with pytest.raises(TypeError, match=r"layer at '1' is a Scale.*Supported tinygrad_edu modules: Linear"):
        to_torch(nn.Sequential(nn.Linear(2, 2), Scale()))


def test_wrong_argument_types_are_named():
    with pytest.raises(TypeError, match="to_torch: expected a tinygrad_edu.nn.Module, got Linear"):
        to_torch(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="from_torch: expected a torch.nn.Module, got MLP"):
        from_torch(nn.MLP([2, 1]))


def test_load_torch_state_dict_wants_a_state_dict():
    with pytest.raises(TypeError, match=r"got a torch\.nn\.Module; pass its \.state_dict\(\)"):
        load_torch_state_dict(nn.Linear(3, 2), torch.nn.Linear(3, 2))
    with pytest.raises(TypeError, match="expected a state dict .* got list"):
        load_torch_state_dict(nn.Linear(3, 2), [1, 2])


def test_mismatched_shape_names_the_key_and_loads_nothing():
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1)).double()
    ours = nn.MLP([3, 5, 1])
    before = ours.state_dict()
    with pytest.raises(ValueError, match=r"load_torch_state_dict: .*'layers\.0\.weight' has shape \(5, 3\) in the model but \(4, 3\)"):
        load_torch_state_dict(ours, theirs.state_dict())
    assert all(np.array_equal(v, before[k]) for k, v in ours.state_dict().items())


def test_missing_bias_names_the_key():
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4, bias=False), torch.nn.ReLU(), torch.nn.Linear(4, 1)).double()
    with pytest.raises(KeyError, match=r"load_torch_state_dict: .*missing key\(s\) \['layers\.0\.bias'\]"):
        load_torch_state_dict(nn.MLP([3, 4, 1]), theirs.state_dict())


def test_mismatched_dtype_names_the_key_and_the_fix():
    theirs = torch.nn.Linear(3, 2)  # float32, torch's default
    with pytest.raises(ValueError, match=r"'weight' has dtype float64 in the model but float32.*\.double\(\)"):
        load_torch_state_dict(nn.Linear(3, 2), theirs.state_dict())


def test_bfloat16_is_refused_naming_the_key():
    theirs = torch.nn.Linear(3, 2).to(torch.bfloat16)
    with pytest.raises(TypeError, match=r"'weight' has dtype torch\.bfloat16.*\.float\(\)"):
        load_torch_state_dict(nn.Linear(3, 2), theirs.state_dict())


# ---------------------------------------------------------------------------------------
# torch stays optional.
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda: to_torch(nn.Linear(2, 2)),
    lambda: from_torch(None),
    lambda: load_torch_state_dict(nn.Linear(2, 2), {}),
], ids=["to_torch", "from_torch", "load_torch_state_dict"])
def test_without_torch_each_function_says_pip_install_torch(monkeypatch, call):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    with pytest.raises(ImportError, match="needs PyTorch, which is not installed: pip install torch"):
        call()


def test_importing_the_package_and_the_bridge_does_not_import_torch():
    code = "import sys, tinygrad_edu, tinygrad_edu.torch_bridge; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
