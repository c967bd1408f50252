"""Bundle a weights file trained on another machine (a GPU lease) as a variant, with its training record.

    python tools/bundle_file.py FILE --variant bag --training RECORD.json [--dtype auto|fp32|fp16|int8]

RECORD.json is the manifest's ``training`` object for the file (recipe, steps, steps_total, wall time, hardware,
data, the command that continues it), written by whoever ran it from that run's logs. The file's own metadata must
name the variant and agree on steps_total (``deblur_cli.train.export.export_file``). Then re-measure the entry:
``python tools/measure_bundled.py -m VARIANT``, then ``python tools/measure_photos.py -m VARIANT --sets DIR --record``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from deblur_cli.errors import DeblurError
from deblur_cli.train.export import export_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--variant", required=True)
    parser.add_argument("--training", type=Path, required=True, help="JSON: the manifest's training record")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--weights-dir", type=Path, help="default: the package's weights folder")
    parser.add_argument("--manifest", type=Path, help="default: the package's manifest")
    args = parser.parse_args(argv)
    try:
        training = json.loads(args.training.read_text(encoding="utf-8"))
        result = export_file(args.file, args.variant, training, dtype=args.dtype, weights_dir=args.weights_dir,
                             manifest_path=args.manifest)
    except (DeblurError, OSError, json.JSONDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(result.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
