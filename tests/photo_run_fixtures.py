"""The smallest photo recipe a training test can run in seconds: a tiny `bag-compact` on 32 px crops of photos
of about 0.015 megapixels, L1 only. The photo-training tests write it with the few keys they vary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from deblur_cli.data.standins import photo_like


def write_standin_photos(folder: Path, count: int, seed: int = 0) -> Path:
    """``count`` photo-like 320x240 PNGs (``p0.png``, ...) in ``folder``, the same for the same seed."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        Image.fromarray(photo_like(rng, 240, 320)).save(folder / f"p{i}.png")
    return folder


def write_tiny_photo_config(path: Path, *, length: int, max_steps: int, val_every: int, workers: int = 0,
                            engine: str | None = None, ckpt_every: int | None = None, max_extent: float = 6,
                            lr: float = 1e-3) -> Path:
    lines = [
        "[model]",
        'variant = "bag-compact"',
        "overrides = { channels = 8, growth = 4, modules = 1 }",
        "[data]",
        'kind = "photos"',
        f"length = {length}",
        "crop = 32",
        "batch = 2",
        f"workers = {workers}",
        *([f'engine = "{engine}"'] if engine else []),
        f"photos = {{ megapixels = [0.012, 0.019], max_extent = {max_extent:g} }}",
        "[data.val]",
        'kind = "photos"',
        "count = 2",
        "crop = 32",
        "[[losses]]",
        'type = "l1"',
        "[optim]",
        f"lr = {lr:g}",
        "[train]",
        f"max_steps = {max_steps}",
        f"val_every = {val_every}",
        *([f"ckpt_every = {ckpt_every}"] if ckpt_every else []),
        "log_every = 1",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path
