"""(blurred, sharp) pairs made from real sharp photographs by the project's own motion engine.

Procedural scenes alone do not teach what fur, hair and foliage look like (docs/research.md, "Data"), so this
module blurs real photos the way :mod:`.synth` blurs its scenes: a window of a photo is the static canvas, the
camera shakes (translation and rotation about a pivot, so blur varies across the frame) or a random-trajectory
kernel smears it, or a region cut from another photo moves over it, all averaged in linear light over the
sub-frames of an exposure; the target is the frame at the time-average of the motion (``PhotoMix.anchor``, see
:mod:`.synth.motion`), where the streaks are centred, so no pair asks for a shift. Noise is shared by input and
target and JPEG hits the input only (:func:`.synth.generator.degrade_pair`). A share of pairs is near-sharp, so
that a network learns to leave sharp photos alone.

Choices, measured or argued:
- Photos are brought to a random size of ``megapixels`` (default 0.5-2 MP, log-uniform) before cropping: the
  wallpapers are 2-6 MP, while the photos users deblur and the blur sizes we train for sit at about that scale.
  Each photo is decoded once and kept at the largest size used, in an LRU cache of bounded bytes.
- Crops must carry detail: random crops of these photos are mostly sky, bokeh and flat walls. Each item takes
  the most detailed of ``candidates`` random windows by mean gradient magnitude (``candidates = 1`` turns it off).
- No lens PSF by default: a photo's target already has its own optics (``lens_sigma`` can add one).
- ``p_defocus`` of the windows are defocused before any motion (:mod:`.defocus`), input and target alike: photos
  keep their out-of-focus parts, and a network must learn to leave them so.
- Items are functions of (seed, epoch, index), like every training dataset here, so a resumed run sees exactly
  the pairs a straight run would have seen.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import DeblurError
from ..images import read_image
from ..measure.levels import quantize
from .defocus import defocus_window
from .mix import PhotoMix
from .synth.generator import degrade_pair, render_motion
from .synth.motion import smooth_path
from .synth.render import MovingSprite
from .synth.scenes import _leaf_alpha

PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp")
PHOTO_MOTIONS = ("mixed", "blurred", "shake", "objects", "kernel", "none")


def find_photos(folder: str | os.PathLike) -> list[Path]:
    """Every image file under ``folder`` (recursive), sorted, so that an index names the same photo everywhere."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise DeblurError(f"{root}: not a folder of photos")
    found = sorted(p for p in root.rglob("*") if p.suffix.lower() in PHOTO_EXTENSIONS and p.is_file()
                   and not p.name.startswith("."))
    if not found:
        raise DeblurError(f"{root}: no photos found ({', '.join(PHOTO_EXTENSIONS)}, searched recursively)")
    return found


class PhotoPool:
    """Photos decoded on first use through deblur's one image reader (EXIF orientation applied, 16-bit, gray
    and alpha handled as `deblur` handles them), kept as uint8 at no more than ``max_megapixels``."""

    def __init__(self, paths: list[Path], max_megapixels: float, cache_bytes: int = 1536 << 20):
        self.paths, self.max_pixels, self.cache_bytes = list(paths), max_megapixels * 1e6, cache_bytes
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.paths)

    def __getstate__(self):  # DataLoader workers start with an empty cache of their own
        return {"paths": self.paths, "max_pixels": self.max_pixels, "cache_bytes": self.cache_bytes}

    def __setstate__(self, state):
        self.__init__(state["paths"], state["max_pixels"] / 1e6, state["cache_bytes"])

    def photo(self, i: int) -> np.ndarray:
        with self._lock:
            if i in self._cache:
                self._cache.move_to_end(i)
                return self._cache[i]
        image = self._decode(self.paths[i])
        with self._lock:
            self._cache[i] = image
            while sum(a.nbytes for a in self._cache.values()) > self.cache_bytes and len(self._cache) > 1:
                self._cache.popitem(last=False)
        return image

    def preload(self) -> int:
        """Decode photos until the cache is full; returns how many are held. A training run calls this before its
        data-loader workers fork, so that every epoch's new workers start with the decoded photos (shared
        copy-on-write) instead of decoding them again."""
        for i in range(len(self.paths)):
            self.photo(i)
            if sum(a.nbytes for a in self._cache.values()) >= self.cache_bytes:
                break
        return len(self._cache)

    def _decode(self, path: Path) -> np.ndarray:
        rgb = read_image(path).rgb
        u8 = quantize(rgb)
        h, w = u8.shape[:2]
        scale = min(1.0, float(np.sqrt(self.max_pixels / (h * w))))
        if scale < 1.0:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            u8 = np.asarray(Image.fromarray(u8).resize(size, Image.LANCZOS, reducing_gap=3.0))
        return u8


def _detail(window: np.ndarray) -> float:
    c = window.astype(np.float32)
    # mean(axis=2) to the bit (float32 r + g + b, then / 3), at a third of the cost of numpy's reduction
    g = (c[..., 0] + c[..., 1] + c[..., 2]) / np.float32(3)
    return float(np.abs(np.diff(g, axis=0)).mean() + np.abs(np.diff(g, axis=1)).mean())


def _window(rng: np.random.Generator, photo: np.ndarray, side: int, scale: float, candidates: int) -> np.ndarray:
    """A ``side`` x ``side`` float32 window of ``photo`` resized by ``scale``: the most detailed of
    ``candidates`` random ones (detail measured on the stored pixels, before the resize)."""
    return window_u8(rng, photo, side, scale, candidates).astype(np.float32) / 255.0


def window_u8(rng: np.random.Generator, photo: np.ndarray, side: int, scale: float, candidates: int) -> np.ndarray:
    """:func:`_window` as uint8, the same draws and pixels (the torch engine linearises it by table look-up)."""
    h, w = photo.shape[:2]
    src = min(int(np.ceil(side / scale)), h, w)
    best, best_detail = None, -1.0
    for _ in range(max(1, candidates)):
        y, x = int(rng.integers(0, h - src + 1)), int(rng.integers(0, w - src + 1))
        crop = photo[y:y + src, x:x + src]
        d = _detail(crop[:: max(1, src // 96), :: max(1, src // 96)])
        if d > best_detail:
            best, best_detail = crop, d
    if best.shape[0] != side:
        best = np.asarray(Image.fromarray(best).resize((side, side), Image.LANCZOS))
    return best


def _augment(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    if rng.random() < 0.5:
        image = image[:, ::-1]
    if rng.random() < 0.5:
        image = image[::-1]
    if rng.random() < 0.5:
        image = image.transpose(1, 0, 2)
    return np.ascontiguousarray(image)


def _kind(rng: np.random.Generator, motion: str, mix: PhotoMix) -> str:
    if motion not in ("mixed", "blurred"):
        return motion
    u = rng.random()
    if motion == "blurred":
        u = mix.p_sharp + u * (1.0 - mix.p_sharp)
    if u < mix.p_sharp:
        return "none"
    if u < mix.p_sharp + mix.p_kernel:
        return "kernel"
    return "objects" if u < mix.p_sharp + mix.p_kernel + mix.p_objects else "shake"


def _object(rng: np.random.Generator, pool: PhotoPool, size: int, scale: float, mix: PhotoMix) -> np.ndarray:
    """A region of another photo with a soft-edged elliptical or polygonal outline, as rgba."""
    s = int(rng.integers(size // 4, size // 2 + 1))
    rgb = _window(rng, pool.photo(int(rng.integers(len(pool)))), s, scale, mix.candidates)
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32) - (s - 1) / 2
    alpha = _leaf_alpha(rng, str(rng.choice(["ellipse", "poly"])), s * rng.uniform(0.35, 0.48), yy, xx)
    return np.concatenate([rgb, alpha[..., None].astype(np.float32)], axis=-1)


def draw_canvas(rng: np.random.Generator, pool: PhotoPool, size: int, motion: str, mix: PhotoMix, augment: bool,
                window) -> tuple[str, float, int, float, int, np.ndarray]:
    """The first draws of a pair, shared by both engines in this order: its kind, blur extent, photo, drawn size
    and the window of it (``window`` cuts it: float32 here, uint8 for the torch engine's plans); returns (kind,
    extent, photo index, scale, margin, canvas)."""
    if motion not in PHOTO_MOTIONS:
        raise ValueError(f"motion must be one of {PHOTO_MOTIONS}, not {motion!r}")
    kind = _kind(rng, motion, mix)
    extent = float(rng.uniform(0.0, 0.5)) if kind == "none" else float(
        mix.min_extent + (mix.max_extent - mix.min_extent) * rng.random() ** mix.extent_power)
    index = int(rng.integers(len(pool)))
    photo = pool.photo(index)
    lo, hi = mix.megapixels
    target_pixels = 1e6 * float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    scale = min(1.0, float(np.sqrt(target_pixels / (photo.shape[0] * photo.shape[1]))))
    margin = int(np.ceil(extent)) + 8
    canvas = window(rng, photo, size + 2 * margin, scale, mix.candidates)
    if augment:
        canvas = _augment(rng, canvas)
    if mix.p_defocus > 0 and rng.random() < mix.p_defocus:
        canvas = defocus_window(canvas, float(rng.uniform(*mix.defocus_radius)))
    return kind, extent, index, scale, margin, canvas


def make_photo_pair(rng: np.random.Generator, pool: PhotoPool, size: int, motion: str = "mixed",
                    mix: PhotoMix | None = None, augment: bool = True, record: dict | None = None
                    ) -> tuple[np.ndarray, np.ndarray, int]:
    """(blurred, sharp, photo index): ``size`` x ``size`` x 3 float32 sRGB in [0, 1]. ``record`` (a dict) receives
    the true kernel of a uniform blur (:func:`.synth.generator.render_motion`)."""
    mix = mix or PhotoMix()
    kind, extent, index, scale, margin, canvas = draw_canvas(rng, pool, size, motion, mix, augment, _window)
    lens = float(rng.uniform(*mix.lens_sigma))

    def sprites(frames: int) -> list[MovingSprite]:
        out = []
        for _ in range(int(rng.integers(1, 3))):
            rgba = _object(rng, pool, size, scale, mix)
            s = rgba.shape[0]
            start = rng.uniform(-0.2 * s, size - 0.8 * s, 2)
            path = smooth_path(rng, frames, extent * rng.uniform(0.5, 1.0), anchor=mix.anchor)
            out.append(MovingSprite(rgba, start + path, target=start))
        return out

    blurred, sharp = render_motion(rng, canvas, size, margin, kind, extent, mix.frames, lens, sprites, anchor=mix.anchor,
                                   record=record)
    blurred, sharp = (np.ascontiguousarray(a, dtype=np.float32) for a in (blurred, sharp))
    blurred, sharp = degrade_pair(rng, blurred, sharp, mix)
    return blurred, sharp, index
