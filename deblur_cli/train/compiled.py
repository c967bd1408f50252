"""torch.compile for the training step's generator: on where a run pays back the compile time, eager otherwise.

Measured on the 2-core CPU (issue 25, docs/bench.md): a compiled training step of ``pix2pix-sa-gr-compact`` or
``bag-compact`` (batch 8 x 128 px) is about 12 % faster, after 27 to 48 s of compiling. At 0.09 s a step the
worse of those pays back after about 48 s / (12 % of 0.09 s) = 4,400 steps, so ``auto`` compiles a session that
will run at least :data:`PAYBACK_STEPS` steps (and has no time budget under a quarter of an hour), and never a
short one. Measured again by CPU time on one thread under load (docs/bench.md): ``bag-compact`` 1.18x after an
81 s compile, ``pix2pix-sa-gr-compact`` 0.99x; a long session risks a few minutes for a gain of up to 18 %.
Training shapes are fixed (every batch is ``batch`` x ``crop``), so a run compiles once; validation
runs the eager module (its images have other sizes).

A missing compiler or a failed compile must never stop a run: :meth:`Compiled.probe` runs the compiled
generator forward and backward once on the first batch, with the generator's buffers and the RNG put back
afterwards (a probe must not change what the run learns), and any error turns compiling off with one line.
``deblur train --compile auto|on|off`` overrides the config, and ``DEBLUR_COMPILE`` (the same values) overrides
the config where no option is given, so tests and quick runs skip the compile.
"""

from __future__ import annotations

import os
from typing import Callable, Optional

import torch
from torch import nn

from ..errors import DeblurError
from ..inference.compiling import missing_compiler, root_cause

COMPILE_ENV = "DEBLUR_COMPILE"
SETTINGS = ("auto", "on", "off")
PAYBACK_STEPS = 5000
SHORT_BUDGET_S = 900.0


def compile_setting(configured: str) -> str:
    """The config's ``[train] compile``, unless ``$DEBLUR_COMPILE`` says otherwise."""
    value = os.environ.get(COMPILE_ENV, "").strip().lower() or configured
    if value not in SETTINGS:
        raise DeblurError(f"{COMPILE_ENV}={value!r}: use one of {', '.join(SETTINGS)}")
    return value


def decide(setting: str, device: torch.device, steps_left: int, budget_s: Optional[float]) -> tuple[bool, str]:
    """(compile?, the one line that says why not, or what happens)."""
    if setting == "off":
        return False, ""
    missing = missing_compiler(device)
    if missing:
        return False, f"torch.compile unavailable ({missing}); training eager"
    if setting == "auto" and (steps_left < PAYBACK_STEPS or (budget_s is not None and budget_s < SHORT_BUDGET_S)):
        return False, ""  # a short session would spend more on compiling than it saves
    return True, "compiling the generator with torch.compile (the first step waits for it; DEBLUR_COMPILE=off skips)"


class Compiled:
    """The generator as the training step calls it: compiled until a compile fails, then eager."""

    def __init__(self, module: nn.Module, enabled: bool, backend: str | Callable = "inductor"):
        self.eager = module
        self.module = torch.compile(module, backend=backend) if enabled else module
        self.pending = enabled  # compiled, not yet proven to work

    @property
    def compiled(self) -> bool:
        return self.module is not self.eager

    def __call__(self, x: torch.Tensor):
        return self.module(x)

    def probe(self, x: torch.Tensor) -> Optional[str]:
        """Compile forward and backward on ``x`` now; on failure go eager and return the line that says so."""
        if not self.pending:
            return None
        self.pending = False
        buffers = {k: v.detach().clone() for k, v in self.eager.named_buffers()}
        cpu_rng = torch.get_rng_state()
        cuda_rng = torch.cuda.get_rng_state_all() if x.is_cuda else None
        try:
            out = self.module(x)
            out = out[-1] if isinstance(out, (list, tuple)) else out
            out.float().mean().backward()
            note = None
        except Exception as exc:  # any compiler error: the run goes on eager
            self.module = self.eager
            note = f"torch.compile failed ({root_cause(exc)}); training eager"
        finally:
            for p in self.eager.parameters():
                p.grad = None
            with torch.no_grad():
                for k, v in self.eager.named_buffers():
                    v.copy_(buffers[k])
            torch.set_rng_state(cpu_rng)
            if cuda_rng is not None:
                torch.cuda.set_rng_state_all(cuda_rng)
        return note
