"""VGG19 feature extractor for the perceptual loss, written out so torchvision is not needed.

Simonyan & Zisserman 2015 (configuration "E"); the module and parameter names match torchvision's
``vgg19().features`` (``features.0.weight`` ... ``features.34.bias``), so the standard ImageNet weights,
converted to safetensors (for example ``timm/vgg19.tv_in1k``, whose ``features.*`` keys are torchvision's),
load as they are. Only the layers up to the one the loss reads are built.

Input scaling (``inputs``): ``"deblurgan"`` (the default) feeds the [0, 1] image as ``2x - 1``, the [-1, 1]
images DeblurGAN's perceptual loss passes to VGG19 unnormalised; ``"imagenet"`` subtracts the ImageNet mean
and divides by its std, as the torchvision weights were trained. :mod:`perceptual` says why the default.
"""

from __future__ import annotations

import torch
from torch import nn

from .vgg_layers import VGG19_CFG, VGG19_LAYERS

INPUTS = ("deblurgan", "imagenet")
# ImageNet statistics the torchvision weights were trained with; inputs arrive in [0, 1].
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _features(last_index: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    cin = 3
    for item in VGG19_CFG:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(cin, item, 3, padding=1), nn.ReLU(inplace=False)]
            cin = item
    return nn.Sequential(*layers[: last_index + 1])


class VGG19Features(nn.Module):
    """``features`` of VGG19 up to and including ``layer`` (e.g. ``conv3_3``: pre-activation, index 14).

    Frozen and in eval mode; maps [0, 1] RGB to ``2x - 1`` (``inputs="deblurgan"``) or to ImageNet-normalised
    values (``inputs="imagenet"``) before the first conv.
    """

    def __init__(self, layer: str = "conv3_3", inputs: str = "deblurgan"):
        super().__init__()
        if layer not in VGG19_LAYERS:
            raise ValueError(f"unknown VGG19 layer {layer!r}")
        if inputs not in INPUTS:
            raise ValueError(f"inputs must be one of {INPUTS}, not {inputs!r}")
        self.layer, self.inputs = layer, inputs
        self.features = _features(VGG19_LAYERS[layer])
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> "VGG19Features":
        return super().train(False)  # never leaves eval mode: it is a fixed measuring device

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.inputs == "deblurgan":
            return self.features(x * 2 - 1)  # DeblurGAN's [-1, 1] images, unnormalised
        return self.features((x - self.mean) / self.std)

    def load_features(self, state: dict[str, torch.Tensor], source: str = "weights") -> None:
        """Load a torchvision/timm VGG19 state dict (extra layers and the classifier are ignored)."""
        wanted = self.state_dict()
        picked: dict[str, torch.Tensor] = {}
        for key, value in state.items():
            # accept "features.N.weight" under any prefix ("vgg.", "model.", "module.")
            tail = key[key.rfind("features."):] if "features." in key else key
            if tail in wanted:
                picked[tail] = value.to(torch.float32)
        missing = sorted(set(wanted) - set(picked))
        if missing:
            raise ValueError(f"{source}: not VGG19 weights in torchvision naming "
                             f"(missing {missing[0]!r} and {len(missing) - 1} more)")
        for key, value in picked.items():
            if tuple(value.shape) != tuple(wanted[key].shape):
                raise ValueError(f"{source}: {key} has shape {tuple(value.shape)}, "
                                 f"VGG19 needs {tuple(wanted[key].shape)}")
        self.load_state_dict(picked)
