"""tg.save / tg.load: bit-identical round trips, pickles refused and never run, the file format,
and what save refuses. (Damaged files, atomic writes and tricky keys: test_trust_checkpoints.py.)"""
import json
import pickle
import re

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn


def test_round_trip_is_bit_identical(tmp_path):
    tg.manual_seed(0)
    model = nn.MLP([3, 5, 2])
    sd = model.state_dict()
    sd["extra_f32"] = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    sd["a_tensor"] = Tensor([1.0, np.pi])  # Tensors are saved as their arrays
    sd["scalar"] = np.array(-0.0)
    path = tmp_path / "model.npz"
    tg.save(sd, path)
    back = tg.load(path)
    assert list(back) == list(sd)  # names, in order
    for name, value in sd.items():
        arr = value.data if isinstance(value, Tensor) else value
        assert type(back[name]) is np.ndarray
        assert back[name].dtype == arr.dtype and back[name].shape == arr.shape
        assert back[name].tobytes() == arr.tobytes()  # bit for bit (-0.0 included)


def test_load_into_a_fresh_model_gives_the_same_model(tmp_path):
    model = nn.MLP([2, 4, 1], activation="tanh")
    tg.save(model.state_dict(), tmp_path / "m.npz")
    fresh = nn.MLP([2, 4, 1], activation="tanh")
    fresh.load_state_dict(tg.load(tmp_path / "m.npz"))
    x = np.random.default_rng(0).standard_normal((5, 2))
    assert model(x).data.tobytes() == fresh(x).data.tobytes()


def test_writes_exactly_the_given_path(tmp_path):
    path = str(tmp_path / "weights.ckpt")  # np.savez alone would write weights.ckpt.npz
    tg.save({"w": np.ones(2)}, path)
    assert [p.name for p in tmp_path.iterdir()] == ["weights.ckpt"]
    np.testing.assert_array_equal(tg.load(path)["w"], np.ones(2))


class _Payload:
    """Unpickling this creates a file: if load ever unpickled, the file would appear."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (str(self.target), "w"))


def test_an_npz_with_a_pickled_object_is_refused_not_run(tmp_path):
    target = tmp_path / "pwned"
    path = tmp_path / "evil.npz"
    np.savez(path, w=np.ones(2), evil=np.array([_Payload(target)], dtype=object))  # numpy pickles it
    assert not target.exists()
    with pytest.raises(ValueError, match=r"evil\.npz.*pickle"):
        tg.load(path)
    assert not target.exists()


def test_a_plain_pickle_file_is_refused_not_run(tmp_path):
    target = tmp_path / "pwned"
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"w": _Payload(target)}))
    with pytest.raises(ValueError, match=r"model\.pkl.*pickle"):
        tg.load(path)
    assert not target.exists()


def test_a_single_npy_array_is_not_a_checkpoint(tmp_path):
    np.save(tmp_path / "a.npy", np.ones(3))
    with pytest.raises(ValueError, match=r"a\.npy.*not an \.npz"):
        tg.load(tmp_path / "a.npy")


def test_save_refuses_non_numeric_values(tmp_path):
    with pytest.raises(TypeError, match="'w'"):
        tg.save({"w": np.array([{"a": 1}], dtype=object)}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="keys must be strings"):
        tg.save({1: np.ones(2)}, tmp_path / "x.npz")


def test_the_file_is_a_plain_npz_readable_by_numpy_as_documented(tmp_path):
    sd = {"file": np.ones(2), "a/b": np.arange(3)}
    tg.save(sd, tmp_path / "c.npz")
    f = np.load(tmp_path / "c.npz", allow_pickle=False)  # no pickle needed for any member
    assert f.files == ["tinygrad_edu_keys", "arr_0", "arr_1"]
    assert json.loads(str(f["tinygrad_edu_keys"]))["keys"] == ["file", "a/b"]  # arr_0 is "file"'s
    assert f["arr_0"].tolist() == [1.0, 1.0] and f["arr_1"].tolist() == [0, 1, 2]


def test_the_same_state_dict_gives_the_same_bytes(tmp_path):
    sd = nn.MLP([2, 3, 1]).state_dict()
    tg.save(sd, tmp_path / "a.npz")
    tg.save(sd, tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_compressed_npz_files_load(tmp_path):
    np.savez_compressed(tmp_path / "z.npz", w=np.zeros(10_000), b=np.arange(3))
    back = tg.load(tmp_path / "z.npz")
    assert back["w"].shape == (10_000,) and back["b"].tolist() == [0, 1, 2]


def test_a_saved_file_gets_the_permissions_open_would_give(tmp_path):
    (tmp_path / "ref").write_bytes(b"")  # created by open(), under the current umask
    tg.save({"w": np.ones(1)}, tmp_path / "c.npz")
    assert (tmp_path / "c.npz").stat().st_mode == (tmp_path / "ref").stat().st_mode


def test_a_folder_is_not_a_checkpoint(tmp_path):
    with pytest.raises(ValueError, match="is a folder"):
        tg.load(tmp_path)


# ---------------------------------------------------------------------------------------
# save: what it refuses, and how it says so.
# ---------------------------------------------------------------------------------------
def test_saving_into_a_missing_folder_names_the_folder(tmp_path):
    folder = tmp_path / "runs" / "today"
    with pytest.raises(FileNotFoundError, match=r"folder .*runs.*today.* does not exist"):
        tg.save({"w": np.ones(1)}, folder / "c.npz")
    assert list(tmp_path.iterdir()) == []


def test_saving_onto_a_folder_is_refused(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder"):
        tg.save({"w": np.ones(1)}, tmp_path)


@pytest.mark.parametrize("make, said", [
    (lambda: [np.ones(2)], r"got a list"),
    (lambda: nn.Linear(2, 1), r"got a Linear; pass its \.state_dict\(\)"),
    (lambda: Tensor([1.0, 2.0]), r"got a Tensor of shape \(2,\)"),
    (lambda: None, r"got a NoneType"),
], ids=["list", "Module", "Tensor", "None"])
def test_saving_a_non_dict_says_what_was_given_and_what_is_expected(tmp_path, make, said):
    with pytest.raises(TypeError, match=r"expected a dict .*model\.state_dict\(\), " + said):
        tg.save(make(), tmp_path / "c.npz")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("key", [1, ("a",), b"w", None])
def test_non_string_keys_are_refused_by_name(tmp_path, key):
    with pytest.raises(TypeError, match=r"keys must be strings, but key " + re.escape(repr(key))):
        tg.save({"fine": np.ones(1), key: np.ones(1)}, tmp_path / "c.npz")


@pytest.mark.parametrize("value, said", [
    (np.array([1 + 2j]), "dtype complex128"),
    (np.array(["text"]), "dtype <U4"),
    (np.array([None], dtype=object), "dtype object"),
    ("a string", "a str"),
    (None, "a NoneType"),
    (nn.Module(), "a Module"),
    ([[1.0], [2.0, 3.0]], "cannot be made into an array"),
])
def test_non_numeric_values_are_refused_naming_the_key(tmp_path, value, said):
    with pytest.raises(TypeError, match=r"key 'layer\.w' .*" + re.escape(said)):
        tg.save({"layer.w": value}, tmp_path / "c.npz")
    assert list(tmp_path.iterdir()) == []
