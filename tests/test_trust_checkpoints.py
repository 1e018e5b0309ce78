"""Checkpoints you can trust: any key round-trips, writes are atomic, bad files are refused
with the reason (and never allocate what a forged header claims), and a failed
load_state_dict leaves the model as it was."""
import errno
import io
import json
import os
import re
import signal
import struct
import subprocess
import sys
import tracemalloc
import zipfile

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRICKY_KEYS = [
    "file", "allow_pickle", "a.npy", "a", "A", ".npy", "", " ", "a/b", "../up", "a\\b", "Ω", "😀",
    "\x00", "a\x00", "\ud800", "arr_0", "arr_0.npy", "tinygrad_edu_keys", "layers.0.weight",
]
DTYPES = st.one_of(
    hnp.boolean_dtypes(), hnp.integer_dtypes(endianness="?"), hnp.unsigned_integer_dtypes(endianness="?"),
    hnp.floating_dtypes(endianness="?"),
)
KEYS = st.lists(st.sampled_from(TRICKY_KEYS) | st.text(max_size=12), unique=True, max_size=8)


def same_arrays(a, b):
    """True when the two state dicts have the same keys in the same order and equal bits."""
    return list(a) == list(b) and all(
        a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and a[k].tobytes() == b[k].tobytes() for k in a
    )


def files_in(folder):
    return sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------------------------------
# Round trips: every key, dtype and shape, exactly.
# ---------------------------------------------------------------------------------------
@given(keys=KEYS, data=st.data())
def test_any_string_keys_and_numeric_arrays_round_trip_exactly(tmp_path_factory, keys, data):
    sd = {k: data.draw(hnp.arrays(DTYPES, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)))
          for k in keys}
    path = tmp_path_factory.mktemp("rt") / "ckpt.npz"
    tg.save(sd, path)
    assert same_arrays(tg.load(path), sd)


@pytest.mark.parametrize("sd", [
    {"file": np.ones(2)},
    {"allow_pickle": np.array([1, 2]), "w": np.array([3.0])},
    {"a.npy": np.array([1.0]), "a": np.array([2.0])},
    {"a": np.array(1), "A": np.array(2), "a/b": np.array(3), "": np.array(4), "ключ": np.array(5)},
], ids=["file", "allow_pickle", "a.npy-next-to-a", "case-slash-empty-unicode"])
def test_the_keys_that_used_to_lose_data_round_trip(tmp_path, sd):
    tg.save(sd, tmp_path / "c.npz")
    assert same_arrays(tg.load(tmp_path / "c.npz"), sd)


def test_views_fortran_order_and_tensors_round_trip(tmp_path):
    base = np.arange(24.0).reshape(4, 6)
    sd = {"T": base.T, "strided": base[::2, 1::3], "t": Tensor(np.float32([1.5, -0.0]))}
    tg.save(sd, tmp_path / "v.npz")
    back = tg.load(tmp_path / "v.npz")
    np.testing.assert_array_equal(back["T"], base.T)
    np.testing.assert_array_equal(back["strided"], base[::2, 1::3])
    assert back["t"].dtype == np.float32 and back["t"].tobytes() == np.float32([1.5, -0.0]).tobytes()


def test_files_of_the_old_format_still_load(tmp_path):
    old = {"layers.0.weight": np.ones((3, 2)), "layers.0.bias": np.zeros(3, np.float32), "step": np.array(7)}
    with open(tmp_path / "old.npz", "wb") as f:
        np.savez(f, **old)  # exactly what the old tg.save did
    assert same_arrays(tg.load(tmp_path / "old.npz"), old)


def test_an_old_file_with_a_npy_next_to_a_loads_both_right(tmp_path):
    with open(tmp_path / "old.npz", "wb") as f:
        np.savez(f, **{"a.npy": np.array([1.0]), "a": np.array([2.0])})  # members a.npy.npy and a.npy
    back = tg.load(tmp_path / "old.npz")
    assert back["a.npy"][0] == 1.0 and back["a"][0] == 2.0  # the old load gave 2.0 for both


# ---------------------------------------------------------------------------------------
# Atomic writes: the previous checkpoint survives any failure during the write.
# ---------------------------------------------------------------------------------------
def _old_checkpoint(tmp_path):
    path = tmp_path / "ckpt.npz"
    tg.save({"w": np.arange(4.0)}, path)
    return path, path.read_bytes()


@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()])
def test_a_write_failing_midway_keeps_the_old_checkpoint_and_no_stray_file(tmp_path, monkeypatch, error):
    path, before = _old_checkpoint(tmp_path)
    real, calls = np.lib.format.write_array, []

    def fail_on_the_third_array(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", fail_on_the_third_array)
    with pytest.raises(type(error)):
        tg.save({"a": np.ones(3), "b": np.ones(3), "c": np.ones(3)}, path)
    assert len(calls) == 3  # it did fail midway, after two members were written
    assert path.read_bytes() == before
    assert files_in(tmp_path) == ["ckpt.npz"]


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_a_failing_fsync_or_rename_keeps_the_old_checkpoint(tmp_path, monkeypatch, step):
    path, before = _old_checkpoint(tmp_path)

    def broken(*args):
        raise OSError(errno.EIO, f"{step} failed")

    monkeypatch.setattr(os, step, broken)
    with pytest.raises(OSError, match=f"{step} failed"):
        tg.save({"w": np.zeros(4)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert files_in(tmp_path) == ["ckpt.npz"]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_a_process_killed_midway_leaves_the_old_checkpoint_intact(tmp_path):
    path, before = _old_checkpoint(tmp_path)
    child = (
        "import sys, time, numpy as np, tinygrad_edu as tg\n"
        "real = np.lib.format.write_array\n"
        "calls = []\n"
        "def slow(*args, **kwargs):\n"
        "    real(*args, **kwargs); calls.append(1)\n"
        "    if len(calls) == 2:\n"
        "        print('midway', flush=True); time.sleep(60)\n"
        "np.lib.format.write_array = slow\n"
        "tg.save({'a': np.ones(1000), 'b': np.ones(1000)}, sys.argv[1])\n"
    )
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-c", child, str(path)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline() == "midway\n"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
    assert path.read_bytes() == before
    np.testing.assert_array_equal(tg.load(path)["w"], np.arange(4.0))
    stray = [n for n in files_in(tmp_path) if n != "ckpt.npz"]  # the half-written temporary
    assert len(stray) == 1 and stray[0].startswith(".ckpt.npz.") and stray[0].endswith(".tmp")
    assert (tmp_path / stray[0]).stat().st_size > 1000  # it really was killed mid-write


def test_a_refused_save_writes_nothing(tmp_path):
    path, before = _old_checkpoint(tmp_path)
    with pytest.raises(TypeError, match="'bad'"):
        tg.save({"ok": np.ones(3), "also_ok": np.ones(2), "bad": np.array(["x"])}, path)
    assert path.read_bytes() == before
    with pytest.raises(TypeError):
        tg.save({"ok": np.ones(3), "bad": None}, tmp_path / "new.npz")
    assert files_in(tmp_path) == ["ckpt.npz"]


# ---------------------------------------------------------------------------------------
# load: every cause of failure is named, with the file.
# ---------------------------------------------------------------------------------------
def npy_bytes(shape, descr="<f8", data=b""):
    """A .npy file's bytes: a version 1.0 header saying (shape, descr), then ``data``."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue() + data


def write_zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def lie_about_the_unpacked_size(path, size):
    """Overwrite the central directory's 'uncompressed size' of the (only) member."""
    raw = bytearray(path.read_bytes())
    central = raw.index(b"PK\x01\x02")
    struct.pack_into("<I", raw, central + 24, size)
    path.write_bytes(bytes(raw))


def peak_traced_bytes(call):
    """The most memory (numpy arrays included) allocated while ``call()`` ran."""
    tracemalloc.start()
    try:
        call()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_a_missing_file_is_a_file_not_found_error_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no file .*nothing_here\.npz"):
        tg.load(tmp_path / "nothing_here.npz")


@pytest.mark.parametrize("content, cause", [
    (b"", r"empty \(0 bytes\)"),
    (b"w,b\n1.0,2.0\n", r"not an \.npz archive \(it starts with b'w,b"),
    (b"\x80\x04\x95\x10\x00", r"pickled data \(it is a pickle file\)"),
])
def test_a_file_that_is_not_a_checkpoint_is_refused_with_the_cause(tmp_path, content, cause):
    (tmp_path / "weights.npz").write_bytes(content)
    with pytest.raises(ValueError, match=r"weights\.npz.*" + cause):
        tg.load(tmp_path / "weights.npz")


def test_every_truncation_of_a_checkpoint_is_refused_naming_the_file(tmp_path):
    tg.save(nn.MLP([2, 3, 1]).state_dict(), tmp_path / "full.npz")
    data = (tmp_path / "full.npz").read_bytes()
    cut = tmp_path / "cut.npz"
    for n in range(len(data)):
        cut.write_bytes(data[:n])
        with pytest.raises(ValueError, match=r"cut\.npz"):
            tg.load(cut)
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut\.npz' is truncated or damaged"):
        tg.load(cut)


@given(damage=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=4))
def test_a_damaged_file_loads_unchanged_or_is_refused_never_anything_else(tmp_path_factory, damage):
    sd = {"w": np.arange(6.0).reshape(2, 3), "b": np.float32([1, 2, 3]), "": np.array(7)}
    folder = tmp_path_factory.mktemp("dmg")
    tg.save(sd, folder / "c.npz")
    raw = bytearray((folder / "c.npz").read_bytes())
    for where, byte in damage:
        raw[int(where * len(raw))] = byte
    (folder / "c.npz").write_bytes(bytes(raw))
    try:
        back = tg.load(folder / "c.npz")
    except ValueError as e:
        assert "c.npz" in str(e)
    else:  # only bytes that carry no data changed (timestamps, local copies of names)
        assert same_arrays(back, sd)


def test_pickled_members_are_refused_not_read(tmp_path):
    path = write_zip(tmp_path / "torch_style.pt", {"archive/data.pkl": b"\x80\x02}q\x00.", "archive/version": b"3"})
    with pytest.raises(ValueError, match=r"torch_style\.pt.*pickled data \(member 'archive/data\.pkl'\)"):
        tg.load(path)


def test_an_archive_with_other_files_is_not_a_checkpoint(tmp_path):
    path = write_zip(tmp_path / "docs.zip", {"readme.txt": b"hello"})
    with pytest.raises(ValueError, match=r"docs\.zip.*'readme\.txt', which is not an \.npy array"):
        tg.load(path)


@pytest.mark.parametrize("array, said", [
    (np.array([1 + 1j]), "dtype complex128"),
    (np.array(["text"]), "dtype <U4"),
])
def test_members_of_non_numeric_dtypes_are_refused(tmp_path, array, said):
    np.savez(tmp_path / "odd.npz", w=array)
    with pytest.raises(ValueError, match=r"odd\.npz', member 'w\.npy' is an array of " + said):
        tg.load(tmp_path / "odd.npz")


def test_a_header_claiming_a_trillion_elements_is_refused_before_allocating(tmp_path):
    path = write_zip(tmp_path / "forged.npz", {"w.npy": npy_bytes((10**12,), data=b"\x00" * 8)})
    errors = []

    def load():
        with pytest.raises(ValueError, match=r"forged\.npz', member 'w\.npy' says it holds an array of "
                                             r"shape \(1000000000000,\) and dtype float64 "
                                             r"\(8,000,000,000,000 bytes\), but it has 8 bytes") as e:
            tg.load(path)
        errors.append(e)

    assert peak_traced_bytes(load) < 2**20  # under 1 MiB, not 8 TB
    assert errors


def test_a_header_claiming_fewer_bytes_than_it_holds_is_refused(tmp_path):
    path = write_zip(tmp_path / "long.npz", {"w.npy": npy_bytes((2,), data=b"\x00" * 24)})
    with pytest.raises(ValueError, match=r"\(16 bytes\), but it has 24 bytes"):
        tg.load(path)


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_zip_directory_lying_about_sizes_is_refused_before_allocating(tmp_path, compression):
    header = npy_bytes((2**31,), descr="|u1")  # 2 GiB of bytes, honest with the lying directory
    path = write_zip(tmp_path / "lying.npz", {"w.npy": header + b"\x01" * 16}, compression)
    lie_about_the_unpacked_size(path, len(header) + 2**31)

    def load():
        with pytest.raises(ValueError, match=r"lying\.npz', member 'w\.npy' claims to unpack"):
            tg.load(path)

    assert peak_traced_bytes(load) < 2**20


def test_a_zip_directory_pointing_before_the_start_of_the_file_is_refused(tmp_path):
    tg.save({"w": np.ones(2)}, tmp_path / "c.npz")
    raw = bytearray((tmp_path / "c.npz").read_bytes())
    end = raw.rindex(b"PK\x05\x06")  # the end record, which says where the directory starts
    struct.pack_into("<I", raw, end + 16, struct.unpack_from("<I", raw, end + 16)[0] + 10**6)
    (tmp_path / "c.npz").write_bytes(bytes(raw))  # zipfile now places every member 10**6 bytes earlier
    with pytest.raises(ValueError, match=r"c\.npz', member '.*' is said to start at byte -"):
        tg.load(tmp_path / "c.npz")


@pytest.mark.parametrize("table, cause", [
    ("not json", "not the JSON that tg.save writes"),
    ('{"format": "someone else", "keys": []}', "not the JSON that tg.save writes"),
    ('{"format": "tinygrad_edu checkpoint", "version": 3, "keys": ["w"]}', "format version 3"),
    ('{"format": "tinygrad_edu checkpoint", "version": 2, "keys": ["w", "w"]}', "distinct strings"),
    ('{"format": "tinygrad_edu checkpoint", "version": 2, "keys": [1]}', "distinct strings"),
    ('{"format": "tinygrad_edu checkpoint", "version": 2, "keys": ["w", "b"]}', "lists 2 keys"),
])
def test_a_damaged_key_table_is_refused_with_the_cause(tmp_path, table, cause):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array(table))
    path = write_zip(tmp_path / "t.npz", {"tinygrad_edu_keys.npy": buf.getvalue(),
                                          "arr_0.npy": npy_bytes((1,), data=b"\x00" * 8)})
    with pytest.raises(ValueError, match=r"t\.npz.*" + re.escape(cause)):
        tg.load(path)


# ---------------------------------------------------------------------------------------
# load_state_dict: all or nothing, even when a copy fails halfway.
# ---------------------------------------------------------------------------------------
def _model_and_new_weights():
    tg.manual_seed(0)
    model = nn.MLP([2, 3, 1])  # 4 parameters: layers.0.weight, layers.0.bias, layers.2.*
    new = {name: arr + 1.0 for name, arr in model.state_dict().items()}
    return model, model.state_dict(), new


def test_a_read_only_parameter_is_refused_before_anything_is_copied(tmp_path):
    model, before, new = _model_and_new_weights()
    model.layers[2].bias.data.flags.writeable = False  # the last parameter
    with pytest.raises(ValueError, match=r"'layers\.2\.bias' is read-only.*Nothing was loaded"):
        model.load_state_dict(new)
    assert same_arrays(model.state_dict(), before)


@pytest.mark.parametrize("failing", range(4))
def test_a_copy_failing_halfway_restores_every_parameter(monkeypatch, failing):
    model, before, new = _model_and_new_weights()
    name = list(before)[failing]
    real, calls = np.copyto, []

    def copy_half_then_fail(dst, src, **kwargs):
        calls.append(1)
        if len(calls) == failing + 1:
            dst.reshape(-1)[:1] = src.reshape(-1)[:1]  # this parameter is left half written
            raise MemoryError("simulated")
        return real(dst, src, **kwargs)

    monkeypatch.setattr(np, "copyto", copy_half_then_fail)
    with pytest.raises(RuntimeError, match=rf"copying into '{re.escape(name)}' failed \(MemoryError: simulated\); "
                                           rf"the {failing} parameter\(s\) loaded before it were restored"):
        model.load_state_dict(new)
    assert same_arrays(model.state_dict(), before)


def test_ctrl_c_during_the_copy_restores_the_parameters_and_stays_a_keyboard_interrupt(monkeypatch):
    model, before, new = _model_and_new_weights()
    real, calls = np.copyto, []

    def interrupted_on_the_third(dst, src, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(dst, src, **kwargs)

    monkeypatch.setattr(np, "copyto", interrupted_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        model.load_state_dict(new)
    assert same_arrays(model.state_dict(), before)


def test_load_state_dict_refuses_what_is_not_a_dict():
    model = nn.MLP([2, 1])
    with pytest.raises(TypeError, match=r"expected a dict .*got a list"):
        model.load_state_dict([np.ones((1, 2)), np.ones(1)])


def test_a_successful_load_writes_the_new_values_in_place():
    model, _, new = _model_and_new_weights()
    arrays = [p.data for p in model.parameters()]
    model.load_state_dict(new)
    assert same_arrays(model.state_dict(), new)
    assert all(p.data is a for p, a in zip(model.parameters(), arrays))
