"""Shared test set-up: tests run on CPU with one thread so the suite behaves the same on a 2-core CI box."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DEBLUR_COMPILE", "off")  # a compile takes 30 s and more; tests that compile say so

import torch  # noqa: E402

torch.set_num_threads(1)
