"""Procedural scenes that look like the world at the scale a deblurring network sees it.

Plain dead-leaves disks do not transfer to photos (see shared/DATA_AND_METRICS.md: a network trained on them painted
disk-shaped blobs into faces and lowered PSNR on real photos). Following VibrantLeaves (Achddou et al.), a scene here
is an occlusion ("dead leaves") model whose leaves are disks, ellipses, rotated rectangles and convex polygons with
power-law sizes (density ~ r^-3, sampled by inverse CDF); almost every leaf is textured (1/f^s colour noise with s in
[0.5, 2.5], sinusoids, two-tone mixes) and shaded by a smooth gradient; colours are muted, as natural colour statistics
are; a back layer is often defocused; thin lines and text-like strokes add the structures that blur destroys first.
On request (``p_fibres``, ``p_warp``) leaves also carry fur- or grass-like strands and scenes are bent by a smooth
warp (:mod:`fibres`).

All functions are numpy-only, deterministic given the ``np.random.Generator`` they receive, and work in sRGB [0, 1].
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .fibres import fibre_field, smooth_warp, spectral_noise


def power_law_radius(rng: np.random.Generator, n: int, r_min: float, r_max: float) -> np.ndarray:
    """Radii with density ~ r^-3 on [r_min, r_max] (inverse CDF of the dead-leaves size law)."""
    u = rng.random(n)
    return (r_min ** -2 - u * (r_min ** -2 - r_max ** -2)) ** -0.5


def natural_colour(rng: np.random.Generator, n: int = 1) -> np.ndarray:
    """Muted colours: luminance spread over the range, low to moderate saturation, warm/cool hue bias."""
    lum = rng.beta(1.6, 1.6, n)[:, None]
    hue_dir = rng.normal(size=(n, 3))
    hue_dir -= hue_dir.mean(axis=1, keepdims=True)  # chroma only: keeps luminance
    hue_dir /= np.linalg.norm(hue_dir, axis=1, keepdims=True) + 1e-8
    sat = rng.gamma(1.5, 0.08, (n, 1))
    return np.clip(lum + sat * hue_dir, 0.0, 1.0)


class TextureBank:
    """A few canvas-sized noise fields (and ``fibres`` fibre fields) shared by all leaves: each leaf reads a random
    window of one field, which costs no FFT or streamline tracing per leaf."""

    def __init__(self, rng: np.random.Generator, h: int, w: int, count: int = 4, fibres: int = 0):
        self.fields = [spectral_noise(rng, h, w, rng.uniform(0.7, 2.5)) for _ in range(count)]
        self.fibres = [fibre_field(rng, h, w) for _ in range(fibres)]  # drawn after the noise: v4 scenes unchanged
        self.h, self.w = h, w

    def window(self, rng: np.random.Generator, y0: int, y1: int, x0: int, x1: int, fibre: bool = False
               ) -> np.ndarray:
        fields = self.fibres if fibre else self.fields
        field = fields[rng.integers(len(fields))]
        dy, dx = rng.integers(self.h), rng.integers(self.w)
        ys = (np.arange(y0, y1) + dy) % self.h
        xs = (np.arange(x0, x1) + dx) % self.w
        return field[np.ix_(ys, xs)]


def _leaf_alpha(rng: np.random.Generator, kind: str, r: float, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] from an approximate signed distance (1-pixel soft edge)."""
    if kind == "disk":
        d = r - np.sqrt(yy ** 2 + xx ** 2)
    elif kind == "ellipse":
        t = rng.uniform(0, np.pi)
        a, b = r, r * rng.uniform(0.25, 1.0)
        u = xx * np.cos(t) + yy * np.sin(t)
        v = -xx * np.sin(t) + yy * np.cos(t)
        d = (1.0 - np.sqrt((u / a) ** 2 + (v / b) ** 2)) * b
    elif kind == "rect":
        t = rng.uniform(0, np.pi)
        a, b = r, r * rng.uniform(0.15, 1.0)
        u = xx * np.cos(t) + yy * np.sin(t)
        v = -xx * np.sin(t) + yy * np.cos(t)
        d = np.minimum(a - np.abs(u), b - np.abs(v))
    else:  # convex polygon: intersection of half-planes through vertices on a circle
        k = rng.integers(3, 8)
        angles = np.sort(rng.uniform(0, 2 * np.pi, k))
        d = np.full(yy.shape, np.inf, dtype=np.float32)
        vx, vy = r * np.cos(angles), r * np.sin(angles)
        for i in range(k):
            x1, y1, x2, y2 = vx[i], vy[i], vx[(i + 1) % k], vy[(i + 1) % k]
            nx, ny = y2 - y1, x1 - x2  # outward normal for counter-clockwise order
            norm = np.hypot(nx, ny) + 1e-8
            d = np.minimum(d, -((xx - x1) * nx + (yy - y1) * ny) / norm)
    return np.clip(d + 0.5, 0.0, 1.0).astype(np.float32)


def _leaf_colour(rng: np.random.Generator, bank: TextureBank, box: tuple[int, int, int, int],
                 yy: np.ndarray, xx: np.ndarray, r: float, p_fibres: float = 0.0) -> np.ndarray:
    """A textured, shaded colour patch for one leaf (almost never flat: flat regions teach flattening)."""
    y0, y1, x0, x1 = box
    base = natural_colour(rng)[0]
    patch = np.broadcast_to(base, (y1 - y0, x1 - x0, 3)).astype(np.float32).copy()
    # smooth shading gradient across the leaf
    g = rng.normal(0, 0.25, 2) / max(r, 1.0)
    patch *= np.clip(1.0 + (g[0] * yy + g[1] * xx), 0.4, 1.6)[..., None]
    if bank.fibres and rng.random() < p_fibres:  # fur, hair, grass: strands lighter and darker than the base
        strands = bank.window(rng, y0, y1, x0, x1, fibre=True)
        patch += rng.uniform(0.04, 0.25) * strands[..., None] * (1.0 + rng.normal(0, 0.15, 3))
        if rng.random() < 0.5:  # colour drifting over the coat, as in tabby or grass patches
            patch += rng.uniform(0.03, 0.12) * bank.window(rng, y0, y1, x0, x1)[..., None] * rng.normal(0, 0.5, 3)
        return patch
    style = rng.random()
    if style < 0.75:  # 1/f colour noise texture, amplitude varies from faint to strong
        amp = rng.uniform(0.03, 0.22)
        tex = bank.window(rng, y0, y1, x0, x1)
        tint = 1.0 + rng.normal(0, 0.3, 3)
        patch += amp * tex[..., None] * tint
    elif style < 0.9:  # sinusoid (stripes, fabric, fences)
        f = rng.uniform(0.05, 0.6)
        t = rng.uniform(0, np.pi)
        wave = np.sin(f * (xx * np.cos(t) + yy * np.sin(t)) + rng.uniform(0, 6.3))
        patch += rng.uniform(0.03, 0.2) * wave[..., None] * (1.0 + rng.normal(0, 0.3, 3))
    elif style < 0.97:  # two-tone mix through a thresholded noise field
        other = natural_colour(rng)[0]
        mix = (bank.window(rng, y0, y1, x0, x1) > rng.normal(0, 0.5)).astype(np.float32)
        patch = patch * (1 - mix[..., None]) + other * mix[..., None]
    # else: flat (rare on purpose)
    return patch


def dead_leaves(rng: np.random.Generator, h: int, w: int, n_leaves: int | None = None,
                r_min: float = 2.5, r_max: float | None = None, bank: TextureBank | None = None,
                canvas: np.ndarray | None = None, p_fibres: float = 0.0) -> np.ndarray:
    """Paint leaves back to front over ``canvas`` (or a textured background) and return HxWx3 float32.

    ``p_fibres``: the share of leaves (and of backgrounds) textured with fibres instead of noise; a bank made here
    gets fibre fields when it is above 0."""
    bank = bank or TextureBank(rng, h, w, fibres=2 if p_fibres > 0 else 0)
    r_max = r_max or 0.6 * max(h, w)
    if canvas is None:
        canvas = np.broadcast_to(natural_colour(rng)[0], (h, w, 3)).astype(np.float32).copy()
        fibre = bool(bank.fibres) and rng.random() < p_fibres
        canvas += rng.uniform(0.05, 0.2) * bank.window(rng, 0, h, 0, w, fibre=fibre)[..., None]
    n_leaves = n_leaves or int(rng.integers(300, 900))
    radii = power_law_radius(rng, n_leaves, r_min, r_max)
    kinds = rng.choice(["disk", "ellipse", "rect", "poly"], size=n_leaves, p=[0.25, 0.2, 0.25, 0.3])
    centres = rng.uniform([-0.1 * h, -0.1 * w], [1.1 * h, 1.1 * w], size=(n_leaves, 2))
    for r, kind, (cy, cx) in zip(radii, kinds, centres):
        y0, y1 = max(int(cy - r - 1), 0), min(int(cy + r + 2), h)
        x0, x1 = max(int(cx - r - 1), 0), min(int(cx + r + 2), w)
        if y0 >= y1 or x0 >= x1:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        yy -= cy
        xx -= cx
        alpha = _leaf_alpha(rng, kind, float(r), yy, xx)
        colour = _leaf_colour(rng, bank, (y0, y1, x0, x1), yy, xx, float(r), p_fibres)
        region = canvas[y0:y1, x0:x1]
        region += alpha[..., None] * (colour - region)
    return np.clip(canvas, 0.0, 1.0)


def defocus(image: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian defocus of an HxWx3 float image (depth layers), reflect padding."""
    if sigma <= 0:
        return image
    radius = int(np.ceil(3 * sigma))
    x = np.arange(-radius, radius + 1, dtype=np.float32)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    k /= k.sum()
    padded = np.pad(image, ((radius, radius), (radius, radius), (0, 0)), mode="reflect")
    rows = sum(k[i] * padded[i:i + image.shape[0]] for i in range(len(k)))
    return sum(k[i] * rows[:, i:i + image.shape[1]] for i in range(len(k))).astype(np.float32)


def strokes(rng: np.random.Generator, canvas: np.ndarray, n_lines: int, n_text: int) -> np.ndarray:
    """Thin lines, curves and text-like glyph rows: the detail that blur removes first."""
    h, w = canvas.shape[:2]
    scale = 2  # supersample for anti-aliasing
    for _ in range(n_lines + n_text):
        mask = Image.new("L", (w * scale, h * scale), 0)
        draw = ImageDraw.Draw(mask)
        if n_lines > 0:
            n_lines -= 1
            pts = [tuple(rng.uniform(0, [w * scale, h * scale])) for _ in range(int(rng.integers(2, 5)))]
            draw.line(pts, fill=255, width=int(rng.integers(1, 4) * scale), joint="curve")
        else:
            size = int(rng.integers(7, 26)) * scale
            font = ImageFont.load_default(size=size)
            letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
            text = "".join(rng.choice(list(letters + "   "), size=int(rng.integers(4, 16))))
            draw.text(tuple(rng.uniform(-0.2, 0.9, 2) * [w * scale, h * scale]), text, fill=255, font=font)
        a = np.asarray(mask.resize((w, h), Image.BILINEAR), dtype=np.float32)[..., None] / 255.0
        colour = natural_colour(rng)[0] * rng.uniform(0.2, 1.2)
        canvas = canvas + a * (np.clip(colour, 0, 1) - canvas)
    return canvas


def scene(rng: np.random.Generator, h: int, w: int, p_fibres: float = 0.0, p_warp: float = 0.0) -> np.ndarray:
    """A full scene: optionally defocused back layer, sharp front leaves, strokes. HxWx3 sRGB in [0, 1].

    ``p_fibres``: share of leaves textured with fibres (:mod:`fibres`); ``p_warp``: chance that the leaves are bent
    by a smooth random warp. Both default to 0, which draws exactly the random numbers generator v4 drew."""
    bank = TextureBank(rng, h, w, fibres=2 if p_fibres > 0 else 0)
    back = dead_leaves(rng, h, w, bank=bank, p_fibres=p_fibres)
    if rng.random() < 0.5:
        back = defocus(back, rng.uniform(0.8, 4.0))
        front = dead_leaves(rng, h, w, bank=bank, canvas=back.copy(), n_leaves=int(rng.integers(5, 60)),
                            r_min=4.0, r_max=0.3 * max(h, w), p_fibres=p_fibres)
    else:
        front = dead_leaves(rng, h, w, bank=bank, canvas=back, n_leaves=int(rng.integers(0, 80)), p_fibres=p_fibres)
    if p_warp > 0 and rng.random() < p_warp:
        front = smooth_warp(rng, front, rng.uniform(1.0, 6.0))
    if rng.random() < 0.7:
        front = strokes(rng, front, n_lines=int(rng.integers(0, 6)), n_text=int(rng.integers(0, 3)))
    return np.clip(front, 0.0, 1.0).astype(np.float32)


def sprite(rng: np.random.Generator, size: int, bank: TextureBank | None = None, p_fibres: float = 0.0
           ) -> np.ndarray:
    """An independently moving object: a textured leaf cluster with an alpha mask, size x size x 4."""
    rgb = dead_leaves(rng, size, size, n_leaves=int(rng.integers(10, 60)), bank=bank, p_fibres=p_fibres)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) - (size - 1) / 2
    kind = rng.choice(["disk", "ellipse", "rect", "poly"])
    alpha = _leaf_alpha(rng, str(kind), size * rng.uniform(0.3, 0.48), yy, xx)
    return np.concatenate([rgb, alpha[..., None]], axis=-1)
