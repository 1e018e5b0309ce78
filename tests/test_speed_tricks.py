"""The speed tricks of speed.py compute exactly what their plain numpy spelling computes."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_edu.speed import select


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shapes", [((64, 128), (64, 128), (64, 128)), ((64, 128), (128,), ()), ((64, 128), (), (128,)),
                                    ((64, 1), (1, 128), (64, 128))])
def test_select_is_np_where_bit_for_bit(dtype, shapes, rng):
    cshape, xshape, yshape = shapes
    cond = rng.random(cshape) > 0.5
    x = rng.standard_normal(xshape).astype(dtype)
    y = np.asarray(rng.standard_normal(yshape)).astype(dtype)
    if x.ndim == 0 or y.ndim == 0:  # the zero fast paths: where(cond, 0, y), where(cond, x, 0)
        x, y = (np.zeros((), dtype) if x.ndim == 0 else x), (np.zeros((), dtype) if y.ndim == 0 else y)
    if x.size > 3:
        x.reshape(-1)[:4] = [np.nan, np.inf, -np.inf, -0.0]
    got, want = select(cond, x, y), np.where(cond, x, y)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got.view(np.uint8), want.view(np.uint8))


@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=100), elements=st.floats(allow_nan=True)), st.data())
def test_select_matches_where_on_any_values(x, data):
    cond = data.draw(hnp.arrays(np.bool_, x.shape))
    y = x[::-1].copy() if x.ndim else x
    assert np.array_equal(select(cond, x, y).view(np.uint8), np.where(cond, x, y).view(np.uint8))


def test_weight_gradient_comes_out_in_the_weights_layout(rng):
    """x @ W.T: W's gradient is computed as (gᵀx) transposed back, so it is C-ordered like W
    (the optimiser's in-place update is then ~10x faster on large layers) and still right."""
    import tinygrad_edu as tg
    from tinygrad_edu import Tensor

    x, W = rng.standard_normal((5, 96)), Tensor(rng.standard_normal((64, 96)), requires_grad=True)
    G = rng.standard_normal((5, 64))
    (x @ W.T).backward(G)
    assert W.grad.data.flags.c_contiguous
    assert np.allclose(W.grad.data, G.T @ x)
    x, W = rng.standard_normal((5, 3)), Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    assert tg.gradcheck(lambda w: x @ w.T, W.data)
    assert tg.gradcheck(lambda a, w: a.T @ w.T, rng.standard_normal((3, 5)), W.data)


def test_malloc_setting_is_optional_and_safe(monkeypatch):
    import platform

    from tinygrad_edu.speed import keep_freed_arrays_in_the_heap

    for name in ("TINYGRAD_EDU_MALLOPT", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_"):
        monkeypatch.delenv(name, raising=False)
    on_glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert keep_freed_arrays_in_the_heap() is on_glibc  # set where glibc is, skipped elsewhere
    monkeypatch.setenv("TINYGRAD_EDU_MALLOPT", "0")
    assert keep_freed_arrays_in_the_heap() is False
    monkeypatch.delenv("TINYGRAD_EDU_MALLOPT")
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1")
    assert keep_freed_arrays_in_the_heap() is False  # the user's own setting wins
