"""The papers' own GoPro numbers, row by row, with how each paper computed them.

Pure data (no torch). A variant names the rows it reproduces in ``VariantSpec.table_rows`` as
``"<table>:<row key>"``; ``<row key>`` is the ``key`` of a :class:`PaperRow` below. Rows that no variant
implements (other methods a paper compares against) are kept as reference lines.

Numbers are copied from the extracted paper texts in /work/shared/papers (file named in ``source``).
Where a paper does not say how it computed a metric, ``how`` says so: these numbers are not all comparable
with each other or with ours (see docs/eval.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PaperRow:
    key: str  # matches the part after ":" in VariantSpec.table_rows
    label: str  # the row's label as printed in the paper
    psnr: float | None = None
    ssim: float | None = None
    seconds: float | None = None  # runtime per image as reported
    note: str = ""


@dataclass(frozen=True)
class Comparison:
    """One ordering a table's text claims: row ``lower`` scores below row ``higher`` (row keys)."""

    lower: str
    higher: str
    what: str  # the design choice the pair isolates, with the paper's section


@dataclass(frozen=True)
class PaperTable:
    name: str  # e.g. "004-table2"
    paper: str
    title: str
    source: str  # file under /work/shared/papers
    how: str  # how the paper computed its numbers, as far as it says
    hardware: str = ""  # where the paper's times were measured
    dataset: str = "GoPro"  # the test set of its numbers, in a few words
    rows: tuple[PaperRow, ...] = field(default_factory=tuple)
    # the orderings the paper draws from the table; none: every pair adjacent in the paper's PSNR order
    comparisons: tuple[Comparison, ...] = field(default_factory=tuple)

    def row(self, key: str) -> PaperRow | None:
        return next((r for r in self.rows if r.key == key), None)


_P001 = "001 Lenka, Mittal, Pandey: Blind Deblurring using GANs (2019)"
_HOW_001 = ("PSNR with m=255 on 8-bit images (eqs. 8-9); SSIM eq. 10, window and implementation not stated; "
            "GoPro test set")

TABLES: dict[str, PaperTable] = {t.name: t for t in (
    PaperTable(
        name="001-table1", paper=_P001, source="001_0a7bf6e917d4ce24.txt",
        title="Table 1: improvements on the pix2pix model",
        how=_HOW_001 + "; all tests on 256x256 images (the paper does not say whether resized or cropped), "
        "so not comparable with full-frame numbers; 50 epochs",
        rows=(
            PaperRow("Pix2Pix", "Pix2Pix", 25.41, 0.810),
            PaperRow("Pix2Pix + Sl. Attn", "Pix2Pix + Sl. Attn", 25.41, 0.808),
            PaperRow("Pix2Pix + Sl. Attn + GR", "Pix2Pix + Sl. Attn + GR", 27.29, 0.858),
            PaperRow("Pix2Pix + Sl. Attn + SN", "Pix2Pix + Sl. Attn + SN", 26.05, 0.831),
            PaperRow("Pix2Pix + Sl. Attn + Ch. Attn + GR + SN + Percep. Loss",
                     "Pix2Pix + Sl. Attn + Ch. Attn + GR + SN + Percep. Loss", 27.05, 0.831),
        ),
        # section 6 credits global residuals and spectral normalisation; each of these pairs adds one of them to
        # the self-attention model. Self-attention alone ties plain pix2pix in PSNR (25.41 both), and the last row
        # changes four things at once, so neither is stated as an ordering.
        comparisons=(
            Comparison("Pix2Pix + Sl. Attn", "Pix2Pix + Sl. Attn + GR", "global residual (4.1.3)"),
            Comparison("Pix2Pix + Sl. Attn", "Pix2Pix + Sl. Attn + SN", "spectral normalisation (4.1.4)"),
        )),
    PaperTable(
        name="001-table2", paper=_P001, source="001_0a7bf6e917d4ce24.txt",
        title="Table 2: improvements on the Residual-in-Residual (RiR) model",
        how=_HOW_001 + "; RiR tested on 1280x720 images, RiR(Large) on 1280x768; 300 epochs",
        rows=(
            PaperRow("RiR + Ch. Attn + Sl. Attn + Percep. Loss + SN + GR",
                     "RiR + Ch. Attn + Sl. Attn + Percep. Loss + SN + GR", 22.70, 0.640),
            PaperRow("RiR(Large) + Ch. Attn + Sl. Attn + L1 Loss + SN + GR",
                     "RiR(Large) + Ch. Attn + Sl. Attn + L1 Loss + SN + GR", 23.46, 0.671,
                     note="tested on 1280x768"),
        )),
    PaperTable(
        name="001-table3", paper=_P001, source="001_0a7bf6e917d4ce24.txt",
        title="Table 3: improvements on the DeblurGAN model",
        how=_HOW_001 + "; tested on 1280x720 images; 300 epochs",
        rows=(
            PaperRow("DeblurGAN", "DeblurGAN", 28.70, 0.958,
                     note="the DeblurGAN paper's own figure; its released weights re-evaluated on all 1,111 "
                     "test images gave 25.20 dB (DeblurGAN issue 106)"),
            PaperRow("DeblurGAN + Edge Information", "DeblurGAN + Edge Information", 25.27, 0.773),
            PaperRow("DeblurGAN + Feedback", "DeblurGAN + Feedback", 27.20, 0.827, note="4 feedback iterations"),
        )),
    PaperTable(
        name="004-table1", paper="004 Blur-Attention-GAN (BAG)", source="004_7d2870072696bbb9.txt",
        title="Table 1: average PSNR of blur-attention module structures (ablation)",
        how="average PSNR on the GoPro test set (1,111 pairs); metric code not stated; no SSIM reported",
        rows=(
            PaperRow("Model Plain", "Model Plain", 27.08, note="7 plain convs per module"),
            PaperRow("Model 1", "Model 1", 28.20, note="ResBlock"),
            PaperRow("Model 2", "Model 2", 28.80, note="DenseBlock-BN"),
            PaperRow("Model 3", "Model 3", 29.06, note="DenseBlock-IN, no SAU"),
            PaperRow("Model 4", "Model 4", 29.14, note="one-level residual connection"),
            PaperRow("BAG", "BAG", 29.41),
        ),
        # section 4.2: each pair changes one thing; the chain Plain < 1 < 2 < 3 < BAG and the residual pair
        comparisons=(
            Comparison("Model Plain", "Model 1", "ResBlock over plain convs (4.2.1)"),
            Comparison("Model 1", "Model 2", "DenseBlock (BN) over ResBlock (Table 1)"),
            Comparison("Model 2", "Model 3", "InstanceNorm over BatchNorm in the DenseBlock (4.2.1)"),
            Comparison("Model 3", "BAG", "the spatial attention unit (4.2.1)"),
            Comparison("Model 4", "BAG", "multi-level over one-level residual connection (4.2.2)"),
        )),
    PaperTable(
        name="004-table2", paper="004 Blur-Attention-GAN (BAG)", source="004_7d2870072696bbb9.txt",
        title="Table 2: average PSNR, SSIM and runtime on the GoPro dataset",
        how="GoPro test set (1,111 pairs); other methods run from their authors' released code with default "
        "parameters; metric code not stated",
        hardware="NVIDIA GeForce GTX 1080 Ti",
        rows=(
            PaperRow("Sun et al.", "Sun et al. [42]", 24.6, 0.84, 20 * 60.0),
            PaperRow("DeepDeblur", "DeepDeblur [18]", 29.1, 0.91, 3.09),
            PaperRow("DeblurGAN", "DeblurGAN [20]", 27.2, 0.95, 0.97),
            PaperRow("DeblurGAN-v2", "DeblurGAN-v2 [21]", 29.6, 0.93, 7.15),
            PaperRow("BAG", "Our method (BAG)", 29.4, 0.89, 1.13),
        )),
    PaperTable(
        name="003-table1", paper="003 Pham & Bui: Image deblurring with GAN (report)", source="003_df73fbaa44df27a6.txt",
        title="Table 1: performance comparison",
        dataset="its own split of GoPro",
        how="the report's own row: mean of per-image PSNR/SSIM over its GoPro test split (its own split of "
        "2,902 images; trained on images scaled to 640x360); metric code not stated; the other rows are quoted "
        "from the literature",
        rows=(
            PaperRow("DeepDeblur", "DeepDeblur [11]", 29.23, 0.916),
            PaperRow("SRN", "SRN [21]", 30.26, 0.934),
            PaperRow("PSS-NSC", "PSS-NSC [3]", 30.92, 0.942),
            PaperRow("DMPHN", "DMPHN [23]", 31.20, 0.945),
            PaperRow("RADN", "RADN [13]", 31.76, 0.953),
            PaperRow("SVDN", "SVDN [24]", 29.81, 0.937),
            PaperRow("MIMO-UNet", "MIMO-UNet [22]", 31.73, 0.951),
            PaperRow("MIMO-UNET++", "MIMO-UNET++ [22]", 32.68, 0.959),
            PaperRow("ResNet GAN", "Proposed model (ResNet GAN)", 23.97, 0.7601,
                     note="its Fig. 12 gives the mean as 23.979 dB (std 4.75, min 7.64, max 34.36)"),
        )),
)}


def table(name: str) -> PaperTable:
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; known tables: {', '.join(TABLES)}") from None


def split_ref(ref: str) -> tuple[str, str]:
    """``"004-table2:BAG"`` -> ``("004-table2", "BAG")``."""
    name, sep, key = ref.partition(":")
    if not sep:
        raise ValueError(f"table row reference {ref!r} is not of the form '<table>:<row>'")
    return name, key


def paper_row(ref: str) -> tuple[PaperTable, PaperRow]:
    name, key = split_ref(ref)
    t = table(name)
    row = t.row(key)
    if row is None:
        raise KeyError(f"table {name} has no row {key!r}")
    return t, row


def paper_time(variant_table_rows) -> tuple[PaperTable, PaperRow] | None:
    """The first row among a variant's ``table_rows`` that reports a runtime (for `deblur bench`)."""
    for ref in variant_table_rows:
        t, row = paper_row(ref)
        if row.seconds is not None:
            return t, row
    return None
