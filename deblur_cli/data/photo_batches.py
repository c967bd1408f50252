"""Batches of photo pairs from the torch engine: items are plans, a batch is rendered as a whole.

:class:`~.datasets.PhotoDataset` with ``engine = "torch"`` returns each item as ``{"plan": PairPlan, "name": str}``
(the draws, made in a data-loader worker on the CPU). :func:`collate_pairs` turns a list of items into the usual
``{"blur", "sharp", "name"}`` batch by rendering the plans at once (:func:`.pair_render.render_plans`) when the
batch is to be rendered on the CPU, in the worker, beside the training step; for a GPU it passes the plans on, and
:func:`finish_batch` renders them on the training device in the training process. Procedural items that a photo
dataset mixes in (``procedural_share``) arrive as tensors and keep their place in the batch.
"""

from __future__ import annotations

import torch
from torch.utils.data import default_collate

from .pair_render import render_plans


def collate_pairs(items: list[dict], render_device: str = "cpu") -> dict:
    """A batch of dataset items; plans rendered now when ``render_device`` is "cpu", else kept for later."""
    if not any("plan" in item for item in items):
        return default_collate(items)
    batch = {"plans": [item.get("plan") for item in items], "name": [item["name"] for item in items],
             "ready": [None if "plan" in item else (item["blur"], item["sharp"]) for item in items]}
    return finish_batch(batch, "cpu") if render_device == "cpu" else batch


def finish_batch(batch: dict, device: torch.device | str) -> dict:
    """Render a batch's plans on ``device`` (a batch without plans is returned as it is)."""
    if "plans" not in batch:
        return batch
    device = torch.device(device)
    plans = [p for p in batch["plans"] if p is not None]
    blurred, sharp = render_plans(plans, device)
    rendered = iter(zip(blurred, sharp))
    pairs = [next(rendered) if ready is None else (ready[0].to(device), ready[1].to(device))
             for ready in batch["ready"]]
    return {"blur": torch.stack([b for b, _ in pairs]), "sharp": torch.stack([s for _, s in pairs]),
            "name": batch["name"]}
