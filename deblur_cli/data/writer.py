"""Write procedural pairs to disk in the GOPRO_Large layout, so eval and train read them like GoPro."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from .synth import SynthConfig, make_pair


def _save_png(path: Path, image: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)).save(tmp, "PNG")
    os.replace(tmp, path)


def write_synthetic_gopro(out: str | os.PathLike, n: int, seed: int, size: int = 256, split: str = "test",
                          motion: str = "mixed", per_sequence: int = 100, config: SynthConfig | None = None,
                          progress: Callable[[int], None] | None = None) -> Path:
    """``out/<split>/SYNTH_<seed>_<k>/{blur,blur_gamma,sharp}/NNNNNN.png``; pair i comes from rng(seed, i), as in
    ``SynthDataset(seed=seed)``. Our blur is averaged in linear light, so ``blur`` and ``blur_gamma`` hold the same
    images (both names are written so either ``--blur-kind`` works)."""
    root = Path(out)
    for i in range(n):
        seq = root / split / f"SYNTH_{seed}_{i // per_sequence:02d}"
        name = f"{i % per_sequence:06d}.png"
        if (seq / "sharp" / name).exists():
            if progress:
                progress(i)
            continue  # resumable: pairs are deterministic
        blur, sharp = make_pair(np.random.default_rng([seed, i]), size, motion, config)
        for kind, image in (("blur", blur), ("blur_gamma", blur), ("sharp", sharp)):
            (seq / kind).mkdir(parents=True, exist_ok=True)
            _save_png(seq / kind / name, image)
        if progress:
            progress(i)
    return root
