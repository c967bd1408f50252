"""Folder-run throughput: what a user running `deblur DIR -o OUT` gets, against the model-only figure.

N photo-like JPEGs of the bench size are written to a temporary folder, then restored through the same
path as `deblur DIR -o OUT`: ``paths.collect_inputs`` and ``plan_outputs`` plan the jobs and
``pipeline.run_batch`` runs them (a reader thread decodes ahead, the network runs, a writer thread encodes
behind) with one loaded model. The difference from the model-only time per image is what decoding,
conversion and encoding add once the pipeline has overlapped what it can.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from .. import registry
from ..data.standins import photo_like
from ..errors import DeblurError
from ..images import write_pixels
from ..images.paths import collect_inputs, plan_outputs
from ..inference.pipeline import run_batch
from ..measure.timing import time_call
from .bench_run import BenchOptions, _restorer


def folder_throughput(variant: str, options: BenchOptions, count: int) -> dict:
    restorer, weights = _restorer(variant, options, tile=0)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="deblur-bench-") as tmp:
        src, dst = Path(tmp) / "in", Path(tmp) / "out"
        src.mkdir()
        for i in range(count + 1):  # image 0 is the warm-up, like the model-only timing's
            write_pixels(src / f"img{i:04d}.jpg", photo_like(rng, options.height, options.width), quality=92)
        jobs = plan_outputs(collect_inputs([str(src)]), dst)
        run_batch(jobs[:1], restorer)
        start = time.perf_counter()
        results = run_batch(jobs[1:], restorer)
        total = time.perf_counter() - start
        failed = [r for r in results if r.status != "ok"]
        if failed:
            raise DeblurError(f"folder run: {failed[0].message()}")
        x = torch.rand(1, 3, options.height, options.width).to(restorer.device)
        model_only = time_call(lambda: restorer.restore_tensor(x), restorer.device, warmup=0,
                               repeat=options.repeat).median
    per_image = total / count
    return {"variant": registry.get(variant).name, "weights": weights, "images": count, "format": "JPEG in, JPEG out",
            "seconds_total": total, "seconds_per_image": per_image, "images_per_s": 1 / per_image,
            "model_only_seconds_per_image": model_only,
            "overhead_fraction": (per_image - model_only) / per_image,
            "method": "paths.plan_outputs + pipeline.run_batch (as `deblur DIR -o OUT`), one loaded model"}
