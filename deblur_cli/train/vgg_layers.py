"""VGG19's layer table (pure data, no torch): names <-> indices in torchvision's ``vgg19().features``.

Simonyan & Zisserman 2015, configuration "E". Each 3x3 conv is followed by a ReLU; "M" is a 2x2 max-pool.
Names follow the usual convention: ``conv3_3`` is the third conv of the third block, ``relu3_3`` its ReLU.
Paper 004 eq. 7 takes "the i-th convolutional layer, i = 7": counting convs from the input
(conv1_1, conv1_2, conv2_1, conv2_2, conv3_1, conv3_2, conv3_3) the 7th is ``conv3_3``, index 14 in
torchvision's ``features``, the same layer DeblurGAN's perceptual loss uses (its code stops at index 14,
before the ReLU). Paper 001 names "conv 3,3 of VGG19" directly.
"""

from __future__ import annotations

VGG19_CFG: tuple = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
                    512, 512, 512, 512, "M", 512, 512, 512, 512, "M")


def _layer_table() -> dict[str, int]:
    names: dict[str, int] = {}
    index, block, conv = 0, 1, 0
    for item in VGG19_CFG:
        if item == "M":
            names[f"pool{block}"] = index
            index, block, conv = index + 1, block + 1, 0
        else:
            conv += 1
            names[f"conv{block}_{conv}"] = index
            names[f"relu{block}_{conv}"] = index + 1
            index += 2
    return names


VGG19_LAYERS: dict[str, int] = _layer_table()  # e.g. VGG19_LAYERS["conv3_3"] == 14
