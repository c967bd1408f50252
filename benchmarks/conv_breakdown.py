"""Where a network's inference time goes on this machine: its convolutions, each timed alone at its own shape,
against everything else (normalisation, activations, concatenation, attention's element-wise work, resampling).

    python benchmarks/conv_breakdown.py -m bag-compact,rir-compact --size 1280x720 --threads 1 [--json out.json]

Why: `deblur bench` reports a network's GFLOP/s as a share of one wide convolution (64 -> 64 channels, 3x3). A
compact network is built of narrower convolutions (12 to 96 channels), and a CPU reaches fewer GFLOP/s on those.
This splits the gap in two: how fast the network's own convolutions run when timed alone ("conv GFLOP/s", what a
network of these layer shapes could reach with no other cost), and the time spent outside them ("other").
Also printed per layer width: the GFLOP/s of the plain 64 -> 64 reference at the same size is the denominator
`deblur bench` uses.

Each figure is the median of --repeat runs after one warm-up, wall time with --threads threads. Random weights:
speed does not depend on trained values. On a machine with other jobs running use --threads 1.
"""

from __future__ import annotations

import argparse
import json
import os
from collections import defaultdict

import torch
from torch import nn

from deblur_cli import registry
from deblur_cli.bench.bench_run import conv_reference
from deblur_cli.hardware import cpu_name
from deblur_cli.measure.timing import time_call

CONVS = (nn.Conv2d, nn.ConvTranspose2d)


def _median_seconds(call, repeat: int) -> float:
    return time_call(call, "cpu", warmup=1, repeat=repeat).median


def _conv_flops(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    kh, kw = module.kernel_size
    if isinstance(module, nn.ConvTranspose2d):  # every input pixel meets every kernel tap once
        return 2.0 * x.numel() * (module.out_channels // module.groups) * kh * kw
    return 2.0 * y.numel() * (module.in_channels // module.groups) * kh * kw


def _record_convs(network: nn.Module, x: torch.Tensor) -> list[tuple[nn.Module, torch.Size, float]]:
    """(layer, input shape, FLOPs) of each convolution call in one forward pass, in call order."""
    calls = []

    def hook(module, inputs, output):
        calls.append((module, inputs[0].shape, _conv_flops(module, inputs[0], output)))

    handles = [m.register_forward_hook(hook) for m in network.modules() if isinstance(m, CONVS)]
    try:
        network(x)
    finally:
        for h in handles:
            h.remove()
    return calls


def breakdown(variant: str, height: int, width: int, repeat: int) -> dict:
    spec = registry.get(variant)
    m = spec.multiple_of
    height, width = -(-height // m) * m, -(-width // m) * m  # as the engine pads
    torch.manual_seed(0)
    network = spec.build().eval()
    x = torch.rand(1, 3, height, width)
    with torch.inference_mode():
        total = _median_seconds(lambda: network(x), repeat)
        calls = _record_convs(network, x)
        by_width: dict[str, dict] = defaultdict(lambda: {"seconds": 0.0, "flops": 0.0, "calls": 0})
        conv_seconds = conv_flops = 0.0
        for module, shape, flops in calls:
            inp = torch.rand(shape)
            seconds = _median_seconds(lambda: module(inp), repeat)
            key = f"{module.in_channels}->{module.out_channels} {module.kernel_size[0]}x{module.kernel_size[1]}" + (
                " transposed" if isinstance(module, nn.ConvTranspose2d) else "")
            row = by_width[key]
            row["seconds"] += seconds
            row["flops"] += flops
            row["calls"] += 1
            conv_seconds += seconds
            conv_flops += flops
    return {"variant": variant, "height": height, "width": width, "seconds": total, "conv_seconds": conv_seconds,
            "conv_flops": conv_flops, "convs": len(calls), "layers": dict(by_width)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--model", default="bag-compact,deblurgan-compact,pix2pix-sa-ca-gr-sn-compact,"
                                                  "rir-compact,multiscale-compact,resnet-gan-compact")
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--layers", action="store_true", help="also print each layer shape's share")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    w, h = (int(v) for v in args.size.lower().split("x"))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    ref = conv_reference(h, w, torch.device("cpu"), torch.float32, args.repeat)
    ref_gflops = ref.flops / ref.seconds / 1e9
    print(f"{cpu_name()}, {args.threads} thread(s), torch {torch.__version__}, fp32, {w}x{h}; "
          f"1-minute load {load:.1f} at start; 3x3 conv 64->64 reference: {ref_gflops:.1f} GFLOP/s")
    print("| variant | ms / image | convs alone, ms (share) | other, ms | convs alone: GFLOP/s (of reference) "
          "| whole network: GFLOP/s (of reference) |")
    print("|---|---:|---:|---:|---:|---:|")
    results = []
    for name in args.model.split(","):
        r = breakdown(name.strip(), h, w, args.repeat)
        results.append(r)
        conv_rate = r["conv_flops"] / r["conv_seconds"] / 1e9
        whole_rate = r["conv_flops"] / r["seconds"] / 1e9
        print(f"| {r['variant']} | {r['seconds'] * 1e3:,.0f} | {r['conv_seconds'] * 1e3:,.0f} "
              f"({r['conv_seconds'] / r['seconds']:.0%}) | {(r['seconds'] - r['conv_seconds']) * 1e3:,.0f} | "
              f"{conv_rate:.1f} ({conv_rate / ref_gflops:.0%}) | {whole_rate:.1f} ({whole_rate / ref_gflops:.0%}) |")
        if args.layers:
            for key, row in sorted(r["layers"].items(), key=lambda kv: -kv[1]["seconds"]):
                print(f"|   {key} x{row['calls']} | | {row['seconds'] * 1e3:,.0f} | | "
                      f"{row['flops'] / row['seconds'] / 1e9:.1f} | |")
    print(f"Command: python benchmarks/conv_breakdown.py -m {args.model} --size {args.size} --repeat {args.repeat} "
          f"--threads {args.threads}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"reference_gflops": ref_gflops, "threads": args.threads, "load": load, "results": results},
                      fh, indent=1)


if __name__ == "__main__":
    main()
