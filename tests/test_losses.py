"""The losses: values against numpy formulas, gradients against gradcheck and closed forms,
stability at extreme logits, dtypes, and the errors students run into."""
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------------------------------
# Hypothesis: batch sizes and widths; gradcheck of every loss.
# ---------------------------------------------------------------------------------------
@given(n=st.integers(1, 6), width=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_mse_gradcheck(n, width, seed):
    rng = np.random.default_rng(seed)
    pred, target = rng.standard_normal((n, width)), rng.standard_normal((n, width))
    assert tg.gradcheck(nn.mse_loss, pred, target, atol=1e-7, rtol=1e-6)  # both inputs


@given(n=st.integers(1, 6), width=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_bce_gradcheck(n, width, seed):
    rng = np.random.default_rng(seed)
    logits, target = 3 * rng.standard_normal((n, width)), rng.uniform(0, 1, (n, width))
    assert tg.gradcheck(nn.binary_cross_entropy_with_logits, logits, target, atol=1e-7, rtol=1e-6)


@given(n=st.integers(1, 6), classes=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_cross_entropy_gradcheck(n, classes, seed):
    rng = np.random.default_rng(seed)
    logits, labels = 3 * rng.standard_normal((n, classes)), rng.integers(0, classes, n)
    assert tg.gradcheck(lambda x: nn.cross_entropy(x, labels), logits, atol=1e-7, rtol=1e-6)


# ---------------------------------------------------------------------------------------
# Values and closed-form gradients.
# ---------------------------------------------------------------------------------------
@given(n=st.integers(1, 8), width=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_mse_value_and_closed_form_gradient(n, width, seed):
    rng = np.random.default_rng(seed)
    yhat, y = rng.standard_normal((n, width)), rng.standard_normal((n, width))
    pred = Tensor(yhat, requires_grad=True)
    loss = nn.mse_loss(pred, y)
    assert loss.shape == ()
    assert loss.item() == pytest.approx(np.mean((yhat - y) ** 2), rel=1e-13)
    loss.backward()
    np.testing.assert_allclose(pred.grad.data, 2 * (yhat - y) / yhat.size, rtol=1e-13, atol=1e-16)


@given(n=st.integers(1, 8), seed=st.integers(0, 2**16))
def test_bce_value_and_closed_form_gradient(n, seed):
    rng = np.random.default_rng(seed)
    x, y = 4 * rng.standard_normal(n), rng.integers(0, 2, n).astype(float)
    logits = Tensor(x, requires_grad=True)
    loss = nn.binary_cross_entropy_with_logits(logits, y)
    p = sigmoid(x)
    assert loss.item() == pytest.approx(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)), rel=1e-10)
    loss.backward()
    np.testing.assert_allclose(logits.grad.data, (p - y) / n, rtol=1e-12, atol=1e-16)


@given(n=st.integers(1, 8), classes=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_cross_entropy_value_and_closed_form_gradient(n, classes, seed):
    rng = np.random.default_rng(seed)
    x, labels = 3 * rng.standard_normal((n, classes)), rng.integers(0, classes, n)
    logits = Tensor(x, requires_grad=True)
    loss = nn.cross_entropy(logits, labels)
    p = softmax(x)
    assert loss.item() == pytest.approx(-np.mean(np.log(p[np.arange(n), labels])), rel=1e-12, abs=1e-15)
    loss.backward()
    onehot = np.eye(classes)[labels]
    np.testing.assert_allclose(logits.grad.data, (p - onehot) / n, rtol=1e-12, atol=1e-16)


def test_cross_entropy_repeated_labels_accumulate_nothing_wrong():
    # all rows pick class 0: the integer-array index repeats the column, not the element
    x = np.array([[1.0, 2.0], [3.0, -1.0], [0.0, 0.0]])
    logits = Tensor(x, requires_grad=True)
    nn.cross_entropy(logits, [0, 0, 0]).backward()
    np.testing.assert_allclose(logits.grad.data, (softmax(x) - [1, 0]) / 3, rtol=1e-13)


@pytest.mark.parametrize("labels", [np.array([2, 0]), [2, 0], (2, 0), np.array([2, 0], np.uint8),
                                    Tensor(np.array([2, 0]), dtype=np.int64)])
def test_cross_entropy_label_containers(labels):
    x = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, -1.0]])
    expected = -np.mean(np.log(softmax(x)[[0, 1], [2, 0]]))
    assert nn.cross_entropy(Tensor(x), labels).item() == pytest.approx(expected, rel=1e-13)


# ---------------------------------------------------------------------------------------
# Stability at extreme logits: finite values and gradients, no numpy warning.
# ---------------------------------------------------------------------------------------
def test_bce_is_stable_at_extreme_logits():
    x = np.array([1000.0, -1000.0, 1000.0, -1000.0])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    logits = Tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise"):  # underflow to 0 is fine
            loss = nn.binary_cross_entropy_with_logits(logits, y)
            loss.backward()
    # right with certainty costs 0; wrong with certainty costs |x| = 1000
    assert loss.item() == pytest.approx((0 + 0 + 1000 + 1000) / 4)
    np.testing.assert_allclose(logits.grad.data, (np.array([1.0, 0.0, 1.0, 0.0]) - y) / 4)


def test_cross_entropy_is_stable_at_extreme_logits():
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 1000.0]])
    logits = Tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise"):  # underflow to 0 is fine
            loss = nn.cross_entropy(logits, [1, 2])
            loss.backward()
    # row 0: log p(class 1) = −2000; row 1: two equal maxima, log p = log ½
    assert loss.item() == pytest.approx((2000 + np.log(2)) / 2)
    np.testing.assert_allclose(logits.grad.data, ([[1, -1, 0], [0, 0.5, -0.5]]) / np.array(2.0), atol=1e-15)


def test_mse_with_tensor_targets_differentiates_both():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([0.0, 4.0], requires_grad=True)
    nn.mse_loss(a, b).backward()
    np.testing.assert_allclose(a.grad.data, [1.0, -2.0])
    np.testing.assert_allclose(b.grad.data, [-1.0, 2.0])


# ---------------------------------------------------------------------------------------
# dtypes: a float32 model's loss stays float32, even with float64 numpy targets.
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("loss, target", [
    (nn.mse_loss, np.array([[0.5], [1.5]])),
    (nn.binary_cross_entropy_with_logits, np.array([[0.0], [1.0]])),
])
def test_float32_logits_with_float64_targets_stay_float32(loss, target):
    x = Tensor(np.array([[0.3], [-0.2]], np.float32), requires_grad=True)
    out = loss(x, target)
    out.backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32


def test_float32_cross_entropy_stays_float32():
    x = Tensor(np.array([[0.3, 1.0], [-0.2, 0.0]], np.float32), requires_grad=True)
    out = nn.cross_entropy(x, np.array([1, 0]))
    out.backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32


# ---------------------------------------------------------------------------------------
# Errors.
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("loss", [nn.mse_loss, nn.binary_cross_entropy_with_logits])
def test_target_shape_must_match(loss):
    pred = Tensor(np.zeros((4, 1)), requires_grad=True)
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(4,\)"):
        loss(pred, np.zeros(4))  # would silently broadcast to (4, 4)


def test_cross_entropy_label_out_of_range():
    with pytest.raises(ValueError, match="label 3 is out of range for 3 classes"):
        nn.cross_entropy(Tensor(np.zeros((2, 3))), [0, 3])
    with pytest.raises(ValueError, match="label -1"):
        nn.cross_entropy(Tensor(np.zeros((2, 3))), [-1, 0])


def test_cross_entropy_batch_size_mismatch():
    with pytest.raises(ValueError, match="3 labels"):
        nn.cross_entropy(Tensor(np.zeros((3, 2))), [0, 1])
    with pytest.raises(ValueError, match="labels of shape"):
        nn.cross_entropy(Tensor(np.zeros((2, 2))), [[0, 1]])


@pytest.mark.parametrize("labels", [np.array([0.0, 1.0]), Tensor([0, 1]), [0.5, 1.0]])
def test_cross_entropy_refuses_float_labels(labels):
    with pytest.raises(TypeError, match="integer class indices"):
        nn.cross_entropy(Tensor(np.zeros((2, 2))), labels)


def test_cross_entropy_needs_2d_logits():
    with pytest.raises(ValueError, match=r"\(batch, classes\)"):
        nn.cross_entropy(Tensor(np.zeros(3)), [0])
