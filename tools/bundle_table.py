"""Bundle the finished runs of a table's mini-reproduction as the ablation variants' shipped weights (issue #15).

    python tools/bundle_table.py ~/deblur-004-table1 --seed 1 [--variant bag-plain-compact ...] [--dtype fp16]

Every finished run of the seed is bundled unless --variant names some; unfinished ones are listed and skipped, and so
is a variant whose shipped file was trained outside the table (the BAG row's `bag-compact`) unless --replace.
Then measure each entry: ``python tools/measure_bundled.py -m VARIANT`` and
``python tools/measure_photos.py -m VARIANT --sets DIR --record``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from deblur_cli.errors import DeblurError
from deblur_cli.train.table_bundle import bundle_table_run, table_variants


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the `deblur train table --out` folder")
    parser.add_argument("--seed", type=int, required=True, help="whose files to bundle; name it before scoring")
    parser.add_argument("--variant", action="append", help="bundle only these (default: every finished row)")
    parser.add_argument("--dtype", default="fp16", help="fp16 halves the package's share; auto|fp32|fp16|int8")
    parser.add_argument("--replace", action="store_true",
                        help="also replace shipped files that were not trained by a table (the BAG row's bag-compact)")
    parser.add_argument("--weights-dir", type=Path, help="default: the package's weights folder")
    parser.add_argument("--manifest", type=Path, help="default: the package's manifest")
    args = parser.parse_args(argv)
    try:
        variants = args.variant or table_variants(args.out)
    except DeblurError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    failed = 0
    for variant in variants:
        try:
            result = bundle_table_run(args.out, args.seed, variant, args.dtype, args.weights_dir, args.manifest,
                                      args.replace)
        except DeblurError as exc:
            print(f"skipped {variant}: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(result.summary())
    return 1 if failed == len(variants) else 0


if __name__ == "__main__":
    raise SystemExit(main())
