"""Write (blurred, sharp) pairs to disk in the GOPRO_Large layout, so eval and train read them like GoPro:
procedural pairs, or pairs made from a folder of sharp photos."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np

from ..atomic import atomic_path, write_text_atomically
from ..errors import DeblurError
from ..images import write_pixels
from ..measure.levels import quantize
from .mix import PhotoMix
from .photo_pairs import PhotoPool, find_photos, make_photo_pair
from .photo_sources import sha256_of
from .synth import SynthConfig, make_pair


def _stamp(folder: Path, seed: int, recipe: dict, mix_defaults: dict | None = None) -> None:
    """Record how the pairs under ``folder`` are made, and refuse to add pairs made differently: resuming skips
    the pairs already written, so a second recipe would silently mix two datasets. A mix field that a stamp lacks
    (added to the mix after the pairs were written) matches its default, which makes no draws (``mix_defaults``)."""
    recipe = json.loads(json.dumps(recipe))  # tuples as lists, as they read back
    path = folder / "synth.json"
    stamps = json.loads(path.read_text()) if path.exists() else {}
    old = stamps.get(str(seed))
    if old is not None and mix_defaults and isinstance(old.get("mix"), dict):
        defaults = json.loads(json.dumps(mix_defaults))
        added = {k: v for k, v in recipe["mix"].items() if k not in old["mix"] and defaults.get(k) == v}
        old = {**old, "mix": {**old["mix"], **added}}
    if old is not None and old != recipe:
        changed = sorted(k for k in recipe if old.get(k) != recipe[k])
        raise DeblurError(f"{folder}: holds seed-{seed} pairs made with another {', '.join(changed)}; "
                          f"write to another --out or another --seed")
    stamps[str(seed)] = recipe
    write_text_atomically(path, json.dumps(stamps, indent=1) + "\n")


def write_synthetic_gopro(out: str | os.PathLike, n: int, seed: int, size: int = 256, split: str = "test",
                          motion: str = "mixed", per_sequence: int = 100, config: SynthConfig | None = None,
                          progress: Callable[[int], None] | None = None) -> Path:
    """``out/<split>/SYNTH_<seed>_<k>/{blur,blur_gamma,sharp}/NNNNNN.png``; pair i comes from rng(seed, i), as in
    ``SynthDataset(seed=seed)``. Our blur is averaged in linear light, so ``blur`` and ``blur_gamma`` hold the same
    images (both names are written so either ``--blur-kind`` works)."""
    config = config or SynthConfig()
    recipe = {"seed": seed, "size": size, "motion": motion, "mix": dataclasses.asdict(config)}
    return _write_pairs(Path(out), split, f"SYNTH_{seed}", seed, n, recipe, per_sequence, progress,
                        lambda i: make_pair(np.random.default_rng([seed, i]), size, motion, config))


def write_photo_gopro(out: str | os.PathLike, photos: str | os.PathLike, n: int, seed: int, size: int = 256,
                      split: str = "test", motion: str = "mixed", per_sequence: int = 100,
                      mix: PhotoMix | None = None, progress: Callable[[int], None] | None = None) -> Path:
    """Pairs made from the sharp photos under ``photos`` (:func:`.photo_pairs.make_photo_pair`), in the same layout
    as :func:`write_synthetic_gopro` under ``PHOTO_<seed>_<k>``; pair i comes from rng(seed, i). The photos'
    names and sha256 are part of the recorded recipe, so another folder cannot be mixed into the same set. A pair
    blurred by a uniform kernel also gets its true kernel, ``kernel/NNNNNN.npy`` (float32, sums to 1, applied in
    linear light), for the non-blind reference (:mod:`deblur_cli.eval.nonblind`)."""
    mix = mix or PhotoMix()
    paths = find_photos(photos)
    pool = PhotoPool(paths, max(mix.megapixels))
    recipe = {"seed": seed, "size": size, "motion": motion, "mix": dataclasses.asdict(mix),
              "photos": {p.relative_to(Path(photos).expanduser()).as_posix(): sha256_of(p)[:16] for p in paths}}

    def make(i: int):
        record: dict = {}
        blur, sharp, _ = make_photo_pair(np.random.default_rng([seed, i, 0xF070]), pool, size, motion, mix,
                                         augment=False, record=record)
        return blur, sharp, record

    return _write_pairs(Path(out), split, f"PHOTO_{seed}", seed, n, recipe, per_sequence, progress, make,
                        dataclasses.asdict(PhotoMix()))


def _write_pairs(root: Path, split: str, prefix: str, seed: int, n: int, recipe: dict, per_sequence: int,
                 progress: Callable[[int], None] | None, make: Callable[[int], tuple],
                 mix_defaults: dict | None = None) -> Path:
    _stamp(root / split, seed, recipe, mix_defaults)
    for i in range(n):
        seq = root / split / f"{prefix}_{i // per_sequence:02d}"
        name = f"{i % per_sequence:06d}.png"
        if not (seq / "sharp" / name).exists():  # resumable: pairs are deterministic
            blur, sharp, *extras = make(i)
            kernel = extras[0].get("kernel") if extras else None
            if kernel is not None:  # written before the sharp image, which marks a pair as complete
                (seq / "kernel").mkdir(parents=True, exist_ok=True)
                with atomic_path(seq / "kernel" / name.replace(".png", ".npy")) as tmp:
                    with open(tmp, "wb") as f:
                        np.save(f, kernel.astype(np.float32), allow_pickle=False)
            for kind, image in (("blur", blur), ("blur_gamma", blur), ("sharp", sharp)):
                (seq / kind).mkdir(parents=True, exist_ok=True)
                write_pixels(seq / kind / name, quantize(image))
        if progress:
            progress(i)
    return root
