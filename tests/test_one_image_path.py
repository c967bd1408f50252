"""`deblur`, `deblur eval` and `deblur train` read images through one reader and restore with one set of defaults,
so eval scores the pixels that `deblur` writes (issue #14)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from deblur_cli.data.datasets import PairedFolderDataset
from deblur_cli.images import read_image
from deblur_cli.inference.settings import DEFAULTS


def _photo(h: int = 40, w: int = 56) -> np.ndarray:
    rng = np.random.default_rng(0)
    low = Image.fromarray((rng.random((5, 7, 3)) * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC)
    return np.asarray(low)


def _rotated_jpeg(path, upright: np.ndarray) -> None:
    """Store ``upright`` turned on its side with EXIF orientation 6, as a phone does."""
    exif = Image.Exif()
    exif[0x0112] = 6  # display = stored rotated 90 degrees clockwise
    Image.fromarray(np.ascontiguousarray(np.rot90(upright, 1))).save(path, quality=95, exif=exif)


def _run(main, args) -> int:
    with pytest.raises(SystemExit) as exc:
        main(args)
    return exc.value.code or 0


def test_eval_and_deblur_restore_the_same_pixels_of_a_rotated_photo(tmp_path, capsys):
    from deblur_cli.cli.app import main

    upright = _photo()
    (tmp_path / "blur").mkdir()
    (tmp_path / "sharp").mkdir()
    _rotated_jpeg(tmp_path / "blur" / "a.jpg", upright)
    Image.fromarray(upright).save(tmp_path / "sharp" / "a.jpg", quality=95)
    assert _run(main, ["eval", "--dataset", "pairs", "--blur", str(tmp_path / "blur"), "--sharp",
                       str(tmp_path / "sharp"), "-m", "bag-compact", "--save-images", str(tmp_path / "saved"),
                       "--no-flops", "--format", "markdown"]) == 0
    report = capsys.readouterr().out
    assert f"self-ensembled over {DEFAULTS.ensemble}" in report  # the report says what ran
    assert _run(main, [str(tmp_path / "blur" / "a.jpg"), "-m", "bag-compact", "-o", str(tmp_path / "out.png")]) == 0
    by_deblur = np.asarray(Image.open(tmp_path / "out.png"))
    by_eval = np.asarray(Image.open(tmp_path / "saved" / "bag-compact" / "a.png"))
    assert by_deblur.shape == upright.shape  # upright, as the sharp target
    assert np.array_equal(by_deblur, by_eval)


def test_training_and_eval_pairs_read_16_bit_and_orientation_as_deblur_does(tmp_path):
    upright = (np.linspace(0, 65535, 30 * 20).reshape(30, 20)).astype(np.uint16)
    exif = Image.Exif()
    exif[0x0112] = 8  # display = stored rotated 90 degrees counter-clockwise
    (tmp_path / "blur").mkdir()
    (tmp_path / "sharp").mkdir()
    Image.fromarray(np.ascontiguousarray(np.rot90(upright, -1))).save(tmp_path / "blur" / "g.png", exif=exif)
    Image.fromarray(upright).save(tmp_path / "sharp" / "g.png")
    item = PairedFolderDataset(tmp_path / "blur", tmp_path / "sharp", augment=False)[0]
    expected = read_image(tmp_path / "blur" / "g.png").rgb
    assert item["blur"].shape == (3, 30, 20)
    assert np.array_equal(item["blur"].permute(1, 2, 0).numpy(), expected)
    assert np.allclose(item["blur"][0].numpy(), upright / 65535.0, atol=1e-6)  # all 16 bits, upright


def test_the_library_defaults_are_the_commands_defaults():
    from deblur_cli.eval.eval_run import EvalOptions
    from deblur_cli.inference.api import load_model

    assert EvalOptions().restore == DEFAULTS and DEFAULTS.ensemble == 2
    assert load_model("bag-compact").ensemble == DEFAULTS.ensemble


def test_settings_travel_as_one_object_to_the_engine():
    from deblur_cli.inference.api import load_model
    from deblur_cli.inference.settings import RestoreSettings

    settings = RestoreSettings(ensemble=4, strength=1.5, tile="0", device="cpu", precision="fp32")
    restorer = load_model("bag-compact", settings=settings)
    assert (restorer.ensemble, restorer.strength, restorer.tile_mode) == (4, 1.5, "plain")
    assert str(restorer.device) == "cpu"
