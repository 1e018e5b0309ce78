"""Building one tensor from several: ``Concatenate``, the one layout primitive that
``ops.py`` lacks (indexing, reshape, transpose and expand are there).

Everything else that moves elements around (stack, split, flip, roll, pad, tile,
diagonal, triu, ...) is a composite in ``composites_layout.py``: indexing and reshapes,
whose backward rules already exist.
"""
from __future__ import annotations

import numpy as np

from .ops import Op


class Concatenate(Op):
    """Join tensors along an existing axis (numpy's ``concatenate``, PyTorch's ``cat``)."""

    saves_inputs = False

    def forward(self, *xs, axis):
        self.axis = axis
        return np.concatenate(xs, axis=axis)

    def backward(self, g, z, *xs):  # each input was copied to one slab of z: it gets that slab of g
        shares, start = [], 0
        for x in xs:
            n = x.shape[self.axis]
            slab = (slice(None),) * self.axis + (slice(start, start + n),)
            shares.append(g[slab] if x.requires_grad else None)
            start += n
        return tuple(shares)

    def explain(self, inputs, err):
        shapes = ", ".join(str(t.shape) for t in inputs)
        return (f"cat: shapes {shapes} cannot be joined along axis {self.axis}: every dimension "
                f"except that axis must be equal ({err})")
