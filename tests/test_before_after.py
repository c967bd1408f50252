"""tools/make_before_after.py --photo, the README's picture: the window it shows and the numbers it prints, with the
network replaced."""

import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import make_before_after  # noqa: E402


def test_the_most_changed_window_is_found_on_the_search_grid():
    rng = np.random.default_rng(0)
    change = rng.random((90, 130)) * 0.01
    change[40:70, 60:100] += 1.0  # the network's work is here
    y, x = make_before_after._most_changed_window(change, 30, 40, step=5)
    brute = max(((change[yy:yy + 30, xx:xx + 40].sum(), yy, xx) for yy in range(0, 61, 5) for xx in range(0, 91, 5)))
    assert (y, x) == brute[1:] == (40, 60)


class Sharpen:
    """Stands in for the network: an unsharp mask, so that output and input differ most along edges."""

    def restore(self, x: np.ndarray) -> np.ndarray:
        blur = (np.roll(x, 1, 0) + np.roll(x, -1, 0) + np.roll(x, 1, 1) + np.roll(x, -1, 1)) / 4
        return np.clip(x + 0.5 * (x - blur), 0, 1)


def test_the_photo_picture_shows_three_zoomed_windows_and_reports_both_psnrs(tmp_path, monkeypatch):
    from deblur_cli.inference import api

    monkeypatch.setattr(api, "load_model", lambda name, **kw: Sharpen())
    photo = np.zeros((300, 400, 3), np.uint8)
    photo[:, 200:] = 230  # one vertical edge: the only place where the blur and the stand-in change anything
    Image.fromarray(photo).save(tmp_path / "edge.png")
    summary = make_before_after.photo_before_after(tmp_path / "edge.png", "any", 1, out=tmp_path / "pic.jpg")
    assert summary.startswith("edge.png, 25 px of shake, any: whole photo ")
    x = int(summary.split("window at (")[1].split(")")[0].split(", ")[1])
    assert x < 200 < x + 300  # the window holds the edge
    picture = Image.open(tmp_path / "pic.jpg")
    assert picture.size == (3 * 600 + 2 * 6, 440)  # blurred | restored | sharp at 200 %, 6 px gaps
