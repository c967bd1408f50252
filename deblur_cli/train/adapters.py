"""Thin doors from training to the rest of the package: manifest, weights files, engine, metrics.

Training goes through the shared implementations (``deblur_cli.weights``, ``deblur_cli.inference.engine``,
``deblur_cli.measure.metrics``) so that its files, checksums and validation numbers are the ones the rest of
the tool reads and reports; everything is imported when first used, so importing training stays light.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional


# --- manifest --------------------------------------------------------------------------------------------

def manifest_file(manifest_path: Optional[Path] = None) -> Path:
    from ..weights.manifest import manifest_path as default_path

    return Path(manifest_path) if manifest_path is not None else default_path()


def manifest_root(manifest_path: Optional[Path] = None) -> Path:
    """Folder that bundled paths are relative to: the repository root, or a test manifest's folder."""
    from ..weights.manifest import ROOT

    return ROOT if manifest_path is None else Path(manifest_path).resolve().parent


def manifest_entry(name: str, manifest_path: Optional[Path] = None) -> Optional[dict]:
    """The raw JSON entry of ``name`` (any kind, e.g. the VGG19 feature network), or None."""
    from ..weights.errors import ManifestError
    from ..weights.manifest import read_raw

    try:
        return read_raw(manifest_file(manifest_path).resolve())["variants"].get(name)
    except ManifestError:
        return None


def update_manifest_entry(name: str, fields: dict, manifest_path: Optional[Path] = None) -> Any:
    from ..weights.manifest import update_entry

    return update_entry(name, path=manifest_path, **fields)


# --- weights files ---------------------------------------------------------------------------------------

def save_weights(state: dict, path: Path, dtype: str, metadata: dict) -> str:
    """Write a generator state dict as safetensors (atomic); returns the file's sha256."""
    from ..weights.io import save_weights as shared_save

    return shared_save(state, path, dtype=dtype, metadata=metadata)


def load_safetensors(path: Path, expected_sha256: Optional[str] = None) -> dict:
    from ..weights.io import load_weights

    return load_weights(path, expected_sha256=expected_sha256)


def sha256_file(path: Path) -> str:
    from ..weights.io import sha256_file as shared

    return shared(path)


def bundled_generator_state(variant: str, manifest_path: Optional[Path] = None) -> Optional[tuple[dict, dict]]:
    """(state dict, manifest entry) of ``variant``'s own weights on this machine (bundled or cached).

    No network, and never another variant's weights (no compact fallback): a warm start must match the
    architecture being trained.
    """
    from ..weights.manifest import load_manifest
    from ..weights.resolve import find_local

    manifest = load_manifest(manifest_file(manifest_path), root=manifest_root(manifest_path))
    entry = manifest.get(variant)
    found = find_local(variant, manifest)
    if entry is None or found is None:
        return None
    path, _source = found
    raw = manifest_entry(variant, manifest_path) or {}
    return load_safetensors(path, expected_sha256=entry.sha256), raw


# --- validation: engine and metrics ----------------------------------------------------------------------

def validation_runner(module: Any, spec: Any, device: Any, channels_last: bool) -> Callable:
    """A function 1x3xHxW -> restored 1x3xHxW in [0, 1], through the inference engine (padding to the
    variant's multiple, finest output of multi-scale variants, clamping), whole images, fp32."""
    from ..inference.engine import Restorer

    restorer = Restorer(module, spec, device=str(device), precision="fp32", tile="0",
                        channels_last=channels_last)
    return restorer.restore_tensor


def psnr_ssim(restored: Any, sharp: Any) -> tuple[float, float]:
    """PSNR (dB) and SSIM of two 1x3xHxW tensors in [0, 1], exactly as ``deblur eval`` measures them."""
    from ..measure.metrics import psnr_ssim as shared

    p, s = shared(restored, sharp)
    return float(p[0]), float(s[0])
