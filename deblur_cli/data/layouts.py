"""Find (blurred, sharp) file pairs in the dataset layouts people actually have on disk.

- GOPRO_Large as distributed: ``ROOT/{train,test}/<sequence>/{blur,blur_gamma,sharp}/NNNNNN.png``
  (2,103 train / 1,111 test pairs). ``blur`` averages sRGB values, ``blur_gamma`` linear light.
- MIMO-UNet: ``ROOT/{train,test}/{blur,sharp}/<seq>_<frame>.png``
- MPRNet / HINet / Restormer: ``ROOT/{train,test}/{input,target}/``
- DeblurGAN-v2 / Stripformer: ``ROOT/{train,test}/{blur,sharp}/<seq>/<frame>.png``
``deblur synth`` writes the first layout, so synthetic sets go through the same code.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import DeblurError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"}


def _images(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*"))
            if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()}


def match_folders(blur_dir: Path, sharp_dir: Path, prefix: str = "") -> list[tuple[Path, Path, str]]:
    """Pairs with the same relative path (extension-insensitive) under both folders."""
    for d in (blur_dir, sharp_dir):
        if not d.is_dir():
            raise DeblurError(f"{d}: not a folder")
    blur = {Path(k).with_suffix("").as_posix(): v for k, v in _images(blur_dir).items()}
    sharp = {Path(k).with_suffix("").as_posix(): v for k, v in _images(sharp_dir).items()}
    common = sorted(blur.keys() & sharp.keys())
    if not common:
        raise DeblurError(f"{blur_dir} and {sharp_dir}: no images with matching names")
    return [(blur[k], sharp[k], f"{prefix}{k}") for k in common]


def find_pairs(root: Path, split: str = "test", blur_kind: str = "blur") -> list[tuple[Path, Path, str]]:
    """Pairs of a GoPro-style dataset split, whichever of the known layouts ``root`` uses."""
    if blur_kind not in ("blur", "blur_gamma"):
        raise DeblurError(f"blur kind must be 'blur' or 'blur_gamma', not {blur_kind!r}")
    base = root / split if (root / split).is_dir() else root
    if not base.is_dir():
        raise DeblurError(f"{root}: no '{split}' split folder found")
    for blur_name, sharp_name in ((blur_kind, "sharp"), ("input", "target")):
        if (base / blur_name).is_dir() and (base / sharp_name).is_dir():  # MIMO-UNet, MPRNet, DeblurGAN-v2
            return match_folders(base / blur_name, base / sharp_name)
    pairs: list[tuple[Path, Path, str]] = []
    for seq in sorted(p for p in base.iterdir() if p.is_dir()):  # GOPRO_Large
        if (seq / blur_kind).is_dir() and (seq / "sharp").is_dir():
            pairs += match_folders(seq / blur_kind, seq / "sharp", prefix=f"{seq.name}/")
    if not pairs:
        raise DeblurError(f"{base}: no GoPro layout found (expected <sequence>/{blur_kind}/ and <sequence>/sharp/)")
    return pairs
