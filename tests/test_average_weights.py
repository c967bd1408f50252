"""tools/average_weights.py: weighted averages of weights files (SWA, WiSE-FT candidates)."""

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

from average_weights import average, parse_input

from deblur_cli.weights.io import save_weights


def _save(path, value, variant="bag-compact", shape=(2, 3)):
    save_weights({"w": torch.full(shape, value)}, path, dtype="fp32", metadata={"variant": variant})
    return path


def test_weighted_average_is_normalised(tmp_path):
    a, b = _save(tmp_path / "a.safetensors", 1.0), _save(tmp_path / "b.safetensors", 4.0)
    tensors, variant = average([parse_input(f"{a}:1"), parse_input(f"{b}:3")])
    assert variant == "bag-compact"
    assert torch.allclose(tensors["w"], torch.full((2, 3), 3.25))  # (1*1 + 3*4) / 4
    equal, _ = average([parse_input(str(a)), parse_input(str(b))])
    assert torch.allclose(equal["w"], torch.full((2, 3), 2.5))


def test_files_of_another_variant_or_shape_are_refused(tmp_path):
    a = _save(tmp_path / "a.safetensors", 1.0)
    with pytest.raises(SystemExit, match="not the bag-compact"):
        average([(a, 1.0), (_save(tmp_path / "b.safetensors", 1.0, variant="rir-compact"), 1.0)])
    with pytest.raises(SystemExit, match="other tensors"):
        average([(a, 1.0), (_save(tmp_path / "c.safetensors", 1.0, shape=(3, 2)), 1.0)])


def test_a_colon_in_a_path_without_a_weight_stays_in_the_path():
    assert parse_input("runs/a:b.safetensors") == (Path("runs/a:b.safetensors"), 1.0)
    assert parse_input("x.safetensors:0.25") == (Path("x.safetensors"), 0.25)
