"""`deblur models`, `deblur models info`, `deblur models download`."""

from __future__ import annotations

import json
import subprocess
import sys

import huggingface_hub.constants
import pytest
from typer.testing import CliRunner

from deblur_cli import registry
from deblur_cli.cli.models_cmd import app
from deblur_cli.eval.held_out_photos import photo_gains
from deblur_cli.weights import manifest as manifest_mod
from hub_server import FakeHub
from weights_fixtures import (TINY, TINY_COMPACT, private_caches, tiny_variants,  # noqa: F401 (fixtures)
                              trained, write_manifest, write_weights)

runner = CliRunner()
PHOTOS = {"shake": {"gain": 0.171, "worst": -0.01}, "kernel": {"gain": 0.226, "worst": 0.02},
          "near-sharp": {"gain": 0.02, "worst": -0.114}, "sharp chelsea": -0.04}


@pytest.fixture
def tiny_manifest(tiny_variants, private_caches, monkeypatch):
    """A manifest where tinybag-compact has bundled weights (absolute path) and tinybag has none."""
    root = private_caches
    file = root / f"{TINY_COMPACT}.safetensors"
    _, sha = write_weights(file, TINY_COMPACT)
    path = root / "weights_manifest.json"
    entries = {TINY: {"architecture": "bag", "preset": "paper", "status": "untrained"},
               TINY_COMPACT: trained(TINY_COMPACT, sha, bundled=str(file), metrics={"psnr": 21.234, "ssim": 0.7,
                                                                                     "dataset": "synthetic-val",
                                                                                     "photos": PHOTOS})}
    write_manifest(root, entries)
    monkeypatch.setattr(manifest_mod, "manifest_path", lambda: path)
    return root


def test_listing_as_json_covers_every_generator_with_its_weights_state(tiny_manifest):
    result = runner.invoke(app, ["--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert list(rows) == registry.names("generator")
    assert rows[TINY_COMPACT]["weights"] == "bundled"
    assert rows[TINY] == {"name": TINY, "family": "bag", "preset": "paper", "status": "untrained",
                          "weights": "none", "metrics": {}, "falls_back_to": TINY_COMPACT}
    assert rows["bag"]["weights"] == "none"


def test_table_shows_fallback_quality_and_parameter_counts(tiny_manifest, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps cells to the terminal width
    result = runner.invoke(app, ["--family", "bag", "--params"])
    assert result.exit_code == 0, result.output
    line = next(l for l in result.stdout.splitlines() if f" {TINY} " in l)
    assert "none -> compact" in line
    compact_line = next(l for l in result.stdout.splitlines() if f" {TINY_COMPACT} " in l)
    assert "+0.17 / +0.23 (-0.11)" in compact_line  # real photos, not the procedural PSNR
    assert "21.23" not in result.stdout
    assert "held-out real photos" in result.stdout  # what the column means is said once, under the table
    assert "Without -m: pix2pix-sa-gr-compact." in result.stdout
    bag_line = next(l for l in result.stdout.splitlines() if "│ bag " in l)
    assert f"{sum(p.numel() for p in registry.build('bag-compact').parameters()) / 1e6:.2f} M" in result.stdout
    assert "M" in bag_line
    assert runner.invoke(app, ["--family", "nope"]).exit_code == 2


def test_photo_gains_summary():
    assert photo_gains({}) == "" and photo_gains({"psnr": 28.0}) == ""
    assert photo_gains({"photos": {"shake": PHOTOS["shake"]}}) == ""  # a partial record is not summarised
    assert photo_gains({"photos": PHOTOS}) == "+0.17 / +0.23 (-0.11)"


def test_table_fits_an_80_column_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    result = runner.invoke(app, [])
    assert result.exit_code == 0, result.output
    rows = [l for l in result.stdout.splitlines() if l.startswith("│")]
    assert len(rows) == len(registry.names("generator"))  # one line per variant: nothing wrapped
    assert max(len(l) for l in result.stdout.splitlines()) <= 80


def test_info_describes_spec_paper_rows_and_weights(tiny_manifest):
    result = runner.invoke(app, ["info", "bag"])
    assert result.exit_code == 0, result.output
    for text in ("004 Blur-Attention-GAN", "004-table2:BAG: psnr 29.4, ssim 0.89", "uses bag-compact",
                 "train it: deblur train --preset 004-table1-bag", "params: 8,247,439"):
        assert text in result.stdout, text
    assert "status: untrained" in runner.invoke(app, ["info", TINY]).stdout
    report = json.loads(runner.invoke(app, ["info", TINY_COMPACT, "--json"]).stdout)
    assert report["weights"] == "bundled" and report["manifest"]["metrics"]["psnr"] == 21.234
    assert report["params"] == sum(p.numel() for p in registry.build(TINY_COMPACT).parameters())


def test_info_on_unknown_name_suggests_close_ones(tiny_manifest):
    result = runner.invoke(app, ["info", "bagg"])
    assert result.exit_code == 2  # an unknown name is a usage error
    assert "unknown model 'bagg'; did you mean bag" in result.output


def test_download_command_against_a_loopback_hub(tiny_manifest, monkeypatch):
    root = tiny_manifest
    with FakeHub(lifetime=60) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setenv("HF_HUB_OFFLINE", "0")
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
        file = root / "pub" / f"{TINY}.safetensors"
        _, sha = write_weights(file, TINY)
        server.add("org/w", f"{TINY}.safetensors", file.read_bytes())
        manifest_mod.update_entry(TINY, path=manifest_mod.manifest_path(), status="trained", sha256=sha,
                                  hub={"repo_id": "org/w", "filename": f"{TINY}.safetensors"})
        first = runner.invoke(app, ["download", "--all"])
        assert first.exit_code == 0, first.output
        assert f"{TINY}: downloaded" in first.stdout
        second = runner.invoke(app, ["download", TINY])
        assert f"{TINY}: present" in second.stdout
        assert [m for m, _ in server.requests] == ["HEAD", "GET"]
    assert runner.invoke(app, ["download"]).exit_code == 2
    assert runner.invoke(app, ["download", TINY, "--all"]).exit_code == 2
    untrained = runner.invoke(app, ["download", "bag"])
    assert untrained.exit_code == 1 and "no trained weights yet" in untrained.output


def test_listing_does_not_import_torch():
    code = ("import sys\nfrom deblur_cli.cli.models_cmd import app\nfrom typer.testing import CliRunner\n"
            "r = CliRunner().invoke(app, ['--json'])\nassert r.exit_code == 0, r.output\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_readme_quality_table_prints_what_deblur_models_prints():
    """The README's "Measured quality on real photos" table holds the figures `deblur models` prints for every file
    with photo scores (a row may name several variants, `a` / `-b-` / ..., with its cells split the same way)."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split("**Measured quality on real photos.**", 1)[1].split("\n\n", 2)[1]
    shown = {}
    for line in table.splitlines()[2:]:
        first, _weights, *cells = (c.strip() for c in line.strip("|").split("|"))
        names = re.match(r"((?:`[^`]+`(?: / )?)+)", first).group(1).split(" / ")
        base = names[0].strip("`")  # `bag-plain-compact` / `-resblock-` / ...: the middle part changes
        names = [base] + [base.replace(base.split("-")[1], n.strip("`-")) for n in names[1:]]
        for i, name in enumerate(names):
            shake, kernel, worst = (c.split(" / ")[i] for c in cells)
            shown[name] = f"{shake} / {kernel} ({worst})"
    listed = {n: photo_gains(e.metrics) for n, e in manifest_mod.load_manifest().entries.items()
              if photo_gains(e.metrics)}
    assert shown == listed
