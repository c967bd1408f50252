"""What one `deblur eval` line evaluates: a variant, the paper row it reproduces, or both.

``-m a,b,c`` gives one line per variant, each beside the paper row it reproduces (if any).
``--table NAME`` gives one line per row of that paper table, in the paper's order: a row that a registered
variant reproduces (``VariantSpec.table_rows``) is run when its weights exist; rows for methods that
`deblur` does not implement are kept as reference lines with the paper's numbers only.

A table scored on the resolver's weights compares like with like (:func:`at_one_size`): when a row's paper-size
network has no weights here, every row runs its compact preset, and a row whose file was not trained by the
table's own recipe (`deblur train table`) says so.

``--weights-dir DIR`` (:func:`with_weights_sets`) scores explicit files instead of the resolver's: each weights
set (a folder of ``<variant>.safetensors``, e.g. one seed of `deblur train table`) gives every line one line per
set, running ``<variant>.safetensors`` or else the compact preset's file, as ``deblur -m deblurgan`` falls back to
``deblurgan-compact``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from .. import registry
from ..errors import UsageError
from ..images.paths import natural_key
from ..paper_tables import TABLES, PaperRow, PaperTable, paper_row, table
from ..weights.manifest import Manifest, load_manifest
from ..weights.resolve import availability, compact_fallback


@dataclass(frozen=True)
class Target:
    label: str  # what the line is called: the paper's row label, or the variant name
    variant: str | None  # registered variant to run; None for a reference-only paper row
    table: PaperTable | None = None
    paper: PaperRow | None = None
    weights: str | None = None  # an explicit weights file for this line (--weights-dir)
    weights_set: str = ""  # the name of the set it came from (its folder, e.g. seed-1)
    note: str = ""  # why this line runs what it runs, for the report (at_one_size)

    @property
    def line(self) -> str:
        """The label, with the weights set when there is one: ``Model Plain [seed-1]``."""
        return f"{self.label} [{self.weights_set}]" if self.weights_set else self.label


def variants_for_row(table_name: str, key: str) -> list[str]:
    ref = f"{table_name}:{key}"
    return [s.name for s in registry.specs("generator") if ref in s.table_rows]


def _best_row(refs: tuple[str, ...]) -> tuple[PaperTable, PaperRow] | None:
    """The variant's paper row to print beside it: one with both PSNR and SSIM if there is one."""
    rows = [paper_row(r) for r in refs]
    full = [tr for tr in rows if tr[1].psnr is not None and tr[1].ssim is not None]
    return (full or rows or [None])[0]


def targets_for_models(models: list[str]) -> list[Target]:
    out = []
    for name in models:
        spec = registry.get(name)
        if spec.kind != "generator":
            raise UsageError(f"{name} is a {spec.kind}, not a generator; `deblur models` lists generators")
        found = _best_row(spec.table_rows)
        t, row = found if found else (None, None)
        out.append(Target(name, name, t, row))
    return out


def targets_for_table(name: str) -> list[Target]:
    if name not in TABLES:
        raise UsageError(f"unknown table {name!r}; known: {', '.join(TABLES)}")
    t = table(name)
    out = []
    for row in t.rows:
        variants = variants_for_row(name, row.key) or [None]
        out.extend(Target(row.label, v, t, row) for v in variants)
    return out


def parse_models(text: str | None) -> list[str]:
    return [m.strip() for m in (text or "").split(",") if m.strip()]


def resolve_targets(models: str | None, table_name: str | None) -> list[Target]:
    names = parse_models(models)
    if names and table_name:
        raise UsageError("give either -m/--model or --table, not both")
    if table_name:
        return targets_for_table(table_name)
    if names:
        return targets_for_models(names)
    raise UsageError(f"say what to evaluate: -m NAME[,NAME...] or --table NAME ({', '.join(TABLES)})")


def weights_sets(folders: list[Path]) -> list[Path]:
    """The weights sets in ``folders``: a folder that holds ``.safetensors`` files is one set; a folder without any
    stands for its sub-folders that hold some (``<out>/weights`` of `deblur train table`: one per seed)."""
    found: list[Path] = []
    for folder in folders:
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            raise UsageError(f"--weights-dir {folder}: no such folder")
        if any(folder.glob("*.safetensors")):
            found.append(folder)
            continue
        subs = sorted((d for d in folder.iterdir() if d.is_dir() and any(d.glob("*.safetensors"))),
                      key=lambda d: natural_key(d.name))
        if not subs:
            raise UsageError(f"--weights-dir {folder}: no .safetensors files in it or in its sub-folders")
        found.extend(subs)
    names = [f.name for f in found]
    if len(set(names)) != len(names):
        raise UsageError(f"--weights-dir: two weights sets share a folder name ({', '.join(names)}); the report "
                         "names each set by its folder")
    return found


def with_weights_sets(targets: list[Target], folders: list[Path]) -> list[Target]:
    """One line per (target, weights set) with an explicit file (module doc); reference rows stay single. A set
    without a file for a line still gets the line, pointing at the file it lacks (reported as no weights)."""
    sets = weights_sets(folders)
    out = []
    for t in targets:
        if t.variant is None:
            out.append(t)
            continue
        fallback = compact_fallback(t.variant)
        for folder in sets:
            variant = next((v for v in (t.variant, fallback) if v and (folder / f"{v}.safetensors").is_file()),
                           fallback or t.variant)
            out.append(replace(t, variant=variant, weights=str(folder / f"{variant}.safetensors"),
                               weights_set=folder.name))
    return out


def at_one_size(targets: list[Target], manifest: Manifest | None = None) -> list[Target]:
    """A table's rows on the resolver's weights, all at one size (module doc).

    Without it, a row whose paper-size network has weights (``bag``, trained on a GPU) would be ranked against rows
    that fell back to their compact presets. Lines of rows with no weights at all stay as they are (no weights)."""
    manifest = manifest or load_manifest()
    sized = [t for t in targets if t.variant is not None and compact_fallback(t.variant)]
    own = {t.variant: availability(t.variant, manifest) != "none" for t in sized}
    short = next((t for t in sized if not own[t.variant]), None)
    if short is None:
        return _recipe_notes(targets, manifest)
    out = []
    for t in targets:
        if t in sized:
            note = (f"{compact_fallback(t.variant)}, not {t.variant}: {short.label} has no paper-size weights "
                    f"({short.variant}), so every row runs its compact preset") if own[t.variant] else ""
            t = replace(t, variant=compact_fallback(t.variant), note=note)
        out.append(t)
    return _recipe_notes(out, manifest)


def _recipe_notes(targets: list[Target], manifest: Manifest) -> list[Target]:
    """Mark the rows whose shipped file was trained outside the table when other rows' files come from it."""
    entries = {t.variant: manifest.get(t.variant) for t in targets if t.variant is not None and t.table is not None}
    trained = {v: e for v, e in entries.items() if e is not None and e.trained}

    def from_table(t: Target) -> bool:
        return (trained[t.variant].training.get("table") or {}).get("table") == t.table.name

    if not any(from_table(t) for t in targets if t.variant in trained):
        return targets
    out = []
    for t in targets:
        if t.variant in trained and not from_table(t):
            training = trained[t.variant].training
            steps = training.get("steps_total")
            why = (f"its file was trained by {training.get('recipe', {}).get('config', 'another recipe')}"
                   + (f" ({steps:,} steps)" if steps else "")
                   + ", not by the table's recipe as the other rows' were: not a like-for-like place in the "
                   "ordering (`deblur train table` and --weights-dir score rows trained alike)")
            t = replace(t, note="; ".join(x for x in (t.note, why) if x))
        out.append(t)
    return out
