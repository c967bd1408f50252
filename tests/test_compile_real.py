"""One real torch.compile (inductor, on the CPU): a compact network's compiled output agrees with eager to float
rounding. The one slow test of compiling (a compile of this small network takes 10-60 s); every other compile
behaviour is tested without compiling in tests/test_compile_fallback.py."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from deblur_cli import registry
from deblur_cli.inference.compiling import missing_compiler
from deblur_cli.inference.engine import Restorer
from deblur_cli.inference.settings import DEFAULTS

VARIANT = "resnet-gan-compact"  # the compact network with the fewest layers of the 4-pixel-multiple kind


@pytest.mark.skipif(missing_compiler(torch.device("cpu")) is not None, reason="no C++ compiler for inductor")
@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated")  # inside torch's compiler, not ours
def test_compiled_output_matches_eager_to_float_rounding():
    spec = registry.get(VARIANT)
    torch.manual_seed(0)
    module = spec.build()
    settings = dataclasses.replace(DEFAULTS, device="cpu", precision="fp32", tile="0")  # two mirrored passes
    x = torch.rand(1, 3, 30, 42, generator=torch.Generator().manual_seed(0))
    eager = Restorer(module, spec, dataclasses.replace(settings, compile="off")).restore_tensor(x)
    compiled = Restorer(module, spec, dataclasses.replace(settings, compile="on"))
    out = compiled.restore_tensor(x)
    assert compiled.compiled  # it really ran compiled: no fallback line
    assert out.shape == eager.shape
    assert (out - eager).abs().max().item() < 1e-4
