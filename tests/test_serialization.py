"""tg.save / tg.load: bit-identical round trips, and pickles refused, never run."""
import pickle

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
