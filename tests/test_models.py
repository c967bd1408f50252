"""Every registered network, built and run on CPU with the smallest input its spec allows.

The registry is the test matrix: a new variant is covered by adding it to ``deblur_cli/variants.py``.
Paper-size presets are large (up to ~107 M parameters), so inputs are the spec's ``multiple_of`` at most
(67x93 padded up to it); the whole file runs in well under a minute on one thread.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from deblur_cli import registry
from deblur_cli.models.blocks import SelfAttention, pad_to_multiple
from deblur_cli.models.edges import canny

ALL = registry.names(None)
GENERATORS = registry.names("generator")
DISCRIMINATORS = registry.names("discriminator")


def _starts_as_identity(spec: registry.VariantSpec) -> bool:
    """Global-residual generators, whose last conv starts at zero."""
    return spec.family in {"bag", "deblurgan", "rir", "multiscale"} or bool(spec.kwargs.get("global_residual"))


def _input(spec: registry.VariantSpec, seed: int = 0) -> torch.Tensor:
    """An odd-sized image, padded (as the engine does) to the spec's multiple."""
    x = torch.rand(1, 3, 67, 93, generator=torch.Generator().manual_seed(seed))
    return pad_to_multiple(x, spec.multiple_of)[0]


def _finest(y):
    return y[-1] if isinstance(y, list) else y


def _build(name: str, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return registry.build(name).eval()


@functools.lru_cache(maxsize=None)
def _pristine_run(name: str) -> tuple[torch.Tensor, object, int]:
    """(input, output, parameter count) of a freshly initialised network, built once for several tests."""
    spec = registry.get(name)
    x = _input(spec)
    model = _build(name, seed=0)
    with torch.no_grad():
        return x, model(x), sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", GENERATORS)
def test_generator_returns_its_padded_input_size(name):
    spec = registry.get(name)
    x, y, _ = _pristine_run(name)
    assert x.shape[-2] % spec.multiple_of == 0 and x.shape[-1] % spec.multiple_of == 0
    if spec.multiscale_outputs:
        assert [tuple(t.shape) for t in y] == [(1, 3, x.shape[-2] // s, x.shape[-1] // s) for s in (4, 2, 1)]
    else:
        assert isinstance(y, torch.Tensor) and y.shape == x.shape
    assert torch.isfinite(_finest(y)).all()


@pytest.mark.parametrize("name", [n for n in GENERATORS if _starts_as_identity(registry.get(n))])
def test_global_residual_generator_starts_as_identity(name):
    x, y, _ = _pristine_run(name)
    if isinstance(y, list):  # every scale returns its own blurred input
        for scale, out in zip((4, 2, 1), y):
            expected = torch.nn.functional.avg_pool2d(x, scale) if scale > 1 else x
            torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)
    else:
        torch.testing.assert_close(y, x, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", ALL)
def test_safetensors_round_trip_reproduces_output(name, tmp_path):
    spec = registry.get(name)
    x = _input(spec, seed=1)
    original = _build(name, seed=0)
    with torch.no_grad():  # zero-initialised weights and attention gammas would be equal in both builds
        for p in original.parameters():
            if not p.any():
                p.normal_(0, 0.05)
        expected = _finest(original(x))
    path = tmp_path / "weights.safetensors"
    save_file({k: v.contiguous() for k, v in original.state_dict().items()}, str(path))

    fresh = _build(name, seed=1)
    with torch.no_grad():
        assert not torch.equal(_finest(fresh(x)), expected), "outputs must depend on the weights"
        fresh.load_state_dict(load_file(str(path)), strict=True)
        assert torch.equal(_finest(fresh(x)), expected)


# Bounds from each architecture as its source describes it (counted by hand, +-4 % for biases and norms).
PAPER_PARAMETERS = {
    # DeblurGAN: 9 ResBlocks x 2 x 3*3*256*256 = 10.6 M, plus 0.8 M of encoder/decoder (Kupyn et al.: 11.4 M)
    "deblurgan": (11.0e6, 11.8e6),
    "deblurgan-edge": (11.0e6, 11.8e6),
    # + ConvLSTM gates: 3*3*512*1024 = 4.7 M
    "deblurgan-feedback": (15.6e6, 16.6e6),
    # pix2pix unet_256: 54.4 M; self-attention adds 1x1 convs f, g, h at levels 3 and 6 (~2.1 M) and eq. 2's
    # output conv v at C x C (256^2 + 512^2 encoder side, 512^2 + 1024^2 decoder side = 1.64 M)
    "pix2pix": (54.0e6, 54.9e6),
    "pix2pix-sa": (57.4e6, 59.1e6),
    "pix2pix-sa-gr": (57.4e6, 59.1e6),
    "pix2pix-sa-sn": (57.4e6, 59.1e6),
    "pix2pix-sa-ca-gr-sn": (57.4e6, 59.4e6),
    # RiR: dominated by the decoder ResBlocks at 512 (4 x 3*3*512*512 x 2 blocks = 18.9 M) and the 4x4
    # resampling convs; RiR(Large) adds a level whose decoder ResBlocks run at 1024 concatenated channels.
    "rir": (33e6, 42e6),
    "rir-large": (95e6, 120e6),
    # Three levels x 9 ResBlocks x 2 x 3*3*64*64 = 1.99 M
    "multiscale": (1.95e6, 2.1e6),
    # Report 003: 6 x 2 x 3*3*256*256 = 7.08 M, encoder 0.38 M, decoder 0.66 M
    "resnet-gan": (7.9e6, 8.4e6),
    # 70x70 PatchGAN of pix2pix: 2.77 M; report 003's discriminator has the same convolutions
    "patchgan": (2.7e6, 2.85e6),
    "patchgan-sn": (2.7e6, 2.85e6),
    "report-disc": (2.7e6, 2.85e6),
}


@pytest.mark.parametrize("name", [n for n in GENERATORS + DISCRIMINATORS
                                  if registry.get(n).preset == "paper" and registry.get(n).family != "bag"])
def test_paper_preset_parameter_count_is_plausible(name):
    assert name in PAPER_PARAMETERS, f"add justified bounds for {name}"
    low, high = PAPER_PARAMETERS[name]
    count = _pristine_run(name)[2]
    assert low <= count <= high, f"{name}: {count / 1e6:.2f} M"


@pytest.mark.parametrize("name", DISCRIMINATORS)
def test_discriminator_returns_a_map_of_logits(name):
    model = _build(name, seed=0)
    with torch.no_grad():
        y = model(torch.rand(2, 3, 256, 256))
    side = 30 if registry.get(name).builder.endswith(":PatchGAN") else 15  # pix2pix: 30x30 patches at 256
    assert y.shape == (2, 1, side, side)


def test_patchgan_logit_sees_a_70x70_patch():
    from deblur_cli.models.discriminators import PatchGAN

    torch.manual_seed(0)
    model = PatchGAN(ndf=8, layers=3, norm="none")  # InstanceNorm would make every logit see the whole image
    x = torch.rand(1, 3, 128, 128, requires_grad=True)
    y = model(x)
    y[0, 0, y.shape[-2] // 2, y.shape[-1] // 2].backward()
    rows = x.grad.abs().sum(dim=(0, 1, 3)).nonzero()
    cols = x.grad.abs().sum(dim=(0, 1, 2)).nonzero()
    assert rows.max() - rows.min() + 1 == 70 and cols.max() - cols.min() + 1 == 70


def test_pix2pix_self_attention_stays_at_eighth_resolution_or_coarser():
    model = _build("pix2pix-sa-ca-gr-sn", seed=0)
    sizes = []
    for m in model.modules():
        if isinstance(m, SelfAttention):
            m.register_forward_hook(lambda mod, args, out: sizes.append(tuple(args[0].shape[-2:])))
    with torch.no_grad():
        model(torch.rand(1, 3, 256, 256))
    assert sorted(sizes) == [(4, 4), (4, 4), (32, 32), (32, 32)]  # levels 3 and 6, encoder and decoder


def test_pix2pix_trains_with_batch_one_down_to_a_1x1_bottleneck():
    model = registry.build("pix2pix-sa-ca-gr-sn-compact").train()  # 5 levels: 32x32 -> 1x1
    y = model(torch.rand(1, 3, 32, 32))
    y.mean().backward()
    assert y.shape == (1, 3, 32, 32)


def test_feedback_feeds_each_pass_output_back_and_carries_the_lstm_state():
    model = _build("deblurgan-feedback-compact", seed=0)
    with torch.no_grad():
        model.ending.weight.normal_(0, 0.05)  # off identity, so each pass changes the image
    intro_inputs, states = [], []
    model.intro.register_forward_hook(lambda mod, args, out: intro_inputs.append(args[0]))
    model.feedback.register_forward_hook(lambda mod, args, out: states.append(args[1]))
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        y = model(x)
        assert len(intro_inputs) == 4 and states[0] is None and all(s is not None for s in states[1:])
        torch.testing.assert_close(intro_inputs[0], x * 2 - 1)
        assert not torch.allclose(intro_inputs[1], intro_inputs[0])
        # the output is the last pass's input image plus that pass's correction, given the carried state
        last_correction, _ = model._correction((intro_inputs[3] + 1) / 2, states[3])
    torch.testing.assert_close(y, (intro_inputs[3] + 1) / 2 + last_correction)


def test_deblurgan_edge_feeds_a_fourth_channel():
    model = _build("deblurgan-edge-compact", seed=0)
    assert model.intro[0].in_channels == 4


def test_bag_keeps_four_attention_maps():
    model = _build("bag-compact", seed=0)
    model.keep_attention_maps(True)
    with torch.no_grad():
        model(torch.rand(1, 3, 32, 32))
    maps = model.attention_maps()
    assert len(maps) == 4 and all(m.shape == (1, 1, 8, 8) for m in maps)


def test_self_attention_computes_eq2():
    """The fused kernel path gives paper 001 eq. 2: y = gamma * softmax(q k^T) v + x."""
    torch.manual_seed(0)
    block = SelfAttention(32)
    with torch.no_grad():
        block.gamma.fill_(0.7)
        x = torch.randn(2, 32, 9, 13)
        q = block.query(x).flatten(2).transpose(1, 2)
        k = block.key(x).flatten(2).transpose(1, 2)
        v = block.value(x).flatten(2).transpose(1, 2)
        o = torch.softmax(q @ k.transpose(1, 2), dim=-1) @ v
        expected = x + 0.7 * o.transpose(1, 2).reshape(x.shape)
        torch.testing.assert_close(block(x), expected, rtol=1e-5, atol=1e-5)


def _shapes_image() -> np.ndarray:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:96, :128]
    img = np.full((96, 128), 0.3, np.float32)
    img[20:60, 30:90] = 0.8
    img[(yy - 70) ** 2 + (xx - 100) ** 2 < 15 ** 2] = 0.55
    img[(np.abs(yy - xx + 10) < 6) & (xx < 60)] = 0.1  # a diagonal band
    return img + rng.normal(0, 0.01, img.shape).astype(np.float32)


def test_canny_finds_no_edges_in_a_flat_image():
    assert canny(torch.full((1, 3, 40, 50), 0.5)).sum() == 0


def test_canny_edges_are_thin_and_on_the_boundary():
    img = torch.full((1, 1, 64, 64), 0.2)
    img[..., 16:48, 16:48] = 0.8
    edges = canny(img)[0, 0]
    assert edges.shape == (64, 64)
    assert edges[24:40, 24:40].sum() == 0 and edges[:10].sum() == 0  # nothing inside or far outside
    assert edges[32].sum() == 2 and edges[:, 32].sum() == 2  # a one-pixel line across each side


def test_canny_agrees_with_scikit_image_within_one_pixel():
    feature = pytest.importorskip("skimage.feature")
    ndimage = pytest.importorskip("scipy.ndimage")
    img = _shapes_image()
    ours = canny(torch.from_numpy(img)[None, None])[0, 0].numpy() > 0
    # scikit-image's Sobel is 8x ours, hence 8x the thresholds
    ref = feature.canny(img, sigma=1.0, low_threshold=0.16, high_threshold=0.4)
    assert ours.sum() > 200
    assert (ours & ndimage.binary_dilation(ref)).sum() >= 0.98 * ours.sum()
    assert (ref & ndimage.binary_dilation(ours)).sum() >= 0.98 * ref.sum()


def test_dense_block_inference_path_matches_the_concatenating_one():
    """Inference writes the dense features into one buffer instead of concatenating them (models/bag.py); it must
    give the very numbers the training path gives."""
    from deblur_cli.models.bag import DenseBlockUnit

    torch.manual_seed(0)
    block = DenseBlockUnit(channels=8, growth=4, layers=3).eval()
    x = torch.randn(1, 8, 20, 28)
    with torch.no_grad():
        fast = block(x)
    with torch.enable_grad():
        reference = block(x.clone().requires_grad_())
    assert torch.equal(fast, reference.detach())
    with torch.no_grad():  # several images: the buffer's channel slices would not be contiguous, so it concatenates
        batch = block(torch.cat([x, x.flip(-1)]))
    assert torch.allclose(batch[:1], fast, atol=1e-5)  # a batch may take other kernels: rounding only
