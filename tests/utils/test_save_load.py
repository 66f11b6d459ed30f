"""nnx.save / nnx.load: round trips of tensors, arrays, state dicts and containers; refusals on save;
clear SerializationErrors (never a crash, never an unbounded read) for damaged or foreign files."""
import io
import json
import pathlib
import struct
import zipfile

import numpy as np
import pytest

import nnx
from nnx.serialization import SerializationError


def round_trip(obj, **load_kwargs):
    buffer = io.BytesIO()
    nnx.save(obj, buffer)
    buffer.seek(0)
    return nnx.load(buffer, **load_kwargs)


def saved_bytes(obj):
    buffer = io.BytesIO()
    nnx.save(obj, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32, np.uint8, np.bool_, np.int8])
def test_arrays_and_tensors_keep_dtype_shape_and_values(rng, dtype):
    array = (rng.normal(size=(3, 4, 2)) * 10).astype(dtype)
    loaded = round_trip({"array": array, "tensor": nnx.tensor(array), "empty": np.zeros((0, 3), dtype)})
    assert isinstance(loaded["array"], np.ndarray) and loaded["array"].dtype == dtype
    np.testing.assert_array_equal(loaded["array"], array)
    assert isinstance(loaded["tensor"], nnx.Tensor) and loaded["tensor"].numpy().dtype == dtype
    np.testing.assert_array_equal(loaded["tensor"].numpy(), array)
    assert loaded["empty"].shape == (0, 3)


def test_nested_containers_and_python_scalars_round_trip():
    obj = {"a": [1, 2.5, None, "text", True, (False, -3)], 0: {"deep": [[[], {}]]}, 1.5: (), None: "none-key",
           "big": 2**70, "nan": float("nan"), "scalar": np.float32(2.5), "int": np.int64(7)}
    loaded = round_trip(obj)
    assert list(loaded) == list(obj)
    assert loaded["a"] == [1, 2.5, None, "text", True, (False, -3)] and isinstance(loaded["a"][5], tuple)
    assert loaded[0] == {"deep": [[[], {}]]} and loaded[1.5] == () and loaded[None] == "none-key"
    assert loaded["big"] == 2**70 and np.isnan(loaded["nan"])
    assert type(loaded["scalar"]) is np.float32 and loaded["scalar"] == 2.5
    assert type(loaded["int"]) is np.int64 and loaded["int"] == 7
    assert type(loaded["a"][4]) is bool and type(loaded["a"][0]) is int


def test_requires_grad_and_parameters_are_kept_as_torch_does():
    # torch.save keeps requires_grad (a loaded tensor is a new leaf) and the Parameter class.
    x = nnx.ones(2, requires_grad=True)
    frozen = nnx.nn.Parameter(nnx.ones(2)._data.copy(), requires_grad=False)
    loaded = round_trip([x, x * 2, nnx.ones(2), nnx.nn.Linear(2, 1).weight, frozen])
    assert [t.requires_grad for t in loaded] == [True, True, False, True, False]
    assert all(t.is_leaf for t in loaded)
    assert [type(t).__name__ for t in loaded] == ["Tensor", "Tensor", "Tensor", "Parameter", "Parameter"]
    np.testing.assert_array_equal(loaded[1].numpy(), [2.0, 2.0])


def test_loaded_arrays_are_fresh_copies(rng):
    array = rng.normal(size=4)
    tensor = nnx.tensor(array)
    loaded = round_trip([array, tensor])
    loaded[0][0] = 100.0
    loaded[1].mul_(0)
    assert array[0] != 100.0 and tensor.numpy()[1] != 0


def test_paths_and_file_objects(tmp_path, rng):
    array = rng.normal(size=5)
    for target in (str(tmp_path / "a.pt"), tmp_path / "b.pt"):
        nnx.save({"w": array}, target)
        np.testing.assert_array_equal(nnx.load(target)["w"], array)
    with open(tmp_path / "c.pt", "wb") as file:
        nnx.save(array, file)
    with open(tmp_path / "c.pt", "rb") as file:
        np.testing.assert_array_equal(nnx.load(file), array)

    class Stream(io.RawIOBase):  # a read-only, unseekable stream (a pipe, a socket)
        def __init__(self, data):
            self.data = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, buffer):
            chunk = self.data.read(len(buffer))
            buffer[:len(chunk)] = chunk
            return len(chunk)

    np.testing.assert_array_equal(nnx.load(Stream(saved_bytes(array))), array)


def test_model_and_optimizer_reload_continues_training_identically(tmp_path, rng):
    X = nnx.tensor(rng.normal(size=(16, 3)).astype(np.float32))
    y = nnx.tensor(rng.integers(0, 2, size=16))

    def make():
        nnx.manual_seed(0)
        model = nnx.nn.Sequential(nnx.nn.Linear(3, 8), nnx.nn.BatchNorm1d(8), nnx.nn.ReLU(), nnx.nn.Linear(8, 2))
        return model, nnx.optim.Adam(model.parameters(), lr=0.05)

    def steps(model, opt, n):
        for _ in range(n):
            opt.zero_grad()
            nnx.nn.functional.cross_entropy(model(X), y).backward()
            opt.step()

    model, opt = make()
    steps(model, opt, 3)
    nnx.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 3}, tmp_path / "ckpt.pt")
    steps(model, opt, 4)

    fresh_model, fresh_opt = make()
    fresh_model[0].weight.data.mul_(0)  # differs from the saved state until loaded
    checkpoint = nnx.load(tmp_path / "ckpt.pt")
    fresh_model.load_state_dict(checkpoint["model"])
    fresh_opt.load_state_dict(checkpoint["opt"])
    assert checkpoint["epoch"] == 3
    steps(fresh_model, fresh_opt, 4)
    for (name, value), (_, expected) in zip(fresh_model.state_dict().items(), model.state_dict().items()):
        np.testing.assert_array_equal(value.numpy(), expected.numpy(), err_msg=name)


class Custom:
    pass


@pytest.mark.parametrize("obj,where", [
    (Custom(), "obj of type Custom"), ({"a": [1, {2}]}, "obj['a'][1]"), ({"f": print}, "obj['f']"),
    (np.array(["a", "b"]), "dtype <U1"), (np.array([object()]), "dtype object"),
    ({(1, 2): 3}, "key of type tuple"), (b"bytes", "bytes"), (1 + 2j, "complex"),
])
def test_anything_else_is_refused_on_save(obj, where):
    buffer = io.BytesIO()
    with pytest.raises(TypeError, match=pytest.importorskip("re").escape(where)):
        nnx.save(obj, buffer)


def test_too_deep_nesting_is_refused_on_save():
    obj = []
    for _ in range(150):
        obj = [obj]
    with pytest.raises(TypeError, match="nested more than"):
        nnx.save(obj, io.BytesIO())


def test_a_failed_save_leaves_an_existing_file_intact(tmp_path):
    path = tmp_path / "w.pt"
    nnx.save([1, 2], path)
    with pytest.raises(TypeError):
        nnx.save([Custom()], path)
    assert nnx.load(path) == [1, 2]


def test_truncated_files_raise_serialization_error(rng):
    data = saved_bytes({"w": rng.normal(size=(20, 20)), "b": nnx.ones(3)})
    for length in list(range(0, len(data), max(1, len(data) // 97))) + [len(data) - 1]:
        with pytest.raises(SerializationError):
            nnx.load(io.BytesIO(data[:length]))


def test_flipped_bytes_raise_serialization_error_or_change_nothing(rng):
    obj = {"w": rng.normal(size=(8, 8)), "t": nnx.tensor(rng.normal(size=3)), "n": [1, "x"]}
    data = saved_bytes(obj)
    for position in rng.choice(len(data), size=300, replace=False):
        damaged = bytearray(data)
        damaged[position] ^= 1 << int(rng.integers(8))
        try:
            loaded = nnx.load(io.BytesIO(bytes(damaged)))
        except SerializationError:
            continue
        # a flip in a zip field nothing reads (a timestamp, say) is harmless: the content must be intact
        np.testing.assert_array_equal(loaded["w"], obj["w"])
        np.testing.assert_array_equal(loaded["t"].numpy(), obj["t"].numpy())
        assert loaded["n"] == [1, "x"]


def rewrite(data, change):
    """The archive `data` with its members passed through change(name, bytes) -> (bytes, compress_type)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content, compression = change(info.filename, source.read(info.filename))
            target.writestr(info.filename, content, compress_type=compression)
    return out.getvalue()


def header_member(header):
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(json.dumps(header).encode(), dtype=np.uint8))
    return buffer.getvalue()


def test_a_compressed_bomb_is_refused_before_it_is_inflated():
    data = saved_bytes({"w": np.zeros(10, np.float32)})
    bomb = rewrite(data, lambda name, content: (content + b"\0" * (16 << 20) if name == "a0.npy" else content,
                                                zipfile.ZIP_DEFLATED))
    assert len(bomb) < (1 << 20)
    with pytest.raises(SerializationError, match="compressed"):
        nnx.load(io.BytesIO(bomb))


def test_a_huge_declared_shape_is_refused_without_allocating():
    data = saved_bytes({"w": np.zeros(10, np.float32)})
    header = json.loads(np.load(io.BytesIO(data))["header"].tobytes())
    ref = header["content"]["__dict__"][0][1]["__array__"]
    ref["shape"] = [10**6, 10**6]

    def change(name, content):
        if name == "header.npy":
            return header_member(header), zipfile.ZIP_STORED
        if name == "a0.npy":  # a .npy header that agrees with the lie
            return content.replace(b"(10,)", b"(1000000, 1000000)"), zipfile.ZIP_STORED
        return content, zipfile.ZIP_STORED
    with pytest.raises(SerializationError):
        nnx.load(io.BytesIO(rewrite(data, change)))


def test_a_member_referenced_many_times_is_refused():
    # one 8 KB member named 1000 times in the header would be read 1000 times: refused, not amplified
    data = saved_bytes([np.zeros(1024)])
    header = json.loads(np.load(io.BytesIO(data))["header"].tobytes())
    header["content"] = header["content"] * 1000
    with pytest.raises(SerializationError, match="more than once"):
        nnx.load(io.BytesIO(rewrite(data, lambda name, content: (
            header_member(header) if name == "header.npy" else content, zipfile.ZIP_STORED))))


@pytest.mark.parametrize("depth", [150, 100_000])
def test_a_deeply_nested_header_is_refused(depth):
    data = saved_bytes([1])
    text = '{"format": "nnx.save", "version": 1, "sha256": "", "content": ' + "[" * depth + "]" * depth + "}"
    member = io.BytesIO()
    np.save(member, np.frombuffer(text.encode(), dtype=np.uint8))
    with pytest.raises(SerializationError, match="nested|Recursion"):
        nnx.load(io.BytesIO(rewrite(data, lambda name, content: (
            member.getvalue() if name == "header.npy" else content, zipfile.ZIP_STORED))))


def test_foreign_files_are_refused(tmp_path):
    single = io.BytesIO()
    np.save(single, np.arange(3))
    plain_npz = io.BytesIO()
    np.savez(plain_npz, header=np.arange(3))
    for data in (b"", b"hello", single.getvalue(), plain_npz.getvalue(), struct.pack("<I", 0x04034B50) * 10):
        with pytest.raises(SerializationError):
            nnx.load(io.BytesIO(data))


def test_a_pickle_based_torch_file_is_refused_without_running_it(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "torch.pt"
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(SerializationError):
        nnx.load(path)


def test_bad_arguments_name_themselves(tmp_path):
    with pytest.raises(TypeError, match="f must be"):
        nnx.save([1], 42)
    with pytest.raises(TypeError, match="f must be"):
        nnx.load(42)
    with pytest.raises(TypeError, match="map_location"):
        nnx.load(io.BytesIO(saved_bytes([1])), map_location=3.5)
    with pytest.raises(TypeError, match="weights_only"):
        nnx.load(io.BytesIO(saved_bytes([1])), weights_only="yes")
    with pytest.raises(FileNotFoundError):
        nnx.load(pathlib.Path(tmp_path) / "missing.pt")


def test_map_location_and_devices(fake_cuda_module, rng):
    array = rng.normal(size=3).astype(np.float32)
    on_gpu = nnx.tensor(array).to("cuda")
    data = saved_bytes({"gpu": on_gpu, "cpu": nnx.tensor(array)})
    default = nnx.load(io.BytesIO(data))
    assert default["gpu"].device.type == "cuda" and default["cpu"].device.type == "cpu"
    on_cpu = nnx.load(io.BytesIO(data), map_location="cpu")
    assert on_cpu["gpu"].device.type == "cpu"
    np.testing.assert_array_equal(on_cpu["gpu"].numpy(), array)
    mapped = nnx.load(io.BytesIO(data), map_location={"cuda:0": "cpu"})
    assert mapped["gpu"].device.type == "cpu"
    everything_on_gpu = nnx.load(io.BytesIO(data), map_location=nnx.device("cuda"))
    assert everything_on_gpu["cpu"].device.type == "cuda"
    fake_cuda_module.reset()


def test_a_cuda_tensor_without_cuda_says_to_use_map_location(fake_cuda_module):
    from nnx.native import cuda as cuda_backend
    data = saved_bytes(nnx.ones(2).to("cuda"))
    previous = cuda_backend.use_native_module(None)
    try:
        with pytest.raises(RuntimeError, match="map_location='cpu'"):
            nnx.load(io.BytesIO(data))
        np.testing.assert_array_equal(nnx.load(io.BytesIO(data), map_location="cpu").numpy(), [1.0, 1.0])
    finally:
        cuda_backend.use_native_module(previous)
