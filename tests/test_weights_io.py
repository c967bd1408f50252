"""safetensors save/load: round trips, fp16 storage, sha256 checked before parsing, pickle refused."""

from __future__ import annotations

import hashlib
import os

import pytest
import torch
from torch import nn

from deblur_cli.errors import DeblurError
from deblur_cli.weights import io
from deblur_cli.weights.errors import WeightsFormatError, WeightsIntegrityError
from deblur_cli.weights.io import load_weights, read_metadata, save_weights, sha256_file


def _net(width: int = 4) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, width, 3), nn.BatchNorm2d(width), nn.Conv2d(width, 3, 1))


def test_round_trip_is_exact_and_returns_the_files_sha256(tmp_path):
    net = _net()
    path = tmp_path / "w.safetensors"
    sha = save_weights(net, path, metadata={"variant": "bag-compact", "steps": 12})
    assert sha == sha256_file(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    loaded = load_weights(path, expected_sha256=sha)
    expected = net.state_dict()
    assert loaded.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(loaded[key], value), key
    assert read_metadata(path) == {"format": "pt", "dtype": "fp32", "variant": "bag-compact", "steps": "12"}


def test_state_dict_input_with_shared_storage_is_saved(tmp_path):
    weight = torch.randn(4, 4)
    state = {"a": weight, "b": weight, "c": weight[:2]}  # safetensors alone refuses shared storage
    save_weights(state, tmp_path / "s.safetensors")
    loaded = load_weights(tmp_path / "s.safetensors")
    assert torch.equal(loaded["b"], weight) and torch.equal(loaded["c"], weight[:2])


def test_fp16_storage_casts_floating_tensors_only(tmp_path):
    net = _net(width=64)  # enough tensor bytes that the JSON header does not dominate the file size
    full, half = tmp_path / "full.safetensors", tmp_path / "half.safetensors"
    save_weights(net, full)
    save_weights(net, half, dtype="fp16")
    loaded = load_weights(half)
    assert loaded["0.weight"].dtype == torch.float16
    assert loaded["1.num_batches_tracked"].dtype == torch.int64
    assert torch.allclose(loaded["0.weight"].float(), net.state_dict()["0.weight"], atol=1e-3)
    assert half.stat().st_size < 0.7 * full.stat().st_size
    assert read_metadata(half)["dtype"] == "fp16"
    with pytest.raises(ValueError, match="dtype"):
        save_weights(net, tmp_path / "x.safetensors", dtype="int4")


def test_write_is_atomic_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "w.safetensors"
    path.write_bytes(b"old")
    save_weights(_net(), path)
    assert [p.name for p in tmp_path.iterdir()] == ["w.safetensors"]
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask  # not mkstemp's 0600


def test_sha256_mismatch_is_refused_before_the_file_is_parsed(tmp_path, monkeypatch):
    path = tmp_path / "w.safetensors"
    sha = save_weights(_net(), path)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # one flipped bit in a tensor: still parses, must not load
    path.write_bytes(bytes(data))
    parsed = []
    import safetensors.torch

    monkeypatch.setattr(safetensors.torch, "load", lambda *a, **k: parsed.append(1))
    with pytest.raises(WeightsIntegrityError, match="w.safetensors.*does not match") as err:
        load_weights(path, expected_sha256=sha)
    assert isinstance(err.value, DeblurError)
    assert parsed == []


@pytest.mark.parametrize("suffix", [".pth", ".pt", ".ckpt"])
def test_pickle_checkpoints_are_refused_without_unpickling(tmp_path, monkeypatch, suffix):
    path = tmp_path / f"model{suffix}"
    torch.save(_net().state_dict(), path)
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load must never be called"))
    with pytest.raises(WeightsFormatError, match=rf"model\{suffix}.*pickle"):
        load_weights(path)


@pytest.mark.parametrize("zip_format", [True, False])
def test_pickle_renamed_to_safetensors_is_refused_by_content(tmp_path, zip_format):
    path = tmp_path / "sneaky.safetensors"
    torch.save(_net().state_dict(), path, _use_new_zipfile_serialization=zip_format)
    with pytest.raises(WeightsFormatError, match="sneaky.safetensors.*pickle"):
        load_weights(path)
    with pytest.raises(WeightsFormatError, match="pickle"):
        read_metadata(path)


def test_header_length_that_starts_like_a_pickle_opcode_is_still_safetensors(tmp_path):
    # A safetensors file starts with its header length, little-endian: a 640-byte header starts with the
    # same two bytes as a protocol-2 pickle (PROTO 2).
    path = tmp_path / "w.safetensors"
    for pad in range(700):
        save_weights({"w": torch.ones(2)}, path, metadata={"pad": "x" * pad})
        if path.read_bytes()[:2] == b"\x80\x02":
            break
    assert path.read_bytes()[:2] == b"\x80\x02"
    assert torch.equal(load_weights(path)["w"], torch.ones(2))
    assert read_metadata(path)["dtype"] == "fp32"


@pytest.mark.parametrize("content", [b"", b"abc", (10**9).to_bytes(8, "little") + b"{}", b"\x02\0\0\0\0\0\0\0[]"])
def test_garbage_is_a_format_error_naming_the_file(tmp_path, content):
    path = tmp_path / "junk.safetensors"
    path.write_bytes(content)
    with pytest.raises(WeightsFormatError, match="junk.safetensors"):
        load_weights(path)


def test_other_extensions_and_missing_files(tmp_path):
    with pytest.raises(WeightsFormatError, match="not a .safetensors file"):
        load_weights(tmp_path / "weights.npz")
    with pytest.raises(WeightsFormatError, match="no such file"):
        load_weights(tmp_path / "absent.safetensors")


def test_sha256_file_streams_in_chunks(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(os.urandom(3000))
    assert io.sha256_file(path, chunk_size=64) == hashlib.sha256(path.read_bytes()).hexdigest()
