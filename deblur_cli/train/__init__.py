"""Training: configs (one TOML file per experiment), the loop with exact resume, DDP, export.

Library use (the CLI is ``deblur train``)::

    from deblur_cli.train import load_preset, train, RunOptions, export_run
    result = train(load_preset("cpu/bag-compact"), RunOptions(time_budget=3600))
    export_run(result.run_dir, name="bag-compact")

Importing this package does not import torch; the names below load their modules when first used.
"""

from __future__ import annotations

_LAZY = {
    "load_config": "config", "load_preset": "config", "list_presets": "config", "TrainConfig": "config",
    "train": "loop", "RunOptions": "loop", "TrainResult": "loop",
    "export_run": "export", "ExportResult": "export",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        import importlib  # here: the lazy names keep `import deblur_cli.train` free of torch

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(name)
