"""DeblurGAN generator, with the edge-channel and feedback variants of paper 001.

DeblurGAN (Kupyn et al., CVPR 2018), the baseline of paper 001 Table 3 (Fig. 6) and paper 004 Table 2:
a 7x7 conv, two stride-2 3x3 convs (64 -> 128 -> 256 channels), 9 ResBlocks (conv-IN-ReLU-dropout 0.5-
conv-IN, plus identity), two stride-2 3x3 transposed convs, a 7x7 conv and tanh, with a global residual.
InstanceNorm throughout (per-image statistics, so whole-image inference is preferred over tiles).

Image convention: the network takes and returns [0, 1] images. The body sees ``2x - 1`` (DeblurGAN's
[-1, 1] convention) and the output is ``x + tanh(branch)``: the tanh branch is a correction in [-1, 1]
added to the [0, 1] input; the engine clamps. The last conv of the branch starts at zero, so an untrained
network returns its input exactly (short CPU training runs then start from "no change", not from noise).

Paper 001 variants:
- ``edge=True`` (section 4.1.5): a fourth input channel with Canny edges (``models.edges.canny``,
  mapped to [-1, 1] like the image). The paper took the edges of the *sharp* image, which a user
  deblurring a photo does not have; we compute them from the blurred input, at training and at test time.
  (The paper's variant scored 25.27 dB against 28.70 dB for plain DeblurGAN, Table 3.)
- ``feedback_iterations=N`` (section 4.1.6, Fig. 3): a ConvLSTM cell between the encoder (intro, downs,
  ResBlocks) and the decoder. The image goes through the network N times (4 in the paper); each pass's
  output image is the next pass's input, and the LSTM's hidden and cell state carry from pass to pass.
  The paper's wording ("the same image is iterated ... the output of the previous iteration's feedback
  module is given as input to the current feedback module") also fits feeding the same blurred image each
  time; we feed the refined image so each pass can remove what the previous one left. The ConvLSTM
  (Shi et al. 2015) uses one 3x3 conv for the four gates; the forget-gate bias starts at 1 (Gers et al.),
  so the cell remembers by default. Only the last pass's output is returned.

Initialisation: ``init="normal"`` is DeblurGAN's ``weights_init`` (conv weights ~ N(0, 0.02), BatchNorm
scales ~ N(1, 0.02), biases 0; ``blocks.reference_init_``), used by the paper-size presets. Two places still
differ from DeblurGAN's code, on purpose: the last conv starts at zero (identity start, above) instead of
N(0, 0.02), and the ConvLSTM's forget-gate bias starts at 1. The compact presets keep PyTorch's default
initialisation (``init="default"``), the starting point their bundled weights were trained from; the
choice changes no state-dict key, so loading is unaffected.
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import ResBlock, norm_layer, reference_init_, zero_init_
from .edges import canny


class ConvLSTMCell(nn.Module):
    """c' = f*c + i*g, h' = o*tanh(c'), with [i, f, g, o] = conv3x3([x, h]) (Shi et al. 2015)."""

    def __init__(self, channels: int, kernel: int = 3):
        super().__init__()
        self.gates = nn.Conv2d(2 * channels, 4 * channels, kernel, padding=kernel // 2)
        self.reset_gate_biases()

    def reset_gate_biases(self) -> None:
        channels = self.gates.out_channels // 4
        with torch.no_grad():
            self.gates.bias.zero_()
            self.gates.bias[channels:2 * channels].fill_(1.0)  # forget gate

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        h, c = state if state is not None else (torch.zeros_like(x), torch.zeros_like(x))
        i, f, g, o = self.gates(torch.cat([x, h], dim=1)).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)


def _down(cin: int, cout: int, norm: str) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False), norm_layer(norm, cout),
                         nn.ReLU(inplace=True))


def _up(cin: int, cout: int, norm: str) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1, bias=False),
                         norm_layer(norm, cout), nn.ReLU(inplace=True))


class DeblurGANGenerator(nn.Module):
    """intro (7x7) -> downs (2x stride 2) -> middle (ResBlocks) [-> feedback] -> ups (2x) -> ending (7x7)."""

    def __init__(self, ngf: int = 64, blocks: int = 9, edge: bool = False, feedback_iterations: int = 0,
                 dropout: float = 0.5, norm: str = "instance", init: str = "default"):
        super().__init__()
        if feedback_iterations < 0:
            raise ValueError("feedback_iterations must be >= 0")
        self.edge = edge
        self.feedback_iterations = feedback_iterations
        c = ngf * 4
        self.intro = nn.Sequential(
            nn.Conv2d(3 + int(edge), ngf, 7, padding=3, padding_mode="reflect", bias=False),
            norm_layer(norm, ngf), nn.ReLU(inplace=True))
        self.downs = nn.Sequential(_down(ngf, ngf * 2, norm), _down(ngf * 2, c, norm))
        self.middle = nn.Sequential(*[ResBlock(c, norm=norm, dropout=dropout) for _ in range(blocks)])
        self.feedback = ConvLSTMCell(c) if feedback_iterations else None
        self.ups = nn.Sequential(_up(c, ngf * 2, norm), _up(ngf * 2, ngf, norm))
        self.ending = zero_init_(nn.Conv2d(ngf, 3, 7, padding=3, padding_mode="reflect"))
        reference_init_(self, init, skip=(self.ending,))  # DeblurGAN's N(0, 0.02) when init="normal"
        if self.feedback is not None:
            self.feedback.reset_gate_biases()

    def _correction(self, image: torch.Tensor, state=None):
        """The tanh branch for one pass, and the ConvLSTM state after it."""
        inputs = image * 2 - 1
        if self.edge:
            inputs = torch.cat([inputs, canny(image.clamp(0, 1)) * 2 - 1], dim=1)
        features = self.middle(self.downs(self.intro(inputs)))
        if self.feedback is not None:
            features, state = self.feedback(features, state)
        return torch.tanh(self.ending(self.ups(features))), state

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.feedback is None:
            return x + self._correction(x)[0]  # global residual
        image, state = x, None
        for _ in range(self.feedback_iterations):  # section 4.1.6: output of pass k is the input of pass k+1
            correction, state = self._correction(image, state)
            image = image + correction
        return image
