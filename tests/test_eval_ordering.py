"""Paper vs ours, row by row: Spearman's rho, the orderings the paper claims, and how the report prints them."""

from __future__ import annotations

import csv
import io
import json

import pytest

from deblur_cli.eval import eval_report as rep
from deblur_cli.eval.eval_run import EvalReport, ImageScore, TargetResult
from deblur_cli.eval.ordering import orderings
from deblur_cli.eval.targets import Target, targets_for_table
from deblur_cli.measure.ranks import ranks, spearman
from deblur_cli.paper_tables import table

# --- Spearman's rho ----------------------------------------------------------------------------------------


def test_ranks_share_the_mean_rank_when_tied():
    assert ranks([3, 1, 3]) == [2.5, 1, 2.5]
    assert ranks([5.0, 4.0, 3.0, 2.0]) == [4, 3, 2, 1]
    assert ranks([7, 7, 7]) == [2, 2, 2]


@pytest.mark.parametrize("x, y, rho", [
    ([1, 2, 3, 4], [10, 20, 30, 40], 1.0),  # perfect
    ([27.08, 28.2, 28.8, 29.06], [31.0, 30.0, 29.0, 28.0], -1.0),  # reversed
    ([1, 2, 3, 4], [1, 3, 2, 4], 0.8),  # one swap: 1 - 6 * 2 / (4 * 15)
    ([1, 2, 3, 4], [1, 1, 2, 2], 2 / 5 ** 0.5),  # ties: Pearson of ranks [1..4] and [1.5, 1.5, 3.5, 3.5]
    ([1, 2, 3], [2, 1, 2], 0.0),  # ties that cancel
])
def test_spearman_known_cases(x, y, rho):
    assert spearman(x, y) == pytest.approx(rho, abs=1e-12)


def test_spearman_agrees_with_scipy_on_ties():
    stats = pytest.importorskip("scipy.stats")
    x, y = [29.4, 27.1, 28.2, 28.2, 29.1, 29.0], [30.1, 30.1, 29.5, 30.4, 30.0, 29.2]
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)


def test_spearman_is_undefined_for_a_constant_column_or_one_row():
    assert spearman([1, 2, 3], [5, 5, 5]) is None
    assert spearman([1], [2]) is None
    with pytest.raises(ValueError):
        spearman([1, 2], [1])


# --- the report, from fixed numbers --------------------------------------------------------------------------

# our mean PSNR per row of 004 Table 1 on two weights sets (invented for the test): Plain beats ResBlock in one
# set only, and the full BAG is below Model 3 in both
MEASURED = {
    "Model Plain": (30.10, 30.30),
    "Model 1": (30.20, 30.10),
    "Model 2": (30.40, 30.50),
    "Model 3": (30.90, 31.10),
    "Model 4": (30.70, 30.80),
    "BAG": (30.80, 30.90),
}
PARAMS = {"Model Plain": 612795, "Model 1": 612795, "Model 2": 627771, "Model 3": 627771, "Model 4": 628167,
          "BAG": 628167}


def _result(target: Target, psnr: float) -> TargetResult:
    return TargetResult(target, "ok", variant=target.variant, weights=target.weights or "", params=PARAMS[target.label],
                        images=[ImageScore("a", psnr - 0.5, 0.9, 28.0, 0.8, 0.1),
                                ImageScore("b", psnr + 0.5, 0.9, 28.0, 0.8, 0.1)])


def report_of(measured: dict[str, tuple[float, ...]]) -> EvalReport:
    results = []
    for t in targets_for_table("004-table1"):
        for i, psnr in enumerate(measured.get(t.label, ())):
            compact = f"{t.variant}-compact"
            results.append(_result(Target(t.label, compact, t.table, t.paper, f"w/seed-{i + 1}/{compact}.safetensors",
                                          f"seed-{i + 1}"), psnr))
    return EvalReport("held-out photo pairs (test)", 2, "PSNR", "cpu", results, 28.0, 0.8)


def test_rows_average_over_weights_sets_with_their_spread_and_both_sizes():
    (o,) = orderings(report_of(MEASURED))
    plain = o.rows[0]
    assert (plain.label, plain.variant, plain.params) == ("Model Plain", "bag-plain-compact", 612795)
    assert plain.paper_params == 17285763  # the paper-size bag-plain: twice BAG's 8.2 M (the paper's confound)
    assert plain.mean == pytest.approx(30.2) and plain.spread == pytest.approx(0.2)
    assert plain.psnr == {"seed-1": pytest.approx(30.1), "seed-2": pytest.approx(30.3)}


def test_rank_correlation_and_orderings_from_fixed_numbers():
    (o,) = orderings(report_of(MEASURED))
    means = [sum(v) / 2 for v in MEASURED.values()]  # 30.2, 30.15, 30.45, 31.0, 30.75, 30.85
    paper = [27.08, 28.20, 28.80, 29.06, 29.14, 29.41]
    assert o.rho == pytest.approx(spearman(paper, means)) == pytest.approx(1 - 6 * 8 / (6 * 35))
    assert o.rho_per_set["seed-1"] == pytest.approx(spearman(paper, [v[0] for v in MEASURED.values()]))
    checks = {(c.claim.lower, c.claim.higher): c for c in o.checks}
    plain_res = checks[("Model Plain", "Model 1")]
    assert (plain_res.paper, plain_res.ours, plain_res.held, plain_res.sets) == (True, False, 1, 2)
    assert plain_res.gap == pytest.approx(-0.05)
    sau = checks[("Model 3", "BAG")]
    assert (sau.paper, sau.ours, sau.held) == (True, False, 0)
    assert checks[("Model 4", "BAG")].ours is True and checks[("Model 2", "Model 3")].held == 2

    md = rep.to_markdown(report_of(MEASURED))
    assert f"Spearman's rho, paper vs our mean PSNR over 6 rows: {o.rho:+.2f} (per weights set: seed-1" in md
    assert ("- Model Plain < Model 1 (ResBlock over plain convs (4.2.1)): paper yes (27.08 < 28.2), ours no "
            "(30.20 -> 30.15 dB, -0.05; held in 1/2 weights sets)") in md
    assert "- Model 3 < BAG (the spatial attention unit (4.2.1)): paper yes (29.06 < 29.41), ours no" in md
    assert "The datasets differ, so only the orderings are compared, not the dB." in md
    assert "| Model Plain | bag-plain-compact | 0.61 | 17.29 | 27.08 | 30.20 | 0.20 | 2 | 6 | 5 |" in md
    assert "| Model Plain [seed-2] | bag-plain-compact | 30.30 |" in md  # one line per weights set above it


def test_csv_and_json_carry_the_row_summary():
    rows = list(csv.DictReader(io.StringIO(rep.to_csv(report_of(MEASURED)))))
    assert len(rows) == 12 and rows[0]["weights_set"] == "seed-1" and rows[0]["line"] == "Model Plain [seed-1]"
    assert float(rows[0]["row_psnr_mean"]) == pytest.approx(30.2) and rows[0]["row_sets"] == "2"
    assert float(rows[0]["spearman_rho"]) == pytest.approx(1 - 48 / 210, abs=1e-4)
    assert rows[0]["paper_size_params"] == "17285763" and rows[0]["params"] == "612795"
    doc = json.loads(rep.to_json(report_of(MEASURED)))
    (o,) = doc["orderings"]
    assert o["table"] == "004-table1" and len(o["rows"]) == 6 and len(o["orderings"]) == 5
    assert o["orderings"][0] == {"lower": "Model Plain", "higher": "Model 1", "what": "ResBlock over plain convs (4.2.1)",
                                 "paper": True, "ours": False, "gap_db": pytest.approx(-0.05), "held_in_sets": 1,
                                 "sets": 2}


def test_two_rows_give_orderings_but_no_correlation_and_one_row_nothing():
    two = report_of({"Model Plain": (30.0,), "Model 1": (30.5,)})
    (o,) = orderings(two)
    assert o.rho is None and o.rho_per_set == {}
    md = rep.to_markdown(two)
    assert "needs at least 3 rows with both numbers (2 here)" in md
    assert "Model Plain < Model 1 (ResBlock over plain convs (4.2.1)): paper yes (27.08 < 28.2), ours yes (30.00 -> 30.50 dB, +0.50)" in md
    assert "Model 3 < BAG (the spatial attention unit (4.2.1)): paper yes (29.06 < 29.41), ours not measured" in md
    tied = report_of({"Model Plain": (30.0,), "Model 1": (30.0,), "BAG": (30.0,)})  # e.g. three identities
    assert "Spearman's rho, paper vs our mean PSNR over 3 rows: undefined (a column of equal values)." in \
        rep.to_markdown(tied)
    assert orderings(report_of({"BAG": (30.0,)})) == []
    assert "Spearman" not in rep.to_markdown(report_of({"BAG": (30.0,)}))


def test_tables_without_stated_claims_compare_rows_adjacent_in_the_papers_order():
    from deblur_cli.eval.ordering import comparisons

    pairs = [(c.lower, c.higher) for c in comparisons(table("001-table3"))]
    assert pairs == [("DeblurGAN + Edge Information", "DeblurGAN + Feedback"), ("DeblurGAN + Feedback", "DeblurGAN")]


def test_stated_claims_name_rows_of_their_table_and_skip_the_papers_ties():
    from deblur_cli.eval.ordering import comparisons
    from deblur_cli.paper_tables import TABLES

    for t in TABLES.values():
        for c in t.comparisons:
            assert t.row(c.lower) and t.row(c.higher), (t.name, c)
            assert t.row(c.lower).psnr < t.row(c.higher).psnr, (t.name, c)  # a claim the paper's own numbers show
    pairs = {(c.lower, c.higher) for c in comparisons(table("001-table1"))}
    assert ("Pix2Pix", "Pix2Pix + Sl. Attn") not in pairs and ("Pix2Pix + Sl. Attn", "Pix2Pix") not in pairs


# --- a table on the resolver's weights: one size for every row --------------------------------------------------

def _manifest(tmp_path, files: dict[str, dict]):
    from deblur_cli.weights.manifest import Manifest, WeightsEntry

    entries = {}
    for name, training in files.items():
        (tmp_path / f"{name}.safetensors").write_bytes(b"x")
        entries[name] = WeightsEntry(name, "bag", "compact" if name.endswith("-compact") else "paper", "trained",
                                     bundled=f"{name}.safetensors", sha256="0" * 64, training=training)
    return Manifest(entries=entries, root=tmp_path)


def test_a_table_runs_every_row_at_compact_size_when_one_row_lacks_paper_size_weights(tmp_path, monkeypatch):
    from deblur_cli.eval.targets import at_one_size

    monkeypatch.setenv("DEBLUR_CACHE", str(tmp_path / "cache"))
    table_run = {"table": {"table": "004-table1", "row": "Model Plain", "seed": 1}}
    manifest = _manifest(tmp_path, {"bag": {}, "bag-plain-compact": table_run,
                                    "bag-compact": {"recipe": {"config": "cpu/bag-compact-photos"}, "steps_total": 6450}})
    lines = {t.label: t for t in at_one_size(targets_for_table("004-table1"), manifest)}
    assert lines["BAG"].variant == "bag-compact"  # not the paper-size bag, though it has weights
    assert "Model Plain has no paper-size weights" in lines["BAG"].note
    assert "cpu/bag-compact-photos (6,450 steps), not by the table's recipe" in lines["BAG"].note
    assert (lines["Model Plain"].variant, lines["Model Plain"].note) == ("bag-plain-compact", "")
    assert lines["Model 4"].variant == "bag-one-level-compact" and lines["Model 4"].note == ""  # no weights: no claim

    every = {n: {} for n in ("bag", "bag-plain", "bag-resblock", "bag-dense-bn", "bag-dense-in", "bag-one-level")}
    targets = targets_for_table("004-table1")
    assert at_one_size(targets, _manifest(tmp_path, every)) == targets  # all paper-size: nothing changes
