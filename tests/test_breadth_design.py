"""Issue 14's additions keep the engine's rules: composites read no .data, primitives show
their rule beside their forward, pictures can open the composites up, and every error
names the call, the value given and what was expected."""
import ast
import inspect
import pathlib
import re

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn, ops, ops_layout, ops_linalg, ops_math, ops_reduce

PACKAGE = pathlib.Path(tg.__file__).parent
NEW_COMPOSITE_MODULES = ["composites_math.py", "composites_layout.py", "composites_linalg.py", "layers_functional.py"]


@pytest.mark.parametrize("path", NEW_COMPOSITE_MODULES)
def test_no_new_composite_reads_data(path):
    tree = ast.parse((PACKAGE / path).read_text(encoding="utf-8"))
    composites = [fn for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef)
                  and any(isinstance(d, ast.Name) and d.id == "composite" for d in fn.decorator_list)]
    assert composites
    for fn in composites:
        reads = [n for n in ast.walk(fn) if isinstance(n, ast.Attribute) and n.attr == "data"]
        assert not reads, f"{path}: composite {fn.name} reads .data"


@pytest.mark.parametrize("module", [ops_math, ops_reduce, ops_layout, ops_linalg])
def test_every_new_differentiable_primitive_has_its_derivative_as_a_comment_beside_backward(module):
    classes = [c for _, c in inspect.getmembers(module, inspect.isclass)
               if issubclass(c, ops.Op) and c.__module__ == module.__name__ and "backward" in vars(c)]
    assert classes
    for cls in classes:
        first = inspect.getsource(cls.backward).splitlines()[0]
        assert "#" in first, f"{cls.__name__}.backward: the derivative belongs in a comment on its first line"


def test_source_files_stay_short():
    for name in ["ops_math.py", "ops_reduce.py", "ops_layout.py", "ops_linalg.py", "methods_more.py", "functional.py",
                 "layers.py", "layers_functional.py", "init.py", "optim_more.py"] + NEW_COMPOSITE_MODULES:
        assert len((PACKAGE / name).read_text(encoding="utf-8").splitlines()) <= 400, name


def test_the_mixin_adds_no_instance_dict():
    assert not hasattr(Tensor([1.0]), "__dict__")


def test_einsums_backward_is_an_einsum_and_matmuls_rule_in_einsum_form():
    a = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    b = Tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    z = tg.einsum("ij,jk->ik", a, b)
    g = Tensor(np.ones((2, 4)))
    with tg.no_grad():
        da, db = z.op.backward(g, z, a, b)
    np.testing.assert_array_equal(da.data, g.data @ b.data.T)
    np.testing.assert_array_equal(db.data, a.data.T @ g.data)
    with tg.enable_grad():  # recorded, the rule is visibly one einsum per operand
        da, db = z.op.backward(g, z, a, b)
    assert isinstance(da.op, ops_linalg.Einsum) and da.op.spec == "ik,jk->ij"
    assert isinstance(db.op, ops_linalg.Einsum) and db.op.spec == "ik,ij->jk"


def test_a_list_of_tensors_is_refused_with_a_pointer_to_stack():
    t = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"tg.stack"):
        Tensor([t, t])
    s = tg.stack([t, t * 2.0])
    assert s.shape == (2, 2) and s.requires_grad


def test_pictures_show_conv2d_as_one_node_and_open_it_up_into_slices_and_a_concatenate():
    x = Tensor(np.ones((1, 1, 3, 3)), requires_grad=True, label="x")
    w = Tensor(np.ones((1, 1, 2, 2)), requires_grad=True, label="w")
    y = nn.conv2d(x, w).sum()
    closed, opened = tg.draw_graph(y).source, tg.draw_graph(y, expand=True).source
    assert "conv2d" in closed and "concatenate" not in closed
    assert "concatenate" in opened and "getitem" in opened and "matmul" in opened


def test_steps_and_selections_in_a_float32_graph_stay_float32():
    x = Tensor(np.array([0.5, -0.75], dtype=np.float32), requires_grad=True)
    y = (x.sin() + x.floor() + x.log1p().abs() + x.hypot(2.0) + x.cumsum() + x.prod()).sum()
    y.backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32


def test_flatten_takes_start_and_end_dims_as_a_method():
    assert Tensor(np.zeros((2, 3, 4))).flatten(1).shape == (2, 12)


ERRORS = [  # (call, exception, message pattern)
    (lambda x: tg.cat([x, Tensor(np.ones((3, 2)))], axis=0), ValueError,
     r"cat: shapes \(2, 3\), \(3, 2\) cannot be joined along axis 0: every dimension except that axis must be equal"),
    (lambda x: tg.stack([x, Tensor(np.ones((3, 2)))]), ValueError, r"stack: all tensors need the same shape, got \[\(2, 3\), \(3, 2\)\]"),
    (lambda x: tg.stack([]), ValueError, r"stack: expected a non-empty list of tensors"),
    (lambda x: tg.stack(x), TypeError, r"stack: expected a list or tuple of tensors, got Tensor"),
    (lambda x: tg.einsum("ij,jk->ik", x, x), ValueError, r"einsum: 'ij,jk->ik': letter 'j' has size 3 in one place and 2 in another"),
    (lambda x: tg.einsum("ij,jk", x), ValueError, r"einsum: 'ij,jk' names 2 operand\(s\) but 1 were given"),
    (lambda x: tg.einsum("ijk", x), ValueError, r"einsum: operand 0 has shape \(2, 3\) \(2 dimension\(s\)\) but its subscripts 'ijk' name 3"),
    (lambda x: tg.einsum("ij->iz", x), ValueError, r"einsum: output letter\(s\) \['z'\] appear in no operand"),
    (lambda x: tg.einsum(3, x), TypeError, r"einsum: the first argument is the subscripts string"),
    (lambda x: tg.tensordot(x, x, axes=([1], [0])), ValueError, r"tensordot: axis 1 of shape \(2, 3\) \(size 3\) cannot be summed against axis 0"),
    (lambda x: tg.tensordot(x, x, axes=3), ValueError, r"tensordot: axes=3 needs 0 to 2 for shapes \(2, 3\) and \(2, 3\)"),
    (lambda x: x.split([1, 1], axis=1), ValueError, r"split: the sizes \[1, 1\] must be non-negative and add up to the length 3 of axis 1"),
    (lambda x: x.chunk(0), ValueError, r"chunk: chunks must be a positive integer, got 0"),
    (lambda x: x.permute(0, 0), ValueError, r"permute: \(0, 0\) is not a permutation of the 2 axes of shape \(2, 3\)"),
    (lambda x: x.flip(2), ValueError, r"flip: axis 2 is out of range for a tensor with 2 dimension\(s\)"),
    (lambda x: x.roll((1, 2), axis=0), ValueError, r"roll: 2 shift\(s\) \(1, 2\) for 1 axis/axes 0"),
    (lambda x: x.pad(-1), ValueError, r"pad: pad_width must hold non-negative integers, got -1"),
    (lambda x: x.pad(((1, 1),) * 3), ValueError, r"pad: pad_width .* must be an int, a \(before, after\) pair or one pair per axis \(2 axes\)"),
    (lambda x: x.repeat(2), ValueError, r"repeat: give at least one count per axis \(2\), got \(2,\)"),
    (lambda x: x.diagonal(axis1=1, axis2=1), ValueError, r"diagonal: axis1 and axis2 must differ, both are 1"),
    (lambda x: x[0].triu(), ValueError, r"triu: needs at least 2 dimensions, got shape \(3,\)"),
    (lambda x: x.prod(axis=2), ValueError, r"prod: axis 2 is out of range for a tensor with 2 dimension\(s\)"),
    (lambda x: x.var(axis=(0, 0)), ValueError, r"var: axis \(0, 0\) names the same dimension twice"),
    (lambda x: x.hypot(Tensor(np.ones(4))), ValueError, r"hypot: shapes \(2, 3\) and \(4,\) cannot be broadcast together"),
    (lambda x: x % Tensor(np.ones(4)), ValueError, r"remainder: shapes \(2, 3\) and \(4,\) cannot be broadcast together"),
    (lambda x: x.cumsum(axis=3), ValueError, r"cumsum: axis 3 is out of range"),
]


@pytest.mark.parametrize("call, exc, pattern", ERRORS, ids=[p[:30] for _, _, p in ERRORS])
def test_error_messages(call, exc, pattern):
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(exc, match=pattern):
        call(x)


def test_values_at_a_glance():
    """A few values a reader can check by hand."""
    x = Tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.prod().item() == 24.0 and x.cumsum(axis=1).tolist() == [[1.0, 3.0], [3.0, 7.0]]
    assert x.var().item() == pytest.approx(5 / 3) and x.var(correction=0).item() == 1.25
    assert x.trace().item() == 5.0 and x.triu().tolist() == [[1.0, 2.0], [0.0, 4.0]]
    assert x.roll(1, axis=1).tolist() == [[2.0, 1.0], [4.0, 3.0]] and x.flip(0).tolist() == [[3.0, 4.0], [1.0, 2.0]]
    assert x.pad(1).shape == (4, 4) and x.tile(2).tolist() == [[1.0, 2.0, 1.0, 2.0], [3.0, 4.0, 3.0, 4.0]]
    assert (Tensor([-7.0, 7.0]) % 3.0).tolist() == [2.0, 1.0]  # the sign of the divisor, as Python
    assert re.fullmatch(r"\[\[1\.0, 3\.0\], \[2\.0, 4\.0\]\]", str(x.permute(1, 0).tolist()))
