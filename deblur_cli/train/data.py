"""Training and validation data: datasets from the config, and a batch order that can resume mid-epoch.

Datasets come from :mod:`deblur_cli.data.datasets` (procedural pairs, GoPro, paired folders). Their items
are functions of (seed, index, epoch), so the only state training has to keep is *where* it is: the epoch
and how many batches of it were used. :class:`EpochBatches` draws each epoch's order from
(seed, epoch) alone and can start at any batch, which is what makes a resumed run see exactly the batches
a straight run would have seen. Under ``torchrun`` each rank takes every world-th index of the epoch's
permutation (as ``DistributedSampler`` does) so ranks never share an image within an epoch.

``kind = "noise"`` is a tiny stand-in (smooth random images and a box blur) for smoke tests and the
trainer's own tests; it is not for training models anyone should use.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Optional

import torch
from torch.nn import functional as F
from torch.utils.data import Dataset, Sampler

from ..data.mix import photo_mix, synth_config
from ..errors import DeblurError


class NoisePairs(Dataset):
    """Index-deterministic (blur, sharp) pairs of smooth noise; for tests and smoke runs only."""

    def __init__(self, length: int, seed: int, crop: int = 32):
        self.length, self.seed, self.crop, self.epoch = length, seed, crop, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch * 100_003 + index)
        low = torch.rand(1, 3, max(2, self.crop // 4), max(2, self.crop // 4), generator=g)
        sharp = F.interpolate(low, size=(self.crop, self.crop), mode="bilinear", align_corners=False)[0]
        blur = F.avg_pool2d(sharp[None], 5, stride=1, padding=2, count_include_pad=False)[0]
        return {"blur": blur, "sharp": sharp, "name": f"noise-{index:06d}"}


def _datasets_module():
    from ..data import datasets  # imported on use: the noise pairs need neither PIL nor the renderer

    return datasets


def _gopro_root(root: str, data_root: Optional[str], where: str) -> str:
    chosen = data_root or root
    if not chosen:
        raise DeblurError(f"{where}: GoPro data needs a root folder: pass --data-root PATH "
                          "(the folder that holds train/ and test/)")
    if not Path(chosen).expanduser().is_dir():
        raise DeblurError(f"{where}: GoPro root {chosen} is not a folder")
    return str(Path(chosen).expanduser())


def synth_cache_dir(setting: str) -> Optional[str]:
    if not setting:
        return None
    if setting == "auto":
        base = Path(os.environ.get("DEBLUR_CACHE") or Path.home() / ".cache" / "deblur")
        return str(base / "synth")
    return str(Path(setting).expanduser())


def build_train_dataset(cfg, data_root: Optional[str] = None) -> Dataset:
    d = cfg.data
    where = f"{cfg.path}: [data]"
    if d.kind == "noise":
        return NoisePairs(d.length, d.seed, d.crop or 32)
    ds = _datasets_module()
    if d.kind == "synthetic":
        return ds.SynthDataset(d.length, d.seed, crop=d.crop, size=d.size, motion=d.motion,
                               config=synth_config(d.synth), cache_dir=synth_cache_dir(d.cache_dir),
                               augment=d.augment)
    if d.kind == "photos":
        folder = data_root or d.root
        if not folder:
            raise DeblurError(f"{where}: kind = 'photos' needs root (a folder of sharp photos, e.g. from "
                              "`deblur photos fetch`) or --data-root PATH")
        procedural = None
        if d.procedural_share > 0:
            procedural = ds.SynthDataset(d.length, d.seed, crop=d.crop, size=d.size, motion=d.motion,
                                         config=synth_config(d.synth), cache_dir=synth_cache_dir(d.cache_dir),
                                         augment=d.augment)
        dataset = ds.PhotoDataset(folder, d.length, d.seed, crop=d.crop or 128, motion=d.motion,
                                  mix=photo_mix(d.photos), augment=d.augment, procedural=procedural,
                                  procedural_share=d.procedural_share, engine=d.engine)
        dataset.pool.preload()  # before any worker forks: each epoch's workers would otherwise decode them again
        return dataset
    if d.kind == "gopro":
        return ds.GoProDataset(_gopro_root(d.root, data_root, where), split=d.split, blur_kind=d.blur_kind,
                               crop=d.crop, seed=d.seed, augment=d.augment)
    return ds.PairedFolderDataset(d.blur_dir, d.sharp_dir, crop=d.crop, seed=d.seed, augment=d.augment)


class _Subset(Dataset):
    def __init__(self, base: Dataset, indices: list[int]):
        self.base, self.indices = base, indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict:
        return self.base[self.indices[i]]


def build_val_dataset(cfg, data_root: Optional[str] = None) -> Optional[Dataset]:
    """The fixed held-out set: procedural with its own seed, or ``count`` evenly spaced file pairs."""
    v = cfg.data.val
    where = f"{cfg.path}: [data.val]"
    if v.kind == "none":
        return None
    if v.kind == "noise":
        return NoisePairs(v.count, v.seed, v.crop or 32)
    ds = _datasets_module()
    if v.kind == "synthetic":
        return ds.SynthDataset(v.count, v.seed, crop=None, size=v.crop or 256, motion=cfg.data.motion,
                               config=synth_config(cfg.data.synth), cache_dir=synth_cache_dir(cfg.data.cache_dir),
                               augment=False)
    if v.kind == "photos":
        return ds.PhotoDataset(_val_photos(cfg, data_root, where), v.count, v.seed, crop=v.crop or 256,
                               motion="blurred", mix=photo_mix(cfg.data.photos), augment=False)
    if v.kind == "gopro":
        if cfg.data.kind == "photos":  # --data-root and [data] root name the training photos, not this set
            data_root, root = None, v.root
        else:
            root = v.root or cfg.data.root
        base = ds.GoProDataset(_gopro_root(root, data_root, where), split=v.split,
                               blur_kind=v.blur_kind, crop=None, augment=False)
    else:
        base = ds.PairedFolderDataset(v.blur_dir, v.sharp_dir, crop=None, augment=False)
    n = len(base)
    if n == 0:
        raise DeblurError(f"{where}: the validation set is empty")
    count = min(v.count, n)
    return _Subset(base, sorted({round(i * (n - 1) / max(1, count - 1)) for i in range(count)}))


def _val_photos(cfg, data_root: Optional[str], where: str) -> str:
    """[data.val] root, or the ``val`` folder beside the training photos (the layout `deblur photos fetch` writes)."""
    if cfg.data.val.root:
        return cfg.data.val.root
    train_folder = data_root or cfg.data.root
    if not train_folder:
        raise DeblurError(f"{where}: kind = 'photos' needs root (a folder of held-out sharp photos)")
    sibling = Path(train_folder).expanduser().resolve().parent / "val"
    if not sibling.is_dir():
        raise DeblurError(f"{where}: no root given and no {sibling} beside the training photos; set root to a "
                          "folder of held-out photos (never the training ones)")
    if sibling == Path(train_folder).expanduser().resolve():
        raise DeblurError(f"{where}: the validation photos must not be the training photos ({sibling})")
    return str(sibling)


def centre_crop(x: torch.Tensor, size: Optional[int]) -> torch.Tensor:
    if not size:
        return x
    h, w = x.shape[-2:]
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return x[..., top: top + size, left: left + size]


def rescale(x: torch.Tensor, scale: float) -> torch.Tensor:
    """Resize a batch by ``scale`` (area filter); report 003 trained on GoPro halved to 640x360."""
    if scale == 1.0:
        return x
    return F.interpolate(x, scale_factor=scale, mode="area", recompute_scale_factor=False)


class EpochBatches(Sampler[list]):
    """Batches of indices for one epoch, in an order fixed by (seed, epoch), starting at any batch.

    Incomplete final batches are dropped (every step sees ``batch`` images per rank).
    """

    def __init__(self, n: int, batch: int, seed: int, rank: int = 0, world: int = 1):
        self.n, self.batch, self.seed, self.rank, self.world = n, batch, seed, rank, world
        self.epoch, self.start = 0, 0
        if self.batches_per_epoch() == 0:
            raise DeblurError(f"the training set has {n} items, fewer than one batch of {batch} per process "
                              f"x {world} processes")

    def batches_per_epoch(self) -> int:
        return (self.n // self.world) // self.batch

    def set_position(self, epoch: int, start_batch: int) -> None:
        self.epoch, self.start = epoch, start_batch

    def __len__(self) -> int:
        return max(0, self.batches_per_epoch() - self.start)

    def __iter__(self) -> Iterator[list]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(self.n, generator=g)[: (self.n // self.world) * self.world]
        mine = order[self.rank:: self.world].tolist()
        for b in range(self.start, self.batches_per_epoch()):
            yield mine[b * self.batch: (b + 1) * self.batch]
