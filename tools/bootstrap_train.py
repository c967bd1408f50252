"""Bootstrap training of a compact generator on procedural pairs (L1), used before `deblur train` existed.

It trains with the same data engine and saves safetensors weights that `deblur train --init-from` (warm start)
continues. Kept in the repo so that the history of the bundled weights is reproducible:

    python tools/bootstrap_train.py --variant bag-compact --minutes 60 --run ~/.cache/deblur/runs/boot-bag-compact

Resumes from RUN/last.safetensors (weights and step; the optimizer restarts, which this script accepts for
simplicity: `deblur train` has exact resume).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch.utils.data import DataLoader

from deblur_cli import registry
from deblur_cli.data.datasets import SynthDataset


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    a8 = (a.clamp(0, 1) * 255).round()
    b8 = (b.clamp(0, 1) * 255).round()
    mse = ((a8 - b8) ** 2).mean(dim=(1, 2, 3))
    return float((10 * torch.log10(255 ** 2 / mse.clamp(min=1e-10))).mean())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", default="bag-compact")
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--pool", type=int, default=4000)
    ap.add_argument("--pool-size", type=int, default=192)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache/deblur/synth")
    ap.add_argument("--init", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    args.run.mkdir(parents=True, exist_ok=True)
    model = registry.build(args.variant).to(memory_format=torch.channels_last)
    state_file, meta_file = args.run / "last.safetensors", args.run / "state.json"
    step = 0
    if state_file.exists():
        model.load_state_dict(load_file(state_file))
        step = json.loads(meta_file.read_text())["step"]
    elif args.init:
        model.load_state_dict({k: v.float() for k, v in load_file(args.init).items()})
    opt = torch.optim.Adam(model.parameters(), args.lr, betas=(0.9, 0.999))
    train = SynthDataset(args.pool, seed=1000, crop=args.crop, size=args.pool_size, cache_dir=args.cache)
    val = SynthDataset(48, seed=999, crop=None, size=160, cache_dir=args.cache, augment=False)
    val_batch = [val[i] for i in range(len(val))]
    vb = torch.stack([v["blur"] for v in val_batch])
    vs = torch.stack([v["sharp"] for v in val_batch])
    log = open(args.run / "log.csv", "a")
    end = time.time() + args.minutes * 60
    epoch = step * args.batch // args.pool
    t0, losses = time.time(), []
    while time.time() < end:
        train.set_epoch(epoch)
        loader = DataLoader(train, batch_size=args.batch, shuffle=True, num_workers=1, drop_last=True,
                            generator=torch.Generator().manual_seed(epoch), persistent_workers=False)
        for batch in loader:
            x = batch["blur"].to(memory_format=torch.channels_last)
            y = batch["sharp"]
            out = model(x)
            loss = torch.sqrt((out - y) ** 2 + 1e-6).mean()  # Charbonnier L1
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            losses.append(loss.item())
            if step % 250 == 0:
                model.eval()
                with torch.inference_mode():
                    vo = torch.cat([model(vb[i:i + 8]) for i in range(0, len(vb), 8)])
                model.train()
                row = dict(step=step, loss=float(np.mean(losses)), val_in=psnr(vb, vs), val_out=psnr(vo, vs),
                           sec=round(time.time() - t0))
                losses = []
                log.write(json.dumps(row) + "\n")
                log.flush()
                print(row, flush=True)
                save_file(model.state_dict(), str(state_file) + ".tmp")
                Path(str(state_file) + ".tmp").replace(state_file)
                meta_file.write_text(json.dumps({"step": step, "variant": args.variant}))
            if time.time() >= end:
                break
        epoch += 1
    save_file(model.state_dict(), str(state_file))
    meta_file.write_text(json.dumps({"step": step, "variant": args.variant}))


if __name__ == "__main__":
    main()
