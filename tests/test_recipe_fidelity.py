"""Issue #15, "Recipe fidelity": the training recipes and architectures match the papers and their reference code."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deblur_cli.train.adversarial import Adversarial


# --- 1. WGAN-GP at DeblurGAN's scale ---------------------------------------------------------------------

class ConvCritic(nn.Module):
    """A linear critic with our critics' input convention ([0, 1] mapped to [-1, 1] inside)."""

    def __init__(self, weight: torch.Tensor, stride: int = 1):
        super().__init__()
        self.weight, self.stride = weight, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.conv2d(x * 2 - 1, self.weight, stride=self.stride)  # (N, 1, h, w) patch map


@pytest.mark.parametrize("size", [8, 32])
def test_gradient_penalty_is_per_pixel_and_independent_of_the_crop_size(size):
    # 1x1 conv: the gradient of the patch map's sum at each pixel is the weight vector w, so the penalty
    # is (||w|| - 1)^2 at any crop size. The old whole-image norm gave (||w|| * size - 1)^2.
    w = torch.tensor([0.6, 0.0, 0.8]).view(1, 3, 1, 1)  # ||w|| = 1
    real, fake = torch.rand(2, 3, size, size), torch.rand(2, 3, size, size)
    assert Adversarial.gradient_penalty(ConvCritic(w), real, fake).item() == pytest.approx(0.0, abs=1e-10)
    assert Adversarial.gradient_penalty(ConvCritic(3 * w), real, fake).item() == pytest.approx(4.0, rel=1e-5)


def test_gradient_penalty_matches_a_hand_computed_patch_critic():
    # 2x2 stride-2 conv: every pixel lies in exactly one patch, so its gradient is the kernel's channel
    # vector at its offset (i % 2, j % 2); those four vectors have norms 1, 2, 0.5 and 3 here, so the
    # penalty is the mean of (0, 1, 0.25, 4) = 1.3125.
    w = torch.zeros(1, 3, 2, 2)
    w[0, :, 0, 0] = torch.tensor([1.0, 0.0, 0.0])
    w[0, :, 0, 1] = torch.tensor([0.0, 2.0, 0.0])
    w[0, :, 1, 0] = torch.tensor([0.3, 0.0, 0.4])
    w[0, :, 1, 1] = torch.tensor([2.0, 2.0, 1.0])
    real, fake = torch.rand(3, 3, 6, 6), torch.rand(3, 3, 6, 6)
    gp = Adversarial.gradient_penalty(ConvCritic(w, stride=2), real, fake)
    assert gp.item() == pytest.approx(1.3125, rel=1e-5)


def test_gradient_penalty_of_a_conditional_critic_ignores_the_blurred_channels():
    # a 6-channel critic sees (blur, image); only the image is interpolated and differentiated
    w = torch.tensor([5.0, -7.0, 9.0, 0.0, 0.6, 0.8]).view(1, 6, 1, 1)
    real, fake, blur = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)
    assert Adversarial.gradient_penalty(ConvCritic(w), real, fake, blur).item() == pytest.approx(0.0, abs=1e-10)


def test_gradient_penalty_backpropagates_to_a_real_patchgan_critic():
    from deblur_cli.models.discriminators import PatchGAN

    torch.manual_seed(0)
    d = PatchGAN(ndf=4, layers=2)
    real, fake = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    loss, logs = Adversarial("wgan_gp").d_loss(d, real, fake)
    loss.backward()
    grads = [p.grad for p in d.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert torch.isfinite(logs["gp"]) and logs["gp"] >= 0


# --- 2. Table 1 "Model 2": BatchNorm in the DenseBlocks only --------------------------------------------

def _norm_kinds(module: nn.Module) -> set[str]:
    return {type(m).__name__ for m in module.modules() if isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d))}


@pytest.mark.parametrize("name", ["bag-dense-bn", "bag-dense-bn-compact"])
def test_dense_bn_ablation_changes_only_the_dense_blocks_norm(name):
    from deblur_cli import registry
    from deblur_cli.models.bag import DenseBlockUnit

    model = registry.build(name)
    assert _norm_kinds(model.encoder) == {"InstanceNorm2d"}  # "other parts are consistent with the BAG"
    assert _norm_kinds(model.decoder) == {"InstanceNorm2d"}
    for block in model.blocks:
        assert isinstance(block.features, DenseBlockUnit) and block.attention is None
        assert _norm_kinds(block.features) == {"BatchNorm2d"}


def test_dense_bn_and_dense_in_differ_only_in_the_dense_blocks_norm():
    from deblur_cli import registry

    def layout(name: str) -> list[tuple[str, str]]:
        return [(k, type(m).__name__.replace("BatchNorm2d", "Norm").replace("InstanceNorm2d", "Norm"))
                for k, m in registry.build(name).named_modules()]

    assert layout("bag-dense-bn-compact") == layout("bag-dense-in-compact")


# --- 3. Self-attention, paper 001 eq. 2: O = v(A h(X)) ---------------------------------------------------

def test_self_attention_output_conv_computes_eq2():
    from deblur_cli.models.blocks import SelfAttention

    torch.manual_seed(0)
    block = SelfAttention(16, output_conv=True)
    with torch.no_grad():
        block.gamma.fill_(0.7)
        x = torch.randn(2, 16, 5, 7)
        f = block.query(x).flatten(2).transpose(1, 2)
        g = block.key(x).flatten(2).transpose(1, 2)
        h = block.value(x).flatten(2).transpose(1, 2)
        a_h = (torch.softmax(f @ g.transpose(1, 2), dim=-1) @ h).transpose(1, 2).reshape(x.shape)
        expected = x + 0.7 * block.out(a_h)  # Y = gamma * v(A h(X)) + X
        torch.testing.assert_close(block(x), expected, rtol=1e-5, atol=1e-5)


def _self_attentions(model: nn.Module) -> list[nn.Module]:
    from deblur_cli.models.blocks import SelfAttention

    return [m for m in model.modules() if isinstance(m, SelfAttention)]


@pytest.mark.parametrize("name", ["pix2pix-sa", "pix2pix-sa-ca-gr-sn", "rir"])
def test_paper_presets_have_the_output_conv_v(name):
    from deblur_cli import registry

    attentions = _self_attentions(registry.build(name))
    assert attentions and all(isinstance(m.out, nn.Conv2d) for m in attentions)
    assert all(m.out.in_channels == m.out.out_channels == m.value.out_channels for m in attentions)


@pytest.mark.parametrize("name", ["pix2pix-sa-ca-gr-sn-compact", "rir-compact"])
def test_compact_presets_keep_the_bundled_form_without_v(name):
    """Their bundled files (tests/test_bundled_weights.py loads them and checks outputs) have no v keys."""
    from safetensors import safe_open

    from deblur_cli import registry
    from deblur_cli.weights.manifest import load_manifest

    model = registry.build(name)
    attentions = _self_attentions(model)
    assert attentions and all(m.out is None for m in attentions)
    entry = load_manifest().get(name)
    if entry.bundled:
        from pathlib import Path

        with safe_open(str(Path(__file__).resolve().parents[1] / entry.bundled), "pt") as fh:
            assert set(fh.keys()) == set(model.state_dict().keys())  # strict load, nothing missing or extra


# --- 4. VGG inputs: DeblurGAN's [-1, 1], unnormalised ------------------------------------------------------

def _identity_conv1_1(inputs: str):
    from deblur_cli.train.vgg import VGG19Features

    vgg = VGG19Features("conv1_1", inputs=inputs)
    conv = vgg.features[0]
    with torch.no_grad():  # the first 3 output channels copy the input channels (3x3 kernel, centre tap)
        conv.weight.zero_()
        conv.bias.zero_()
        for c in range(3):
            conv.weight[c, c, 1, 1] = 1.0
    return vgg


def test_vgg_sees_minus_one_to_one_images_by_default():
    from deblur_cli import registry

    assert registry.get("vgg19-imagenet").build().inputs == "deblurgan"  # what the training loop builds
    x = torch.rand(2, 3, 8, 8)
    out = _identity_conv1_1("deblurgan")(x)[:, :3]
    torch.testing.assert_close(out, x * 2 - 1)


def test_vgg_imagenet_inputs_remain_available():
    from deblur_cli.train.vgg import IMAGENET_MEAN, IMAGENET_STD

    x = torch.rand(1, 3, 8, 8)
    out = _identity_conv1_1("imagenet")(x)[:, :3]
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    torch.testing.assert_close(out, (x - mean) / std)
    with pytest.raises(ValueError, match="inputs"):
        _identity_conv1_1("caffe")


def test_perceptual_loss_is_the_feature_mse_of_minus_one_to_one_images():
    from deblur_cli.train.perceptual import PerceptualLoss

    loss = PerceptualLoss(_identity_conv1_1("deblurgan"))
    a, b = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)
    # channels 3.. of conv1_1 are zero here; the first 3 carry 2a - 1 and 2b - 1: 64 channels in the mean
    expected = ((2 * a - 2 * b) ** 2).sum() / (64 * 8 * 8)
    assert loss(a, b).item() == pytest.approx(expected.item(), rel=1e-5)


# --- 5. Initialisation: N(0, 0.02) in the paper-size presets, as the pix2pix and DeblurGAN codes -----------

def _conv_weights(model: nn.Module, skip: tuple[nn.Module, ...] = ()) -> torch.Tensor:
    skipped = {id(m) for m in skip}
    return torch.cat([m.weight.detach().flatten() for m in model.modules()
                      if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and id(m) not in skipped])


@pytest.mark.parametrize("name", ["deblurgan", "bag", "patchgan"])
def test_paper_presets_start_from_the_reference_normal_init(name):
    from deblur_cli import registry

    torch.manual_seed(0)
    model = registry.build(name)
    last = getattr(model, "ending", None) or getattr(model, "decoder", [None])[-1]
    skip = (last,) if last is not None else ()
    w = _conv_weights(model, skip)
    assert abs(w.mean().item()) < 1e-3 and w.std().item() == pytest.approx(0.02, rel=0.02)
    biases = [m.bias for m in model.modules()
              if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and m.bias is not None and m not in skip]
    assert all(not b.any() for b in biases)
    if last is not None:  # the global-residual generators still start as the identity
        assert not last.weight.any()


def test_paper_unet_batchnorm_and_spectral_norm_follow_the_reference_init():
    from deblur_cli import registry

    torch.manual_seed(0)
    model = registry.build("pix2pix-sa-sn")  # SN: the stored 'original' weights are the N(0, 0.02) draws
    originals = torch.cat([p.detach().flatten() for n, p in model.named_parameters() if n.endswith("weight.original")])
    assert originals.std().item() == pytest.approx(0.02, rel=0.02)
    scales = torch.cat([m.weight.detach() for m in model.modules() if isinstance(m, nn.BatchNorm2d)])
    assert scales.mean().item() == pytest.approx(1.0, abs=2e-3) and scales.std().item() == pytest.approx(0.02, rel=0.1)


def test_feedback_keeps_its_forget_gate_bias_under_the_reference_init():
    from deblur_cli import registry

    gates = registry.build("deblurgan-feedback").feedback.gates
    c = gates.out_channels // 4
    assert torch.equal(gates.bias[c:2 * c], torch.ones(c)) and not gates.bias[:c].any()


@pytest.mark.parametrize("name", ["bag-compact", "deblurgan-compact", "pix2pix-sa-ca-gr-sn-compact", "rir-compact",
                                  "patchgan-compact"])
def test_compact_presets_keep_pytorchs_default_init(name):
    """Their bundled weights (and CPU runs) started from PyTorch's default; init changes no state-dict key."""
    from deblur_cli import registry

    spec = registry.get(name)
    assert spec.kwargs.get("init", "default") == "default"
    torch.manual_seed(0)
    default = registry.build(name)
    torch.manual_seed(0)
    normal = registry.build(name, init="normal")
    assert list(default.state_dict()) == list(normal.state_dict())
    w_default, w_normal = _conv_weights(default), _conv_weights(normal)
    assert not torch.equal(w_default, w_normal)
    # PyTorch's default is U(+-1/sqrt(fan_in)): every weight inside its own conv's bound (spectral norm
    # rescales the weight it returns, so those convs are checked through their stored original)
    for m in default.modules():
        if isinstance(m, nn.Conv2d) and m.weight.any():
            w = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
            fan_in = m.weight.shape[1] * m.weight.shape[2] * m.weight.shape[3]
            assert w.abs().max().item() <= fan_in ** -0.5 + 1e-6
