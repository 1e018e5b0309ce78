"""Checkpoints: ``save`` a state dict to an ``.npz`` file and ``load`` it back.

An ``.npz`` file is a zip of ``.npy`` arrays: plain numbers, readable by any numpy. It is
never pickle. Unpickling a file runs whatever code the file's author put in it, so a
checkpoint from the internet could take over the machine; ``load`` therefore reads with
``allow_pickle=False`` and refuses any file that holds a pickled object.
"""
from __future__ import annotations

import os

import numpy as np

from .tensor import Tensor


def save(state_dict, path):
    """Write ``{name: array or Tensor}`` (e.g. ``model.state_dict()``) to ``path`` as .npz.

    The file is written at exactly ``path`` (numpy's ``savez`` would append ``.npz`` to a
    bare filename; this does not). Only numeric arrays are accepted.
    """
    arrays = {}
    for name, value in state_dict.items():
        if not isinstance(name, str):
            raise TypeError(f"save: keys must be strings, got {name!r}")
        arr = value.data if isinstance(value, Tensor) else np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"save: '{name}' is an array of dtype {arr.dtype}; only numeric arrays can be saved")
        arrays[name] = arr
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def load(path):
    """Read a file written by ``save``: returns ``{name: np.ndarray}`` in the saved order.

    Raises ``ValueError`` naming the file if it holds a pickled object (which is not run)
    or is not an .npz archive.
    """
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):  # a single .npy array
            raise ValueError(f"load: {os.fspath(path)!r} is a single array, not an .npz archive written by tg.save")
        with archive:
            return {name: archive[name] for name in archive.files}
    except ValueError as e:
        if "pickle" not in str(e):
            raise
        # numpy refused to unpickle: an object array inside, or not a numpy file at all
        raise ValueError(
            f"load: {os.fspath(path)!r} holds pickled data (or is not a numpy file at all); "
            f"tinygrad_edu never unpickles, because unpickling can run arbitrary code. Nothing was loaded."
        ) from None
