"""tinygrad_edu: automatic differentiation on numpy tensors, written to be read.

Where to look:
    tensor.py      the Tensor and the backward graph walk (the chain rule)
    ops.py         the primitive ops, each with its hand-written backward rule
    composites.py  relu, elu, softplus, sigmoid, softmax, ...: primitives chained
    methods.py     the Tensor's operators and methods, each one op or one composite
    modes.py       grad mode, anomaly mode, scopes: per thread, re-entrant
    convert.py     user data to arrays and tensors (type promotion), axes, indices
    autodiff.py    grad() and gradcheck()
    draw.py        draw_graph(): pictures of the graph
    steps.py       backward_steps(): forward and backward, step by step, on one picture
    nn.py, optim.py, datasets.py, serialization.py   layers and losses, SGD/Adam, data, save/load
    speed.py       the few speed tricks, each equal to a plain numpy expression
"""
from .autodiff import GradcheckError, grad, gradcheck
from .draw import draw_graph
from .steps import backward_steps
from .composites import exp, log, minimum
from .modes import detect_anomaly, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .ops import maximum, where
from .random import manual_seed
from .tensor import Tensor
from .compiler import compile, CompileError  # noqa: A004 - tg.compile, as torch.compile
from . import nn, optim, datasets
from .serialization import save, load
from .speed import keep_freed_arrays_in_the_heap as _keep_freed_arrays_in_the_heap

_keep_freed_arrays_in_the_heap()  # speed.py: stops glibc from unmapping each step's arrays

__version__ = "0.1.0"

__all__ = [
    "Tensor", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "detect_anomaly",
    "grad", "gradcheck", "GradcheckError", "manual_seed",
    "maximum", "minimum", "where", "exp", "log",
    "nn", "optim", "datasets", "save", "load",
    "draw_graph", "backward_steps", "compile", "CompileError",
]

# breadth (issue 14)
from .ops import Op
from .composites_layout import cat, concatenate, stack, split, chunk, pad
from .composites_linalg import einsum, tensordot, outer, inner, dot
from .composites_math import logaddexp, remainder
from . import functional
from .functional import jacobian, hessian, hvp, jvp, gradcheck_op

__all__ += [
    "Op", "cat", "concatenate", "stack", "split", "chunk", "pad",
    "einsum", "tensordot", "outer", "inner", "dot", "logaddexp", "remainder",
    "functional", "jacobian", "hessian", "hvp", "jvp", "gradcheck_op",
]
