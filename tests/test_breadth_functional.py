"""jacobian, hessian, hvp, jvp against torch.autograd.functional and closed forms; a
user-defined primitive through the public API, checked by gradcheck_op."""
import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor

torch = pytest.importorskip("torch")
AF = torch.autograd.functional

FUNCTIONS = {  # name: (ours, torch's), from R^(3,) or R^(2, 2)
    "sin_times_x": (lambda x: x.sin() * x, lambda x: x.sin() * x),
    "softmax": (lambda x: x.softmax(), lambda x: x.softmax(-1)),
    "matrix": (lambda x: tg.einsum("ij,jk->ik", x, x).tanh(), lambda x: torch.einsum("ij,jk->ik", x, x).tanh()),
}
SCALARS = {
    "cubic": (lambda x: (x ** 3).sum() * x.prod(), lambda x: (x ** 3).sum() * x.prod()),
    "logsumexp": (lambda x: x.logsumexp() + x.arctan().sum(), lambda x: x.logsumexp(tuple(range(x.ndim))) + x.atan().sum()),
}


def point(name, rng):
    return rng.uniform(0.3, 1.2, (2, 2) if name == "matrix" else (3,))


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_jacobian_and_jvp_match_torch(name, rng):
    ours, theirs = FUNCTIONS[name]
    x, v = point(name, rng), None
    v = rng.standard_normal(x.shape)
    np.testing.assert_allclose(tg.jacobian(ours, x).data, AF.jacobian(theirs, torch.from_numpy(x)).numpy(), rtol=1e-12, atol=1e-14)
    value, jv = tg.jvp(ours, x, v)
    tvalue, tjv = AF.jvp(theirs, torch.from_numpy(x), torch.from_numpy(v))
    np.testing.assert_allclose(value.data, tvalue.numpy(), rtol=1e-13)
    np.testing.assert_allclose(jv.data, tjv.numpy(), rtol=1e-12, atol=1e-14)
    assert not jv.requires_grad and not value.requires_grad


@pytest.mark.parametrize("name", sorted(SCALARS))
def test_hessian_and_hvp_match_torch(name, rng):
    ours, theirs = SCALARS[name]
    x, v = rng.uniform(0.3, 1.2, 3), rng.standard_normal(3)
    h = tg.hessian(ours, x)
    np.testing.assert_allclose(h.data, AF.hessian(theirs, torch.from_numpy(x)).numpy(), rtol=1e-12)
    assert not h.requires_grad
    value, hv = tg.hvp(ours, x, v)
    tvalue, thv = AF.hvp(theirs, torch.from_numpy(x), torch.from_numpy(v))
    assert value.item() == pytest.approx(tvalue.item(), rel=1e-14)
    np.testing.assert_allclose(hv.data, thv.numpy(), rtol=1e-12)
    np.testing.assert_allclose(hv.data, h.data @ v, rtol=1e-12)


def test_closed_forms_and_edge_cases():
    x = np.array([1.0, 2.0])
    assert tg.jacobian(lambda t: t * 3.0, x).tolist() == [[3.0, 0.0], [0.0, 3.0]]
    assert tg.hessian(lambda t: (t ** 3).sum(), x).tolist() == [[6.0, 0.0], [0.0, 12.0]]
    assert tg.jvp(lambda t: t * 0.0 + 5.0, x, [1.0, 1.0])[1].tolist() == [0.0, 0.0]  # J = 0
    assert tg.jacobian(lambda t: Tensor([1.0, 2.0, 3.0]), x).shape == (3, 2)  # f ignores x: zeros
    assert tg.jvp(lambda t: t.sum() * 2.0, x, [1.0, -3.0])[1].item() == -4.0  # linear f: J v exactly
    # nesting: the jacobian of a jacobian is the tensor of second derivatives
    third = tg.jacobian(lambda t: tg.jacobian(lambda s: s ** 3, t, create_graph=True), x)
    assert third.shape == (2, 2, 2) and third.data[1, 1, 1] == 12.0 and third.data[0, 1, 1] == 0.0


def test_errors():
    with pytest.raises(ValueError, match=r"hvp: v has shape \(3,\) but x has shape \(2,\)"):
        tg.hvp(lambda t: t.sum(), [1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"jvp: v has shape \(1,\) but x has shape \(2,\)"):
        tg.jvp(lambda t: t, [1.0, 2.0], [1.0])
    with pytest.raises(TypeError, match=r"jacobian: the function must return a Tensor, got float"):
        tg.jacobian(lambda t: 1.0, [1.0])


# ---------------------------------------------------------------------------------------
# User-defined primitives.
# ---------------------------------------------------------------------------------------
class Cube(tg.Op):
    def forward(self, x):
        return x ** 3

    def backward(self, g, z, x):  # ∂z/∂x = 3x²
        return (g * 3.0 * x * x,)


class Scaled(tg.Op):
    """An op with a parameter, two inputs and one that may not require grad."""

    def forward(self, x, y, k):
        self.k = k
        return k * x * y

    def backward(self, g, z, x, y):  # ∂z/∂x = k·y, ∂z/∂y = k·x
        return (g * self.k * y if x.requires_grad else None, g * self.k * x if y.requires_grad else None)


def test_a_user_defined_primitive_records_itself_and_passes_gradcheck_op(rng):
    t = Tensor([1.0, -2.0], requires_grad=True)
    y = Cube.apply(t)
    assert isinstance(y.op, Cube) and y.op.parents == (t,)
    y.sum().backward()
    assert t.grad.tolist() == [3.0, 12.0]
    assert tg.gradcheck_op(Cube, rng.standard_normal(4))
    assert tg.gradcheck_op(Scaled, rng.standard_normal((2, 3)), rng.standard_normal(3), k=1.5)


def test_gradcheck_op_catches_a_wrong_rule_a_malformed_one_and_one_that_is_not_differentiable(rng):
    class WrongCube(Cube):
        def backward(self, g, z, x):
            return (g * 3.0 * x,)

    class TwoGrads(Cube):
        def backward(self, g, z, x):
            return (g, g)

    class NumpyRule(Cube):
        def backward(self, g, z, x):
            return (g * Tensor(3.0 * x.data ** 2),)  # right values, but a constant: no second derivative

    class ArrayRule(Cube):
        def backward(self, g, z, x):
            return (g.data * 3.0,)

    x = rng.uniform(0.5, 1.5, 3)
    with pytest.raises(tg.GradcheckError, match="gradcheck: the gradient for input 0"):
        tg.gradcheck_op(WrongCube, x)
    with pytest.raises(TypeError, match=r"TwoGrads.backward must return a tuple with one entry per input \(1\), got tuple of length 2"):
        tg.gradcheck_op(TwoGrads, x)
    with pytest.raises(TypeError, match=r"ArrayRule.backward returned a ndarray for input 0; backward rules are math on Tensors"):
        tg.gradcheck_op(ArrayRule, x)
    assert tg.gradcheck_op(NumpyRule, x, second_order=False)
    with pytest.raises(tg.GradcheckError):
        tg.gradcheck_op(NumpyRule, x)
    with pytest.raises(TypeError, match=r"gradcheck_op: expected a subclass of tg.Op .*, got function <lambda>"):
        tg.gradcheck_op(lambda t: t, x)
