"""Checkpoints: ``save`` a state dict to an ``.npz`` file and ``load`` it back.

An ``.npz`` file is a zip archive of ``.npy`` arrays: plain numbers, readable by any numpy.
It is never pickle. Unpickling a file runs whatever code the file's author put in it, so a
checkpoint from the internet could take over the machine; ``load`` therefore never
unpickles and refuses any file that holds a pickled object.

The format (version 2), written by ``save``:

    tinygrad_edu_keys.npy   a 0-d str array holding JSON text:
                            {"format": "tinygrad_edu checkpoint", "version": 2,
                             "keys": ["layers.0.weight", "layers.0.bias", ...]}
    arr_0.npy, arr_1.npy …  the arrays, uncompressed: arr_i belongs to keys[i]

The members have generated names, and the keys live in the table, because a key is any
string: "a/b", "a.npy" next to "a", "", "Ω", "file". Used directly as member names some of
those would collide or be lost (numpy's ``savez`` names members ``key + ".npy"`` and takes
``file`` and ``allow_pickle`` as its own arguments). JSON escapes every character it does
not print as plain ASCII, so every Python string survives exactly. Any numpy can read the
file by hand::

    f = np.load("model.npz")
    keys = json.loads(str(f["tinygrad_edu_keys"]))["keys"]
    state = {key: f[f"arr_{i}"] for i, key in enumerate(keys)}

Files written before the key table existed (version 1: one member per key, named
``key + ".npy"``) still load: without a key table, the member names are the keys.

Writing is atomic: ``save`` writes a temporary file in the target's folder, flushes it to
disk, then renames it onto the target in one step (``os.replace``). An error, Ctrl-C or a
crash during the write therefore leaves the previous checkpoint as it was; a kill can at
worst leave a hidden ``.<name>.<random>.tmp`` file next to it.

Reading is careful: every array's ``.npy`` header (its shape and dtype) is checked against
the number of bytes the archive really holds for it *before* any memory is allocated, so a
forged header claiming a terabyte array is refused instead of exhausting memory.
"""
from __future__ import annotations

import json
import math
import os
import secrets
import zipfile
import zlib
from collections.abc import Mapping

import numpy as np

from .tensor import Tensor

KEY_TABLE = "tinygrad_edu_keys"  # the key table's member name, without ".npy"
FORMAT_NAME = "tinygrad_edu checkpoint"
FORMAT_VERSION = 2
NUMERIC_KINDS = "biuf"  # numpy dtype kinds a checkpoint may hold: bool, int, uint, float
# Deflate never shrinks data by more than about 1032:1, so a compressed member cannot
# honestly claim to unpack to more than that (np.savez_compressed writes deflate).
MAX_DEFLATE_RATIO = 1032
# What zipfile raises when a file is cut short or its bytes are damaged (NotImplementedError:
# a damaged "version needed to extract" field).
DAMAGED_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError)


# ---------------------------------------------------------------------------------------
# save
# ---------------------------------------------------------------------------------------
def save(state_dict, path):
    """Write ``{name: array or Tensor}`` (e.g. ``model.state_dict()``) to ``path`` as .npz.

    Every key must be a string and every value a numeric array (bool, integer or float) or
    a Tensor (saved as its array). Everything is checked before anything is written, so a
    refused call leaves the disk untouched. The file is written at exactly ``path`` (numpy's
    ``savez`` would append ``.npz`` to a bare filename; this does not), atomically: the
    previous file at ``path`` stays intact until the new one is complete.
    """
    keys, arrays = _checked_arrays(state_dict)
    target = os.fsdecode(path)
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"save: the folder {folder!r} does not exist, so {target!r} cannot be written; "
            f"create it first (os.makedirs({folder!r}, exist_ok=True)). Nothing was written."
        )
    if os.path.isdir(target):
        raise IsADirectoryError(
            f"save: {target!r} is a folder; give a file path such as "
            f"{os.path.join(target, 'model.npz')!r}. Nothing was written."
        )
    temporary, fd = _create_temporary(folder, os.path.basename(target))
    try:
        with os.fdopen(fd, "wb") as f:
            _write_npz(f, keys, arrays)
            f.flush()
            os.fsync(f.fileno())  # the bytes are on disk before the rename makes them the checkpoint
        os.replace(temporary, target)  # one step: readers see the old file or the new, never half
    except BaseException:  # also Ctrl-C: never leave a half-written temporary behind
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    _sync_folder(folder)


def _checked_arrays(state_dict):
    """The keys and numpy arrays to save, after checking them all; raises TypeError naming
    the first key or value that cannot be saved."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"save: expected a dict {{name: array}} such as model.state_dict(), "
            f"got {_describe(state_dict)}. Nothing was written."
        )
    keys, arrays = [], []
    for key, value in state_dict.items():
        if not isinstance(key, str):
            raise TypeError(
                f"save: keys must be strings, but key {key!r} is a {type(key).__name__}. Nothing was written."
            )
        keys.append(key)
        arrays.append(_numeric_array(key, value))
    return keys, arrays


def _describe(obj):
    """A few words on what ``obj`` is, with a hint when it is a model or a lone tensor."""
    if isinstance(obj, Tensor):
        return f"a Tensor of shape {obj.shape}; to save one tensor, name it: {{'x': tensor}}"
    if callable(getattr(obj, "state_dict", None)):
        return f"a {type(obj).__name__}; pass its .state_dict() instead"
    return f"a {type(obj).__name__}"


def _numeric_array(key, value):
    """``value`` as a numpy array of a numeric dtype, or a TypeError naming ``key``."""
    raw = value.data if isinstance(value, Tensor) else value
    try:
        arr = np.asarray(raw)
    except (TypeError, ValueError) as e:  # e.g. a ragged list
        raise TypeError(
            f"save: the value of key {key!r} cannot be made into an array ({e}). Nothing was written."
        ) from None
    if arr.dtype.kind not in NUMERIC_KINDS:
        what = f"an array of dtype {arr.dtype}" if isinstance(raw, np.ndarray) else f"a {type(raw).__name__}"
        raise TypeError(
            f"save: key {key!r} holds {what}; only arrays of booleans, integers or floats "
            f"(or Tensors) can be saved. Nothing was written."
        )
    return arr


def _create_temporary(folder, name):
    """Create a new, empty hidden file next to the target; return (its path, an open fd).

    ``O_EXCL`` guarantees the file is new (never someone else's); mode 0o666 lets the
    system's umask decide the permissions, exactly as for a file made with ``open``.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        temporary = os.path.join(folder, f".{name[:100]}.{secrets.token_hex(4)}.tmp")
        try:
            return temporary, os.open(temporary, flags, 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(f"save: could not create a temporary file in {folder!r}")


def _sync_folder(folder):
    """On POSIX, flush the folder itself, so that the rename survives a power cut too."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a folder; the file itself is synced
        pass
    finally:
        os.close(fd)


def _write_npz(f, keys, arrays):
    """Write the key table and the arrays as an uncompressed zip of .npy members."""
    table = np.array(json.dumps({"format": FORMAT_NAME, "version": FORMAT_VERSION, "keys": keys}))
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as archive:
        _write_member(archive, KEY_TABLE, table)
        for i, arr in enumerate(arrays):
            _write_member(archive, f"arr_{i}", arr)


def _write_member(archive, name, arr):
    """One ``name.npy`` member. The timestamp is fixed, so the same state dict always gives
    the same bytes (a checkpoint's hash then identifies its contents)."""
    info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o644 << 16  # rw-r--r-- for unzip; Python's default would be ---------
    with archive.open(info, "w", force_zip64=True) as member:  # size unknown in advance
        np.lib.format.write_array(member, arr, allow_pickle=False)


# ---------------------------------------------------------------------------------------
# load
# ---------------------------------------------------------------------------------------
def load(path):
    """Read a file written by ``save``: returns ``{name: np.ndarray}`` in the saved order.

    Nothing in the file is ever unpickled. Raises ``FileNotFoundError`` if there is no such
    file and ``ValueError`` naming the file and the cause if it cannot be a checkpoint:
    empty, truncated or damaged, not an .npz archive (a text file, a single .npy array),
    holding pickled data, or with an array header that claims more data than is there.
    """
    name = os.fsdecode(path)
    _check_starts_like_npz(name)
    try:
        with zipfile.ZipFile(name) as archive:
            members = _read_members(archive, name, os.path.getsize(name))
    except DAMAGED_ZIP_ERRORS as e:
        raise ValueError(
            f"load: {name!r} is truncated or damaged ({type(e).__name__}: {e}). Nothing was loaded."
        ) from None
    if KEY_TABLE in members and members[KEY_TABLE].dtype.kind == "U":
        return _unpack(members, name)
    return members  # version 1, before the key table: the member names are the keys


def _check_starts_like_npz(name):
    """Refuse, with the reason, a path that is missing, empty or clearly not a zip archive."""
    if not os.path.exists(name):
        raise FileNotFoundError(f"load: there is no file {name!r}")
    if os.path.isdir(name):
        raise ValueError(f"load: {name!r} is a folder, not a checkpoint file")
    if os.path.getsize(name) == 0:
        raise ValueError(
            f"load: {name!r} is empty (0 bytes), so it holds no checkpoint; "
            f"perhaps it was being written when the program stopped. Nothing was loaded."
        )
    with open(name, "rb") as f:
        start = f.read(8)
    if start.startswith(np.lib.format.MAGIC_PREFIX):
        raise ValueError(
            f"load: {name!r} is a single .npy array, not an .npz archive written by tg.save; "
            f"read it with np.load. Nothing was loaded."
        )
    if start.startswith(b"\x80"):  # the first byte of every pickle since protocol 2
        raise _pickle_refused(name, "it is a pickle file")
    if not start.startswith(b"PK"):  # every zip archive starts with these two letters
        raise ValueError(
            f"load: {name!r} is not an .npz archive (it starts with {start!r}, not a zip "
            f"archive's b'PK'). Nothing was loaded."
        )


def _pickle_refused(name, why):
    return ValueError(
        f"load: {name!r} holds pickled data ({why}); tinygrad_edu never unpickles, because "
        f"unpickling can run arbitrary code. Nothing was loaded."
    )


def _read_members(archive, name, file_size):
    """``{member name without .npy: array}`` in archive order, every member checked."""
    names = archive.namelist()
    pickled = [n for n in names if n.endswith(".pkl")]  # e.g. torch.save's archive/data.pkl
    if pickled:
        raise _pickle_refused(name, f"member {pickled[0]!r}")
    members = {}
    for info in archive.infolist():
        if not info.filename.endswith(".npy"):
            raise ValueError(
                f"load: {name!r} holds {info.filename!r}, which is not an .npy array, so it is "
                f"not an .npz checkpoint written by tg.save. Nothing was loaded."
            )
        key = info.filename[: -len(".npy")]
        if key in members:
            raise ValueError(f"load: {name!r} holds two members named {info.filename!r}; it is damaged or forged.")
        members[key] = _read_member(archive, info, name, file_size)
    return members


def _read_member(archive, info, name, file_size):
    """One .npy member as an array, after checking that its header tells the truth."""
    where = f"{name!r}, member {info.filename!r}"
    if info.flag_bits & 0x1:
        raise ValueError(f"load: {where} is encrypted; tg.save never encrypts. Nothing was loaded.")
    if info.compress_type == zipfile.ZIP_STORED:
        honest = info.file_size == info.compress_size
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        honest = info.file_size <= MAX_DEFLATE_RATIO * info.compress_size + 1024
    else:
        raise ValueError(f"load: {where} uses zip compression method {info.compress_type}; only "
                         f"stored or deflate members (what numpy writes) are read. Nothing was loaded.")
    if not 0 <= info.header_offset < file_size:
        raise ValueError(f"load: {where} is said to start at byte {info.header_offset:,} of a "
                         f"{file_size:,}-byte file; it is damaged. Nothing was loaded.")
    if not honest or info.compress_size > file_size:
        raise ValueError(
            f"load: {where} claims to unpack {info.compress_size:,} bytes into {info.file_size:,}, "
            f"which the {file_size:,}-byte file cannot hold; it is damaged or forged. Nothing was loaded."
        )
    with archive.open(info) as member:
        try:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(member)
            elif version == (2, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(member)
            else:
                raise ValueError(f".npy format version {version} is not one tg.save writes")
        except ValueError as e:
            raise ValueError(f"load: {where} is not a valid .npy array: {e}. Nothing was loaded.") from None
        header_size = member.tell()
    if dtype.hasobject:
        raise _pickle_refused(name, f"member {info.filename!r} is an array of Python objects")
    allowed = NUMERIC_KINDS + ("U" if info.filename == KEY_TABLE + ".npy" else "")
    if dtype.kind not in allowed or dtype.itemsize == 0 or dtype.fields is not None:
        raise ValueError(f"load: {where} is an array of dtype {dtype}; a checkpoint holds only "
                         f"boolean, integer or float arrays. Nothing was loaded.")
    if any(n < 0 for n in shape):
        raise ValueError(f"load: {where} has the impossible shape {shape}; it is damaged. Nothing was loaded.")
    claimed = math.prod(shape) * dtype.itemsize  # Python integers: no overflow, however large
    holds = info.file_size - header_size
    if claimed != holds:
        raise ValueError(
            f"load: {where} says it holds an array of shape {shape} and dtype {dtype} "
            f"({claimed:,} bytes), but it has {holds:,} bytes of data; the file is damaged or "
            f"forged, so nothing was allocated or loaded."
        )
    with archive.open(info) as member:  # the header tells the truth: let numpy read the array
        try:
            return np.lib.format.read_array(member, allow_pickle=False)
        except ValueError as e:
            raise ValueError(f"load: {where} is damaged: {e}. Nothing was loaded.") from None


def _unpack(members, name):
    """Version 2: map the generated member names back to the keys in the key table."""
    table = members.pop(KEY_TABLE)
    damaged = f"load: {name!r} has a damaged key table ({KEY_TABLE}.npy)"
    try:
        info = json.loads(str(table[()])) if table.shape == () else None
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        info = None
    if not isinstance(info, dict) or info.get("format") != FORMAT_NAME:
        raise ValueError(f"{damaged}: it is not the JSON that tg.save writes. Nothing was loaded.")
    if info.get("version") != FORMAT_VERSION:
        raise ValueError(
            f"load: {name!r} is a checkpoint of format version {info.get('version')!r}; this "
            f"tinygrad_edu reads version {FORMAT_VERSION} (and the older one without a key table)."
        )
    keys = info.get("keys")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys) or len(set(keys)) != len(keys):
        raise ValueError(f"{damaged}: 'keys' must be a list of distinct strings. Nothing was loaded.")
    expected = [f"arr_{i}" for i in range(len(keys))]
    if sorted(members) != sorted(expected):
        raise ValueError(
            f"{damaged}: it lists {len(keys)} keys, but the arrays are {sorted(members)}. Nothing was loaded."
        )
    return {key: members[member] for key, member in zip(keys, expected)}
