"""Which weights file a model name means: ``--weights PATH`` > bundled > local cache > Hugging Face Hub.

For a name, the places are tried in this order:

1. ``--weights PATH`` when given (used as is; the loader checks the variant recorded in its metadata);
2. the bundled file that ships inside the package (manifest ``bundled``);
3. the local cache: ``$DEBLUR_CACHE/weights/<name>.safetensors`` (default ``~/.cache/deblur``), a drop-in
   folder for files copied by hand, e.g. onto a machine without network; then the Hub cache, where
   ``deblur models download`` puts files;
4. ``hf_hub_download`` from the manifest's ``hub`` entry (skipped when ``HF_HUB_OFFLINE`` is set).

Fallback: a paper-size variant (``bag``) that has no weights anywhere uses the weights of its compact
preset (``bag-compact``): same architecture family, smaller widths, trainable on a CPU. The result says
which variant is used and why, so the caller can tell the user. Every file except an explicit
``--weights`` is checked against the manifest's sha256 when it is loaded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .. import registry
from . import hub
from .hints import train_command
from .errors import WeightsUnavailableError
from .manifest import Manifest, load_manifest

SOURCES = ("explicit", "bundled", "cache", "hub")


@dataclass(frozen=True)
class ResolvedWeights:
    requested: str  # the name asked for
    variant: str  # the variant whose network these weights fit (differs from requested after a fallback)
    path: Path
    source: str  # one of SOURCES
    sha256: str | None  # what the file must hash to; None for an explicit --weights file
    note: str | None = None  # why a fallback happened, for the user


def deblur_cache_dir() -> Path:
    return Path(os.environ.get("DEBLUR_CACHE") or Path.home() / ".cache" / "deblur")


def compact_fallback(name: str) -> str | None:
    """``bag`` -> ``bag-compact`` when that variant is registered; None for a compact variant."""
    spec = registry.get(name)
    candidate = f"{name}-compact"
    if spec.preset == "compact" or candidate not in registry.names(spec.kind):
        return None
    return candidate


def find_local(name: str, manifest: Manifest) -> tuple[Path, str] | None:
    """(path, source) of weights for ``name`` already on this machine, without network."""
    entry = manifest.get(name)
    if entry is None or not entry.trained:
        return None
    bundled = manifest.bundled_path(entry)
    if bundled is not None and bundled.is_file():
        return bundled, "bundled"
    dropped = deblur_cache_dir() / "weights" / f"{name}.safetensors"
    if dropped.is_file():
        return dropped, "cache"
    if entry.hub is not None:
        cached = hub.cached_file(entry.hub)
        if cached is not None:
            return cached, "cache"
    return None


def availability(name: str, manifest: Manifest) -> str:
    """"bundled" | "cached" | "hub" (published, not downloaded yet) | "none". No network, no hashing."""
    local = find_local(name, manifest)
    if local is not None:
        return "cached" if local[1] == "cache" else local[1]
    entry = manifest.get(name)
    return "hub" if entry is not None and entry.trained and entry.hub is not None else "none"


def resolve_weights(name: str, weights: str | os.PathLike | None = None, manifest: Manifest | None = None,
                    download: bool = True) -> ResolvedWeights:
    """Find the weights for ``name`` (see the module docstring); ``download=False`` never touches the network."""
    registry.get(name)  # an unknown name fails here, with suggestions
    if weights is not None:
        path = Path(weights)
        if not path.is_file():
            raise WeightsUnavailableError(f"{path}: --weights file not found")
        return ResolvedWeights(name, name, path, "explicit", None)
    manifest = manifest or load_manifest()
    fallback = compact_fallback(name)
    problems: list[str] = []
    for variant in (name, fallback) if fallback else (name,):
        found = _find(variant, manifest, download, problems)
        if found is not None:
            path, source = found
            note = None
            if variant != name:
                reason = "; ".join(problems) if problems else f"{name} has no weights"
                note = f"using {variant} weights ({reason})"
            return ResolvedWeights(name, variant, path, source, manifest.get(variant).sha256, note)
    raise WeightsUnavailableError(_unavailable_message(name, fallback, manifest, problems))


def _find(variant: str, manifest: Manifest, download: bool, problems: list[str]) -> tuple[Path, str] | None:
    local = find_local(variant, manifest)
    if local is not None:
        return local
    entry = manifest.get(variant)
    if entry is None or not entry.trained:
        problems.append(f"{variant} is untrained")
        return None
    if entry.hub is None:
        problems.append(f"{variant}: bundled file {entry.bundled} is missing")
        return None
    if not download or hub.offline():
        problems.append(f"{variant} is published but not downloaded"
                        + (" (HF_HUB_OFFLINE is set)" if download else ""))
        return None
    try:
        return hub.fetch_verified(entry.hub, entry.sha256), "hub"
    except WeightsUnavailableError as exc:
        problems.append(str(exc))
        return None


def _unavailable_message(name: str, fallback: str | None, manifest: Manifest, problems: list[str]) -> str:
    asked = f"{name} or its compact fallback {fallback}" if fallback else name
    ready = [n for n in manifest.entries if availability(n, manifest) != "none"]
    have = f"variants with weights: {', '.join(ready)}" if ready else "no variant has weights yet"
    return (f"no weights for {asked} ({'; '.join(problems)}). Get published ones with "
            f"`deblur models download {name}`, or train them with "
            f"`{train_command(fallback or name)}`; {have}.")
