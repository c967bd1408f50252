"""Evaluation sets by name: ``gopro``, ``pairs``, ``synthetic``, and whatever is registered later.

An opener takes the command's options (a plain dict) and returns an :class:`EvalSet`: a torch-style dataset
of full-size ``{"blur", "sharp", "name"}`` items plus a one-line description that the report prints (which
layout was found, which blur kind was used). Reading files and finding pairs is the data engine's job
(:mod:`deblur_cli.data`); this module only chooses and describes.

To add a layout (RealBlur, HIDE, ...)::

    @register_dataset("realblur", "RealBlur test list: --root PATH")
    def _open_realblur(opts): ...
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..data.datasets import FolderPairs, PairedFolderDataset, SynthDataset
from ..data.layouts import find_pairs
from ..data.synth import MOTIONS
from ..errors import UsageError


@dataclass
class EvalSet:
    name: str  # "gopro", "pairs", "synthetic", ...
    items: Any  # Dataset: len() and [i] -> {"blur": 3xHxW, "sharp": 3xHxW, "name": str}
    description: str  # printed with the results, e.g. "GoPro test, GOPRO_Large layout, blur (sRGB average)"

    def __len__(self) -> int:
        return len(self.items)


Opener = Callable[[dict], EvalSet]
_OPENERS: dict[str, tuple[Opener, str]] = {}


def register_dataset(name: str, usage: str) -> Callable[[Opener], Opener]:
    def deco(fn: Opener) -> Opener:
        _OPENERS[name] = (fn, usage)
        return fn
    return deco


def open_dataset(name: str, **opts: Any) -> EvalSet:
    if name not in _OPENERS:
        known = "; ".join(f"{n} ({usage})" for n, (_, usage) in _OPENERS.items())
        raise UsageError(f"unknown dataset {name!r}; known: {known}")
    return _OPENERS[name][0](opts)


def _need(opts: dict, key: str, dataset: str) -> Any:
    if opts.get(key) in (None, ""):
        raise UsageError(f"--dataset {dataset} needs --{key.replace('_', '-')}")
    return opts[key]


_BLUR_KINDS = {"blur": "blur (frames averaged in sRGB, as SRN, DeblurGAN-v2, MPRNet)",
               "blur_gamma": "blur_gamma (frames averaged in linear light, as DeepDeblur)"}


def gopro_layout(pairs: list[tuple[Path, Path, str]]) -> str:
    """Name the on-disk layout that :func:`deblur_cli.data.layouts.find_pairs` matched."""
    blur_path, _, name = pairs[0]
    if "/" in name and blur_path.parent.parent.name == name.split("/")[0]:
        return "GOPRO_Large (<seq>/blur|sharp/)"
    if "input" in blur_path.parent.parts[-1 - name.count("/"):]:
        return "MPRNet/HINet/Restormer (input/, target/)"
    if "/" in name:
        return "DeblurGAN-v2/Stripformer (blur/<seq>/, sharp/<seq>/)"
    return "MIMO-UNet (flat blur/, sharp/)"


@register_dataset("gopro", "--root PATH [--split test] [--blur-kind blur|blur_gamma]")
def _open_gopro(opts: dict) -> EvalSet:
    root = Path(_need(opts, "root", "gopro")).expanduser()
    if not root.exists():
        raise UsageError(f"{root}: no such folder (--root should point at GOPRO_Large or a re-packaged GoPro)")
    split = opts.get("split") or "test"
    kind = opts.get("blur_kind") or "blur"
    pairs = find_pairs(root, split=split, blur_kind=kind)
    layout = gopro_layout(pairs)
    kind_text = _BLUR_KINDS.get(kind, kind)
    if not layout.startswith("GOPRO_Large"):
        kind_text = "as re-packaged (these layouts usually carry 'blur')"
    desc = f"GoPro {split}, {len(pairs)} pairs, layout {layout}, blurred input: {kind_text}"
    return EvalSet("gopro", FolderPairs(pairs, crop=None, augment=False), desc)


@register_dataset("pairs", "--blur DIR --sharp DIR")
def _open_pairs(opts: dict) -> EvalSet:
    blur, sharp = _need(opts, "blur", "pairs"), _need(opts, "sharp", "pairs")
    items = PairedFolderDataset(blur, sharp, crop=None, augment=False)
    return EvalSet("pairs", items, f"paired folders {blur} | {sharp}, {len(items)} pairs")


@register_dataset("synthetic", "--n N --seed S [--size PX] [--motion mixed|shake|objects|kernel|none]")
def _open_synthetic(opts: dict) -> EvalSet:
    n, seed, size = int(opts.get("n") or 16), int(opts.get("seed") or 0), int(opts.get("size") or 256)
    motion = opts.get("motion") or "mixed"
    if n < 1 or size < 16:
        raise UsageError("--n must be at least 1 and --size at least 16")
    if motion not in MOTIONS:
        raise UsageError(f"--motion must be one of {', '.join(MOTIONS)}, not {motion!r}")
    items = SynthDataset(n, seed, crop=None, size=size, motion=motion, augment=False)
    return EvalSet("synthetic", items, f"synthetic (deblur synth generator), {n} pairs of {size}x{size}, "
                                       f"motion {motion}, seed {seed}")
