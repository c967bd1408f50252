"""Torch datasets of (blurred, sharp) pairs: procedural, GoPro, and any paired folders.

Items are dicts ``{"blur": 3xHxW, "sharp": 3xHxW, "name": str}`` float32 in [0, 1]. With ``crop`` set, a random
crop (the same window in both images) and random flips/transposes are taken, deterministically from the dataset's
seed, the item index and the epoch (``set_epoch``), so a resumed training run sees the same data.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..atomic import atomic_path
from ..errors import DeblurError
from ..images import read_image
from ..measure.levels import quantize
from .layouts import find_pairs, match_folders
from .mix import PhotoMix
from .pair_plan import plan_photo_pair
from .photo_batches import collate_pairs
from .photo_pairs import PhotoPool, find_photos, make_photo_pair
from .synth import SynthConfig, make_pair

SYNTH_VERSION = "4"  # bump when the generator changes, so caches of older pairs are not reused


def _to_tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1), dtype=np.float32))


class PairedCrops(Dataset):
    """Shared crop/flip logic; subclasses provide ``_load(index) -> (blur, sharp, name)``."""

    def __init__(self, crop: int | None, seed: int, augment: bool):
        self.crop, self.seed, self.augment, self.epoch = crop, seed, augment, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, index, self.epoch, 0xC0])

    def __getitem__(self, index: int) -> dict:
        blur, sharp, name = self._load(index)
        if blur.shape != sharp.shape:
            raise DeblurError(f"{name}: blurred {blur.shape[:2]} and sharp {sharp.shape[:2]} sizes differ")
        if self.crop:
            rng = self._rng(index)
            h, w = blur.shape[:2]
            if h < self.crop or w < self.crop:
                raise DeblurError(f"{name}: image {w}x{h} is smaller than the {self.crop} crop")
            y, x = int(rng.integers(0, h - self.crop + 1)), int(rng.integers(0, w - self.crop + 1))
            blur, sharp = blur[y:y + self.crop, x:x + self.crop], sharp[y:y + self.crop, x:x + self.crop]
            if self.augment:
                ops = rng.integers(0, 2, 3)
                for flag, op in zip(ops, (lambda a: a[:, ::-1], lambda a: a[::-1], lambda a: a.transpose(1, 0, 2))):
                    if flag:
                        blur, sharp = op(blur), op(sharp)
        return {"blur": _to_tensor(blur), "sharp": _to_tensor(sharp), "name": name}


class SynthDataset(PairedCrops):
    """Procedural pairs: item ``i`` is ``make_pair(rng(seed, i))`` at ``size``, cropped to ``crop``.

    Pairs depend only on (seed, index, size, motion, generator version), so ``cache_dir`` may keep them as
    uint8 files and later epochs or resumed runs read them back instead of rendering again.
    """

    def __init__(self, length: int, seed: int, crop: int | None = 256, size: int | None = None,
                 motion: str = "mixed", config: SynthConfig | None = None, cache_dir: str | os.PathLike | None = None,
                 augment: bool = True):
        super().__init__(crop, seed, augment)
        self.length, self.motion, self.config = length, motion, config or SynthConfig()
        self.size = size or (crop if crop else 256)
        self.cache_dir = Path(cache_dir) if cache_dir else None
        key = f"{SYNTH_VERSION}|{self.size}|{motion}|{self.config}".encode()
        self._tag = hashlib.sha1(key).hexdigest()[:10]

    def __len__(self) -> int:
        return self.length

    def _load(self, index: int):
        if not 0 <= index < self.length:
            raise IndexError(index)
        name = f"synth-{self.seed}-{index:06d}"
        path = self.cache_dir / self._tag / f"{self.seed}-{index:06d}.npz" if self.cache_dir else None
        if path is not None and path.exists():
            with np.load(path) as z:
                return z["blur"].astype(np.float32) / 255.0, z["sharp"].astype(np.float32) / 255.0, name
        blur, sharp = make_pair(np.random.default_rng([self.seed, index]), self.size, self.motion, self.config)
        if path is not None:
            with atomic_path(path) as tmp, open(tmp, "wb") as fh:  # a file object: np.savez adds no suffix
                np.savez(fh, blur=quantize(blur), sharp=quantize(sharp))
            blur, sharp = quantize(blur) / np.float32(255.0), quantize(sharp) / np.float32(255.0)  # as a cache hit
        return blur.astype(np.float32), sharp.astype(np.float32), name


class FolderPairs(PairedCrops):
    """Pairs found on disk by :func:`layouts.find_pairs` (GoPro and friends, or two plain folders)."""

    def __init__(self, pairs: list[tuple[Path, Path, str]], crop: int | None = None, seed: int = 0,
                 augment: bool = True):
        super().__init__(crop, seed, augment)
        self.pairs = pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def _load(self, index: int):
        blur_path, sharp_path, name = self.pairs[index]
        return read_image(blur_path).rgb, read_image(sharp_path).rgb, name


def GoProDataset(root: str | os.PathLike, split: str = "test", blur_kind: str = "blur", crop: int | None = None,
                 seed: int = 0, augment: bool = True) -> FolderPairs:
    """GOPRO_Large (or a re-packaged GoPro layout) split; ``blur_kind`` is "blur" or "blur_gamma"."""
    return FolderPairs(find_pairs(Path(root), split=split, blur_kind=blur_kind), crop, seed, augment)


def PairedFolderDataset(blur_dir: str | os.PathLike, sharp_dir: str | os.PathLike, crop: int | None = None,
                        seed: int = 0, augment: bool = True) -> FolderPairs:
    """``blur_dir`` and ``sharp_dir`` with matching file names (relative paths when nested)."""
    return FolderPairs(match_folders(Path(blur_dir), Path(sharp_dir)), crop, seed, augment)


PAIR_ENGINES = ("torch", "numpy")


class PhotoDataset(Dataset):
    """Real sharp photos under ``folder`` blurred on the fly (:func:`.photo_pairs.make_photo_pair`), ``crop`` x
    ``crop``. Item ``i`` of epoch ``e`` is a function of (seed, e, i); with ``procedural`` given, a
    ``procedural_share`` of items is taken from that dataset instead (its item of the same index).

    ``engine = "torch"``: items are plans (:mod:`.pair_plan`), rendered a batch at a time by :meth:`collate`
    (:mod:`.photo_batches`), on ``render_device``; a DataLoader must be given ``collate_fn=dataset.collate``."""

    def __init__(self, folder: str | os.PathLike, length: int, seed: int, crop: int = 128, motion: str = "mixed",
                 mix: PhotoMix | None = None, augment: bool = True, procedural: Dataset | None = None,
                 procedural_share: float = 0.0, engine: str = "numpy"):
        if engine not in PAIR_ENGINES:
            raise DeblurError(f"pair engine must be one of {', '.join(PAIR_ENGINES)}, not {engine!r}")
        self.mix = mix or PhotoMix()
        self.folder = Path(folder).expanduser()
        self.pool = PhotoPool(find_photos(folder), max(self.mix.megapixels))
        self.length, self.seed, self.crop, self.motion, self.augment = length, seed, crop, motion, augment
        self.procedural, self.procedural_share, self.epoch = procedural, procedural_share, 0
        self.engine, self.render_device = engine, "cpu"

    def collate(self, items: list[dict]) -> dict:
        return collate_pairs(items, self.render_device)

    def describe(self) -> dict:
        """Which photos the items are drawn from: their count and a hash of their paths (relative to the folder)
        and sizes. A run records it with every session, because a photo index names another photo once the
        folder gains or loses a file, and the data order of a resumed run changes with it."""
        listing = "".join(f"{p.relative_to(self.folder).as_posix()}\t{p.stat().st_size}\n" for p in self.pool.paths)
        return {"photos": len(self.pool), "photos_sha256": hashlib.sha256(listing.encode()).hexdigest()}

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        if self.procedural is not None:
            self.procedural.set_epoch(epoch)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < self.length:
            raise IndexError(index)
        rng = np.random.default_rng([self.seed, self.epoch, index, 0xF070])
        if self.procedural is not None and rng.random() < self.procedural_share:
            return self.procedural[index % len(self.procedural)]
        if self.engine == "torch":
            plan = plan_photo_pair(rng, self.pool, self.crop, self.motion, self.mix, self.augment)
            return {"plan": plan, "name": f"{self.pool.paths[plan.photo].stem}-{index:06d}"}
        blur, sharp, k = make_photo_pair(rng, self.pool, self.crop, self.motion, self.mix, self.augment)
        return {"blur": _to_tensor(blur), "sharp": _to_tensor(sharp), "name": f"{self.pool.paths[k].stem}-{index:06d}"}
