"""`deblur train table` and `deblur train --seed`: a paper table's rows at compact size, trained alike and scored.

The shipped 004 Table 1 and 001 Table 1 configs must differ in their network only; the run tooling is run end to end
on tiny photos (two rows, one seed, a few steps) and `deblur eval --weights-dir` loads what it exported.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from deblur_cli.cli.app import app
from deblur_cli.errors import DeblurError, UsageError
from deblur_cli.eval.eval_run import EvalOptions, run_eval
from deblur_cli.eval.eval_sets import open_dataset
from deblur_cli.eval.ordering import orderings
from deblur_cli.eval.targets import targets_for_table, with_weights_sets
from deblur_cli.inference.settings import RestoreSettings
from deblur_cli.train import table_runs
from deblur_cli.train.config import load_config, load_preset
from deblur_cli.train.loop import RunOptions, train
from test_photos import textured, write_photo
from test_train_loop import assert_identical, final_state, run, tiny_config

ROWS = ["Model Plain", "Model 1", "Model 2", "Model 3", "Model 4", "BAG"]
ROWS_001 = ["Pix2Pix", "Pix2Pix + Sl. Attn", "Pix2Pix + Sl. Attn + GR", "Pix2Pix + Sl. Attn + SN",
            "Pix2Pix + Sl. Attn + Ch. Attn + GR + SN + Percep. Loss"]
SHIPPED = {
    "004-table1": (ROWS, ["bag-plain-compact", "bag-resblock-compact", "bag-dense-bn-compact", "bag-dense-in-compact",
                          "bag-one-level-compact", "bag-compact"]),
    "001-table1": (ROWS_001, ["pix2pix-compact", "pix2pix-sa-compact", "pix2pix-sa-gr-compact",
                              "pix2pix-sa-sn-compact", "pix2pix-sa-ca-gr-sn-compact"]),
}


@pytest.mark.parametrize("name", SHIPPED)
def test_the_shipped_rows_differ_in_their_network_only(name):
    rows, variants = SHIPPED[name]
    configs = table_runs.table_configs(name)
    assert [table_runs.row_of(c, name) for c in configs] == rows  # the paper's order
    assert [c.model.variant for c in configs] == variants
    first = configs[0].resolved
    for cfg in configs:
        assert cfg.name.startswith(f"cpu/{name}/") and cfg.paper.rows == (f"{name}:{rows[configs.index(cfg)]}",)
        differing = {k for k in set(first) | set(cfg.resolved) if first.get(k) != cfg.resolved.get(k)}
        assert differing <= {"model", "paper"}
        assert cfg.resolved["model"] == {"variant": cfg.model.variant}
        assert {k: v for k, v in cfg.resolved["paper"].items() if k != "rows"} == \
            {k: v for k, v in first["paper"].items() if k != "rows"}
        # from scratch on photos, with the EMA the record exports
        assert cfg.data.kind == "photos" and not cfg.train.warm_start and cfg.train.ema > 0
    table_runs.check_same_recipe(configs)


def test_a_row_with_another_recipe_is_refused(tmp_path):
    other = tmp_path / "other.toml"
    other.write_text('extends = "cpu/004-table1/bag-compact"\n[optim]\nlr = 1e-3\n')
    with pytest.raises(DeblurError, match="differs in optim"):
        table_runs.check_same_recipe([load_preset("cpu/004-table1/bag-plain-compact"), load_config(other)])


# --- `deblur train --seed` -----------------------------------------------------------------------------------

def test_seed_is_recorded_kept_on_resume_and_names_the_default_folder(tmp_path, monkeypatch):
    cfg = tiny_config(tmp_path, max_steps=4)
    run(cfg, tmp_path / "straight", seed=3)
    run(cfg, tmp_path / "split", seed=3, max_steps=2)
    resumed = run(cfg, tmp_path / "split")  # no seed given: the run keeps the one it was started with
    assert (resumed.resumed_from, resumed.step) == (2, 4)
    assert json.loads((tmp_path / "split" / "run.json").read_text())["seed_option"] == 3
    assert json.loads((tmp_path / "split" / "config.json").read_text())["train"]["seed"] == 3
    assert_identical(final_state(tmp_path / "straight"), final_state(tmp_path / "split"), ("generator/", "ema/"))
    run(cfg, tmp_path / "seed4", seed=4)  # another seed: another initialisation
    a, b = final_state(tmp_path / "straight"), final_state(tmp_path / "seed4")
    assert not all(torch.equal(a[k], b[k]) for k in a if k.startswith("generator/"))
    with pytest.raises(DeblurError, match="started with --seed 3, not 4"):
        run(cfg, tmp_path / "split", seed=4)
    monkeypatch.setenv("DEBLUR_RUNS", str(tmp_path / "runs"))
    result = train(load_config(cfg), RunOptions(seed=5, max_steps=1, progress=False, tensorboard=False,
                                                warm_start=False))
    assert result.run_dir == tmp_path / "runs" / "tiny-seed5"


# --- the mini-reproduction, end to end -----------------------------------------------------------------------

TINY = """extends = "cpu/{table}/{variant}"
[data]
length = 4
crop = 32
batch = 2
photos = {{ megapixels = [0.012, 0.019], max_extent = 6 }}
[data.val]
count = 2
crop = 32
[train]
val_every = 100
log_every = 1
"""


@pytest.fixture
def photos(tmp_path) -> Path:
    for i in range(2):
        write_photo(tmp_path / "photos" / "train" / f"p{i}.png", textured(30 + i, 160, 120))
    write_photo(tmp_path / "photos" / "val" / "v.png", textured(40, 160, 120))
    return tmp_path / "photos" / "train"


def tiny_rows(tmp_path: Path, table: str = "004-table1",
              variants: tuple = ("bag-plain-compact", "bag-compact")) -> list:
    out = []
    for variant in variants:
        path = tmp_path / f"{variant}.toml"
        path.write_text(TINY.format(table=table, variant=variant))
        out.append(load_config(path))
    return out


def test_two_rows_train_export_resume_and_score(tmp_path, photos, monkeypatch):
    configs, out = tiny_rows(tmp_path), tmp_path / "table1"
    options = RunOptions(workers=0, progress=False, tensorboard=False)

    def table(steps: int, **kw) -> dict:
        return table_runs.run_table("004-table1", [1], steps, out, data_root=str(photos), configs=configs,
                                    options=options, command="test", log=lambda line: None, **kw)

    stopped = table(3, time_budget=0)  # the budget is spent before the first run starts
    assert stopped["runs"]["seed-1/bag-plain-compact"]["status"] == "not started"
    assert stopped["sessions"][-1]["stopped"] == "time_budget"

    record = table(3)
    for variant, row in (("bag-plain-compact", "Model Plain"), ("bag-compact", "BAG")):
        entry = record["runs"][f"seed-1/{variant}"]
        assert (entry["row"], entry["step"], entry["status"]) == (row, 3, "done")
        assert entry["weights"] == f"weights/seed-1/{variant}.safetensors" and (out / entry["weights"]).is_file()
        assert entry["validation"]["step"] == 3 and entry["validation"]["weights"] == "ema"
        assert json.loads((out / entry["run_dir"] / "run.json").read_text())["seed_option"] == 1
    manifest = json.loads((out / "weights" / "seed-1" / "weights_manifest.json").read_text())["variants"]
    assert manifest["bag-compact"]["training"]["steps"] == 3
    assert manifest["bag-compact"]["training"]["exported"]["weights"] == "ema"
    assert json.loads((out / "table_runs.json").read_text()) == record

    # eval scores what was exported: the two rows run their compact networks, the others have no weights
    targets = with_weights_sets(targets_for_table("004-table1"), [out / "weights"])
    evalset = open_dataset("synthetic", n=2, seed=5, size=32, motion="shake")
    report = run_eval(targets, evalset, EvalOptions(restore=RestoreSettings(device="cpu", tile="0", ensemble=1), flops=False))
    status = {r.target.line: (r.status, r.variant) for r in report.results}
    assert status["Model Plain [seed-1]"] == ("ok", "bag-plain-compact")
    assert status["BAG [seed-1]"] == ("ok", "bag-compact")
    assert status["Model 1 [seed-1]"][0] == "no weights"
    (o,) = orderings(report)
    assert [r.key for r in o.compared] == ["Model Plain", "BAG"] and o.rho is None

    # done runs are not trained again; a larger budget continues them from where they are
    monkeypatch.setattr(table_runs, "train", lambda *a, **k: pytest.fail("a finished run was trained again"))
    assert table(3)["runs"] == record["runs"]
    monkeypatch.undo()
    longer = table(4)
    assert longer["runs"]["seed-1/bag-compact"]["step"] == 4 and longer["steps"] == 4
    sessions = json.loads((out / "runs" / "bag-compact-seed1" / "run.json").read_text())["sessions"]
    assert [s["from_step"] for s in sessions] == [0, 3]
    with pytest.raises(DeblurError, match="beyond --steps 3"):
        table(3)
    with pytest.raises(UsageError, match="use another --out"):
        table_runs.run_table("004-table1", [1], 4, out, data_root=str(tmp_path), configs=configs, options=options)


def test_rows_option_trains_only_the_named_rows_and_keeps_the_whole_record(tmp_path, photos):
    configs, out = tiny_rows(tmp_path), tmp_path / "table1"
    kw = dict(data_root=str(photos), configs=configs, options=RunOptions(workers=0, progress=False, tensorboard=False),
              command="test")
    record = table_runs.run_table("004-table1", [1], 1, out, only=["bag-compact"], **kw)
    assert set(record["runs"]) == {"seed-1/bag-compact"} and set(record["rows"]) == {"Model Plain", "BAG"}
    assert not (out / "runs" / "bag-plain-compact-seed1").exists()
    record = table_runs.run_table("004-table1", [1], 1, out, only=["Model Plain"], **kw)  # by row key
    assert record["runs"]["seed-1/bag-plain-compact"]["status"] == "done"
    with pytest.raises(UsageError, match=r"--rows: bag-dense-in-compact; the rows are Model Plain \(bag-plain"):
        table_runs.run_table("004-table1", [1], 1, out, only=["bag-dense-in-compact"], **kw)


def test_001_rows_train_export_and_score_as_their_rows(tmp_path, photos):
    # paper 001 Table 1's pix2pix rows: the table's row keys reach the record, and `deblur eval --table 001-table1
    # --weights-dir` runs each exported compact network on the line of the paper-size variant's row
    variants = ("pix2pix-compact", "pix2pix-sa-ca-gr-sn-compact")
    configs, out = tiny_rows(tmp_path, "001-table1", variants), tmp_path / "table1"
    record = table_runs.run_table("001-table1", [1], 1, out, data_root=str(photos), configs=configs,
                                  options=RunOptions(workers=0, progress=False, tensorboard=False), command="test")
    assert record["table"] == "001-table1" and list(record["rows"]) == [ROWS_001[0], ROWS_001[-1]]
    for variant, row in zip(variants, (ROWS_001[0], ROWS_001[-1])):
        entry = record["runs"][f"seed-1/{variant}"]
        assert (entry["row"], entry["step"], entry["status"]) == (row, 1, "done")
        assert (out / entry["weights"]).is_file()
    assert "deblur eval --table 001-table1" in record["evaluate"]

    targets = with_weights_sets(targets_for_table("001-table1"), [out / "weights"])
    evalset = open_dataset("synthetic", n=1, seed=5, size=32, motion="shake")
    restore = RestoreSettings(device="cpu", tile="0", ensemble=1)
    report = run_eval(targets, evalset, EvalOptions(restore=restore, flops=False))
    status = {r.target.line: (r.status, r.variant) for r in report.results}
    assert status["Pix2Pix [seed-1]"] == ("ok", "pix2pix-compact")
    assert status[f"{ROWS_001[-1]} [seed-1]"] == ("ok", "pix2pix-sa-ca-gr-sn-compact")
    assert status["Pix2Pix + Sl. Attn [seed-1]"][0] == "no weights"
    (o,) = orderings(report)
    assert o.table.name == "001-table1" and [r.key for r in o.compared] == [ROWS_001[0], ROWS_001[-1]]


def test_cli_table_usage_errors(tmp_path):
    cli = CliRunner()
    out = cli.invoke(app, ["train", "table", "004-table1", "--steps", "2", "--seeds", "1,x", "--out", str(tmp_path)])
    assert out.exit_code == 2 and "--seeds" in out.output
    out = cli.invoke(app, ["train", "table", "001-table2", "--steps", "2", "--seeds", "1", "--out", str(tmp_path)])
    assert out.exit_code == 2 and "no mini-reproduction configs for 001-table2" in out.output
    out = cli.invoke(app, ["train", "--preset", "cpu/bag-compact", "--seed", "-1"])
    assert out.exit_code == 2 and "--seed must be 0 or more" in out.output
    out = cli.invoke(app, ["train", "table", "004-table1", "--steps", "2", "--seeds", "1", "--out", str(tmp_path),
                           "--rows", "bag-compact,bag-tiny"])
    assert out.exit_code == 2 and "--rows: bag-tiny; the rows are Model Plain (bag-plain-compact)" in out.output
    assert not (tmp_path / "runs").exists()
