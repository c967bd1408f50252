"""Every registered variant: pure data, no torch.

Names: the paper-size preset carries the paper's name (``bag``, ``deblurgan``, ...); the compact preset,
small enough to train and run on a 2-core CPU, adds ``-compact``. ``deblur -m deblurgan`` uses
``deblurgan``'s own weights when they exist and otherwise falls back to ``deblurgan-compact`` (see ``weights.resolve``).
"""

from __future__ import annotations

from .variant_spec import VariantSpec, register

P004 = "004 Blur-Attention-GAN (BAG)"
P001 = "001 Lenka et al., Blind Deblurring using GANs (2019)"
P002 = "002 multi-scale GAN deblurring article"
P003 = "003 Pham & Bui, Image deblurring with GAN (report)"

# --- BAG (paper 004). InstanceNorm everywhere: whole-image inference is preferred over tiles. -------------
_BAG = "deblur_cli.models.bag:BAGGenerator"
# init="normal": the N(0, 0.02) weights of the DeblurGAN / pix2pix codes (models/blocks.py reference_init_) in the
# paper-size presets; the compact presets keep PyTorch's default, the start of their bundled weights.
_REF_INIT = dict(init="normal")
_BAG_PAPER = dict(channels=256, growth=72, modules=4, **_REF_INIT)
_BAG_COMPACT = dict(channels=48, growth=24, modules=4)
_BAG_ABLATIONS = {  # Table 1 columns: name -> (kwargs, table row, description)
    "bag-plain": (dict(unit="plain", attention=False), "Model Plain", "7 plain convs per module, no SAU"),
    "bag-resblock": (dict(unit="resblock", attention=False), "Model 1", "ResBlocks instead of the DBU, no SAU"),
    # Model 2 (section 4.2): BatchNorm in the DenseBlocks only, "other parts are consistent with the BAG"
    "bag-dense-bn": (dict(unit="dense", unit_norm="batch", attention=False), "Model 2",
                     "DenseBlock with BatchNorm, no SAU"),
    "bag-dense-in": (dict(unit="dense", attention=False), "Model 3", "DenseBlock with InstanceNorm, no SAU"),
    "bag-one-level": (dict(residual="one"), "Model 4", "full module, one-level residual connection"),
}
for _preset, _size, _suffix in (("paper", _BAG_PAPER, ""), ("compact", _BAG_COMPACT, "-compact")):
    register(VariantSpec(
        name=f"bag{_suffix}", family="bag", preset=_preset, builder=_BAG, kwargs=dict(_size), paper=P004 + ", section 3",
        description="Blur-attention modules (DenseBlock + spatial attention), multi-level residual, global skip",
        table_rows=("004-table1:BAG", "004-table2:BAG") if _preset == "paper" else (),
        multiple_of=4, tiling="discouraged"))
    for _name, (_kw, _row, _desc) in _BAG_ABLATIONS.items():
        register(VariantSpec(
            name=f"{_name}{_suffix}", family="bag", preset=_preset, builder=_BAG, kwargs={**_size, **_kw},
            paper=P004 + ", section 4.2, Table 1", description=f"BAG ablation: {_desc}",
            table_rows=(f"004-table1:{_row}",) if _preset == "paper" else (),
            multiple_of=4, tiling="discouraged"))

# --- DeblurGAN (Kupyn et al. 2018, used by papers 001 and 004) --------------------------------------------
_DG = "deblur_cli.models.deblurgan:DeblurGANGenerator"
# Compact presets: no dropout (DeblurGAN's 0.5 slows the short CPU training runs they exist for). The
# feedback variant runs the whole network 4 times, so its compact preset is narrower (ngf 8, 4 blocks) to
# stay near the others' time on a 1280x720 image (docs/models.md has the measurements).
_DG_FEEDBACK_COMPACT = dict(ngf=8, blocks=4, dropout=0.0)
for _preset, _size, _suffix in (("paper", dict(ngf=64, blocks=9, **_REF_INIT), ""),
                                ("compact", dict(ngf=16, blocks=6, dropout=0.0), "-compact")):
    register(VariantSpec(
        name=f"deblurgan{_suffix}", family="deblurgan", preset=_preset, builder=_DG, kwargs=dict(_size),
        paper="DeblurGAN (Kupyn et al. 2018); " + P001 + ", Table 3",
        description="ResNet generator, 9 residual blocks, InstanceNorm, global residual",
        table_rows=("001-table3:DeblurGAN", "004-table2:DeblurGAN") if _preset == "paper" else (),
        multiple_of=4, tiling="discouraged"))
    register(VariantSpec(
        name=f"deblurgan-edge{_suffix}", family="deblurgan", preset=_preset, builder=_DG,
        kwargs={**_size, "edge": True}, paper=P001 + ", section 4.1.5",
        description="DeblurGAN with an extra Canny-edge input channel (edges of the blurred input)",
        table_rows=("001-table3:DeblurGAN + Edge Information",) if _preset == "paper" else (),
        # bf16's 8-bit mantissa moves near-threshold Canny edges: mean |output change| 0.049 against 0.011
        # for plain DeblurGAN (compact, random weights, 67x93 noise image); fp16 keeps 0.005
        multiple_of=4, tiling="discouraged", supports_bfloat16=False))
    register(VariantSpec(
        name=f"deblurgan-feedback{_suffix}", family="deblurgan", preset=_preset, builder=_DG,
        kwargs={**(_size if _preset == "paper" else _DG_FEEDBACK_COMPACT), "feedback_iterations": 4},
        paper=P001 + ", section 4.1.6",
        description="DeblurGAN with a ConvLSTM feedback between encoder and decoder, 4 iterations",
        table_rows=("001-table3:DeblurGAN + Feedback",) if _preset == "paper" else (),
        # 4 passes compound rounding: bf16 mean |output change| 0.095 (fp16 0.044) against 0.011 for one pass
        multiple_of=4, tiling="discouraged", supports_bfloat16=False))

# --- pix2pix U-Net rows of paper 001 Table 1 --------------------------------------------------------------
_P2P = "deblur_cli.models.pix2pix:UNetGenerator"
_P2P_ROWS = {  # name -> (kwargs, Table 1 row)
    "pix2pix": (dict(), "Pix2Pix"),
    "pix2pix-sa": (dict(self_attention=True), "Pix2Pix + Sl. Attn"),
    "pix2pix-sa-gr": (dict(self_attention=True, global_residual=True), "Pix2Pix + Sl. Attn + GR"),
    "pix2pix-sa-sn": (dict(self_attention=True, spectral_norm=True), "Pix2Pix + Sl. Attn + SN"),
    "pix2pix-sa-ca-gr-sn": (dict(self_attention=True, channel_attention=True, global_residual=True,
                                 spectral_norm=True),
                            "Pix2Pix + Sl. Attn + Ch. Attn + GR + SN + Percep. Loss"),
}
# Paper 001 eq. 2's output conv v in the paper-size presets only; the compact ones (bundled weights) keep
# the form they were trained with (models/blocks.py SelfAttention).
_EQ2_V = dict(attention_output_conv=True)
for _preset, _size, _suffix in (("paper", dict(ngf=64, levels=8, **_REF_INIT), ""),
                                ("compact", dict(ngf=16, levels=5, dropout=0.0), "-compact")):
    for _name, (_kw, _row) in _P2P_ROWS.items():
        _v = _EQ2_V if _preset == "paper" and _kw.get("self_attention") else {}
        register(VariantSpec(
            name=f"{_name}{_suffix}", family="pix2pix", preset=_preset, builder=_P2P, kwargs={**_size, **_kw, **_v},
            paper=P001 + ", section 4.2.1, Table 1", description=f"U-Net generator: {_row}",
            table_rows=(f"001-table1:{_row}",) if _preset == "paper" else (),
            multiple_of=2 ** _size["levels"],
            tiling="discouraged" if _kw.get("self_attention") else "supported"))

# --- Residual-in-Residual (paper 001 section 4.2.2, Table 2) ----------------------------------------------
_RIR = "deblur_cli.models.rir:RiRGenerator"
for _preset, _small, _large, _suffix in (("paper", dict(ngf=64, levels=4, **_EQ2_V, **_REF_INIT),
                                          dict(ngf=64, levels=5, **_EQ2_V, **_REF_INIT), ""),
                                         ("compact", dict(ngf=16, levels=3), dict(ngf=16, levels=4), "-compact")):
    register(VariantSpec(
        name=f"rir{_suffix}", family="rir", preset=_preset, builder=_RIR, kwargs=dict(_small),
        paper=P001 + ", section 4.2.2, Table 2",
        description="Residual-in-residual encoder-decoder with channel and spatial attention, global residual",
        table_rows=("001-table2:RiR + Ch. Attn + Sl. Attn + Percep. Loss + SN + GR",) if _preset == "paper" else (),
        multiple_of=2 ** _small["levels"], tiling="discouraged", channels_last_cpu=_preset == "compact"))
    register(VariantSpec(
        name=f"rir-large{_suffix}", family="rir", preset=_preset, builder=_RIR, kwargs=dict(_large),
        paper=P001 + ", section 5.2, Table 2", description="RiR with one more encoder and decoder block",
        table_rows=("001-table2:RiR(Large) + Ch. Attn + Sl. Attn + L1 Loss + SN + GR",) if _preset == "paper" else (),
        multiple_of=2 ** _large["levels"], tiling="discouraged"))

# --- Multi-scale coarse-to-fine generator (article 002) ---------------------------------------------------
_MS = "deblur_cli.models.multiscale:MultiScaleGenerator"
for _preset, _size, _suffix in (("paper", dict(channels=64, blocks=9), ""), ("compact", dict(channels=24, blocks=3), "-compact")):
    register(VariantSpec(
        name=f"multiscale{_suffix}", family="multiscale", preset=_preset, builder=_MS, kwargs=dict(_size),
        paper=P002, description="Coarse-to-fine generator over a 3-level pyramid (1/4, 1/2, 1)",
        multiple_of=4, multiscale_outputs=True, channels_last_cpu=_preset == "compact"))

# --- ResNet GAN of report 003 section 3.4 -----------------------------------------------------------------
_RG = "deblur_cli.models.resnet_gan:ResNetGANGenerator"
# compact: a global residual, not in the report (models/resnet_gan.py). Without it every detail must pass through
# the 1/4-resolution bottleneck: ngf 16 plateaued 4.7 dB below its own input after 5,500 CPU steps, and ngf 32 was
# still 7.9 dB below it after 6,175 (training L1 flat from step 3,000). With it the network starts as the identity,
# and leaving the identity is the hard part: on the training mix (40 % near-sharp pairs) its zero-initialised last
# conv stayed near zero (500 steps at ngf 16, 1,000 at ngf 32). On blurred pairs alone ngf 16 starts correcting
# within about 100 steps and ngf 32 did not in 150 (a 64-pair test), hence ngf 16 and the two-stage CPU recipe
# (configs/cpu/resnet-gan-compact-blurred.toml, then resnet-gan-compact.toml).
_RG_DESCRIPTION = "7x7 conv, two stride-2 convs, 6 BN residual blocks, two 4x4 transposed convs, 7x7 conv, tanh"
for _preset, _size, _suffix, _desc in (
        ("paper", dict(ngf=64, blocks=6), "", _RG_DESCRIPTION),
        ("compact", dict(ngf=16, blocks=4, global_residual=True), "-compact",
         _RG_DESCRIPTION + "; compact: 4 blocks and a global residual (our addition)")):
    register(VariantSpec(
        name=f"resnet-gan{_suffix}", family="resnet-gan", preset=_preset, builder=_RG, kwargs=dict(_size),
        paper=P003 + ", section 3.4", description=_desc,
        table_rows=("003-table1:ResNet GAN",) if _preset == "paper" else (),
        multiple_of=4, channels_last_cpu=_preset == "compact"))

# --- Discriminators the papers train against --------------------------------------------------------------
register(VariantSpec(name="patchgan", family="discriminator", preset="paper", kind="discriminator",
                     builder="deblur_cli.models.discriminators:PatchGAN", kwargs=dict(ndf=64, layers=3, **_REF_INIT),
                     paper="pix2pix (Isola et al. 2017) 70x70 PatchGAN; used by papers 001, 002, 004"))
register(VariantSpec(name="patchgan-sn", family="discriminator", preset="paper", kind="discriminator",
                     builder="deblur_cli.models.discriminators:PatchGAN",
                     kwargs=dict(ndf=64, layers=3, spectral_norm=True, **_REF_INIT), paper=P001 + ", section 4.1.3"))
register(VariantSpec(name="patchgan-compact", family="discriminator", preset="compact", kind="discriminator",
                     builder="deblur_cli.models.discriminators:PatchGAN", kwargs=dict(ndf=32, layers=3),
                     paper="70x70 PatchGAN, half width"))
register(VariantSpec(name="report-disc", family="discriminator", preset="paper", kind="discriminator",
                     builder="deblur_cli.models.discriminators:ReportDiscriminator", kwargs=dict(ndf=64),
                     paper=P003 + ", section 3.4"))

# --- Feature network of the perceptual loss (papers 001 eq. 7, 004 eq. 7); used by `deblur train` only ---
# ImageNet weights are not bundled: the manifest entry `vgg19-imagenet` names where to get them
# (hub repo id and filename); `deblur train --vgg-weights PATH` gives a local file.
register(VariantSpec(name="vgg19-imagenet", family="vgg", preset="paper", kind="feature",
                     builder="deblur_cli.train.vgg:VGG19Features", kwargs=dict(layer="conv3_3"),
                     paper="Simonyan & Zisserman 2015 (VGG19); perceptual loss of Johnson et al. 2016",
                     description="ImageNet VGG19 features up to conv3_3 (the 7th conv, paper 004's i = 7), "
                     "torchvision state-dict names"))
