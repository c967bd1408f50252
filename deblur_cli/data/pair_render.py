"""Render a batch of :class:`~.pair_plan.PairPlan` on one device: the second half of the torch pair engine.

The numpy engine renders a pair with a few dozen small torch calls (one ``grid_sample`` per pair, a direct
convolution per kernel pair, a ``pow`` per image); this renders a whole batch with a handful of large ones:
- kernel pairs: one FFT convolution of all their windows in linear light. A kernel of radius r needs r pixels
  around the crop; each window is cut to exactly that reach and zero-padded to the batch's largest, so the
  circular FFT never wraps into the crop and the result is the numpy engine's reflect-padded convolution (the
  padding never reached the crop there either). A 49 px kernel (40 px paths) costs the same as a 9 px one;
- camera shake, near-sharp and moving-region pairs: every window is laid in one atlas (a row of tiles, each
  window padded by mirroring, as ``grid_sample``'s reflection padding would), and one ``grid_sample`` call
  samples every sub-frame of every pair, plus the target pose; moving regions are composited per pair over
  its sub-frames (a tenth of the mix);
- linear light from a 256-entry table (the windows stay uint8 until they reach the device), one ``pow`` back;
- noise from each plan's seed on the device; JPEG on the CPU through PIL, as the numpy engine (torch has no
  JPEG encoder on tensors for CPU, and a differentiable approximation would be another distribution).
Rendering is deterministic for the same plans on the same device.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from .pair_plan import PairPlan
from .synth.degrade import jpeg_at
from .synth.render import GAMMA, gaussian_psf

PAD = 8  # mirrored pixels around each window in the atlas: sub-frames may sample a little past the margin


def linear_table(device: torch.device) -> torch.Tensor:
    """uint8 -> linear light, the numpy engine's float32 ``(u / 255) ** 2.2`` for each of the 256 values."""
    return (torch.arange(256, dtype=torch.float32) / 255.0).clamp(min=0).pow(GAMMA).to(device)


def _lens_reach(plans: list[PairPlan]) -> int:
    return max(gaussian_psf(p.lens).shape[0] // 2 for p in plans)


def _kernel_pairs(plans: list[PairPlan], border: int, table: torch.Tensor) -> torch.Tensor:
    """(B, 2, 3, O, O) linear (blurred, sharp) of kernel pairs, O = size + 2 border, by one batched FFT."""
    size, device = plans[0].size, table.device
    out = size + 2 * border
    reach = max(p.kernel.shape[0] // 2 for p in plans)
    n = out + 2 * reach
    windows = np.zeros((len(plans), n, n, 3), np.uint8)
    kernels = np.zeros((len(plans), n, n), np.float32)
    sharp = np.zeros((len(plans), out, out, 3), np.uint8)
    for i, p in enumerate(plans):
        r, top = p.kernel.shape[0] // 2, p.margin - border
        cut = p.canvas[top - r:top + out + r, top - r:top + out + r]
        windows[i, reach - r:reach - r + cut.shape[0], reach - r:reach - r + cut.shape[1]] = cut
        sharp[i] = p.canvas[top:top + out, top:top + out]
        k = p.kernel.shape[0]
        # the kernel's centre at (0, 0), its other taps wrapped around: a true convolution, as conv2d of the flip
        kernels[i] = np.roll(np.pad(p.kernel, ((0, n - k), (0, n - k))), (-r, -r), axis=(0, 1))
    lin = table[torch.from_numpy(windows).to(device).long()].permute(0, 3, 1, 2)
    spectrum = torch.fft.rfft2(lin) * torch.fft.rfft2(torch.from_numpy(kernels).to(device)).unsqueeze(1)
    blurred = torch.fft.irfft2(spectrum, s=(n, n))[..., reach:reach + out, reach:reach + out]
    target = table[torch.from_numpy(sharp).to(device).long()].permute(0, 3, 1, 2)
    return torch.stack([blurred, target], 1)


def _poses(p: PairPlan) -> tuple[np.ndarray, np.ndarray]:
    """(T + 1, 2) translation and (T + 1,) rotation: the exposure's sub-frames, then pose zero (the target)."""
    return (np.concatenate([np.asarray(p.translation, np.float64).reshape(-1, 2), np.zeros((1, 2))]),
            np.append(np.asarray(p.rotation, np.float64), 0.0))


def _grid(rot: torch.Tensor, shift: torch.Tensor, centre: torch.Tensor, border: int, out: int,
          hw: tuple[int, int]) -> torch.Tensor:
    """(F, out, out, 2) grid_sample coordinates of output pixel (x, y) under each of F poses: the crop pixel
    (x - border, y - border) rotated by ``rot`` about ``centre`` (F, 2) and moved by ``shift`` (F, 2), in an
    input of ``hw`` pixels (align_corners=False, float64 until normalised)."""
    f = rot.shape[0]
    cos, sin = torch.cos(rot).view(f, 1, 1), torch.sin(rot).view(f, 1, 1)
    cx, cy = centre[:, 0].view(f, 1, 1), centre[:, 1].view(f, 1, 1)
    ramp = torch.arange(out, dtype=torch.float64, device=rot.device) - border
    u, v = ramp.view(1, 1, out) - cx, ramp.view(1, out, 1) - cy
    sx, sy = 2 / hw[1], 2 / hw[0]
    # each coordinate is a term in x alone plus a term in y alone: two small float64 tensors per coordinate
    # and one broadcast add into the float32 grid (render.camera_grids does the same for one pair)
    grid = torch.empty(f, out, out, 2, device=rot.device)
    torch.add((sx * (cos * u + cx + shift[:, 0].view(f, 1, 1) + 0.5) - 1).float(), (-sx * sin * v).float(),
              out=grid[..., 0])
    torch.add((sy * sin * u).float(), (sy * (cos * v + cy + shift[:, 1].view(f, 1, 1) + 0.5) - 1).float(),
              out=grid[..., 1])
    return grid


def _warp_pairs(plans: list[PairPlan], border: int, table: torch.Tensor) -> torch.Tensor:
    """(B, 2, 3, O, O) linear (blurred, sharp) of exposures: every sub-frame of every pair in one grid_sample."""
    size, device = plans[0].size, table.device
    out = size + 2 * border
    tile = max(p.canvas.shape[0] for p in plans) + 2 * PAD
    atlas = np.zeros((tile, tile * len(plans), 3), np.uint8)
    rot, shift, centre, counts = [], [], [], []
    for i, p in enumerate(plans):
        padded = np.pad(p.canvas, ((PAD, PAD), (PAD, PAD), (0, 0)), mode="symmetric")
        atlas[:padded.shape[0], i * tile:i * tile + padded.shape[1]] = padded
        tr, ro = _poses(p)
        rot.append(ro)
        # crop origin -> window pixel (margin) -> atlas pixel (mirror pad, tile column)
        shift.append(tr + np.array([p.margin + PAD + i * tile, p.margin + PAD], np.float64))
        centre.append(np.broadcast_to(np.asarray(p.centre, np.float64), (len(ro), 2)))
        counts.append(len(ro))
    as64 = lambda parts: torch.from_numpy(np.concatenate(parts)).to(device)  # noqa: E731
    grid = _grid(as64(rot), as64(shift), as64(centre), border, out, atlas.shape[:2])
    lin = table[torch.from_numpy(atlas).to(device).long()].permute(2, 0, 1).unsqueeze(0)
    # "border": the mirrored pad already holds what reflection would sample, and clamping costs a fifth less
    frames = F.grid_sample(lin, grid.view(1, -1, out, 2), mode="bilinear", padding_mode="border",
                           align_corners=False)[0].view(3, -1, out, out).transpose(0, 1)
    pairs = []
    start = 0
    for p, count in zip(plans, counts):
        seq = frames[start:start + count]
        if p.sprites:
            seq = _composite(p, seq, as64([rot[len(pairs)]]), as64([centre[len(pairs)]]), border, out)
        pairs.append(torch.stack([seq[:-1].mean(0), seq[-1]]))
        start += count
    return torch.stack(pairs)


def _composite(p: PairPlan, seq: torch.Tensor, rot: torch.Tensor, centre: torch.Tensor, border: int,
               out: int) -> torch.Tensor:
    """Moving regions over one pair's sub-frames (and the target pose), in linear light."""
    tr, _ = _poses(p)
    for sp in p.sprites:
        rgba = torch.from_numpy(np.ascontiguousarray(sp.rgba)).to(seq.device).permute(2, 0, 1)
        rgba = torch.cat([rgba[:3].clamp(min=0) ** GAMMA, rgba[3:]]).unsqueeze(0)
        path = np.concatenate([np.asarray(sp.position, np.float64), np.reshape(sp.target, (1, 2))])
        # a sprite pixel is the camera-warped crop position minus the sprite's own position at that sub-frame
        shift = torch.from_numpy(tr - path).to(seq.device)
        grid = _grid(rot, shift, centre, border, out, rgba.shape[-2:])
        layer = F.grid_sample(rgba, grid.view(1, -1, out, 2), mode="bilinear", padding_mode="zeros",
                              align_corners=False)[0].view(4, -1, out, out).transpose(0, 1)
        alpha = layer[:, 3:]
        seq = seq * (1 - alpha) + layer[:, :3] * alpha
    return seq


def _lens(pair: torch.Tensor, sigma: float, border: int, size: int) -> torch.Tensor:
    """Crop a (2, 3, O, O) linear pair to ``size``, through the Gaussian lens PSF where ``sigma`` > 0."""
    k = gaussian_psf(sigma)
    r = k.shape[0] // 2
    region = pair[..., border - r:border + size + r, border - r:border + size + r]
    if r == 0:
        return region
    weight = torch.from_numpy(k).to(pair.device).view(1, 1, *k.shape).expand(3, 1, *k.shape)
    return F.conv2d(region, weight, groups=3)


def render_plans(plans: list[PairPlan], device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """(blurred, sharp), each (B, 3, size, size) float32 sRGB in [0, 1] on ``device``, plan by plan in order."""
    if not plans:
        raise ValueError("render_plans: no plans")
    size = plans[0].size
    if any(p.size != size for p in plans):
        raise ValueError("render_plans: every plan of a batch must have the same size")
    device = torch.device(device)
    table = linear_table(device)
    border = _lens_reach(plans)
    linear: list = [None] * len(plans)
    for group, render in (([i for i, p in enumerate(plans) if p.kind == "kernel"], _kernel_pairs),
                          ([i for i, p in enumerate(plans) if p.kind != "kernel"], _warp_pairs)):
        if group:
            for i, pair in zip(group, render([plans[i] for i in group], border, table)):
                linear[i] = _lens(pair, plans[i].lens, border, size)
    srgb = torch.stack(linear).clamp(0, 1) ** (1 / GAMMA)
    blurred, sharp = srgb[:, 0], srgb[:, 1]
    for i, p in enumerate(plans):
        if p.noise is not None:
            read, shot, seed = p.noise
            g = torch.Generator(device).manual_seed(seed)
            normal = torch.randn(sharp.shape[1:], generator=g, device=device)
            noise = normal * torch.sqrt(read ** 2 + shot ** 2 * sharp[i].clamp(0, 1))
            blurred[i], sharp[i] = (blurred[i] + noise).clamp(0, 1), (sharp[i] + noise).clamp(0, 1)
    for i, p in enumerate(plans):
        if p.jpeg is not None:
            image = blurred[i].permute(1, 2, 0).cpu().numpy()
            blurred[i] = torch.from_numpy(jpeg_at(image, p.jpeg)).permute(2, 0, 1).to(device)
    return blurred, sharp
