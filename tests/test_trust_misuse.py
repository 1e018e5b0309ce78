"""Misuse is caught, not silently accepted (issue 11, family 4).

gradcheck fails, saying where, on a nan or inf in either gradient; a boolean mask selects
(with its gradient) as in numpy and PyTorch, a float index is refused; ``where`` wants a
boolean condition; dtypes and ``requires_grad`` are checked; and a tensor that a recorded
op saved for its backward rule and that was changed in place since (an optimiser step,
``load_state_dict``) makes ``backward()`` raise, naming the tensor and the op, instead of
returning wrong gradients. Writing into ``.data`` directly bypasses that check, as in
PyTorch: the last test shows it.
"""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn, ops, optim


# ---------------------------------------------------------------------------------------
# gradcheck: a nan or inf in either gradient is a failure that says where.
# ---------------------------------------------------------------------------------------
class TwiceTooSteep(ops.Op):
    """z = x² with a backward rule that is 2× wrong (4x instead of 2x)."""

    def forward(self, x):
        return x * x

    def backward(self, g, z, x):
        return (g * x * 4.0,)


def test_a_wrong_rule_fails_even_when_another_elements_numeric_derivative_is_nan():
    # element 0: √x at 0 has an infinite slope (its central difference is nan, as √(0 − ε)
    # is); element 1 is simply wrong. It used to pass, the nan hiding the error.
    f = lambda x: TwiceTooSteep.apply(x) + x.sqrt()  # noqa: E731
    with pytest.raises(tg.GradcheckError, match=r"input 0 .*not finite at element \(0,\)"), np.errstate(all="ignore"):
        tg.gradcheck(f, np.array([0.0, 2.0]))
    with pytest.raises(tg.GradcheckError, match=r"wrong at element \(0,\)"):  # the same rule, all finite
        tg.gradcheck(lambda x: TwiceTooSteep.apply(x), np.array([2.0]))


@settings(max_examples=150)
@given(data=st.data())
def test_gradcheck_names_the_first_element_where_a_gradient_is_not_finite(data):
    """f is finite at 0, its slope is not: √x and (x²)^¼ at 0 (the central difference is nan or the rule inf)."""
    n = data.draw(st.integers(1, 6))
    x = data.draw(hnp.arrays(np.float64, n, elements=st.floats(0.5, 3.0)))
    bad = sorted(data.draw(st.sets(st.integers(0, n - 1), min_size=1)))
    x[bad] = 0.0
    fname = data.draw(st.sampled_from(["sqrt", "pow_0.25", "sqrt_of_square_plus"]))
    f = {"sqrt": lambda t: t.sqrt(), "pow_0.25": lambda t: (t * t) ** 0.25 * 2.0,
         "sqrt_of_square_plus": lambda t: t.sqrt() + t * t}[fname]
    with pytest.raises(tg.GradcheckError) as info, np.errstate(all="ignore"):
        tg.gradcheck(f, x)
    message = str(info.value)
    assert f"input 0 (shape ({n},)) is not finite at element ({bad[0]},)" in message, message
    assert f"({len(bad)} of {n} element(s) are not finite)" in message, message


@settings(max_examples=100)
@given(data=st.data())
def test_gradcheck_names_the_output_element_where_f_itself_is_not_finite(data):
    n = data.draw(st.integers(1, 6))
    x = data.draw(hnp.arrays(np.float64, n, elements=st.floats(0.5, 3.0)))
    k = data.draw(st.integers(0, n - 1))
    fname, pole = data.draw(st.sampled_from([("log", 0.0), ("reciprocal", 0.0), ("log_of_negative", -1.0)]))
    x[k] = pole
    f = {"log": lambda t: t.log(), "reciprocal": lambda t: 1.0 / t, "log_of_negative": lambda t: t.log()}[fname]
    with pytest.raises(tg.GradcheckError, match=rf"f\(x\) is not finite at output element \({k},\)"), \
            np.errstate(all="ignore"):
        tg.gradcheck(f, x)


def test_gradcheck_of_a_view_of_its_input():
    """f may return a view of x's array (reshape, transpose, indexing): the central difference
    must not see x's next perturbation through it."""
    x = np.arange(6.0).reshape(2, 3)
    for f in (lambda t: t.reshape(-1), lambda t: t.T, lambda t: t[0], lambda t: t[:, 1:]):
        assert tg.gradcheck(f, x)
    with pytest.raises(tg.GradcheckError, match="wrong at element"):
        tg.gradcheck(lambda t: TwiceTooSteep.apply(t).reshape(-1), x + 1.0)


@settings(max_examples=100)
@given(x=hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=4), elements=st.floats(0.5, 3.0)))
def test_gradcheck_still_passes_where_everything_is_finite(x):
    assert tg.gradcheck(lambda t: t.log() * t.sqrt() + 1.0 / t, x)


# ---------------------------------------------------------------------------------------
# Indexing: boolean masks select (numpy's and PyTorch's meaning), floats are refused.
# ---------------------------------------------------------------------------------------
@settings(max_examples=150)
@given(data=st.data())
def test_a_boolean_mask_selects_and_its_gradient_goes_back_to_the_selected_elements(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    a = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-5, 5)))
    leading = data.draw(st.integers(1, len(shape)))  # a mask over the first few axes
    mask = data.draw(hnp.arrays(np.bool_, shape[:leading]))
    x = Tensor(a, requires_grad=True)
    as_tensor = data.draw(st.sampled_from(["array", "tensor", "comparison"]))
    idx = {"array": mask, "tensor": Tensor(mask, dtype=bool),
           "comparison": Tensor(mask.astype(np.float64)) > 0.5}[as_tensor]
    y = x[idx]
    np.testing.assert_array_equal(y.data, a[mask])
    g = np.random.default_rng(0).standard_normal(y.shape)
    y.backward(g)
    expected = np.zeros_like(a)
    expected[mask] = g
    np.testing.assert_array_equal(x.grad.data, expected)


def test_a_comparison_of_the_tensor_itself_selects_like_numpy():
    t = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = t[t > 1.5]
    assert y.tolist() == [2.0, 3.0]
    (y * Tensor([2.0, 3.0])).sum().backward()
    assert t.grad.tolist() == [0.0, 2.0, 3.0]
    m = Tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    rows = m.sum(axis=1) > 10  # rows 1 and 2
    m[rows, 1:3].sum().backward()
    assert m.grad.tolist() == [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0]]


def test_float_indices_are_refused_and_the_message_says_how_to_make_a_mask():
    t = Tensor([1.0, 2.0, 3.0])
    with pytest.raises(IndexError, match=r"float indices.*dtype=np.int64.*t > 0.*dtype=bool"):
        t[Tensor([True, False, True])]  # stored as float64, as the constructor says
    with pytest.raises(IndexError, match="float indices"):
        t[np.array([0.0, 1.0])]
    assert t[Tensor([True, False, True], dtype=bool)].tolist() == [1.0, 3.0]
    assert t[Tensor([2, 0], dtype=np.int64)].tolist() == [3.0, 1.0]


def test_a_mask_of_the_wrong_length_is_an_error_naming_both_shapes():
    t = Tensor([1.0, 2.0, 3.0])
    with pytest.raises(IndexError, match=r"indexing: .*does not fit a tensor of shape \(3,\)"):
        t[np.array([True, False])]


# ---------------------------------------------------------------------------------------
# Arguments that used to mean something else: refused with a clear error.
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("cond", [None, 1.0, 0, [True, False], np.array([1.0, 0.0]),
                                  Tensor([1.0, 0.0]), "yes"])
def test_where_refuses_a_condition_that_is_not_boolean(cond):
    with pytest.raises(TypeError, match=r"where\(cond, x, y\): cond must be a boolean"):
        tg.where(cond, Tensor([1.0, 2.0]), 0.0)


def test_where_takes_boolean_tensors_and_arrays():
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert tg.where(np.array([True, False]), x, 0.0).tolist() == [1.0, 0.0]
    assert tg.where(x > 1.5, x, -1.0).tolist() == [-1.0, 2.0]
    assert tg.where(np.True_, x, 0.0).tolist() == [1.0, 2.0]


@pytest.mark.parametrize("dtype", [str, "abc", object, np.complex128, "U3", dict])
def test_tensor_refuses_a_dtype_that_is_not_a_number_type(dtype):
    with pytest.raises(TypeError, match=r"Tensor\(\): dtype must be a numpy float, integer or bool type"):
        Tensor([1.0, 2.0], dtype=dtype)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, bool, "int8", np.uint8, str, "abc"])
def test_linear_refuses_a_dtype_that_is_not_float(dtype):
    with pytest.raises(TypeError, match=r"Linear: dtype must be a float type .*got "):
        nn.Linear(2, 2, dtype=dtype)
    with pytest.raises(TypeError, match="Linear: dtype"):
        nn.MLP([2, 3, 1], dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, "float32"])
def test_linear_in_a_float_dtype_is_that_dtype_with_random_weights(dtype):
    layer = nn.Linear(3, 2, dtype=dtype)
    assert layer.weight.dtype == np.dtype(dtype) and layer.bias.dtype == np.dtype(dtype)
    assert np.all(layer.weight.data != 0) and np.all(np.abs(layer.weight.data) <= 1 / np.sqrt(3))


@pytest.mark.parametrize("flag", ["no", "yes", 1, 0, None, 1.0, [True]])
def test_requires_grad_must_be_a_bool(flag):
    with pytest.raises(TypeError, match=r"Tensor\(\): requires_grad must be True or False, got"):
        Tensor([1.0], requires_grad=flag)


@pytest.mark.parametrize("flag", [True, False, np.True_, np.False_])
def test_requires_grad_accepts_python_and_numpy_bools(flag):
    assert Tensor([1.0], requires_grad=flag).requires_grad is bool(flag)


# ---------------------------------------------------------------------------------------
# Version counters: a saved tensor changed in place since makes backward() raise.
# ---------------------------------------------------------------------------------------
def forward(model):
    return nn.mse_loss(model(np.ones((4, 2))), np.zeros((4, 1)))


@pytest.mark.parametrize("make_optimiser", [lambda ps: optim.SGD(ps, lr=0.1), lambda ps: optim.Adam(ps, lr=0.1),
                                            lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9)])
def test_an_optimiser_step_between_forward_and_backward_is_refused(make_optimiser):
    tg.manual_seed(0)
    model = nn.MLP([2, 3, 1])
    opt = make_optimiser(model.parameters())
    first = forward(model)
    second = forward(model)  # recorded before the step: its saved weights go stale
    first.backward()
    opt.step()
    with pytest.raises(RuntimeError, match=r"'weight' of shape \(\d, \d\) \(seen through its transpose view\) "
                                           r"was modified in place \(version 0 -> 1\) after op 'matmul' "
                                           r"\(inside MLP > Sequential > Linear\)"):
        second.backward()
    forward(model).backward()  # a fresh forward pass is fine


def test_load_state_dict_between_forward_and_backward_is_refused():
    model = nn.MLP([2, 3, 1])
    loss = forward(model)
    model.load_state_dict(model.state_dict())  # the same numbers, but written in place
    with pytest.raises(RuntimeError, match=r"modified in place \(version 0 -> 1\).*load_state_dict"):
        loss.backward()


def test_tg_grad_refuses_a_stale_graph_too():
    w = Tensor([1.0, 2.0], requires_grad=True, label="w")
    opt = optim.SGD([w], lr=0.1)
    w.grad = Tensor([1.0, 1.0])
    g = tg.grad(lambda x: (x * w).sum())
    g(np.ones(2))

    def stale(x):
        y = (x * w).sum()
        opt.step()  # w changes after x * w saved it
        return y

    with pytest.raises(RuntimeError, match=r"'w' of shape \(2,\) was modified in place .* op 'mul'"):
        tg.grad(stale)(np.ones(2))


def test_views_share_their_base_counter():
    w = Tensor(np.ones((2, 3)), requires_grad=True)
    views = [w.T, w.reshape(6), w.reshape(3, 2).T, w[0], w.expand(2, 2, 3)]
    w.grad = Tensor(np.ones((2, 3)))
    optim.SGD([w], lr=0.1).step()
    assert w.version == 1 and [v.version for v in views] == [1] * len(views)
    assert w.detach().version == 0  # a detached tensor is not a view in the graph: a counter of its own


def test_ops_that_do_not_save_their_inputs_do_not_care():
    w = Tensor([1.0, 2.0], requires_grad=True)
    y = (w + 1.0).sum()  # add's rule needs no values
    w.grad = Tensor([1.0, 1.0])
    optim.SGD([w], lr=0.1).step()
    w.grad = None
    y.backward()
    assert w.grad.tolist() == [1.0, 1.0]


def test_writing_into_data_directly_bypasses_the_check_as_in_pytorch():
    """Documented: the engine counts its own in-place updates only. x * w saved w; writing
    w.data by hand is not seen, so the gradient uses the new values (here: w·2 → 0)."""
    x = Tensor([3.0, 4.0], requires_grad=True)
    w = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * w).sum()
    w.data[:] = 0.0  # bypasses the counter
    assert w.version == 0
    y.backward()
    assert x.grad.tolist() == [0.0, 0.0]  # ∂y/∂x = w, read now: silently the new values


def test_the_message_names_a_labelled_tensor_and_the_op():
    w = Tensor([1.0, 2.0], requires_grad=True, label="scale")
    y = (w * w).sum()
    w.version += 1
    with pytest.raises(RuntimeError, match=re.escape("backward(): 'scale' of shape (2,) was modified in place "
                                                     "(version 0 -> 1) after op 'mul' saved it")):
        y.backward()
