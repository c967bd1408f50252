"""Perceptual content loss (Johnson et al. 2016) on VGG19 features, as papers 001 and 004 use it.

Paper 004 eq. 7: L_C = 1/(C_i W_i H_i) * sum (phi_i(I_S) - phi_i(G(I_B)))^2 with phi_i the 7th conv of an
ImageNet VGG19 (``conv3_3``, see :mod:`vgg_layers`); it is a mean squared error over the feature map,
averaged over the batch.

VGG inputs (a choice where the papers are silent; issue #15): we feed VGG19 the [-1, 1] image, unnormalised,
as DeblurGAN's code does (``VGG19Features(inputs="deblurgan")``, the default), not the ImageNet-normalised
image the torchvision weights were trained on. Why: every paper recipe that uses this loss takes its weight
100 from DeblurGAN (004 eq. 5: "same as the setting for DeblurGAN"; 001 gives none), and that 100 was set
against features of [-1, 1] inputs. Per channel, 2x - 1 = 2 sigma_c * (x - mu_c) / sigma_c + (2 mu_c - 1),
that is about 0.45 x the normalised input shifted by -0.03 to -0.19: the same picture to VGG, at under half
the contrast. Were conv3_3 positively homogeneous (its biases make this approximate) its features would
scale by 0.45 and the squared error by 0.2, so ImageNet normalisation makes 100 x perceptual about 5 times
heavier against the adversarial term than in the papers' recipes. Matching the inputs keeps the papers'
content/adversarial balance; the features lose little, as the input is nearly an affine copy of the
normalised one. ``inputs="imagenet"`` remains for use from Python. Only the paper presets use this loss
(the CPU presets train with L1: no VGG weights offline), so no bundled weights depend on the choice.

The ImageNet weights are not bundled (548 MB, not ours to ship). They are found, in order, at
``--vgg-weights PATH``, ``$DEBLUR_VGG19_WEIGHTS``, the manifest entry ``vgg19-imagenet`` (a bundled path, or
its hub repo id and filename through the Hugging Face cache). If none works the run stops before training
with a message that says how to provide them; a configured loss is never dropped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import torch
from torch import nn
from torch.nn import functional as F

from .. import registry
from ..errors import DeblurError
from ..weights import hub
from ..weights.errors import ManifestError
from ..weights.io import load_weights
from ..weights.manifest import ROOT, HubRef, manifest_path, read_raw
from .vgg import VGG19Features

VGG19_ENTRY = "vgg19-imagenet"
# Fallback when the manifest has no entry yet: timm's conversion of torchvision's IMAGENET1K_V1 weights.
VGG19_HUB_REPO = "timm/vgg19.tv_in1k"
VGG19_HUB_FILE = "model.safetensors"


class PerceptualWeightsUnavailable(DeblurError):
    """The perceptual loss is configured but no ImageNet VGG19 weights can be found."""


def _unavailable(reason: str, config: str, repo: str, filename: str) -> PerceptualWeightsUnavailable:
    where = f" in {config}" if config else ""
    return PerceptualWeightsUnavailable(
        f"the perceptual loss needs ImageNet VGG19 weights ({VGG19_ENTRY}, not bundled): {reason}. "
        f"Download them once (`hf download {repo} {filename}`) and pass --vgg-weights PATH "
        f"(or set DEBLUR_VGG19_WEIGHTS), or replace the perceptual entry of [[losses]]{where} with l1 or l2")


def find_vgg19_weights(explicit: Optional[str] = None, config: str = "") -> Path:
    """Path of a safetensors file with VGG19 weights, or :class:`PerceptualWeightsUnavailable`."""
    try:
        entry = read_raw(manifest_path().resolve())["variants"].get(VGG19_ENTRY) or {}
    except ManifestError:
        entry = {}
    ref_json = entry.get("hub") or {}
    ref = HubRef(ref_json.get("repo_id", VGG19_HUB_REPO), ref_json.get("filename", VGG19_HUB_FILE),
                 ref_json.get("revision", "main"))
    for source, value in (("--vgg-weights", explicit), ("DEBLUR_VGG19_WEIGHTS", os.environ.get("DEBLUR_VGG19_WEIGHTS"))):
        if value:
            path = Path(value).expanduser()
            if not path.is_file():
                raise _unavailable(f"{source} {path}: no such file", config, ref.repo_id, ref.filename)
            if path.suffix != ".safetensors":
                raise _unavailable(f"{source} {path}: only .safetensors files are loaded (never pickle)",
                                   config, ref.repo_id, ref.filename)
            return path
    if entry.get("bundled"):
        bundled = ROOT / entry["bundled"]
        if bundled.is_file():
            return bundled
    cached = hub.cached_file(ref)
    if cached is not None:
        return cached
    if hub.offline():
        raise _unavailable("offline (HF_HUB_OFFLINE) and not in the Hugging Face cache", config,
                           ref.repo_id, ref.filename)
    try:
        if entry.get("sha256"):
            return hub.fetch_verified(ref, entry["sha256"])
        from huggingface_hub import hf_hub_download  # here: only a download needs it (0.6 s to import)

        return Path(hf_hub_download(ref.repo_id, ref.filename, revision=ref.revision,
                                    cache_dir=hub.hub_cache_dir()))
    except Exception as exc:  # no network, no such repo: all mean "not available here"
        raise _unavailable(f"could not fetch {hub.describe(ref)} ({type(exc).__name__})", config,
                           ref.repo_id, ref.filename) from None


def load_vgg19(layer: str, explicit: Optional[str] = None, config: str = "") -> VGG19Features:
    path = find_vgg19_weights(explicit, config)
    net: VGG19Features = registry.get(VGG19_ENTRY).build(layer=layer)  # the registry is the one door
    try:
        net.load_features(load_weights(path), source=str(path))
    except Exception as exc:
        raise PerceptualWeightsUnavailable(f"{path}: cannot use as VGG19 weights: {exc}") from None
    return net


class PerceptualLoss(nn.Module):
    """MSE between VGG19 features of the restored and the sharp image (paper 004 eq. 7)."""

    def __init__(self, features: VGG19Features):
        super().__init__()
        self.features = features

    def forward(self, restored: torch.Tensor, sharp: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target = self.features(sharp.float())
        # the VGG runs in fp32 even under autocast: its activations overflow fp16 on bright images
        with torch.autocast(device_type=restored.device.type, enabled=False):
            return F.mse_loss(self.features(restored.float()), target)
