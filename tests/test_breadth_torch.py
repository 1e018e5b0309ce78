"""Issue 14's operations against PyTorch 2.13: values and gradients, float32 and float64,
ordinary and special values (±inf, nan, 0, the edges of each domain).

Each case runs the same function on our Tensor and on a torch tensor and compares the
outputs and the gradients of (v · output).sum() for a random v. Runs where torch is
installed (CI installs it).
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu import Tensor  # noqa: E402

TOL = {np.float32: dict(rtol=2e-6, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}
DTYPES = [np.float32, np.float64]

SPECIAL = np.array([-np.inf, -1000.0, -3.0, -1.0, -0.5, -1e-8, -0.0, 0.0, 1e-8, 0.5, 1.0, 3.0, 1000.0, np.inf, np.nan])

UNARY = {  # name: (ours, torch's)
    "sin": (Tensor.sin, torch.sin), "cos": (Tensor.cos, torch.cos), "tan": (Tensor.tan, torch.tan),
    "arcsin": (Tensor.arcsin, torch.asin), "arccos": (Tensor.arccos, torch.acos),
    "arctan": (Tensor.arctan, torch.atan), "sinh": (Tensor.sinh, torch.sinh), "cosh": (Tensor.cosh, torch.cosh),
    "arcsinh": (Tensor.arcsinh, torch.asinh), "arccosh": (Tensor.arccosh, torch.acosh),
    "arctanh": (Tensor.arctanh, torch.atanh), "log1p": (Tensor.log1p, torch.log1p),
    "expm1": (Tensor.expm1, torch.expm1), "square": (Tensor.square, torch.square),
    "reciprocal": (Tensor.reciprocal, torch.reciprocal), "exp2": (Tensor.exp2, torch.exp2),
    "log2": (Tensor.log2, torch.log2), "log10": (Tensor.log10, torch.log10),
    "sign": (Tensor.sign, torch.sign), "floor": (Tensor.floor, torch.floor),
    "ceil": (Tensor.ceil, torch.ceil), "round": (Tensor.round, torch.round),
}


def run_both(ours, theirs, arrays, dtype, v_seed=0):
    """(our output, our grads, torch output, torch grads) of f on the arrays, in dtype."""
    arrays = [np.asarray(a, dtype=dtype) for a in arrays]
    xs = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    out, tout = ours(*xs), theirs(*ts)
    v = np.random.default_rng(v_seed).standard_normal(out.shape).astype(dtype)
    with np.errstate(all="ignore"):
        (out * v).sum().backward()
    (tout * torch.from_numpy(v)).sum().backward()
    zero = lambda a: np.zeros_like(a)  # noqa: E731
    return (out.data, [x.grad.data if x.grad is not None else zero(x.data) for x in xs],
            tout.detach().numpy(), [t.grad.numpy() if t.grad is not None else zero(a) for t, a in zip(ts, arrays)])


def assert_same(ours, theirs, dtype, what):
    assert ours.dtype == theirs.dtype, f"{what}: dtype {ours.dtype} vs torch's {theirs.dtype}"
    np.testing.assert_allclose(ours, theirs, equal_nan=True, err_msg=what, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_and_gradients_at_ordinary_and_special_values(name, dtype):
    ours, theirs = UNARY[name]
    with np.errstate(all="ignore"):
        x = np.concatenate([SPECIAL, np.linspace(-0.95, 0.95, 7), np.linspace(1.05, 4.0, 4)])
        out, grads, tout, tgrads = run_both(ours, theirs, [x], dtype)
    if name == "sign":  # the one deliberate difference: a nan stays nan (numpy), PyTorch gives 0
        assert np.isnan(out[np.isnan(x)]).all() and (tout[np.isnan(x)] == 0).all()
        out, tout = out[~np.isnan(x)], tout[~np.isnan(x)]
    assert_same(out, tout, dtype, f"{name} value")
    assert_same(grads[0], tgrads[0], dtype, f"{name} gradient")


BINARY = {
    "arctan2": (Tensor.arctan2, torch.atan2), "hypot": (Tensor.hypot, torch.hypot),
    "logaddexp": (Tensor.logaddexp, torch.logaddexp),
    "remainder": (lambda a, b: a % b, lambda a, b: torch.remainder(a, b)),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_ops_broadcast_like_torch(name, dtype, rng):
    ours, theirs = BINARY[name]
    a, b = rng.uniform(-3, 3, (3, 1, 4)), rng.uniform(0.5, 2.0, (2, 1)) * rng.choice([-1, 1], (2, 1))
    out, grads, tout, tgrads = run_both(ours, theirs, [a, b], dtype)
    assert_same(out, tout, dtype, f"{name} value")
    for g, tg_ in zip(grads, tgrads):
        assert_same(g, tg_, dtype, f"{name} gradient")


@pytest.mark.parametrize("name", ["logaddexp", "hypot", "arctan2"])
def test_binary_ops_at_special_values(name):
    ours, theirs = BINARY[name]
    grid = np.array([-np.inf, -1000.0, -1.0, 0.0, 2.0, 1000.0, np.inf])
    a, b = np.meshgrid(grid, grid)
    with np.errstate(all="ignore"):
        out, grads, tout, tgrads = run_both(ours, theirs, [a, b], np.float64)
    assert_same(out, tout, np.float64, f"{name} value")
    if name == "logaddexp":  # gradients wherever PyTorch's are numbers (at x = y = ±inf ours are ½, torch's nan)
        for g, tg_ in zip(grads, tgrads):
            finite = np.isfinite(tg_)
            assert_same(g[finite], tg_[finite], np.float64, "logaddexp gradient")
            assert np.isfinite(g[~finite]).all()  # v·½ at the ties x = y = ±inf


REDUCTIONS = {  # name: (ours, torch's), applied to a (3, 4, 2) tensor
    "prod_all": (lambda x: x.prod(), lambda t: t.prod()),
    "prod_axis": (lambda x: x.prod(axis=1), lambda t: t.prod(dim=1)),
    "prod_keep": (lambda x: x.prod(axis=-1, keepdims=True), lambda t: t.prod(dim=-1, keepdim=True)),
    "var": (lambda x: x.var(axis=(0, 2)), lambda t: t.var(dim=(0, 2))),
    "var_c0": (lambda x: x.var(correction=0), lambda t: t.var(correction=0)),
    "std_keep": (lambda x: x.std(axis=1, keepdims=True), lambda t: t.std(dim=1, keepdim=True)),
    "cumsum": (lambda x: x.cumsum(axis=1), lambda t: t.cumsum(dim=1)),
    "logsumexp_axes": (lambda x: x.logsumexp(axis=(0, 2)), lambda t: t.logsumexp(dim=(0, 2))),
}


CASES = [(name, 0) for name in sorted(REDUCTIONS)] + [(name, z) for name in sorted(REDUCTIONS)
                                                       if name.startswith("prod") for z in (1, 2)]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name, zeros", CASES, ids=[f"{n}-{z}zeros" for n, z in CASES])
def test_reductions_match_torch(name, zeros, dtype, rng):
    """prod also with one and with two zeros in one slice (and so in the whole tensor)."""
    x = rng.uniform(0.5, 1.5, (3, 4, 2)) * rng.choice([-1, 1], (3, 4, 2))
    x[0, :zeros, 0] = 0.0
    out, grads, tout, tgrads = run_both(*REDUCTIONS[name], [x], dtype)
    assert_same(out, tout, dtype, f"{name} value")
    assert_same(grads[0], tgrads[0], dtype, f"{name} gradient")


def test_argmax_argmin_any_all_match_torch(rng):
    x = rng.integers(0, 3, (4, 5)).astype(np.float64)  # many ties: the first index wins in both
    t = torch.from_numpy(x)
    X = Tensor(x, requires_grad=True)
    assert X.argmax(axis=1).tolist() == t.argmax(dim=1).tolist()
    assert X.argmin(axis=0, keepdims=True).tolist() == t.argmin(dim=0, keepdim=True).tolist()
    assert X.argmax().item() == t.argmax().item()
    assert X.any(axis=1).tolist() == t.any(dim=1).tolist() and X.all().item() == t.all().item()
    assert X.argmax().dtype == np.int64 and not X.argmax().requires_grad and not X.any().requires_grad


LAYOUT = {  # name: (ours, torch's), applied to a (2, 3, 4) tensor
    "stack": (lambda x: tg.stack([x, x * 2], axis=2), lambda t: torch.stack([t, t * 2], dim=2)),
    "cat": (lambda x: tg.cat([x, x[:, :1]], axis=1), lambda t: torch.cat([t, t[:, :1]], dim=1)),
    "split": (lambda x: x.split([1, 3], axis=2)[1], lambda t: t.split([1, 3], dim=2)[1]),
    "chunk": (lambda x: x.chunk(3, axis=2)[-1], lambda t: t.chunk(3, dim=2)[-1]),
    "squeeze": (lambda x: x[:, :1].squeeze(1), lambda t: t[:, :1].squeeze(1)),
    "unsqueeze": (lambda x: x.unsqueeze(-1), lambda t: t.unsqueeze(-1)),
    "permute": (lambda x: x.permute(2, 0, 1), lambda t: t.permute(2, 0, 1)),
    "swapaxes": (lambda x: x.swapaxes(0, 2), lambda t: t.swapaxes(0, 2)),
    "moveaxis": (lambda x: x.moveaxis(0, -1), lambda t: t.moveaxis(0, -1)),
    "flip": (lambda x: x.flip((0, 2)), lambda t: t.flip((0, 2))),
    "roll": (lambda x: x.roll((1, -2), axis=(1, 2)), lambda t: t.roll((1, -2), dims=(1, 2))),
    "roll_flat": (lambda x: x.roll(5), lambda t: t.roll(5)),
    "repeat": (lambda x: x.repeat(2, 1, 3), lambda t: t.repeat(2, 1, 3)),
    "tile": (lambda x: x.tile((2, 1)), lambda t: t.tile((2, 1))),
    "repeat_interleave": (lambda x: x.repeat_interleave(3, axis=1), lambda t: t.repeat_interleave(3, dim=1)),
    "pad": (lambda x: x.pad(((0, 0), (1, 2), (3, 0)), value=0.5),
            lambda t: torch.nn.functional.pad(t, (3, 0, 1, 2), value=0.5)),
    "diagonal": (lambda x: x.diagonal(1, 1, 2), lambda t: t.diagonal(1, 1, 2)),
    "trace": (lambda x: x[0].trace(), lambda t: t[0].trace()),
    "triu": (lambda x: x.triu(1), lambda t: t.triu(1)),
    "tril": (lambda x: x.tril(-1), lambda t: t.tril(-1)),
    "einsum": (lambda x: tg.einsum("bij,bkj->bik", x, x), lambda t: torch.einsum("bij,bkj->bik", t, t)),
    "einsum_trace": (lambda x: tg.einsum("ii", x[0, :, :3]), lambda t: torch.einsum("ii", t[0, :, :3])),
    "einsum_ellipsis": (lambda x: tg.einsum("...j,kj->...k", x, x[0]),
                        lambda t: torch.einsum("...j,kj->...k", t, t[0])),
    "tensordot": (lambda x: tg.tensordot(x, x, axes=([1, 2], [1, 2])),
                  lambda t: torch.tensordot(t, t, dims=([1, 2], [1, 2]))),
    "outer": (lambda x: tg.outer(x[0, 0], x[1, 1]), lambda t: torch.outer(t[0, 0], t[1, 1])),
    "inner": (lambda x: tg.inner(x, x[0]), lambda t: torch.inner(t, t[0])),
    "dot_1d": (lambda x: tg.dot(x[0, 0], x[1, 2]), lambda t: torch.dot(t[0, 0], t[1, 2])),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", sorted(LAYOUT))
def test_layout_and_products_match_torch(name, dtype, rng):
    out, grads, tout, tgrads = run_both(*LAYOUT[name], [rng.standard_normal((2, 3, 4))], dtype)
    assert out.shape == tout.shape
    assert_same(out, tout, dtype, f"{name} value")
    assert_same(grads[0], tgrads[0], dtype, f"{name} gradient")


def test_logaddexp_keeps_the_small_correction():
    assert tg.logaddexp(Tensor(0.0), Tensor(-40.0)).item() == np.logaddexp(0.0, -40.0) > 0


def test_exact_logarithms_where_a_composite_would_round():
    """Why log2, log10, log1p and expm1 are primitives: the composites lose the last bits."""
    assert Tensor(1000.0).log10().item() == 3.0 and (Tensor(1000.0).log() / np.log(10.0)).item() != 3.0
    assert Tensor(8.0).log2().item() == 3.0
    assert Tensor(1e-10).log1p().item() == np.log1p(1e-10) != (1 + Tensor(1e-10)).log().item()
    assert Tensor(1e-10).expm1().item() == np.expm1(1e-10) != (Tensor(1e-10).exp() - 1).item()


def test_steps_pass_a_zero_gradient_and_keep_requires_grad():
    x = Tensor([-1.5, 0.0, 0.5, 2.5], requires_grad=True)
    for f in (Tensor.floor, Tensor.ceil, Tensor.round, Tensor.sign):
        y = f(x)
        assert y.requires_grad
        x.grad = None
        (y * 3.0).sum().backward()
        assert x.grad.tolist() == [0.0, 0.0, 0.0, 0.0]
    assert Tensor([0.5, 1.5, 2.5, -0.5]).round().tolist() == [0.0, 2.0, 2.0, -0.0]  # halves to even
