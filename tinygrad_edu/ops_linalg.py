"""``Einsum``: the one product primitive besides matmul, and its backward is an einsum too.

    z = einsum("ij,jk->ik", A, B)        zᵢₖ = Σⱼ Aᵢⱼ Bⱼₖ

The derivative of z with respect to one operand is "the einsum of everything else":
∂L/∂Aᵢⱼ = Σₖ Gᵢₖ Bⱼₖ, which is ``einsum("ik,jk->ij", G, B)``. In general, for operand n
with subscripts sₙ, swap the roles of sₙ and the output:

    ∂L/∂Xₙ = einsum(s_out, s_1, ..., (skip sₙ), ... -> sₙ;  G, X_1, ..., X_N)

Two details make this exact for every spec:

* a letter that appears only in sₙ (summed inside Xₙ alone, as j in "ij->i") does not
  appear on the right of the new einsum: a vector of ones with that letter supplies it
  (the gradient is constant along j);
* a letter repeated in sₙ (the diagonal, as in the trace "ii->") cannot be an output
  letter twice: the second copy gets a fresh letter and an identity matrix δ joins the
  operands, so the gradient is G·δ, zero off the diagonal.

Because the backward rule is itself an ``Einsum``, the gradient differentiates again.
The spec reaching this op is already explicit (``composites_linalg.einsum`` expands
``...`` and the implicit output and checks the sizes), so this file is only the rule.
"""
from __future__ import annotations

import string

import numpy as np

from . import tensor
from .ops import Op


class Einsum(Op):
    def forward(self, *xs, spec):
        self.spec = spec
        return np.einsum(spec, *xs, optimize=len(xs) > 1)

    def backward(self, g, z, *xs):  # ∂L/∂Xₙ = einsum(G and the other operands -> sₙ)
        inputs, out = self.spec.split("->")
        subs = inputs.split(",")
        return tuple(operand_gradient(n, subs, out, g, xs) if x.requires_grad else None
                     for n, x in enumerate(xs))


def operand_gradient(n, subs, out, g, xs):
    """The einsum that gives ∂L/∂xs[n] (see the module docstring)."""
    target = subs[n]
    unused = iter(c for c in string.ascii_letters if c not in "".join(subs) + out)
    terms, operands = [out], [g]
    for m, (s, x) in enumerate(zip(subs, xs)):
        if m != n:
            terms.append(s)
            operands.append(x)
    wanted, seen = "", {}
    for letter, size in zip(target, xs[n].shape):
        if letter in seen:  # a repeated letter: the diagonal. A fresh letter plus an identity δ
            fresh = next(unused)
            terms.append(letter + fresh)
            operands.append(constant(np.eye(size), g))
            wanted += fresh
        else:
            seen[letter] = size
            wanted += letter
    present = "".join(terms)
    for letter, size in seen.items():
        if letter not in present:  # summed within operand n alone: the gradient is constant along it
            terms.append(letter)
            operands.append(constant(np.ones(size), g))
    return Einsum.apply(*operands, spec=",".join(terms) + "->" + wanted)


def constant(array, like):
    """A constant tensor (δ or ones) in the gradient's dtype."""
    return tensor.Tensor.wrap(array.astype(like.dtype))
