"""Adversarial losses: what the discriminator minimises and what the generator adds to its content loss.

- ``wgan_gp``: paper 004 eq. 6 and DeblurGAN use the Wasserstein GAN, whose critic must be 1-Lipschitz.
  The paper does not say how it bounds it; we follow DeblurGAN's code (which 004 builds on,
  KupynOrest/DeblurGAN ``models/losses.py``, ``DiscLossWGANGP``): the gradient penalty of Gulrajani et al.
  2017 on random interpolates x_hat = a * sharp + (1 - a) * restored, a ~ U(0, 1) per image (DeblurGAN draws
  one a per batch, at its batch of 1 the same thing). Critic: mean D(fake) - mean D(real) + lambda * GP;
  generator: -mean D(fake), each mean over the critic's patch map.

  What the penalty constrains, as the reference does it: the gradient of the *sum* of the patch map with
  respect to the image, g = grad_x sum_p D_p(x_hat), measured at each pixel as the 2-norm over its colour
  channels, GP = mean over images and pixels of (||g[:, i, j]||_2 - 1)^2. The image is in the critic's
  own [-1, 1] units (the reference's critic sees [-1, 1]; ours take [0, 1] and map inside, so the leaf we
  differentiate is the [-1, 1] image). The bound is local: each pixel may move the summed patch scores by
  about 1 per unit of change, whatever the crop size. For a 256 crop (a 30x30 patch map) that lets the
  whole-image gradient of the sum reach sqrt(256 * 256) = 256, i.e. about 256 / 900 = 0.28 for the patch
  *mean* the losses use (512 / 900 per unit of [0, 1] intensity). Until issue #15 we penalised the
  whole-image norm of the sum's gradient with respect to the [0, 1] image (toward 1), which held the mean
  critic near 1/900 per unit of [0, 1] intensity, about 500 times tighter, and left the adversarial term
  beside 100 x perceptual nearly inert. (A literal Gulrajani penalty on the mean's whole-image
  gradient would allow about 3.5 times more than the reference at 256 crops; we keep the reference's
  scale, which the papers' lambda = 10 and 100 x perceptual were tuned against.)
- ``bce``: report 003 eq. 11-15 and pix2pix: BCE-with-logits, real -> 1, fake -> 0; the discriminator's
  loss is the average of its real and fake terms (pix2pix halves it "to slow D down"); the generator's is
  BCE(D(fake), 1) (the non-saturating form).
- ``hinge``: SAGAN's (Zhang et al. 2019) objective, offered for the spectral-norm rows of paper 001:
  D: relu(1 - D(real)) + relu(1 + D(fake)); G: -D(fake).

The loss's ``weight`` scales the generator's adversarial term only (L = L_content + weight * L_adv,
paper 004 eq. 5 with the content weight inside the content loss); the discriminator's loss is unweighted.
A conditional discriminator (pix2pix) sees the blurred input stacked with the image.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn
from torch.nn import functional as F


def disc_input(image: torch.Tensor, blur: Optional[torch.Tensor]) -> torch.Tensor:
    return image if blur is None else torch.cat([blur, image], dim=1)


class Adversarial:
    def __init__(self, kind: str, weight: float = 1.0, n_critic: int = 1, gp_weight: float = 10.0):
        if kind not in ("wgan_gp", "bce", "hinge"):
            raise ValueError(f"unknown adversarial loss {kind!r}")
        self.kind, self.weight, self.n_critic, self.gp_weight = kind, weight, n_critic, gp_weight

    def d_loss(self, d: nn.Module, real: torch.Tensor, fake: torch.Tensor,
               blur: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Discriminator loss on a (real, fake) pair; ``fake`` must already be detached."""
        d_real = d(disc_input(real, blur)).float()
        d_fake = d(disc_input(fake, blur)).float()
        if self.kind == "wgan_gp":
            gp = self.gradient_penalty(d, real, fake, blur)
            wdist = d_real.mean() - d_fake.mean()
            loss = -wdist + self.gp_weight * gp
            return loss, {"d_loss": loss.detach(), "wdist": wdist.detach(), "gp": gp.detach()}
        if self.kind == "bce":
            loss = 0.5 * (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                          + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
        else:
            loss = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
        return loss, {"d_loss": loss.detach()}

    def g_loss(self, d: nn.Module, fake: torch.Tensor, blur: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The generator's adversarial term (unweighted)."""
        d_fake = d(disc_input(fake, blur)).float()
        if self.kind == "bce":
            return F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))
        return -d_fake.mean()

    @staticmethod
    def gradient_penalty(d: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                         blur: Optional[torch.Tensor] = None) -> torch.Tensor:
        """DeblurGAN's WGAN-GP term (module docstring): per-pixel channel norms of grad (sum of the patch map)."""
        # fp32 outside autocast: the penalty's second-order terms lose too much in fp16
        with torch.autocast(device_type=real.device.type, enabled=False):
            a = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
            # the leaf is the interpolate in [-1, 1], the units the reference's critic differentiates in
            x_pm = (a * real.float() + (1 - a) * fake.float()).mul(2).sub(1).requires_grad_(True)
            out = d(disc_input((x_pm + 1) / 2, None if blur is None else blur.float()))
            # the sum's gradient = the reference's grad_outputs of ones over the patch map
            (grad,) = torch.autograd.grad(out.sum(), x_pm, create_graph=True)
            return ((grad.norm(2, dim=1) - 1) ** 2).mean()  # (N, H, W) per-pixel norms over channels
