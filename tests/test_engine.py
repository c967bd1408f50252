"""The engine: padding and cropping, tiled == whole for local networks, out-of-memory fallback, precision and
device rules, InstanceNorm-aware tiling. Networks are tiny in-memory modules; no weights are needed."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from deblur_cli.errors import DeblurError, UsageError
from deblur_cli.inference import devices, tiling
from deblur_cli.inference import norm_stats
from deblur_cli.inference.engine import Restorer, parse_tile
from deblur_cli.inference.settings import RestoreSettings
from deblur_cli.models.blocks import ChannelAttention
from deblur_cli import registry
from deblur_cli.registry import VariantSpec


# What these tests restore with unless they say otherwise: the CPU in fp32, the whole image, one pass.
ONE_PASS_CPU = RestoreSettings(device="cpu", precision="fp32", tile="0", ensemble=1)


def make(module, spec_, **changes) -> Restorer:
    """``Restorer(module, spec_, settings)`` with :data:`ONE_PASS_CPU` changed by ``changes``."""
    return Restorer(module, spec_, replace(ONE_PASS_CPU, **changes))


def spec(multiple_of=4, tiling_hint="supported", **kw):
    return VariantSpec(name="tiny", family="test", preset="compact", builder="none:none",
                       multiple_of=multiple_of, tiling=tiling_hint, **kw)


class Identity(nn.Module):
    def forward(self, x):
        return x


class MustBeMultiple(nn.Module):
    """Fails unless padded to a multiple of 4; returns 1 - x so cropping mistakes show."""

    def forward(self, x):
        assert x.shape[-2] % 4 == 0 and x.shape[-1] % 4 == 0, x.shape
        return 1 - x


class OOMAbove(nn.Module):
    """Raises CUDA-style out-of-memory for inputs over ``limit`` pixels; remembers the sizes it ran."""

    def __init__(self, limit):
        super().__init__()
        self.limit, self.seen = limit, []

    def forward(self, x):
        if x.shape[-2] * x.shape[-1] > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        self.seen.append(tuple(x.shape[-2:]))
        return x


def local_net(strided: bool) -> nn.Module:
    torch.manual_seed(0)
    if strided:  # encoder/decoder like the generators, no normalisation: translation-equivariant by 4 px
        return nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 8, 3, 2, 1), nn.ReLU(),
                             nn.ConvTranspose2d(8, 8, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(8, 3, 4, 2, 1))
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(8, 3, 3, padding=1), nn.Sigmoid())


def image(h, w, seed=0):
    return np.random.default_rng(seed).random((h, w, 3), dtype=np.float32)


@pytest.mark.parametrize("h,w,tile,overlap", [(67, 93, 64, 16), (1000, 37, 64, 32), (67, 93, 64, 0),
                                              (130, 131, 96, 40), (64, 64, 64, 16)])
def test_identity_network_returns_input_for_any_tiling(h, w, tile, overlap):
    rgb = image(h, w)
    out = make(Identity(), spec(), tile=tile, overlap=overlap).restore(rgb)
    assert out.shape == rgb.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, rgb, atol=1e-6)


@pytest.mark.parametrize("strided", [False, True])
def test_tiled_equals_whole_for_a_local_network(strided):
    net, rgb = local_net(strided), image(150, 203, seed=1)
    whole = make(net, spec(), tile=0).restore(rgb)
    # The receptive field is smaller than the ignored band (a quarter of the 48 px overlap).
    tiled = make(net, spec(), tile=64, overlap=48).restore(rgb)
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


def test_tiles_off_the_stride_grid_would_not_match():
    # Why tile starts snap to multiple_of: the same strided network tiled on a 2-pixel grid differs.
    net, rgb = local_net(True), image(150, 203, seed=1)
    whole = make(net, spec(multiple_of=4), tile=0).restore(rgb)
    off_grid = make(net, spec(multiple_of=2), tile=64, overlap=48).restore(rgb)
    assert np.abs(off_grid - whole).max() > 0.01


def test_pads_to_multiple_and_crops_back_odd_sizes():
    rgb = image(37, 55)
    out = make(MustBeMultiple(), spec(multiple_of=4)).restore(rgb)
    assert out.shape == (37, 55, 3)
    np.testing.assert_allclose(out, 1 - rgb, atol=1e-6)
    tiny = image(2, 3)  # smaller than the padding: replicate instead of reflect
    assert make(MustBeMultiple(), spec(multiple_of=4)).restore(tiny).shape == (2, 3, 3)


class NeedsTwoByTwo(nn.Module):
    """InstanceNorm at 1/4 scale, as the generators do: fails below 8x8 unless the engine pads up to it."""

    def __init__(self):
        super().__init__()
        self.down = nn.Sequential(nn.AvgPool2d(4), nn.InstanceNorm2d(3))

    def forward(self, x):
        self.down(x)  # raises "Expected more than 1 spatial element" when 1x1 at 1/4 scale
        return 1 - x


@pytest.mark.parametrize("size", [(1, 1), (1, 9), (3, 2), (2, 70), (8, 8)])
def test_image_below_min_size_is_padded_up_cropped_back_and_noted(size):
    restorer = make(NeedsTwoByTwo(), spec(multiple_of=4), ensemble=2)
    assert restorer.spec.min_size == 8  # default: two multiples
    rgb = image(*size)
    np.testing.assert_allclose(restorer.restore(rgb), 1 - rgb, atol=1e-6)
    note = restorer.size_note(*size)
    if size == (8, 8):
        assert note is None
    else:
        assert "padded to" in note and "8 px" in note
    assert restorer.size_note(5, 7) is None  # padded to 8x8 as a multiple of 4 anyway: nothing to say
    assert restorer.padded_size(1, 9) == (8, 12)
    assert make(NeedsTwoByTwo(), spec(multiple_of=4, min_size=16)).padded_size(1, 20) == (16, 20)


COMPACT = [s.name for s in registry.specs() if s.preset == "compact"]


@pytest.mark.parametrize("name", COMPACT)
def test_every_compact_variant_restores_tiny_images(name):
    """InstanceNorm (BAG, DeblurGAN) needs more than one value per channel at the deepest level, reflection pads
    more pixels than they pad: a 1x1, a 1-pixel strip and a 3x2 image all restore, at their own size."""
    torch.manual_seed(0)
    restorer = make(registry.build(name), registry.get(name), ensemble=2)
    for size in ((1, 1), (1, 9), (3, 2), (2, 70)):
        out = restorer.restore(image(*size))
        assert out.shape == (*size, 3) and np.isfinite(out).all()


def test_output_is_clamped_and_multiscale_takes_finest():
    class Multi(nn.Module):
        def forward(self, x):
            return [x[..., ::2, ::2] * 0, x * 3 - 1]

    rgb = image(20, 24)
    out = make(Multi(), spec(multiscale_outputs=True)).restore(rgb)
    np.testing.assert_allclose(out, np.clip(rgb * 3 - 1, 0, 1), atol=1e-6)


def test_out_of_memory_halves_the_tile_and_retries():
    net = OOMAbove(limit=100 * 100)
    rgb = image(300, 260)
    restorer = make(net, spec(multiple_of=4), tile=0)
    out = restorer.restore(rgb)
    np.testing.assert_allclose(out, rgb, atol=1e-6)
    assert net.seen and max(h * w for h, w in net.seen) <= 100 * 100
    assert max(max(s) for s in net.seen) <= 300 // 2 // 2 + 4  # 300 -> 148 (still too big) -> 72


def test_ensemble_passes_keep_the_tile_that_fitted():
    class CountingOOM(OOMAbove):
        tried = 0

        def forward(self, x):
            self.tried += 1
            return super().forward(x)

    net = CountingOOM(limit=100 * 100)
    rgb = image(300, 260)
    out = make(net, spec(multiple_of=4), tile=0, ensemble=2).restore(rgb)
    np.testing.assert_allclose(out, rgb, atol=1e-6)
    failed = net.tried - len(net.seen)
    assert failed == 2  # whole image, then 148 px tiles, in the first pass only; the second starts at 72 px
    assert net.seen[:len(net.seen) // 2] == net.seen[len(net.seen) // 2:]


def test_out_of_memory_below_the_smallest_tile_is_a_clear_error():
    restorer = make(OOMAbove(limit=10 * 10), spec(), tile=0)
    with pytest.raises(DeblurError, match="out of memory"):
        restorer.restore(image(200, 200))


def test_other_errors_are_not_retried():
    class Broken(nn.Module):
        def forward(self, x):
            raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):
        make(Broken(), spec()).restore(image(8, 8))


def test_global_stats_progress_counts_the_statistics_passes():
    calls = []
    make(norm_net(), spec(), tile=64, overlap=16, tile_mode="global-stats", stats_passes=1).restore(
        gradient_image(100, 150), progress=lambda d, n: calls.append((d, n)))
    n = 3 * len(tiling.plan_tiles(100, 150, 64, 16, 4))  # pooling pass, refinement pass, output pass
    assert calls == [(i, n) for i in range(1, n + 1)]
    with pytest.raises(UsageError):
        make(norm_net(), spec(), stats_source="magic")


def test_progress_reports_every_tile():
    calls = []
    make(Identity(), spec(), tile=64, overlap=16).restore(image(100, 150), progress=lambda d, n: calls.append((d, n)))
    n = len(tiling.plan_tiles(100, 150, 64, 16, 4))
    assert calls == [(i, n) for i in range(1, n + 1)]


def test_collected_maps_are_blended_at_image_size():
    class WithMap(nn.Module):
        def forward(self, x):
            self.map = x[:, :1, ::4, ::4]  # a quarter-resolution map, like BAG's attention
            return x

    rgb = image(90, 130)
    net = WithMap()
    for tile in (0, 64):
        _, maps = make(net, spec(), tile=tile, overlap=32).restore_with_maps(
            torch.from_numpy(rgb).permute(2, 0, 1)[None], collect=lambda m: [m.map, m.map])
        assert maps.shape == (1, 2, 90, 130)
        assert float((maps[0, 0] - torch.from_numpy(rgb[..., 0])).abs().mean()) < 0.3


def test_channels_last_gives_the_same_result():
    net, rgb = local_net(True), image(40, 48)
    a = make(net, spec(), channels_last=False).restore(rgb)
    b = make(net, spec(), channels_last=True).restore(rgb)
    np.testing.assert_allclose(a, b, atol=1e-5)


# -- InstanceNorm-aware tiling -----------------------------------------------------------------------------

def norm_net(channel_attention=False):
    torch.manual_seed(0)
    middle = ChannelAttention(8, reduction=2) if channel_attention else nn.InstanceNorm2d(8)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.InstanceNorm2d(8, affine=True), nn.ReLU(),
                        nn.Conv2d(8, 8, 3, 2, 1), middle, nn.ReLU(), nn.ConvTranspose2d(8, 3, 4, 2, 1))
    if channel_attention:
        nn.init.normal_(middle.fc[2].weight, std=3.0)  # make the channel weights depend on the content
    return net


def gradient_image(h, w):
    # Brightness varies across the frame, so per-tile statistics differ from the whole image's.
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([xx / w, yy / h, (xx + yy) / (h + w)], -1)
    return np.clip(base + 0.1 * image(h, w, seed=3), 0, 1).astype(np.float32)


def psnr(a, b):
    return 10 * np.log10(1 / np.mean((a - b) ** 2))


@pytest.mark.parametrize("channel_attention", [False, True])
def test_replayed_statistics_reproduce_the_normal_forward(channel_attention):
    net, x = norm_net(channel_attention), torch.rand(1, 3, 32, 40)
    whole = tiling.plan_tiles(32, 40, 64, 16)  # one tile covering the image: its core is the whole image
    with torch.inference_mode():
        expected = net(x)
        recorded = norm_stats.recorded_statistics(net, lambda: net(x))
        with norm_stats.shared_statistics(net, recorded):
            replayed = net(x)
        for using in (None, recorded):  # a plain pass, then a refinement pass normalising with what it has
            pooled = norm_stats.pooled_statistics(net, whole, lambda t: net(tiling.crop(x, t)), lambda h, w: (h, w),
                                                  using)
            assert pooled.keys() == recorded.keys()
            for key, (mean, var) in pooled.items():  # pooled whole-image sums == own statistics
                torch.testing.assert_close(mean, recorded[key][0], atol=1e-5, rtol=1e-4)
                torch.testing.assert_close(var, recorded[key][1], atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(replayed, expected, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(net(x), expected)  # the layers are restored after each call


def test_statistics_of_one_call_do_not_leak_into_the_next():
    net = norm_net()
    with torch.inference_mode():
        bright = norm_stats.recorded_statistics(net, lambda: net(torch.full((1, 3, 16, 16), 0.9)))
        dark = norm_stats.recorded_statistics(net, lambda: net(torch.full((1, 3, 16, 16), 0.1)))
    assert not torch.equal(bright[0, 0][0], dark[0, 0][0])  # each call returns its own, nothing is kept
    with pytest.raises(RuntimeError, match="no statistics"):
        with norm_stats.shared_statistics(net, {}):
            pass


@pytest.mark.parametrize("channel_attention", [False, True])
def test_global_stats_tiling_agrees_with_whole_image_better_than_plain(channel_attention):
    net, rgb = norm_net(channel_attention), gradient_image(160, 240)
    whole = make(net, spec(tiling_hint="discouraged"), tile=0).restore(rgb)
    plain = make(net, spec(tiling_hint="discouraged"), tile=64, tile_mode="plain").restore(rgb)
    for source in ("downscaled", "tiles"):
        shared = make(net, spec(tiling_hint="discouraged"), tile=64, tile_mode="global-stats",
                          stats_source=source).restore(rgb)
        assert psnr(shared, whole) > psnr(plain, whole) + 3, source
    exact = make(net, spec(), tile=64, tile_mode="global-stats", stats_passes=2).restore(rgb)  # two statistics layers: exact
    assert psnr(exact, whole) > 60


def test_tile_mode_defaults_to_plain_and_global_stats_leaves_plain_networks_alone():
    assert make(norm_net(), spec()).tile_mode == "plain"
    net, rgb = local_net(False), image(100, 130)
    plain = make(net, spec(), tile=64, overlap=32).restore(rgb)
    shared = make(net, spec(), tile=64, overlap=32, tile_mode="global-stats").restore(rgb)
    np.testing.assert_array_equal(plain, shared)  # nothing to share in a network without statistics
    with pytest.raises(UsageError):
        make(Identity(), spec(), tile_mode="magic")


# -- options -------------------------------------------------------------------------------------------------

def test_parse_tile():
    assert parse_tile("auto") is None and parse_tile(None) is None
    assert parse_tile("0") == 0 and parse_tile(256) == 256
    for bad in ("big", "-1", "10"):
        with pytest.raises(UsageError):
            parse_tile(bad)


def test_precision_rules_on_cpu():
    cpu = torch.device("cpu")
    assert devices.resolve_precision("auto", spec(), cpu) == torch.float32
    assert devices.resolve_precision("bf16", spec(), cpu) == torch.bfloat16
    with pytest.raises(UsageError, match="fp16 is not supported on CPU"):
        devices.resolve_precision("fp16", spec(), cpu)
    with pytest.raises(UsageError, match="does not support bf16"):
        devices.resolve_precision("bf16", spec(supports_bfloat16=False), cpu)
    with pytest.raises(UsageError, match="unknown precision"):
        devices.resolve_precision("fp8", spec(), cpu)


def test_precision_auto_on_cuda_follows_the_spec(monkeypatch):
    cuda = torch.device("cuda", 0)
    monkeypatch.setattr(devices, "_half_is_broken", lambda device: False)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert devices.resolve_precision("auto", spec(), cuda) == torch.float16
    # measured on an H200: half precision slows networks of a million parameters or fewer
    assert devices.resolve_precision("auto", spec(), cuda, params=devices.HALF_ABOVE_PARAMS) == torch.float32
    assert devices.resolve_precision("auto", spec(), cuda, params=devices.HALF_ABOVE_PARAMS + 1) == torch.float16
    assert devices.resolve_precision("fp16", spec(), cuda, params=1000) == torch.float16  # asked for: kept
    assert devices.resolve_precision("auto", spec(supports_half=False), cuda) == torch.bfloat16
    assert devices.resolve_precision("auto", spec(supports_half=False, supports_bfloat16=False), cuda) == torch.float32
    with pytest.raises(UsageError, match="does not support fp16"):
        devices.resolve_precision("fp16", spec(supports_half=False), cuda)
    monkeypatch.setattr(devices, "_half_is_broken", lambda device: True)  # GTX 16xx
    assert devices.resolve_precision("auto", spec(), cuda) == torch.bfloat16


def test_restorer_gives_the_precision_rule_its_network_size(monkeypatch):
    from deblur_cli.inference import engine

    seen = {}

    def fake(precision, spec_, device, params=None):
        seen["params"] = params
        return torch.float32

    monkeypatch.setattr(engine, "resolve_precision", fake)
    net = local_net(False)
    make(net, spec(), precision="auto")
    assert seen["params"] == sum(p.numel() for p in net.parameters()) > 0


def test_channels_last_on_cpu_follows_the_spec_and_changes_no_pixel_that_matters():
    import copy

    rgb = image(40, 56)
    plain = make(copy.deepcopy(local_net(True)), spec())
    last = make(copy.deepcopy(local_net(True)), spec(channels_last_cpu=True))
    assert plain.memory_format == torch.contiguous_format and last.memory_format == torch.channels_last
    assert np.abs(last.restore(rgb) - plain.restore(rgb)).max() < 1e-5
    forced = make(copy.deepcopy(local_net(True)), spec(channels_last_cpu=True), channels_last=False)
    assert forced.memory_format == torch.contiguous_format  # an explicit choice wins over the spec


def test_only_measured_variants_run_channels_last_on_cpu():
    measured = {"rir-compact", "multiscale-compact", "resnet-gan-compact"}  # docs/inference.md, "Memory layout"
    assert {n for n in registry.names() if registry.get(n).channels_last_cpu} == measured


def test_bf16_on_cpu_runs_and_returns_float32():
    out = make(local_net(False), spec(), precision="bf16").restore(image(16, 16))
    assert out.dtype == np.float32


def test_device_names():
    assert devices.resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert devices.resolve_device("auto").type in ("cpu", "mps")
        with pytest.raises(UsageError, match="not available"):
            devices.resolve_device("cuda:0")
    for bad in ("gpu", "cuda:x", "tpu"):
        with pytest.raises(UsageError, match="unknown device"):
            devices.resolve_device(bad)


def test_out_of_memory_detection():
    assert devices.is_out_of_memory(torch.OutOfMemoryError("CUDA out of memory"))
    assert devices.is_out_of_memory(RuntimeError("[enforce fail] DefaultCPUAllocator: can't allocate memory"))
    assert not devices.is_out_of_memory(RuntimeError("size mismatch"))


@pytest.mark.parametrize("tile", [0, 64])
def test_ensemble_averages_the_mirrored_passes(tile):
    net, rgb = local_net(strided=True), image(100, 150)
    single = make(net, spec(), tile=tile, overlap=32)
    mirrored = [(lambda a: a), (lambda a: a[:, ::-1]), (lambda a: a[::-1]), (lambda a: a[::-1, ::-1])]
    passes = [f(single.restore(np.ascontiguousarray(f(rgb)))) for f in mirrored]
    for n in (2, 4):
        got = make(net, spec(), tile=tile, overlap=32, ensemble=n).restore(rgb)
        np.testing.assert_allclose(got, np.mean(passes[:n], axis=0), atol=1e-5)
    assert np.abs(passes[0] - passes[1]).mean() > 1e-3  # the network is not mirror-symmetric: the test can fail


def test_ensemble_of_a_mirror_symmetric_network_changes_nothing_and_maps_follow():
    class Blur(nn.Module):  # a symmetric 3x3 box filter: mirroring commutes with it
        def forward(self, x):
            self.map = x[:, :1]
            return nn.functional.avg_pool2d(nn.functional.pad(x, (1, 1, 1, 1), mode="reflect"), 3, 1)

    rgb = image(60, 70)
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None]
    one, maps1 = make(Blur(), spec(), ensemble=1).restore_with_maps(x, collect=lambda m: [m.map])
    four, maps4 = make(Blur(), spec(), ensemble=4).restore_with_maps(x, collect=lambda m: [m.map])
    torch.testing.assert_close(one, four, atol=1e-6, rtol=0)
    torch.testing.assert_close(maps1, maps4, atol=1e-6, rtol=0)  # maps are mirrored back before averaging


def test_ensemble_progress_counts_every_pass_and_bad_sizes_are_refused():
    calls = []
    make(Identity(), spec(), tile=64, overlap=16, ensemble=4).restore(image(100, 150),
                                                                        progress=lambda d, n: calls.append((d, n)))
    n = len(tiling.plan_tiles(100, 150, 64, 16, 4))
    assert calls == [(i, 4 * n) for i in range(1, 4 * n + 1)]
    with pytest.raises(UsageError, match="--ensemble must be one of 1, 2, 4"):
        make(Identity(), spec(), ensemble=3)


@pytest.mark.parametrize("tile,ensemble", [(0, 1), (64, 2)])
def test_strength_scales_the_networks_change_after_the_ensemble(tile, ensemble):
    net, rgb = local_net(strided=False), image(100, 150)
    full = make(net, spec(), tile=tile, overlap=32, ensemble=ensemble).restore(rgb)
    assert np.abs(full - rgb).mean() > 0.05  # the network changes the image: the test can fail
    for strength in (0.0, 0.5, 2.0):
        got = make(net, spec(), tile=tile, overlap=32, ensemble=ensemble, strength=strength).restore(rgb)
        np.testing.assert_allclose(got, np.clip(rgb + strength * (full - rgb), 0, 1), atol=1e-5)
    assert make(net, spec(), strength=1.0).strength == 1.0


def test_strength_outside_its_range_is_refused():
    for bad in (-0.1, 3.5, float("nan")):
        with pytest.raises(UsageError, match="--strength must be between 0 and 3"):
            make(Identity(), spec(), strength=bad)


def test_auto_tiles_on_a_cpu_cap_activations_however_much_memory_is_free(monkeypatch):
    from deblur_cli.inference import engine

    monkeypatch.setattr(engine, "available_memory", lambda device: 1 << 40)  # a terabyte free
    restorer = make(local_net(False), spec(), tile="auto")
    restorer._bytes_per_pixel = 500.0  # about bag-compact's, measured by tiling.activation_bytes_per_pixel
    tile = restorer.plan_tile(4000, 6000)  # a 24-megapixel photo
    assert 0 < tile and tile * tile * 500.0 <= engine.CPU_ACTIVATION_CAP
    assert restorer.plan_tile(300, 400) == 0  # a small photo still runs whole
    # just over the cap: the largest tile that fits is shrunk to the smallest one giving the same grid
    largest = tiling.auto_tile_size(1200, 2400, 500.0, engine.CPU_ACTIVATION_CAP, restorer.spec.multiple_of)
    chosen = restorer.plan_tile(1200, 2400)
    assert 0 < chosen < largest
    overlap_of = restorer._overlap_for
    assert (tiling.tile_count(1200, 2400, chosen, overlap_of(chosen), restorer.spec.multiple_of)
            == tiling.tile_count(1200, 2400, largest, overlap_of(largest), restorer.spec.multiple_of))
