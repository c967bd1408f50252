"""int8 weight storage: a quarter of fp32's bytes, per-channel error bounded by half a step, refused when damaged."""

from __future__ import annotations

import json
import struct

import pytest
import torch
from torch import nn

from deblur_cli.weights.errors import WeightsFormatError
from deblur_cli.weights.io import SCALE_SUFFIX, load_weights, read_metadata, save_weights


def _net() -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 64, 3), nn.InstanceNorm2d(64, affine=True), nn.ConvTranspose2d(64, 32, 4),
                        nn.Conv2d(32, 3, 1))
    with torch.no_grad():  # channels of very different ranges: one scale for the tensor would crush the small ones
        net[0].weight.mul_(torch.logspace(-3, 0, 64)[:, None, None, None])
    return net


def test_int8_round_trip_keeps_keys_and_bounds_each_channels_error(tmp_path):
    net = _net()
    save_weights(net, tmp_path / "q.safetensors", dtype="int8", metadata={"variant": "x"})
    loaded = load_weights(tmp_path / "q.safetensors")
    state = net.state_dict()
    assert loaded.keys() == state.keys()  # the scales stay inside the file
    assert read_metadata(tmp_path / "q.safetensors")["dtype"] == "int8"
    for key, value in state.items():
        assert loaded[key].shape == value.shape, key
        flat, got = value.reshape(value.shape[0], -1), loaded[key].float().reshape(value.shape[0], -1)
        if value.numel() >= 1024 and value.dim() >= 2:  # quantised: error <= half a step of its own channel
            assert loaded[key].dtype == torch.float32, key
            step = flat.abs().amax(dim=1, keepdim=True) / 127
            assert ((got - flat).abs() <= step / 2 + 1e-7).all(), key
            assert not torch.equal(got, flat), key  # it really was rounded
        else:  # small tensors are fp16
            assert torch.equal(got, flat.half().float()), key


def test_int8_file_is_about_a_quarter_of_fp32(tmp_path):
    net = _net()
    save_weights(net, tmp_path / "a.safetensors", dtype="fp32")
    save_weights(net, tmp_path / "b.safetensors", dtype="int8")
    ratio = (tmp_path / "b.safetensors").stat().st_size / (tmp_path / "a.safetensors").stat().st_size
    assert 0.2 < ratio < 0.35


def test_int8_network_output_stays_close(tmp_path):
    net = _net().eval()
    save_weights(net, tmp_path / "q.safetensors", dtype="int8")
    copy = _net().eval()
    copy.load_state_dict(load_weights(tmp_path / "q.safetensors"))
    x = torch.rand(1, 3, 24, 24)
    with torch.no_grad():
        a, b = net(x), copy(x)
    assert (a - b).abs().max() < 0.02 * a.abs().max()


def _rename(path, old, new):
    """Rename one tensor in a safetensors header; offsets stay valid, so only our own checks can object."""
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    header[new] = header.pop(old)
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + n:])


def test_an_int8_tensor_without_its_scale_is_refused(tmp_path):
    path = tmp_path / "q.safetensors"
    save_weights(_net(), path, dtype="int8")
    _rename(path, f"0.weight{SCALE_SUFFIX}", "0.weight-scale")
    with pytest.raises(WeightsFormatError, match=r"int8 tensor 0\.weight has no scale"):
        load_weights(path)


def test_a_scale_without_its_tensor_is_refused(tmp_path):
    path = tmp_path / "q.safetensors"
    save_weights(_net(), path, dtype="int8")
    _rename(path, "0.weight", "0.kernel")
    with pytest.raises(WeightsFormatError, match="no quantised tensor beside it"):
        load_weights(path)


def test_a_key_that_looks_like_a_scale_cannot_be_saved(tmp_path):
    with pytest.raises(ValueError, match="may not contain"):
        save_weights({f"a{SCALE_SUFFIX}": torch.zeros(2)}, tmp_path / "x.safetensors")
